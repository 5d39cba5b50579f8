//! `cirrus create workflow|task|feeder NAME`: scaffold a component inside the current project
//! (the nearest folder holding `cirrus.toml`), ready to validate and run as created.
//!
//! - `workflow NAME [--task TASK]…`: `workflows/NAME/definition.json`, a Task state per
//!   `--task` in order (a single Pass state without any), and `workflows/NAME/payload.json`,
//!   an example process payload for it.
//! - `task NAME`: `tasks/NAME/task.py`, a Python program speaking the task CLI contract,
//!   registered as `[tasks.NAME]` at the end of `cirrus.toml` (the rest of the file is kept
//!   byte for byte).
//! - `feeder NAME`: `feeders/NAME/`, a Rust crate implementing `cirrus_feeders::Feeder` whose
//!   binary prints process payloads as NDJSON (`cargo run -- feeder.toml | cirrus process -`);
//!   it depends on the `cirrus-feeders` crate at `--sdk PATH` (default: the sources this
//!   `cirrus` was built from). `--python`: `feeders/NAME/feeder.py` instead.
//!
//! Nothing that exists is overwritten: an existing name is an error.

use crate::cli::Global;
use crate::project::{CONFIG_FILE, Project, current_root};
use anyhow::{Context, bail};
use cirrus_core::payload::id::check_workflow_name;
use serde_json::{Map, Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The Python task template; `{{name}}` is the task's name.
const TASK_TEMPLATE: &str = include_str!("../../templates/task.py");

/// The Python feeder template; `{{name}}` is the feeder's name.
const FEEDER_TEMPLATE: &str = include_str!("../../templates/feeder.py");

/// The Rust feeder crate: `(path, template)`; `{{name}}` is the feeder's name and `{{sdk}}`
/// the path of the `cirrus-feeders` crate.
const RUST_FEEDER: [(&str, &str); 3] = [
    (
        "Cargo.toml",
        include_str!("../../templates/feeder-rust/Cargo.toml.tmpl"),
    ),
    (
        "feeder.toml",
        include_str!("../../templates/feeder-rust/feeder.toml"),
    ),
    (
        "src/main.rs",
        include_str!("../../templates/feeder-rust/src/main.rs"),
    ),
];

/// The `cirrus-feeders` sources this binary was built from.
const SDK_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../feeders");

/// The longest component name (the Lambda function name limit, so a task can deploy as one).
const MAX_NAME_LEN: usize = 64;

/// `cirrus create` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Add workflows/NAME/ with an ASL definition and an example payload.
    Workflow(WorkflowArgs),
    /// Add tasks/NAME/task.py and register it as [tasks.NAME] in cirrus.toml.
    Task(NameArgs),
    /// Add feeders/NAME/, a Rust crate implementing the Feeder trait (or, with --python, feeder.py).
    Feeder(FeederArgs),
}

/// Arguments of `cirrus create workflow`.
#[derive(Debug, clap::Args)]
pub struct WorkflowArgs {
    /// The workflow name: letters, digits and '-' (no '_': the state DB key splits on it).
    name: String,
    /// A task of cirrus.toml for the workflow to run; repeat for a sequence of tasks.
    #[arg(long = "task", value_name = "TASK")]
    tasks: Vec<String>,
}

/// Arguments of `cirrus create task|feeder`.
#[derive(Debug, clap::Args)]
pub struct NameArgs {
    /// The name: letters, digits, '-' and '_', starting with a letter.
    name: String,
}

/// Arguments of `cirrus create feeder`.
#[derive(Debug, clap::Args)]
pub struct FeederArgs {
    /// The name: letters, digits, '-' and '_', starting with a letter.
    name: String,
    /// Write a Python program printing payloads instead of a Rust crate.
    #[arg(long)]
    python: bool,
    /// The `cirrus-feeders` crate the Rust feeder depends on (a path); default: the sources
    /// this cirrus was built from.
    #[arg(long, value_name = "PATH", conflicts_with = "python")]
    sdk: Option<PathBuf>,
}

