//! The interpreter loop: one state after another, with each state's data flow, `Retry` and
//! `Catch`.

use super::choice::parse_timestamp;
use super::data::{self, evaluate, input_path, output_path, result_path};
use super::error::{Failure, names};
use super::history::EventKind;
use super::model::{
    Amount, FailState, IoPaths, PassState, ResultHandling, State, StateKind, StateMachine, Text,
    Transition, WaitFor, WaitState,
};
use super::retry::{RetryState, catcher};
use super::runtime::{Runtime, StateContext, detail};
use super::{concurrent, task_state};
use chrono::Utc;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed, sendable future: what crosses a `tokio::spawn` (Map iterations, Parallel
/// branches) and breaks the recursion of nested machines.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// How many transitions run before the loop yields to the scheduler, so a tight Pass/Choice
/// loop cannot starve the execution's own timeout or other executions.
const YIELD_EVERY: u32 = 256;

/// Runs `machine` (a whole state machine, a branch or an item processor) on `input`.
pub(crate) fn run_machine(
    rt: Arc<Runtime>,
    machine: Arc<StateMachine>,
    input: Value,
) -> BoxFuture<Result<Value, Failure>> {
    Box::pin(async move { run_loop(&rt, &machine, input).await })
}

async fn run_loop(
    rt: &Arc<Runtime>,
    machine: &StateMachine,
    mut input: Value,
) -> Result<Value, Failure> {
    let mut index = state_index(machine, &machine.start_at)?;
    let mut transitions: u32 = 0;
    loop {
        let (name, state) = machine
            .states
            .get_index(index)
            .expect("state indexes come from get_index_of on the same map");
        match run_state(rt, name, state, input).await? {
            Step::Next(next, output) => {
                index = state_index(machine, next)?;
                input = output;
            }
            Step::End(output) => return Ok(output),
        }
        transitions = transitions.wrapping_add(1);
        if transitions.is_multiple_of(YIELD_EVERY) {
            tokio::task::yield_now().await;
        }
    }
}

fn state_index(machine: &StateMachine, name: &str) -> Result<usize, Failure> {
    // The validator guarantees every transition names a state; this only guards a model built
    // by hand.
    machine
        .states
        .get_index_of(name)
        .ok_or_else(|| Failure::runtime(format!("there is no state named {name:?}")))
}

/// Where to go after a state.
pub(crate) enum Step<'m> {
    Next(&'m str, Value),
    End(Value),
}

impl<'m> Step<'m> {
    fn from(transition: &'m Transition, output: Value) -> Step<'m> {
        match transition {
            Transition::Next(next) => Step::Next(next, output),
            Transition::End => Step::End(output),
        }
    }
}

async fn run_state<'m>(
    rt: &Arc<Runtime>,
    name: &'m str,
    state: &'m State,
    raw: Value,
) -> Result<Step<'m>, Failure> {
    let (entered, exited) = event_kinds(&state.kind);
    let entered_at = Utc::now();
    rt.record(entered, Some(name), detail("input", raw.clone()))?;
    let context = |retry_count: u32, task_token: Option<&str>| {
        if state.uses_context {
            let extra = StateContext {
                entered: Some(entered_at),
                retry_count,
                task_token,
                map_item: None,
            };
            rt.context(name, &extra)
        } else {
            Value::Null
        }
    };
    let step = match &state.kind {
        StateKind::Pass(pass) => {
            Step::from(&pass.transition, run_pass(pass, raw, &context(0, None))?)
        }
        StateKind::Succeed(succeed) => {
            Step::End(pass_through(&succeed.io, raw, &context(0, None))?)
        }
        StateKind::Fail(fail) => return Err(fail_failure(fail, &raw, &context(0, None))),
        StateKind::Wait(wait) => Step::from(
            &wait.transition,
            run_wait(wait, raw, &context(0, None)).await?,
        ),
        StateKind::Choice(choice) => {
            let context = context(0, None);
            let effective = input_path(&choice.io, &raw, &context)?;
            let mut next = choice.default.as_deref();
            for rule in &choice.choices {
                if rule.condition.evaluate(&effective, &context)? {
                    next = Some(&rule.next);
                    break;
                }
            }
            let next = next.ok_or_else(|| {
                Failure::new(
                    names::NO_CHOICE_MATCHED,
                    format!("no Choice rule of state {name:?} matched, and it has no Default"),
                )
            })?;
            let output = output_path(&choice.io, effective.into_owned(), &context)?;
            Step::Next(next, output)
        }
        StateKind::Task(task) => {
            let (handling, transition) = (&task.result, &task.transition);
            let mut retries = RetryState::new(&handling.retry);
            loop {
                let token = state.uses_context.then(|| rt.task_token());
                let context = context(retries.total, token.as_deref());
                let result = task_state::attempt(rt, name, task, &raw, &context).await;
                if let Some(step) =
                    handle(rt, name, handling, transition, &mut retries, &raw, result).await?
                {
                    break step;
                }
            }
        }
        StateKind::Parallel(parallel) => {
            let (handling, transition) = (&parallel.result, &parallel.transition);
            let mut retries = RetryState::new(&handling.retry);
            loop {
                let context = context(retries.total, None);
                let result = concurrent::parallel(rt, name, parallel, &raw, &context).await;
                if let Some(step) =
                    handle(rt, name, handling, transition, &mut retries, &raw, result).await?
                {
                    break step;
                }
            }
        }
        StateKind::Map(map) => {
            let (handling, transition) = (&map.result, &map.transition);
            let mut retries = RetryState::new(&handling.retry);
            loop {
                let context = context(retries.total, None);
                let result = concurrent::map(rt, name, state, map, &raw, &context).await;
                if let Some(step) =
                    handle(rt, name, handling, transition, &mut retries, &raw, result).await?
                {
                    break step;
                }
            }
        }
    };
    if let Some(exited) = exited {
        let output = match &step {
            Step::Next(_, output) | Step::End(output) => output,
        };
        rt.record(exited, Some(name), detail("output", output.clone()))?;
    }
    Ok(step)
}

