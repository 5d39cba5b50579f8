//! ASL paths: `InputPath`, `OutputPath`, `ItemsPath`, `.$` template values, Choice
//! `Variable` (all [`Path`]) and `ResultPath` ([`ReferencePath`]).
//!
//! SKELETON: the bodies are being written (issue 4); the signatures are the contract.

use super::error::Failure;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// A syntax error in a path or intrinsic function: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Character offset (0-based) in the text where the problem is.
    pub position: usize,
    /// What was expected or found there.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
}

/// A JSONPath as Step Functions accepts it, rooted at `$` (the state's input) or `$$` (the
/// context object).
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
}

impl Path {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Path, SyntaxError> {
        let _ = text;
        todo!("issue 4: path parser")
    }

    /// `$`.
    pub fn root() -> Path {
        Path { text: "$".into() }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is `$` exactly.
    pub fn is_root(&self) -> bool {
        self.text == "$"
    }

    /// Whether this path starts at the context object (`$$`).
    pub fn is_context(&self) -> bool {
        self.text.starts_with("$$")
    }

    /// Whether the path selects at most one value (no wildcard, slice, union, filter or
    /// descendant step).
    pub fn is_definite(&self) -> bool {
        todo!("issue 4")
    }

    /// Selects from `input` (or `context` for a `$$` path). A definite path gives the value it
    /// points at, or `None` when there is none. An indefinite path gives the array of every
    /// match (possibly empty).
    pub fn select<'a>(&self, input: &'a Value, context: &'a Value) -> Option<Cow<'a, Value>> {
        let _ = (input, context);
        todo!("issue 4")
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A reference path (`ResultPath`, catcher `ResultPath`): `$` followed by `.name`,
/// `['name']` and `[index]` steps only.
#[derive(Debug, Clone)]
pub struct ReferencePath {
    text: String,
}

impl ReferencePath {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<ReferencePath, SyntaxError> {
        let _ = text;
        todo!("issue 4")
    }

    /// `$`.
    pub fn root() -> ReferencePath {
        ReferencePath { text: "$".into() }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is `$` exactly.
    pub fn is_root(&self) -> bool {
        self.text == "$"
    }

    /// Puts `result` into `input` at this path, creating missing objects on the way, and
    /// returns the combined value. Fails with `States.ResultPathMatchFailure` when a step
    /// meets a value that is not an object (or an array, for an index step).
    pub fn apply(&self, input: Value, result: Value) -> Result<Value, Failure> {
        let _ = (input, result);
        todo!("issue 4")
    }
}

impl fmt::Display for ReferencePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
