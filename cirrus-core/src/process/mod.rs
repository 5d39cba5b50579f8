//! The building blocks of `process` and `update-state` that talk to the outside: queue
//! messages in, workflow events and published items out.
//!
//! - [`message`]: one raw queue message body → the payload(s) it carries ([`extract`]), in
//!   every shape cirrus-geo accepts (raw, `{"url"}`, SQS, SNS, SNS inside SQS, Lambda SNS,
//!   Batch output), or why not ([`Rejected`]).
//! - [`event`]: [`WorkflowEvent`]s, the audit stream, with cirrus-geo's body and
//!   attributes.
//! - [`attributes`]: message [`Attribute`]s, and those of a published STAC item
//!   ([`item_attributes`]).
//! - [`sink`]: [`MessageSink`], where events and items go: an NDJSON file
//!   ([`NdjsonSink`]) or memory ([`MemorySink`]).
//! - [`stac_api`]: [`StacApiSink`], items published to a STAC API's Transactions endpoint
//!   (feature `stac-api`, on by default).
//! - `sns`: `SnsSink`, messages published to an SNS topic (feature `aws`).
//!
//! ```
//! use cirrus_core::process::{Envelope, extract};
//!
//! let body = r#"{"Type": "Notification", "Message": "{\"url\": \"s3://bucket/p.json\"}"}"#;
//! let sqs = serde_json::json!({"Records": [{"body": body, "eventSource": "aws:sqs"}]});
//! let records = extract(&sqs.to_string());
//! assert_eq!(records.len(), 1);
//! assert_eq!(records[0].envelope, Envelope::SnsInSqs);
//! assert!(records[0].outcome.is_ok());
//! assert!(extract("not json")[0].outcome.is_err());
//! ```

pub mod attributes;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod event;
pub mod message;
pub mod sink;
#[cfg(feature = "aws")]
pub mod sns;
#[cfg(feature = "stac-api")]
pub mod stac_api;

pub use attributes::{Attribute, Attributes, DataType, item_attributes};
pub use event::{WorkflowEvent, WorkflowEventType};
pub use message::{Envelope, Record, Rejected, Rejection, extract, extract_bytes};
pub use sink::{MemorySink, Message, MessageSink, NdjsonSink, Origin};
#[cfg(feature = "aws")]
pub use sns::SnsSink;
#[cfg(feature = "stac-api")]
pub use stac_api::StacApiSink;