/// Scaffolds the component and lists what it created on stderr.
pub fn run(command: Command, global: &Global) -> anyhow::Result<ExitCode> {
    let root = current_root()?;
    let (created, registered) = match command {
        Command::Workflow(args) => (workflow(&root, &args.name, &args.tasks)?, None),
        Command::Task(args) => (task(&root, &args.name)?, Some(args.name)),
        Command::Feeder(args) if args.python => (feeder(&root, &args.name)?, None),
        Command::Feeder(args) => (rust_feeder(&root, &args.name, args.sdk.as_deref())?, None),
    };
    if global.quiet == 0 {
        report(&root, &created);
        if let Some(name) = registered {
            eprintln!("registered [tasks.{name}] in {CONFIG_FILE}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints `created PATH` for each path, relative to `root`, on stderr.
pub(crate) fn report(root: &Path, created: &[PathBuf]) {
    for path in created {
        let shown = path.strip_prefix(root).unwrap_or(path);
        eprintln!("created {}", shown.display());
    }
}

/// Creates `workflows/NAME/` running `tasks` (configured in `cirrus.toml`) in sequence.
pub(crate) fn workflow(root: &Path, name: &str, tasks: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    check_workflow_name(name).map_err(anyhow::Error::msg)?;
    check_name("workflow", name, false)?;
    let project = Project::load_root(root)?;
    for (i, task) in tasks.iter().enumerate() {
        if !project.tasks.contains_key(task) {
            bail!(
                "--task {task}: no task {task:?} is configured in {CONFIG_FILE}; create it with `cirrus create task {task}`"
            );
        }
        if tasks[..i].contains(task) {
            bail!("--task {task}: given twice; a workflow runs each task once");
        }
    }
    let folder = new_folder(root, "workflows", "workflow", name)?;
    let definition = folder.join("definition.json");
    write_new(&definition, &pretty(&definition_for(name, tasks))?)?;
    let payload = folder.join("payload.json");
    write_new(&payload, &pretty(&payload_for(name))?)?;
    Ok(vec![definition, payload])
}

/// Creates `tasks/NAME/task.py` and registers it in `cirrus.toml`; returns the program.
pub(crate) fn task(root: &Path, name: &str) -> anyhow::Result<Vec<PathBuf>> {
    check_name("task", name, true)?;
    let config = root.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&config)
        .with_context(|| format!("cannot read {}", config.display()))?;
    let updated = with_task_section(&text, name)
        .with_context(|| format!("cannot register task {name:?} in {}", config.display()))?;
    let folder = new_folder(root, "tasks", "task", name)?;
    let program = folder.join("task.py");
    write_new(&program, &TASK_TEMPLATE.replace("{{name}}", name))?;
    std::fs::write(&config, updated)
        .with_context(|| format!("cannot write {}", config.display()))?;
    Ok(vec![program])
}

/// Creates `feeders/NAME/feeder.py`.
pub(crate) fn feeder(root: &Path, name: &str) -> anyhow::Result<Vec<PathBuf>> {
    check_name("feeder", name, true)?;
    let folder = new_folder(root, "feeders", "feeder", name)?;
    let program = folder.join("feeder.py");
    write_new(&program, &FEEDER_TEMPLATE.replace("{{name}}", name))?;
    Ok(vec![program])
}

/// Creates `feeders/NAME/`, a Rust crate implementing the `Feeder` trait.
pub(crate) fn rust_feeder(
    root: &Path,
    name: &str,
    sdk: Option<&Path>,
) -> anyhow::Result<Vec<PathBuf>> {
    check_name("feeder", name, true)?;
    let sdk = match sdk {
        Some(path) => path.to_path_buf(),
        None => PathBuf::from(SDK_PATH),
    };
    let sdk = sdk.canonicalize().with_context(|| {
        format!(
            "--sdk {}: no cirrus-feeders crate there; give the path of cirrus's feeders/ folder",
            sdk.display()
        )
    })?;
    anyhow::ensure!(
        sdk.join("Cargo.toml").is_file(),
        "--sdk {}: no Cargo.toml there; give the path of cirrus's feeders/ folder",
        sdk.display()
    );
    let sdk = sdk
        .to_str()
        .with_context(|| format!("{}: not UTF-8", sdk.display()))?;
    let folder = new_folder(root, "feeders", "feeder", name)?;
    let mut created = Vec::new();
    for (path, template) in RUST_FEEDER {
        let file = folder.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let text = template
            .replace("{{name}}", name)
            .replace("{{sdk}}", &sdk.replace('\\', "/"));
        write_new(&file, &text)?;
        created.push(file);
    }
    Ok(created)
}

/// Checks a component name: 1 to 64 ASCII letters, digits and '-' (and '_' when
/// `underscore`), starting with a letter, so that it is a folder name, a TOML key and a
/// Lambda function name alike.
fn check_name(kind: &str, name: &str, underscore: bool) -> anyhow::Result<()> {
    let allowed = if underscore {
        "letters, digits, '-' and '_'"
    } else {
        "letters, digits and '-'"
    };
    let valid = (1..=MAX_NAME_LEN).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || (underscore && c == '_'));
    if !valid {
        bail!(
            "{kind} name {name:?} is not valid: use 1 to {MAX_NAME_LEN} ASCII {allowed}, starting with a letter"
        );
    }
    Ok(())
}

/// Creates the folder `root/parent/name` of a new component; fails when it exists.
fn new_folder(root: &Path, parent: &str, kind: &str, name: &str) -> anyhow::Result<PathBuf> {
    let folder = root.join(parent).join(name);
    if folder.exists() {
        bail!(
            "{kind} {name:?} exists already ({}); choose another name",
            folder.display()
        );
    }
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    Ok(folder)
}

/// `text` (a `cirrus.toml`) with a `[tasks.NAME]` section appended; fails when the task is
/// configured already or the result would not be valid TOML (say, `tasks` written as an
/// inline table).
fn with_task_section(text: &str, name: &str) -> anyhow::Result<String> {
    let table: toml::Table = toml::from_str(text).context("the file is not valid TOML")?;
    if table.get("tasks").and_then(|t| t.get(name)).is_some() {
        bail!("tasks.{name} is configured already; choose another name");
    }
    let mut updated = text.to_owned();
    if !updated.is_empty() && !updated.ends_with('\n') {
        updated.push('\n');
    }
    updated.push_str(&format!(
        "\n[tasks.{name}]\ncommand = [\"python3\", \"tasks/{name}/task.py\"]\ntimeout = \"15m\"\n"
    ));
    let check: toml::Table = toml::from_str(&updated).with_context(|| {
        format!(
            "appending [tasks.{name}] would make the file invalid TOML; add the section by hand"
        )
    })?;
    if check.get("tasks").and_then(|t| t.get(name)).is_none() {
        bail!("appending [tasks.{name}] did not register the task; add the section by hand");
    }
    Ok(updated)
}

/// An ASL definition running `tasks` in sequence, or one Pass state when there are none.
fn definition_for(name: &str, tasks: &[String]) -> Value {
    let mut states = Map::new();
    if tasks.is_empty() {
        states.insert(
            "Pass".to_owned(),
            json!({"Type": "Pass", "Comment": "Replace with the workflow's states.", "End": true}),
        );
    }
    for (i, task) in tasks.iter().enumerate() {
        let mut state = json!({
            "Type": "Task",
            "Resource": task,
            "TimeoutSeconds": 900,
            "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1}],
        });
        match tasks.get(i + 1) {
            Some(next) => state["Next"] = json!(next),
            None => state["End"] = json!(true),
        }
        states.insert(task.clone(), state);
    }
    let start = tasks.first().map_or("Pass", String::as_str);
    json!({
        "Comment": format!("The {name} workflow."),
        "StartAt": start,
        "States": states,
    })
}

/// An example process payload for workflow `name`: one STAC item.
fn payload_for(name: &str) -> Value {
    json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": "example-item-1",
            "collection": "example",
            "geometry": null,
            "properties": {"datetime": "2024-01-01T00:00:00Z"},
            "links": [],
            "assets": {},
        }],
        "process": [{
            "workflow": name,
            "upload_options": {"path_template": "${collection}/${id}"},
            "tasks": {},
        }],
    })
}

