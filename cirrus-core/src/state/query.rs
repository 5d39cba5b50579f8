//! Queries over the state DB: filters, order, time windows, pages and counts.

use super::model::{State, StateRecord, Timestamp};
use crate::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The time a query orders and windows by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// The last write to the record.
    Updated,
    /// The time the record entered its current state.
    StateUpdated,
}

impl SortKey {
    /// `updated` or `state_updated`.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Updated => "updated",
            SortKey::StateUpdated => "state_updated",
        }
    }

    /// This key's time in a record.
    pub fn of(self, record: &StateRecord) -> Timestamp {
        match self {
            SortKey::Updated => record.updated,
            SortKey::StateUpdated => record.state_updated,
        }
    }
}

impl std::str::FromStr for SortKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<SortKey> {
        match s {
            "updated" => Ok(SortKey::Updated),
            "state_updated" | "state-updated" => Ok(SortKey::StateUpdated),
            _ => Err(Error::invalid_argument(
                "sort",
                format!("{s:?} is not a sort key; expected updated or state_updated"),
            )),
        }
    }
}

/// A query over state records. Every filter is optional, so a query can span all workflows.
///
/// The time window (`since` ..= `until`) applies to the sort key. Records come newest first
/// unless `ascending` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only this workflow.
    pub workflow: Option<String>,
    /// Only this collections part of the ID (exactly, e.g. `sentinel-2-l2a` or `l8/s2`).
    pub collections: Option<String>,
    /// Only records in this state.
    pub state: Option<State>,
    /// Only records whose sort-key time is at or after this.
    pub since: Option<Timestamp>,
    /// Only records whose sort-key time is at or before this.
    pub until: Option<Timestamp>,
    /// Only records whose `last_error` starts with this.
    pub error_prefix: Option<String>,
    /// The time to order and window by; by default `state_updated` when `state` is set, else
    /// `updated` (as cirrus-geo picks its index).
    pub sort: Option<SortKey>,
    /// Oldest first.
    pub ascending: bool,
    /// At most this many records in all (for [`StateStore::query`](super::StateStore::query)).
    pub limit: Option<usize>,
}

impl Query {
    /// The sort key in effect.
    pub fn sort_key(&self) -> SortKey {
        self.sort.unwrap_or(if self.state.is_some() {
            SortKey::StateUpdated
        } else {
            SortKey::Updated
        })
    }

    /// `true` when `record` passes every filter. Backends that cannot filter natively use it;
    /// the conformance suite checks results against it.
    pub fn matches(&self, record: &StateRecord) -> bool {
        let t = self.sort_key().of(record);
        self.workflow.as_ref().is_none_or(|w| *w == record.workflow)
            && self
                .collections
                .as_ref()
                .is_none_or(|c| *c == record.collections)
            && self.state.is_none_or(|s| s == record.state)
            && self.since.is_none_or(|s| t >= s)
            && self.until.is_none_or(|u| t <= u)
            && self.error_prefix.as_ref().is_none_or(|p| {
                record
                    .last_error
                    .as_deref()
                    .is_some_and(|e| e.starts_with(p.as_str()))
            })
    }

    /// A fingerprint of what the query selects and how it is ordered, stored in page tokens
    /// so that a token is only used with the query that made it. The time window is left
    /// out: `--since 24h` moves with the clock, and keyset paging stays correct when it does.
    pub fn fingerprint(&self) -> u64 {
        // FNV-1a over a canonical rendering: stable across builds and platforms.
        let canonical = format!(
            "{:?}|{:?}|{:?}|{:?}|{}|{}",
            self.workflow,
            self.collections,
            self.state.map(State::as_str),
            self.error_prefix,
            self.sort_key().as_str(),
            self.ascending
        );
        canonical.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }
}

