//! Intrinsic functions: `States.Format`, `States.Array`, … (the whole `States.*` family).
//!
//! SKELETON: the bodies are being written (issue 4); the signatures are the contract.

use super::error::Failure;
use super::path::SyntaxError;
use serde_json::Value;
use std::fmt;

/// A parsed intrinsic function call, such as `States.Format('{} items', $.count)`.
#[derive(Debug, Clone)]
pub struct Intrinsic {
    text: String,
}

impl Intrinsic {
    /// Whether `text` is meant as an intrinsic call (it starts with `States.`), as opposed to
    /// a path.
    pub fn looks_like(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    /// Parses `text`, checking the function name and the number and literal types of its
    /// arguments.
    pub fn parse(text: &str) -> Result<Intrinsic, SyntaxError> {
        let _ = text;
        todo!("issue 4: intrinsic parser")
    }

    /// The call as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether an argument (at any depth) is a `$$` path.
    pub fn uses_context(&self) -> bool {
        todo!("issue 4")
    }

    /// Evaluates the call against the state's input and the context object.
    pub fn evaluate(&self, input: &Value, context: &Value) -> Result<Value, Failure> {
        let _ = (input, context);
        todo!("issue 4")
    }
}

impl fmt::Display for Intrinsic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