/// The history event kinds for entering and leaving a state of this type (a Fail state is
/// never left).
fn event_kinds(kind: &StateKind) -> (EventKind, Option<EventKind>) {
    match kind {
        StateKind::Pass(_) => (
            EventKind::PassStateEntered,
            Some(EventKind::PassStateExited),
        ),
        StateKind::Task(_) => (
            EventKind::TaskStateEntered,
            Some(EventKind::TaskStateExited),
        ),
        StateKind::Choice(_) => (
            EventKind::ChoiceStateEntered,
            Some(EventKind::ChoiceStateExited),
        ),
        StateKind::Wait(_) => (
            EventKind::WaitStateEntered,
            Some(EventKind::WaitStateExited),
        ),
        StateKind::Succeed(_) => (
            EventKind::SucceedStateEntered,
            Some(EventKind::SucceedStateExited),
        ),
        StateKind::Fail(_) => (EventKind::FailStateEntered, None),
        StateKind::Parallel(_) => (
            EventKind::ParallelStateEntered,
            Some(EventKind::ParallelStateExited),
        ),
        StateKind::Map(_) => (EventKind::MapStateEntered, Some(EventKind::MapStateExited)),
    }
}

/// What `Retry`/`Catch` make of an attempt: where to go next, or `None` to run it again
/// (after the retrier's delay, already waited). An error nothing handles is returned.
async fn handle<'m>(
    rt: &Runtime,
    name: &str,
    handling: &'m ResultHandling,
    transition: &'m Transition,
    retries: &mut RetryState<'_>,
    raw: &Value,
    result: Result<Value, Failure>,
) -> Result<Option<Step<'m>>, Failure> {
    let failure = match result {
        Ok(output) => return Ok(Some(Step::from(transition, output))),
        Err(failure) => failure,
    };
    rt.record(
        EventKind::StateFailed,
        Some(name),
        Some(failure_details(&failure)),
    )?;
    if let Some(retry) = retries.next(&failure) {
        let details = json!({
            "retrier": retry.retrier,
            "attempt": retry.attempt,
            "delay_seconds": retry.delay.as_secs_f64(),
        });
        rt.record(EventKind::StateRetryScheduled, Some(name), Some(details))?;
        tokio::time::sleep(retry.delay).await;
        return Ok(None);
    }
    let Some((index, catcher)) = catcher(&handling.catch, &failure) else {
        return Err(failure);
    };
    let output = result_path(
        catcher.result_path.as_ref(),
        raw.clone(),
        failure.to_error_output(),
    )?;
    let details = json!({ "catcher": index, "next": catcher.next, "error": failure.error, "cause": failure.cause });
    rt.record(EventKind::StateCaught, Some(name), Some(details))?;
    Ok(Some(Step::Next(&catcher.next, output)))
}

