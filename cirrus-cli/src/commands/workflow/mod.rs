//! `cirrus workflow …`: check, run and draw Amazon States Language state machines locally.
//!
//! Definitions may be JSON or YAML ([`definition`]). Task states run through the project's
//! `[tasks]` and `[lambda]` configuration (`cirrus.toml`), see [`resolver`].

pub mod definition;
pub mod exec;
pub mod graph;
pub mod validate;

use crate::cli::Global;
use crate::project::{CONFIG_FILE, Project};
use anyhow::Context;
use cirrus_core::workflow::local::{LocalResolver, SubprocessTask};
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

/// The task resolver of `project`: its `[tasks]` as subprocesses (run in the project folder)
/// and its `[lambda.functions]` mapping. Empty when there is no `cirrus.toml`.
pub fn resolver(project: &Project) -> anyhow::Result<LocalResolver> {
    let config = project.root.join(CONFIG_FILE);
    let mut builder = LocalResolver::builder();
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
