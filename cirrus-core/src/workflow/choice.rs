//! Choice rules: comparisons, `Is…` tests and `And`/`Or`/`Not`.
//!
//! [`Condition::evaluate`] decides whether a rule holds for a state's input. The operators'
//! semantics are split by concept: `compare` (the `String…`, `Numeric…`, `Boolean…` and
//! `Timestamp…` comparisons), `matches` (`StringMatches`), `timestamp` (what counts as a
//! timestamp) and `display` (a short, readable rendering of a condition, for graphs and
//! logs).
//!
//! Evaluation follows the ASL specification and AWS Step Functions:
//! - a `Variable` (or a `…Path` operand) that selects nothing fails with `States.Runtime`,
//!   except under `IsPresent`, where it makes the test false (or true for `false`);
//! - a value of the wrong type for the operator (a number under `StringEquals`, a string under
//!   `NumericLessThan`, a string that is not a timestamp under `TimestampEquals`, …) makes
//!   the comparison false; it is not an error;
//! - `And` and `Or` stop at the first condition that decides them.

mod compare;
mod display;
mod matches;
#[cfg(test)]
mod tests;
mod timestamp;

pub use timestamp::parse_timestamp;

use super::error::Failure;
use super::path::Path;
use serde_json::Value;
use std::borrow::Cow;

/// A Choice rule's condition (without its `Next`).
#[derive(Debug, Clone)]
pub enum Condition {
    /// `And`: every condition holds.
    And(Vec<Condition>),
    /// `Or`: at least one holds.
    Or(Vec<Condition>),
    /// `Not`.
    Not(Box<Condition>),
    /// `Variable` and one comparison operator.
    Test {
        /// `Variable`.
        variable: Path,
        /// The operator and its operand.
        test: Test,
    },
}

/// One comparison operator with its operand.
#[derive(Debug, Clone)]
pub enum Test {
    /// A binary comparison: `StringEquals`, `NumericLessThanPath`, …
    Compare {
        /// Which comparison.
        op: Comparison,
        /// The literal or (for the `…Path` variants) the path to compare with.
        operand: Operand,
    },
    /// `StringMatches` (only `*` is special; `\*` and `\\` escape).
    StringMatches(String),
    /// `IsNull`.
    IsNull(bool),
    /// `IsPresent`.
    IsPresent(bool),
    /// `IsNumeric`.
    IsNumeric(bool),
    /// `IsString`.
    IsString(bool),
    /// `IsBoolean`.
    IsBoolean(bool),
    /// `IsTimestamp`.
    IsTimestamp(bool),
}

/// The binary comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Comparison {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone)]
pub enum Operand {
    /// A literal (string, number, boolean, or timestamp string), as written.
    Literal(Value),
    /// A `…Path` variant's path.
    Path(Path),
}

impl Condition {
    /// Whether the condition holds for `input` (with `context` for `$$` paths). A `Variable`
    /// that does not exist fails with `States.Runtime`, except under `IsPresent`.
    pub fn evaluate(&self, input: &Value, context: &Value) -> Result<bool, Failure> {
        match self {
            Condition::And(conditions) => {
                for condition in conditions {
                    if !condition.evaluate(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(conditions) => {
                for condition in conditions {
                    if condition.evaluate(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(condition) => Ok(!condition.evaluate(input, context)?),
            Condition::Test { variable, test } => {
                let value = variable.select(input, context);
                if let Test::IsPresent(expected) = test {
                    return Ok(value.is_some() == *expected);
                }
                let value = value.ok_or_else(|| invalid_path(variable))?;
                test.holds(&value, input, context)
            }
        }
    }
}

impl Test {
    /// Whether the test holds for `value`, the `Variable`'s value. `input` and `context` are
    /// for a `…Path` operand.
    fn holds(&self, value: &Value, input: &Value, context: &Value) -> Result<bool, Failure> {
        Ok(match self {
            Test::Compare { op, operand } => {
                let operand = match operand {
                    Operand::Literal(literal) => Cow::Borrowed(literal),
                    Operand::Path(path) => path
                        .select(input, context)
                        .ok_or_else(|| invalid_path(path))?,
                };
                compare::compare(*op, value, &operand)
            }
            Test::StringMatches(pattern) => value
                .as_str()
                .is_some_and(|text| matches::string_matches(pattern, text)),
            Test::IsNull(expected) => value.is_null() == *expected,
            Test::IsPresent(expected) => *expected,
            Test::IsNumeric(expected) => value.is_number() == *expected,
            Test::IsString(expected) => value.is_string() == *expected,
            Test::IsBoolean(expected) => value.is_boolean() == *expected,
            Test::IsTimestamp(expected) => {
                value.as_str().and_then(parse_timestamp).is_some() == *expected
            }
        })
    }
}

/// The `States.Runtime` failure of a `Variable` or `…Path` operand that selects nothing.
fn invalid_path(path: &Path) -> Failure {
    Failure::runtime(format!(
        "Invalid path '{path}': The choice state's condition path references an invalid value."
    ))
}
