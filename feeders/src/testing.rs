//! A real STAC API on 127.0.0.1 for tests and benchmarks: stac-server's memory backend,
//! served by axum, holding generated items, behind a layer that injects faults.
//!
//! The layer only touches `/search`:
//! - [`Faults::fail_next`]: answer the next N searches with `500`;
//! - [`Faults::broken_from`]: from the Nth search on (0-based), answer `200` with a body cut
//!   in the middle (not JSON);
//! - [`Faults::cap`]: a result cap, as Elasticsearch-backed servers have: a search's pages end
//!   (no `next` link) once `cap` items were returned, and `numberMatched` is reported.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use stac::api::{GetSearch, Search, TransactionClient};
use stac::{Collection, Item};
use stac_server::{Api, MemoryBackend};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The collection the generated items are in.
pub const COLLECTION: &str = "test-scenes";
/// The first item's datetime; items are spread evenly over five years from it.
pub const START: &str = "2019-01-01T00:00:00Z";

/// Fault injection settings, changed while the server runs.
#[derive(Debug, Default)]
pub struct Faults {
    /// Searches still to answer with 500.
    pub fail_next: AtomicUsize,
    /// The first search (0-based count) answered with a broken body; `usize::MAX` for none.
    pub broken_from: AtomicUsize,
    /// The result cap; 0 for none.
    pub cap: AtomicU64,
    /// Searches received so far.
    pub searches: AtomicUsize,
    /// Searches answered with 500 so far.
    pub failed: AtomicUsize,
}

/// A STAC API on 127.0.0.1; stopped when dropped.
pub struct StacServer {
    /// The root URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The fault settings.
    pub faults: Arc<Faults>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StacServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    faults: Arc<Faults>,
    items: Arc<Vec<Item>>,
}

/// The generated item number `i` of `n`: id `scene-{i:06}`, a small square on a 100 × 100
/// grid of 0.1° cells from (-120, 30), and a datetime spread evenly over five years.
pub fn item(i: usize, n: usize) -> Item {
    let start = chrono::DateTime::parse_from_rfc3339(START).expect("START is RFC 3339");
    let span = chrono::Duration::days(5 * 365).num_seconds();
    let t = start + chrono::Duration::seconds(span * i as i64 / n.max(1) as i64);
    let (x, y) = (
        -120.0 + (i % 100) as f64 * 0.1,
        30.0 + ((i / 100) % 100) as f64 * 0.1,
    );
    let (x1, y1) = (x + 0.05, y + 0.05);
    serde_json::from_value(json!({
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": format!("scene-{i:06}"),
        "collection": COLLECTION,
        "bbox": [x, y, x1, y1],
        "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x1, y], [x1, y1], [x, y1], [x, y]]]},
        "properties": {"datetime": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)},
        "links": [],
        "assets": {"data": {"href": format!("s3://bucket/scenes/{i:06}.hdr"), "type": "text/plain"}},
    }))
    .expect("a generated item is a STAC item")
}

impl StacServer {
    /// Starts a server holding `n` generated items ([`item`]).
    pub async fn start(n: usize) -> std::io::Result<StacServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let mut backend = MemoryBackend::new();
        let collection = Collection::new(COLLECTION, "generated scenes");
        backend
            .add_collection(collection)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let items: Vec<Item> = (0..n).map(|i| item(i, n)).collect();
        backend
            .add_items(items.clone())
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let api = Api::new(backend, &url)
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .id("cirrus-feeders-test")
            .description("generated scenes");
        let faults = Arc::new(Faults {
            broken_from: AtomicUsize::new(usize::MAX),
            ..Faults::default()
        });
        let shared = Arc::new(Shared {
            faults: faults.clone(),
            items: Arc::new(items),
        });
        let router = stac_server::routes::from_api(api)
            .layer(axum::middleware::from_fn_with_state(shared, inject));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!("test STAC API stopped: {e}");
            }
        });
        Ok(StacServer { url, faults, task })
    }
}

/// The fault-injecting layer.
async fn inject(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if request.uri().path() != "/search" {
        return next.run(request).await;
    }
    let faults = &shared.faults;
    let n = faults.searches.fetch_add(1, Ordering::SeqCst);
    if faults
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok()
    {
        faults.failed.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::INTERNAL_SERVER_ERROR, "injected failure").into_response();
    }
    if n >= faults.broken_from.load(Ordering::SeqCst) {
        return (
            StatusCode::OK,
            [("content-type", "application/geo+json")],
            r#"{"type": "FeatureCollection", "features": [{"id": "#,
        )
            .into_response();
    }
    let cap = faults.cap.load(Ordering::SeqCst);
    if cap == 0 {
        return next.run(request).await;
    }
    // The cap: read the search to count its matches and know where its page starts.
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 16 << 20).await else {
        return (StatusCode::BAD_REQUEST, "unreadable body").into_response();
    };
    let search = match parse_search(&parts.method, parts.uri.query(), &bytes) {
        Ok(search) => search,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let skip = search
        .items
        .additional_fields
        .get("skip")
        .and_then(|s| {
            s.as_u64()
                .or_else(|| s.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0);
    let matched = shared
        .items
        .iter()
        .filter(|item| search.matches(item).unwrap_or(false))
        .count() as u64;
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (mut head, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 << 20).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(mut page) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(head, Body::from(bytes));
    };
    page["numberMatched"] = matched.into();
    let returned = match page["features"].as_array_mut() {
        Some(features) => {
            features.truncate(cap.saturating_sub(skip) as usize);
            features.len() as u64
        }
        None => 0,
    };
    page["numberReturned"] = returned.into();
    if skip + returned >= cap
        && let Some(links) = page["links"].as_array_mut()
    {
        links.retain(|l| l["rel"] != "next");
    }
    let body = page.to_string();
    head.headers.remove("content-length");
    Response::from_parts(head, Body::from(body))
}

fn parse_search(method: &Method, query: Option<&str>, body: &[u8]) -> Result<Search, String> {
    if method == Method::POST {
        return serde_json::from_slice(body).map_err(|e| e.to_string());
    }
    let params: serde_json::Map<String, Value> =
        url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
    let get: GetSearch =
        serde_json::from_value(Value::Object(params)).map_err(|e| e.to_string())?;
    Search::try_from(get).map_err(|e| e.to_string())
}

/// A copy of the generated items, for tests to compare against.
pub fn items(n: usize) -> impl Iterator<Item = Item> {
    (0..n).map(move |i| item(i, n))
}
