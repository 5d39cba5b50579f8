//! `cirrus payload get-id [PATH|-]`: print the ID of each payload, one per line, in order.
//!
//! NDJSON is streamed in batches of lines: one thread reads, one worker per core computes the
//! IDs of whole batches with only the ID-relevant members read ([`fast_id`]), and the main
//! thread writes each batch's IDs in input order. Memory is bounded by a few batches, whatever the input size. The first
//! record that has no ID stops the command with its line number: exit 1 when the JSON is
//! readable but the payload has no computable ID, 2 when the JSON is unreadable.

use crate::batches::{Batch, Chunks, Data, Mapped};
use crate::cli::Global;
use crate::input::{self, Input, Lines, RecordError, Start, trim_line_break};
use crate::output::Format;
use anyhow::Context;
use cirrus_core::payload::fast_id;
use memmap2::{Advice, Mmap};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::thread;

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
        let mut out = Vec::with_capacity(id.len() + 32);
        write_id(&mut out, self.format, line, id);
        self.out.write_all(&out)
    }

    /// Flushes what was printed, reports `failure` and returns the exit code.
    fn fail(&mut self, name: &str, failure: Failure) -> anyhow::Result<ExitCode> {
        self.out.flush()?;
        eprintln!("error: {name}: {}", failure.error);
        Ok(ExitCode::from(if failure.unreadable { 2 } else { 1 }))
    }
}

/// Maps `path` when it is a non-empty regular file holding NDJSON (its first non-blank line
/// is a whole JSON value), so that it is read without copying.
fn map_ndjson_file(path: Option<&PathBuf>) -> anyhow::Result<Option<Mmap>> {
    let Some(path) = path.filter(|p| p.as_os_str() != "-") else {
        return Ok(None);
    };
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let metadata = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !metadata.is_file() || metadata.len() == 0 {
        return Ok(None);
    }
    // SAFETY: the map is only read. Like any program that maps its input (ripgrep does),
    // get-id assumes the file is not truncated or rewritten while it runs.
    let map =
        unsafe { Mmap::map(&file) }.with_context(|| format!("cannot map {}", path.display()))?;
    let _ = map.advise(Advice::Sequential);
    let first = map
        .split(|b| *b == b'\n')
        .find(|line| !line.iter().all(u8::is_ascii_whitespace));
    Ok(match first {
        Some(line) if input::is_complete_value(trim_line_break(line)) => Some(map),
        _ => None,
    })
}

/// Appends an ID as printed: the ID (text), or `{"line": …, "id": …}` (json), and a newline.
fn write_id(out: &mut Vec<u8>, format: Format, line: usize, id: &str) {
    match format {
        Format::Text => out.extend_from_slice(id.as_bytes()),
        Format::Json => out.extend_from_slice(
            serde_json::json!({"line": line, "id": id})
                .to_string()
                .as_bytes(),
        ),
    }
    out.push(b'\n');
}

/// Prints the ID of every payload of the input.
pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout().lock();
    let mut printer = Printer {
        out: BufWriter::with_capacity(1 << 16, stdout),
        format: global.format,
    };
    if let Some(map) = map_ndjson_file(args.path.as_ref())? {
        let name = args
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        return run_lines(Source::Mapped(&map), args.threads, &name, &mut printer);
    }
    let input = Input::open(args.path.as_ref())?;
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
        Start::Lines(lines) => {
            return run_lines(Source::Lines(lines), args.threads, &name, &mut printer);
        }
    }
    printer.out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Where the pipeline's batches come from.
enum Source<'a> {
    /// A stream, read by [`Chunks`].
    Lines(Lines),
    /// A memory-mapped file.
    Mapped(&'a Mmap),
}

fn run_lines<W: Write>(
    source: Source<'_>,
    threads: Option<usize>,
    name: &str,
    printer: &mut Printer<W>,
) -> anyhow::Result<ExitCode> {
    let workers = threads
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, NonZeroUsize::get))
        .max(1);
    let format = printer.format;
    let stop = AtomicBool::new(false);
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    // Buffers go back to the reader once their IDs are computed, so that memory stays at a
    // few batches and pages are not faulted in again for every batch.
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let map = match &source {
        Source::Mapped(map) => Some(*map),
        Source::Lines(_) => None,
    };
    thread::scope(|scope| {
        let stop = &stop;
        scope.spawn(move || read_jobs(source, &job_tx, &free_rx, stop));
        for _ in 0..workers {
            let (job_rx, done_tx, free_tx) = (&job_rx, done_tx.clone(), free_tx.clone());
            scope.spawn(move || work(job_rx, &done_tx, &free_tx, map, format, stop));
        }
        drop((done_tx, free_tx));
        let result = write_in_order(&done_rx, map, name, printer);
        // Stop the reader, and let the workers drain what it already sent.
        stop.store(true, Ordering::Relaxed);
        result
    })
}

