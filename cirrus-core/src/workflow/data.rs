//! Data flow inside a state: `InputPath`, payload templates (`Parameters`, `ResultSelector`,
//! `ItemSelector`), `ResultPath` and `OutputPath`.

use super::error::Failure;
use super::model::{IoPaths, Template, TemplateValue};
use super::path::{Path, ReferencePath};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Applies `InputPath` to the state's raw input: the whole input for `$`, `{}` for `null`.
pub(crate) fn input_path<'a>(
    io: &IoPaths,
    raw: &'a Value,
    context: &'a Value,
) -> Result<Cow<'a, Value>, Failure> {
    select_io(io.input_path.as_ref(), "InputPath", raw, context)
}

/// Applies `OutputPath` to a state's result (after `ResultPath`).
pub(crate) fn output_path(io: &IoPaths, value: Value, context: &Value) -> Result<Value, Failure> {
    match &io.output_path {
        Some(path) if path.is_root() => Ok(value),
        path => select_io(path.as_ref(), "OutputPath", &value, context).map(Cow::into_owned),
    }
}

fn select_io<'a>(
    path: Option<&Path>,
    field: &str,
    value: &'a Value,
    context: &'a Value,
) -> Result<Cow<'a, Value>, Failure> {
    match path {
        None => Ok(Cow::Owned(Value::Object(Map::new()))),
        Some(path) if path.is_root() => Ok(Cow::Borrowed(value)),
        Some(path) => select(path, field, value, context),
    }
}

/// Selects `path`, failing with `States.Runtime` (naming `field`) when it matches nothing.
pub(crate) fn select<'a>(
    path: &Path,
    field: impl std::fmt::Display,
    input: &'a Value,
    context: &'a Value,
) -> Result<Cow<'a, Value>, Failure> {
    path.select(input, context).ok_or_else(|| {
        let searched = if path.is_context() { context } else { input };
        Failure::runtime(format!(
            "The JSONPath '{path}' specified for the field '{field}' could not be found in the \
             input '{}'",
            compact(searched)
        ))
    })
}

/// Applies `ResultPath` (`None` is `null`: the result is dropped and the raw input passes on).
pub(crate) fn result_path(
    path: Option<&ReferencePath>,
    raw: Value,
    result: Value,
) -> Result<Value, Failure> {
    match path {
        None => Ok(raw),
        Some(path) if path.is_root() => Ok(result),
        Some(path) => path.apply(raw, result),
    }
}

/// Evaluates a payload template against `input` and the context object.
pub(crate) fn evaluate(
    template: &Template,
    input: &Value,
    context: &Value,
) -> Result<Value, Failure> {
    match template {
        Template::Literal(value) => Ok(value.clone()),
        Template::Array(items) => items
            .iter()
            .map(|item| evaluate(item, input, context))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Template::Object(members) => {
            let mut object = Map::with_capacity(members.len());
            for (name, value) in members {
                let value = match value {
                    TemplateValue::Template(template) => evaluate(template, input, context)?,
                    TemplateValue::Path(path) => {
                        select(path, format_args!("{name}.$"), input, context)?.into_owned()
                    }
                    TemplateValue::Intrinsic(call) => call.evaluate(input, context)?,
                };
                object.insert(name.clone(), value);
            }
            Ok(Value::Object(object))
        }
    }
}

/// A value as compact JSON for an error cause, cut to a readable length.
pub(crate) fn compact(value: &Value) -> String {
    const LIMIT: usize = 1024;
    let mut text = value.to_string();
    if text.len() > LIMIT {
        let mut end = LIMIT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}
