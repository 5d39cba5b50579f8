//! The feed loop: records from a [`Feeder`] grouped into payloads, sent to a [`Sink`] at a
//! bounded rate, with the checkpoint moved after each acknowledged send.
//!
//! Memory stays flat: at most [`READY_CHUNK`] records are in hand at once, plus one partial
//! batch of items.

use crate::checkpoint::Checkpoint;
use crate::config::ProcessTemplate;
use crate::feeder::{Cursor, Feeder, Found};
use crate::sink::Sink;
use crate::{Error, Result};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The most records taken from the feeder before sending what they make.
pub const READY_CHUNK: usize = 1000;

/// How a feed runs.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    /// The process definitions of the payloads made from items; required when the feeder
    /// finds items.
    pub template: Option<ProcessTemplate>,
    /// Items per payload (at least 1).
    pub batch_size: usize,
    /// Payloads a second at most.
    pub max_rate: Option<f64>,
    /// The checkpoint file: read to resume, written after each acknowledged send.
    pub checkpoint: Option<PathBuf>,
    /// The config's fingerprint, stored in the checkpoint.
    pub fingerprint: String,
}

impl Default for FeedOptions {
    fn default() -> FeedOptions {
        FeedOptions {
            template: None,
            batch_size: 1,
            max_rate: None,
            checkpoint: None,
            fingerprint: String::new(),
        }
    }
}

/// Live counts of this run, read by the progress bar.
#[derive(Debug, Default)]
pub struct Counters {
    /// Records found (items, payloads and skipped ones).
    pub found: AtomicU64,
    /// Items sent inside payloads.
    pub items: AtomicU64,
    /// Payloads sent.
    pub payloads: AtomicU64,
    /// Records skipped.
    pub skipped: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// `(found, items, payloads, skipped)` now.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.found.load(Ordering::Relaxed),
            self.items.load(Ordering::Relaxed),
            self.payloads.load(Ordering::Relaxed),
            self.skipped.load(Ordering::Relaxed),
        )
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The feeder.
    pub feeder: String,
    /// The sink.
    pub sink: String,
    /// Records found by this run.
    pub found: u64,
    /// Items sent by this run, inside payloads.
    pub items: u64,
    /// Payloads sent by this run.
    pub payloads: u64,
    /// Records skipped by this run.
    pub skipped: u64,
    /// How long the run took.
    pub seconds: f64,
    /// Records found a second.
    pub found_per_second: f64,
    /// Payloads sent a second.
    pub payloads_per_second: f64,
    /// The run resumed from a checkpoint.
    pub resumed: bool,
    /// The feed ran to its end (in this run or an earlier one).
    pub complete: bool,
    /// The run was stopped before the end; the checkpoint says where to resume.
    pub interrupted: bool,
}

/// A payload to send, and the cursor after it (when known).
type Outgoing = (Value, Option<Cursor>);

/// Runs `feeder` into `sink` until its end, an error, or `stop` completes.
///
/// On an error, the payloads already made are sent first, so that the checkpoint is as far
/// on as it can be, and the error is returned; the checkpoint is kept. When `stop`
/// completes, the partial batch is dropped (not sent) and the checkpoint stays at the last
/// payload sent.
pub async fn feed(
    feeder: Box<dyn Feeder>,
    sink: &dyn Sink,
    options: &FeedOptions,
    counters: &Counters,
    stop: impl Future<Output = ()>,
) -> Result<Summary> {
    if options.batch_size == 0 {
        return Err(Error::invalid_argument("batch_size", "must be at least 1"));
    }
    let name = feeder.name().to_string();
    let loaded = match &options.checkpoint {
        Some(path) => Checkpoint::load(path, &name, &options.fingerprint)?,
        None => None,
    };
    let resumed = loaded.as_ref().is_some_and(|c| c.cursor.is_some());
    let mut run = Run {
        sink,
        options,
        counters,
        checkpoint: loaded.unwrap_or_else(|| Checkpoint::new(&name, &options.fingerprint)),
        started: Instant::now(),
        sent: 0,
    };
    let mut summary = Summary {
        feeder: name.clone(),
        sink: sink.name().to_string(),
        found: 0,
        items: 0,
        payloads: 0,
        skipped: 0,
        seconds: 0.0,
        found_per_second: 0.0,
        payloads_per_second: 0.0,
        resumed,
        complete: run.checkpoint.complete,
        interrupted: false,
    };
    if run.checkpoint.complete {
        tracing::info!(feeder = %name, "the checkpoint says this feed is complete; nothing to do (delete the checkpoint to feed again)");
        return Ok(summary);
    }
    if resumed {
        tracing::info!(feeder = %name, payloads = run.checkpoint.payloads, "resuming from the checkpoint");
    }
    let mut records = feeder
        .records(run.checkpoint.cursor.clone())
        .ready_chunks(READY_CHUNK);
    let mut stop = std::pin::pin!(stop);
    let mut pending: Vec<Value> = Vec::with_capacity(options.batch_size);
    let mut pending_cursor: Option<Cursor> = None;
    let mut out: Vec<Outgoing> = Vec::new();
    loop {
        let chunk = tokio::select! {
            biased;
            () = &mut stop => {
                summary.interrupted = true;
                break;
            }
            chunk = records.next() => chunk,
        };
        let Some(chunk) = chunk else {
            // The end: the last partial batch goes too.
            if !pending.is_empty() {
                let items = std::mem::take(&mut pending);
                run.push_batch(items, pending_cursor.take(), &mut out)?;
            }
            run.flush(&mut out, &mut stop).await?;
            run.checkpoint.complete = true;
            summary.complete = true;
            run.save()?;
            break;
        };
        for result in chunk {
            let record = match result {
                Ok(record) => record,
                Err(e) => {
                    // What was found before the error is sent, then the error is reported.
                    run.flush(&mut out, &mut stop).await?;
                    return Err(e);
                }
            };
            Counters::add(&counters.found, 1);
            run.checkpoint.found += 1;
            let cursor = record.cursor;
            match record.found {
                Found::Item(item) => {
                    if !item.get("id").is_some_and(Value::is_string) {
                        run.skip("an item without a string `id`", &item);
                    } else {
                        pending.push(item);
                    }
                    pending_cursor = cursor;
                    if pending.len() == options.batch_size {
                        let items =
                            std::mem::replace(&mut pending, Vec::with_capacity(options.batch_size));
                        run.push_batch(items, pending_cursor.take(), &mut out)?;
                    }
                }
                Found::Payload(payload) => {
                    if pending.is_empty() {
                        out.push((payload, cursor));
                    } else {
                        out.push((payload, None));
                        pending_cursor = cursor;
                    }
                }
                Found::Skipped(reason) => {
                    run.skip(&reason, &Value::Null);
                    if pending.is_empty() {
                        match out.last_mut() {
                            Some(last) => last.1 = cursor,
                            None => {
                                if cursor.is_some() {
                                    run.checkpoint.cursor = cursor;
                                }
                            }
                        }
                    } else {
                        pending_cursor = cursor;
                    }
                }
            }
        }
        if !run.flush(&mut out, &mut stop).await? {
            summary.interrupted = true;
            break;
        }
    }
    let (found, items, payloads, skipped) = counters.snapshot();
    let seconds = run.started.elapsed().as_secs_f64();
    summary.found = found;
    summary.items = items;
    summary.payloads = payloads;
    summary.skipped = skipped;
    summary.seconds = seconds;
    summary.found_per_second = found as f64 / seconds.max(1e-9);
    summary.payloads_per_second = payloads as f64 / seconds.max(1e-9);
    if summary.interrupted {
        tracing::warn!(feeder = %name, "interrupted; the checkpoint says where to resume");
    }
    Ok(summary)
}

