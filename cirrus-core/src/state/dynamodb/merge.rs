//! Queries and counts over cirrus-geo's table, whose indexes are per partition
//! (`collections_workflow`).
//!
//! A query is a k-way merge of **streams**: one GSI `Query` per partition (and, on the
//! `state_updated` index, per state prefix, since that index orders by state name first).
//! Each stream reads in chunks, from the page cursor on, in index order; the merge emits
//! records in sort-key order, ties broken by payload ID. A stream holds back the records
//! that share the sort value of the last item DynamoDB evaluated, until it knows the whole
//! tie group, so the tie-break does not depend on how DynamoDB orders equal index keys.
//!
//! The page token holds the cursor (the sort value and payload ID of the last record
//! returned) and the streams that still have records, so a page reads only live streams.
//! Without both `collections` and `workflow`, the first page finds the partitions with one
//! `Scan` of the keys.

use super::item::{self, Item, Reader, s};
use super::{BACKEND, CONCURRENCY, DynamoStateStore, Expression, sdk_error};
use crate::state::model::{State, StateRecord, Timestamp};
use crate::state::query::{Counts, CountsQuery, Page, PageToken, Query, SortKey};
use crate::{Error, Result};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The largest `Limit` of one stream read.
const MAX_CHUNK: usize = 1000;

/// The smallest `Limit` of a stream's later reads.
const MIN_CHUNK: usize = 16;

/// The cursor inside a page token.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// The merge key (sort value as stored, without a state prefix) of the last record.
    k: String,
    /// Its payload ID.
    p: String,
    /// The streams that may have more: (partition, state prefix or "").
    s: Vec<(String, String)>,
}

/// A record in merge order: (sort value as stored, payload ID).
#[derive(Debug)]
struct Entry {
    key: String,
    pid: String,
    record: StateRecord,
}

/// What every stream of one query shares.
struct Plan<'a> {
    store: &'a DynamoStateStore,
    query: &'a Query,
    /// `updated` or `state_updated`: the GSI and its sort attribute.
    index: &'static str,
    ascending: bool,
    /// The window bounds, as stored strings.
    since: Option<String>,
    until: Option<String>,
    /// The cursor (merge key, payload ID), on pages after the first.
    after: Option<(String, String)>,
    /// A FilterExpression and its placeholders.
    filter: Option<(String, Expression)>,
}

impl Plan<'_> {
    /// Compares two (key, payload ID) pairs in the query's order.
    fn order(&self, a: (&str, &str), b: (&str, &str)) -> Ordering {
        let natural = a.cmp(&b);
        if self.ascending {
            natural
        } else {
            natural.reverse()
        }
    }

    /// The merge key of an item's sort attribute: the value, without its state prefix on the
    /// `state_updated` index.
    fn merge_key(&self, item: &Item) -> Option<String> {
        let value = item::string(item, self.index)?;
        if self.index == item::STATE_UPDATED {
            item::split_state_updated(value).map(|(_, at)| at.to_string())
        } else {
            Some(value.to_string())
        }
    }

    /// The bounds of the sort attribute a stream reads, after the cursor; `None` when empty.
    fn range(&self, prefix: &str) -> Option<(Option<String>, Option<String>)> {
        let (mut low, mut high) = (self.since.clone(), self.until.clone());
        if let Some((key, _)) = &self.after {
            let bound = if self.ascending { &mut low } else { &mut high };
            *bound = Some(match bound.take() {
                None => key.clone(),
                Some(b) if self.ascending => b.max(key.clone()),
                Some(b) => b.min(key.clone()),
            });
        }
        if let (Some(l), Some(h)) = (&low, &high)
            && l > h
        {
            return None;
        }
        if prefix.is_empty() {
            return Some((low, high));
        }
        // "FAILED_" ..= "FAILED`": every value of the state ('`' follows '_').
        let top = format!("{}`", &prefix[..prefix.len() - 1]);
        Some((
            Some(format!("{prefix}{}", low.unwrap_or_default())),
            Some(high.map_or(top, |h| format!("{prefix}{h}"))),
        ))
    }
}

/// One GSI query stream.
#[derive(Debug)]
struct Stream {
    partition: String,
    prefix: String,
    /// The bounds of the sort attribute it reads, fixed when it is made; `None`: nothing.
    range: Option<(Option<String>, Option<String>)>,
    buffer: VecDeque<Entry>,
    /// Where the next read starts; `None` after the last read.
    next: Option<Item>,
    started: bool,
    /// The merge key of the last item DynamoDB evaluated: records with it are held back.
    frontier: Option<String>,
    limit: usize,
}

