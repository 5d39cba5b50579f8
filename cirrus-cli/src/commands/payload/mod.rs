//! `cirrus payload …`: process payload tools.

pub mod archived;
pub mod get_id;
pub mod next;
pub mod schema;
pub mod template;
pub mod validate;

use crate::cli::Global;
use clap::Subcommand;
use std::process::ExitCode;

/// `cirrus payload` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the ID of each payload (one JSON payload, or NDJSON), one per line.
    GetId(get_id::Args),
    /// Validate payloads; exit 0 when all are valid, 1 when any is invalid, 2 when unreadable.
    Validate(validate::Args),
    /// Print the next payloads of the workflow chain as NDJSON.
    Next(next::Args),
    /// Fill `$var`, `${var}` and `${var?default}` in a payload template read from stdin.
    Template(template::Args),
    /// Print the JSON Schema of a process payload.
    Schema(schema::Args),
    /// Print the input payload archived for an execution (the latest by default).
    GetInput(archived::Args),
    /// Print the output payload archived for an execution (the latest by default).
    GetOutput(archived::Args),
}

/// Runs a `cirrus payload` subcommand.
pub fn run(command: Command, global: &Global) -> anyhow::Result<ExitCode> {
    match command {
        Command::GetId(args) => get_id::run(args, global),
        Command::Validate(args) => validate::run(args, global),
        Command::Next(args) => next::run(args),
        Command::Template(args) => template::run(args),
        Command::Schema(args) => schema::run(args),
        Command::GetInput(args) => archived::run(args, archived::Which::Input),
        Command::GetOutput(args) => archived::run(args, archived::Which::Output),
    }
}