/// `value` as indented JSON with a final newline.
fn pretty(value: &Value) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// Writes a file that must not exist yet.
pub(crate) fn write_new(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("task", "copy-assets", true).is_ok());
        assert!(check_name("task", "copy_assets", true).is_ok());
        assert!(check_name("workflow", "copy_assets", false).is_err());
        assert!(check_name("task", "1st", true).is_err());
        assert!(check_name("task", "", true).is_err());
        assert!(check_name("task", "a/b", true).is_err());
        assert!(check_name("task", &"a".repeat(65), true).is_err());
    }

    #[test]
    fn task_sections_are_appended() {
        let text = "# mine\n[state]\ndb = \"sqlite:x.db\"";
        let updated = with_task_section(text, "t").unwrap();
        assert!(updated.starts_with("# mine\n[state]\ndb = \"sqlite:x.db\"\n"));
        assert!(updated.ends_with(
            "[tasks.t]\ncommand = [\"python3\", \"tasks/t/task.py\"]\ntimeout = \"15m\"\n"
        ));
        let twice = with_task_section(&updated, "t").unwrap_err();
        assert!(format!("{twice:#}").contains("tasks.t is configured already"));
        let inline = with_task_section("tasks = { a = { command = [\"x\"] } }\n", "t");
        assert!(format!("{:#}", inline.unwrap_err()).contains("would make the file invalid TOML"));
    }

    #[test]
    fn definitions_chain_tasks() {
        let definition = definition_for("w", &["a".to_owned(), "b".to_owned()]);
        assert_eq!(definition["StartAt"], "a");
        assert_eq!(definition["States"]["a"]["Next"], "b");
        assert_eq!(definition["States"]["b"]["End"], true);
        let empty = definition_for("w", &[]);
        assert_eq!(empty["States"]["Pass"]["Type"], "Pass");
    }
}
