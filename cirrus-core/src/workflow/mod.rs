//! The local workflow engine: an Amazon States Language interpreter.
//!
//! It runs the same ASL definitions Step Functions runs, on one machine:
//!
//! - [`model`]: the parsed state machine. [`StateMachine::from_value`] / `from_json` (in
//!   [`parse`]) check everything Step Functions checks before a definition runs, and report
//!   every problem with the JSON path of the bad field.
//! - [`path`] (`InputPath`, `ResultPath`, …), [`intrinsic`] (`States.Format`, …) and
//!   [`choice`] (Choice rules): the expression languages inside a definition.
//! - [`Engine`]: the interpreter. Pass, Task, Choice, Wait, Succeed, Fail, Parallel and inline
//!   Map; `Retry` and `Catch`; task timeouts and heartbeats; Map iterations and Parallel
//!   branches on tokio tasks, bounded by `MaxConcurrency`. Every [`Execution`] carries its
//!   [`history`].
//! - [`resolver`]: how a Task's `Resource` becomes something that runs ([`TaskResolver`]);
//!   [`local`] resolves to in-process [`Task`](crate::task::Task)s, subprocesses speaking the
//!   task CLI contract, and Lambda-shaped resources mapped to either.
//! - [`graph`]: the state machine drawn as Graphviz DOT or Mermaid.
//!
//! ```
//! use cirrus_core::workflow::{Engine, Failure, Invoker, StateMachine, Status, TaskResolver};
//! use serde_json::json;
//! use std::sync::Arc;
//!
//! struct NoTasks;
//! impl TaskResolver for NoTasks {
//!     fn resolve(&self, resource: &str) -> Result<Arc<dyn Invoker>, Failure> {
//!         Err(Failure::new("Unknown", resource))
//!     }
//! }
//!
//! let machine = StateMachine::from_json(r#"{
//!   "StartAt": "Count",
//!   "States": {
//!     "Count": { "Type": "Pass",
//!                "Parameters": { "n.$": "States.ArrayLength($.items)" },
//!                "Next": "Big?" },
//!     "Big?": { "Type": "Choice",
//!               "Choices": [{ "Variable": "$.n", "NumericGreaterThan": 2, "Next": "Big" }],
//!               "Default": "Small" },
//!     "Big": { "Type": "Pass", "Result": "big", "End": true },
//!     "Small": { "Type": "Fail", "Error": "TooSmall", "Cause": "fewer than 3 items" }
//!   }
//! }"#)?;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let engine = Engine::new(Arc::new(NoTasks));
//! let run = engine.execute(Arc::new(machine), json!({"items": [1, 2, 3]}), "example").await;
//! assert_eq!(run.status, Status::Succeeded);
//! assert_eq!(run.output, Some(json!("big")));
//! # });
//! # Ok::<(), cirrus_core::Error>(())
//! ```

pub mod choice;
pub mod engine;
pub mod error;
pub mod graph;
pub mod history;
pub mod intrinsic;
pub mod local;
pub mod model;
pub mod parse;
pub mod path;
pub mod resolver;

mod concurrent;
mod data;
mod retry;
mod run;
mod runtime;
mod task_state;

pub use engine::{Engine, EngineOptions, Execution, Status};
pub use error::{Failure, names};
pub use history::{EventKind, HistoryEvent};
pub use model::StateMachine;
pub use resolver::{Invocation, Invoker, TaskResolver};
