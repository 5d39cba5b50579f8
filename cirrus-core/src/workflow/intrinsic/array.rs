//! The array functions: `States.ArrayPartition`, `ArrayContains`, `ArrayRange`,
//! `ArrayGetItem`, `ArrayLength` and `ArrayUnique`.

use super::Function;
use super::functions::Args;
use crate::workflow::error::Failure;
use crate::workflow::path::json_eq;
use serde_json::Value;
use std::collections::HashSet;
use std::fmt::Write;

/// The most items `States.ArrayRange` makes.
const MAX_RANGE_ITEMS: i128 = 1000;

/// Runs one of the array functions.
pub(super) fn apply(args: &Args<'_, '_>) -> Result<Value, Failure> {
    match args.function {
        Function::ArrayPartition => {
            let array = args.array(0)?;
            let size = args.integer(1)?;
            let size = usize::try_from(size)
                .ok()
                .filter(|size| *size > 0)
                .ok_or_else(|| {
                    args.failure(format!("the chunk size must be greater than 0, not {size}"))
                })?;
            let chunks = array.chunks(size).map(|chunk| Value::Array(chunk.to_vec()));
            Ok(Value::Array(chunks.collect()))
        }
        Function::ArrayContains => {
            let (array, wanted) = (args.array(0)?, args.value(1));
            Ok(Value::Bool(array.iter().any(|item| json_eq(item, wanted))))
        }
        Function::ArrayRange => range(args),
        Function::ArrayGetItem => {
            let array = args.array(0)?;
            let index = args.value(1);
            let Some(number) = index.as_f64() else {
                return Err(args.wrong_type(1, "a number"));
            };
            if number.fract() != 0.0 {
                return Err(args.failure(format!("the index {index} is not an integer")));
            }
            // `number` is integral; beyond 2^63 it is out of range anyway.
            let position = index
                .as_i64()
                .or_else(|| (number.abs() < 9.2e18).then_some(number as i64));
            position
                .and_then(|at| usize::try_from(at).ok())
                .and_then(|at| array.get(at))
                .cloned()
                .ok_or_else(|| {
                    Failure::runtime(format!(
                        "States.ArrayGetItem: the index {index} is out of range for an array \
                         of {} item(s)",
                        array.len()
                    ))
                })
        }
        Function::ArrayLength => Ok(Value::from(args.array(0)?.len())),
        Function::ArrayUnique => {
            let mut seen = HashSet::new();
            let mut key = String::new();
            let mut unique = Vec::new();
            for item in args.array(0)? {
                key.clear();
                canonical(item, &mut key);
                if !seen.contains(&key) {
                    seen.insert(key.clone());
                    unique.push(item.clone());
                }
            }
            Ok(Value::Array(unique))
        }
        other => unreachable!("{} is not an array function", other.name()),
    }
}

/// `States.ArrayRange(start, end, step)`: from `start` to `end` inclusive.
fn range(args: &Args<'_, '_>) -> Result<Value, Failure> {
    let (start, end, step) = (args.integer(0)?, args.integer(1)?, args.integer(2)?);
    if step == 0 {
        return Err(args.failure("the step must not be 0".to_owned()));
    }
    let span = i128::from(end) - i128::from(start);
    let count = if span != 0 && (span < 0) != (step < 0) {
        0
    } else {
        span / i128::from(step) + 1
    };
    if count > MAX_RANGE_ITEMS {
        return Err(args.failure(format!(
            "the range would have {count} items; at most {MAX_RANGE_ITEMS} are allowed"
        )));
    }
    let items = (0..count).map(|at| {
        let item = i128::from(start) + at * i128::from(step);
        Value::from(i64::try_from(item).expect("the items lie between start and end"))
    });
    Ok(Value::Array(items.collect()))
}

/// A number rounded to the nearest integer, halves up (Java's `Math.round`); `None` for a
/// non-number or one outside the `i64` range.
pub(super) fn integer_argument(value: &Value) -> Option<i64> {
    if let Some(integer) = value.as_i64() {
        return Some(integer);
    }
    let number = value.as_f64()?;
    let floor = number.floor();
    let rounded = if number - floor >= 0.5 {
        floor + 1.0
    } else {
        floor
    };
    // `i64::MAX as f64` rounds up to 2^63, which is out of range: hence `<`.
    (rounded >= i64::MIN as f64 && rounded < i64::MAX as f64).then_some(rounded as i64)
}

/// Writes a key equal for JSON-equal values (numbers by value, objects in any member
/// order), for `States.ArrayUnique`.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(integer), _) => {
                let _ = write!(out, "n{integer}");
            }
            (None, Some(float)) if float.fract() == 0.0 && float.abs() < 9.0e15 => {
                let _ = write!(out, "n{}", float as i64);
            }
            _ => {
                let _ = write!(out, "n{number}");
            }
        },
        Value::Array(items) => {
            out.push('[');
            for item in items {
                canonical(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<_> = members.iter().collect();
            sorted.sort_by_key(|(key, _)| *key);
            out.push('{');
            for (key, item) in sorted {
                let _ = write!(out, "{key:?}:");
                canonical(item, out);
                out.push(',');
            }
            out.push('}');
        }
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}
