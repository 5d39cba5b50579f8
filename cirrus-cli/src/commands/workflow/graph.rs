//! `cirrus workflow graph DEFINITION [--mermaid]`: draw a state machine, as Graphviz DOT
//! (`… | dot -Tsvg > workflow.svg`) or as a Mermaid flowchart.
//!
//! Exit codes: 0 drawn; 2 when the definition cannot be read or is not valid (its problems
//! on stderr, one per line).

use super::definition;
use cirrus_core::workflow::graph::{to_dot, to_mermaid};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cirrus workflow graph`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The definition: a JSON or YAML file, or `-` for stdin.
    definition: PathBuf,
    /// Draw a Mermaid flowchart instead of Graphviz DOT.
    #[arg(long)]
    mermaid: bool,
}

/// Prints the drawing of the definition.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let machine = match definition::load(&args.definition)? {
        Ok(machine) => machine,
        Err(problems) => return definition::report_invalid(&problems),
    };
    let drawing = if args.mermaid {
        to_mermaid(&machine)
    } else {
        to_dot(&machine)
    };
    let mut out = io::stdout().lock();
    out.write_all(drawing.as_bytes())?;
    if !drawing.ends_with('\n') {
        writeln!(out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
