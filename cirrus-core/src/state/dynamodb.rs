//! The DynamoDB state store (feature `aws`): cirrus-geo's own table, read and written so that
//! cirrus-geo and Cirrus can share it.
//!
//! **The state table** is exactly cirrus-geo's (`${prefix}-state`):
//!
//! - keys `collections_workflow` (HASH, `{collections}_{workflow}`) and `itemids` (RANGE);
//! - GSIs `state_updated` and `updated` (HASH `collections_workflow`, projection ALL);
//! - attributes `created`, `updated` (Python `isoformat()` strings), `state_updated`
//!   (`{STATE}_{isoformat}`), `executions` (list), `last_error`, `outputs` (list) and
//!   `claimed_at`. Records written by any cirrus-geo version read back (`COMPLETED` is
//!   SUCCEEDED; missing attributes are allowed).
//!
//! **Transitions** are optimistic: the store reads the record (consistent read), checks
//! [`Transition::allowed`](super::Transition::allowed), and writes with a condition that the
//! record is unchanged since (`attribute_not_exists` for a new record, else the same
//! `updated` and `state_updated`). When the condition fails, DynamoDB returns the record
//! that beat us (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) and the rules are checked
//! again on it, so of racing claimers exactly one wins and the others are refused with the
//! winner's record. A claim appends to `executions`, sets `claimed_at` and removes
//! `last_error` and `outputs`, as cirrus-geo's `claim_processing` does; the write is a
//! conditional `PutItem` of the item as read with the change made (see `write_transition`).
//!
//! **The timeline** lives in a second table (by convention `{table}-timeline`): HASH
//! `payload_id`, RANGE `seq`, one item per applied transition. The record write comes first
//! and is the single point of truth; the timeline item follows it (batched with
//! `BatchWriteItem`). Writing both in one `TransactWriteItems` would be atomic, but moto, which
//! the tests run against, deep-copies every table a transaction touches on each call, so each
//! transition would cost time in proportion to the whole table. If a process dies between
//! the two writes, the transition is still applied (the record has it) and
//! [`timeline`](super::StateStore::timeline) adds the record's current state as the last
//! event when its item is missing; only an intermediate event can be lost that way. See
//! `docs/state-dynamodb.md` for the `seq` layout and the cost of each query.
//!
//! ```
//! use cirrus_core::state::{dynamodb::DynamoStateStore, StateKey, StateStore, Query, State};
//! use cirrus_core::testing::MotoServer;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let client = MotoServer::shared().dynamodb_client().await;
//! let store = DynamoStateStore::new(client, "doc-state", "doc-state-timeline");
//! store.create_tables().await?;
//!
//! let key = StateKey::parse("sentinel-2-l2a/workflow-cog-archive/S2B_1")?;
//! assert!(store.claim(&key, "exec-1", false).await?.is_applied());
//! assert!(!store.claim(&key, "exec-2", false).await?.is_applied()); // already claimed
//! store.set_processing(&key, "exec-1").await?;
//! store.set_failed(&key, "exec-1", "TaskFailed: boom").await?;
//!
//! let query = Query { state: Some(State::Failed), ..Query::default() };
//! let failed = store.query_page(&query, None, 100).await?;
//! assert_eq!(failed.records[0].last_error.as_deref(), Some("TaskFailed: boom"));
//! assert_eq!(store.timeline(&key).await?.len(), 3);
//! # Ok::<(), cirrus_core::Error>(())
//! # }).unwrap();
//! ```

mod item;
mod merge;
mod tables;

use super::StateStore;
use super::model::{
    Change, Outcome, State, StateKey, StateRecord, TimelineEvent, Timestamp, Transition,
};
use super::query::{Counts, CountsQuery, Page, PageToken, Query};
use crate::{Error, Result};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, PutRequest, ReturnValue,
    ReturnValuesOnConditionCheckFailure, WriteRequest,
};
use futures_util::{StreamExt, TryStreamExt, stream};
use indexmap::IndexMap;
use item::{Item, Reader, Stored, s};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

const BACKEND: &str = "dynamodb";

/// Requests in flight at once for one call (transitions of distinct payloads, reads).
const CONCURRENCY: usize = 16;

/// Attempts at one transition while other writers keep changing the record.
const MAX_ATTEMPTS: usize = 50;

/// Attempts at a batch request whose items DynamoDB keeps returning unprocessed.
const MAX_BATCH_ATTEMPTS: u32 = 10;

