//! The local workflow engine: an Amazon States Language interpreter.
//!
//! SKELETON (issue 4).

pub mod choice;
pub mod error;
pub mod graph;
pub mod history;
pub mod intrinsic;
pub mod local;
pub mod model;
pub mod parse;
pub mod path;
pub mod resolver;

pub use error::{Failure, names};
pub use history::{EventKind, HistoryEvent};
pub use model::StateMachine;
pub use resolver::{Invocation, Invoker, TaskResolver};
pub mod engine;
pub use engine::{Engine, EngineOptions, Execution, Status};
mod concurrent;
mod data;
mod retry;
mod run;
mod runtime;
mod task_state;
