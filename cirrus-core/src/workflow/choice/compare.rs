//! The binary comparisons: `String…`, `Numeric…`, `Boolean…` and `Timestamp…`.
//!
//! Each compares two values of its own type; any other pair of values compares false. Nothing
//! here allocates.

use super::Comparison;
use super::timestamp::parse_timestamp;
use serde_json::{Number, Value};
use std::cmp::Ordering;

/// The type a comparison operator works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

/// The relation a comparison operator tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Relation {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl Relation {
    /// Whether `ordering` (of the variable against the operand) satisfies the relation.
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Relation::Equals => ordering.is_eq(),
            Relation::LessThan => ordering.is_lt(),
            Relation::GreaterThan => ordering.is_gt(),
            Relation::LessThanEquals => ordering.is_le(),
            Relation::GreaterThanEquals => ordering.is_ge(),
        }
    }
}

impl Comparison {
    /// The operator's type and relation: `NumericLessThan` is (`Numeric`, `LessThan`).
    pub(super) fn split(self) -> (Kind, Relation) {
        use Comparison as C;
        match self {
            C::StringEquals => (Kind::String, Relation::Equals),
            C::StringLessThan => (Kind::String, Relation::LessThan),
            C::StringGreaterThan => (Kind::String, Relation::GreaterThan),
            C::StringLessThanEquals => (Kind::String, Relation::LessThanEquals),
            C::StringGreaterThanEquals => (Kind::String, Relation::GreaterThanEquals),
            C::NumericEquals => (Kind::Numeric, Relation::Equals),
            C::NumericLessThan => (Kind::Numeric, Relation::LessThan),
            C::NumericGreaterThan => (Kind::Numeric, Relation::GreaterThan),
            C::NumericLessThanEquals => (Kind::Numeric, Relation::LessThanEquals),
            C::NumericGreaterThanEquals => (Kind::Numeric, Relation::GreaterThanEquals),
            C::BooleanEquals => (Kind::Boolean, Relation::Equals),
            C::TimestampEquals => (Kind::Timestamp, Relation::Equals),
            C::TimestampLessThan => (Kind::Timestamp, Relation::LessThan),
            C::TimestampGreaterThan => (Kind::Timestamp, Relation::GreaterThan),
            C::TimestampLessThanEquals => (Kind::Timestamp, Relation::LessThanEquals),
            C::TimestampGreaterThanEquals => (Kind::Timestamp, Relation::GreaterThanEquals),
        }
    }
}

/// Whether `variable op operand` holds. Values of another type than the operator's make it
/// false.
pub(super) fn compare(op: Comparison, variable: &Value, operand: &Value) -> bool {
    let (kind, relation) = op.split();
    let ordering = match (kind, variable, operand) {
        // `str`'s order is the order of the UTF-8 bytes, which is the order of the code points.
        (Kind::String, Value::String(a), Value::String(b)) => Some(a.as_str().cmp(b.as_str())),
        (Kind::Numeric, Value::Number(a), Value::Number(b)) => compare_numbers(a, b),
        (Kind::Boolean, Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Kind::Timestamp, Value::String(a), Value::String(b)) => {
            match (parse_timestamp(a), parse_timestamp(b)) {
                // `DateTime`'s order is the order of the instants, whatever their offsets.
                (Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => None,
            }
        }
        _ => None,
    };
    ordering.is_some_and(|ordering| relation.holds(ordering))
}

/// Orders two JSON numbers: exactly when both are integers (`i64` or `u64`), as `f64`
/// otherwise.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    match (integer(a), integer(b)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// The number as an `i128` when it is an integer (every `i64` and `u64` fits).
fn integer(number: &Number) -> Option<i128> {
    number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_compare_exactly() {
        // Both round to the same f64 (2^53), but they are different integers.
        let a = json!(9_007_199_254_740_993_i64);
        let b = json!(9_007_199_254_740_992_i64);
        assert!(compare(Comparison::NumericGreaterThan, &a, &b));
        assert!(!compare(Comparison::NumericEquals, &a, &b));
        let big = json!(u64::MAX);
        assert!(compare(
            Comparison::NumericGreaterThan,
            &big,
            &json!(i64::MAX)
        ));
        assert!(compare(Comparison::NumericLessThan, &json!(-1), &big));
    }

    #[test]
    fn integers_and_floats_compare_as_f64() {
        assert!(compare(Comparison::NumericEquals, &json!(1), &json!(1.0)));
        assert!(compare(Comparison::NumericLessThan, &json!(1), &json!(1.5)));
        assert!(compare(
            Comparison::NumericGreaterThan,
            &json!(-0.5),
            &json!(-1)
        ));
        assert!(compare(
            Comparison::NumericEquals,
            &json!(0.0),
            &json!(-0.0)
        ));
    }

    #[test]
    fn every_operator_splits_into_kind_and_relation() {
        assert_eq!(
            Comparison::TimestampGreaterThanEquals.split(),
            (Kind::Timestamp, Relation::GreaterThanEquals)
        );
        assert_eq!(
            Comparison::BooleanEquals.split(),
            (Kind::Boolean, Relation::Equals)
        );
    }
}
