//! One module per subcommand; each has an `Args` struct and a `run` function.

pub mod completions;
pub mod create;
#[cfg(feature = "aws")]
pub mod deploy;
pub mod execution;
pub mod feed;
pub mod hsi;
pub mod init;
pub mod payload;
pub mod process;
pub mod queue;
pub mod run;
pub mod run_workflow;
pub mod state;
pub mod task;
pub mod validate;
pub mod workflow;

use crate::cli::Cli;
use clap::Subcommand;
use std::process::ExitCode;

/// The commands of `cirrus`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with Cirrus process payloads: IDs, validation, chaining, templates, schema.
    #[command(subcommand)]
    Payload(payload::Command),
    /// Query the state DB: records, timelines and counts, across workflows.
    State(state::Args),
    /// Validate, run and draw Amazon States Language workflows locally.
    #[command(subcommand)]
    Workflow(workflow::Command),
    /// Create a project: cirrus.toml, workflows/, tasks/, feeders/ and a working example.
    Init(init::Args),
    /// Scaffold a workflow, task or feeder in the current project.
    #[command(subcommand)]
    Create(create::Command),
    /// Check the whole project: definitions, task resources, programs, example payloads.
    Validate(validate::Args),
    /// Put payloads (JSON, or NDJSON one per line) on the project's process queue.
    Process(process::Args),
    /// Run a built-in feeder (stac-api, stac-catalog, listing, rerun) into the process queue.
    Feed(feed::Args),
    /// Look at the process queue: stats, dead letters, redrive.
    #[command(subcommand)]
    Queue(queue::Command),
    /// Drain the process queue: claim, run, record, publish and chain each payload.
    Run(run::Args),
    /// Run one task alone on a payload (the task CLI contract), or list the tasks.
    #[command(subcommand)]
    Task(task::Command),
    /// Run one payload through the pipeline and print its output (exit 10 failed, 11 timeout).
    RunWorkflow(run_workflow::Args),
    /// Look at a deployment's Step Functions executions: status, input, output, history.
    #[command(subcommand)]
    Execution(execution::Command),
    /// Render (--dry-run) or deploy the project as a CloudFormation stack on AWS.
    #[cfg(feature = "aws")]
    Deploy(deploy::Args),
    /// Hyperspectral helpers: synthetic AVIRIS scenes.
    #[command(subcommand)]
    Hsi(hsi::Command),
    /// Print a shell completion script.
    Completions(completions::Args),
}

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Payload(command) => payload::run(command, &cli.global),
        Command::State(args) => state::run(args, &cli.global),
        Command::Workflow(command) => workflow::run(command, &cli.global),
        Command::Init(args) => init::run(args, &cli.global),
        Command::Create(command) => create::run(command, &cli.global),
        Command::Validate(args) => validate::run(args, &cli.global),
        Command::Process(args) => process::run(args, &cli.global),
        Command::Feed(args) => feed::run(args, &cli.global),
        Command::Queue(command) => queue::run(command, &cli.global),
        Command::Run(args) => run::run(args, &cli.global),
        Command::Task(command) => task::run(command, &cli.global),
        Command::RunWorkflow(args) => run_workflow::run(args, &cli.global),
        Command::Execution(command) => execution::run(command, &cli.global),
        #[cfg(feature = "aws")]
        Command::Deploy(args) => deploy::run(args, &cli.global),
        Command::Hsi(command) => hsi::run(command, &cli.global),
        Command::Completions(args) => completions::run(args),
    }
}
