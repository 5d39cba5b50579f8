//! The engine: runs a [`StateMachine`] to the end and reports an [`Execution`].

use super::error::{Failure, names};
use super::history::{EventKind, HistoryEvent};
use super::model::StateMachine;
use super::resolver::TaskResolver;
use super::run::{failure_details, run_machine};
use super::runtime::{Runtime, detail};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Limits of an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The most history events one execution may record before it fails with
    /// `States.Runtime` (Step Functions' quota is 25,000). 0 is no limit.
    pub max_history_events: usize,
    /// The most Map iterations that run at once when `MaxConcurrency` is 0 or absent (inline
    /// Map in Step Functions runs at most 40).
    pub max_map_concurrency: usize,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            max_history_events: 25_000,
            max_map_concurrency: 40,
        }
    }
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// It reached a Succeed state or an `End`.
    Succeeded,
    /// A state failed and nothing caught the error.
    Failed,
    /// The state machine's own `TimeoutSeconds` passed.
    TimedOut,
}

/// A finished execution.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The execution's name.
    pub name: String,
    /// How it ended.
    pub status: Status,
    /// The output, when it succeeded.
    pub output: Option<Value>,
    /// The error, when it failed or timed out.
    pub failure: Option<Failure>,
    /// Every event, in order.
    pub history: Vec<HistoryEvent>,
    /// When it started.
    pub start: DateTime<Utc>,
    /// When it stopped.
    pub stop: DateTime<Utc>,
}

/// Runs state machines, resolving Task resources with a [`TaskResolver`].
#[derive(Clone)]
pub struct Engine {
    resolver: Arc<dyn TaskResolver>,
    options: EngineOptions,
}

impl Engine {
    /// An engine with default options.
    pub fn new(resolver: Arc<dyn TaskResolver>) -> Engine {
        Engine {
            resolver,
            options: EngineOptions::default(),
        }
    }

    /// The same engine with other options.
    pub fn with_options(mut self, options: EngineOptions) -> Engine {
        self.options = options;
        self
    }

    /// Runs `machine` on `input` to the end. Never panics on any input; every failure is in
    /// the returned [`Execution`].
    pub async fn execute(
        &self,
        machine: Arc<StateMachine>,
        input: Value,
        name: impl Into<String>,
    ) -> Execution {
        let name = name.into();
        let start = Utc::now();
        let rt = Arc::new(Runtime::new(
            self.resolver.clone(),
            self.options.clone(),
            name.clone(),
            start,
            input.clone(),
        ));
        let started = rt.record(
            EventKind::ExecutionStarted,
            None,
            detail("input", input.clone()),
        );
        let run = async {
            started?;
            run_machine(rt.clone(), machine.clone(), input).await
        };
        let result = match machine.timeout_seconds {
            Some(seconds) => match tokio::time::timeout(Duration::from_secs(seconds), run).await {
                Ok(result) => result.map_err(|failure| (Status::Failed, failure)),
                Err(_) => Err((
                    Status::TimedOut,
                    Failure::new(
                        names::TIMEOUT,
                        format!("the execution did not finish within {seconds} s (TimeoutSeconds)"),
                    ),
                )),
            },
            None => run.await.map_err(|failure| (Status::Failed, failure)),
        };
        let (status, output, failure) = match result {
            Ok(output) => {
                rt.record_final(EventKind::ExecutionSucceeded, json!({ "output": output }));
                (Status::Succeeded, Some(output), None)
            }
            Err((status, failure)) => {
                let kind = match status {
                    Status::TimedOut => EventKind::ExecutionTimedOut,
                    _ => EventKind::ExecutionFailed,
                };
                rt.record_final(kind, failure_details(&failure));
                (status, None, Some(failure))
            }
        };
        tracing::debug!(execution = %name, status = ?status, "execution finished");
        Execution {
            name,
            status,
            output,
            failure,
            history: rt.take_history(),
            start,
            stop: Utc::now(),
        }
    }
}