pub(crate) fn failure_details(failure: &Failure) -> Value {
    json!({ "error": failure.error, "cause": failure.cause })
}

fn run_pass(pass: &PassState, raw: Value, context: &Value) -> Result<Value, Failure> {
    let result = match (&pass.result, &pass.parameters) {
        (Some(result), _) => {
            // `InputPath` still applies (and can fail) even though `Result` replaces its value.
            input_path(&pass.io, &raw, context)?;
            result.clone()
        }
        (None, Some(parameters)) => evaluate(
            parameters,
            input_path(&pass.io, &raw, context)?.as_ref(),
            context,
        )?,
        (None, None) => input_path(&pass.io, &raw, context)?.into_owned(),
    };
    let output = result_path(pass.result_path.as_ref(), raw, result)?;
    output_path(&pass.io, output, context)
}

/// Succeed (and Wait, after waiting): `InputPath`, then `OutputPath`.
fn pass_through(io: &IoPaths, raw: Value, context: &Value) -> Result<Value, Failure> {
    let effective = match input_path(io, &raw, context)? {
        Cow::Borrowed(_) if io.input_path.as_ref().is_some_and(|p| p.is_root()) => raw,
        effective => effective.into_owned(),
    };
    output_path(io, effective, context)
}

async fn run_wait(wait: &WaitState, raw: Value, context: &Value) -> Result<Value, Failure> {
    let effective = input_path(&wait.io, &raw, context)?;
    let duration = match &wait.wait {
        WaitFor::Seconds(amount) => {
            Duration::from_secs(amount_value(amount, "SecondsPath", &effective, context, 0)?)
        }
        WaitFor::Timestamp(until) => until_now(until.with_timezone(&Utc)),
        WaitFor::TimestampPath(path) => {
            let value = data::select(path, "TimestampPath", &effective, context)?;
            let until = value.as_str().and_then(parse_timestamp).ok_or_else(|| {
                Failure::runtime(format!(
                    "TimestampPath '{path}' must select an RFC 3339 timestamp, got {}",
                    data::compact(&value)
                ))
            })?;
            until_now(until.with_timezone(&Utc))
        }
    };
    drop(effective);
    if !duration.is_zero() {
        tokio::time::sleep(duration).await;
    }
    pass_through(&wait.io, raw, context)
}

fn until_now(until: chrono::DateTime<Utc>) -> Duration {
    (until - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

/// A literal amount, or the non-negative integer (at least `min`) its path selects.
pub(crate) fn amount_value(
    amount: &Amount,
    field: &str,
    input: &Value,
    context: &Value,
    min: u64,
) -> Result<u64, Failure> {
    match amount {
        Amount::Literal(n) => Ok(*n),
        Amount::Path(path) => {
            let value = data::select(path, field, input, context)?;
            value.as_u64().filter(|n| *n >= min).ok_or_else(|| {
                Failure::runtime(format!(
                    "{field} '{path}' must select an integer >= {min}, got {}",
                    data::compact(&value)
                ))
            })
        }
    }
}

fn fail_failure(fail: &FailState, raw: &Value, context: &Value) -> Failure {
    let text = |text: &Option<Text>, field: &str| -> Result<Option<String>, Failure> {
        let value = match text {
            None => return Ok(None),
            Some(Text::Literal(text)) => return Ok(Some(text.clone())),
            Some(Text::Path(path)) => data::select(path, field, raw, context)?.into_owned(),
            Some(Text::Intrinsic(call)) => call.evaluate(raw, context)?,
        };
        match value {
            Value::String(text) => Ok(Some(text)),
            other => Err(Failure::runtime(format!(
                "{field} must give a string, got {}",
                data::compact(&other)
            ))),
        }
    };
    let error = match text(&fail.error, "ErrorPath") {
        Ok(error) => error,
        Err(failure) => return failure,
    };
    let cause = match text(&fail.cause, "CausePath") {
        Ok(cause) => cause,
        Err(failure) => return failure,
    };
    Failure {
        // A Fail state without `Error` still fails; Step Functions reports no error name then.
        error: error.unwrap_or_default(),
        cause,
    }
}
