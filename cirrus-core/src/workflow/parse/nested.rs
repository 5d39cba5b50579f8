//! Parallel and Map states, which hold state machines of their own (branches, the item
//! processor), nested at most [`MAX_NESTING`] levels deep.

use super::fields::{self, Fields};
use super::graph::Links;
use super::machine::{Scope, machine};
use super::states::{amount, io_paths, transition};
use super::{Ctx, MAX_NESTING, handling, template};
use crate::payload::problem::{child, index};
use crate::workflow::model::{MapState, ParallelState, StateMachine};
use crate::workflow::path::Path;
use serde_json::Value;
use std::sync::Arc;

/// The Parallel state `fields`, in a machine nested `depth` levels deep.
pub(super) fn parallel(
    fields: &Fields,
    depth: usize,
    ctx: &mut Ctx,
    links: &mut Links,
) -> Option<ParallelState> {
    let io = io_paths(fields, ctx);
    let branches = fields.required(ctx, "Branches", |value, at, ctx| {
        let branches = fields::non_empty_array(value, at, ctx)?;
        if too_deep(depth, at, ctx) {
            return None;
        }
        let parsed: Vec<Option<Arc<StateMachine>>> = branches
            .iter()
            .enumerate()
            .map(|(i, branch)| {
                machine(branch, index(at, i), Scope::Branch, depth + 1, ctx).map(Arc::new)
            })
            .collect();
        parsed.into_iter().collect::<Option<Vec<_>>>()
    });
    let parameters = fields.optional(ctx, "Parameters", template::template);
    let result = handling::result_handling(fields, ctx, links);
    let transition = transition(fields, ctx, links);
    Some(ParallelState {
        io,
        branches: branches?,
        parameters,
        result,
        transition: transition?,
    })
}

/// The (inline) Map state `fields`, in a machine nested `depth` levels deep.
pub(super) fn map(
    fields: &Fields,
    depth: usize,
    ctx: &mut Ctx,
    links: &mut Links,
) -> Option<MapState> {
    let io = io_paths(fields, ctx);
    let items_path = match fields.get("ItemsPath") {
        None => Some(Path::root()),
        Some(value) => fields::definite_path(value, &fields.at("ItemsPath"), ctx),
    };
    fields.both(ctx, "ItemSelector", "Parameters");
    let item_selector = fields.optional(ctx, "ItemSelector", template::template);
    let parameters = fields.optional(ctx, "Parameters", template::template);
    let max_concurrency = amount(
        fields,
        ctx,
        ("MaxConcurrency", "MaxConcurrencyPath"),
        0,
        u64::MAX,
    );
    let processor = fields
        .one_of(ctx, &["ItemProcessor", "Iterator"])
        .and_then(|key| {
            let value = fields
                .get(key)
                .expect("one_of only returns a present member");
            processor(value, fields.at(key), key == "ItemProcessor", depth, ctx)
        });
    let result = handling::result_handling(fields, ctx, links);
    let transition = transition(fields, ctx, links);
    Some(MapState {
        io,
        processor: processor?,
        items_path: items_path?,
        item_selector: item_selector.or(parameters),
        max_concurrency,
        result,
        transition: transition?,
    })
}

/// `ItemProcessor` (with its `ProcessorConfig`) or the legacy `Iterator`.
fn processor(
    value: &Value,
    at: String,
    item_processor: bool,
    depth: usize,
    ctx: &mut Ctx,
) -> Option<Arc<StateMachine>> {
    if too_deep(depth, &at, ctx) {
        return None;
    }
    if item_processor && let Some(config) = value.get("ProcessorConfig") {
        processor_config(config, child(&at, "ProcessorConfig"), ctx);
    }
    let scope = match item_processor {
        true => Scope::Processor,
        false => Scope::Iterator,
    };
    machine(value, at, scope, depth + 1, ctx).map(Arc::new)
}

/// `ProcessorConfig`: only `"Mode": "INLINE"` runs locally.
fn processor_config(value: &Value, at: String, ctx: &mut Ctx) {
    let Some(config) = Fields::new(value, at, ctx) else {
        return;
    };
    config.check_members(
        ctx,
        |key| key == "Mode",
        |key| match key {
            "ExecutionType" => "distributed Map only, not supported by the local engine".into(),
            _ => fields::unsupported(key),
        },
    );
    let mode = config.optional(ctx, "Mode", |value, at, ctx| {
        fields::one_of_strings(value, at, ctx, &["INLINE", "DISTRIBUTED"])
    });
    if mode == Some("DISTRIBUTED") {
        ctx.problem(
            config.at("Mode"),
            "distributed Map is not supported by the local engine",
        );
    }
}

/// Whether a machine inside a state of a machine `depth` levels deep would nest too deeply,
/// which is a problem at `at`.
fn too_deep(depth: usize, at: &str, ctx: &mut Ctx) -> bool {
    let too_deep = depth >= MAX_NESTING;
    if too_deep {
        ctx.problem(
            at,
            format!("Parallel and Map states may nest at most {MAX_NESTING} levels deep"),
        );
    }
    too_deep
}
