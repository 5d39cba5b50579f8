//! The interpreter. SKELETON (issue 4): the signatures are the contract.

use super::error::Failure;
use super::history::HistoryEvent;
use super::model::StateMachine;
use super::resolver::TaskResolver;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

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
        let _ = (machine, input, name.into(), &self.resolver, &self.options);
        todo!("issue 4: interpreter")
    }
}
