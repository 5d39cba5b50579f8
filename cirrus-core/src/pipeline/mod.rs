//! The local pipeline: `process` and `update-state` around the workflow engine, draining the
//! process queue (DESIGN §1, the embedded default).
//!
//! A [`Pipeline`] joins the parts the other modules provide:
//!
//! - the **process queue** ([`crate::queue`]) it receives batches from;
//! - the **state DB** ([`crate::state`]) it claims payloads in and records outcomes to, and
//!   the [`Leases`] that tell a live worker from a dead one;
//! - the **payload bucket** ([`crate::store::PayloadBucket`]) for archived inputs and
//!   outputs, oversized payloads and rejected messages;
//! - the **workflow engine** ([`crate::workflow::Engine`]) and the [`Workflows`] it runs;
//! - the **item publisher** ([`crate::store::ItemPublisher`]), the **publish log** and any
//!   other item sinks (a STAC API), and the **event sinks** (the state DB's event log, an
//!   NDJSON file).
//!
//! Each batch of messages goes through `process` (extract every record, reject what is not a
//! payload, drop duplicates, claim with cirrus-geo's skip and rerun rules, archive the input),
//! then the executions run concurrently, then `update-state` records each outcome, publishes
//! the output items, emits the workflow events and enqueues the chain successors. A message is
//! deleted only once every payload it carries has reached a terminal state or was skipped.
//!
//! **Crash safety.** While a batch runs, its worker keeps the messages hidden and its leases
//! alive. If the worker dies, both lapse: the messages come back, and the next worker that
//! receives one finds the payload CLAIMED or PROCESSING with an expired lease, takes the lease
//! and runs the recorded execution again under the same name. Items the dead worker already
//! appended to the publish log are not published again (they carry their execution as
//! [`Origin`](crate::process::Origin)).
//!
//! ```
//! use cirrus_core::pipeline::{Pipeline, RunOptions, Shutdown, Workflows};
//! use cirrus_core::queue::{Queue, sqlite::SqliteQueue};
//! use cirrus_core::state::{StateKey, StateStore, State, sqlite::SqliteStateStore};
//! use cirrus_core::store::PayloadBucket;
//! use cirrus_core::workflow::{Engine, StateMachine, local::LocalResolver};
//! use std::sync::Arc;
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let state = Arc::new(SqliteStateStore::create(dir.path().join("state.db")).await?);
//! let queue = Arc::new(SqliteQueue::create(dir.path().join("queue.db")).await?);
//! let bucket = PayloadBucket::open(dir.path().join("payloads").to_str().unwrap())?;
//! let mut workflows = Workflows::new();
//! workflows.insert("pass", StateMachine::from_json(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#)?);
//! let engine = Engine::new(Arc::new(LocalResolver::builder().build()?));
//!
//! let pipeline = Pipeline::builder(state.clone(), state.clone(), queue.clone(), bucket, engine)
//!     .workflows(workflows)
//!     .build();
//! queue.send(r#"{"features": [{"id": "a"}], "process": [{"workflow": "pass"}]}"#).await?;
//! pipeline.run(&RunOptions::default(), &Shutdown::new()).await?;
//!
//! let record = state.get(&StateKey::parse("none/workflow-pass/a")?).await?.unwrap();
//! assert_eq!(record.state, State::Succeeded);
//! # Ok::<(), cirrus_core::Error>(())
//! # }).unwrap();
//! ```

mod batch;
mod finish;
mod name;
mod publish_log;
mod shutdown;
mod stats;
mod submit;
mod worker;
mod workflows;

pub use batch::{Decision, Unresolved, decide, resolve};
pub use finish::{Ending, OutputFailure, PreparedOutput, prepare_output};
pub use name::execution_name;
pub use publish_log::items_published_by;
pub use shutdown::Shutdown;
pub use stats::{Stats, StatsSnapshot};
pub use submit::{Submitted, Submitter};
pub use worker::{BATCHES_PER_WORKER, RunOptions};
pub use workflows::Workflows;

use crate::Result;
use crate::process::{Message, MessageSink, NdjsonSink, WorkflowEvent};
use crate::queue::Queue;
use crate::state::{Leases, StateStore};
use crate::store::{ItemPublisher, PayloadBucket};
use crate::workflow::Engine;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The default time a received message stays hidden, and a worker's lease lasts, between two
/// renewals. A batch's worker renews both every third of it while the batch runs, so this
/// only bounds how long a dead worker's payloads wait before another worker takes them over.
pub const DEFAULT_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(60);

/// The most messages one worker receives and processes as a batch (cirrus-geo's SQS batch
/// size for `process`).
pub const DEFAULT_BATCH_SIZE: usize = 10;

