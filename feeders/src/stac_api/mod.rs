//! `stac-api`: an item search on a STAC API, page by page.
//!
//! - **Search**: `collections`, `ids`, `bbox`, `intersects`, `datetime`, `query`, `filter`
//!   (cql2-text or cql2-json), built as a [`stac::api::Search`]; sent as GET (a query string)
//!   or POST (a JSON body). Pages follow the `next` links, whatever method they ask for
//!   (POST links carry a body, merged into the previous one with `"merge": true`).
//! - **Retries**: connection errors, timeouts, 429 and 5xx are retried with exponential
//!   backoff (`retries`, `backoff_ms`); a response that is not JSON stops the feed with an
//!   error naming the URL, and the checkpoint stays where it was.
//! - **Result cap**: servers stop paging after a maximum number of results (10,000 on
//!   Elasticsearch-backed ones). With `result_cap` set, a search whose `numberMatched` is
//!   over it is split in two datetime halves, recursively, before any item is taken from
//!   it. Without it, a search that ends short of its `numberMatched` teaches the feeder the
//!   cap: the rest of the feed splits up front, and the short search is searched again in
//!   halves (its items already sent go again: same payload IDs, which the state DB skips
//!   once processed). An item whose datetime range spans a split point is sent once, by the
//!   window its start falls in.
//! - **Cursor**: the windows still to search, the page request and how many of its items
//!   were taken; resuming fetches that page again and skips them.

mod client;
pub mod window;

pub use client::{Client, HttpMethod, PageRequest, Retry};

use crate::feeder::{Feeder, Found, Page, Pages, Record, Records, pages};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use stac::api::{Filter, GetSearch, Search};
use std::collections::BTreeMap;
use std::time::Duration;
use window::{Window, item_start};

/// The `source` section of a `stac-api` feeder config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StacApiConfig {
    /// The API's root URL; items are searched at `{url}/search`.
    pub url: String,
    /// `GET` or `POST` (the default).
    #[serde(default)]
    pub method: HttpMethod,
    /// Only items of these collections.
    #[serde(default)]
    pub collections: Vec<String>,
    /// Only these item ids.
    #[serde(default)]
    pub ids: Vec<String>,
    /// Only items intersecting this box (`[west, south, east, north]`, or 6 numbers in 3D).
    #[serde(default)]
    pub bbox: Option<Vec<f64>>,
    /// Only items intersecting this GeoJSON geometry.
    #[serde(default)]
    pub intersects: Option<Value>,
    /// Only items in this datetime range (RFC 3339, `a/b`, `..` for an open end).
    #[serde(default)]
    pub datetime: Option<String>,
    /// Query extension conditions (`{"eo:cloud_cover": {"lt": 20}}`).
    #[serde(default)]
    pub query: Option<Map<String, Value>>,
    /// A CQL2 filter: text (a string) or JSON (an object).
    #[serde(default)]
    pub filter: Option<Value>,
    /// Items per page (default 500).
    #[serde(default)]
    pub limit: Option<u64>,
    /// The most items the server returns for one search; more matched means split.
    #[serde(default)]
    pub result_cap: Option<u64>,
    /// The shortest datetime window a split may make, in seconds (default 1).
    #[serde(default)]
    pub min_window_seconds: Option<u64>,
    /// Retries of a failing request (default 6).
    #[serde(default)]
    pub retries: Option<u32>,
    /// The first wait before a retry, in milliseconds; it doubles each time (default 500).
    #[serde(default)]
    pub backoff_ms: Option<u64>,
    /// The timeout of one request, in seconds (default 60).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// Headers sent with every request (an `Authorization`, …).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The default page size.
pub const DEFAULT_LIMIT: u64 = 500;

/// The `stac-api` feeder.
#[derive(Debug, Clone)]
pub struct StacApiFeeder {
    client: Client,
    search: Search,
    endpoint: String,
    method: HttpMethod,
    whole: Window,
    result_cap: Option<u64>,
    min_window: chrono::Duration,
}

/// Where a search is: the cursor of the `stac-api` feeder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Position {
    /// The windows left, the current one first; `None` is the search's own datetime.
    windows: Vec<Option<Window>>,
    /// The page of the current window being read; `None` before its first page.
    page: Option<PageRequest>,
    /// Items of `page` already taken.
    offset: usize,
    /// Items taken from the current window so far.
    taken: u64,
    /// The result cap learned from the server, when it cut a search short.
    learned_cap: Option<u64>,
}

