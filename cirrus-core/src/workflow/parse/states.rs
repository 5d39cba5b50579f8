//! One state: its `Type`, the members each type allows, what the types share (`InputPath`,
//! `OutputPath`, `Next`/`End`), and the simple types (Pass, Task, Wait, Succeed, Fail).

use super::fields::{self, Expression, Fields, MAX_SECONDS};
use super::graph::Links;
use super::{Ctx, choice, handling, nested, template};
use crate::workflow::model::{
    Amount, FailState, IoPaths, PassState, State, StateKind, SucceedState, TaskState, Text,
    Transition, WaitFor, WaitState,
};
use serde_json::Value;

/// The eight state types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

impl Type {
    const ALL: [Type; 8] = [
        Type::Pass,
        Type::Task,
        Type::Choice,
        Type::Wait,
        Type::Succeed,
        Type::Fail,
        Type::Parallel,
        Type::Map,
    ];

    fn name(self) -> &'static str {
        match self {
            Type::Pass => "Pass",
            Type::Task => "Task",
            Type::Choice => "Choice",
            Type::Wait => "Wait",
            Type::Succeed => "Succeed",
            Type::Fail => "Fail",
            Type::Parallel => "Parallel",
            Type::Map => "Map",
        }
    }

    /// The members of this type besides `Type`, `Comment` and `QueryLanguage`, as the ASL
    /// spec lists them.
    fn members(self) -> &'static [&'static str] {
        match self {
            Type::Pass => &[
                "InputPath",
                "OutputPath",
                "Parameters",
                "Result",
                "ResultPath",
                "Next",
                "End",
            ],
            Type::Task => &[
                "InputPath",
                "OutputPath",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "Retry",
                "Catch",
                "Resource",
                "TimeoutSeconds",
                "TimeoutSecondsPath",
                "HeartbeatSeconds",
                "HeartbeatSecondsPath",
                "Credentials",
                "Next",
                "End",
            ],
            Type::Choice => &["InputPath", "OutputPath", "Choices", "Default"],
            Type::Wait => &[
                "InputPath",
                "OutputPath",
                "Seconds",
                "SecondsPath",
                "Timestamp",
                "TimestampPath",
                "Next",
                "End",
            ],
            Type::Succeed => &["InputPath", "OutputPath"],
            Type::Fail => &["Error", "ErrorPath", "Cause", "CausePath"],
            Type::Parallel => &[
                "InputPath",
                "OutputPath",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "Retry",
                "Catch",
                "Branches",
                "Next",
                "End",
            ],
            Type::Map => &[
                "InputPath",
                "OutputPath",
                "ItemsPath",
                "ItemSelector",
                "Parameters",
                "ItemProcessor",
                "Iterator",
                "MaxConcurrency",
                "MaxConcurrencyPath",
                "ResultSelector",
                "ResultPath",
                "Retry",
                "Catch",
                "Next",
                "End",
            ],
        }
    }
}

/// Members of every state.
const COMMON: [&str; 3] = ["Type", "Comment", "QueryLanguage"];

/// Members of a distributed Map state only.
const DISTRIBUTED_MAP: [&str; 8] = [
    "ItemReader",
    "ResultWriter",
    "ItemBatcher",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "Label",
];

/// The message for member `key`, which a state of type `ty` does not have.
fn misplaced(ty: Type, key: &str) -> String {
    match (ty, key) {
        (Type::Choice, "Next" | "End") => {
            "a Choice state has no `Next` or `End`: its rules and `Default` choose the next state"
                .into()
        }
        (Type::Succeed | Type::Fail, "Next" | "End") => format!(
            "a {} state ends its state machine: it has no `Next` or `End`",
            ty.name()
        ),
        (Type::Map, key) if DISTRIBUTED_MAP.contains(&key) => {
            "distributed Map only, not supported by the local engine".into()
        }
        _ if DISTRIBUTED_MAP.contains(&key)
            || Type::ALL.iter().any(|other| other.members().contains(&key)) =>
        {
            format!("is not allowed in a {} state", ty.name())
        }
        _ => fields::unsupported(key),
    }
}

