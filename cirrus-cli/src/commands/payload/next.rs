//! `cirrus payload next [PATH|-]`: print the next payloads of the workflow chain.
//!
//! The input is the **output** payload of a workflow (or NDJSON of them). For each, the next
//! payloads are printed as NDJSON, one per line, in order; nothing when the chain ends.
//! The first invalid record stops the command: exit 1 (invalid payload) or 2 (unreadable).

use crate::input::Input;
use cirrus_core::Error;
use cirrus_core::payload::PayloadInput;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cirrus payload next`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A JSON payload or NDJSON file; `-` or nothing for stdin.
    path: Option<PathBuf>,
}

/// Prints the next payloads of every record.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let input = Input::open(args.path.as_ref())?;
    let name = input.name.clone();
    let records = input.start()?.values()?;
    let mut out = BufWriter::new(io::stdout().lock());
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                out.flush()?;
                eprintln!("error: {name}: {error}");
                return Ok(ExitCode::from(2));
            }
        };
        let line = record.line;
        let failure = match PayloadInput::from_value(record.value) {
            Ok(parsed) => match parsed.value {
                PayloadInput::Payload(payload) => match payload.next_payloads() {
                    Ok(next) => {
                        for payload in next {
                            serde_json::to_writer(&mut out, &payload)?;
                            out.write_all(b"\n")?;
                        }
                        continue;
                    }
                    Err(err) => vec![err.to_string()],
                },
                PayloadInput::Reference(reference) => vec![format!(
                    "$: this is a reference to {}; fetch the payload first",
                    reference.url
                )],
            },
            Err(Error::InvalidPayload(problems)) => {
                problems.iter().map(ToString::to_string).collect()
            }
            Err(other) => vec![other.to_string()],
        };
        out.flush()?;
        eprintln!("error: {name}: line {line}: invalid payload");
        for problem in failure {
            eprintln!("  {problem}");
        }
        return Ok(ExitCode::from(1));
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
