//! Looking at a deployment's Step Functions executions: `cirrus execution get|history`.
//!
//! Both return plain JSON, in the shape of the Step Functions API (camelCase members), with the
//! execution's `input` and `output` parsed when they are JSON.

use crate::aws;
use crate::{Error, Result};
use aws_config::SdkConfig;
use aws_sdk_sfn::primitives::DateTime;
use serde_json::{Map, Value, json};

/// `DescribeExecution` of `arn`.
///
/// # Errors
///
/// [`Error::Config`] naming the ARN when there is no such execution; the SDK error otherwise.
pub async fn describe(config: &SdkConfig, arn: &str) -> Result<Value> {
    let client = aws_sdk_sfn::Client::new(config);
    let output = match client.describe_execution().execution_arn(arn).send().await {
        Ok(output) => output,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_execution_does_not_exist()) =>
        {
            return Err(Error::config(
                format!("execution {arn}"),
                "it does not exist",
            ));
        }
        Err(e) => return Err(aws::error("states:DescribeExecution", e)),
    };
    let mut record = Map::new();
    record.insert("executionArn".into(), output.execution_arn().into());
    record.insert("stateMachineArn".into(), output.state_machine_arn().into());
    record.insert("name".into(), output.name().unwrap_or_default().into());
    record.insert("status".into(), output.status().as_str().into());
    record.insert("startDate".into(), time(output.start_date()));
    if let Some(stop) = output.stop_date() {
        record.insert("stopDate".into(), time(stop));
    }
    for (name, text) in [
        ("input", output.input()),
        ("output", output.output()),
        ("error", output.error()),
        ("cause", output.cause()),
    ] {
        if let Some(text) = text {
            record.insert(name.into(), parsed(text));
        }
    }
    Ok(Value::Object(record))
}

/// Every `GetExecutionHistory` event of `arn`, oldest first: `id`, `previousEventId`,
/// `timestamp`, `type`, and the event's details under their API name
/// (`taskFailedEventDetails`, …) with JSON strings parsed.
///
/// # Errors
///
/// As [`describe`].
pub async fn history(config: &SdkConfig, arn: &str) -> Result<Vec<Value>> {
    let client = aws_sdk_sfn::Client::new(config);
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let output = match client
            .get_execution_history()
            .execution_arn(arn)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_does_not_exist()) =>
            {
                return Err(Error::config(
                    format!("execution {arn}"),
                    "it does not exist",
                ));
            }
            Err(e) => return Err(aws::error("states:GetExecutionHistory", e)),
        };
        for event in output.events() {
            let mut record = Map::new();
            record.insert("id".into(), event.id().into());
            record.insert("previousEventId".into(), event.previous_event_id().into());
            record.insert("timestamp".into(), time(event.timestamp()));
            record.insert("type".into(), event.r#type().as_str().into());
            if let Some((name, details)) = details(event) {
                record.insert(name.into(), details);
            }
            events.push(Value::Object(record));
        }
        match output.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    Ok(events)
}

/// The one details member an event carries, as JSON.
fn details(event: &aws_sdk_sfn::types::HistoryEvent) -> Option<(&'static str, Value)> {
    fn object(pairs: &[(&str, Option<&str>)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .filter_map(|(k, v)| v.map(|v| ((*k).to_string(), parsed(v))))
                .collect(),
        )
    }
    if let Some(d) = event.execution_started_event_details() {
        return Some((
            "executionStartedEventDetails",
            object(&[("input", d.input()), ("roleArn", d.role_arn())]),
        ));
    }
    if let Some(d) = event.execution_succeeded_event_details() {
        return Some((
            "executionSucceededEventDetails",
            object(&[("output", d.output())]),
        ));
    }
    if let Some(d) = event.execution_failed_event_details() {
        return Some((
            "executionFailedEventDetails",
            object(&[("error", d.error()), ("cause", d.cause())]),
        ));
    }
    if let Some(d) = event.execution_aborted_event_details() {
        return Some((
            "executionAbortedEventDetails",
            object(&[("error", d.error()), ("cause", d.cause())]),
        ));
    }
    if let Some(d) = event.execution_timed_out_event_details() {
        return Some((
            "executionTimedOutEventDetails",
            object(&[("error", d.error()), ("cause", d.cause())]),
        ));
    }
    if let Some(d) = event.state_entered_event_details() {
        return Some((
            "stateEnteredEventDetails",
            object(&[("name", Some(d.name())), ("input", d.input())]),
        ));
    }
    if let Some(d) = event.state_exited_event_details() {
        return Some((
            "stateExitedEventDetails",
            object(&[("name", Some(d.name())), ("output", d.output())]),
        ));
    }
    if let Some(d) = event.task_scheduled_event_details() {
        return Some((
            "taskScheduledEventDetails",
            object(&[
                ("resourceType", Some(d.resource_type())),
                ("resource", Some(d.resource())),
                ("parameters", Some(d.parameters())),
            ]),
        ));
    }
    if let Some(d) = event.task_succeeded_event_details() {
        return Some((
            "taskSucceededEventDetails",
            object(&[
                ("resourceType", Some(d.resource_type())),
                ("resource", Some(d.resource())),
                ("output", d.output()),
            ]),
        ));
    }
    if let Some(d) = event.task_failed_event_details() {
        return Some((
            "taskFailedEventDetails",
            object(&[
                ("resourceType", Some(d.resource_type())),
                ("resource", Some(d.resource())),
                ("error", d.error()),
                ("cause", d.cause()),
            ]),
        ));
    }
    if let Some(d) = event.task_timed_out_event_details() {
        return Some((
            "taskTimedOutEventDetails",
            object(&[
                ("resourceType", Some(d.resource_type())),
                ("resource", Some(d.resource())),
                ("error", d.error()),
                ("cause", d.cause()),
            ]),
        ));
    }
    if let Some(d) = event.lambda_function_failed_event_details() {
        return Some((
            "lambdaFunctionFailedEventDetails",
            object(&[("error", d.error()), ("cause", d.cause())]),
        ));
    }
    if let Some(d) = event.lambda_function_succeeded_event_details() {
        return Some((
            "lambdaFunctionSucceededEventDetails",
            object(&[("output", d.output())]),
        ));
    }
    None
}

/// A JSON string parsed, else the text itself.
fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// An SDK timestamp as RFC 3339.
fn time(at: &DateTime) -> Value {
    at.fmt(aws_sdk_sfn::primitives::DateTimeFormat::DateTime)
        .map_or_else(|_| json!(at.secs()), Value::String)
}
