//! `cirrus completions SHELL`: print a completion script generated from the clap definition.

use crate::cli::Cli;
use clap::CommandFactory;
use clap_complete::Shell;
use std::io;
use std::process::ExitCode;

/// Arguments of `cirrus completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    shell: Shell,
}

/// Writes the completion script to stdout.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "cirrus", &mut io::stdout().lock());
    Ok(ExitCode::SUCCESS)
}
