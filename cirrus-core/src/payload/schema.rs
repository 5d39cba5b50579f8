//! The JSON Schema of a process payload, generated from the Rust types.
//!
//! ```
//! let schema = cirrus_core::payload::schema::payload_schema();
//! assert_eq!(schema["title"], "Cirrus process payload");
//! assert!(schema["required"].as_array().unwrap().contains(&"process".into()));
//! ```

use super::ProcessPayload;
use serde_json::Value;

/// The JSON Schema (draft 2020-12) of [`ProcessPayload`], in its canonical form (`process`
/// as an array). The legacy single-object `process` is accepted by the parser but not by this
/// schema.
pub fn payload_schema() -> Value {
    schemars::schema_for!(ProcessPayload).to_value()
}
