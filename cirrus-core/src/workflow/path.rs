//! ASL paths: `InputPath`, `OutputPath`, `ItemsPath`, `.$` template values, Choice
//! `Variable` (all [`Path`]) and `ResultPath` ([`ReferencePath`]).
//!
//! Step Functions evaluates paths with Jayway JSONPath, and so does this module:
//!
//! - A path starts at `$` (the state's input) or `$$` (the context object).
//! - Steps: `.name` (a dot name holds any character but `.`, `[` and whitespace),
//!   `['name']` or `["name"]` (a backslash takes the next character literally), `[n]`
//!   (negative counts from the end), `[*]` and `.*` (every member or element),
//!   `[start:end]`, `[start:]`, `[:end]` (slices; negative bounds count from the end),
//!   unions `[0,2]` and `['a','b']`, filters `[?(...)]`, and `..` before a name, `*` or a
//!   bracket for every descendant, in document order.
//! - Filters combine `@`-relative (or `$`-rooted) paths and literals (numbers, quoted
//!   strings, `true`, `false`, `null`) with `==`, `!=`, `<`, `<=`, `>`, `>=`,
//!   `=~ /regex/flags` (the whole string must match; flags `i`, `m`, `s`, `x`), `&&`,
//!   `||`, `!` and parentheses. A path alone tests that it exists. Comparisons with a
//!   missing value are false; `<`-like ones compare two numbers or two strings only.
//!   A filter keeps the elements of an array, and tests an object itself.
//!
//! A *definite* path (names and single indexes only) selects one value or nothing; any
//! other path selects the array of its matches, in document order.

mod filter;
mod parse;
mod select;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use super::error::{Failure, names};
use parse::{Parser, Step};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

pub(crate) use filter::json_eq;

/// The JSON number at the start of `text` (a literal in a filter or an intrinsic call), and
/// its length in bytes; or the message for a malformed one.
pub(crate) fn leading_number(text: &str) -> Result<(serde_json::Number, usize), String> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(text.len());
    serde_json::from_str::<serde_json::Number>(&text[..end])
        .map(|number| (number, end))
        .map_err(|_| format!("'{}' is not a number", &text[..end]))
}

/// A syntax error in a path or intrinsic function: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Character offset (0-based) in the text where the problem is.
    pub position: usize,
    /// What was expected or found there.
    pub message: String,
}

impl SyntaxError {
    /// The same error, `offset` characters further: for a path parsed out of a larger
    /// text such as an intrinsic call.
    pub fn shifted(mut self, offset: usize) -> SyntaxError {
        self.position += offset;
        self
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// A JSONPath as Step Functions accepts it, rooted at `$` (the state's input) or `$$` (the
/// context object).
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    context: bool,
    steps: Vec<Step>,
    definite: bool,
}

impl Path {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Path, SyntaxError> {
        let parsed = Parser::new(text).path()?;
        let steps: Vec<Step> = parsed.steps.into_iter().map(|(_, step)| step).collect();
        Ok(Path {
            text: text.to_owned(),
            context: parsed.context,
            definite: steps.iter().all(Step::is_definite),
            steps,
        })
    }

