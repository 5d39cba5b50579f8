//! Queue message extraction: one raw message body → the payload(s) it carries.
//!
//! A message on the process queue comes in one of the shapes cirrus-geo's
//! `utils.extract_record` accepts:
//!
//! | shape | example | [`Envelope`] |
//! |---|---|---|
//! | a raw payload, or a `{"url"}` / `{"href"}` reference | `{"type": "FeatureCollection", …}` | `Raw` |
//! | SQS records | `{"Records": [{"body": "…", "eventSource": "aws:sqs"}]}` | `Sqs` |
//! | an SNS envelope | `{"Type": "Notification", "Message": "…"}` | `Sns` |
//! | SNS inside SQS | an SQS record whose body is an SNS envelope | `SnsInSqs` |
//! | a Lambda SNS event | `{"Records": [{"Sns": {"Message": "…"}}]}` | `LambdaSns` |
//!
//! Whatever the envelope, the innermost object may also be AWS Batch output,
//! `{"Parameters": {"url_out": …}}`, which becomes a `{"url": url_out}` reference.
//!
//! A `Records` array gives one [`Record`] per entry; every other shape gives one. A record
//! that cannot be unwrapped (text that is not JSON, a nested string that is not JSON, a
//! missing `body`) is rejected as [`Rejection::ExtractFailed`]; JSON that unwraps but is not
//! a valid payload or reference is rejected as [`Rejection::NotAProcessPayload`]. A rejected
//! record keeps its raw text, for the caller to archive under `tmp/invalid/`: nothing is
//! silently dropped. Extraction never fetches a reference and never panics.

use super::event::{WorkflowEvent, WorkflowEventType};
use crate::Error;
use crate::payload::{Parsed, PayloadInput, Problem, problems_summary, value_kind};
use crate::state::Timestamp;
use serde_json::{Map, Value};
use std::fmt;

/// How a record was wrapped on its way to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Envelope {
    /// No envelope: the message is the payload (or reference, or Batch output) itself.
    Raw,
    /// The `body` of an SQS record.
    Sqs,
    /// The `Message` of an SNS notification envelope.
    Sns,
    /// An SNS envelope in the `body` of an SQS record (SNS → SQS without raw delivery).
    SnsInSqs,
    /// The `Sns.Message` of a Lambda SNS event record.
    LambdaSns,
}

impl Envelope {
    /// `raw`, `sqs`, `sns`, `sns_in_sqs` or `lambda_sns`.
    pub fn as_str(self) -> &'static str {
        match self {
            Envelope::Raw => "raw",
            Envelope::Sqs => "sqs",
            Envelope::Sns => "sns",
            Envelope::SnsInSqs => "sns_in_sqs",
            Envelope::LambdaSns => "lambda_sns",
        }
    }

    /// The envelope once an SNS envelope is found inside this one.
    fn with_sns(self) -> Envelope {
        match self {
            Envelope::Raw => Envelope::Sns,
            Envelope::Sqs => Envelope::SnsInSqs,
            other => other,
        }
    }
}

impl fmt::Display for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a record was rejected; each is a workflow event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// The record could not be unwrapped: not JSON, or a nested message that is not JSON.
    ExtractFailed,
    /// The record unwrapped to JSON that is neither a valid payload nor a reference.
    NotAProcessPayload,
}

impl Rejection {
    /// `RECORD_EXTRACT_FAILED` or `NOT_A_PROCESS_PAYLOAD`.
    pub fn event_type(self) -> WorkflowEventType {
        match self {
            Rejection::ExtractFailed => WorkflowEventType::RecordExtractFailed,
            Rejection::NotAProcessPayload => WorkflowEventType::NotAProcessPayload,
        }
    }
}

/// A record that carries no usable payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// Why it was rejected.
    pub rejection: Rejection,
    /// What is wrong, naming the field at fault (`Records[2].body`, `Message`, …).
    pub reason: String,
    /// For [`Rejection::NotAProcessPayload`], every payload problem, each with its JSON path
    /// inside the unwrapped payload. Empty otherwise.
    pub problems: Vec<Problem>,
    /// The raw text of the record: the whole message, or the JSON of one `Records` entry.
    pub raw: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rejection.event_type(), self.reason)
    }
}

impl Rejected {
    /// The workflow event announcing this rejection at `at`: no payload ID, the reason as
    /// the error.
    pub fn event(&self, at: Timestamp) -> WorkflowEvent {
        WorkflowEvent::unidentified(self.rejection.event_type(), at).with_error(&self.reason)
    }
}