/// Attribute names of the timeline table.
const TL_PAYLOAD_ID: &str = "payload_id";
const TL_SEQ: &str = "seq";
const TL_STATE: &str = "state";
const TL_AT: &str = "at";
const TL_EXECUTION: &str = "execution";
const TL_ERROR: &str = "error";

/// The DynamoDB [`StateStore`]: cirrus-geo's state table plus a timeline table.
///
/// Cheap to clone (the SDK client is shared).
#[derive(Debug, Clone)]
pub struct DynamoStateStore {
    client: Client,
    table: String,
    timeline_table: String,
    read_ahead: Arc<Mutex<merge::ReadAhead>>,
}

impl DynamoStateStore {
    /// A store on `table` (cirrus-geo's state table) and `timeline_table`, through `client`.
    pub fn new(
        client: Client,
        table: impl Into<String>,
        timeline_table: impl Into<String>,
    ) -> DynamoStateStore {
        DynamoStateStore {
            client,
            table: table.into(),
            timeline_table: timeline_table.into(),
            read_ahead: Arc::default(),
        }
    }

    /// A store on `table` with the SDK's default configuration: region, credentials and
    /// endpoint from the environment (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, …).
    /// The timeline table defaults to [`default_timeline_table`](Self::default_timeline_table).
    ///
    /// Nothing is sent yet; a missing table shows on the first call.
    pub async fn connect(
        table: impl Into<String>,
        timeline_table: Option<String>,
    ) -> Result<DynamoStateStore> {
        let table = table.into();
        let timeline_table =
            timeline_table.unwrap_or_else(|| DynamoStateStore::default_timeline_table(&table));
        for name in [&table, &timeline_table] {
            tables::check_name(name)?;
        }
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        if config.region().is_none() {
            return Err(Error::StateDb {
                backend: BACKEND,
                message: format!(
                    "no AWS region for table {table}: set AWS_REGION (or a profile with a region)"
                ),
                source: None,
            });
        }
        Ok(DynamoStateStore::new(
            Client::new(&config),
            table,
            timeline_table,
        ))
    }

    /// The timeline table's conventional name: `{table}-timeline`.
    pub fn default_timeline_table(table: &str) -> String {
        format!("{table}-timeline")
    }

    /// The state table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The timeline table.
    pub fn timeline_table(&self) -> &str {
        &self.timeline_table
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates both tables with their exact schemas (the state table as cirrus-geo's
    /// `statedb-schema.json`, pay per request), and waits until they are active. A table that
    /// already exists is kept if its keys and indexes are right, else it is an error.
    pub async fn create_tables(&self) -> Result<()> {
        tables::create(&self.client, &self.table, &self.timeline_table).await
    }

    /// What query pages read ahead, for the pages that continue them.
    fn read_ahead(&self) -> MutexGuard<'_, merge::ReadAhead> {
        self.read_ahead.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reader(&self) -> Reader<'_> {
        Reader { table: &self.table }
    }

    /// The stored items of `keys`, in order (consistent reads, `BatchGetItem`).
    async fn read(&self, keys: &[StateKey]) -> Result<Vec<Stored>> {
        let mut unique: IndexMap<(String, String), Option<Item>> = IndexMap::new();
        for key in keys {
            unique.insert(
                (key.collections_workflow(), key.item_ids().to_string()),
                None,
            );
        }
        let wanted: Vec<(String, String)> = unique.keys().cloned().collect();
        // Futures collected first: a stream combinator holding a closure over borrowed
        // chunks trips the `Send` check of the boxed trait futures.
        let reads: Vec<_> = wanted.chunks(100).map(|c| self.batch_get(c)).collect();
        let found: Vec<Vec<Item>> = stream::iter(reads)
            .buffer_unordered(CONCURRENCY / 4)
            .try_collect()
            .await?;
        for item in found.into_iter().flatten() {
            if let (Some(cw), Some(ids)) = (
                item::string(&item, item::PARTITION),
                item::string(&item, item::ITEM_IDS),
            ) && let Some(slot) = unique.get_mut(&(cw.to_string(), ids.to_string()))
            {
                *slot = Some(item);
            }
        }
        keys.iter()
            .map(|key| {
                let item = unique
                    .get(&(key.collections_workflow(), key.item_ids().to_string()))
                    .cloned()
                    .flatten();
                self.reader().stored(item)
            })
            .collect()
    }

    /// One `BatchGetItem` of at most 100 distinct keys, retrying unprocessed keys.
    async fn batch_get(&self, keys: &[(String, String)]) -> Result<Vec<Item>> {
        let mut pending: Vec<Item> = keys
            .iter()
            .map(|(cw, ids)| {
                HashMap::from([
                    (item::PARTITION.to_string(), s(cw)),
                    (item::ITEM_IDS.to_string(), s(ids)),
                ])
            })
            .collect();
        let mut items = Vec::with_capacity(pending.len());
        for attempt in 0..MAX_BATCH_ATTEMPTS {
            if pending.is_empty() {
                return Ok(items);
            }
            backoff(attempt).await;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| Error::state_db(BACKEND, "cannot build a BatchGetItem", e))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| sdk_error(&self.table, "BatchGetItem", e))?;
            if let Some(mut responses) = out.responses {
                items.extend(responses.remove(&self.table).unwrap_or_default());
            }
            if let Some(mut unprocessed) = out.unprocessed_keys {
                pending = unprocessed
                    .remove(&self.table)
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
        }
        if pending.is_empty() {
            Ok(items)
        } else {
            Err(gave_up(&self.table, "BatchGetItem"))
        }
    }

