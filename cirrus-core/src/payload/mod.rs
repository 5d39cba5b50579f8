//! Cirrus process payloads.
//!
//! A process payload is a FeatureCollection-like JSON object: STAC items in `features`, and a
//! `process` array whose first definition names the workflow to run. See
//! `docs/payload.md` for the reference.
//!
//! - [`model`]: the typed payload ([`ProcessPayload`], [`ProcessDefinition`],
//!   [`UploadOptions`], …). Parsing validates everything at once.
//! - [`problem`]: a validation [`Problem`], with its JSON path.
//! - [`id`]: payload IDs.
//! - [`chain`]: next payloads of a workflow chain.
//! - [`jsonpath`]: the jsonpath-ng filter dialect used by `chain_filter` and
//!   `collection_matchers`.
//! - [`path_template`], [`collections`]: upload paths and output collections.
//! - [`size`]: when a payload must travel as a URL.
//! - [`template`]: `$var` templating of payload files.
//! - [`schema`]: the JSON Schema.

pub mod chain;
pub mod collections;
mod definition;
mod extract;
pub mod fast_id;
mod feature;
pub mod id;
pub mod jsonpath;
pub mod model;
pub mod path_template;
pub mod problem;
pub mod schema;
pub mod size;
pub mod template;
mod upload;

pub use definition::{
    CollectionMatcher, CollectionOptions, MatcherType, ProcessDefinition, ProcessStep,
};
pub use feature::Feature;
pub use model::{Parsed, PayloadInput, PayloadRef, ProcessPayload};
pub use problem::Problem;
pub use upload::{AllAssets, PublicAssets, UploadOptions};

pub(crate) use extract::kind as value_kind;
pub(crate) use problem::problems_summary;
