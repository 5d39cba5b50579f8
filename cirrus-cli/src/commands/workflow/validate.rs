//! `cirrus workflow validate DEFINITION`: check a definition the way Step Functions does
//! before it runs one.
//!
//! Exit codes: 0 when valid (`valid` on stderr; `[]` on stdout with `--format json`), 1 with
//! one `<path>: <message>` line per problem on stdout (`--format json`: a JSON array of
//! `{"path", "message"}`), 2 when the definition cannot be read.

use super::definition;
use crate::cli::Global;
use crate::output::report_problems;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cirrus workflow validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The definition: a JSON or YAML file, or `-` for stdin.
    definition: PathBuf,
}

/// Validates the definition and prints its problems.
pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let problems = match definition::load(&args.definition)? {
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    };
    report_problems(&problems, global.format, global.quiet > 0)
}
