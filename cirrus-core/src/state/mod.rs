//! The state DB: where each payload is, what happened to it, and what failed.
//!
//! [`StateStore`] is the interface; [`sqlite::SqliteStateStore`] is the embedded default and
//! `dynamodb::DynamoStateStore` (feature `aws`) reads and writes cirrus-geo's DynamoDB table.
//!
//! A record is keyed by its payload ID and moves through the states of [`State`]. Every move
//! is a conditional [`Transition`] (the rules are on [`Transition::allowed`]), so two
//! claimers cannot both win and a late status event cannot move a record backwards. Every
//! applied transition is also appended to the payload's **timeline**.
//!
//! The SQLite state DB also keeps, for local mode:
//!
//! - the **workflow event log**: every [`WorkflowEvent`](crate::process::WorkflowEvent)
//!   published through [`SqliteStateStore::event_log`](sqlite::SqliteStateStore::event_log),
//!   read back with [`SqliteStateStore::events`](sqlite::SqliteStateStore::events) and an
//!   [`EventQuery`] (on AWS, workflow events go to the SNS topic instead);
//! - **payload leases** ([`Leases`]): which local worker runs a payload right now. A worker
//!   that dies keeps its leases only until they expire; another worker may then take the
//!   payload over.
//!
//! ```
//! use cirrus_core::state::{StateKey, StateStore, Query, State, sqlite::SqliteStateStore};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteStateStore::create(dir.path().join("state.db")).await?;
//! let key = StateKey::parse("sentinel-2-l2a/workflow-cog-archive/S2B_1")?;
//!
//! assert!(store.claim(&key, "exec-1", false).await?.is_applied());
//! assert!(!store.claim(&key, "exec-2", false).await?.is_applied()); // already claimed
//! store.set_processing(&key, "exec-1").await?;
//! store.set_failed(&key, "exec-1", "TaskFailed: boom").await?;
//!
//! let failed = store.query_page(&Query { state: Some(State::Failed), ..Query::default() }, None, 100).await?;
//! assert_eq!(failed.records[0].last_error.as_deref(), Some("TaskFailed: boom"));
//! assert_eq!(store.timeline(&key).await?.len(), 3);
//! # Ok::<(), cirrus_core::Error>(())
//! # }).unwrap();
//! ```

mod lease;
mod model;
mod query;
pub mod sqlite;

#[cfg(feature = "aws")]
pub mod dynamodb;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use lease::{Lease, Leases};
pub use model::{
    Change, Outcome, State, StateKey, StateRecord, TimelineEvent, Timestamp, Transition,
};
pub use query::{Counts, CountsQuery, Page, PageToken, Query, SortKey, parse_time_bound};
pub use sqlite::{EventLogSink, EventQuery, LoggedEvent};

use crate::Result;
use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};

/// The page size [`StateStore::query`] reads with.
pub const STREAM_PAGE_SIZE: usize = 1000;