    /// One transition, from what we believe the record is (`current`), until it is applied,
    /// refused, or the record changes too often.
    async fn apply_one(&self, change: &Change, mut current: Stored) -> Result<Applied> {
        for _ in 0..MAX_ATTEMPTS {
            if !change.transition.allowed(current.record.as_ref()) {
                return Ok(Applied {
                    outcome: Outcome::Refused(current.record.clone()),
                    stored: current,
                    event: None,
                });
            }
            match self.write_transition(change, &current).await? {
                Ok(new) => {
                    let stored = self.reader().stored(Some(new))?;
                    let record = stored.record.clone().ok_or_else(|| Error::StateDb {
                        backend: BACKEND,
                        message: format!(
                            "table {}: {}: the written item has no state",
                            self.table, change.key
                        ),
                        source: None,
                    })?;
                    let event = timeline_item(&record, stored.raw(item::CREATED), change);
                    return Ok(Applied {
                        outcome: Outcome::Applied(record),
                        stored,
                        event: Some(event),
                    });
                }
                Err(now) => current = self.reader().stored(now)?,
            }
        }
        Err(Error::StateDb {
            backend: BACKEND,
            message: format!(
                "table {}: {}: the record kept changing under {MAX_ATTEMPTS} attempts at {:?}",
                self.table,
                change.key,
                change.transition.target()
            ),
            source: None,
        })
    }

