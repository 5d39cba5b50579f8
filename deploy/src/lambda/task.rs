//! `task:<name>`: a built-in task run by Lambda, as a Step Functions Task state calls it.
//!
//! The event is the payload, or a `{"url"}` reference to it; the answer is the output
//! payload, or `{"url"}` when it is too large to travel inline. A task error is a Lambda
//! error whose `errorType` is the task's error name (`InvalidInput`, `RetryableError`, …),
//! so the state's `Retry` and `Catch` see it, and update-state maps `InvalidInput` to
//! INVALID.
//!
//! The Lambda build leaves GDAL out (no libgdal in the zip): the tasks that need it
//! ([`GDAL_TASKS`]) run on Batch, and `task:<one of them>` fails at start-up with a line
//! saying so.

use super::HandlerError;
use super::context::Context;
use cirrus_core::payload::ProcessPayload;
use cirrus_core::task::{Task, TaskContext};
use cirrus_tasks::TaskEnv;
use serde_json::Value;
use std::sync::Arc;

/// The built-in tasks that need GDAL, and so run on Batch when the Lambda build has none.
pub const GDAL_TASKS: [&str; 4] = ["aviris-activate", "hsi-index", "hsi-detect", "preview"];

/// The `errorType` of a task this build cannot run.
pub const TASK_UNAVAILABLE: &str = "TaskUnavailable";

/// The built-in task `name`, writing below `context.data`.
///
/// # Errors
///
/// [`TASK_UNAVAILABLE`], naming the tasks there are, when this build has no such task.
pub fn find(context: &Context, name: &str) -> Result<Arc<dyn Task>, HandlerError> {
    let env = TaskEnv::new(context.data.clone());
    let tasks = cirrus_tasks::builtin_tasks(&env);
    if let Some(task) = tasks.iter().find(|t| t.name() == name) {
        return Ok(task.clone());
    }
    let known: Vec<&str> = tasks.iter().map(|t| t.name()).collect();
    let message = if GDAL_TASKS.contains(&name) {
        format!(
            "task {name:?} needs GDAL, which this Lambda build leaves out: run it on Batch (`batch` in the task's settings); Lambda runs {}",
            known.join(", ")
        )
    } else {
        format!(
            "no built-in task {name:?}; this build has {}",
            known.join(", ")
        )
    };
    Err(HandlerError::new(TASK_UNAVAILABLE, message))
}

/// Runs `task` on the payload in `event`; `request_id` names the run in the task's logs.
///
/// # Errors
///
/// The task's error, under its own name; `InvalidInput` for an event that is not a
/// payload; a retryable error when a store fails.
pub async fn handle(
    context: &Context,
    task: &dyn Task,
    event: Value,
    request_id: &str,
) -> Result<Value, HandlerError> {
    let input = context.bucket.resolve(event).await?;
    let payload = ProcessPayload::from_value(input)
        .map_err(|e| HandlerError::new("InvalidInput", format!("{}: {e}", task.name())))?
        .value;
    let task_context = TaskContext::new(request_id, || {});
    tracing::info!(task = task.name(), request_id, "task started");
    let output = task
        .run(payload, &task_context)
        .await
        .map_err(|e| HandlerError::new(e.error, e.message))?;
    Ok(context.bucket.maybe_offload(&output.to_value()).await?)
}
