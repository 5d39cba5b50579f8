//! `cirrus workflow …`: check, run and draw Amazon States Language state machines locally.
//!
//! Definitions may be JSON or YAML ([`definition`]). Task states run through the project's
//! `[tasks]` and `[lambda]` configuration (`cirrus.toml`) and the built-in tasks of
//! `cirrus-tasks`, see [`resolver`].

pub mod definition;
pub mod exec;
pub mod graph;
pub mod validate;

use crate::cli::Global;
use crate::local::DEFAULT_DATA_STORE;
use crate::project::{CONFIG_FILE, Project};
use anyhow::Context;
use cirrus_core::store::Store;
use cirrus_core::workflow::local::{LocalResolver, SubprocessTask};
use cirrus_tasks::TaskEnv;
use clap::Subcommand;
use std::path::Path;
use std::process::ExitCode;

/// `cirrus workflow` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a definition; exit 0 when valid, 1 with one `<path>: <message>` line per problem,
    /// 2 when unreadable.
    Validate(validate::Args),
    /// Run a definition locally; print its output (exit 0) or its error (exit 1).
    Exec(exec::Args),
    /// Draw a definition as Graphviz DOT (default) or Mermaid.
    Graph(graph::Args),
}

/// Runs a `cirrus workflow` subcommand.
pub fn run(command: Command, global: &Global) -> anyhow::Result<ExitCode> {
    match command {
        Command::Validate(args) => validate::run(args, global),
        Command::Exec(args) => exec::run(args),
        Command::Graph(args) => graph::run(args),
    }
}

/// The task resolver of `project`: its `[tasks]` as subprocesses (run in the project folder),
/// the built-in tasks (writing below the project's data store, see [`task_env`]), and its
/// `[lambda.functions]` mapping.
pub fn resolver(project: &Project) -> anyhow::Result<LocalResolver> {
    resolver_with(project, &task_env(project)?)
}

/// Where the built-in tasks of `project` write: below its data store (`store.data`, by
/// default `.cirrus/data`), as the pipeline publishes items there. Outside a project there
/// is no data store: a relative `path_template` is then the task's error.
pub fn task_env(project: &Project) -> anyhow::Result<TaskEnv> {
    if !project.root.join(CONFIG_FILE).is_file() {
        return Ok(TaskEnv::without_store());
    }
    let url = project.locate(project.data_store.as_deref().unwrap_or(DEFAULT_DATA_STORE));
    let data = Store::open(&url).with_context(|| format!("the data store {url}"))?;
    Ok(TaskEnv::new(data))
}

/// [`resolver`] with the built-in tasks running in `env`. A project task (`[tasks.NAME]`)
/// named like a built-in replaces it.
pub fn resolver_with(project: &Project, env: &TaskEnv) -> anyhow::Result<LocalResolver> {
    let config = project.root.join(CONFIG_FILE);
    let mut builder = LocalResolver::builder();
    for task in cirrus_tasks::builtin_tasks(env) {
        if project.tasks.contains_key(task.name()) {
            tracing::debug!(
                task = task.name(),
                "the project's [tasks.{}] replaces the built-in task",
                task.name()
            );
            continue;
        }
        builder = builder.task(task);
    }
    for (name, task) in &project.tasks {
        let mut command = task.command.clone();
        // A program given as a relative path (`./tasks/run.sh`, not `python3`) is relative to
        // the project folder, like the arguments the task reads.
        if let Some(program) = command.first_mut()
            && Path::new(program.as_str()).is_relative()
            && Path::new(program.as_str()).components().count() > 1
        {
            let absolute = project.root.join(program.as_str());
            *program = absolute.display().to_string();
        }
        let mut subprocess = SubprocessTask::new(name, command)
            .with_context(|| format!("{}: tasks.{name}", config.display()))?
            .with_args(&task.args)
            .with_current_dir(&project.root);
        for (key, value) in &task.env {
            subprocess = subprocess.with_env(key, value);
        }
        if let Some(timeout) = task.timeout {
            subprocess = subprocess.with_timeout(timeout);
        }
        builder = builder.subprocess(subprocess);
    }
    for (function, task) in &project.lambda_functions {
        builder = builder.lambda_function(function, task);
    }
    builder
        .build()
        .with_context(|| format!("{}", config.display()))
}
