//! `cirrus validate`: check the whole project (the nearest folder holding `cirrus.toml`).
//!
//! - `cirrus.toml` loads, its `[lambda.functions]` map to configured tasks, and each task's
//!   program (and the script an interpreter runs) exists;
//! - every `workflows/<name>/definition.json` (or `.yaml`/`.yml`) parses and is valid ASL;
//! - every Task `Resource`, in Parallel branches and Map processors too, resolves to a
//!   configured task, as `cirrus workflow exec` would resolve it;
//! - every `workflows/<name>/payload.json` is a valid process payload whose workflow has a
//!   folder under `workflows/`.
//!
//! Output: one `FILE: JSON-PATH: message` line per problem on stdout (`--format json`: a
//! JSON array of `{"file", "path", "message"}`). Exit codes: 0 when there is none (`valid`
//! on stderr), 1 when there are problems, 2 outside a project.

mod resources;

use super::workflow::{definition, resolver};
use crate::cli::Global;
use crate::output::report_problems;
use crate::project::{CONFIG_FILE, DEFINITION_FILES, Project, current_root};
use anyhow::Context;
use cirrus_core::Error;
use cirrus_core::payload::ProcessPayload;
use cirrus_core::payload::id::check_workflow_name;
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;

/// The example payload of a workflow folder.
const PAYLOAD_FILE: &str = "payload.json";

/// Arguments of `cirrus validate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// One problem of the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file, relative to the project folder (`workflows/x/definition.json`).
    pub file: String,
    /// The JSON path of the offending value in the file (`$` for the file itself).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn new(file: &str, path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            file: file.to_owned(),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.path, self.message)
    }
}

/// Validates the project of the current folder and prints its problems.
pub fn run(_args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let root = current_root()?;
    let problems = check_project(&root)?;
    report_problems(&problems, global.format, global.quiet > 0)
}

/// Every problem of the project in `root`, configuration first, then workflows by name.
pub fn check_project(root: &Path) -> anyhow::Result<Vec<Problem>> {
    let mut problems = Vec::new();
    let resolver = match Project::load_root(root) {
        Ok(project) => {
            resources::check_programs(&project, CONFIG_FILE, &mut problems);
            match resolver(&project) {
                Ok(resolver) => Some(resolver),
                Err(e) => {
                    problems.push(Problem::new(CONFIG_FILE, "$", format!("{e:#}")));
                    None
                }
            }
        }
        Err(e) => {
            problems.push(Problem::new(CONFIG_FILE, "$", format!("{e:#}")));
            None
        }
    };
    let workflows = root.join("workflows");
    if !workflows.is_dir() {
        problems.push(Problem::new(
            "workflows",
            "$",
            "the workflows folder is missing (each workflow is workflows/<name>/definition.json)",
        ));
        return Ok(problems);
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&workflows)
        .with_context(|| format!("cannot list {}", workflows.display()))?
    {
        let entry = entry.with_context(|| format!("cannot list {}", workflows.display()))?;
        if entry.path().is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    for name in &names {
        check_workflow(root, name, resolver.as_ref(), &mut problems)?;
    }
    Ok(problems)
}

/// Checks `workflows/<name>/`: its name, its definition, and its example payload.
fn check_workflow(
    root: &Path,
    name: &str,
    resolver: Option<&cirrus_core::workflow::local::LocalResolver>,
    out: &mut Vec<Problem>,
) -> anyhow::Result<()> {
    let folder = format!("workflows/{name}");
    if let Err(e) = check_workflow_name(name) {
        out.push(Problem::new(&folder, "$", e));
    }
    let found: Vec<&str> = DEFINITION_FILES
        .into_iter()
        .filter(|file| root.join(&folder).join(file).is_file())
        .collect();
    match found.as_slice() {
        [] => out.push(Problem::new(
            &folder,
            "$",
            "no definition.json (or definition.yaml) in the workflow folder",
        )),
        [file] => {
            let file = format!("{folder}/{file}");
            match definition::load(&root.join(&file))? {
                Err(problems) => out.extend(
                    problems
                        .into_iter()
                        .map(|p| Problem::new(&file, p.path, p.message)),
                ),
                Ok(machine) => {
                    if let Some(resolver) = resolver {
                        resources::check_resources(&machine, resolver, &file, "$", out);
                    }
                }
            }
        }
        several => out.push(Problem::new(
            &folder,
            "$",
            format!(
                "{} are all definitions of the workflow; keep one",
                several.join(" and ")
            ),
        )),
    }
    let payload = format!("{folder}/{PAYLOAD_FILE}");
    if root.join(&payload).is_file() {
        check_payload(root, &payload, out)?;
    }
    Ok(())
}

/// Checks an example payload: valid, and its workflow has a folder.
fn check_payload(root: &Path, file: &str, out: &mut Vec<Problem>) -> anyhow::Result<()> {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(e) => {
            out.push(Problem::new(file, "$", format!("not valid JSON: {e}")));
            return Ok(());
        }
    };
    let payload = match ProcessPayload::from_value(value) {
        Ok(parsed) => parsed.value,
        Err(Error::InvalidPayload(problems)) => {
            out.extend(
                problems
                    .into_iter()
                    .map(|p| Problem::new(file, p.path, p.message)),
            );
            return Ok(());
        }
        Err(other) => {
            out.push(Problem::new(file, "$", other.to_string()));
            return Ok(());
        }
    };
    let workflow = payload.workflow();
    if check_workflow_name(workflow).is_ok() && !root.join("workflows").join(workflow).is_dir() {
        out.push(Problem::new(
            file,
            "$.process[0].workflow",
            format!("workflow {workflow:?} has no folder workflows/{workflow}"),
        ));
    }
    Ok(())
}
