//! Workflow events: the audit stream of what `process` and `update-state` did to each payload.
//!
//! The body and attributes match cirrus-geo's `WorkflowEvent` (SNS topic
//! `${prefix}-workflow-event`): the body holds the non-empty fields among `event_type`,
//! `payload_id`, `isotimestamp`, `input_payload_url`, `output_payload_url`, `execution` and
//! `error`; the attributes are `event_type`, `workflow`, `collections` and `error`.
//!
//! ```
//! use cirrus_core::process::{WorkflowEvent, WorkflowEventType};
//! use cirrus_core::state::{StateKey, Timestamp};
//!
//! let key = StateKey::parse("sentinel-2-l2a/workflow-cog-archive/S2B_1")?;
//! let event = WorkflowEvent::new(WorkflowEventType::Failed, &key, Timestamp::from_micros(0))
//!     .with_execution("exec-1")
//!     .with_error("TaskFailed: boom");
//! let message = event.to_message();
//! assert_eq!(message.body["isotimestamp"], "1970-01-01T00:00:00+00:00");
//! assert_eq!(message.attributes["workflow"].value, "cog-archive");
//! # Ok::<(), cirrus_core::Error>(())
//! ```

use super::attributes::{Attribute, Attributes};
use super::sink::Message;
use crate::state::{StateKey, Timestamp};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// What happened to a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowEventType {
    /// `process` claimed the payload.
    ClaimedProcessing,
    /// Its execution started.
    StartedProcessing,
    /// Skipped: the payload is INVALID.
    AlreadyInvalid,
    /// Skipped: the payload is PROCESSING.
    AlreadyProcessing,
    /// Skipped: the payload is CLAIMED.
    AlreadyClaimed,
    /// Skipped: the payload is SUCCEEDED (and `replace` is not set).
    AlreadySucceeded,
    /// Dropped: the same payload ID came earlier in the same batch.
    DuplicateIdEncountered,
    /// The execution failed.
    Failed,
    /// The execution timed out.
    TimedOut,
    /// The execution succeeded.
    Succeeded,
    /// A task rejected the payload as invalid (`InvalidInput`).
    Invalid,
    /// The execution was aborted.
    Aborted,
    /// A queue message could not be unwrapped.
    RecordExtractFailed,
    /// A queue message holds JSON that is not a process payload.
    NotAProcessPayload,
}

impl WorkflowEventType {
    /// Every event type, in cirrus-geo's order.
    pub const ALL: [WorkflowEventType; 14] = [
        WorkflowEventType::ClaimedProcessing,
        WorkflowEventType::StartedProcessing,
        WorkflowEventType::AlreadyInvalid,
        WorkflowEventType::AlreadyProcessing,
        WorkflowEventType::AlreadyClaimed,
        WorkflowEventType::AlreadySucceeded,
        WorkflowEventType::DuplicateIdEncountered,
        WorkflowEventType::Failed,
        WorkflowEventType::TimedOut,
        WorkflowEventType::Succeeded,
        WorkflowEventType::Invalid,
        WorkflowEventType::Aborted,
        WorkflowEventType::RecordExtractFailed,
        WorkflowEventType::NotAProcessPayload,
    ];

    /// The name, e.g. `CLAIMED_PROCESSING`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowEventType::ClaimedProcessing => "CLAIMED_PROCESSING",
            WorkflowEventType::StartedProcessing => "STARTED_PROCESSING",
            WorkflowEventType::AlreadyInvalid => "ALREADY_INVALID",
            WorkflowEventType::AlreadyProcessing => "ALREADY_PROCESSING",
            WorkflowEventType::AlreadyClaimed => "ALREADY_CLAIMED",
            WorkflowEventType::AlreadySucceeded => "ALREADY_SUCCEEDED",
            WorkflowEventType::DuplicateIdEncountered => "DUPLICATE_ID_ENCOUNTERED",
            WorkflowEventType::Failed => "FAILED",
            WorkflowEventType::TimedOut => "TIMED_OUT",
            WorkflowEventType::Succeeded => "SUCCEEDED",
            WorkflowEventType::Invalid => "INVALID",
            WorkflowEventType::Aborted => "ABORTED",
            WorkflowEventType::RecordExtractFailed => "RECORD_EXTRACT_FAILED",
            WorkflowEventType::NotAProcessPayload => "NOT_A_PROCESS_PAYLOAD",
        }
    }
}

impl fmt::Display for WorkflowEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WorkflowEventType {
    type Err = Error;

