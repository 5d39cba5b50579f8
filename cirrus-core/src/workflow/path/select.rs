//! Path evaluation: following [`Step`]s through a JSON value.

use super::parse::Step;
use serde_json::Value;

/// Follows a definite path (names and single indexes), without allocating.
pub(super) fn definite<'a>(steps: &[Step], document: &'a Value) -> Option<&'a Value> {
    let mut current = document;
    for step in steps {
        current = match step {
            Step::Name(name) => current.as_object()?.get(name)?,
            Step::Index(index) => {
                let array = current.as_array()?;
                array.get(resolve_index(*index, array.len())?)?
            }
            _ => return None,
        };
    }
    Some(current)
}

/// Pushes every value `steps` reach from `value` onto `out`, in document order. `root` is
/// what `$` means inside filters.
pub(super) fn collect<'a>(
    steps: &[Step],
    value: &'a Value,
    root: &'a Value,
    out: &mut Vec<&'a Value>,
) {
    match steps.split_first() {
        None => out.push(value),
        Some((step, rest)) => apply(step, rest, value, root, out),
    }
}

/// Applies one step to `value`, then the rest of the path to what it selects.
fn apply<'a>(
    step: &Step,
    rest: &[Step],
    value: &'a Value,
    root: &'a Value,
    out: &mut Vec<&'a Value>,
) {
    match step {
        Step::Name(name) => {
            if let Some(child) = value.as_object().and_then(|object| object.get(name)) {
                collect(rest, child, root, out);
            }
        }
        Step::Names(names) => {
            if let Some(object) = value.as_object() {
                for child in names.iter().filter_map(|name| object.get(name)) {
                    collect(rest, child, root, out);
                }
            }
        }
        Step::Index(index) => {
            if let Some(array) = value.as_array()
                && let Some(child) = resolve_index(*index, array.len()).and_then(|i| array.get(i))
            {
                collect(rest, child, root, out);
            }
        }
        Step::Indexes(indexes) => {
            if let Some(array) = value.as_array() {
                for index in indexes {
                    if let Some(child) =
                        resolve_index(*index, array.len()).and_then(|i| array.get(i))
                    {
                        collect(rest, child, root, out);
                    }
                }
            }
        }
        Step::Wildcard => {
            for child in children(value) {
                collect(rest, child, root, out);
            }
        }
        Step::Slice { start, end } => {
            if let Some(array) = value.as_array() {
                let len = array.len();
                let start = start.map_or(0, |bound| clamp_bound(bound, len));
                let end = end.map_or(len, |bound| clamp_bound(bound, len));
                for child in array.get(start..end.max(start)).unwrap_or_default() {
                    collect(rest, child, root, out);
                }
            }
        }
        Step::Filter(filter) => match value {
            Value::Array(array) => {
                for child in array.iter().filter(|child| filter.holds(child, root)) {
                    collect(rest, child, root, out);
                }
            }
            Value::Object(_) if filter.holds(value, root) => collect(rest, value, root, out),
            _ => {}
        },
        Step::Descendant(inner) => descend(inner, rest, value, root, out),
    }
}

/// `..inner`: applies `inner` at `value` and at every value below it, in pre-order. A
/// filter tests each object once (as Jayway does), not each array's elements again.
fn descend<'a>(
    inner: &Step,
    rest: &[Step],
    value: &'a Value,
    root: &'a Value,
    out: &mut Vec<&'a Value>,
) {
    match inner {
        Step::Filter(filter) => {
            if value.is_object() && filter.holds(value, root) {
                collect(rest, value, root, out);
            }
        }
        _ => apply(inner, rest, value, root, out),
    }
    for child in children(value) {
        descend(inner, rest, child, root, out);
    }
}

/// The members of an object or the elements of an array, in order.
fn children(value: &Value) -> impl Iterator<Item = &Value> {
    let members = value
        .as_object()
        .into_iter()
        .flat_map(|object| object.values());
    members.chain(value.as_array().into_iter().flatten())
}

/// An index into an array of `len` elements; negative counts from the end.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    if index >= 0 {
        usize::try_from(index).ok()
    } else {
        len.checked_sub(usize::try_from(index.unsigned_abs()).ok()?)
    }
}

/// A slice bound clamped to `0..=len`; negative counts from the end.
fn clamp_bound(bound: i64, len: usize) -> usize {
    if bound >= 0 {
        usize::try_from(bound).map_or(len, |bound| bound.min(len))
    } else {
        usize::try_from(bound.unsigned_abs()).map_or(0, |back| len.saturating_sub(back))
    }
}
