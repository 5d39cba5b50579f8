//! Payload templates: `Parameters`, `ResultSelector` and `ItemSelector`.
//!
//! A member whose name ends in `.$` takes its value from a path or an intrinsic call, at any
//! depth, inside arrays too. Subtrees without such a member are kept as literals, each cloned
//! once at its topmost static point.

use super::fields::{self, Expression};
use super::{Ctx, MAX_DEPTH};
use crate::payload::problem::{child, index};
use crate::workflow::model::{Template, TemplateValue};
use serde_json::Value;

/// The template `value` at `at`.
pub(super) fn template(value: &Value, at: &str, ctx: &mut Ctx) -> Option<Template> {
    match build(value, at, 0, ctx) {
        Built::Static => Some(Template::Literal(value.clone())),
        Built::Dynamic(template) => Some(template),
        Built::Invalid => None,
    }
}

/// What a subtree turned out to be.
enum Built {
    /// No `.$` member anywhere below.
    Static,
    /// At least one `.$` member below.
    Dynamic(Template),
    /// A problem was recorded.
    Invalid,
}

fn build(value: &Value, at: &str, depth: usize, ctx: &mut Ctx) -> Built {
    if depth > MAX_DEPTH {
        ctx.problem(
            at,
            format!("a template may nest at most {MAX_DEPTH} levels deep"),
        );
        return Built::Invalid;
    }
    match value {
        Value::Object(map) => {
            // Each member: its name (without `.$`), its value, and its template when it is
            // dynamic (static ones are cloned only if the object turns out dynamic).
            let mut parts: Vec<(&str, &Value, Option<TemplateValue>)> = Vec::new();
            let mut valid = true;
            for (key, member) in map {
                let member_at = child(at, key);
                if let Some(name) = key.strip_suffix(".$") {
                    if map.contains_key(name) {
                        let message =
                            format!("the member {name:?} is defined twice (once with `.$`)");
                        ctx.problem(&member_at, message);
                        valid = false;
                    }
                    match dynamic_value(member, &member_at, ctx) {
                        Some(value) => parts.push((name, member, Some(value))),
                        None => valid = false,
                    }
                } else {
                    match build(member, &member_at, depth + 1, ctx) {
                        Built::Static => parts.push((key, member, None)),
                        Built::Dynamic(template) => {
                            parts.push((key, member, Some(TemplateValue::Template(template))));
                        }
                        Built::Invalid => valid = false,
                    }
                }
            }
            if !valid {
                return Built::Invalid;
            }
            if parts.iter().all(|(_, _, template)| template.is_none()) {
                return Built::Static;
            }
            let members = parts
                .into_iter()
                .map(|(name, member, template)| {
                    let value = template.unwrap_or_else(|| {
                        TemplateValue::Template(Template::Literal(member.clone()))
                    });
                    (name.to_owned(), value)
                })
                .collect();
            Built::Dynamic(Template::Object(members))
        }
        Value::Array(items) => {
            let built: Vec<Built> = items
                .iter()
                .enumerate()
                .map(|(i, item)| build(item, &index(at, i), depth + 1, ctx))
                .collect();
            if built.iter().any(|b| matches!(b, Built::Invalid)) {
                return Built::Invalid;
            }
            if built.iter().all(|b| matches!(b, Built::Static)) {
                return Built::Static;
            }
            let templates = built
                .into_iter()
                .zip(items)
                .map(|(built, item)| match built {
                    Built::Dynamic(template) => template,
                    _ => Template::Literal(item.clone()),
                })
                .collect();
            Built::Dynamic(Template::Array(templates))
        }
        _ => Built::Static,
    }
}

/// The value of a `.$` member: a path or an intrinsic call.
fn dynamic_value(value: &Value, at: &str, ctx: &mut Ctx) -> Option<TemplateValue> {
    let Value::String(text) = value else {
        ctx.problem(
            at,
            format!(
                "must be a string (a path or an intrinsic function call: the name ends in `.$`), \
                 got {}",
                fields::describe(value)
            ),
        );
        return None;
    };
    match fields::expression(text, at, ctx, false)? {
        Expression::Path(path) => Some(TemplateValue::Path(path)),
        Expression::Intrinsic(call) => Some(TemplateValue::Intrinsic(call)),
    }
}
