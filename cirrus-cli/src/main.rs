//! `cirrus`: the Cirrus command-line interface.
//!
//! Parsing, dispatch and exit codes live here; each subcommand is a module of [`commands`].
//! Exit codes: 0 success, 1 the command ran and found problems (e.g. invalid payloads),
//! 2 usage or runtime error (e.g. unreadable input).

mod batches;
mod cli;
mod commands;
mod input;
mod local;
mod logging;
mod output;
mod progress;
mod project;
mod state_db;
mod target;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init(&cli.global);
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