/// A batch (or the read error that ended the input) and its place in the input.
type Job = (usize, Result<Batch, RecordError>);

/// What a worker made of one batch: the printed IDs, up to the first failure.
struct Done {
    seq: usize,
    output: Vec<u8>,
    failure: Option<Failure>,
    /// Where the batch ends in the mapped file, if the input is mapped.
    mapped_end: Option<usize>,
}

fn read_jobs(
    source: Source<'_>,
    jobs: &mpsc::SyncSender<Job>,
    free: &mpsc::Receiver<Vec<u8>>,
    stop: &AtomicBool,
) {
    let mut next_batch: Box<dyn FnMut() -> Result<Option<Batch>, RecordError>> = match source {
        Source::Lines(lines) => {
            let (first, reader) = lines.into_parts();
            let mut chunks = Chunks::new(first, reader);
            Box::new(move || chunks.next_batch(free.try_recv().unwrap_or_default()))
        }
        Source::Mapped(map) => {
            let mut mapped = Mapped::new(map);
            Box::new(move || Ok(mapped.next_batch()))
        }
    };
    for seq in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let batch = match next_batch() {
            Ok(Some(batch)) => Ok(batch),
            Ok(None) => return,
            Err(error) => Err(error),
        };
        let last = batch.is_err();
        if jobs.send((seq, batch)).is_err() || last {
            return;
        }
    }
}

fn work(
    jobs: &Mutex<mpsc::Receiver<Job>>,
    done: &mpsc::Sender<Done>,
    free: &mpsc::Sender<Vec<u8>>,
    map: Option<&Mmap>,
    format: Format,
    stop: &AtomicBool,
) {
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok((seq, batch)) = job else {
            return; // the reader is done
        };
        if stop.load(Ordering::Relaxed) {
            continue;
        }
        let (output, failure, mapped_end) = match batch {
            Ok(batch) => {
                let result = batch_ids(&batch, map, format);
                let mapped_end = match batch.data {
                    Data::Owned(buf) => {
                        let _ = free.send(buf);
                        None
                    }
                    Data::Mapped(range) => Some(range.end),
                };
                (result.0, result.1, mapped_end)
            }
            Err(error) => (
                Vec::new(),
                Some(Failure {
                    error,
                    unreadable: true,
                }),
                None,
            ),
        };
        if done
            .send(Done {
                seq,
                output,
                failure,
                mapped_end,
            })
            .is_err()
        {
            return;
        }
    }
}

/// The printed IDs of a batch, up to its first failure.
fn batch_ids(batch: &Batch, map: Option<&Mmap>, format: Format) -> (Vec<u8>, Option<Failure>) {
    let bytes = batch.bytes(map);
    let mut out = Vec::with_capacity(batch.lines.len() * 96);
    for (line, range) in &batch.lines {
        match line_id(*line, &bytes[range.clone()]) {
            Ok(id) => write_id(&mut out, format, *line, &id),
            Err(failure) => return (out, Some(failure)),
        }
    }
    (out, None)
}

/// Writes the workers' outputs in input order, releasing mapped pages behind them; stops at
/// the first failure.
fn write_in_order<W: Write>(
    done: &mpsc::Receiver<Done>,
    map: Option<&Mmap>,
    name: &str,
    printer: &mut Printer<W>,
) -> anyhow::Result<ExitCode> {
    let mut pending = BTreeMap::new();
    let mut next = 0;
    let mut released = 0;
    for batch in done {
        pending.insert(batch.seq, batch);
        while let Some(batch) = pending.remove(&next) {
            printer.out.write_all(&batch.output)?;
            if let (Some(map), Some(end)) = (map, batch.mapped_end) {
                released = Mapped::release(map, released, end);
            }
            if let Some(failure) = batch.failure {
                return printer.fail(name, failure);
            }
            next += 1;
        }
    }
    printer.out.flush()?;
    Ok(ExitCode::SUCCESS)
}