struct Run<'a> {
    sink: &'a dyn Sink,
    options: &'a FeedOptions,
    counters: &'a Counters,
    checkpoint: Checkpoint,
    started: Instant,
    /// Payloads sent by this run (for the rate limit).
    sent: u64,
}

impl Run<'_> {
    fn skip(&mut self, reason: &str, item: &Value) {
        tracing::debug!(reason, id = ?item.get("id"), "skipped");
        Counters::add(&self.counters.skipped, 1);
        self.checkpoint.skipped += 1;
    }

    /// Makes the payload of `items` and queues it in `out`.
    fn push_batch(
        &mut self,
        items: Vec<Value>,
        cursor: Option<Cursor>,
        out: &mut Vec<Outgoing>,
    ) -> Result<()> {
        if items.is_empty() {
            if let Some(last) = out.last_mut() {
                last.1 = cursor;
            }
            return Ok(());
        }
        let template = self.options.template.as_ref().ok_or_else(|| {
            Error::invalid_argument(
                "process",
                "the feeder finds items, so the config needs a `process` template (process[0].workflow names the workflow)",
            )
        })?;
        let n = items.len();
        match template.payload(items) {
            Ok(payload) => out.push((payload, cursor)),
            Err(reason) => {
                tracing::warn!(%reason, "a batch of {n} items makes no valid payload; skipped");
                Counters::add(&self.counters.skipped, n);
                self.checkpoint.skipped += n as u64;
                if let Some(last) = out.last_mut() {
                    last.1 = cursor;
                }
            }
        }
        Ok(())
    }

    /// Sends `out` (at the rate limit), moving the checkpoint after each acknowledged send.
    /// Returns `false` when `stop` completed before everything was sent.
    async fn flush(
        &mut self,
        out: &mut Vec<Outgoing>,
        stop: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<bool> {
        let group = match self.options.max_rate {
            Some(rate) => ((rate / 4.0) as usize).clamp(1, READY_CHUNK),
            None => READY_CHUNK,
        };
        let mut done = 0;
        let mut stopped = false;
        while done < out.len() {
            let end = (done + group).min(out.len());
            if let Some(rate) = self.options.max_rate {
                let last = self.sent + (end - done) as u64 - 1;
                let due = self.started + Duration::from_secs_f64(last as f64 / rate);
                tokio::select! {
                    biased;
                    () = stop.as_mut() => { stopped = true; break; }
                    () = tokio::time::sleep_until(due.into()) => {}
                }
            }
            let payloads: Vec<Value> = out[done..end].iter().map(|(p, _)| p.clone()).collect();
            self.sink.send(&payloads).await?;
            let items: usize = payloads
                .iter()
                .map(|p| p["features"].as_array().map_or(0, Vec::len))
                .sum();
            let sent = end - done;
            self.sent += sent as u64;
            Counters::add(&self.counters.payloads, sent);
            self.checkpoint.payloads += sent as u64;
            Counters::add(&self.counters.items, items);
            self.checkpoint.items += items as u64;
            if let Some(cursor) = out[done..end].iter().rev().find_map(|(_, c)| c.clone()) {
                self.checkpoint.cursor = Some(cursor);
            }
            self.save()?;
            done = end;
        }
        out.drain(..done);
        Ok(!stopped)
    }

    fn save(&mut self) -> Result<()> {
        match &self.options.checkpoint {
            Some(path) => self.checkpoint.save(path),
            None => Ok(()),
        }
    }
}