impl Stream {
    fn new(plan: &Plan<'_>, partition: String, prefix: String, limit: usize) -> Stream {
        Stream {
            range: plan.range(&prefix),
            partition,
            prefix,
            buffer: VecDeque::new(),
            next: None,
            started: false,
            frontier: None,
            limit,
        }
    }

    fn finished(&self) -> bool {
        self.started && self.next.is_none()
    }

    fn done(&self) -> bool {
        self.finished() && self.buffer.is_empty()
    }

    /// The next record, when it can be released.
    fn head(&self) -> Option<&Entry> {
        let head = self.buffer.front()?;
        (self.finished() || self.frontier.as_deref() != Some(head.key.as_str())).then_some(head)
    }

    /// Reads until there is a releasable head or nothing more.
    async fn fill(&mut self, plan: &Plan<'_>) -> Result<()> {
        while !self.done() && self.head().is_none() {
            self.read(plan).await?;
        }
        Ok(())
    }

    async fn read(&mut self, plan: &Plan<'_>) -> Result<()> {
        let Some((low, high)) = self.range.clone() else {
            self.started = true;
            self.next = None;
            return Ok(());
        };
        let mut names = HashMap::from([
            ("#pk".to_string(), item::PARTITION.to_string()),
            ("#sk".to_string(), plan.index.to_string()),
        ]);
        let mut values = HashMap::from([(":pk".to_string(), s(&self.partition))]);
        let mut condition = "#pk = :pk".to_string();
        match (low, high) {
            (Some(l), Some(h)) => {
                condition.push_str(" AND #sk BETWEEN :lo AND :hi");
                values.insert(":lo".into(), s(l));
                values.insert(":hi".into(), s(h));
            }
            (Some(l), None) => {
                condition.push_str(" AND #sk >= :lo");
                values.insert(":lo".into(), s(l));
            }
            (None, Some(h)) => {
                condition.push_str(" AND #sk <= :hi");
                values.insert(":hi".into(), s(h));
            }
            (None, None) => {
                names.remove("#sk");
            }
        }
        let mut request = plan
            .store
            .client
            .query()
            .table_name(&plan.store.table)
            .index_name(plan.index)
            .key_condition_expression(condition)
            .scan_index_forward(plan.ascending)
            .limit(i32::try_from(self.limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(self.next.take());
        if let Some((expression, placeholders)) = &plan.filter {
            names.extend(placeholders.names.clone());
            values.extend(placeholders.values.clone());
            request = request.filter_expression(expression);
        }
        let out = request
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| sdk_error(&plan.store.table, "Query", e))?;
        self.started = true;
        self.next = out.last_evaluated_key.filter(|k| !k.is_empty());
        self.frontier = self.next.as_ref().and_then(|k| plan.merge_key(k));
        let reader = Reader {
            table: &plan.store.table,
        };
        for item in out.items.unwrap_or_default() {
            let (Some(record), Some(key)) = (reader.record(&item)?, plan.merge_key(&item)) else {
                continue;
            };
            let passed = plan.after.as_ref().is_some_and(|(k, p)| {
                plan.order((key.as_str(), record.payload_id.as_str()), (k, p)) != Ordering::Greater
            });
            if passed || !plan.query.matches(&record) {
                continue;
            }
            self.buffer.push_back(Entry {
                key,
                pid: record.payload_id.clone(),
                record,
            });
        }
        self.buffer
            .make_contiguous()
            .sort_by(|a, b| plan.order((&a.key, &a.pid), (&b.key, &b.pid)));
        Ok(())
    }
}

/// The state prefixes of `state_updated` a query reads: one per state it wants, plus
/// cirrus-geo's pre-v2 `COMPLETED` for SUCCEEDED.
fn prefixes(state: Option<State>) -> Vec<String> {
    let states: Vec<State> = state.map_or_else(|| State::ALL.to_vec(), |s| vec![s]);
    let mut prefixes = Vec::new();
    for state in states {
        prefixes.push(format!("{}_", state.as_str()));
        if state == State::Succeeded {
            prefixes.push("COMPLETED_".to_string());
        }
    }
    prefixes
}

/// The FilterExpression for what the index range cannot select: the state on the `updated`
/// index, and the error prefix.
fn filter(query: &Query, index: &str) -> Option<(String, Expression)> {
    let mut parts = Vec::new();
    let mut placeholders = Expression::default();
    if let Some(state) = query.state
        && index == item::UPDATED
    {
        let name = placeholders.name("#fsu", item::STATE_UPDATED);
        let alternatives: Vec<String> = prefixes(Some(state))
            .into_iter()
            .enumerate()
            .map(|(i, prefix)| {
                let value = placeholders.value(&format!(":fst{i}"), s(prefix));
                format!("begins_with({name}, {value})")
            })
            .collect();
        parts.push(format!("({})", alternatives.join(" OR ")));
    }
    if let Some(prefix) = &query.error_prefix {
        let name = placeholders.name("#fle", item::LAST_ERROR);
        if prefix.is_empty() {
            parts.push(format!("attribute_exists({name})"));
        } else {
            let value = placeholders.value(":fle", s(prefix));
            parts.push(format!("begins_with({name}, {value})"));
        }
    }
    (!parts.is_empty()).then(|| (parts.join(" AND "), placeholders))
}

/// The streams of a first page: (partition, state prefix or ""). Without both
/// `collections` and `workflow`, a scan of the keys and states finds the partitions, and
/// only the states they hold get a stream.
async fn sources(
    store: &DynamoStateStore,
    query: &Query,
    index: &str,
) -> Result<Vec<(String, String)>> {
    let wanted = if index == item::STATE_UPDATED {
        prefixes(query.state)
    } else {
        vec![String::new()]
    };
    if let (Some(collections), Some(workflow)) = (&query.collections, &query.workflow) {
        let partition = format!("{collections}_{workflow}");
        return Ok(wanted.into_iter().map(|p| (partition.clone(), p)).collect());
    }
    let states = prefixes(query.state);
    let mut found: BTreeSet<(String, String)> = BTreeSet::new();
    scan(store, &[item::PARTITION, item::STATE_UPDATED], |item| {
        let (Some(partition), Some(state_updated)) = (
            item::string(item, item::PARTITION),
            item::string(item, item::STATE_UPDATED),
        ) else {
            return Ok(());
        };
        let Some((collections, workflow)) = partition.rsplit_once('_') else {
            return Ok(());
        };
        if query.workflow.as_ref().is_some_and(|w| w != workflow)
            || query.collections.as_ref().is_some_and(|c| c != collections)
        {
            return Ok(());
        }
        let Some(state) = states
            .iter()
            .find(|p| state_updated.starts_with(p.as_str()))
        else {
            return Ok(());
        };
        let prefix = if index == item::STATE_UPDATED {
            state.clone()
        } else {
            String::new()
        };
        if !found.contains(&(partition.to_string(), prefix.clone())) {
            found.insert((partition.to_string(), prefix));
        }
        Ok(())
    })
    .await?;
    Ok(found.into_iter().collect())
}

/// Scans the whole state table, projecting `attributes`, and calls `each` on every item.
async fn scan(
    store: &DynamoStateStore,
    attributes: &[&str],
    mut each: impl FnMut(&Item) -> Result<()>,
) -> Result<()> {
    let names: HashMap<String, String> = attributes
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("#a{i}"), a.to_string()))
        .collect();
    let projection = (0..attributes.len())
        .map(|i| format!("#a{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut start: Option<Item> = None;
    loop {
        let out = store
            .client
            .scan()
            .table_name(&store.table)
            .projection_expression(&projection)
            .set_expression_attribute_names(Some(names.clone()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error(&store.table, "Scan", e))?;
        for item in out.items.unwrap_or_default() {
            each(&item)?;
        }
        start = out.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            return Ok(());
        }
    }
}

fn bad_token() -> Error {
    Error::invalid_argument("page", "not a valid page token: bad cursor")
}

/// Streams left over by pages, kept for the page that continues each of them, so that
/// what a stream read ahead is not read again. Small (a few queries) and short-lived: a
/// token used later, or elsewhere, reads afresh from its cursor.
#[derive(Default)]
pub(super) struct ReadAhead {
    entries: VecDeque<Pending>,
}

struct Pending {
    token: PageToken,
    query: Query,
    streams: Vec<Stream>,
    at: Instant,
}

impl std::fmt::Debug for ReadAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadAhead")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl ReadAhead {
    /// How many continuations are kept.
    const ENTRIES: usize = 8;
    /// How long one is kept.
    const TTL: Duration = Duration::from_secs(30);

    fn take(&mut self, token: &PageToken, query: &Query) -> Option<Vec<Stream>> {
        self.entries.retain(|e| e.at.elapsed() < ReadAhead::TTL);
        let at = self
            .entries
            .iter()
            .position(|e| e.token == *token && e.query == *query)?;
        self.entries.remove(at).map(|e| e.streams)
    }

    fn put(&mut self, token: PageToken, query: Query, streams: Vec<Stream>) {
        if self.entries.len() >= ReadAhead::ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(Pending {
            token,
            query,
            streams,
            at: Instant::now(),
        });
    }
}

