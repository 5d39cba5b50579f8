//! Choice rules: comparisons, `Is…` tests and `And`/`Or`/`Not`.
//!
//! SKELETON: evaluation is being written (issue 4); the types are the contract.

use super::error::Failure;
use super::path::Path;
use serde_json::Value;

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
        let _ = (input, context);
        todo!("issue 4: choice evaluation")
    }
}
