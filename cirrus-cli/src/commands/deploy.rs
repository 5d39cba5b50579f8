//! `cirrus deploy --stage NAME [--dry-run [--template-out FILE]] [--delete] [--package]`:
//! the project as a CloudFormation stack (`docs/deploy.md`).
//!
//! The stack is rendered from the project's workflows (`workflows/<name>/definition.*`, the
//! ones `cirrus run` runs, checked the same way), its tasks (the built-ins and
//! `[tasks.NAME]`) and `[deploy]` in `cirrus.toml`, by `cirrus_deploy::stack`. The
//! deployment is `<project>-<stage>`: `[deploy] name` (else the project folder's name) and
//! `--stage`.
//!
//! - `--dry-run` prints the template (JSON) on stdout, or writes it to `--template-out FILE`.
//! - Without it, the stack is created or updated; `--delete` removes it; `--package` builds
//!   the Lambda package first.

use crate::cli::Global;
use crate::commands::workflow::definition;
use crate::local::load_workflows;
use crate::project::{DEFINITION_FILES, Project, current_root};
use anyhow::Context;
use cirrus_deploy::stack::{self, StackInput, TaskSource, Workflow};
use cirrus_tasks::TaskEnv;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `cirrus deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage: the deployment (and stack) is `<project>-<stage>`, e.g. `dev`, `prod`.
    #[arg(long, value_name = "NAME")]
    pub stage: String,
    /// Print the CloudFormation template (JSON) instead of deploying it.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: write the template to FILE instead of stdout.
    #[arg(long, value_name = "FILE", requires = "dry_run")]
    pub template_out: Option<PathBuf>,
    /// Remove the deployment's stack.
    #[arg(long, conflicts_with = "dry_run")]
    pub delete: bool,
    /// Build the Lambda package (`bootstrap.zip`) from the workspace before deploying.
    #[arg(long, conflicts_with = "delete")]
    pub package: bool,
}

/// Runs `cirrus deploy`.
pub fn run(args: Args, _global: &Global) -> anyhow::Result<ExitCode> {
    let root = current_root()?;
    let project = Project::load_root(&root)?;
    if args.delete {
        anyhow::bail!(
            "cirrus deploy --delete is not wired to CloudFormation yet; delete the stack with `aws cloudformation delete-stack --stack-name <project>-{}`",
            args.stage
        );
    }
    let input = stack_input(&project, &args.stage)?;
    let stack = stack::build(&input)?;
    if !args.dry_run {
        anyhow::bail!(
            "applying the stack {} is not wired yet; `cirrus deploy --stage {} --dry-run` prints its template",
            stack.names.prefix(),
            args.stage
        );
    }
    let mut text = serde_json::to_string_pretty(&stack.template)
        .context("cannot write the template as JSON")?;
    text.push('\n');
    match &args.template_out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(
                stack = stack.names.prefix(),
                file = %path.display(),
                state_machines = stack.state_machines.len(),
                "wrote the template"
            );
        }
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("cannot write the template to stdout")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// What the stack of `project` at `stage` is rendered from.
pub fn stack_input(project: &Project, stage: &str) -> anyhow::Result<StackInput> {
    let config = project.deploy.clone();
    let folder_name = project
        .root
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let mut workflows = Vec::new();
    // Every definition is checked as `cirrus run` checks it; the stack takes them as JSON.
    let machines = load_workflows(&project.root)?;
    for name in machines.names() {
        let file = definition_file(&project.root, name)?;
        let definition = match definition::read(&file)? {
            Ok(value) => value,
            Err(problem) => anyhow::bail!("{}: {problem}", file.display()),
        };
        workflows.push(Workflow {
            name: name.to_string(),
            definition,
        });
    }
    let mut tasks = BTreeMap::new();
    for task in cirrus_tasks::builtin_tasks(&TaskEnv::without_store()) {
        tasks.insert(task.name().to_string(), TaskSource::Builtin);
    }
    // A project task replaces the built-in of the same name, as `cirrus run` does.
    for name in project.tasks.keys() {
        tasks.insert(name.clone(), TaskSource::Project);
    }
    Ok(StackInput {
        project: folder_name,
        stage: stage.to_string(),
        config,
        workflows,
        tasks,
    })
}

/// The definition file of workflow `name` (as [`load_workflows`] finds it).
fn definition_file(root: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = root.join("workflows").join(name);
    DEFINITION_FILES
        .into_iter()
        .map(|file| dir.join(file))
        .find(|path| path.is_file())
        .with_context(|| format!("{}: no definition.json (or .yaml)", dir.display()))
}
