//! Parallel and Map: branches and iterations run concurrently as tokio tasks.
//!
//! Iterations are started as earlier ones finish, never more than the concurrency limit at
//! once, so a Map over 100,000 items holds at most that many running iterations (plus the
//! results). The first failure cancels the iterations still running: dropping the `JoinSet`
//! aborts them.

use super::data::{self, evaluate, input_path, output_path, result_path};
use super::error::Failure;
use super::history::EventKind;
use super::model::{MapState, ParallelState, ResultHandling, State};
use super::run::{amount_value, failure_details, run_machine};
use super::runtime::{Runtime, StateContext, detail};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::task::{JoinError, JoinSet};

/// One attempt of a Parallel state.
pub(crate) async fn parallel(
    rt: &Arc<Runtime>,
    name: &str,
    state: &ParallelState,
    raw: &Value,
    context: &Value,
) -> Result<Value, Failure> {
    let effective = input_path(&state.io, raw, context)?;
    let input = match &state.parameters {
        Some(template) => evaluate(template, &effective, context)?,
        None => effective.into_owned(),
    };
    let branches = state.branches.len();
    rt.record(
        EventKind::ParallelStateStarted,
        Some(name),
        Some(json!({ "branches": branches })),
    )?;
    let mut set = JoinSet::new();
    for (index, branch) in state.branches.iter().enumerate() {
        let run = run_machine(rt.clone(), branch.clone(), input.clone());
        set.spawn(async move { (index, run.await) });
    }
    let mut results = vec![Value::Null; branches];
    while let Some(joined) = set.join_next().await {
        match flatten(joined) {
            Ok((index, output)) => results[index] = output,
            Err(failure) => {
                rt.record(
                    EventKind::ParallelStateFailed,
                    Some(name),
                    Some(failure_details(&failure)),
                )?;
                return Err(failure);
            }
        }
    }
    rt.record(EventKind::ParallelStateSucceeded, Some(name), None)?;
    finish(
        &state.result,
        &state.io,
        raw,
        Value::Array(results),
        context,
    )
}

/// One attempt of a Map state.
pub(crate) async fn map(
    rt: &Arc<Runtime>,
    name: &str,
    state: &State,
    map: &MapState,
    raw: &Value,
    context: &Value,
) -> Result<Value, Failure> {
    let effective = input_path(&map.io, raw, context)?;
    let items = data::select(&map.items_path, "ItemsPath", &effective, context)?;
    let Value::Array(items) = items.as_ref() else {
        return Err(Failure::runtime(format!(
            "ItemsPath '{}' must select an array, got {}",
            map.items_path,
            data::compact(&items)
        )));
    };
    let limit = match &map.max_concurrency {
        Some(amount) => amount_value(amount, "MaxConcurrencyPath", &effective, context, 0)?,
        None => 0,
    };
    let cap = rt.options.max_map_concurrency.max(1);
    let limit = match usize::try_from(limit) {
        Ok(0) | Err(_) => cap,
        Ok(limit) => limit.min(cap),
    };
    rt.record(
        EventKind::MapStateStarted,
        Some(name),
        Some(json!({ "length": items.len() })),
    )?;

    let mut results = vec![Value::Null; items.len()];
    let mut set = JoinSet::new();
    let mut next = 0;
    loop {
        while next < items.len() && set.len() < limit {
            let input = match &map.item_selector {
                Some(selector) => {
                    // `$$.Map.Item` only exists here; build the context only when the state
                    // reads `$$` at all.
                    let item_context = if state.uses_context {
                        let extra = StateContext {
                            map_item: Some((next, &items[next])),
                            ..StateContext::default()
                        };
                        rt.context(name, &extra)
                    } else {
                        Value::Null
                    };
                    evaluate(selector, &effective, &item_context)?
                }
                None => items[next].clone(),
            };
            rt.record(
                EventKind::MapIterationStarted,
                Some(name),
                detail("index", next.into()),
            )?;
            let run = run_machine(rt.clone(), map.processor.clone(), input);
            let index = next;
            set.spawn(async move { (index, run.await) });
            next += 1;
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        match flatten(joined) {
            Ok((index, output)) => {
                rt.record(
                    EventKind::MapIterationSucceeded,
                    Some(name),
                    detail("index", index.into()),
                )?;
                results[index] = output;
            }
            Err(failure) => {
                let details = failure_details(&failure);
                rt.record(
                    EventKind::MapIterationFailed,
                    Some(name),
                    Some(details.clone()),
                )?;
                rt.record(EventKind::MapStateFailed, Some(name), Some(details))?;
                return Err(failure);
            }
        }
    }
    rt.record(EventKind::MapStateSucceeded, Some(name), None)?;
    finish(&map.result, &map.io, raw, Value::Array(results), context)
}

/// A joined branch or iteration: its index and output, or its failure (a panic, which is a
/// bug, surfaces as `States.Runtime` rather than taking the execution down).
fn flatten(
    joined: Result<(usize, Result<Value, Failure>), JoinError>,
) -> Result<(usize, Value), Failure> {
    match joined {
        Ok((index, Ok(output))) => Ok((index, output)),
        Ok((_, Err(failure))) => Err(failure),
        Err(error) => Err(Failure::runtime(format!(
            "internal error: a branch did not finish: {error}"
        ))),
    }
}

/// `ResultSelector`, `ResultPath` and `OutputPath` on the array of results.
fn finish(
    handling: &ResultHandling,
    io: &super::model::IoPaths,
    raw: &Value,
    results: Value,
    context: &Value,
) -> Result<Value, Failure> {
    let result = match &handling.result_selector {
        Some(template) => evaluate(template, &results, context)?,
        None => results,
    };
    let output = result_path(handling.result_path.as_ref(), raw.clone(), result)?;
    output_path(io, output, context)
}
