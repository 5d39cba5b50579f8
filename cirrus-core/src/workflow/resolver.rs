//! How a Task state's `Resource` becomes something that runs: [`TaskResolver`].
//!
//! The interpreter never looks inside a `Resource`. It asks the resolver for an [`Invoker`]
//! and calls it with the state's effective input. The local mode resolves to in-process
//! [`Task`](crate::task::Task)s and subprocesses; the AWS mode never runs this interpreter.

use super::error::Failure;
use async_trait::async_trait;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Maps a Task state's `Resource` to an [`Invoker`].
pub trait TaskResolver: Send + Sync {
    /// The invoker for `resource`. An unknown resource is a [`Failure`] of the task (Step
    /// Functions reports an unknown Lambda function the same way: as the task's error, at
    /// run time), so a `Catch` can handle it.
    fn resolve(&self, resource: &str) -> Result<Arc<dyn Invoker>, Failure>;
}

/// Runs one task invocation.
#[async_trait]
pub trait Invoker: Send + Sync {
    /// Runs the task on `input` (the state's effective input, after `InputPath` and
    /// `Parameters`) and returns its result, or the error it raised.
    async fn invoke(&self, input: Value, invocation: &Invocation) -> Result<Value, Failure>;
}

/// What an invoker knows about the call it serves, and how it talks back to the engine.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The execution's name.
    pub execution: String,
    /// The Task state's name.
    pub state: String,
    /// The `Resource` as written.
    pub resource: String,
    /// `$$.Task.Token`.
    pub token: String,
    heartbeat: Arc<Notify>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Invocation {
    /// A new invocation.
    pub fn new(
        execution: impl Into<String>,
        state: impl Into<String>,
        resource: impl Into<String>,
        token: impl Into<String>,
    ) -> Invocation {
        Invocation {
            execution: execution.into(),
            state: state.into(),
            resource: resource.into(),
            token: token.into(),
            heartbeat: Arc::new(Notify::new()),
            log: Arc::default(),
        }
    }

    /// Tells the engine the task is alive (`HeartbeatSeconds`).
    pub fn heartbeat(&self) {
        self.heartbeat.notify_one();
    }

    /// Resolves at the next [`heartbeat`](Invocation::heartbeat).
    pub async fn heartbeat_received(&self) {
        self.heartbeat.notified().await;
    }

    /// Adds a line to the task's log, which goes into the execution history (a subprocess's
    /// stderr, say).
    pub fn log(&self, line: impl Into<String>) {
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        log.push(line.into());
    }

    /// Takes the log lines written so far.
    pub fn take_log(&self) -> Vec<String> {
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut *log)
    }
}
