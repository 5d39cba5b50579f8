//! Where the queue reads the time: the system clock, or a manual one that tests move.

use crate::state::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// The time source of a queue backend. Visibility timeouts and receive times are read from it,
/// so tests can move time instead of sleeping.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
///
/// ```
/// use cirrus_core::queue::{Clock, ManualClock};
/// use cirrus_core::state::Timestamp;
/// use std::time::Duration;
///
/// let clock = ManualClock::new(Timestamp::from_micros(0));
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now(), Timestamp::from_micros(2_000_000));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    micros: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            micros: Arc::new(AtomicI64::new(start.as_micros())),
        }
    }

    /// Moves the clock forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        let by = duration_micros(by);
        let _ = self
            .micros
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(by))
            });
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: Timestamp) {
        self.micros.store(to.as_micros(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.micros.load(Ordering::SeqCst))
    }
}

/// `d` in microseconds, saturating at `i64::MAX`.
pub(crate) fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// `t` plus `d`, saturating.
pub(crate) fn plus(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp::from_micros(t.as_micros().saturating_add(duration_micros(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::new(Timestamp::from_micros(10));
        let b = a.clone();
        a.advance(Duration::from_micros(5));
        assert_eq!(b.now(), Timestamp::from_micros(15));
        b.set(Timestamp::from_micros(1));
        assert_eq!(a.now(), Timestamp::from_micros(1));
        a.advance(Duration::MAX);
        assert_eq!(a.now(), Timestamp::from_micros(i64::MAX));
    }

    #[test]
    fn plus_saturates() {
        let t = Timestamp::from_micros(i64::MAX - 1);
        assert_eq!(plus(t, Duration::from_secs(1)).as_micros(), i64::MAX);
        assert_eq!(
            plus(Timestamp::from_micros(0), Duration::from_millis(3)).as_micros(),
            3000
        );
    }
}
