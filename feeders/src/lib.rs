//! Cirrus feeders.
//!
//! This crate will hold the `Feeder` trait that users implement and the built-in feeders
//! (STAC API search, static catalog, listing, rerun) that turn a source into process payloads.
//!
//! **Status:** empty. No feeder is implemented yet. Until then, any program that writes
//! payload NDJSON to stdout is a feeder: pipe it into `cirrus payload validate -` to check it.