/// `process` and `update-state` on one machine. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<dyn StateStore>,
    leases: Arc<dyn Leases>,
    queue: Arc<dyn Queue>,
    bucket: PayloadBucket,
    /// `bucket` with deferred syncs: where `process` archives inputs and `update-state`
    /// outputs, flushed to disk once a batch, before its states are recorded.
    archive: PayloadBucket,
    publisher: ItemPublisher,
    workflows: Workflows,
    engine: Engine,
    events: Vec<Arc<dyn MessageSink>>,
    publish_log: Option<(PathBuf, Arc<NdjsonSink>)>,
    item_sinks: Vec<Arc<dyn MessageSink>>,
    owner: String,
    stats: Arc<Stats>,
    /// The payloads this pipeline is running now. Its workers share one lease owner, so a
    /// lease alone cannot tell them apart: a duplicate message received by a second worker
    /// must not "take over" a payload the first one is running.
    running: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("bucket", &self.inner.bucket.url())
            .field("workflows", &self.inner.workflows)
            .field("owner", &self.inner.owner)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline on these backends. `leases` is usually the state DB itself.
    pub fn builder(
        state: Arc<dyn StateStore>,
        leases: Arc<dyn Leases>,
        queue: Arc<dyn Queue>,
        bucket: PayloadBucket,
        engine: Engine,
    ) -> PipelineBuilder {
        let publisher = ItemPublisher::new(bucket.store().clone());
        PipelineBuilder {
            inner: Inner {
                state,
                leases,
                queue,
                archive: bucket.with_deferred_sync(),
                bucket,
                publisher,
                workflows: Workflows::new(),
                engine,
                events: Vec::new(),
                publish_log: None,
                item_sinks: Vec::new(),
                owner: format!("worker-{}", uuid::Uuid::new_v4()),
                stats: Arc::new(Stats::default()),
                running: Default::default(),
            },
        }
    }

    /// Counters of what this pipeline did so far.
    pub fn stats(&self) -> Arc<Stats> {
        self.inner.stats.clone()
    }

    /// The name this pipeline holds leases under.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// The payload bucket.
    pub fn bucket(&self) -> &PayloadBucket {
        &self.inner.bucket
    }

    /// The state DB.
    pub fn state(&self) -> &Arc<dyn StateStore> {
        &self.inner.state
    }

    /// Marks a payload as running here; `false` when it already was.
    fn start_running(&self, payload_id: &str) -> bool {
        self.running_set().insert(payload_id.to_string())
    }

    /// Unmarks payloads that stopped running here.
    fn stop_running<'a>(&self, payload_ids: impl IntoIterator<Item = &'a str>) {
        let mut running = self.running_set();
        for payload_id in payload_ids {
            running.remove(payload_id);
        }
    }

    fn running_set(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.inner
            .running
            .lock()
            .expect("the running set is never left poisoned")
    }

    /// Sends events to every event sink, flushing each.
    async fn emit(&self, events: &[WorkflowEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        for event in events {
            tracing::debug!(
                event_type = %event.event_type,
                payload_id = event.key.as_ref().map(|k| k.as_str()),
                execution = event.execution.as_deref(),
                error = event.error.as_deref(),
                "workflow event"
            );
        }
        let messages: Vec<Message> = events.iter().map(WorkflowEvent::to_message).collect();
        for sink in &self.inner.events {
            sink.publish(&messages).await?;
            sink.flush().await?;
        }
        Ok(())
    }
}

/// Builds a [`Pipeline`].
pub struct PipelineBuilder {
    inner: Inner,
}

impl PipelineBuilder {
    /// The workflows payloads may name.
    pub fn workflows(mut self, workflows: Workflows) -> PipelineBuilder {
        self.inner.workflows = workflows;
        self
    }

    /// Where output items are written; by default, relative `path_template`s are resolved
    /// against the payload bucket's store.
    pub fn publisher(mut self, publisher: ItemPublisher) -> PipelineBuilder {
        self.inner.publisher = publisher;
        self
    }

    /// Adds a sink for workflow events.
    pub fn event_sink(mut self, sink: Arc<dyn MessageSink>) -> PipelineBuilder {
        self.inner.events.push(sink);
        self
    }

    /// The publish log: every published item, one NDJSON line each, with its attributes and
    /// origin. `path` must be the file `sink` appends to.
    pub fn publish_log(mut self, path: PathBuf, sink: Arc<NdjsonSink>) -> PipelineBuilder {
        self.inner.publish_log = Some((path, sink));
        self
    }

    /// Adds another sink for published items (a STAC API).
    pub fn item_sink(mut self, sink: Arc<dyn MessageSink>) -> PipelineBuilder {
        self.inner.item_sinks.push(sink);
        self
    }

    /// The name leases are held under; a random `worker-<uuid>` by default. Two live
    /// pipelines must not share one.
    pub fn owner(mut self, owner: impl Into<String>) -> PipelineBuilder {
        self.inner.owner = owner.into();
        self
    }

    /// Counters to update (to share them with a progress display built beforehand).
    pub fn stats(mut self, stats: Arc<Stats>) -> PipelineBuilder {
        self.inner.stats = stats;
        self
    }

    /// The pipeline. Its item publisher defers its syncs as the archive does: a batch's
    /// items are flushed to disk with its outputs, before its states are recorded.
    pub fn build(mut self) -> Pipeline {
        self.inner.publisher = self.inner.publisher.with_deferred_sync();
        Pipeline {
            inner: Arc::new(self.inner),
        }
    }
}

#[cfg(test)]
mod tests;
