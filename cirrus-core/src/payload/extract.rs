//! Typed extraction from JSON values that records problems instead of stopping at the first.
//!
//! The payload types are parsed by hand, field by field, with these helpers. This gives
//! validation and parsing in one pass: every problem is collected with its JSON path, and the
//! original key order of each object is kept so that serialization can restore it.

use super::problem::{Problem, child};
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

/// Problems and warnings collected while parsing one payload.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl Checker {
    pub fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    pub fn warning(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Problem::new(path, message));
    }
}

/// The original key order of a JSON object.
///
/// It never makes two values unequal: key order is not part of a payload's meaning.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyOrder(pub Vec<String>);

impl PartialEq for KeyOrder {
    fn eq(&self, _: &KeyOrder) -> bool {
        true
    }
}

impl KeyOrder {
    pub fn of(map: &Map<String, Value>) -> KeyOrder {
        KeyOrder(map.keys().cloned().collect())
    }

    fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|k| k == key)
    }
}

/// "a string", "an object", … for messages such as "must be a string, got an object".
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Takes `key` out of `map`, keeping the order of the keys that remain.
pub(crate) fn take(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    map.shift_remove(key)
}

pub(crate) fn string(value: Value, path: &str, ck: &mut Checker) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        other => {
            ck.problem(path, format!("must be a string, got {}", kind(&other)));
            None
        }
    }
}

pub(crate) fn boolean(value: Value, path: &str, ck: &mut Checker) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(b),
        other => {
            ck.problem(path, format!("must be a boolean, got {}", kind(&other)));
            None
        }
    }
}

pub(crate) fn object(value: Value, path: &str, ck: &mut Checker) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        other => {
            ck.problem(path, format!("must be an object, got {}", kind(&other)));
            None
        }
    }
}

pub(crate) fn array(value: Value, path: &str, ck: &mut Checker) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) => Some(items),
        other => {
            ck.problem(path, format!("must be an array, got {}", kind(&other)));
            None
        }
    }
}

/// Takes optional member `key` of `map` (at `path`) and converts it with `convert`, which
/// receives the member's own path.
pub(crate) fn optional<T>(
    map: &mut Map<String, Value>,
    key: &str,
    path: &str,
    ck: &mut Checker,
    convert: impl FnOnce(Value, &str, &mut Checker) -> Option<T>,
) -> Option<T> {
    let value = take(map, key)?;
    convert(value, &child(path, key), ck)
}

/// An object whose members must all be objects (task parameters, collection options, …).
pub(crate) fn object_of_objects(
    value: Value,
    path: &str,
    ck: &mut Checker,
) -> Option<Map<String, Value>> {
    let map = object(value, path, ck)?;
    let mut ok = true;
    for (key, member) in &map {
        if !member.is_object() {
            ck.problem(
                child(path, key),
                format!("must be an object, got {}", kind(member)),
            );
            ok = false;
        }
    }
    ok.then_some(map)
}

/// One known field of a struct being serialized: its key and its value, if set.
pub(crate) type Known<'a> = (&'static str, Option<&'a dyn erased_serde::Serialize>);

/// Serializes a struct as a JSON object whose keys come in `order` (the order they had when
/// parsed), followed by known fields and extra members that were not in the original.
pub(crate) fn serialize_ordered<S: Serializer>(
    serializer: S,
    order: &KeyOrder,
    known: &[Known<'_>],
    extra: &Map<String, Value>,
) -> Result<S::Ok, S::Error> {
    let is_known = |key: &str| known.iter().any(|(k, _)| *k == key);
    let mut map = serializer.serialize_map(None)?;
    for key in &order.0 {
        if let Some((k, value)) = known.iter().find(|(k, _)| k == key) {
            if let Some(value) = value {
                map.serialize_entry(k, value)?;
            }
        } else if let Some(value) = extra.get(key) {
            map.serialize_entry(key, value)?;
        }
    }
    for (key, value) in known {
        if let Some(value) = value
            && !order.contains(key)
        {
            map.serialize_entry(key, value)?;
        }
    }
    for (key, value) in extra {
        if !order.contains(key) && !is_known(key) {
            map.serialize_entry(key, value)?;
        }
    }
    map.end()
}
