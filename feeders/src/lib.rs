//! Cirrus feeders: turn a source of STAC items into process payloads on the process queue.
//!
//! - [`feeder`]: the [`Feeder`] trait. A feeder yields a **stream** of [`Record`]s (items or
//!   whole payloads), each with a [`Cursor`] to resume after it.
//! - [`config`]: the config file every feeder reads (`process` template, `batch_size`,
//!   `max_rate`, and the feeder's `source` section, unknown fields refused) and the
//!   [`ProcessTemplate`] that makes payloads from items.
//! - [`sink`]: where payloads go: the process queue ([`QueueSink`], any
//!   [`cirrus_core::queue::Queue`]) or NDJSON on stdout ([`NdjsonSink`]).
//! - [`checkpoint`]: the checkpoint file, written atomically after each acknowledged send.
//! - [`runner`]: [`feed`], the loop joining them, with the rate limit and live [`Counters`].
//! - The built-in feeders: [`stac_api`] (item search with paging, retries and the result-cap
//!   split), [`catalog`] (a static catalog, local or in an object store), [`listing`] (files
//!   matching a glob, each made an item) and [`rerun`] (payloads from the state DB,
//!   re-enqueued with `replace`).
//! - `testing` (feature `testing`): a real STAC API on 127.0.0.1 with generated items and
//!   fault injection, for tests and benchmarks.

pub mod catalog;
pub mod checkpoint;
pub mod config;
mod error;
pub mod feeder;
pub mod listing;
pub mod rerun;
pub mod runner;
pub mod sink;
pub mod stac_api;
#[cfg(feature = "testing")]
pub mod testing;

pub use checkpoint::Checkpoint;
pub use config::{FeedConfig, ProcessTemplate};
pub use error::{Error, Result};
pub use feeder::{Cursor, Feeder, Found, Record, Records, from_stream};
pub use runner::{Counters, FeedOptions, Summary, feed};
pub use sink::{NdjsonSink, QueueSink, Sink};

/// The Rust examples of `docs/feeders.md`, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/feeders.md")]
struct FeedersGuide;
