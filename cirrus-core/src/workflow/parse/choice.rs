//! The Choice state and its rules.
//!
//! A rule is either a combination (`And`, `Or`: a non-empty array of rules; `Not`: one rule)
//! or `Variable` with exactly one comparison operator, whose operand type is checked. Only
//! top-level rules have `Next`.

use super::fields::{self, Fields};
use super::graph::Links;
use super::states::io_paths;
use super::{Ctx, MAX_DEPTH};
use crate::payload::problem::index;
use crate::workflow::choice::{Comparison, Condition, Operand, Test};
use crate::workflow::model::{ChoiceRule, ChoiceState};
use serde_json::Value;

/// What a comparison's literal operand must be.
#[derive(Debug, Clone, Copy)]
enum Kind {
    String,
    Number,
    Boolean,
    Timestamp,
}

/// The binary comparisons, each also with a `…Path` variant.
const COMPARISONS: [(&str, Comparison, Kind); 16] = [
    ("StringEquals", Comparison::StringEquals, Kind::String),
    ("StringLessThan", Comparison::StringLessThan, Kind::String),
    (
        "StringGreaterThan",
        Comparison::StringGreaterThan,
        Kind::String,
    ),
    (
        "StringLessThanEquals",
        Comparison::StringLessThanEquals,
        Kind::String,
    ),
    (
        "StringGreaterThanEquals",
        Comparison::StringGreaterThanEquals,
        Kind::String,
    ),
    ("NumericEquals", Comparison::NumericEquals, Kind::Number),
    ("NumericLessThan", Comparison::NumericLessThan, Kind::Number),
    (
        "NumericGreaterThan",
        Comparison::NumericGreaterThan,
        Kind::Number,
    ),
    (
        "NumericLessThanEquals",
        Comparison::NumericLessThanEquals,
        Kind::Number,
    ),
    (
        "NumericGreaterThanEquals",
        Comparison::NumericGreaterThanEquals,
        Kind::Number,
    ),
    ("BooleanEquals", Comparison::BooleanEquals, Kind::Boolean),
    (
        "TimestampEquals",
        Comparison::TimestampEquals,
        Kind::Timestamp,
    ),
    (
        "TimestampLessThan",
        Comparison::TimestampLessThan,
        Kind::Timestamp,
    ),
    (
        "TimestampGreaterThan",
        Comparison::TimestampGreaterThan,
        Kind::Timestamp,
    ),
    (
        "TimestampLessThanEquals",
        Comparison::TimestampLessThanEquals,
        Kind::Timestamp,
    ),
    (
        "TimestampGreaterThanEquals",
        Comparison::TimestampGreaterThanEquals,
        Kind::Timestamp,
    ),
];

/// Builds a type test from its boolean operand.
type MakeTest = fn(bool) -> Test;

/// The type tests, which take a boolean.
const TESTS: [(&str, MakeTest); 6] = [
    ("IsNull", Test::IsNull),
    ("IsPresent", Test::IsPresent),
    ("IsNumeric", Test::IsNumeric),
    ("IsString", Test::IsString),
    ("IsBoolean", Test::IsBoolean),
    ("IsTimestamp", Test::IsTimestamp),
];

/// The combinations.
const COMBINATIONS: [&str; 3] = ["And", "Or", "Not"];

/// A comparison operator, as a rule's member names it.
#[derive(Clone, Copy)]
enum Operator {
    /// A comparison with a literal (`path == false`) or with a path (`…Path`).
    Compare(Comparison, Kind, bool),
    /// `StringMatches`.
    Matches,
    /// `IsNull`, `IsPresent`, …
    Test(MakeTest),
}

fn operator(key: &str) -> Option<Operator> {
    if key == "StringMatches" {
        return Some(Operator::Matches);
    }
    if let Some((_, make)) = TESTS.iter().find(|(name, _)| *name == key) {
        return Some(Operator::Test(*make));
    }
    let (base, path) = match key.strip_suffix("Path") {
        Some(base) => (base, true),
        None => (key, false),
    };
    COMPARISONS
        .iter()
        .find(|(name, ..)| *name == base)
        .map(|&(_, op, kind)| Operator::Compare(op, kind, path))
}

/// The Choice state `fields`: `Choices` and `Default` (both transitions go to `links`).
pub(super) fn choice_state(
    fields: &Fields,
    ctx: &mut Ctx,
    links: &mut Links,
) -> Option<ChoiceState> {
    let io = io_paths(fields, ctx);
    let default = fields.optional(ctx, "Default", fields::string);
    if let Some(default) = default {
        links.add(default, fields.at("Default"));
    }
    let choices = fields.required(ctx, "Choices", |value, at, ctx| {
        let rules = fields::non_empty_array(value, at, ctx)?;
        let parsed: Vec<Option<ChoiceRule>> = rules
            .iter()
            .enumerate()
            .map(|(i, rule)| top_rule(rule, index(at, i), ctx, links))
            .collect();
        parsed.into_iter().collect::<Option<Vec<ChoiceRule>>>()
    });
    // A state whose rules could not all be read counts as an end, so that its problems
    // are not reported again as an endless loop.
    links.ends |= choices.is_none();
    Some(ChoiceState {
        io,
        choices: choices?,
        default: default.map(str::to_owned),
    })
}

