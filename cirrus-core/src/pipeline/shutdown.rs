//! Stopping a running pipeline: drain, then abort.

use tokio::sync::watch;

/// How a [`Pipeline::run`](super::Pipeline::run) is asked to stop. Cheap to clone; every
/// clone controls the same run.
///
/// - [`drain`](Shutdown::drain): receive nothing more, finish the batches that are running,
///   then return (the first Ctrl-C).
/// - [`abort`](Shutdown::abort): also cancel the running executions; their payloads become
///   ABORTED and their messages go back to the queue at once, so the next run picks them up
///   (the second Ctrl-C).
#[derive(Debug, Clone)]
pub struct Shutdown {
    level: watch::Sender<u8>,
}

const RUN: u8 = 0;
const DRAIN: u8 = 1;
const ABORT: u8 = 2;

impl Default for Shutdown {
    fn default() -> Shutdown {
        Shutdown::new()
    }
}

impl Shutdown {
    /// A run that has not been asked to stop.
    pub fn new() -> Shutdown {
        Shutdown {
            level: watch::Sender::new(RUN),
        }
    }

    /// Stop receiving; finish what is running.
    pub fn drain(&self) {
        self.level.send_if_modified(|level| {
            let changed = *level < DRAIN;
            *level = (*level).max(DRAIN);
            changed
        });
    }

    /// Stop receiving and cancel what is running.
    pub fn abort(&self) {
        self.level.send_replace(ABORT);
    }

    /// Whether [`drain`](Self::drain) or [`abort`](Self::abort) was called.
    pub fn is_draining(&self) -> bool {
        *self.level.borrow() >= DRAIN
    }

    /// Whether [`abort`](Self::abort) was called.
    pub fn is_aborted(&self) -> bool {
        *self.level.borrow() >= ABORT
    }

    /// Resolves once draining (or aborting) starts.
    pub async fn draining(&self) {
        let mut rx = self.level.subscribe();
        let _ = rx.wait_for(|level| *level >= DRAIN).await;
    }

    /// Resolves once aborting starts.
    pub async fn aborted(&self) {
        let mut rx = self.level.subscribe();
        let _ = rx.wait_for(|level| *level >= ABORT).await;
    }
}
