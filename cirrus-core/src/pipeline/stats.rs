//! Counters of a running pipeline, for progress displays.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a pipeline did so far. Updated as it goes; read with [`Stats::snapshot`].
#[derive(Debug, Default)]
pub struct Stats {
    received: AtomicU64,
    running: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    invalid: AtomicU64,
    aborted: AtomicU64,
    skipped: AtomicU64,
    rejected: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Queue messages received (a redelivered message counts again).
    pub received: u64,
    /// Executions running now.
    pub running: u64,
    /// Payloads that SUCCEEDED.
    pub succeeded: u64,
    /// Payloads that FAILED (timeouts included).
    pub failed: u64,
    /// Payloads found INVALID.
    pub invalid: u64,
    /// Payloads ABORTED by a shutdown.
    pub aborted: u64,
    /// Payloads skipped: already succeeded, invalid, claimed or processing, or a duplicate.
    pub skipped: u64,
    /// Records that were not process payloads.
    pub rejected: u64,
}

/// Which counter to bump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Received,
    Succeeded,
    Failed,
    Invalid,
    Aborted,
    Skipped,
    Rejected,
}

impl Stats {
    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            received: get(&self.received),
            running: get(&self.running),
            succeeded: get(&self.succeeded),
            failed: get(&self.failed),
            invalid: get(&self.invalid),
            aborted: get(&self.aborted),
            skipped: get(&self.skipped),
            rejected: get(&self.rejected),
        }
    }

    pub(crate) fn add(&self, counter: Counter, n: u64) {
        let cell = match counter {
            Counter::Received => &self.received,
            Counter::Succeeded => &self.succeeded,
            Counter::Failed => &self.failed,
            Counter::Invalid => &self.invalid,
            Counter::Aborted => &self.aborted,
            Counter::Skipped => &self.skipped,
            Counter::Rejected => &self.rejected,
        };
        cell.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn started(&self, n: u64) {
        self.running.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn finished(&self) {
        self.running.fetch_sub(1, Ordering::Relaxed);
    }
}