impl StacApiFeeder {
    /// Builds the feeder, checking the search (errors name the `source.` field).
    pub fn new(config: StacApiConfig) -> Result<StacApiFeeder> {
        let mut search = Search::new();
        search.collections = config.collections;
        search.ids = config.ids;
        search.items.limit = Some(config.limit.unwrap_or(DEFAULT_LIMIT));
        if search.items.limit == Some(0) {
            return Err(Error::invalid_argument(
                "source.limit",
                "must be at least 1",
            ));
        }
        if let Some(bbox) = config.bbox {
            search.items.bbox = Some(
                stac::Bbox::try_from(bbox)
                    .map_err(|e| Error::invalid_argument("source.bbox", e.to_string()))?,
            );
        }
        if let Some(geometry) = config.intersects {
            search.intersects = Some(serde_json::from_value(geometry).map_err(|e| {
                Error::invalid_argument("source.intersects", format!("not a GeoJSON geometry: {e}"))
            })?);
        }
        let whole = Window::of_search(config.datetime.as_deref())?;
        search.items.datetime = config.datetime;
        search.items.query = config.query;
        search.items.filter = match config.filter {
            None => None,
            Some(Value::String(text)) => Some(Filter::Cql2Text(text)),
            Some(Value::Object(map)) => Some(Filter::Cql2Json(map)),
            Some(other) => {
                return Err(Error::invalid_argument(
                    "source.filter",
                    format!("must be CQL2 text (a string) or CQL2 JSON (an object), got {other}"),
                ));
            }
        };
        let search = search
            .valid()
            .map_err(|e| Error::invalid_argument("source", format!("not a valid search: {e}")))?;
        if config.method == HttpMethod::Get {
            GetSearch::try_from(search.clone()).map_err(|e| {
                Error::invalid_argument(
                    "source.method",
                    format!("this search cannot be sent as GET: {e}"),
                )
            })?;
        }
        let base = config.url.trim_end_matches('/');
        let endpoint = format!("{base}/search");
        url::Url::parse(&endpoint)
            .map_err(|e| Error::invalid_argument("source.url", format!("{:?}: {e}", config.url)))?;
        let headers: Vec<(String, String)> = config.headers.into_iter().collect();
        let client = Client::new(
            &headers,
            Duration::from_secs(config.timeout_seconds.unwrap_or(60)),
            Retry {
                retries: config.retries.unwrap_or(6),
                backoff: Duration::from_millis(config.backoff_ms.unwrap_or(500)),
            },
        )?;
        Ok(StacApiFeeder {
            client,
            search,
            endpoint,
            method: config.method,
            whole,
            result_cap: config.result_cap,
            min_window: chrono::Duration::seconds(config.min_window_seconds.unwrap_or(1) as i64),
        })
    }

    /// The first page request of a search over `window`.
    fn first_request(&self, window: Option<&Window>) -> Result<PageRequest> {
        let mut search = self.search.clone();
        if let Some(window) = window {
            search.items.datetime = Some(window.to_datetime());
        }
        match self.method {
            HttpMethod::Post => {
                let body = match serde_json::to_value(&search).expect("a search is JSON") {
                    Value::Object(map) => map,
                    _ => unreachable!("a search serializes to an object"),
                };
                Ok(PageRequest {
                    method: HttpMethod::Post,
                    href: self.endpoint.clone(),
                    body: Some(body),
                })
            }
            HttpMethod::Get => {
                let get = GetSearch::try_from(search)
                    .map_err(|e| Error::invalid_argument("source", e.to_string()))?;
                let mut url = url::Url::parse(&self.endpoint)
                    .map_err(|e| Error::invalid_argument("source.url", e.to_string()))?;
                if let Value::Object(params) =
                    serde_json::to_value(&get).expect("GET parameters are JSON")
                {
                    let mut pairs = url.query_pairs_mut();
                    for (k, v) in params {
                        match v {
                            Value::String(s) => pairs.append_pair(&k, &s),
                            other => pairs.append_pair(&k, &other.to_string()),
                        };
                    }
                }
                Ok(PageRequest {
                    method: HttpMethod::Get,
                    href: url.to_string(),
                    body: None,
                })
            }
        }
    }

