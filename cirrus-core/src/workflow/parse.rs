//! Parsing and validation of Amazon States Language definitions.
//!
//! [`StateMachine::from_value`] checks a definition the way Step Functions checks it before
//! accepting it, and builds the [model](super::model) the interpreter runs. It does not stop
//! at the first problem: every problem is listed, each with the JSON path of the bad field,
//! such as `$.States.Fetch.Retry[0].BackoffRate: must be a number >= 1.0, got 0.5`.
//!
//! One module per concept:
//! - `fields`: typed reading of JSON members, paths, intrinsic calls and timestamps;
//! - `machine`: a state machine (top level, Parallel branch or Map item processor) and its
//!   state names;
//! - `states`: the state types and what they share (`InputPath`, `Next`/`End`, …);
//! - `nested`: Parallel and Map, which hold state machines of their own;
//! - `choice`: the Choice state and its rules;
//! - `handling`: `Retry` and `Catch`;
//! - `template`: `Parameters`, `ResultSelector` and `ItemSelector`;
//! - `graph`: transitions that name no state, unreachable states and endless loops.
//!
//! The checks are iterative where a definition can be large (thousands of states), and
//! bounded in depth where they recurse (nested machines, Choice rules, templates), so no
//! input overflows the stack.

mod choice;
mod fields;
mod graph;
mod handling;
mod machine;
mod nested;
mod states;
mod template;
#[cfg(test)]
mod tests;

use super::model::StateMachine;
use crate::payload::Problem;
use crate::{Error, Result};
use serde_json::Value;
use std::collections::HashMap;

/// How many levels of Parallel and Map states may nest inside each other.
pub const MAX_NESTING: usize = 40;

/// How deeply Choice rules (`And`/`Or`/`Not`) and templates may nest. `from_json` cannot go
/// deeper anyway: it is serde_json's recursion limit.
pub const MAX_DEPTH: usize = 128;

impl StateMachine {
    /// Parses and validates a definition given as JSON text. Malformed JSON is one problem at
    /// `$` that says where (line and column).
    pub fn from_json(text: &str) -> Result<StateMachine> {
        let value: Value = serde_json::from_str(text).map_err(|err| {
            Error::InvalidWorkflow(vec![Problem::new("$", format!("not valid JSON: {err}"))])
        })?;
        StateMachine::from_value(&value)
    }

    /// Parses and validates a definition. On any problem, returns
    /// [`Error::InvalidWorkflow`] with every problem found, each at the JSON path of the bad
    /// field.
    pub fn from_value(value: &Value) -> Result<StateMachine> {
        let mut ctx = Ctx::default();
        let machine = machine::machine(value, "$".to_string(), machine::Scope::Top, 0, &mut ctx);
        match machine {
            Some(machine) if ctx.problems.is_empty() => {
                tracing::debug!(
                    states = machine.states.len(),
                    "workflow definition is valid"
                );
                Ok(machine)
            }
            _ => {
                debug_assert!(
                    !ctx.problems.is_empty(),
                    "a part of the definition was rejected without a problem being recorded"
                );
                Err(Error::InvalidWorkflow(ctx.problems))
            }
        }
    }
}

/// What the parser collects while it walks a definition.
#[derive(Debug, Default)]
struct Ctx {
    /// Every problem found so far.
    problems: Vec<Problem>,
    /// Every state name met so far, with the path of its state: names are unique across the
    /// whole definition, Parallel branches and Map processors included.
    names: HashMap<String, String>,
    /// Whether the state being parsed reads the context object (`$$`) somewhere.
    uses_context: bool,
}

impl Ctx {
    /// Records a problem at `path`.
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }
}
