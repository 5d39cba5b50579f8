//! One attempt of a Task state: data flow around the invocation, `TimeoutSeconds` and
//! `HeartbeatSeconds`.

use super::data::{evaluate, input_path, output_path, result_path};
use super::error::{Failure, names};
use super::history::EventKind;
use super::model::TaskState;
use super::resolver::Invocation;
use super::run::{amount_value, failure_details};
use super::runtime::{Runtime, detail};
use serde_json::{Value, json};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Runs the task once: `InputPath`, `Parameters`, the invocation, `ResultSelector`,
/// `ResultPath`, `OutputPath`.
pub(crate) async fn attempt(
    rt: &Runtime,
    name: &str,
    task: &TaskState,
    raw: &Value,
    context: &Value,
) -> Result<Value, Failure> {
    let effective = input_path(&task.io, raw, context)?;
    let timeout = match &task.timeout {
        Some(amount) => Some(amount_value(
            amount,
            "TimeoutSecondsPath",
            &effective,
            context,
            1,
        )?),
        None => None,
    };
    let heartbeat = match &task.heartbeat {
        Some(amount) => Some(amount_value(
            amount,
            "HeartbeatSecondsPath",
            &effective,
            context,
            1,
        )?),
        None => None,
    };
    let parameters = match &task.parameters {
        Some(template) => evaluate(template, &effective, context)?,
        None => effective.into_owned(),
    };
    let result = invoke(rt, name, task, parameters, context, timeout, heartbeat).await?;
    let result = match &task.result.result_selector {
        Some(template) => evaluate(template, &result, context)?,
        None => result,
    };
    let output = result_path(task.result.result_path.as_ref(), raw.clone(), result)?;
    output_path(&task.io, output, context)
}

async fn invoke(
    rt: &Runtime,
    name: &str,
    task: &TaskState,
    parameters: Value,
    context: &Value,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
) -> Result<Value, Failure> {
    let details = json!({ "resource": task.resource, "parameters": parameters });
    rt.record(EventKind::TaskScheduled, Some(name), Some(details))?;
    let token = context
        .pointer("/Task/Token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let invocation = Invocation::new(rt.name.clone(), name, task.resource.clone(), token);
    let result = match rt.resolver.resolve(&task.resource) {
        Ok(invoker) => {
            let call = invoker.invoke(parameters, &invocation);
            supervise(call, &invocation, timeout, heartbeat).await
        }
        Err(failure) => Err(failure),
    };
    for line in invocation.take_log() {
        rt.record(EventKind::TaskLog, Some(name), detail("line", line.into()))?;
    }
    match &result {
        Ok(output) => rt.record(
            EventKind::TaskSucceeded,
            Some(name),
            detail("output", output.clone()),
        )?,
        Err(failure) => {
            let kind =
                if failure.error == names::TIMEOUT || failure.error == names::HEARTBEAT_TIMEOUT {
                    EventKind::TaskTimedOut
                } else {
                    EventKind::TaskFailed
                };
            rt.record(kind, Some(name), Some(failure_details(failure)))?;
        }
    }
    result
}

/// Awaits `call`, failing with `States.Timeout` after `timeout` seconds and with
/// `States.HeartbeatTimeout` when no heartbeat arrives for `heartbeat` seconds. Dropping
/// `call` on a timeout cancels the task (a subprocess is killed).
async fn supervise(
    call: impl Future<Output = Result<Value, Failure>>,
    invocation: &Invocation,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
) -> Result<Value, Failure> {
    let started = Instant::now();
    let deadline = timeout.map(|seconds| started + Duration::from_secs(seconds));
    let beat = heartbeat.map(Duration::from_secs);
    let mut beat_deadline = beat.map(|beat| started + beat);
    tokio::pin!(call);
    loop {
        tokio::select! {
            result = &mut call => return result,
            () = sleep_until(deadline) => {
                let seconds = timeout.unwrap_or_default();
                return Err(Failure::new(names::TIMEOUT, format!("the task did not finish within {seconds} s (TimeoutSeconds)")));
            }
            () = sleep_until(beat_deadline) => {
                let seconds = heartbeat.unwrap_or_default();
                return Err(Failure::new(names::HEARTBEAT_TIMEOUT, format!("the task sent no heartbeat for {seconds} s (HeartbeatSeconds)")));
            }
            () = invocation.heartbeat_received(), if beat.is_some() => {
                beat_deadline = beat.map(|beat| Instant::now() + beat);
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
