//! `cirrus payload get-id [PATH|-]`: print the ID of each payload, one per line, in order.
//!
//! NDJSON is streamed in batches of lines: one thread reads, the others compute IDs in
//! parallel with only the ID-relevant fields parsed ([`IdFields`]), and the IDs are written
//! in input order. Memory is bounded by a few batches, whatever the input size. The first
//! record that has no ID stops the command with its line number: exit 1 when the JSON is
//! readable but the payload has no computable ID, 2 when the JSON is unreadable.

use crate::cli::Global;
use crate::input::{Input, Lines, RecordError, Start};
use crate::output::Format;
use anyhow::Context;
use cirrus_core::payload::id::IdFields;
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::error::Category;
use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;

/// Bytes of input per batch handed to the workers.
const BATCH_BYTES: usize = 4 << 20;
/// Batches read ahead of the one being processed.
const READ_AHEAD: usize = 2;

/// Arguments of `cirrus payload get-id`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A JSON payload or NDJSON file; `-` or nothing for stdin.
    path: Option<PathBuf>,
    /// Worker threads for NDJSON input (default: one per CPU).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
}

/// Why a record has no ID.
struct Failure {
    error: RecordError,
    /// The JSON could not be read at all (exit 2), rather than read but without an ID (1).
    unreadable: bool,
}

/// Computes the ID of one NDJSON line.
fn line_id(line: usize, bytes: &[u8]) -> Result<String, Failure> {
    let fields: IdFields = serde_json::from_slice(bytes).map_err(|err| Failure {
        unreadable: err.classify() != Category::Data,
        error: RecordError::json(line, &err),
    })?;
    id_of(line, &fields)
}

fn id_of(line: usize, fields: &IdFields) -> Result<String, Failure> {
    fields
        .payload_id()
        .map(|id| id.into_owned())
        .map_err(|message| Failure {
            error: RecordError {
                line,
                column: None,
                message,
                recoverable: true,
            },
            unreadable: false,
        })
}

/// Prints IDs (text) or `{"line": …, "id": …}` objects (json).
struct Printer<W: Write> {
    out: W,
    format: Format,
}

impl<W: Write> Printer<W> {
    fn id(&mut self, line: usize, id: &str) -> io::Result<()> {
        match self.format {
            Format::Text => {
                self.out.write_all(id.as_bytes())?;
                self.out.write_all(b"\n")
            }
            Format::Json => {
                serde_json::to_writer(&mut self.out, &serde_json::json!({"line": line, "id": id}))?;
                self.out.write_all(b"\n")
            }
        }
    }

    /// Flushes what was printed, reports `failure` and returns the exit code.
    fn fail(&mut self, name: &str, failure: Failure) -> anyhow::Result<ExitCode> {
        self.out.flush()?;
        eprintln!("error: {name}: {}", failure.error);
        Ok(ExitCode::from(if failure.unreadable { 2 } else { 1 }))
    }
}

/// Prints the ID of every payload of the input.
pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let input = Input::open(args.path.as_ref())?;
    let stdout = io::stdout().lock();
    let mut printer = Printer {
        out: BufWriter::with_capacity(1 << 16, stdout),
        format: global.format,
    };
    let name = input.name.clone();
    match input.start()? {
        Start::Empty { name } => {
            anyhow::bail!("{name}: no input: expected a JSON payload or NDJSON (one payload per line)")
        }
        Start::Documents(documents) => {
            for record in documents {
                let record = match record {
                    Ok(record) => record,
                    Err(error) => return printer.fail(&name, Failure { error, unreadable: true }),
                };
                let fields = match IdFields::deserialize(&record.value) {
                    Ok(fields) => fields,
                    Err(err) => {
                        let error = RecordError {
                            line: record.line,
                            column: None,
                            message: err.to_string(),
                            recoverable: true,
                        };
                        return printer.fail(&name, Failure { error, unreadable: false });
                    }
                };
                match id_of(record.line, &fields) {
                    Ok(id) => printer.id(record.line, &id)?,
                    Err(failure) => return printer.fail(&name, failure),
                }
            }
        }
        Start::Lines(lines) => return run_lines(lines, args.threads, &name, &mut printer),
    }
    printer.out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A batch of NDJSON lines: the bytes, and each line's number and range.
struct Batch {
    data: Vec<u8>,
    lines: Vec<(usize, Range<usize>)>,
}

fn run_lines<W: Write>(
    lines: Lines,
    threads: Option<usize>,
    name: &str,
    printer: &mut Printer<W>,
) -> anyhow::Result<ExitCode> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = threads {
        pool = pool.num_threads(threads.max(1));
    }
    let pool = pool.build().context("cannot start worker threads")?;
    let (tx, rx) = mpsc::sync_channel(READ_AHEAD);
    let reader = std::thread::spawn(move || read_batches(lines, tx));
    let mut code = ExitCode::SUCCESS;
    'batches: for batch in rx {
        let batch: Batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                code = printer.fail(name, Failure { error, unreadable: true })?;
                break;
            }
        };
        let ids: Vec<Result<String, Failure>> = pool.install(|| {
            batch
                .lines
                .par_iter()
                .map(|(line, range)| line_id(*line, &batch.data[range.clone()]))
                .collect()
        });
        for ((line, _), id) in batch.lines.iter().zip(ids) {
            match id {
                Ok(id) => printer.id(*line, &id)?,
                Err(failure) => {
                    code = printer.fail(name, failure)?;
                    break 'batches;
                }
            }
        }
    }
    // Dropping the receiver (end of the loop) stops the reader at its next send.
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the input reader thread panicked"))?;
    printer.out.flush()?;
    Ok(code)
}

/// Reads batches of about [`BATCH_BYTES`] until the input ends, an error occurs, or the
/// receiver is gone.
fn read_batches(mut lines: Lines, tx: mpsc::SyncSender<Result<Batch, RecordError>>) {
    loop {
        let mut batch = Batch {
            data: Vec::with_capacity(BATCH_BYTES + (BATCH_BYTES >> 3)),
            lines: Vec::new(),
        };
        let mut end = false;
        while batch.data.len() < BATCH_BYTES {
            match lines.next_append(&mut batch.data) {
                Ok(Some(line)) => batch.lines.push(line),
                Ok(None) => {
                    end = true;
                    break;
                }
                Err(error) => {
                    if !batch.lines.is_empty() {
                        let _ = tx.send(Ok(batch));
                    }
                    let _ = tx.send(Err(error));
                    return;
                }
            }
        }
        if !batch.lines.is_empty() && tx.send(Ok(batch)).is_err() {
            return;
        }
        if end {
            return;
        }
    }
}