    /// The conditional write of a transition: the item as read (`current`) with the change
    /// made, put back on condition that the record is unchanged since it was read.
    /// `Ok(item)` is the item as written; `Err(item)` is the item that failed the condition
    /// (`None`: there is none).
    ///
    /// Under that condition a `PutItem` of the whole item has the effect of cirrus-geo's
    /// `UpdateItem`s (attributes Cirrus does not know are kept), at a third of the cost of an
    /// `UpdateItem` on moto, whose update-expression evaluator is slow.
    async fn write_transition(
        &self,
        change: &Change,
        current: &Stored,
    ) -> Result<Result<Item, Option<Item>>> {
        let item = changed_item(change, current);
        let mut condition = Expression::default();
        let test = match &current.item {
            None => {
                let pk = condition.name("#pk", item::PARTITION);
                format!("attribute_not_exists({pk})")
            }
            Some(_) => {
                let mut parts = Vec::new();
                for (placeholder, attribute) in [("u", item::UPDATED), ("su", item::STATE_UPDATED)]
                {
                    let name = condition.name(&format!("#{placeholder}"), attribute);
                    parts.push(match current.raw(attribute) {
                        Some(old) => {
                            let value = condition.value(&format!(":{placeholder}"), s(old));
                            format!("{name} = {value}")
                        }
                        None => format!("attribute_not_exists({name})"),
                    });
                }
                parts.join(" AND ")
            }
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.clone()))
            .condition_expression(test)
            .set_expression_attribute_names(Some(condition.names))
            .set_expression_attribute_values(
                (!condition.values.is_empty()).then_some(condition.values),
            )
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(item)),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(Err(failed.item.clone()))
                }
                _ => Err(sdk_error(&self.table, "PutItem (transition)", e)),
            },
        }
    }

    /// Writes timeline items with `BatchWriteItem`, 25 at a time.
    async fn put_timeline(&self, items: Vec<Item>) -> Result<()> {
        let requests = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| Error::state_db(BACKEND, "cannot build a PutRequest", e))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_write_timeline(requests).await
    }

    async fn batch_write_timeline(&self, requests: Vec<WriteRequest>) -> Result<()> {
        let writes: Vec<_> = requests
            .chunks(25)
            .map(|chunk| self.batch_write(chunk.to_vec()))
            .collect();
        stream::iter(writes)
            .buffer_unordered(CONCURRENCY / 4)
            .try_collect::<Vec<()>>()
            .await
            .map(drop)
    }

    async fn batch_write(&self, mut pending: Vec<WriteRequest>) -> Result<()> {
        for attempt in 0..MAX_BATCH_ATTEMPTS {
            if pending.is_empty() {
                return Ok(());
            }
            backoff(attempt).await;
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.timeline_table, std::mem::take(&mut pending))
                .send()
                .await
                .map_err(|e| sdk_error(&self.timeline_table, "BatchWriteItem", e))?;
            pending = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.timeline_table))
                .unwrap_or_default();
        }
        if pending.is_empty() {
            Ok(())
        } else {
            Err(gave_up(&self.timeline_table, "BatchWriteItem"))
        }
    }

    /// The timeline items of one record generation (`created`), oldest first.
    async fn timeline_items(&self, key: &StateKey, generation: &str) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.timeline_table)
                .key_condition_expression("#p = :p AND begins_with(#s, :g)")
                .expression_attribute_names("#p", TL_PAYLOAD_ID)
                .expression_attribute_names("#s", TL_SEQ)
                .expression_attribute_values(":p", s(key.as_str()))
                .expression_attribute_values(":g", s(format!("{generation}#")))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error(&self.timeline_table, "Query (timeline)", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

/// The item after `change`, made from the item as read: what cirrus-geo's `UpdateItem`s
/// write. A claim sets `claimed_at`, appends to `executions` and removes `last_error` and
/// `outputs`; FAILED and INVALID set `last_error`; every transition sets `state_updated` and
/// `updated`, and `created` when missing.
fn changed_item(change: &Change, current: &Stored) -> Item {
    let at = change.at.to_string();
    let mut new = current
        .item
        .clone()
        .unwrap_or_else(|| item::key_of(&change.key));
    new.insert(
        item::STATE_UPDATED.to_string(),
        s(item::state_updated(change.transition.target(), change.at)),
    );
    new.insert(item::UPDATED.to_string(), s(&at));
    if current.raw(item::CREATED).is_none() {
        let created = current
            .record
            .as_ref()
            .map_or_else(|| at.clone(), |r| r.created.to_string());
        new.insert(item::CREATED.to_string(), s(created));
    }
    match &change.transition {
        Transition::Claim { execution, .. } => {
            new.insert(item::CLAIMED_AT.to_string(), s(&at));
            let mut executions = match new.remove(item::EXECUTIONS) {
                Some(AttributeValue::L(list)) => list,
                _ => Vec::new(),
            };
            executions.push(s(execution));
            new.insert(item::EXECUTIONS.to_string(), AttributeValue::L(executions));
            new.remove(item::LAST_ERROR);
            new.remove(item::OUTPUTS);
        }
        Transition::Failed { error, .. } | Transition::Invalid { error, .. } => {
            new.insert(item::LAST_ERROR.to_string(), s(error));
        }
        _ => {}
    }
    new
}

/// What [`DynamoStateStore::apply_one`] did.
struct Applied {
    outcome: Outcome,
    /// The record as it now stands (written, or the one that refused).
    stored: Stored,
    /// The timeline item to write, when applied.
    event: Option<Item>,
}

/// Placeholders of one expression: `#name`s and `:value`s.
#[derive(Default)]
struct Expression {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expression {
    fn name(&mut self, placeholder: &str, attribute: &str) -> String {
        self.names
            .insert(placeholder.to_string(), attribute.to_string());
        placeholder.to_string()
    }

    fn value(&mut self, placeholder: &str, value: AttributeValue) -> String {
        self.values.insert(placeholder.to_string(), value);
        placeholder.to_string()
    }
}

/// The position of a transition in its record's life: (executions so far, step), where a
/// claim is step 0 of a new execution, PROCESSING step 1 and an end state step 2. Each
/// applied transition is strictly after the previous one in this order, so it orders the
/// timeline even when two transitions share a time.
fn step(state: State) -> u8 {
    match state {
        State::Claimed => 0,
        State::Processing => 1,
        _ => 2,
    }
}

/// The timeline sort key of a record's current state, without the time:
/// `{created}#{executions:06}#{step}#`.
fn seq_prefix(generation: &str, record: &StateRecord) -> String {
    format!(
        "{generation}#{:06}#{}#",
        record.executions.len(),
        step(record.state)
    )
}

/// The timeline item of an applied change; `record` is the record it produced.
fn timeline_item(record: &StateRecord, generation: Option<&str>, change: &Change) -> Item {
    let event = TimelineEvent::of(change);
    let seq = format!(
        "{}{}",
        seq_prefix(generation.unwrap_or(""), record),
        event.at
    );
    let mut item = HashMap::from([
        (TL_PAYLOAD_ID.to_string(), s(change.key.as_str())),
        (TL_SEQ.to_string(), s(seq)),
        (TL_STATE.to_string(), s(event.state.as_str())),
        (TL_AT.to_string(), s(event.at.to_string())),
    ]);
    if let Some(execution) = event.execution {
        item.insert(TL_EXECUTION.to_string(), s(execution));
    }
    if let Some(error) = event.error {
        item.insert(TL_ERROR.to_string(), s(error));
    }
    item
}

fn timeline_event(table: &str, item: &Item) -> Result<TimelineEvent> {
    let reader = Reader { table };
    let bad = |what: &str| Error::StateDb {
        backend: BACKEND,
        message: format!("table {table}: timeline item {item:?}: {what}"),
        source: None,
    };
    let state = reader
        .opt_string(item, TL_STATE)?
        .and_then(State::from_stored)
        .ok_or_else(|| bad("no known state"))?;
    let at = reader
        .opt_string(item, TL_AT)?
        .and_then(|at| at.parse::<Timestamp>().ok())
        .ok_or_else(|| bad("no time"))?;
    Ok(TimelineEvent {
        state,
        at,
        execution: reader.opt_string(item, TL_EXECUTION)?.map(str::to_string),
        error: reader.opt_string(item, TL_ERROR)?.map(str::to_string),
    })
}

/// The event a record's current state stands for, when its timeline item is missing.
fn current_event(record: &StateRecord) -> TimelineEvent {
    TimelineEvent {
        state: record.state,
        at: record.state_updated,
        execution: record.current_execution().map(str::to_string),
        error: matches!(record.state, State::Failed | State::Invalid)
            .then(|| record.last_error.clone())
            .flatten(),
    }
}

/// Waits before retry `attempt` of a batch request (none before the first).
async fn backoff(attempt: u32) {
    if attempt > 0 {
        let millis = 25u64 << attempt.min(6);
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
}

fn gave_up(table: &str, operation: &str) -> Error {
    Error::StateDb {
        backend: BACKEND,
        message: format!(
            "{operation} on table {table}: items were still unprocessed after {MAX_BATCH_ATTEMPTS} attempts (throttled?)"
        ),
        source: None,
    }
}

/// An SDK error as [`Error::StateDb`], naming the table and the operation; a missing table
/// and missing or refused credentials say so plainly (`crate::aws::describe`).
fn sdk_error<E>(table: &str, operation: &str, error: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let missing = [(
        "ResourceNotFoundException",
        "the table does not exist (create it with `cirrus deploy`, or DynamoStateStore::create_tables)",
    )];
    let context = format!("{operation} on table {table}");
    let (message, source) = crate::aws::describe(&context, error, &missing);
    Error::StateDb {
        backend: BACKEND,
        message,
        source,
    }
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn get_many(&self, keys: &[StateKey]) -> Result<Vec<Option<StateRecord>>> {
        Ok(self
            .read(keys)
            .await?
            .into_iter()
            .map(|stored| stored.record)
            .collect())
    }

    /// Changes to distinct payloads run concurrently; the changes of one payload run in
    /// order, each seeing the one before. Each change is atomic on its own (there is no
    /// transaction around a batch): when an error is returned, earlier changes may have been
    /// applied.
    async fn apply(&self, changes: &[Change]) -> Result<Vec<Outcome>> {
        let mut per_key: IndexMap<&StateKey, Vec<usize>> = IndexMap::new();
        for (i, change) in changes.iter().enumerate() {
            per_key.entry(&change.key).or_default().push(i);
        }
        let waves = per_key.values().map(Vec::len).max().unwrap_or(0);
        let mut known: HashMap<StateKey, Stored> = HashMap::new();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; changes.len()];
        for wave in 0..waves {
            // The `wave`-th change of every payload: distinct payloads.
            let indices: Vec<usize> = per_key
                .values()
                .filter_map(|list| list.get(wave).copied())
                .collect();
            let unknown: Vec<StateKey> = indices
                .iter()
                .map(|&i| &changes[i].key)
                .filter(|key| !known.contains_key(*key))
                .cloned()
                .collect();
            for (key, stored) in unknown.iter().zip(self.read(&unknown).await?) {
                known.insert(key.clone(), stored);
            }
            let jobs: Vec<(usize, Stored)> = indices
                .into_iter()
                .map(|i| (i, known.remove(&changes[i].key).unwrap_or_default()))
                .collect();
            let jobs: Vec<_> = jobs
                .into_iter()
                .map(|(i, stored)| async move { (i, self.apply_one(&changes[i], stored).await) })
                .collect();
            let results: Vec<(usize, Result<Applied>)> = stream::iter(jobs)
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            let mut events = Vec::new();
            let mut failure = None;
            for (i, result) in results {
                match result {
                    Ok(applied) => {
                        events.extend(applied.event);
                        known.insert(changes[i].key.clone(), applied.stored);
                        outcomes[i] = Some(applied.outcome);
                    }
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
            // The applied transitions of this wave get their timeline items even when
            // another one failed.
            self.put_timeline(events).await?;
            if let Some(e) = failure {
                return Err(e);
            }
        }
        outcomes
            .into_iter()
            .collect::<Option<Vec<Outcome>>>()
            .ok_or_else(|| Error::StateDb {
                backend: BACKEND,
                message: "a change was left without an outcome".to_string(),
                source: None,
            })
    }

    async fn set_outputs(
        &self,
        key: &StateKey,
        outputs: &[String],
        at: Timestamp,
    ) -> Result<Option<StateRecord>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::key_of(key)))
            .update_expression("SET #out = :out, #u = :u")
            .condition_expression("attribute_exists(#su)")
            .expression_attribute_names("#out", item::OUTPUTS)
            .expression_attribute_names("#u", item::UPDATED)
            .expression_attribute_names("#su", item::STATE_UPDATED)
            .expression_attribute_values(":out", AttributeValue::L(outputs.iter().map(s).collect()))
            .expression_attribute_values(":u", s(at.to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => self.reader().record(&out.attributes.unwrap_or_default()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_error(&self.table, "UpdateItem (outputs)", e)),
        }
    }

    /// Deletes the record, then the timeline items of its generation. A record re-created
    /// meanwhile keeps its own timeline.
    async fn delete(&self, key: &StateKey) -> Result<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item::key_of(key)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk_error(&self.table, "DeleteItem", e))?;
        let Some(old) = out.attributes.filter(|a| !a.is_empty()) else {
            return Ok(false);
        };
        let generation = item::string(&old, item::CREATED).unwrap_or("");
        let requests = self
            .timeline_items(key, generation)
            .await?
            .into_iter()
            .map(|item| {
                let key: Item = item
                    .into_iter()
                    .filter(|(name, _)| name == TL_PAYLOAD_ID || name == TL_SEQ)
                    .collect();
                let delete = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map_err(|e| Error::state_db(BACKEND, "cannot build a DeleteRequest", e))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_write_timeline(requests).await?;
        Ok(true)
    }

    async fn query_page(
        &self,
        query: &Query,
        page: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        merge::query_page(self, query, page, page_size).await
    }

    async fn counts(&self, query: &CountsQuery) -> Result<Counts> {
        merge::counts(self, query).await
    }

    async fn timeline(&self, key: &StateKey) -> Result<Vec<TimelineEvent>> {
        let stored = self
            .read(std::slice::from_ref(key))
            .await?
            .pop()
            .unwrap_or_default();
        let generation = stored.raw(item::CREATED).unwrap_or_default().to_string();
        let Some(record) = stored.record else {
            return Ok(Vec::new());
        };
        let items = self.timeline_items(key, &generation).await?;
        let current = seq_prefix(&generation, &record);
        let up_to_date = items
            .last()
            .and_then(|last| item::string(last, TL_SEQ))
            .is_some_and(|seq| seq.starts_with(&current));
        let mut events = items
            .iter()
            .map(|item| timeline_event(&self.timeline_table, item))
            .collect::<Result<Vec<_>>>()?;
        if !up_to_date {
            events.push(current_event(&record));
        }
        Ok(events)
    }
}