/// One page of `query`.
pub(super) async fn query_page(
    store: &DynamoStateStore,
    query: &Query,
    page: Option<&PageToken>,
    page_size: usize,
) -> Result<Page> {
    let page_size = page_size.max(1);
    let cursor: Option<Cursor> = page
        .map(|token| serde_json::from_value(token.decode(BACKEND, query)?).map_err(|_| bad_token()))
        .transpose()?;
    let index = match query.sort_key() {
        SortKey::Updated => item::UPDATED,
        SortKey::StateUpdated => item::STATE_UPDATED,
    };
    let plan = Plan {
        store,
        query,
        index,
        ascending: query.ascending,
        since: query.since.map(|t| t.to_string()),
        until: query.until.map(|t| t.to_string()),
        after: cursor.as_ref().map(|c| (c.k.clone(), c.p.clone())),
        filter: filter(query, index),
    };
    let kept = page.and_then(|token| store.read_ahead().take(token, query));
    let mut streams = match kept {
        Some(streams) => streams,
        None => {
            let sources = match cursor {
                Some(cursor) => cursor.s,
                None => sources(store, query, index).await?,
            };
            if sources
                .iter()
                .any(|(_, prefix)| !prefix.is_empty() && !prefix.ends_with('_'))
            {
                return Err(bad_token());
            }
            // Each stream's first read: its share of the page, with a quarter more for an
            // uneven spread. Later reads take a page's worth; what is left over is kept for
            // the next page.
            let first = (page_size + 1)
                .saturating_mul(5)
                .div_ceil(4 * sources.len().max(1))
                .saturating_add(8)
                .min(page_size + 1)
                .min(MAX_CHUNK);
            sources
                .into_iter()
                .map(|(partition, prefix)| Stream::new(&plan, partition, prefix, first))
                .collect()
        }
    };
    let plan = &plan;
    let fills: Vec<_> = streams.iter_mut().map(|s| s.fill(plan)).collect();
    stream::iter(fills)
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;

    let mut records = Vec::new();
    let mut last: Option<(String, String)> = None;
    loop {
        let best = streams
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.head().map(|h| (i, h)))
            .min_by(|(_, a), (_, b)| plan.order((&a.key, &a.pid), (&b.key, &b.pid)))
            .map(|(i, _)| i);
        let Some(best) = best else {
            break;
        };
        if records.len() == page_size {
            streams.retain(|s| !s.done());
            let cursor = Cursor {
                k: last.as_ref().map(|l| l.0.clone()).unwrap_or_default(),
                p: last.map(|l| l.1).unwrap_or_default(),
                s: streams
                    .iter()
                    .map(|s| (s.partition.clone(), s.prefix.clone()))
                    .collect(),
            };
            let next = PageToken::encode(BACKEND, query, serde_json::to_value(cursor)?);
            store.read_ahead().put(next.clone(), query.clone(), streams);
            return Ok(Page {
                records,
                next: Some(next),
            });
        }
        let stream = &mut streams[best];
        if let Some(entry) = stream.buffer.pop_front() {
            last = Some((entry.key, entry.pid));
            records.push(entry.record);
        }
        stream.limit = (page_size + 1).clamp(MIN_CHUNK, MAX_CHUNK);
        stream.fill(plan).await?;
    }
    Ok(Page {
        records,
        next: None,
    })
}

