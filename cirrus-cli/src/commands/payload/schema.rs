//! `cirrus payload schema`: print the payload JSON Schema.

use std::io::{self, Write};
use std::process::ExitCode;

/// Arguments of `cirrus payload schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print on one line instead of pretty-printed.
    #[arg(long)]
    compact: bool,
}

/// Prints the schema generated from the payload types.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let schema = cirrus_core::payload::schema::payload_schema();
    let mut out = io::stdout().lock();
    if args.compact {
        serde_json::to_writer(&mut out, &schema)?;
    } else {
        serde_json::to_writer_pretty(&mut out, &schema)?;
    }
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}
