//! `Retry` and `Catch`: which retrier or catcher handles an error, and how long to wait.

use super::error::Failure;
use super::model::{Catcher, Jitter, Retrier};
use std::time::Duration;

/// The retry counters of one visit to a state: one per retrier.
#[derive(Debug)]
pub(crate) struct RetryState<'a> {
    retriers: &'a [Retrier],
    attempts: Vec<u32>,
    /// Retries so far, over all retriers (`$$.State.RetryCount`).
    pub(crate) total: u32,
}

/// A retry to make: after `delay`, as attempt `attempt` (1-based) of retrier `retrier`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Retry {
    pub(crate) retrier: usize,
    pub(crate) attempt: u32,
    pub(crate) delay: Duration,
}

impl<'a> RetryState<'a> {
    pub(crate) fn new(retriers: &'a [Retrier]) -> RetryState<'a> {
        RetryState {
            retriers,
            attempts: vec![0; retriers.len()],
            total: 0,
        }
    }

    /// The retry for `failure`, if any. Only the first retrier whose `ErrorEquals` matches is
    /// consulted: once its `MaxAttempts` are spent, the error goes to `Catch`, even when a
    /// later retrier would also match.
    pub(crate) fn next(&mut self, failure: &Failure) -> Option<Retry> {
        let index = self
            .retriers
            .iter()
            .position(|retrier| failure.matches(&retrier.error_equals))?;
        let retrier = &self.retriers[index];
        let done = self.attempts[index];
        if done >= retrier.max_attempts {
            return None;
        }
        self.attempts[index] = done + 1;
        self.total += 1;
        Some(Retry {
            retrier: index,
            attempt: done + 1,
            delay: delay(retrier, done, fastrand::f64),
        })
    }
}

/// The wait before retry number `done + 1` of `retrier`:
/// `IntervalSeconds × BackoffRate^done`, capped by `MaxDelaySeconds`, then with `FULL` jitter a
/// uniform random fraction of that (`random` gives a number in `[0, 1)`).
pub(crate) fn delay(retrier: &Retrier, done: u32, random: impl FnOnce() -> f64) -> Duration {
    let exponent = i32::try_from(done).unwrap_or(i32::MAX);
    let mut seconds = retrier.interval_seconds as f64 * retrier.backoff_rate.powi(exponent);
    if let Some(max) = retrier.max_delay_seconds {
        seconds = seconds.min(max as f64);
    }
    // No cap is set, Step Functions still never waits more than a year; keep the value a
    // valid Duration whatever the backoff rate.
    seconds = seconds.min(MAX_DELAY_SECONDS);
    if retrier.jitter == Jitter::Full {
        seconds *= random();
    }
    Duration::from_secs_f64(seconds.max(0.0))
}

/// One year, the longest an execution (and so any retry wait) can last.
const MAX_DELAY_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// The first catcher whose `ErrorEquals` matches `failure`.
pub(crate) fn catcher<'a>(
    catchers: &'a [Catcher],
    failure: &Failure,
) -> Option<(usize, &'a Catcher)> {
    catchers
        .iter()
        .enumerate()
        .find(|(_, catcher)| failure.matches(&catcher.error_equals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::names;

    fn retrier(errors: &[&str], max_attempts: u32) -> Retrier {
        Retrier {
            error_equals: errors.iter().map(|e| e.to_string()).collect(),
            interval_seconds: 1,
            max_attempts,
            backoff_rate: 2.0,
            max_delay_seconds: None,
            jitter: Jitter::None,
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut r = retrier(&["X"], 10);
        r.interval_seconds = 3;
        let seconds: Vec<f64> = (0..4).map(|n| delay(&r, n, || 0.5).as_secs_f64()).collect();
        assert_eq!(seconds, [3.0, 6.0, 12.0, 24.0]);
        r.max_delay_seconds = Some(10);
        assert_eq!(delay(&r, 3, || 0.5), Duration::from_secs(10));
        r.jitter = Jitter::Full;
        assert_eq!(delay(&r, 3, || 0.25), Duration::from_secs_f64(2.5));
        r.backoff_rate = 1e300;
        r.max_delay_seconds = None;
        r.jitter = Jitter::None;
        assert_eq!(delay(&r, 1000, || 0.0).as_secs_f64(), MAX_DELAY_SECONDS);
    }

    #[test]
    fn first_matching_retrier_only() {
        let retriers = [
            retrier(&["A"], 1),
            retrier(&["A", "B"], 5),
            retrier(&[names::ALL], 2),
        ];
        let mut state = RetryState::new(&retriers);
        let a = Failure::bare("A");
        assert_eq!(state.next(&a).map(|r| (r.retrier, r.attempt)), Some((0, 1)));
        // The first retrier is spent: the second would match but is not consulted.
        assert_eq!(state.next(&a), None);
        let b = Failure::bare("B");
        assert_eq!(state.next(&b).map(|r| (r.retrier, r.attempt)), Some((1, 1)));
        let other = Failure::bare("Other");
        assert_eq!(state.next(&other).map(|r| r.retrier), Some(2));
        assert_eq!(state.total, 3);
        assert_eq!(state.next(&Failure::runtime("bad path")), None);
    }

    #[test]
    fn zero_attempts_never_retries() {
        let retriers = [retrier(&[names::ALL], 0)];
        assert_eq!(RetryState::new(&retriers).next(&Failure::bare("X")), None);
    }

    #[test]
    fn catchers_in_order() {
        let catcher = |errors: &[&str], next: &str| Catcher {
            error_equals: errors.iter().map(|e| e.to_string()).collect(),
            next: next.into(),
            result_path: None,
        };
        let catchers = [
            catcher(&["A"], "first"),
            catcher(&[names::TASK_FAILED], "task"),
            catcher(&[names::ALL], "all"),
        ];
        let next = |error: &str| catcher_next(&catchers, &Failure::bare(error));
        assert_eq!(next("A"), Some("first"));
        assert_eq!(next("B"), Some("task"));
        assert_eq!(next(names::TIMEOUT), Some("all"));
        assert_eq!(next(names::RUNTIME), None);
    }

    fn catcher_next<'a>(catchers: &'a [Catcher], failure: &Failure) -> Option<&'a str> {
        catcher(catchers, failure).map(|(_, c)| c.next.as_str())
    }
}
