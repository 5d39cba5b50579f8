//! `rerun`: payloads selected from the state DB, re-enqueued with `replace` set.
//!
//! The selection is every combination of `workflows` × `states` (each list empty for "any"),
//! with `since` / `until` (a duration back from the start of the feed, `24h`, or a
//! timestamp), `collections` and `error_prefix`. Records are read oldest first, page by page.
//! The time window is fixed when the feed starts (and kept in the checkpoint): a payload that
//! fails again while the feed runs is not picked up a second time.
//!
//! Each record's archived input (`executions/<id>/<last execution>/input.json` in the payload
//! bucket) is sent with `process[0].replace = true`. A record whose input is not archived is
//! skipped, and counted.

use crate::feeder::{Feeder, Found, Page, Pages, Record, Records, pages};
use crate::{Error, Result};
use cirrus_core::state::{
    PageToken, Query, SortKey, State, StateRecord, StateStore, Timestamp, parse_time_bound,
};
use cirrus_core::store::PayloadBucket;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// Records read from the state DB at once.
const PAGE_SIZE: usize = 200;

/// The `source` section of a `rerun` feeder config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RerunConfig {
    /// Only these workflows (default: every workflow).
    #[serde(default)]
    pub workflows: Vec<String>,
    /// Only records in these states (default: FAILED and ABORTED).
    #[serde(default)]
    pub states: Option<Vec<String>>,
    /// Only records that entered their state at or after this: a duration back from the
    /// start of the feed (`30m`, `24h`, `7d`) or a timestamp.
    #[serde(default)]
    pub since: Option<String>,
    /// Only records that entered their state at or before this (default: the start of the
    /// feed).
    #[serde(default)]
    pub until: Option<String>,
    /// Only this collections part of the payload ID.
    #[serde(default)]
    pub collections: Option<String>,
    /// Only records whose `last_error` starts with this.
    #[serde(default)]
    pub error_prefix: Option<String>,
}

/// The `rerun` feeder.
pub struct RerunFeeder {
    state: Arc<dyn StateStore>,
    bucket: PayloadBucket,
    queries: Vec<Query>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Position {
    /// The query being read (index into the workflows × states list).
    query: usize,
    /// The token of the page being read (`None`: the first page).
    token: Option<String>,
    /// Records of that page already taken.
    offset: usize,
    /// The fixed time window.
    since: Option<String>,
    until: String,
}

impl RerunFeeder {
    /// Builds the feeder; errors name the `source.` field.
    pub fn new(
        config: RerunConfig,
        state: Arc<dyn StateStore>,
        bucket: PayloadBucket,
    ) -> Result<RerunFeeder> {
        let states = match &config.states {
            None => vec![Some(State::Failed), Some(State::Aborted)],
            Some(list) if list.is_empty() => vec![None],
            Some(list) => list
                .iter()
                .map(|s| {
                    s.parse::<State>()
                        .map(Some)
                        .map_err(|e| Error::invalid_argument("source.states", e.to_string()))
                })
                .collect::<Result<_>>()?,
        };
        let workflows: Vec<Option<String>> = if config.workflows.is_empty() {
            vec![None]
        } else {
            config.workflows.iter().cloned().map(Some).collect()
        };
        let now = Timestamp::now();
        let since = config
            .since
            .as_deref()
            .map(|s| parse_time_bound("since", s, now))
            .transpose()
            .map_err(|e| Error::invalid_argument("source.since", e.to_string()))?;
        let until = match config.until.as_deref() {
            Some(u) => parse_time_bound("until", u, now)
                .map_err(|e| Error::invalid_argument("source.until", e.to_string()))?,
            None => now,
        };
        let mut queries = Vec::new();
        for workflow in &workflows {
            for state in &states {
                queries.push(Query {
                    workflow: workflow.clone(),
                    collections: config.collections.clone(),
                    state: *state,
                    since,
                    until: Some(until),
                    error_prefix: config.error_prefix.clone(),
                    sort: Some(SortKey::StateUpdated),
                    ascending: true,
                    limit: None,
                });
            }
        }
        Ok(RerunFeeder {
            state,
            bucket,
            queries,
        })
    }

    async fn step(&self, mut at: Position) -> Result<Page<Position>> {
        loop {
            let Some(query) = self.queries.get(at.query) else {
                return Ok(None);
            };
            let mut query = query.clone();
            query.since = at.since.as_deref().map(|s| s.parse()).transpose()?;
            query.until = Some(at.until.parse()?);
            let token = at.token.clone().map(PageToken::new);
            let page = self
                .state
                .query_page(&query, token.as_ref(), PAGE_SIZE)
                .await?;
            let mut records = Vec::new();
            for (i, record) in page.records.iter().enumerate().skip(at.offset) {
                at.offset = i + 1;
                let found = self.payload_of(record).await?;
                records.push(Ok(Record::new(found, cursor(&at))));
            }
            match page.next {
                Some(next) => {
                    at.token = Some(next.as_str().to_string());
                    at.offset = 0;
                }
                None => {
                    at.query += 1;
                    at.token = None;
                    at.offset = 0;
                }
            }
            if let Some(Ok(last)) = records.last_mut() {
                last.cursor = Some(cursor(&at));
            }
            if records.is_empty() {
                continue;
            }
            return Ok(Some((records, at)));
        }
    }

    /// The archived input of `record` with `replace` set, or why it is skipped.
    async fn payload_of(&self, record: &StateRecord) -> Result<Found> {
        let Some(execution) = record.executions.last() else {
            return Ok(Found::Skipped(format!(
                "{}: no execution recorded",
                record.payload_id
            )));
        };
        let mut payload = match self
            .bucket
            .get_input(&record.payload_id, Some(execution))
            .await
        {
            Ok(payload) => payload,
            Err(cirrus_core::Error::ObjectNotFound(url)) => {
                tracing::warn!(payload_id = %record.payload_id, %url, "no archived input; skipped");
                return Ok(Found::Skipped(format!(
                    "{}: no archived input at {url}",
                    record.payload_id
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let first = match payload.get_mut("process") {
            Some(Value::Array(steps)) => steps.first_mut(),
            Some(step @ Value::Object(_)) => Some(step),
            _ => None,
        };
        match first {
            Some(Value::Object(definition)) => {
                definition.insert("replace".to_string(), Value::Bool(true));
                Ok(Found::Payload(payload))
            }
            _ => Ok(Found::Skipped(format!(
                "{}: the archived input has no process definition",
                record.payload_id
            ))),
        }
    }
}

fn cursor(at: &Position) -> Value {
    serde_json::to_value(at).expect("a position is JSON")
}

impl Feeder for RerunFeeder {
    fn name(&self) -> &str {
        "rerun"
    }

    fn records(self: Box<Self>, resume: Option<Value>) -> Records {
        let first = self.queries.first();
        let start = match resume {
            None => Ok(Position {
                query: 0,
                token: None,
                offset: 0,
                since: first.and_then(|q| q.since).map(|t| t.to_string()),
                until: first
                    .and_then(|q| q.until)
                    .unwrap_or_else(Timestamp::now)
                    .to_string(),
            }),
            Some(value) => serde_json::from_value::<Position>(value).map_err(|e| {
                Error::invalid_argument("checkpoint", format!("not a rerun cursor: {e}"))
            }),
        };
        pages(*self, start)
    }
}

impl Pages for RerunFeeder {
    type Position = Position;

    fn page(&self, at: Position) -> impl Future<Output = Result<Page<Position>>> + Send {
        self.step(at)
    }
}
