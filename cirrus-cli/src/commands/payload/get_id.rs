//! `cirrus payload get-id [PATH|-]`: print the ID of each payload, one per line, in order.
//!
//! NDJSON is streamed in batches of lines: one thread reads, the others compute IDs in
//! parallel with only the ID-relevant members read ([`fast_id`]), and the IDs are written
//! in input order. Memory is bounded by a few batches, whatever the input size. The first
//! record that has no ID stops the command with its line number: exit 1 when the JSON is
//! readable but the payload has no computable ID, 2 when the JSON is unreadable.

use crate::cli::Global;
use crate::input::{Input, Lines, NumberedLine, Reader, RecordError, Start};
use crate::output::Format;
use anyhow::Context;
use cirrus_core::payload::fast_id;
use rayon::prelude::*;
use std::io::{self, BufWriter, Read, Write};
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

/// Computes the ID of the payload on line `line`.
fn line_id(line: usize, bytes: &[u8]) -> Result<String, Failure> {
    fast_id::payload_id(bytes).map_err(|err| {
        // Same wording and column as serde_json's errors in `validate` and `next`: at the
        // end of the input the column is that of the last byte.
        let truncated = err.syntax && err.offset >= bytes.len();
        let message = match (err.syntax, truncated) {
            (true, true) => format!("truncated JSON: {}", err.message),
            (true, false) => format!("invalid JSON: {}", err.message),
            (false, _) => err.message,
        };
        Failure {
            unreadable: err.syntax,
            error: RecordError {
                line,
                column: err
                    .syntax
                    .then_some(err.offset.min(bytes.len().saturating_sub(1)) + 1),
                message,
                recoverable: true,
            },
        }
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
            anyhow::bail!(
                "{name}: no input: expected a JSON payload or NDJSON (one payload per line)"
            )
        }
        Start::Documents(documents) => {
            for record in documents {
                let record = match record {
                    Ok(record) => record,
                    Err(error) => {
                        return printer.fail(
                            &name,
                            Failure {
                                error,
                                unreadable: true,
                            },
                        );
                    }
                };
                // Documents are small and rare; re-serializing lets one scanner serve both.
                let bytes = serde_json::to_vec(&record.value)?;
                match line_id(record.line, &bytes) {
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

/// A batch of NDJSON lines: the bytes, and each non-blank line's number and range.
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
    // Buffers go back to the reader once their IDs are written, so that memory stays at a
    // few batches and pages are not faulted in again for every batch.
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let (first, reader) = lines.into_parts();
        let mut chunks = Chunks::new(first, reader);
        loop {
            let buf = free_rx.try_recv().unwrap_or_default();
            let batch = chunks.next_batch(buf);
            let last = !matches!(batch, Ok(Some(_)));
            let sent = match batch {
                Ok(Some(batch)) => tx.send(Ok(batch)),
                Ok(None) => Ok(()),
                Err(error) => tx.send(Err(error)),
            };
            if last || sent.is_err() {
                return;
            }
        }
    });
    let mut code = ExitCode::SUCCESS;
    'batches: for batch in rx {
        let batch: Batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                code = printer.fail(
                    name,
                    Failure {
                        error,
                        unreadable: true,
                    },
                )?;
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
        let _ = free_tx.send(batch.data);
    }
    // Leaving the loop drops the receiver, which stops the reader at its next send.
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the input reader thread panicked"))?;
    printer.out.flush()?;
    Ok(code)
}

/// Splits NDJSON input into batches of whole lines, reading large chunks straight into the
/// batch buffer (no per-line copy).
struct Chunks {
    reader: Reader,
    /// Bytes read past the last complete line of the previous batch.
    carry: Vec<u8>,
    /// Number of the next line to start (1-based).
    next_line: usize,
    eof: bool,
}

impl Chunks {
    fn new(first: Option<NumberedLine>, reader: Reader) -> Chunks {
        let (next_line, carry) = match first {
            Some((number, mut line)) => {
                if line.last() != Some(&b'\n') {
                    line.push(b'\n');
                }
                (number, line)
            }
            None => (1, Vec::new()),
        };
        Chunks {
            reader,
            carry,
            next_line,
            eof: false,
        }
    }

    /// Fills `buf` with about [`BATCH_BYTES`] of whole lines; `None` at the end.
    fn next_batch(&mut self, mut buf: Vec<u8>) -> Result<Option<Batch>, RecordError> {
        buf.clear();
        buf.append(&mut self.carry);
        loop {
            while buf.len() < BATCH_BYTES && !self.eof {
                let chunk = (BATCH_BYTES - buf.len()).max(1 << 16) as u64;
                // `read_to_end` fills spare capacity without zeroing it first.
                let n = match (&mut self.reader).take(chunk).read_to_end(&mut buf) {
                    Ok(n) => n,
                    Err(err) => {
                        return Err(RecordError {
                            line: self.next_line,
                            column: None,
                            message: format!("read error: {err}"),
                            recoverable: false,
                        });
                    }
                };
                self.eof = n == 0;
            }
            if self.eof {
                break;
            }
            match memchr::memrchr(b'\n', &buf) {
                Some(end) => {
                    self.carry.extend_from_slice(&buf[end + 1..]);
                    buf.truncate(end + 1);
                    break;
                }
                // A line longer than a batch: keep reading until it ends.
                None => buf.reserve(BATCH_BYTES),
            }
        }
        if buf.is_empty() {
            return Ok(None);
        }
        let mut lines = Vec::with_capacity(buf.len() / 8192 + 1);
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', &buf)
            .chain((buf.last() != Some(&b'\n')).then_some(buf.len()));
        for end in ends {
            if !buf[start..end].iter().all(u8::is_ascii_whitespace) {
                let line = crate::input::trim_line_break(&buf[start..end]);
                lines.push((self.next_line, start..start + line.len()));
            }
            self.next_line += 1;
            start = end + 1;
        }
        Ok(Some(Batch { data: buf, lines }))
    }
}