/// One record of a queue message: its envelope, and the payload it carries or why not.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// How the record was wrapped, as far as extraction got.
    pub envelope: Envelope,
    /// The payload or reference (with its parse warnings), or the rejection.
    pub outcome: Result<Parsed<PayloadInput>, Rejected>,
}

/// Extracts the records of one raw queue message body.
///
/// Returns at least one record: a message that is not JSON, or an empty `Records` array,
/// gives one rejected record.
pub fn extract(raw: &str) -> Vec<Record> {
    let value = match serde_json::from_str::<Value>(raw) {
        Ok(value) => value,
        Err(e) => {
            return vec![Record {
                envelope: Envelope::Raw,
                outcome: Err(extract_failed(format!("message is not JSON: {e}"), raw)),
            }];
        }
    };
    match records(&value) {
        Some(Value::Array(entries)) if entries.is_empty() => vec![Record {
            envelope: Envelope::Raw,
            outcome: Err(extract_failed("`Records` is an empty array", raw)),
        }],
        Some(Value::Array(entries)) => entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let raw = entry.to_string();
                extract_entry(entry.clone(), &format!("Records[{i}]"), &raw)
            })
            .collect(),
        Some(other) => vec![Record {
            envelope: Envelope::Raw,
            outcome: Err(extract_failed(
                format!("`Records` must be an array, got {}", value_kind(other)),
                raw,
            )),
        }],
        None => vec![unwrap(value, Envelope::Raw, "", raw)],
    }
}

/// [`extract`] for raw bytes: text that is not UTF-8 is one rejected record, whose raw text
/// has the bad bytes replaced by U+FFFD.
pub fn extract_bytes(raw: &[u8]) -> Vec<Record> {
    match std::str::from_utf8(raw) {
        Ok(text) => extract(text),
        Err(e) => vec![Record {
            envelope: Envelope::Raw,
            outcome: Err(extract_failed(
                format!("message is not UTF-8: {e}"),
                &String::from_utf8_lossy(raw),
            )),
        }],
    }
}

/// The `Records` member of an envelope of records, if `value` is one.
fn records(value: &Value) -> Option<&Value> {
    let map = value.as_object()?;
    if map.contains_key("process") {
        return None;
    }
    map.get("Records")
}

/// One entry of a `Records` array: an SQS record (`body`) or a Lambda SNS record (`Sns`).
fn extract_entry(entry: Value, path: &str, raw: &str) -> Record {
    let reject = |envelope: Envelope, reason: String| Record {
        envelope,
        outcome: Err(extract_failed(reason, raw)),
    };
    let Value::Object(mut map) = entry else {
        let reason = format!("{path} must be an object, got {}", value_kind(&entry));
        return reject(Envelope::Raw, reason);
    };
    if let Some(body) = map.remove("body") {
        return match nested_json(body, &format!("{path}.body")) {
            Ok(inner) => unwrap(inner, Envelope::Sqs, path, raw),
            Err(reason) => reject(Envelope::Sqs, reason),
        };
    }
    let sns = match map.remove("Sns") {
        Some(Value::Object(sns)) => sns,
        Some(other) => {
            let reason = format!("{path}.Sns must be an object, got {}", value_kind(&other));
            return reject(Envelope::LambdaSns, reason);
        }
        None => {
            let reason =
                format!("{path} is neither an SQS record (no `body`) nor an SNS record (no `Sns`)");
            return reject(Envelope::Raw, reason);
        }
    };
    let Some(message) = sns.get("Message").cloned() else {
        return reject(Envelope::LambdaSns, format!("{path}.Sns has no `Message`"));
    };
    match nested_json(message, &format!("{path}.Sns.Message")) {
        Ok(inner) => unwrap(inner, Envelope::LambdaSns, path, raw),
        Err(reason) => reject(Envelope::LambdaSns, reason),
    }
}

/// Unwraps an SNS envelope and Batch output around a record's content, then parses it.
fn unwrap(value: Value, envelope: Envelope, path: &str, raw: &str) -> Record {
    let (value, envelope) = match sns_message(value) {
        Ok(message) => {
            let envelope = envelope.with_sns();
            let field = if path.is_empty() {
                "Message".to_string()
            } else {
                format!("{path}: Message")
            };
            match nested_json(message, &field) {
                Ok(inner) => (inner, envelope),
                Err(reason) => {
                    return Record {
                        envelope,
                        outcome: Err(extract_failed(reason, raw)),
                    };
                }
            }
        }
        Err(value) => (value, envelope),
    };
    let outcome = parse(batch_output(value), path, raw);
    Record { envelope, outcome }
}