/// Parses a time bound: a duration back from `now` (`30m`, `24h`, `7d`, `2w`, `90s`), or a
/// timestamp ([`Timestamp`]'s formats).
///
/// ```
/// use cirrus_core::state::{parse_time_bound, Timestamp};
///
/// let now: Timestamp = "2025-01-02T00:00:00Z".parse()?;
/// assert_eq!(parse_time_bound("since", "24h", now)?.to_string(), "2025-01-01T00:00:00+00:00");
/// assert_eq!(parse_time_bound("until", "2024-12-31", now)?.to_string(), "2024-12-31T00:00:00+00:00");
/// assert!(parse_time_bound("since", "24 hours", now).is_err());
/// assert!(parse_time_bound("since", "24ч", now).is_err());
/// assert!(parse_time_bound("since", "99999999999999999d", now).is_err());
/// # Ok::<(), cirrus_core::Error>(())
/// ```
pub fn parse_time_bound(field: &'static str, text: &str, now: Timestamp) -> Result<Timestamp> {
    let text = text.trim();
    if let Some((unit_at, unit)) = text.char_indices().next_back() {
        let digits = &text[..unit_at];
        let seconds: i64 = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => 0,
        };
        if seconds > 0 && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            let micros = digits
                .parse::<i64>()
                .ok()
                .and_then(|n| n.checked_mul(seconds))
                .and_then(|s| s.checked_mul(1_000_000))
                .ok_or_else(|| {
                    Error::invalid_argument(field, format!("{text:?} is too long a duration"))
                })?;
            return Ok(now.minus_micros(micros));
        }
    }
    text.parse::<Timestamp>().map_err(|_| {
        Error::invalid_argument(
            field,
            format!(
                "{text:?} is neither a duration (a number and one of s, m, h, d, w: 30m, 24h, 7d) nor a timestamp (RFC 3339, e.g. 2025-01-31T12:00:00Z)"
            ),
        )
    })
}

/// An opaque continuation token for [`StateStore::query_page`](super::StateStore::query_page).
///
/// It is URL-safe base64 of the backend's cursor, tagged with the backend and the query's
/// [fingerprint](Query::fingerprint), so a token used with another query or store is refused
/// with a clear error instead of returning wrong rows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageToken(String);

#[derive(Serialize, Deserialize)]
struct TokenBody {
    v: u8,
    b: String,
    q: String,
    c: serde_json::Value,
}

impl PageToken {
    /// Wraps a token string as given by a user; it is checked when decoded.
    pub fn new(token: impl Into<String>) -> PageToken {
        PageToken(token.into())
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Makes a token from a backend cursor.
    pub fn encode(backend: &str, query: &Query, cursor: serde_json::Value) -> PageToken {
        let body = TokenBody {
            v: 1,
            b: backend.to_string(),
            q: format!("{:016x}", query.fingerprint()),
            c: cursor,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        PageToken(URL_SAFE_NO_PAD.encode(json))
    }

    /// The backend cursor inside a token, after checking that it was made by `backend` for
    /// this `query`.
    pub fn decode(&self, backend: &str, query: &Query) -> Result<serde_json::Value> {
        let bad =
            |why: &str| Error::invalid_argument("page", format!("not a valid page token: {why}"));
        let bytes = URL_SAFE_NO_PAD
            .decode(self.0.trim())
            .map_err(|_| bad("it is not URL-safe base64"))?;
        let body: TokenBody =
            serde_json::from_slice(&bytes).map_err(|_| bad("its content is not a cursor"))?;
        if body.v != 1 {
            return Err(bad("it was made by another version of cirrus"));
        }
        if body.b != backend {
            return Err(Error::invalid_argument(
                "page",
                format!(
                    "the page token was made by the {} state DB, not this {backend} one",
                    body.b
                ),
            ));
        }
        if body.q != format!("{:016x}", query.fingerprint()) {
            return Err(Error::invalid_argument(
                "page",
                "the page token belongs to a different query; repeat the filters and order of the query that returned it",
            ));
        }
        Ok(body.c)
    }
}

impl fmt::Display for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One page of query results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The records, in query order.
    pub records: Vec<StateRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<PageToken>,
}

/// Which records [`StateStore::counts`](super::StateStore::counts) counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountsQuery {
    /// Only this workflow.
    pub workflow: Option<String>,
    /// Only records that entered their state at or after this time.
    pub since: Option<Timestamp>,
}

/// Exact record counts per workflow and state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// workflow → state → count. States with no records are absent.
    pub workflows: BTreeMap<String, BTreeMap<State, u64>>,
}

impl Counts {
    /// Adds `n` records of `workflow` in `state`.
    pub fn add(&mut self, workflow: &str, state: State, n: u64) {
        if n == 0 {
            return;
        }
        *self
            .workflows
            .entry(workflow.to_string())
            .or_default()
            .entry(state)
            .or_default() += n;
    }

    /// The count of one workflow in one state.
    pub fn get(&self, workflow: &str, state: State) -> u64 {
        self.workflows
            .get(workflow)
            .and_then(|s| s.get(&state))
            .copied()
            .unwrap_or(0)
    }

    /// Per-state totals over every workflow.
    pub fn totals(&self) -> BTreeMap<State, u64> {
        let mut totals = BTreeMap::new();
        for states in self.workflows.values() {
            for (state, n) in states {
                *totals.entry(*state).or_default() += n;
            }
        }
        totals
    }

    /// The number of records counted.
    pub fn total(&self) -> u64 {
        self.totals().values().sum()
    }
}