/// Exact counts, from one scan of the keys and states.
pub(super) async fn counts(store: &DynamoStateStore, query: &CountsQuery) -> Result<Counts> {
    let mut counts = Counts::default();
    let reader = Reader {
        table: &store.table,
    };
    scan(store, &[item::PARTITION, item::STATE_UPDATED], |item| {
        let Some(partition) = item::string(item, item::PARTITION) else {
            return Ok(());
        };
        let Some(value) = reader.opt_string(item, item::STATE_UPDATED)? else {
            return Ok(());
        };
        let Some((_, workflow)) = partition.rsplit_once('_') else {
            return Ok(());
        };
        if query.workflow.as_ref().is_some_and(|w| w != workflow) {
            return Ok(());
        }
        let bad = |what: &str| Error::StateDb {
            backend: BACKEND,
            message: format!(
                "table {}: item {partition:?}: state_updated = {value:?} {what}",
                store.table
            ),
            source: None,
        };
        let (state, at) =
            item::parse_state_updated(value).ok_or_else(|| bad("is not STATE_time"))?;
        if let Some(since) = query.since {
            let entered: Timestamp = at.parse().map_err(|_| bad("has no ISO 8601 time"))?;
            if entered < since {
                return Ok(());
            }
        }
        counts.add(workflow, state, 1);
        Ok(())
    })
    .await?;
    Ok(counts)
}