/// Parses the state `value` at `path`, in a machine nested `depth` levels deep. Returns the
/// state (`None` when it is not valid) and its transitions, which are read as far as
/// possible even then.
pub(super) fn state(
    value: &Value,
    path: String,
    depth: usize,
    ctx: &mut Ctx,
) -> (Option<State>, Links) {
    // `uses_context` is per state: keep the enclosing state's (when this one is in a
    // branch) aside while this one is parsed.
    let outer = std::mem::take(&mut ctx.uses_context);
    let mut links = Links::default();
    let state = parse(value, path, depth, ctx, &mut links);
    let uses_context = std::mem::replace(&mut ctx.uses_context, outer);
    let state = state.map(|state| State {
        uses_context,
        ..state
    });
    (state, links)
}

fn parse(
    value: &Value,
    path: String,
    depth: usize,
    ctx: &mut Ctx,
    links: &mut Links,
) -> Option<State> {
    let Some(fields) = Fields::new(value, path, ctx) else {
        links.ends = true;
        return None;
    };
    let ty = fields.required(ctx, "Type", |value, at, ctx| {
        let name = fields::one_of_strings(value, at, ctx, &Type::ALL.map(Type::name))?;
        Type::ALL.into_iter().find(|ty| ty.name() == name)
    });
    let Some(ty) = ty else {
        // Without a type the members cannot be checked; keep `Next` as a transition so that
        // its target is not reported unreachable as well.
        links.ends = true;
        if let Some(Value::String(next)) = fields.get("Next") {
            links.add(next, fields.at("Next"));
        }
        return None;
    };
    fields.check_members(
        ctx,
        |key| COMMON.contains(&key) || ty.members().contains(&key),
        |key| misplaced(ty, key),
    );
    let comment = fields.optional(ctx, "Comment", fields::string);
    fields::query_language(&fields, ctx);
    let kind = match ty {
        Type::Pass => pass(&fields, ctx, links).map(StateKind::Pass),
        Type::Task => task(&fields, ctx, links).map(StateKind::Task),
        Type::Choice => choice::choice_state(&fields, ctx, links).map(StateKind::Choice),
        Type::Wait => wait(&fields, ctx, links).map(StateKind::Wait),
        Type::Succeed => {
            links.ends = true;
            Some(StateKind::Succeed(SucceedState {
                io: io_paths(&fields, ctx),
            }))
        }
        Type::Fail => {
            links.ends = true;
            Some(StateKind::Fail(fail(&fields, ctx)))
        }
        Type::Parallel => nested::parallel(&fields, depth, ctx, links).map(StateKind::Parallel),
        Type::Map => nested::map(&fields, depth, ctx, links).map(StateKind::Map),
    };
    Some(State {
        comment: comment.map(str::to_owned),
        kind: kind?,
        uses_context: false,
    })
}

/// `InputPath` and `OutputPath`.
pub(super) fn io_paths(fields: &Fields, ctx: &mut Ctx) -> IoPaths {
    IoPaths {
        input_path: fields::io_path(fields, "InputPath", ctx),
        output_path: fields::io_path(fields, "OutputPath", ctx),
    }
}

/// `Next` or `End` (exactly one; `End` must be `true`).
pub(super) fn transition(fields: &Fields, ctx: &mut Ctx, links: &mut Links) -> Option<Transition> {
    let which = fields.one_of(ctx, &["Next", "End"]);
    let next = fields.optional(ctx, "Next", fields::string);
    if let Some(next) = next {
        links.add(next, fields.at("Next"));
    }
    let end = fields.optional(ctx, "End", |value, at, ctx| {
        let end = fields::boolean(value, at, ctx)?;
        if !end {
            ctx.problem(at, "must be true (a state that goes on has `Next` instead)");
        }
        end.then_some(Transition::End)
    });
    let transition = match which {
        Some("Next") => next.map(|next| Transition::Next(next.to_owned())),
        Some(_) => end,
        None => None,
    };
    // A state without a readable transition counts as an end, so that its problem is not
    // reported again as an endless loop.
    links.ends |= transition.as_ref().is_none_or(|t| *t == Transition::End);
    transition
}

/// A count or duration given literally (`literal`, in `min..=max`) or by a reference path
/// (`path`), not both.
pub(super) fn amount(
    fields: &Fields,
    ctx: &mut Ctx,
    (literal, path): (&str, &str),
    min: u64,
    max: u64,
) -> Option<Amount> {
    fields.both(ctx, literal, path);
    let literal = fields.optional(ctx, literal, |value, at, ctx| {
        fields::integer(value, at, ctx, min, max)
    });
    let path = fields.optional(ctx, path, fields::definite_path);
    literal.map(Amount::Literal).or(path.map(Amount::Path))
}