    /// `$`.
    pub fn root() -> Path {
        Path {
            text: "$".into(),
            context: false,
            steps: Vec::new(),
            definite: true,
        }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is `$` exactly.
    pub fn is_root(&self) -> bool {
        !self.context && self.steps.is_empty()
    }

    /// Whether this path starts at the context object (`$$`).
    pub fn is_context(&self) -> bool {
        self.context
    }

    /// Whether the path selects at most one value (no wildcard, slice, union, filter or
    /// descendant step).
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// Selects from `input` (or `context` for a `$$` path). A definite path gives the value it
    /// points at, or `None` when there is none. An indefinite path gives the array of every
    /// match (possibly empty).
    pub fn select<'a>(&self, input: &'a Value, context: &'a Value) -> Option<Cow<'a, Value>> {
        let document = if self.context { context } else { input };
        if self.definite {
            return select::definite(&self.steps, document).map(Cow::Borrowed);
        }
        let mut matches = Vec::new();
        select::collect(&self.steps, document, document, &mut matches);
        Some(Cow::Owned(Value::Array(
            matches.into_iter().cloned().collect(),
        )))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ReferenceStep {
    Name(String),
    Index(usize),
}

/// A reference path (`ResultPath`, catcher `ResultPath`): `$` followed by `.name`,
/// `['name']` and `[index]` steps only.
#[derive(Debug, Clone)]
pub struct ReferencePath {
    text: String,
    steps: Vec<ReferenceStep>,
}

impl ReferencePath {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<ReferencePath, SyntaxError> {
        const ONLY: &str = "reference paths allow only names and indexes";
        let parsed = Parser::new(text).path()?;
        if parsed.context {
            return Err(SyntaxError {
                position: 0,
                message: format!("{ONLY}, rooted at '$' (not the context object '$$')"),
            });
        }
        let mut steps = Vec::with_capacity(parsed.steps.len());
        for (position, step) in parsed.steps {
            steps.push(match step {
                Step::Name(name) => ReferenceStep::Name(name),
                Step::Index(index) if index >= 0 => {
                    ReferenceStep::Index(usize::try_from(index).map_err(|_| SyntaxError {
                        position,
                        message: format!("index {index} is too large"),
                    })?)
                }
                Step::Index(index) => {
                    return Err(SyntaxError {
                        position,
                        message: format!("{ONLY}: the negative index {index} is not allowed"),
                    });
                }
                other => {
                    return Err(SyntaxError {
                        position,
                        message: format!("{ONLY}: a {} is not allowed", other.kind()),
                    });
                }
            });
        }
        Ok(ReferencePath {
            text: text.to_owned(),
            steps,
        })
    }

    /// `$`.
    pub fn root() -> ReferencePath {
        ReferencePath {
            text: "$".into(),
            steps: Vec::new(),
        }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is `$` exactly.
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// Puts `result` into `input` at this path, creating missing objects on the way, and
    /// returns the combined value. Fails with `States.ResultPathMatchFailure` when a step
    /// meets a value that is not an object (or an array, for an index step).
    pub fn apply(&self, mut input: Value, result: Value) -> Result<Value, Failure> {
        let Some((last, parents)) = self.steps.split_last() else {
            return Ok(result);
        };
        if !self.applies_to(&input) {
            let input_text = serde_json::to_string(&input).unwrap_or_default();
            return Err(Failure::new(
                names::RESULT_PATH_MATCH_FAILURE,
                format!(
                    "Unable to apply ResultPath \"{}\" to input \"{}\"",
                    self.text, input_text
                ),
            ));
        }
        let mut current = &mut input;
        for step in parents {
            current = match (step, current) {
                (ReferenceStep::Name(name), Value::Object(object)) => {
                    if !object.contains_key(name) {
                        object.insert(name.clone(), Value::Object(Map::new()));
                    }
                    object
                        .get_mut(name)
                        .expect("the member exists: it was just found or inserted")
                }
                (ReferenceStep::Index(index), Value::Array(array)) => array
                    .get_mut(*index)
                    .expect("applies_to checked that the index is in range"),
                _ => unreachable!("applies_to checked the type of every value on the way"),
            };
        }
        match (last, current) {
            (ReferenceStep::Name(name), Value::Object(object)) => {
                object.insert(name.clone(), result);
            }
            (ReferenceStep::Index(index), Value::Array(array)) => {
                *array
                    .get_mut(*index)
                    .expect("applies_to checked that the index is in range") = result;
            }
            _ => unreachable!("applies_to checked the type of the last value"),
        }
        Ok(input)
    }

    /// Whether every step meets an object (a name step) or an array holding the index (an
    /// index step). A missing member becomes `{}`, which only a name step can go through.
    fn applies_to(&self, input: &Value) -> bool {
        let mut current = Some(input);
        for step in &self.steps {
            current = match (step, current) {
                (ReferenceStep::Name(name), Some(Value::Object(object))) => object.get(name),
                (ReferenceStep::Name(_), None) => None,
                (ReferenceStep::Index(index), Some(Value::Array(array))) => {
                    match array.get(*index) {
                        Some(value) => Some(value),
                        None => return false,
                    }
                }
                _ => return false,
            };
        }
        true
    }
}

impl fmt::Display for ReferencePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
