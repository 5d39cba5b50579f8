//! Test helpers (feature `testing`): playing the parts of AWS that an emulator does not play,
//! with real messages and real executions.
//!
//! - [`sqs_event`] receives messages from a queue and shapes them as the SQS event Lambda's
//!   event source mapping hands to a function; [`acknowledge`] then does what the mapping does
//!   with the function's partial batch response.
//! - [`status_event`] waits for an execution to stop and builds its EventBridge "Step
//!   Functions Execution Status Change" event from its real `DescribeExecution` result (moto
//!   emits none).
//! - [`drain`] receives and deletes every message of a queue.

use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Receives up to 10 messages of `queue_url` (waiting up to a second) as an SQS event.
///
/// # Panics
///
/// When SQS fails: this is for tests.
pub async fn sqs_event(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    region: &str,
    account: &str,
) -> Value {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("ReceiveMessage");
    let name = queue_url.rsplit('/').next().unwrap_or(queue_url);
    let records: Vec<Value> = received
        .messages()
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_string(), json!(v)))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m.message_id().unwrap_or_default(),
                "receiptHandle": m.receipt_handle().unwrap_or_default(),
                "body": m.body().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body().unwrap_or_default(),
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{region}:{account}:{name}"),
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The message IDs a partial batch response reports as failed.
///
/// # Panics
///
/// When `response` is not a batch response.
pub fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .expect("a batch response")
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
        .collect()
}

/// Deletes the messages of `event` that `response` does not report as failed, as the event
/// source mapping does after an invocation.
///
/// # Panics
///
/// When SQS fails.
pub async fn acknowledge(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    event: &Value,
    response: &Value,
) {
    let failed = failures(response);
    for record in event["Records"].as_array().into_iter().flatten() {
        let id = record["messageId"].as_str().unwrap_or_default();
        if failed.iter().any(|f| f == id) {
            continue;
        }
        sqs.delete_message()
            .queue_url(queue_url)
            .receipt_handle(record["receiptHandle"].as_str().unwrap_or_default())
            .send()
            .await
            .expect("DeleteMessage");
    }
}

/// Receives and deletes every message waiting in `queue_url`; returns the bodies (parsed)
/// with their message attributes' string values.
///
/// # Panics
///
/// When SQS fails or a body is not JSON.
pub async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<(Value, Value)> {
    let mut messages = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .wait_time_seconds(1)
            .send()
            .await
            .expect("ReceiveMessage");
        if received.messages().is_empty() {
            return messages;
        }
        for m in received.messages() {
            let body: Value =
                serde_json::from_str(m.body().unwrap_or_default()).expect("a JSON body");
            let attributes: serde_json::Map<String, Value> = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.clone(), json!(v.string_value())))
                        .collect()
                })
                .unwrap_or_default();
            messages.push((body, Value::Object(attributes)));
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("DeleteMessage");
        }
    }
}

/// Waits (up to a minute) for `execution` to stop and returns its status change event, built
/// from its real `DescribeExecution` result as EventBridge sends it; with `drop_io`, as
/// EventBridge sends it when the input and output are too large to include.
///
/// # Panics
///
/// When Step Functions fails or the execution is still running after a minute.
pub async fn status_event(sfn: &aws_sdk_sfn::Client, execution: &str, drop_io: bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let described = loop {
        let described = sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .expect("DescribeExecution");
        if described.status().as_str() != "RUNNING" {
            break described;
        }
        assert!(Instant::now() < deadline, "{execution} still running");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let included = |text: Option<&str>| match (drop_io, text) {
        (false, Some(text)) => (json!(text), json!({"included": true})),
        _ => (Value::Null, json!({"included": false})),
    };
    let (input, input_details) = included(described.input());
    let (output, output_details) = included(described.output());
    let arn_parts: Vec<&str> = execution.split(':').collect();
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": arn_parts.get(4).copied().unwrap_or_default(),
        "time": described.stop_date().and_then(|d| d.fmt(aws_sdk_sfn::primitives::DateTimeFormat::DateTime).ok()),
        "region": arn_parts.get(3).copied().unwrap_or_default(),
        "resources": [execution],
        "detail": {
            "executionArn": execution,
            "stateMachineArn": described.state_machine_arn(),
            "name": described.name(),
            "status": described.status().as_str(),
            "startDate": described.start_date().to_millis().ok(),
            "stopDate": described.stop_date().and_then(|d| d.to_millis().ok()),
            "input": input,
            "inputDetails": input_details,
            "output": output,
            "outputDetails": output_details,
            "error": described.error(),
            "cause": described.cause(),
        }
    })
}
