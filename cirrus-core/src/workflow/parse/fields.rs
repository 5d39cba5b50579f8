//! Reading the members of a definition's JSON objects: each reader either returns the typed
//! value or records a problem at the member's JSON path and returns `None`.

use super::{Ctx, MAX_DEPTH};
use crate::payload::problem::child;
use crate::workflow::choice::parse_timestamp;
use crate::workflow::intrinsic::Intrinsic;
use crate::workflow::path::{Path, ReferencePath};
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

/// Step Functions' upper bound of most durations and counts (`TimeoutSeconds`,
/// `IntervalSeconds`, `MaxAttempts`, `Seconds`, …).
pub(super) const MAX_SECONDS: u64 = 99_999_999;

/// One JSON object of the definition, with its path.
pub(super) struct Fields<'a> {
    map: &'a Map<String, Value>,
    /// The object's JSON path.
    pub path: String,
}

impl<'a> Fields<'a> {
    /// The object `value` at `path`, or a problem when it is not an object.
    pub fn new(value: &'a Value, path: String, ctx: &mut Ctx) -> Option<Fields<'a>> {
        match value {
            Value::Object(map) => Some(Fields { map, path }),
            other => {
                ctx.problem(path, format!("must be an object, got {}", describe(other)));
                None
            }
        }
    }

    /// The path of member `key`.
    pub fn at(&self, key: &str) -> String {
        child(&self.path, key)
    }

    /// Member `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// Whether member `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The member names, in definition order.
    pub fn keys(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.map.keys().map(String::as_str)
    }

    /// Records a problem, with the message `reject` gives, at every member `allowed` refuses.
    pub fn check_members(
        &self,
        ctx: &mut Ctx,
        allowed: impl Fn(&str) -> bool,
        reject: impl Fn(&str) -> String,
    ) {
        for key in self.map.keys().filter(|key| !allowed(key)) {
            ctx.problem(self.at(key), reject(key));
        }
    }

    /// Reads optional member `key` with `read`, which gets the member's path.
    pub fn optional<T>(
        &self,
        ctx: &mut Ctx,
        key: &str,
        read: impl FnOnce(&'a Value, &str, &mut Ctx) -> Option<T>,
    ) -> Option<T> {
        let value = self.map.get(key)?;
        read(value, &self.at(key), ctx)
    }

    /// Reads member `key` with `read`; a problem when it is absent.
    pub fn required<T>(
        &self,
        ctx: &mut Ctx,
        key: &str,
        read: impl FnOnce(&'a Value, &str, &mut Ctx) -> Option<T>,
    ) -> Option<T> {
        if !self.has(key) {
            ctx.problem(self.at(key), "is required");
            return None;
        }
        self.optional(ctx, key, read)
    }

    /// Whether both `first` and `second` are present, which is a problem (at `second`).
    pub fn both(&self, ctx: &mut Ctx, first: &str, second: &str) -> bool {
        let both = self.has(first) && self.has(second);
        if both {
            ctx.problem(
                self.at(second),
                format!("cannot be used together with `{first}`"),
            );
        }
        both
    }

    /// Which one of `keys` is present; a problem (at the object) when none is, and at each
    /// one after the first when several are (then `None` too).
    pub fn one_of(&self, ctx: &mut Ctx, keys: &[&'static str]) -> Option<&'static str> {
        let mut present = keys.iter().copied().filter(|key| self.has(key));
        let Some(first) = present.next() else {
            ctx.problem(&self.path, format!("one of {} is required", list(keys)));
            return None;
        };
        let mut alone = true;
        for other in present {
            ctx.problem(
                self.at(other),
                format!("cannot be used together with `{first}`"),
            );
            alone = false;
        }
        alone.then_some(first)
    }
}

/// "`A`, `B` or `C`".
pub(super) fn list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// The message for a member the ASL spec does not define at that place, or that the local
/// engine does not support.
pub(super) fn unsupported(key: &str) -> String {
    match key {
        "Assign" => "variables (`Assign`) are not supported by the local engine".into(),
        "Arguments" | "Output" | "Items" | "Condition" => {
            "is a JSONata field; JSONata is not supported by the local engine".into()
        }
        _ => "field is not supported".into(),
    }
}

/// A value as messages show it: scalars as JSON (long strings cut short), containers by kind.
pub(super) fn describe(value: &Value) -> String {
    const MAX_CHARS: usize = 60;
    match value {
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        Value::String(text) if text.chars().count() > MAX_CHARS => {
            let start: String = text.chars().take(MAX_CHARS).collect();
            format!("{}…", Value::String(start))
        }
        scalar => scalar.to_string(),
    }
}

/// A value kept as is (`Result`, `Credentials`): at most [`MAX_DEPTH`] levels deep, so that
/// copying it cannot overflow the stack. Measured without recursion.
pub(super) fn literal(value: &Value, at: &str, ctx: &mut Ctx) -> Option<Value> {
    let mut stack = vec![(value, 0)];
    while let Some((value, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            ctx.problem(at, format!("may nest at most {MAX_DEPTH} levels deep"));
            return None;
        }
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|item| (item, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|member| (member, depth + 1))),
            _ => {}
        }
    }
    Some(value.clone())
}

/// A string.
pub(super) fn string<'v>(value: &'v Value, at: &str, ctx: &mut Ctx) -> Option<&'v str> {
    match value {
        Value::String(text) => Some(text),
        other => {
            ctx.problem(at, format!("must be a string, got {}", describe(other)));
            None
        }
    }
}

/// A string that is not empty.
pub(super) fn non_empty_string<'v>(value: &'v Value, at: &str, ctx: &mut Ctx) -> Option<&'v str> {
    let text = string(value, at, ctx)?;
    if text.is_empty() {
        ctx.problem(at, "must not be empty");
        return None;
    }
    Some(text)
}

