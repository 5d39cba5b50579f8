//! A state machine: the top level, a Parallel branch or a Map item processor.

use super::fields::{self, Fields, MAX_SECONDS};
use super::graph::{self, Node};
use super::{Ctx, states};
use crate::workflow::model::StateMachine;
use indexmap::IndexMap;
use serde_json::Value;

/// The longest state name Step Functions accepts, in characters.
const MAX_NAME_CHARS: usize = 80;

/// Where a state machine sits, which decides the members it may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// The whole definition.
    Top,
    /// One of a Parallel state's `Branches`.
    Branch,
    /// A Map state's `ItemProcessor` (which may have `ProcessorConfig`, checked by the Map
    /// state).
    Processor,
    /// A Map state's `Iterator`, the older name of `ItemProcessor`, without
    /// `ProcessorConfig`.
    Iterator,
}

impl Scope {
    fn allows(self, key: &str) -> bool {
        match key {
            "StartAt" | "States" | "Comment" => true,
            "Version" | "TimeoutSeconds" | "QueryLanguage" => self == Scope::Top,
            "ProcessorConfig" => self == Scope::Processor,
            _ => false,
        }
    }

    /// What the machine is, for messages: "there is no state \"X\" in this branch".
    fn name(self) -> &'static str {
        match self {
            Scope::Top => "state machine",
            Scope::Branch => "branch",
            Scope::Processor | Scope::Iterator => "item processor",
        }
    }

    /// The message for member `key`, which this machine does not have.
    fn reject(self, key: &str) -> String {
        let (what, members) = match self {
            Scope::Processor => (
                "an item processor",
                "`StartAt`, `States`, `Comment` and `ProcessorConfig`",
            ),
            Scope::Iterator => ("an `Iterator`", "`StartAt`, `States` and `Comment`"),
            // The top level has every member these messages are about.
            Scope::Top | Scope::Branch => ("a branch", "`StartAt`, `States` and `Comment`"),
        };
        match (self, key) {
            (Scope::Iterator, "ProcessorConfig") => {
                "is not allowed in an `Iterator` (an `ItemProcessor` has it)".into()
            }
            (_, "Version" | "TimeoutSeconds" | "QueryLanguage" | "ProcessorConfig") => {
                format!("is not allowed in {what} (only {members} are)")
            }
            _ => fields::unsupported(key),
        }
    }
}

/// Parses the state machine `value` at `path`, nested `depth` Parallel/Map levels deep.
pub(super) fn machine(
    value: &Value,
    path: String,
    scope: Scope,
    depth: usize,
    ctx: &mut Ctx,
) -> Option<StateMachine> {
    let fields = Fields::new(value, path, ctx)?;
    fields.check_members(ctx, |key| scope.allows(key), |key| scope.reject(key));
    let comment = fields.optional(ctx, "Comment", fields::string);
    let start_at = fields.required(ctx, "StartAt", fields::string);
    let mut timeout_seconds = None;
    let mut version = None;
    if scope == Scope::Top {
        timeout_seconds = fields.optional(ctx, "TimeoutSeconds", |value, at, ctx| {
            fields::integer(value, at, ctx, 1, MAX_SECONDS)
        });
        version = fields.optional(ctx, "Version", |value, at, ctx| {
            fields::one_of_strings(value, at, ctx, &["1.0"])
        });
        fields::query_language(&fields, ctx);
    }
    let states = fields.required(ctx, "States", |value, at, ctx| {
        let states = Fields::new(value, at.to_string(), ctx)?;
        if states.keys().next().is_none() {
            ctx.problem(at, "must have at least one state");
            return None;
        }
        Some(states)
    });
    let states = states.and_then(|states| {
        let start_at = start_at.map(|name| (name, fields.at("StartAt")));
        parse_states(&states, start_at, scope, depth, ctx)
    });
    Some(StateMachine {
        comment: comment.map(str::to_owned),
        start_at: start_at?.to_owned(),
        states: states?,
        timeout_seconds,
        version: version.map(str::to_owned),
    })
}

/// Parses every state, then checks the transitions between them. `None` when a state is
/// not valid.
fn parse_states(
    states: &Fields,
    start_at: Option<(&str, String)>,
    scope: Scope,
    depth: usize,
    ctx: &mut Ctx,
) -> Option<IndexMap<String, crate::workflow::model::State>> {
    let mut parsed = IndexMap::new();
    let mut nodes = Vec::new();
    let mut complete = true;
    for name in states.keys() {
        let path = states.at(name);
        check_name(name, &path, ctx);
        let value = states
            .get(name)
            .expect("the name was just listed by the same map");
        let (state, links) = states::state(value, path.clone(), depth, ctx);
        match state {
            Some(state) => {
                parsed.insert(name.to_owned(), state);
            }
            None => complete = false,
        }
        nodes.push(Node { name, path, links });
    }
    graph::check(start_at, &nodes, scope.name(), ctx);
    complete.then_some(parsed)
}

/// A state name: 1 to 80 characters, and unique across the whole definition.
fn check_name(name: &str, path: &str, ctx: &mut Ctx) {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        ctx.problem(
            path,
            format!(
                "a state name must have 1 to {MAX_NAME_CHARS} characters, this one has {chars}"
            ),
        );
    }
    if let Some(first) = ctx.names.get(name) {
        let message = format!(
            "state names must be unique in the whole definition; {first} has this name too"
        );
        ctx.problem(path, message);
    } else {
        ctx.names.insert(name.to_owned(), path.to_owned());
    }
}
