//! The Lambda entry point: one binary, `bootstrap`, for every function of a deployment.
//!
//! `CIRRUS_FUNCTION` selects the [`Function`]:
//!
//! | `CIRRUS_FUNCTION` | event | module |
//! |---|---|---|
//! | `process` | an SQS batch of payloads (partial batch failure reporting) | [`process`] |
//! | `update-state` | EventBridge's Step Functions status change | [`update_state`] |
//! | `pre-batch`, `post-batch` | the `url` / `url_out` contract around a Batch job | [`batch`] |
//! | `task:<name>` | a payload, for a built-in task | [`task`] |
//!
//! Each handler is a library function taking the event as JSON and a [`Context`] (the
//! deployment's [`DeploymentEnv`](crate::config::DeploymentEnv) and its backends), so the
//! tests call them in-process against `moto_server`, with real events. The binary only
//! reads the environment, builds the context once, and hands events to [`Handler::handle`].
//! The events' serde types are in [`events`].
//!
//! Errors are [`HandlerError`]s: Lambda reports their name as `errorType`, which is what
//! Step Functions' `Retry` and `Catch` match on.

pub mod batch;
mod context;
mod error;
pub mod events;
pub mod process;
pub mod sfn;
pub mod task;
pub mod update_state;

pub use context::{Context, s3_options};
pub use error::{AWS_ERROR, BAD_EVENT, CONFIG_ERROR, HandlerError};

use cirrus_core::task::Task;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// The environment variable that selects the function.
pub const FUNCTION_VAR: &str = "CIRRUS_FUNCTION";

/// What one deployed function does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Function {
    /// `process`.
    Process,
    /// `update-state`.
    UpdateState,
    /// `pre-batch`.
    PreBatch,
    /// `post-batch`.
    PostBatch,
    /// `task:<name>`: the built-in task `name`.
    Task(String),
}

impl Function {
    /// Parses a `CIRRUS_FUNCTION` value.
    ///
    /// # Errors
    ///
    /// A [`CONFIG_ERROR`] naming the values there are.
    pub fn parse(value: &str) -> Result<Function, HandlerError> {
        match value.trim() {
            "process" => Ok(Function::Process),
            "update-state" => Ok(Function::UpdateState),
            "pre-batch" => Ok(Function::PreBatch),
            "post-batch" => Ok(Function::PostBatch),
            other => match other.strip_prefix("task:") {
                Some(name) if !name.trim().is_empty() => {
                    Ok(Function::Task(name.trim().to_string()))
                }
                _ => Err(HandlerError::config(format!(
                    "{FUNCTION_VAR}={other:?}: expected process, update-state, pre-batch, post-batch or task:<name>"
                ))),
            },
        }
    }

    /// The function named by `CIRRUS_FUNCTION`.
    ///
    /// # Errors
    ///
    /// A [`CONFIG_ERROR`] when it is missing or not a function.
    pub fn from_env() -> Result<Function, HandlerError> {
        let value = std::env::var(FUNCTION_VAR).map_err(|_| {
            HandlerError::config(format!(
                "{FUNCTION_VAR} is not set: it names the function this bootstrap serves (process, update-state, pre-batch, post-batch or task:<name>)"
            ))
        })?;
        Function::parse(&value)
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Function::Process => f.write_str("process"),
            Function::UpdateState => f.write_str("update-state"),
            Function::PreBatch => f.write_str("pre-batch"),
            Function::PostBatch => f.write_str("post-batch"),
            Function::Task(name) => write!(f, "task:{name}"),
        }
    }
}

/// A function ready to handle events: its context, and its task for `task:<name>`.
#[derive(Clone)]
pub struct Handler {
    function: Function,
    context: Context,
    task: Option<Arc<dyn Task>>,
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handler")
            .field("function", &self.function)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl Handler {
    /// `function` on `context`.
    ///
    /// # Errors
    ///
    /// For `task:<name>`, [`task::TASK_UNAVAILABLE`] when this build has no such task: the
    /// function fails at start-up rather than on each event.
    pub fn new(function: Function, context: Context) -> Result<Handler, HandlerError> {
        let task = match &function {
            Function::Task(name) => Some(task::find(&context, name)?),
            _ => None,
        };
        Ok(Handler {
            function,
            context,
            task,
        })
    }

    /// The function.
    pub fn function(&self) -> &Function {
        &self.function
    }

    /// The context.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Handles one event; `request_id` is Lambda's request ID.
    ///
    /// # Errors
    ///
    /// The handler's error, for Lambda to report.
    pub async fn handle(&self, event: Value, request_id: &str) -> Result<Value, HandlerError> {
        let context = &self.context;
        let result = match &self.function {
            Function::Process => process::handle(context, event).await,
            Function::UpdateState => update_state::handle(context, event).await,
            Function::PreBatch => batch::pre_batch(context, event).await,
            Function::PostBatch => batch::post_batch(context, event).await,
            Function::Task(_) => {
                let task = self
                    .task
                    .as_deref()
                    .expect("a task function is built with its task");
                task::handle(context, task, event, request_id).await
            }
        };
        if let Err(error) = &result {
            tracing::error!(function = %self.function, request_id, error_type = %error.error_type, error = %error.message, "invocation failed");
        }
        result
    }
}
