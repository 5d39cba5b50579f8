//! # cirrus-core
//!
//! The library at the heart of Cirrus, a workflow framework for STAC-based geospatial
//! imagery pipelines that is compatible with [cirrus-geo] process payloads.
//!
//! Its parts:
//!
//! - the **state DB** ([`state`]): where each payload is, with SQLite and DynamoDB backends;
//! - the **local workflow engine** ([`workflow`]): an Amazon States Language interpreter that
//!   runs Step Functions definitions on one machine, with the [`task::Task`] trait for the
//!   work it calls;
//! - the **process queue** ([`queue`]): SQS semantics (visibility timeouts, receive counts,
//!   dead letters) on SQLite;
//! - **queue messages, workflow events and sinks** ([`process`]): the message shapes
//!   `process` accepts, the workflow event types, published-item attributes, NDJSON sinks;
//! - the **payload bucket** ([`store`]): archived inputs and outputs, oversized payloads and
//!   published items on an object store (`file://`, or `s3://` with the `aws` feature);
//! - the **process payload** model ([`payload`]), in more detail:
//! - [`payload::ProcessPayload`] and its parts ([`payload::ProcessDefinition`],
//!   [`payload::UploadOptions`], …), parsed from JSON with every problem reported at once,
//!   each with its JSON path ([`payload::Problem`]). Unknown keys and key order survive a
//!   parse → serialize round trip.
//! - [`payload::id`]: the payload ID, computed exactly as cirrus-geo computes it, plus a fast
//!   extractor that computes IDs without building the whole payload.
//! - [`payload::chain`]: the next payloads of a workflow chain, with fan-out and
//!   `chain_filter` in the jsonpath-ng dialect ([`payload::jsonpath`]).
//! - [`payload::path_template`] and [`payload::collections`]: where output items go and
//!   which collection they belong to.
//! - [`payload::size`]: the double-escaped size check that decides when a payload must
//!   travel as a `{"url": …}` reference.
//! - [`payload::template`]: `$var` templating of payload files.
//! - [`payload::schema`]: the JSON Schema of a payload, generated from the Rust types.
//!
//! Errors are one enum, [`Error`].
//!
//! ```
//! use cirrus_core::payload::ProcessPayload;
//!
//! let payload = ProcessPayload::from_json(r#"{
//!     "type": "FeatureCollection",
//!     "features": [{"id": "S2B_17HQD_20201103_0_L2A", "collection": "sentinel-2-l2a"}],
//!     "process": [{"workflow": "cog-archive", "upload_options": {"path_template": "/${collection}/${id}"}}]
//! }"#)?;
//! assert_eq!(payload.id()?, "sentinel-2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A");
//! # Ok::<(), cirrus_core::Error>(())
//! ```
//!
//! [cirrus-geo]: https://github.com/cirrus-geo/cirrus-geo

#![warn(missing_docs)]

#[cfg(feature = "aws")]
pub mod aws;
mod error;
pub mod payload;
pub mod pipeline;
pub mod process;
pub mod queue;
pub mod state;
pub mod store;
pub mod task;
#[cfg(feature = "testing")]
pub mod testing;
pub mod workflow;

pub use error::{Error, Result};
