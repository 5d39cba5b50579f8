//! The worker pool that drains the process queue.

use super::Pipeline;
use super::batch::Job;
use super::finish::Ending;
use super::shutdown::Shutdown;
use super::stats::Counter;
use crate::queue::{self, Receipt};
use crate::{Error, Result};
use futures_util::future::join_all;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How [`Pipeline::run`] drains the queue.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Workers: each receives a batch, runs its executions concurrently and records their
    /// outcomes; it receives and claims its next batch while the current one runs (at most
    /// [`BATCHES_PER_WORKER`] at once).
    pub workers: usize,
    /// The most messages a worker receives at once (1 to 100).
    pub batch_size: usize,
    /// How long a received message stays hidden and a lease lasts without renewal; both are
    /// renewed every third of it while their batch runs.
    pub visibility_timeout: Duration,
    /// Keep waiting for new messages when the queue is empty, until a shutdown.
    pub follow: bool,
    /// How long an idle worker waits before it looks at the queue again.
    pub poll_interval: Duration,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            workers: 1,
            batch_size: super::DEFAULT_BATCH_SIZE,
            visibility_timeout: super::DEFAULT_VISIBILITY_TIMEOUT,
            follow: false,
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// The most batches one worker has at once: one being claimed or recorded while another
/// runs.
pub const BATCHES_PER_WORKER: usize = 2;

/// A worker's or batch's task result (`what` says which); one that panicked is an error.
fn joined(what: &str, done: std::result::Result<Result<()>, tokio::task::JoinError>) -> Result<()> {
    done.unwrap_or_else(|e| {
        Err(Error::invalid_argument(
            "workers",
            format!("a {what} stopped unexpectedly: {e}"),
        ))
    })
}

/// The receipts of the messages being worked on, by message ID.
type InFlight = Arc<Mutex<HashMap<String, Receipt>>>;

impl Pipeline {
    /// Drains the process queue with `options.workers` workers until it is empty (nothing
    /// visible and nothing in flight), or, with `follow`, until `shutdown` drains.
    ///
    /// The first error stops every worker after its current batch and is returned; the
    /// payloads of a batch that failed stay on the queue and are taken over by the next run.
    pub async fn run(&self, options: &RunOptions, shutdown: &Shutdown) -> Result<()> {
        check(options)?;
        let in_flight: InFlight = Arc::default();
        let returned: Arc<Mutex<Vec<Receipt>>> = Arc::default();
        let stop = Shutdown::new();
        let renewal = self.renew_forever(options.visibility_timeout, in_flight.clone());
        let mut workers = Tasks(
            (0..options.workers)
                .map(|worker| {
                    let pipeline = self.clone();
                    let (options, shutdown) = (options.clone(), shutdown.clone());
                    let (stop, in_flight, returned) =
                        (stop.clone(), in_flight.clone(), returned.clone());
                    tokio::spawn(async move {
                        let result = pipeline
                            .work(worker, &options, &shutdown, &stop, &in_flight, &returned)
                            .await;
                        if let Err(e) = &result {
                            tracing::error!(worker, error = %e, "worker stopped");
                            stop.drain();
                        }
                        result
                    })
                })
                .collect(),
        );
        let results = tokio::select! {
            results = join_all(workers.0.iter_mut()) => results,
            () = renewal => unreachable!("renewal runs until dropped"),
        };
        let results: Vec<Result<()>> = results
            .into_iter()
            .map(|done| joined("worker", done))
            .collect();
        if let Err(e) = self.inner.leases.release_all(&self.inner.owner).await {
            tracing::warn!(error = %e, "cannot release this worker's leases; they lapse on their own");
        }
        // The messages of batches that failed go back at once (their leases are gone), so a
        // rerun need not wait for their visibility timeout.
        let returned = std::mem::take(&mut *returned.lock().expect("never left poisoned"));
        for receipt in returned {
            if let Err(e) = self
                .inner
                .queue
                .change_visibility(&receipt, Duration::ZERO)
                .await
            {
                tracing::warn!(error = %e, "cannot return a message to the queue; it comes back after its visibility timeout");
            }
        }
        results.into_iter().collect()
    }

