//! `cirrus payload validate [PATH|-]`: check payloads and list every problem with its path.
//!
//! Exit codes: 0 when every record is valid (a `{"url"}` reference counts as valid: it is
//! recognised, not fetched), 1 when any is invalid, 2 when any cannot be read as JSON.

use crate::cli::Global;
use crate::input::{Input, RecordError};
use crate::output::Format;
use cirrus_core::Error;
use cirrus_core::payload::size::{MAX_PAYLOAD_LENGTH, escaped_len};
use cirrus_core::payload::{PayloadInput, Problem};
use serde::Serialize;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cirrus payload validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A JSON payload or NDJSON file; `-` or nothing for stdin.
    path: Option<PathBuf>,
}

/// The verdict on one record.
#[derive(Debug, Serialize)]
struct Report {
    line: usize,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    /// `len(json.dumps(json.dumps(payload)))`: above 120,000 it must travel as a URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    escaped_size: Option<usize>,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Valid,
    Reference,
    Invalid,
    Unreadable,
}

impl Report {
    fn new(line: usize, status: Status) -> Report {
        Report {
            line,
            status,
            id: None,
            url: None,
            escaped_size: None,
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn unreadable(error: &RecordError) -> Report {
        let mut report = Report::new(error.line, Status::Unreadable);
        report.problems.push(Problem::new("$", error.to_string()));
        report
    }

    fn of(line: usize, value: serde_json::Value) -> Report {
        let escaped_size = escaped_len(&value);
        match PayloadInput::from_value(value) {
            Ok(parsed) => {
                let mut report = match parsed.value {
                    PayloadInput::Payload(payload) => {
                        let mut report = Report::new(line, Status::Valid);
                        report.id = payload.id().ok();
                        report.escaped_size = Some(escaped_size);
                        report
                    }
                    PayloadInput::Reference(reference) => {
                        let mut report = Report::new(line, Status::Reference);
                        report.url = Some(reference.url);
                        report
                    }
                };
                report.warnings = parsed.warnings;
                report
            }
            Err(Error::InvalidPayload(problems)) => {
                let mut report = Report::new(line, Status::Invalid);
                report.problems = problems;
                report
            }
            Err(other) => {
                let mut report = Report::new(line, Status::Invalid);
                report.problems.push(Problem::new("$", other.to_string()));
                report
            }
        }
    }

    fn print(&self, name: &str, format: Format, out: &mut impl Write) -> io::Result<()> {
        if format == Format::Json {
            serde_json::to_writer(&mut *out, self)?;
            return writeln!(out);
        }
        let line = self.line;
        match self.status {
            Status::Valid => writeln!(
                out,
                "{name}:{line}: valid {}",
                self.id.as_deref().unwrap_or_default()
            )?,
            Status::Reference => writeln!(
                out,
                "{name}:{line}: payload reference to {} (recognised, not fetched)",
                self.url.as_deref().unwrap_or_default()
            )?,
            Status::Invalid => writeln!(
                out,
                "{name}:{line}: invalid ({} problem{})",
                self.problems.len(),
                if self.problems.len() == 1 { "" } else { "s" }
            )?,
            Status::Unreadable => writeln!(out, "{name}:{line}: unreadable")?,
        }
        for problem in &self.problems {
            writeln!(out, "  {problem}")?;
        }
        for warning in &self.warnings {
            writeln!(out, "  warning: {warning}")?;
        }
        if let Some(size) = self.escaped_size.filter(|size| *size > MAX_PAYLOAD_LENGTH) {
            writeln!(
                out,
                "  note: escaped size {size} bytes > {MAX_PAYLOAD_LENGTH}: this payload must travel as a {{\"url\": …}} reference"
            )?;
        }
        Ok(())
    }
}

/// Validates every record and reports each one.
pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let input = Input::open(args.path.as_ref())?;
    let name = input.name.clone();
    let records = input.start()?.values()?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut worst = Status::Valid;
    for record in records {
        let report = match record {
            Ok(record) => Report::of(record.line, record.value),
            Err(error) => {
                let report = Report::unreadable(&error);
                report.print(&name, global.format, &mut out)?;
                worst = worst.max(Status::Unreadable);
                if error.recoverable {
                    continue;
                }
                break;
            }
        };
        worst = worst.max(report.status);
        report.print(&name, global.format, &mut out)?;
    }
    out.flush()?;
    Ok(match worst {
        Status::Valid | Status::Reference => ExitCode::SUCCESS,
        Status::Invalid => ExitCode::from(1),
        Status::Unreadable => ExitCode::from(2),
    })
}
