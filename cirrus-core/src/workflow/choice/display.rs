//! A short rendering of a condition, for graphs and logs: `$.x == "a"`, `$.n > 5`,
//! `$.t before "2016-03-14T01:59:00Z"`, `IsPresent($.y)`, `not IsNull($.z)`,
//! `$.a == 1 and ($.b or …)`.

use super::compare::{Kind, Relation};
use super::{Condition, Operand, Test};
use serde_json::Value;
use std::fmt;

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::And(conditions) => join(f, conditions, " and "),
            Condition::Or(conditions) => join(f, conditions, " or "),
            Condition::Not(condition) => match &**condition {
                Condition::Test { test, .. } if test.is_predicate() => {
                    write!(f, "not {condition}")
                }
                condition => write!(f, "not ({condition})"),
            },
            Condition::Test { variable, test } => match test {
                Test::Compare { op, operand } => {
                    let (kind, relation) = op.split();
                    write!(f, "{variable} {} {operand}", symbol(kind, relation))
                }
                Test::StringMatches(pattern) => {
                    // As JSON, like a string operand: `"log-\\*.txt"`.
                    let pattern = Value::String(pattern.clone());
                    write!(f, "{variable} matches {pattern}")
                }
                Test::IsNull(expected) => predicate(f, "IsNull", variable, *expected),
                Test::IsPresent(expected) => predicate(f, "IsPresent", variable, *expected),
                Test::IsNumeric(expected) => predicate(f, "IsNumeric", variable, *expected),
                Test::IsString(expected) => predicate(f, "IsString", variable, *expected),
                Test::IsBoolean(expected) => predicate(f, "IsBoolean", variable, *expected),
                Test::IsTimestamp(expected) => predicate(f, "IsTimestamp", variable, *expected),
            },
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Literal(value) => write!(f, "{value}"),
            Operand::Path(path) => write!(f, "{path}"),
        }
    }
}

impl Test {
    /// Whether the test renders as `IsX(…)`, which needs no parentheses under `not`.
    fn is_predicate(&self) -> bool {
        !matches!(self, Test::Compare { .. } | Test::StringMatches(_))
    }
}

/// The operator between the variable and the operand.
fn symbol(kind: Kind, relation: Relation) -> &'static str {
    match (kind, relation) {
        (Kind::Timestamp, Relation::Equals) => "at",
        (Kind::Timestamp, Relation::LessThan) => "before",
        (Kind::Timestamp, Relation::GreaterThan) => "after",
        (Kind::Timestamp, Relation::LessThanEquals) => "at or before",
        (Kind::Timestamp, Relation::GreaterThanEquals) => "at or after",
        (_, Relation::Equals) => "==",
        (_, Relation::LessThan) => "<",
        (_, Relation::GreaterThan) => ">",
        (_, Relation::LessThanEquals) => "<=",
        (_, Relation::GreaterThanEquals) => ">=",
    }
}

/// `IsNull($.x)`, or `not IsNull($.x)` for `"IsNull": false`.
fn predicate(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    variable: impl fmt::Display,
    expected: bool,
) -> fmt::Result {
    let not = if expected { "" } else { "not " };
    write!(f, "{not}{name}({variable})")
}

/// The conditions separated by `separator`, the compound ones in parentheses.
fn join(f: &mut fmt::Formatter<'_>, conditions: &[Condition], separator: &str) -> fmt::Result {
    for (i, condition) in conditions.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        match condition {
            Condition::And(_) | Condition::Or(_) => write!(f, "({condition})")?,
            _ => write!(f, "{condition}")?,
        }
    }
    Ok(())
}
