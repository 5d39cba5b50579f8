//! The [`Task`] trait: the unit of work of a workflow, the same code whether it runs
//! in-process, as a subprocess, on Lambda or in a Batch container.

use crate::payload::ProcessPayload;
use async_trait::async_trait;
use std::fmt;

/// A Cirrus task: a process payload in, a process payload out.
///
/// A task reads its parameters from `process[0].tasks[<name>]`, does its work, and returns
/// the payload with its output items. An error carries an [`ErrorClass`] that decides what
/// happens next.
#[async_trait]
pub trait Task: Send + Sync {
    /// The name the task is registered and configured under (`copy-assets`, …).
    fn name(&self) -> &str;

    /// Runs the task.
    async fn run(
        &self,
        payload: ProcessPayload,
        context: &TaskContext,
    ) -> Result<ProcessPayload, TaskError>;
}

/// What a running task may ask of its runtime.
pub struct TaskContext {
    execution: String,
    heartbeat: Box<dyn Fn() + Send + Sync>,
}

impl TaskContext {
    /// A context for `execution` that calls `heartbeat` when the task reports progress.
    pub fn new(
        execution: impl Into<String>,
        heartbeat: impl Fn() + Send + Sync + 'static,
    ) -> TaskContext {
        TaskContext {
            execution: execution.into(),
            heartbeat: Box::new(heartbeat),
        }
    }

    /// The name of the workflow execution running the task.
    pub fn execution(&self) -> &str {
        &self.execution
    }

    /// Reports that the task is alive, for states with `HeartbeatSeconds`.
    pub fn heartbeat(&self) {
        (self.heartbeat)();
    }
}

impl fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskContext")
            .field("execution", &self.execution)
            .finish_non_exhaustive()
    }
}

/// What kind of failure a task error is. The class decides the payload's state and whether
/// the error is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The input is wrong and retrying cannot help: the payload becomes INVALID.
    Invalid,
    /// The task failed: the payload becomes FAILED.
    Failed,
    /// A transient failure (throttling, a network error) that a `Retry` should retry.
    Retryable,
}

impl ErrorClass {
    /// The ASL error name a task error of this class raises unless it names its own:
    /// `InvalidInput` (what cirrus-geo's update-state maps to INVALID), `TaskFailed`,
    /// `RetryableError`.
    pub fn default_error_name(self) -> &'static str {
        match self {
            ErrorClass::Invalid => "InvalidInput",
            ErrorClass::Failed => "TaskFailed",
            ErrorClass::Retryable => "RetryableError",
        }
    }
}

/// A task's error: its class, the ASL error name it raises, and a message (the cause).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// Invalid, Failed or Retryable.
    pub class: ErrorClass,
    /// The error name `Retry`/`Catch` match on.
    pub error: String,
    /// The cause.
    pub message: String,
}

impl TaskError {
    /// An error of `class` with the class's default name.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> TaskError {
        TaskError {
            class,
            error: class.default_error_name().to_owned(),
            message: message.into(),
        }
    }

    /// The input is wrong (`InvalidInput`).
    pub fn invalid(message: impl Into<String>) -> TaskError {
        TaskError::new(ErrorClass::Invalid, message)
    }

    /// The task failed (`TaskFailed`).
    pub fn failed(message: impl Into<String>) -> TaskError {
        TaskError::new(ErrorClass::Failed, message)
    }

    /// A transient failure (`RetryableError`).
    pub fn retryable(message: impl Into<String>) -> TaskError {
        TaskError::new(ErrorClass::Retryable, message)
    }

    /// The same error under another name.
    pub fn named(mut self, error: impl Into<String>) -> TaskError {
        self.error = error.into();
        self
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl std::error::Error for TaskError {}
