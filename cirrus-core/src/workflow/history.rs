//! The history of an execution: every state entered, exited, failed, retried and caught,
//! with timestamps.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// One event of an execution's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    /// 1-based, in the order the events happened.
    pub id: u64,
    /// When it happened (UTC).
    pub timestamp: DateTime<Utc>,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The state it happened in, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Event-specific details: `input`, `output`, `error`, `cause`, `index`, `attempt`,
    /// `delay_seconds`, `line`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// The kinds of history event. The names follow Step Functions' where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub enum EventKind {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    PassStateEntered,
    PassStateExited,
    TaskStateEntered,
    TaskStateExited,
    ChoiceStateEntered,
    ChoiceStateExited,
    WaitStateEntered,
    WaitStateExited,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    ParallelStateEntered,
    ParallelStateExited,
    MapStateEntered,
    MapStateExited,
    TaskScheduled,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    /// A line the task wrote to its log (a subprocess's stderr).
    TaskLog,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    /// A state raised an error (before Retry/Catch are consulted).
    StateFailed,
    /// A retrier matched; the state runs again after `delay_seconds`.
    StateRetryScheduled,
    /// A catcher matched; the execution goes on at its `Next`.
    StateCaught,
}