/// The `Message` of an SNS envelope, or the value back when it is not one.
///
/// An object is an SNS envelope when it has a `Message` member and no `process`.
fn sns_message(value: Value) -> Result<Value, Value> {
    match value {
        Value::Object(mut map) if !map.contains_key("process") && map.contains_key("Message") => {
            Ok(map.remove("Message").unwrap_or(Value::Null))
        }
        other => Err(other),
    }
}

/// Batch output, `{"Parameters": {"url_out": "…"}}`, as the reference `{"url": "…"}`;
/// anything else unchanged.
fn batch_output(value: Value) -> Value {
    let url_out = value
        .as_object()
        .filter(|map| !map.contains_key("process"))
        .and_then(|map| map.get("Parameters"))
        .and_then(|parameters| parameters.get("url_out"));
    match url_out {
        Some(url) => {
            let mut reference = Map::new();
            reference.insert("url".to_string(), url.clone());
            Value::Object(reference)
        }
        None => value,
    }
}

/// Parses unwrapped content as a payload or a reference.
fn parse(value: Value, path: &str, raw: &str) -> Result<Parsed<PayloadInput>, Rejected> {
    PayloadInput::from_value(value).map_err(|e| {
        let problems = match e {
            Error::InvalidPayload(problems) => problems,
            other => vec![Problem::new("$", other.to_string())],
        };
        Rejected {
            rejection: Rejection::NotAProcessPayload,
            reason: if path.is_empty() {
                format!("not a process payload: {}", problems_summary(&problems))
            } else {
                format!(
                    "{path}: not a process payload: {}",
                    problems_summary(&problems)
                )
            },
            problems,
            raw: raw.to_string(),
        }
    })
}

/// A JSON document held in a string member (`body`, `Message`).
fn nested_json(value: Value, field: &str) -> Result<Value, String> {
    match value {
        Value::String(text) => {
            serde_json::from_str(&text).map_err(|e| format!("{field} is not JSON: {e}"))
        }
        other => Err(format!(
            "{field} must be a string holding JSON, got {}",
            value_kind(&other)
        )),
    }
}

fn extract_failed(reason: impl Into<String>, raw: &str) -> Rejected {
    Rejected {
        rejection: Rejection::ExtractFailed,
        reason: reason.into(),
        problems: Vec::new(),
        raw: raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_warnings_survive_extraction() {
        let payload = json!({"features": [{"id": "a"}], "process": {"workflow": "w"}});
        let records = extract(&payload.to_string());
        let parsed = records[0].outcome.as_ref().unwrap();
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(parsed.warnings[0].path, "$.process");
    }

    #[test]
    fn a_payload_with_envelope_member_names_is_still_a_payload() {
        let payload = json!({
            "features": [{"id": "a"}], "process": [{"workflow": "w"}],
            "Records": [], "Message": "x", "Parameters": {"url_out": "s3://b/k"}
        });
        let records = extract(&payload.to_string());
        assert_eq!(records.len(), 1);
        match &records[0].outcome.as_ref().unwrap().value {
            PayloadInput::Payload(p) => assert_eq!(p.id().unwrap(), "none/workflow-w/a"),
            other => panic!("expected a payload, got {other:?}"),
        }
    }

    #[test]
    fn records_inside_a_message_are_not_split_again() {
        let inner = json!({"Records": [{"body": "{\"url\": \"s3://b/k\"}"}]}).to_string();
        let sns = json!({"Type": "Notification", "Message": inner}).to_string();
        let records = extract(&sns);
        assert_eq!(records.len(), 1);
        let rejected = records[0].outcome.as_ref().unwrap_err();
        assert_eq!(rejected.rejection, Rejection::NotAProcessPayload);
        assert_eq!(rejected.raw, sns);
    }

    #[test]
    fn a_rejection_reads_as_its_event_type_and_reason() {
        let rejected = extract("{").remove(0).outcome.unwrap_err();
        let text = rejected.to_string();
        assert!(
            text.starts_with("RECORD_EXTRACT_FAILED: message is not JSON"),
            "{text}"
        );
        let event = rejected.event(Timestamp::from_micros(0));
        assert_eq!(event.event_type, WorkflowEventType::RecordExtractFailed);
        assert_eq!(event.error.as_deref(), Some(rejected.reason.as_str()));
        assert!(event.key.is_none());
    }
}