/// A boolean.
pub(super) fn boolean(value: &Value, at: &str, ctx: &mut Ctx) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        other => {
            ctx.problem(at, format!("must be a boolean, got {}", describe(other)));
            None
        }
    }
}

/// An array.
pub(super) fn array<'v>(value: &'v Value, at: &str, ctx: &mut Ctx) -> Option<&'v [Value]> {
    match value {
        Value::Array(items) => Some(items),
        other => {
            ctx.problem(at, format!("must be an array, got {}", describe(other)));
            None
        }
    }
}

/// An array with at least one element.
pub(super) fn non_empty_array<'v>(
    value: &'v Value,
    at: &str,
    ctx: &mut Ctx,
) -> Option<&'v [Value]> {
    let items = array(value, at, ctx)?;
    if items.is_empty() {
        ctx.problem(at, "must not be empty");
        return None;
    }
    Some(items)
}

/// An integer in `min..=max` (`u64::MAX`: no upper bound).
pub(super) fn integer(value: &Value, at: &str, ctx: &mut Ctx, min: u64, max: u64) -> Option<u64> {
    match value.as_u64() {
        Some(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            let range = if max == u64::MAX {
                format!(">= {min}")
            } else {
                format!("from {min} to {max}")
            };
            ctx.problem(
                at,
                format!("must be an integer {range}, got {}", describe(value)),
            );
            None
        }
    }
}

/// A number at least `min`.
pub(super) fn number_at_least(value: &Value, at: &str, ctx: &mut Ctx, min: f64) -> Option<f64> {
    match value.as_f64() {
        Some(n) if n >= min => Some(n),
        _ => {
            ctx.problem(
                at,
                format!("must be a number >= {min:?}, got {}", describe(value)),
            );
            None
        }
    }
}

/// One of `allowed` (string constants).
pub(super) fn one_of_strings<'v>(
    value: &'v Value,
    at: &str,
    ctx: &mut Ctx,
    allowed: &[&str],
) -> Option<&'v str> {
    let text = string(value, at, ctx)?;
    if !allowed.contains(&text) {
        let quoted: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
        ctx.problem(
            at,
            format!(
                "must be one of {}, got {}",
                quoted.join(", "),
                describe(value)
            ),
        );
        return None;
    }
    Some(text)
}

/// A path (`InputPath`, `OutputPath`, a Choice `Variable`, a `.$` template value, …). Notes
/// whether it reads the context object.
pub(super) fn path(value: &Value, at: &str, ctx: &mut Ctx) -> Option<Path> {
    let text = string(value, at, ctx)?;
    parse_path(text, at, ctx)
}