/// A state DB backend.
///
/// Backends implement seven methods; the per-transition helpers (`claim`, `set_failed`, …)
/// and the streaming [`query`](StateStore::query) are provided on top of them. Every backend
/// must pass the conformance suite (`state::conformance`, feature `conformance`).
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The records of `keys`, in the same order; `None` where there is no record.
    async fn get_many(&self, keys: &[StateKey]) -> Result<Vec<Option<StateRecord>>>;

    /// Applies each change in order, atomically per change, following
    /// [`Transition::allowed`], and appends each applied one to its payload's timeline.
    /// Backends that can batch (SQLite: one transaction) do.
    async fn apply(&self, changes: &[Change]) -> Result<Vec<Outcome>>;

    /// Records the output item URLs of a payload and bumps `updated`. Returns the record, or
    /// `None` when there is none (nothing is written then).
    async fn set_outputs(
        &self,
        key: &StateKey,
        outputs: &[String],
        at: Timestamp,
    ) -> Result<Option<StateRecord>>;

    /// [`set_outputs`](Self::set_outputs) for several payloads. Backends that can batch
    /// (SQLite: one transaction) do.
    async fn set_outputs_many(
        &self,
        outputs: &[(StateKey, Vec<String>)],
        at: Timestamp,
    ) -> Result<()> {
        for (key, urls) in outputs {
            self.set_outputs(key, urls, at).await?;
        }
        Ok(())
    }

    /// Deletes a record and its timeline. Returns whether there was a record.
    async fn delete(&self, key: &StateKey) -> Result<bool>;

    /// One page of at most `page_size` records matching `query`, starting where `page` says.
    /// `query.limit` is ignored here.
    async fn query_page(
        &self,
        query: &Query,
        page: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page>;

    /// Exact record counts per workflow and state.
    async fn counts(&self, query: &CountsQuery) -> Result<Counts>;

    /// Every applied transition of a payload, oldest first. Empty when there are none.
    async fn timeline(&self, key: &StateKey) -> Result<Vec<TimelineEvent>>;

    /// The record of one payload.
    async fn get(&self, key: &StateKey) -> Result<Option<StateRecord>> {
        let mut records = self.get_many(std::slice::from_ref(key)).await?;
        Ok(records.pop().flatten())
    }

    /// Applies one transition now.
    async fn transition(&self, key: &StateKey, transition: Transition) -> Result<Outcome> {
        let mut outcomes = self.apply(&[Change::now(key.clone(), transition)]).await?;
        outcomes.pop().ok_or_else(|| crate::Error::StateDb {
            backend: "state",
            message: "apply returned no outcome".to_string(),
            source: None,
        })
    }

    /// Claims a payload for `execution`. When refused, the outcome carries the record that
    /// refused it (for example CLAIMED by a crashed process, whose execution can be resumed).
    async fn claim(&self, key: &StateKey, execution: &str, replace: bool) -> Result<Outcome> {
        let execution = execution.to_string();
        self.transition(key, Transition::Claim { execution, replace })
            .await
    }

    /// CLAIMED → PROCESSING, by the claiming execution.
    async fn set_processing(&self, key: &StateKey, execution: &str) -> Result<Outcome> {
        let execution = execution.to_string();
        self.transition(key, Transition::Processing { execution })
            .await
    }

    /// → SUCCEEDED, by the owning execution.
    async fn set_succeeded(&self, key: &StateKey, execution: &str) -> Result<Outcome> {
        let execution = execution.to_string();
        self.transition(key, Transition::Succeeded { execution })
            .await
    }

    /// → FAILED with `error`, by the owning execution.
    async fn set_failed(&self, key: &StateKey, execution: &str, error: &str) -> Result<Outcome> {
        let (execution, error) = (execution.to_string(), error.to_string());
        self.transition(key, Transition::Failed { execution, error })
            .await
    }

    /// → INVALID with `error`, by the owning execution.
    async fn set_invalid(&self, key: &StateKey, execution: &str, error: &str) -> Result<Outcome> {
        let (execution, error) = (execution.to_string(), error.to_string());
        self.transition(key, Transition::Invalid { execution, error })
            .await
    }

    /// → ABORTED, by the owning execution.
    async fn set_aborted(&self, key: &StateKey, execution: &str) -> Result<Outcome> {
        let execution = execution.to_string();
        self.transition(key, Transition::Aborted { execution })
            .await
    }

    /// Every record matching `query` (at most `query.limit`), streamed page by page.
    fn query(&self, query: Query) -> BoxStream<'_, Result<StateRecord>> {
        let limit = query.limit.unwrap_or(usize::MAX);
        let pages = stream::try_unfold((Some(None::<PageToken>), limit), move |(token, left)| {
            let query = query.clone();
            async move {
                let Some(token) = token else {
                    return Ok(None);
                };
                if left == 0 {
                    return Ok(None);
                }
                let size = left.min(STREAM_PAGE_SIZE);
                let page = self.query_page(&query, token.as_ref(), size).await?;
                let left = left - page.records.len().min(left);
                let next = page.next.map(Some);
                Ok(Some((page.records, (next, left))))
            }
        });
        pages
            .map(|page: Result<Vec<StateRecord>>| match page {
                Ok(records) => stream::iter(records.into_iter().map(Ok)).left_stream(),
                Err(e) => stream::iter(std::iter::once(Err(e))).right_stream(),
            })
            .flatten()
            .boxed()
    }
}
