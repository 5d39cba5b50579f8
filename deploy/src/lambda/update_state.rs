//! `update-state`: a Step Functions status change → the payload's terminal state.
//!
//! The event is EventBridge's "Step Functions Execution Status Change". When EventBridge
//! left the input or the output out (it drops them when they are too large, and sets
//! `inputDetails.included` to `false`), they are read back with `DescribeExecution`, so a
//! large payload never leaves its record PROCESSING (cirrus-geo issue #355).
//!
//! - **SUCCEEDED**: the output is archived, its items are written under their
//!   `path_template` and published to the publish topic (one message each, with the item
//!   attributes), the chain successors are sent to the process queue, and then the outputs
//!   and SUCCEEDED are recorded. A crash in between makes EventBridge deliver the event
//!   again, and the same steps run again: items are published at least once, and a
//!   successor sent twice is skipped by its own claim. An output that is not a payload makes
//!   the record FAILED.
//! - **FAILED**: the error is the event's, else `DescribeExecution`'s, else the last failure
//!   in the execution's history. `InvalidInput` makes the record INVALID; anything else
//!   FAILED, with `"{Error}: {Cause}"` (the `errorMessage` of a Lambda cause).
//! - **TIMED_OUT**: FAILED with `TimedOutError`. **ABORTED**: ABORTED.
//!
//! A status event for an execution that does not own the record (a late duplicate, a
//! rerun's predecessor, an execution started by hand) changes nothing: the terminal
//! transitions are conditional in the state DB too.

use super::HandlerError;
use super::context::Context;
use super::events::{STATUS_CHANGE, StatusChangeEvent};
use super::process::emit;
use super::sfn::{describe_execution, last_failure};
use cirrus_core::payload::ProcessPayload;
use cirrus_core::pipeline::{Ending, OutputFailure, prepare_output};
use cirrus_core::process::{WorkflowEvent, WorkflowEventType};
use cirrus_core::state::{StateKey, Timestamp, Transition};
use serde_json::{Value, json};

/// Handles one status change event; returns what was recorded.
///
/// # Errors
///
/// A retryable error when an AWS call or a store failed (EventBridge retries, then sends
/// the event to the rule's dead-letter queue), [`HandlerError::bad_event`] for an event
/// that is not a status change.
pub async fn handle(context: &Context, event: Value) -> Result<Value, HandlerError> {
    let event: StatusChangeEvent = serde_json::from_value(event).map_err(|e| {
        HandlerError::bad_event(format!("not a Step Functions status change event: {e}"))
    })?;
    if event.detail_type != STATUS_CHANGE {
        return Err(HandlerError::bad_event(format!(
            "detail-type is {:?}, expected {STATUS_CHANGE:?}",
            event.detail_type
        )));
    }
    let detail = event.detail;
    let arn = detail.execution_arn.clone();
    let status = detail.status.as_str();
    if !matches!(status, "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED") {
        tracing::debug!(execution = %arn, status, "not a terminal status; nothing to do");
        return Ok(json!({"execution": arn, "ignored": status}));
    }

    let mut input = detail.included_input().map(str::to_string);
    let mut output = detail.included_output().map(str::to_string);
    let (mut error, mut cause) = (detail.error.clone(), detail.cause.clone());
    let output_missing = status == "SUCCEEDED" && output.is_none();
    let error_missing = status == "FAILED" && error.is_none();
    if input.is_none() || output_missing || error_missing {
        tracing::info!(execution = %arn, "the event lacks the input, output or error; reading the execution");
        let described = describe_execution(&context.sfn, &arn).await?;
        input = input.or(described.input);
        output = output.or(described.output);
        error = error.or(described.error);
        cause = cause.or(described.cause);
    }
    if status == "FAILED"
        && error.is_none()
        && let Some((e, c)) = last_failure(&context.sfn, &arn).await?
    {
        error = Some(e);
        cause = cause.or(c);
    }

    let input = input.ok_or_else(|| {
        HandlerError::bad_event(format!(
            "execution {arn}: no input, even from DescribeExecution"
        ))
    })?;
    let key = payload_key(context, &input).await?;
    let record = context.state.get(&key).await?;
    let owner = record.as_ref().and_then(|r| r.current_execution());
    let active = record.as_ref().is_some_and(|r| r.state.is_active());
    if owner != Some(arn.as_str()) || !active {
        let state = record.as_ref().map(|r| r.state.to_string());
        tracing::warn!(payload_id = %key, execution = %arn, owner, state, "the record does not belong to this execution, or is already final; nothing recorded");
        return Ok(json!({"payload_id": key.as_str(), "execution": arn, "ignored": status}));
    }
    let input_url = context.bucket.input_url(key.as_str(), &detail.name)?;

    let ending = match status {
        "SUCCEEDED" => {
            let text = output.ok_or_else(|| {
                HandlerError::bad_event(format!("execution {arn} SUCCEEDED without an output"))
            })?;
            let value: Value = serde_json::from_str(&text).map_err(|e| {
                HandlerError::bad_event(format!("execution {arn}: the output is not JSON: {e}"))
            })?;
            Ending::Succeeded(value)
        }
        "ABORTED" => Ending::Aborted,
        _ => {
            let name = error.unwrap_or_else(|| "States.Runtime".to_string());
            let cause = cause.map(|c| error_message(&c));
            Ending::from_failure(&name, cause.as_deref(), status == "TIMED_OUT")
        }
    };
    record_ending(context, &key, &arn, &detail.name, &input_url, ending).await
}