fn pass(fields: &Fields, ctx: &mut Ctx, links: &mut Links) -> Option<PassState> {
    let io = io_paths(fields, ctx);
    let parameters = fields.optional(ctx, "Parameters", template::template);
    let result_path = fields::result_path(fields, ctx);
    let result = fields.optional(ctx, "Result", fields::literal);
    let transition = transition(fields, ctx, links);
    Some(PassState {
        io,
        parameters,
        result,
        result_path,
        transition: transition?,
    })
}

fn task(fields: &Fields, ctx: &mut Ctx, links: &mut Links) -> Option<TaskState> {
    let io = io_paths(fields, ctx);
    let resource = fields.required(ctx, "Resource", fields::non_empty_string);
    let parameters = fields.optional(ctx, "Parameters", template::template);
    let result = handling::result_handling(fields, ctx, links);
    let [timeout, heartbeat] = [
        ("TimeoutSeconds", "TimeoutSecondsPath"),
        ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ]
    .map(|keys| amount(fields, ctx, keys, 1, MAX_SECONDS));
    if let (Some(Amount::Literal(heartbeat)), Some(Amount::Literal(timeout))) =
        (&heartbeat, &timeout)
        && heartbeat >= timeout
    {
        ctx.problem(
            fields.at("HeartbeatSeconds"),
            format!("must be smaller than `TimeoutSeconds` ({timeout}), got {heartbeat}"),
        );
    }
    let credentials = fields.optional(ctx, "Credentials", |value, at, ctx| {
        Fields::new(value, at.to_owned(), ctx)?;
        fields::literal(value, at, ctx)
    });
    let transition = transition(fields, ctx, links);
    Some(TaskState {
        io,
        resource: resource?.to_owned(),
        parameters,
        result,
        timeout,
        heartbeat,
        credentials,
        transition: transition?,
    })
}

fn wait(fields: &Fields, ctx: &mut Ctx, links: &mut Links) -> Option<WaitState> {
    let io = io_paths(fields, ctx);
    let which = fields.one_of(
        ctx,
        &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
    );
    let seconds = fields.optional(ctx, "Seconds", |value, at, ctx| {
        fields::integer(value, at, ctx, 0, MAX_SECONDS)
    });
    let seconds_path = fields.optional(ctx, "SecondsPath", fields::definite_path);
    let timestamp = fields.optional(ctx, "Timestamp", fields::timestamp_value);
    let timestamp_path = fields.optional(ctx, "TimestampPath", fields::definite_path);
    let transition = transition(fields, ctx, links);
    let wait = match which? {
        "Seconds" => seconds.map(|n| WaitFor::Seconds(Amount::Literal(n))),
        "SecondsPath" => seconds_path.map(|path| WaitFor::Seconds(Amount::Path(path))),
        "Timestamp" => timestamp.map(WaitFor::Timestamp),
        _ => timestamp_path.map(WaitFor::TimestampPath),
    };
    Some(WaitState {
        io,
        wait: wait?,
        transition: transition?,
    })
}

fn fail(fields: &Fields, ctx: &mut Ctx) -> FailState {
    FailState {
        error: text(fields, ctx, "Error", "ErrorPath"),
        cause: text(fields, ctx, "Cause", "CausePath"),
    }
}

/// `Error`/`ErrorPath` or `Cause`/`CausePath`: a literal string, or a reference path or an
/// intrinsic call, not both.
fn text(fields: &Fields, ctx: &mut Ctx, literal: &str, dynamic: &str) -> Option<Text> {
    fields.both(ctx, literal, dynamic);
    let literal = fields.optional(ctx, literal, fields::string);
    let dynamic = fields.optional(ctx, dynamic, |value, at, ctx| {
        let text = fields::string(value, at, ctx)?;
        fields::expression(text, at, ctx, true)
    });
    match (literal, dynamic) {
        (Some(literal), _) => Some(Text::Literal(literal.to_owned())),
        (None, Some(Expression::Path(path))) => Some(Text::Path(path)),
        (None, Some(Expression::Intrinsic(call))) => Some(Text::Intrinsic(call)),
        (None, None) => None,
    }
}