    /// One worker's loop. A worker receives its next batch while the executions of the
    /// current one run (at most [`BATCHES_PER_WORKER`] batches at once), so that claiming,
    /// archiving and recording overlap with running.
    async fn work(
        &self,
        worker: usize,
        options: &RunOptions,
        shutdown: &Shutdown,
        stop: &Shutdown,
        in_flight: &InFlight,
        returned: &Arc<Mutex<Vec<Receipt>>>,
    ) -> Result<()> {
        let mut batches = tokio::task::JoinSet::new();
        let mut result = Ok(());
        while result.is_ok() {
            while let Some(done) = batches.try_join_next() {
                result = result.and(joined("batch", done));
            }
            if result.is_err() || shutdown.is_draining() || stop.is_draining() {
                break;
            }
            if batches.len() >= BATCHES_PER_WORKER {
                if let Some(done) = batches.join_next().await {
                    result = joined("batch", done);
                }
                continue;
            }
            // Taken before the receive, so that the batch's leases end before its messages
            // can come back.
            let lease_until = Instant::now() + options.visibility_timeout;
            let batch = match self
                .inner
                .queue
                .receive(options.batch_size, options.visibility_timeout)
                .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            if batch.is_empty() {
                if !options.follow && batches.is_empty() {
                    let stats = self.inner.queue.stats().await?;
                    if stats.visible + stats.in_flight == 0 {
                        break;
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(options.poll_interval) => {}
                    () = shutdown.draining() => {}
                    () = stop.draining() => {}
                    Some(done) = batches.join_next(), if !batches.is_empty() => result = joined("batch", done),
                }
                continue;
            }
            tracing::debug!(worker, messages = batch.len(), "batch received");
            self.inner.stats.add(Counter::Received, batch.len() as u64);
            track(in_flight, &batch, true);
            let (pipeline, shutdown, in_flight, returned) = (
                self.clone(),
                shutdown.clone(),
                in_flight.clone(),
                returned.clone(),
            );
            batches.spawn(async move {
                let result = pipeline.handle(&batch, lease_until, &shutdown).await;
                track(&in_flight, &batch, false);
                if result.is_err() {
                    // Back on the queue once this run has dropped its leases (see `run`).
                    let mut returned = returned.lock().expect("the list is never left poisoned");
                    returned.extend(batch.iter().map(|m| m.receipt.clone()));
                }
                result
            });
        }
        // The batches still running finish (and are recorded) before the worker stops.
        while let Some(done) = batches.join_next().await {
            result = result.and(joined("batch", done));
        }
        result
    }

    /// `process`, the executions and `update-state` for one batch, then the deletion of
    /// every message whose payloads are all done. The executions run as tasks of their own,
    /// on every core.
    async fn handle(
        &self,
        batch: &[queue::Message],
        lease_until: Instant,
        shutdown: &Shutdown,
    ) -> Result<()> {
        let intake = self.intake(batch, lease_until).await?;
        let mut keep = intake.keep;
        let jobs: Vec<Arc<Job>> = intake.jobs.into_iter().map(Arc::new).collect();
        self.inner.stats.started(jobs.len() as u64);
        let mut running = Tasks(
            jobs.iter()
                .map(|job| {
                    let (pipeline, job, shutdown) = (self.clone(), job.clone(), shutdown.clone());
                    tokio::spawn(async move {
                        let ending = pipeline.execute(&job, &shutdown).await;
                        pipeline.inner.stats.finished();
                        ending
                    })
                })
                .collect(),
        );
        let endings = join_all(running.0.iter_mut())
            .await
            .into_iter()
            .map(|ended| {
                ended.unwrap_or_else(|e| Ending::Failed {
                    error: format!("States.Runtime: the execution stopped unexpectedly: {e}"),
                    timed_out: false,
                })
            })
            .collect();
        let finished = self.finish_batch(&jobs, endings).await;
        self.stop_running(jobs.iter().map(|job| job.key.as_str()));
        let (events, aborted) = finished?;
        for message in aborted {
            keep.insert(message, Duration::ZERO);
        }
        self.emit(&events).await?;
        self.settle(batch, &keep).await
    }

    /// Deletes the batch's done messages, and hides the kept ones for as long as `keep` says
    /// (no time: visible again at once).
    async fn settle(
        &self,
        batch: &[queue::Message],
        keep: &HashMap<usize, Duration>,
    ) -> Result<()> {
        let (kept, done): (Vec<_>, Vec<_>) = batch
            .iter()
            .enumerate()
            .partition(|(index, _)| keep.contains_key(index));
        let receipts: Vec<Receipt> = done.iter().map(|(_, m)| m.receipt.clone()).collect();
        self.inner.queue.delete_batch(&receipts).await?;
        for (index, message) in kept {
            self.inner
                .queue
                .change_visibility(&message.receipt, keep[&index])
                .await?;
        }
        Ok(())
    }

    /// Every third of the visibility timeout, extends this worker's leases and hides its
    /// in-flight messages again. Runs until dropped; failures are logged (a lapse only lets
    /// another worker take over early).
    async fn renew_forever(&self, timeout: Duration, in_flight: InFlight) {
        let period = (timeout / 3).max(Duration::from_millis(100));
        let mut ticks = tokio::time::interval(period);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if let Err(e) = self.inner.leases.renew(&self.inner.owner, timeout).await {
                tracing::warn!(error = %e, "cannot renew leases");
            }
            let receipts: Vec<Receipt> = in_flight
                .lock()
                .expect("the in-flight map is never left poisoned")
                .values()
                .cloned()
                .collect();
            for receipt in receipts {
                if let Err(e) = self.inner.queue.change_visibility(&receipt, timeout).await {
                    tracing::warn!(error = %e, "cannot extend a message's visibility");
                }
            }
        }
    }
}

/// Spawned tasks, aborted if dropped before they end (a run that is itself dropped).
struct Tasks<T>(Vec<tokio::task::JoinHandle<T>>);

impl<T> Drop for Tasks<T> {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

fn track(in_flight: &InFlight, batch: &[queue::Message], add: bool) {
    let mut map = in_flight
        .lock()
        .expect("the in-flight map is never left poisoned");
    for message in batch {
        if add {
            map.insert(message.id.clone(), message.receipt.clone());
        } else {
            map.remove(&message.id);
        }
    }
}

fn check(options: &RunOptions) -> Result<()> {
    if options.workers == 0 {
        return Err(Error::invalid_argument("workers", "must be at least 1"));
    }
    queue::check_receive(options.batch_size, options.visibility_timeout)?;
    if options.visibility_timeout < Duration::from_secs(1) {
        return Err(Error::invalid_argument(
            "visibility_timeout",
            "must be at least 1 second",
        ));
    }
    Ok(())
}