/// The state DB key of the payload an execution ran on (its input, fetched when it is a
/// `{"url"}` reference).
async fn payload_key(context: &Context, input: &str) -> Result<StateKey, HandlerError> {
    let value: Value = serde_json::from_str(input)
        .map_err(|e| HandlerError::bad_event(format!("the execution input is not JSON: {e}")))?;
    let value = context.bucket.resolve(value).await?;
    let mut payload = ProcessPayload::from_value(value)
        .map_err(|e| {
            HandlerError::bad_event(format!("the execution input is not a process payload: {e}"))
        })?
        .value;
    let id = payload
        .set_id()
        .map_err(|e| HandlerError::bad_event(format!("the execution input has no ID: {e}")))?;
    Ok(StateKey::parse(id)?)
}

/// `update-state` proper: publishes and enqueues for a success, then records the end and
/// announces it.
async fn record_ending(
    context: &Context,
    key: &StateKey,
    arn: &str,
    name: &str,
    input_url: &str,
    ending: Ending,
) -> Result<Value, HandlerError> {
    let mut output_url = None;
    let ending = match ending {
        Ending::Succeeded(output) => {
            let publisher = context.publisher();
            match prepare_output(&context.bucket, &publisher, key, name, output).await {
                Ok(prepared) => {
                    if let Some(sink) = &context.publish {
                        sink.publish(&prepared.messages).await?;
                        sink.flush().await?;
                    }
                    if !prepared.successors.is_empty() {
                        context.queue.send_batch(&prepared.successors).await?;
                        tracing::info!(payload_id = %key, successors = prepared.successors.len(), "chain successors enqueued");
                    }
                    context
                        .state
                        .set_outputs(key, &prepared.urls, Timestamp::now())
                        .await?;
                    output_url = Some(prepared.output_url);
                    Ending::Succeeded(Value::Null)
                }
                Err(OutputFailure::Payload(error)) => {
                    tracing::warn!(payload_id = %key, %error, "the output cannot be published");
                    Ending::Failed {
                        error,
                        timed_out: false,
                    }
                }
                Err(OutputFailure::Infrastructure(e)) => return Err(e.into()),
            }
        }
        other => other,
    };
    let execution = arn.to_string();
    let (transition, event_type, error) = match &ending {
        Ending::Succeeded(_) => (
            Transition::Succeeded { execution },
            WorkflowEventType::Succeeded,
            None,
        ),
        Ending::Failed { error, timed_out } => (
            Transition::Failed {
                execution,
                error: error.clone(),
            },
            if *timed_out {
                WorkflowEventType::TimedOut
            } else {
                WorkflowEventType::Failed
            },
            Some(error.clone()),
        ),
        Ending::Invalid(error) => (
            Transition::Invalid {
                execution,
                error: error.clone(),
            },
            WorkflowEventType::Invalid,
            Some(error.clone()),
        ),
        Ending::Aborted => (
            Transition::Aborted { execution },
            WorkflowEventType::Aborted,
            None,
        ),
    };
    let state = transition.target();
    let outcome = context.state.transition(key, transition).await?;
    if !outcome.is_applied() {
        let now = outcome.record().map(|r| r.state.to_string());
        tracing::warn!(payload_id = %key, execution = arn, state = now, "the record changed meanwhile; outcome not recorded");
        return Ok(
            json!({"payload_id": key.as_str(), "execution": arn, "ignored": state.as_str()}),
        );
    }
    tracing::info!(payload_id = %key, execution = arn, state = state.as_str(), error = error.as_deref(), "execution ended");
    let mut event = WorkflowEvent::new(event_type, key, Timestamp::now())
        .with_execution(arn)
        .with_input_url(input_url);
    if let Some(error) = &error {
        event = event.with_error(error);
    }
    if let Some(url) = &output_url {
        event = event.with_output_url(url);
    }
    emit(context, &[event]).await;
    Ok(json!({
        "payload_id": key.as_str(),
        "execution": arn,
        "state": state.as_str(),
        "error": error,
        "output_payload_url": output_url,
    }))
}

/// The message of a cause: a Lambda error's cause is `{"errorMessage", "errorType", …}`,
/// of which cirrus-geo records the `errorMessage`; any other cause is kept whole.
fn error_message(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| cause.to_string())
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[test]
    fn lambda_causes_keep_their_message() {
        assert_eq!(
            error_message(r#"{"errorMessage": "no band", "errorType": "InvalidInput"}"#),
            "no band"
        );
        assert_eq!(error_message("plain"), "plain");
        assert_eq!(error_message("[1]"), "[1]");
    }
}
