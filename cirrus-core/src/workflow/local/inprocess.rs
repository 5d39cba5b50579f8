//! In-process tasks: a [`Task`] called with the state's input parsed as a process payload.

use crate::Error;
use crate::payload::{ProcessPayload, problems_summary};
use crate::task::{ErrorClass, Task, TaskContext};
use crate::workflow::error::Failure;
use crate::workflow::resolver::{Invocation, Invoker};
use async_trait::async_trait;
use futures_util::FutureExt;
use serde_json::Value;
use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// Runs a registered [`Task`].
pub(super) struct InProcess {
    task: Arc<dyn Task>,
}

impl InProcess {
    pub(super) fn new(task: Arc<dyn Task>) -> InProcess {
        InProcess { task }
    }
}

#[async_trait]
impl Invoker for InProcess {
    async fn invoke(&self, input: Value, invocation: &Invocation) -> Result<Value, Failure> {
        let name = self.task.name();
        let parsed = match ProcessPayload::from_value(input) {
            Ok(parsed) => parsed,
            Err(Error::InvalidPayload(problems)) => {
                return Err(Failure::new(
                    ErrorClass::Invalid.default_error_name(),
                    format!(
                        "task {name}: the input is not a process payload: {}",
                        problems_summary(&problems)
                    ),
                ));
            }
            Err(other) => {
                return Err(Failure::new(
                    ErrorClass::Invalid.default_error_name(),
                    format!("task {name}: the input is not a process payload: {other}"),
                ));
            }
        };
        for warning in &parsed.warnings {
            tracing::warn!(
                task = name,
                execution = %invocation.execution,
                state = %invocation.state,
                "{warning}"
            );
        }
        let beats = invocation.clone();
        let context = TaskContext::new(invocation.execution.clone(), move || beats.heartbeat());
        tracing::debug!(task = name, execution = %invocation.execution, state = %invocation.state, "running in-process task");
        // A panicking task is a bug in that task; it fails this task, not the whole engine.
        let run = AssertUnwindSafe(self.task.run(parsed.value, &context)).catch_unwind();
        match run.await {
            Ok(Ok(payload)) => Ok(payload.to_value()),
            Ok(Err(error)) => Err(Failure::new(error.error, error.message)),
            Err(panic) => Err(Failure::new(
                ErrorClass::Failed.default_error_name(),
                format!("task {name} panicked: {}", panic_message(panic.as_ref())),
            )),
        }
    }
}

/// The message of a panic payload (`panic!("…")` gives a `&str` or a `String`).
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "a non-string panic payload"
    }
}