    fn from_str(s: &str) -> Result<WorkflowEventType> {
        WorkflowEventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                Error::invalid_argument("event_type", format!("{s:?} is not a workflow event type"))
            })
    }
}

/// One workflow event.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowEvent {
    /// What happened.
    pub event_type: WorkflowEventType,
    /// The payload it happened to; `None` for a queue message that carried no payload.
    pub key: Option<StateKey>,
    /// When it happened.
    pub isotimestamp: Timestamp,
    /// Where the input payload is archived.
    pub input_payload_url: Option<String>,
    /// Where the output payload is archived.
    pub output_payload_url: Option<String>,
    /// The execution (a name locally, an ARN or console URL on AWS).
    pub execution: Option<String>,
    /// The error, `"{Error}: {Cause}"` or why a message was rejected.
    pub error: Option<String>,
}

impl WorkflowEvent {
    /// An event about the payload `key`, at `at`.
    pub fn new(event_type: WorkflowEventType, key: &StateKey, at: Timestamp) -> WorkflowEvent {
        WorkflowEvent {
            key: Some(key.clone()),
            ..WorkflowEvent::unidentified(event_type, at)
        }
    }

    /// An event with no payload ID: a queue message that carried no payload.
    pub fn unidentified(event_type: WorkflowEventType, at: Timestamp) -> WorkflowEvent {
        WorkflowEvent {
            event_type,
            key: None,
            isotimestamp: at,
            input_payload_url: None,
            output_payload_url: None,
            execution: None,
            error: None,
        }
    }

    /// Sets the execution.
    pub fn with_execution(mut self, execution: impl Into<String>) -> WorkflowEvent {
        self.execution = Some(execution.into());
        self
    }

    /// Sets the error.
    pub fn with_error(mut self, error: impl Into<String>) -> WorkflowEvent {
        self.error = Some(error.into());
        self
    }

    /// Sets the URL of the archived input payload.
    pub fn with_input_url(mut self, url: impl Into<String>) -> WorkflowEvent {
        self.input_payload_url = Some(url.into());
        self
    }

    /// Sets the URL of the archived output payload.
    pub fn with_output_url(mut self, url: impl Into<String>) -> WorkflowEvent {
        self.output_payload_url = Some(url.into());
        self
    }