    /// One step: the records of the next page, and the position after it; `None` at the end.
    async fn step(&self, mut at: Position) -> Result<Page<Position>> {
        loop {
            let Some(window) = at.windows.first().cloned() else {
                return Ok(None);
            };
            let request = match &at.page {
                Some(page) => page.clone(),
                None => self.first_request(window.as_ref())?,
            };
            let page = self.client.page(&request).await?;
            let cap = self.result_cap.or(at.learned_cap);
            if at.page.is_none()
                && let (Some(matched), Some(cap)) = (page.number_matched, cap)
                && matched > cap
            {
                self.split(&mut at, matched, cap)?;
                continue;
            }
            let next = request.next(&page);
            let returned = page.items.len();
            let mut records = Vec::with_capacity(returned.saturating_sub(at.offset));
            // Items spanning a split point were taken by the window their start falls in.
            let skip_before = window
                .filter(|w| w.start > self.whole.start)
                .map(|w| w.start);
            let offset = at.offset;
            for (i, item) in page.items.into_iter().enumerate().skip(offset) {
                at.offset = i + 1;
                at.taken += 1;
                let found = match (skip_before, item_start(&item)) {
                    (Some(start), Some(t)) if t < start => {
                        Found::Skipped("taken by an earlier datetime window".to_string())
                    }
                    _ => Found::Item(Value::Object(item)),
                };
                records.push(Ok(Record::new(found, cursor(&at))));
            }
            match next {
                Some(next) if returned > 0 => {
                    at.page = Some(next);
                    at.offset = 0;
                }
                _ => {
                    let capped = match page.number_matched {
                        Some(matched) => at.taken < matched,
                        None => cap.is_some_and(|c| at.taken >= c),
                    };
                    if capped {
                        let matched = page.number_matched.unwrap_or(at.taken);
                        let taken = at.taken;
                        tracing::warn!(
                            taken,
                            matched,
                            "the server stopped paging at {taken} items of {matched}: it caps its results; searching again in smaller windows (set source.result_cap = {taken} to split before sending: the {taken} items sent go again)",
                        );
                        if self.result_cap.is_none() {
                            at.learned_cap = Some(taken);
                        }
                        self.split(&mut at, matched, taken)?;
                    } else {
                        at.windows.remove(0);
                        at.page = None;
                        at.offset = 0;
                        at.taken = 0;
                    }
                    // The last record's cursor must point past this window.
                    if let Some(Ok(last)) = records.last_mut() {
                        last.cursor = Some(cursor(&at));
                    }
                }
            }
            return Ok(Some((records, at)));
        }
    }

    /// Replaces the current window by its two halves.
    fn split(&self, at: &mut Position, matched: u64, cap: u64) -> Result<()> {
        let current = at.windows[0].unwrap_or(self.whole);
        let Some((a, b)) = current.split(self.min_window) else {
            return Err(Error::invalid_argument(
                "source.result_cap",
                format!(
                    "the search over {} matches {matched} items, more than the {cap} the server returns, and is too short to split (min_window_seconds); narrow the search",
                    current.to_datetime()
                ),
            ));
        };
        tracing::info!(window = %current.to_datetime(), matched, cap, "splitting the datetime range");
        at.windows.splice(0..1, [Some(a), Some(b)]);
        at.page = None;
        at.offset = 0;
        at.taken = 0;
        Ok(())
    }
}

fn cursor(at: &Position) -> Value {
    serde_json::to_value(at).expect("a position is JSON")
}

impl Feeder for StacApiFeeder {
    fn name(&self) -> &str {
        "stac-api"
    }

    fn records(self: Box<Self>, resume: Option<Value>) -> Records {
        let start = match resume {
            None => Ok(Position {
                windows: vec![None],
                page: None,
                offset: 0,
                taken: 0,
                learned_cap: None,
            }),
            Some(value) => serde_json::from_value::<Position>(value).map_err(|e| {
                Error::invalid_argument("checkpoint", format!("not a stac-api cursor: {e}"))
            }),
        };
        pages(*self, start)
    }
}

impl Pages for StacApiFeeder {
    type Position = Position;

    fn page(&self, at: Position) -> impl Future<Output = Result<Page<Position>>> + Send {
        self.step(at)
    }
}