/// A top-level rule: a condition and `Next`.
fn top_rule(value: &Value, path: String, ctx: &mut Ctx, links: &mut Links) -> Option<ChoiceRule> {
    let fields = Fields::new(value, path, ctx)?;
    fields.check_members(
        ctx,
        |key| key == "Next" || allowed(key),
        fields::unsupported,
    );
    let next = fields.required(ctx, "Next", fields::string);
    if let Some(next) = next {
        links.add(next, fields.at("Next"));
    }
    let condition = condition(&fields, ctx, 0);
    Some(ChoiceRule {
        condition: condition?,
        next: next?.to_owned(),
    })
}

/// A rule inside `And`, `Or` or `Not`, `depth` levels down.
fn nested_rule(value: &Value, path: String, ctx: &mut Ctx, depth: usize) -> Option<Condition> {
    if depth > MAX_DEPTH {
        ctx.problem(
            path,
            format!("Choice rules may nest at most {MAX_DEPTH} levels deep"),
        );
        return None;
    }
    let fields = Fields::new(value, path, ctx)?;
    fields.check_members(ctx, allowed, |key| match key {
        "Next" => "only a top-level Choice rule has `Next`".into(),
        _ => fields::unsupported(key),
    });
    condition(&fields, ctx, depth)
}

/// The members a rule may have, `Next` aside.
fn allowed(key: &str) -> bool {
    matches!(key, "Variable" | "Comment") || COMBINATIONS.contains(&key) || operator(key).is_some()
}

/// The condition of the rule `fields`.
fn condition(fields: &Fields, ctx: &mut Ctx, depth: usize) -> Option<Condition> {
    fields.optional(ctx, "Comment", fields::string);
    let combination = COMBINATIONS.into_iter().find(|key| fields.has(key));
    let operators: Vec<(&str, Operator)> = fields
        .keys()
        .filter_map(|key| operator(key).map(|op| (key, op)))
        .collect();
    if let Some(combination) = combination {
        let others = fields
            .keys()
            .filter(|key| *key != combination)
            .filter(|key| {
                *key == "Variable" || COMBINATIONS.contains(key) || operator(key).is_some()
            });
        for other in others {
            ctx.problem(
                fields.at(other),
                format!("cannot be used together with `{combination}`"),
            );
        }
        return fields.optional(ctx, combination, |value, at, ctx| match combination {
            "Not" => nested_rule(value, at.to_owned(), ctx, depth + 1)
                .map(|rule| Condition::Not(Box::new(rule))),
            _ => {
                let rules = fields::non_empty_array(value, at, ctx)?;
                let parsed: Vec<Option<Condition>> = rules
                    .iter()
                    .enumerate()
                    .map(|(i, rule)| nested_rule(rule, index(at, i), ctx, depth + 1))
                    .collect();
                let rules = parsed.into_iter().collect::<Option<Vec<Condition>>>()?;
                Some(match combination {
                    "And" => Condition::And(rules),
                    _ => Condition::Or(rules),
                })
            }
        });
    }
    let variable = fields.required(ctx, "Variable", fields::path);
    let Some(&(name, op)) = operators.first() else {
        ctx.problem(
            &fields.path,
            "a Choice rule needs a comparison operator (with `Variable`), or `And`, `Or` or `Not`",
        );
        return None;
    };
    for (other, _) in &operators[1..] {
        ctx.problem(
            fields.at(other),
            format!("a Choice rule has exactly one comparison operator, and this one has `{name}`"),
        );
    }
    let test = fields.optional(ctx, name, |value, at, ctx| test(op, value, at, ctx));
    if operators.len() > 1 {
        return None;
    }
    Some(Condition::Test {
        variable: variable?,
        test: test?,
    })
}

/// The test of operator `op` with operand `value`.
fn test(op: Operator, value: &Value, at: &str, ctx: &mut Ctx) -> Option<Test> {
    match op {
        Operator::Matches => {
            fields::string(value, at, ctx).map(|p| Test::StringMatches(p.to_owned()))
        }
        Operator::Test(make) => fields::boolean(value, at, ctx).map(make),
        Operator::Compare(op, _, true) => {
            let path = fields::path(value, at, ctx)?;
            Some(Test::Compare {
                op,
                operand: Operand::Path(path),
            })
        }
        Operator::Compare(op, kind, false) => {
            let valid = match kind {
                Kind::String => fields::string(value, at, ctx).is_some(),
                Kind::Boolean => fields::boolean(value, at, ctx).is_some(),
                Kind::Timestamp => fields::timestamp_value(value, at, ctx).is_some(),
                Kind::Number => {
                    let number = value.is_number();
                    if !number {
                        let message = format!("must be a number, got {}", fields::describe(value));
                        ctx.problem(at, message);
                    }
                    number
                }
            };
            valid.then(|| Test::Compare {
                op,
                operand: Operand::Literal(value.clone()),
            })
        }
    }
}