/// A reference path that selects one value (`ItemsPath`, `SecondsPath`, `ErrorPath`, …).
pub(super) fn definite_path(value: &Value, at: &str, ctx: &mut Ctx) -> Option<Path> {
    let text = string(value, at, ctx)?;
    parse_definite_path(text, at, ctx)
}

/// `InputPath` or `OutputPath`: a path, or `null`. Absent is `$`.
pub(super) fn io_path(fields: &Fields, key: &str, ctx: &mut Ctx) -> Option<Path> {
    match fields.get(key) {
        None => Some(Path::root()),
        Some(Value::Null) => None,
        Some(value) => path(value, &fields.at(key), ctx),
    }
}

/// `ResultPath` of a state or a catcher: a reference path, or `null`. Absent is `$`.
pub(super) fn result_path(fields: &Fields, ctx: &mut Ctx) -> Option<ReferencePath> {
    match fields.get("ResultPath") {
        None => Some(ReferencePath::root()),
        Some(Value::Null) => None,
        Some(value) => {
            let at = fields.at("ResultPath");
            let text = string(value, &at, ctx)?;
            match ReferencePath::parse(text) {
                Ok(path) => Some(path),
                Err(err) => {
                    ctx.problem(at, format!("invalid reference path {text:?}: {err}"));
                    None
                }
            }
        }
    }
}

fn parse_path(text: &str, at: &str, ctx: &mut Ctx) -> Option<Path> {
    match Path::parse(text) {
        Ok(path) => {
            ctx.uses_context |= path.is_context();
            Some(path)
        }
        Err(err) => {
            ctx.problem(at, format!("invalid path {text:?}: {err}"));
            None
        }
    }
}

fn parse_definite_path(text: &str, at: &str, ctx: &mut Ctx) -> Option<Path> {
    let path = parse_path(text, at, ctx)?;
    if !path.is_definite() {
        ctx.problem(
            at,
            format!(
                "must be a reference path, which selects a single value \
                 (no wildcard, slice, filter, union or `..`), got {text:?}"
            ),
        );
        return None;
    }
    Some(path)
}

/// The value of a member that takes a path or an intrinsic function call.
pub(super) enum Expression {
    /// A path.
    Path(Path),
    /// `States.…(…)`.
    Intrinsic(Intrinsic),
}

/// `text` as an intrinsic call when it starts with `States.`, else as a path (a reference
/// path when `definite`). Notes whether it reads the context object.
pub(super) fn expression(
    text: &str,
    at: &str,
    ctx: &mut Ctx,
    definite: bool,
) -> Option<Expression> {
    if Intrinsic::looks_like(text) {
        match Intrinsic::parse(text) {
            Ok(call) => {
                ctx.uses_context |= call.uses_context();
                Some(Expression::Intrinsic(call))
            }
            Err(err) => {
                ctx.problem(at, format!("invalid intrinsic function {text:?}: {err}"));
                None
            }
        }
    } else if definite {
        parse_definite_path(text, at, ctx).map(Expression::Path)
    } else {
        parse_path(text, at, ctx).map(Expression::Path)
    }
}

/// A member that must be an ASL timestamp (as the interpreter reads them: RFC 3339 with an
/// uppercase `T` and `Z`).
pub(super) fn timestamp_value(
    value: &Value,
    at: &str,
    ctx: &mut Ctx,
) -> Option<DateTime<FixedOffset>> {
    let text = string(value, at, ctx)?;
    let parsed = parse_timestamp(text);
    if parsed.is_none() {
        ctx.problem(
            at,
            format!(
                "must be an RFC 3339 timestamp such as \"2016-03-14T01:59:00Z\", got {}",
                describe(value)
            ),
        );
    }
    parsed
}

/// `QueryLanguage`: only `JSONPath` runs locally.
pub(super) fn query_language(fields: &Fields, ctx: &mut Ctx) {
    let language = fields.optional(ctx, "QueryLanguage", |value, at, ctx| {
        one_of_strings(value, at, ctx, &["JSONPath", "JSONata"])
    });
    if language == Some("JSONata") {
        ctx.problem(
            fields.at("QueryLanguage"),
            "JSONata is not supported by the local engine",
        );
    }
}