    /// The message body: the non-empty fields, in cirrus-geo's order.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert(
            "event_type".to_string(),
            Value::String(self.event_type.as_str().to_string()),
        );
        let payload_id = self.key.as_ref().map(|k| k.as_str().to_string());
        let fields = [
            ("payload_id", payload_id),
            ("isotimestamp", Some(self.isotimestamp.to_string())),
            ("input_payload_url", self.input_payload_url.clone()),
            ("output_payload_url", self.output_payload_url.clone()),
            ("execution", self.execution.clone()),
            ("error", self.error.clone()),
        ];
        for (name, value) in fields {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                body.insert(name.to_string(), Value::String(value));
            }
        }
        Value::Object(body)
    }

    /// The message attributes: `event_type`, and `workflow`, `collections` and `error` when
    /// known and non-empty.
    pub fn attributes(&self) -> Attributes {
        let mut attributes = Attributes::new();
        attributes.insert(
            "event_type".to_string(),
            Attribute::string(self.event_type.as_str()),
        );
        if let Some(key) = &self.key {
            attributes.insert("workflow".to_string(), Attribute::string(key.workflow()));
            attributes.insert(
                "collections".to_string(),
                Attribute::string(key.collections()),
            );
        }
        if let Some(error) = self.error.as_deref().filter(|e| !e.is_empty()) {
            attributes.insert("error".to_string(), Attribute::string(error));
        }
        attributes
    }

    /// Reads an event back from its message body (an NDJSON event log line's `body`).
    /// Unknown members are ignored; a missing or mistyped one is an error naming it.
    pub fn from_body(body: &Value) -> Result<WorkflowEvent> {
        let field = |name: &'static str| -> Result<Option<String>> {
            match body.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(Error::invalid_argument(
                    name,
                    format!("must be a string, got {other}"),
                )),
            }
        };
        let required = |name: &'static str| -> Result<String> {
            field(name)?.ok_or_else(|| Error::invalid_argument(name, "is missing"))
        };
        Ok(WorkflowEvent {
            event_type: required("event_type")?.parse()?,
            key: field("payload_id")?
                .map(|id| StateKey::parse(&id))
                .transpose()?,
            isotimestamp: required("isotimestamp")?.parse()?,
            input_payload_url: field("input_payload_url")?,
            output_payload_url: field("output_payload_url")?,
            execution: field("execution")?,
            error: field("error")?,
        })
    }

    /// The event as a message: [`body`](Self::body) and [`attributes`](Self::attributes).
    pub fn to_message(&self) -> Message {
        Message {
            body: self.body(),
            attributes: self.attributes(),
            origin: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> StateKey {
        StateKey::parse("sentinel-2-l2a/workflow-cog-archive/S2B_1").unwrap()
    }

    #[test]
    fn event_types_serialize_exactly_as_named() {
        for event_type in WorkflowEventType::ALL {
            let text = serde_json::to_string(&event_type).unwrap();
            assert_eq!(text, format!("\"{}\"", event_type.as_str()));
            let back: WorkflowEventType = serde_json::from_str(&text).unwrap();
            assert_eq!(back, event_type);
            assert_eq!(
                event_type.as_str().parse::<WorkflowEventType>().unwrap(),
                event_type
            );
        }
        let names: Vec<&str> = WorkflowEventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "CLAIMED_PROCESSING",
                "STARTED_PROCESSING",
                "ALREADY_INVALID",
                "ALREADY_PROCESSING",
                "ALREADY_CLAIMED",
                "ALREADY_SUCCEEDED",
                "DUPLICATE_ID_ENCOUNTERED",
                "FAILED",
                "TIMED_OUT",
                "SUCCEEDED",
                "INVALID",
                "ABORTED",
                "RECORD_EXTRACT_FAILED",
                "NOT_A_PROCESS_PAYLOAD",
            ]
        );
        let err = "NOPE".parse::<WorkflowEventType>().unwrap_err();
        assert!(err.to_string().contains("event_type"), "{err}");
    }

    #[test]
    fn only_non_empty_fields_are_in_the_body() {
        let at: Timestamp = "2025-01-01T00:00:00.5Z".parse().unwrap();
        let event = WorkflowEvent::new(WorkflowEventType::Succeeded, &key(), at)
            .with_execution("exec-1")
            .with_input_url("file:///p/executions/x/exec-1/input.json")
            .with_output_url("")
            .with_error("");
        assert_eq!(
            event.body(),
            json!({
                "event_type": "SUCCEEDED",
                "payload_id": "sentinel-2-l2a/workflow-cog-archive/S2B_1",
                "isotimestamp": "2025-01-01T00:00:00.500000+00:00",
                "input_payload_url": "file:///p/executions/x/exec-1/input.json",
                "execution": "exec-1"
            })
        );
        let attributes = event.attributes();
        assert_eq!(
            attributes.keys().collect::<Vec<_>>(),
            ["collections", "event_type", "workflow"]
        );
        assert_eq!(attributes["collections"].value, "sentinel-2-l2a");
        assert_eq!(attributes["event_type"].value, "SUCCEEDED");
    }

    #[test]
    fn events_read_back_from_their_body() {
        let at: Timestamp = "2025-01-01T00:00:00.123456Z".parse().unwrap();
        let events = [
            WorkflowEvent::new(WorkflowEventType::Failed, &key(), at)
                .with_execution("exec-1")
                .with_error("TaskFailed: boom")
                .with_input_url("file:///in.json"),
            WorkflowEvent::unidentified(WorkflowEventType::NotAProcessPayload, at)
                .with_error("not a process payload"),
        ];
        for event in events {
            assert_eq!(WorkflowEvent::from_body(&event.body()).unwrap(), event);
        }
        let err = WorkflowEvent::from_body(&json!({"event_type": "FAILED"})).unwrap_err();
        assert!(err.to_string().contains("isotimestamp"), "{err}");
        let body = json!({"event_type": "FAILED", "isotimestamp": "2025-01-01T00:00:00+00:00", "error": 3});
        let err = WorkflowEvent::from_body(&body).unwrap_err();
        assert!(err.to_string().contains("error: must be a string"), "{err}");
    }

    #[test]
    fn an_unidentified_event_has_no_payload_attributes() {
        let event = WorkflowEvent::unidentified(
            WorkflowEventType::RecordExtractFailed,
            Timestamp::from_micros(0),
        )
        .with_error("message is not JSON");
        let message = event.to_message();
        assert_eq!(
            message.body,
            json!({
                "event_type": "RECORD_EXTRACT_FAILED",
                "isotimestamp": "1970-01-01T00:00:00+00:00",
                "error": "message is not JSON"
            })
        );
        assert_eq!(
            message.attributes.keys().collect::<Vec<_>>(),
            ["error", "event_type"]
        );
    }
}
