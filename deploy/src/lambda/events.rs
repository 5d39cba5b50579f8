//! The events the handlers receive and the responses they return, as serde types.
//!
//! Only the fields the handlers read are typed; every other field is kept in `other`, so an
//! event parsed and serialized again is the same event (fields that are `null` and fields
//! that are absent are the same to us: see [`strip_nulls`]). The fixtures in
//! `deploy/tests/fixtures/events/` are checked that way.
//!
//! - [`SqsEvent`], a batch of SQS messages (`process`), answered with an
//!   [`SqsBatchResponse`] naming the messages to redeliver;
//! - [`SnsEnvelope`], an SNS notification, as it arrives in an SQS body when the subscription
//!   has no raw delivery, or inside a [`SnsEvent`] when SNS invokes the function;
//! - [`StatusChangeEvent`], EventBridge's "Step Functions Execution Status Change"
//!   (`update-state`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `eventSource` of an SQS record.
pub const SQS_SOURCE: &str = "aws:sqs";

/// The `detail-type` of a Step Functions status change.
pub const STATUS_CHANGE: &str = "Step Functions Execution Status Change";

/// A batch of SQS messages, as the SQS event source mapping delivers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqsEvent {
    /// The messages.
    #[serde(rename = "Records")]
    pub records: Vec<SqsRecord>,
}

/// One SQS message of an [`SqsEvent`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqsRecord {
    /// The message ID, which a [`BatchItemFailure`] names.
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// The body: a payload, a `{"url"}` reference or an SNS envelope.
    pub body: String,
    /// `aws:sqs`.
    #[serde(
        rename = "eventSource",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub event_source: Option<String>,
    /// `ApproximateReceiveCount` and the other system attributes.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    /// Every other field (`receiptHandle`, `md5OfBody`, `eventSourceARN`, …).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl SqsRecord {
    /// How many times the message was received, this time included, when SQS says.
    pub fn receive_count(&self) -> Option<u32> {
        self.attributes
            .get("ApproximateReceiveCount")
            .and_then(Value::as_str)
            .and_then(|n| n.parse().ok())
    }
}

impl SqsEvent {
    /// The event when `value` is an SQS batch (every record from `aws:sqs`), else `None`.
    pub fn parse(value: &Value) -> Option<SqsEvent> {
        let records = value.get("Records")?.as_array()?;
        let all_sqs = !records.is_empty()
            && records
                .iter()
                .all(|r| r.get("eventSource").and_then(Value::as_str) == Some(SQS_SOURCE));
        if !all_sqs {
            return None;
        }
        serde_json::from_value(value.clone()).ok()
    }
}

/// The answer to an [`SqsEvent`] under `ReportBatchItemFailures`: the messages SQS must
/// deliver again. The others are deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqsBatchResponse {
    /// The messages to redeliver.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One message to redeliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItemFailure {
    /// Its `messageId`.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// An SNS notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnsEnvelope {
    /// `Notification`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The message: here, a payload or a `{"url"}` reference, as text.
    #[serde(rename = "Message")]
    pub message: String,
    /// `MessageId`, `TopicArn`, `Timestamp`, `MessageAttributes`, the signature fields…
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// SNS invoking a function directly: each record holds one notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnsEvent {
    /// The notifications.
    #[serde(rename = "Records")]
    pub records: Vec<SnsRecord>,
}

/// One record of an [`SnsEvent`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnsRecord {
    /// The notification. (Lambda spells its fields as SNS does, except that message
    /// attributes are `{"Type", "Value"}`; they are kept as they are.)
    #[serde(rename = "Sns")]
    pub sns: SnsEnvelope,
    /// `EventSource` (`aws:sns`), `EventVersion`, `EventSubscriptionArn`.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// EventBridge's event for a Step Functions execution that changed status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChangeEvent {
    /// [`STATUS_CHANGE`].
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// `aws.states`.
    pub source: String,
    /// The execution.
    pub detail: StatusChange,
    /// `version`, `id`, `account`, `time`, `region`, `resources`.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The `detail` of a [`StatusChangeEvent`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    /// The execution's ARN.
    pub execution_arn: String,
    /// Its state machine's ARN.
    pub state_machine_arn: String,
    /// The execution's name.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// The input, as JSON text; `null` when EventBridge dropped it (too large).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The output, as JSON text; `null` while running, on failure, or when dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Whether the input is included (`false` when it was dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_details: Option<Included>,
    /// Whether the output is included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_details: Option<Included>,
    /// The error name of a failed execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cause of a failed execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// `startDate`, `stopDate`, …
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `inputDetails` / `outputDetails`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Included {
    /// `false` when EventBridge left the value out.
    pub included: bool,
    /// Any other field.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl StatusChange {
    /// The input, unless EventBridge dropped it.
    pub fn included_input(&self) -> Option<&str> {
        let dropped = self.input_details.as_ref().is_some_and(|d| !d.included);
        self.input.as_deref().filter(|_| !dropped)
    }

    /// The output, unless EventBridge dropped it.
    pub fn included_output(&self) -> Option<&str> {
        let dropped = self.output_details.as_ref().is_some_and(|d| !d.included);
        self.output.as_deref().filter(|_| !dropped)
    }
}

/// `value` without its `null` members, at any depth (array elements are kept): how two
/// events are compared, since a field that is `null` and one that is absent mean the same.
pub fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_all_sqs_records_are_an_sqs_batch() {
        let sqs = json!({"Records": [{"messageId": "1", "body": "{}", "eventSource": "aws:sqs"}]});
        assert!(SqsEvent::parse(&sqs).is_some());
        let sns = json!({"Records": [{"Sns": {"Type": "Notification", "Message": "{}"}}]});
        assert!(SqsEvent::parse(&sns).is_none());
        assert!(SqsEvent::parse(&json!({"Records": []})).is_none());
        assert!(SqsEvent::parse(&json!({"features": []})).is_none());
    }

    #[test]
    fn dropped_input_is_not_included() {
        let detail: StatusChange = serde_json::from_value(json!({
            "executionArn": "a", "stateMachineArn": "s", "name": "n", "status": "SUCCEEDED",
            "input": "{}", "inputDetails": {"included": false}, "output": "{}"
        }))
        .unwrap();
        assert_eq!(detail.included_input(), None);
        assert_eq!(detail.included_output(), Some("{}"));
    }
}
