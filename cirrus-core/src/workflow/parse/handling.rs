//! What Task, Parallel and Map states share: `ResultSelector`, `ResultPath`, `Retry` and
//! `Catch`.

use super::fields::{self, Fields, MAX_SECONDS};
use super::graph::Links;
use super::{Ctx, template};
use crate::payload::problem::index;
use crate::workflow::error::names;
use crate::workflow::model::{Catcher, Jitter, ResultHandling, Retrier};
use serde_json::Value;

/// The longest `MaxDelaySeconds` Step Functions accepts (366 days).
const MAX_DELAY_SECONDS: u64 = 31_622_400;

/// The members of a retrier.
const RETRIER: [&str; 7] = [
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
];

/// The members of a catcher.
const CATCHER: [&str; 4] = ["ErrorEquals", "Next", "ResultPath", "Comment"];

/// `ResultSelector`, `ResultPath`, `Retry` and `Catch` of the state `fields`. Catchers'
/// `Next` go to `links`.
pub(super) fn result_handling(fields: &Fields, ctx: &mut Ctx, links: &mut Links) -> ResultHandling {
    let result_selector = fields.optional(ctx, "ResultSelector", |value, at, ctx| {
        Fields::new(value, at.to_owned(), ctx)?;
        template::template(value, at, ctx)
    });
    let result_path = fields::result_path(fields, ctx);
    let retry = fields.optional(ctx, "Retry", retriers);
    let catch = fields.optional(ctx, "Catch", |value, at, ctx| {
        catchers(value, at, ctx, links)
    });
    ResultHandling {
        result_selector,
        result_path,
        retry: retry.unwrap_or_default(),
        catch: catch.unwrap_or_default(),
    }
}

fn retriers(value: &Value, at: &str, ctx: &mut Ctx) -> Option<Vec<Retrier>> {
    let items = fields::array(value, at, ctx)?;
    let mut retriers = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(fields) = Fields::new(item, index(at, i), ctx) else {
            continue;
        };
        fields.check_members(ctx, |key| RETRIER.contains(&key), fields::unsupported);
        fields.optional(ctx, "Comment", fields::string);
        let error_equals = error_equals(&fields, ctx, i + 1 == items.len(), "retrier");
        let interval_seconds = fields.optional(ctx, "IntervalSeconds", |value, at, ctx| {
            fields::integer(value, at, ctx, 1, MAX_SECONDS)
        });
        let max_attempts = fields.optional(ctx, "MaxAttempts", |value, at, ctx| {
            let n = fields::integer(value, at, ctx, 0, MAX_SECONDS)?;
            Some(u32::try_from(n).expect("MAX_SECONDS fits in a u32"))
        });
        let backoff_rate = fields.optional(ctx, "BackoffRate", |value, at, ctx| {
            fields::number_at_least(value, at, ctx, 1.0)
        });
        let max_delay_seconds = fields.optional(ctx, "MaxDelaySeconds", |value, at, ctx| {
            fields::integer(value, at, ctx, 1, MAX_DELAY_SECONDS)
        });
        let jitter =
            fields.optional(
                ctx,
                "JitterStrategy",
                |value, at, ctx| match fields::one_of_strings(value, at, ctx, &["FULL", "NONE"])? {
                    "FULL" => Some(Jitter::Full),
                    _ => Some(Jitter::None),
                },
            );
        if let Some(error_equals) = error_equals {
            retriers.push(Retrier {
                error_equals,
                interval_seconds: interval_seconds.unwrap_or(1),
                max_attempts: max_attempts.unwrap_or(3),
                backoff_rate: backoff_rate.unwrap_or(2.0),
                max_delay_seconds,
                jitter: jitter.unwrap_or_default(),
            });
        }
    }
    Some(retriers)
}

fn catchers(value: &Value, at: &str, ctx: &mut Ctx, links: &mut Links) -> Option<Vec<Catcher>> {
    let items = fields::array(value, at, ctx)?;
    let mut catchers = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(fields) = Fields::new(item, index(at, i), ctx) else {
            continue;
        };
        fields.check_members(ctx, |key| CATCHER.contains(&key), fields::unsupported);
        fields.optional(ctx, "Comment", fields::string);
        let error_equals = error_equals(&fields, ctx, i + 1 == items.len(), "catcher");
        let next = fields.required(ctx, "Next", fields::string);
        if let Some(next) = next {
            links.add(next, fields.at("Next"));
        }
        let result_path = fields::result_path(&fields, ctx);
        if let (Some(error_equals), Some(next)) = (error_equals, next) {
            catchers.push(Catcher {
                error_equals,
                next: next.to_owned(),
                result_path,
            });
        }
    }
    Some(catchers)
}

/// `ErrorEquals` of a retrier or catcher (`what`): a non-empty array of error names, where a
/// `States.` name is a predefined one, and `States.ALL` stands alone in the last entry.
fn error_equals(fields: &Fields, ctx: &mut Ctx, last: bool, what: &str) -> Option<Vec<String>> {
    let items = fields.required(ctx, "ErrorEquals", fields::non_empty_array)?;
    let at = fields.at("ErrorEquals");
    let mut names = Vec::with_capacity(items.len());
    let mut valid = true;
    for (i, item) in items.iter().enumerate() {
        let item_at = index(&at, i);
        let Some(name) = fields::string(item, &item_at, ctx) else {
            valid = false;
            continue;
        };
        if name.starts_with("States.") && !names::PREDEFINED.contains(&name) {
            ctx.problem(
                &item_at,
                format!(
                    "{name:?} is not a predefined error name (the `States.` prefix is reserved)"
                ),
            );
            valid = false;
        } else if name == names::ALL && items.len() > 1 {
            ctx.problem(
                &item_at,
                format!(
                    "`{}` must be the only error name in its `ErrorEquals`",
                    names::ALL
                ),
            );
            valid = false;
        } else if name == names::ALL && !last {
            ctx.problem(
                &item_at,
                format!("the {what} with `{}` must be the last one", names::ALL),
            );
            valid = false;
        }
        names.push(name.to_owned());
    }
    valid.then_some(names)
}
