//! [`StacApiServer`]: a minimal, in-memory STAC API with the Transactions extension, served
//! by axum on 127.0.0.1, for tests of what publishes items to a STAC API.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use indexmap::IndexMap;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::future::IntoFuture;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// The conformance classes the landing page lists: STAC API core, OGC API Features, and
/// the Transactions extension (STAC's and OGC's create-replace-delete).
const CONFORMS_TO: &[&str] = &[
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/ogcapi-features/extensions/transaction",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
];

/// An in-memory STAC API with Transactions, on a free port of 127.0.0.1, stopped when
/// dropped.
///
/// It serves its own thread and tokio runtime, so it works the same from a plain `#[test]`
/// (that runs the `cirrus` binary, say) and from a `#[tokio::test]`:
///
/// - `GET /`: the landing page, whose `conformsTo` lists STAC API core, OGC API Features
///   and the Transactions extension;
/// - `POST /collections/{c}/items`: stores a STAC item (`"type": "Feature"`, a string `id`):
///   `201`, or `409` when collection `c` already has that id;
/// - `PUT /collections/{c}/items/{id}`: replaces it: `200`, or `404` when missing;
/// - `GET /collections/{c}/items/{id}`: `200` with the item, or `404`.
///
/// Any collection is accepted, without being created first. A body that is not a JSON
/// `Feature` with a string `id`, or whose `collection` (or, for `PUT`, `id`) differs from
/// the path, is a `400`. An item without `collection` gets the path's. Errors have
/// stac-fastapi's shape, `{"code": …, "description": …}`.
///
/// [`fail_next`](Self::fail_next) makes the next requests fail (`503`), to test retries;
/// [`stall_next`](Self::stall_next) delays them, to test timeouts;
/// [`redirect_next`](Self::redirect_next) redirects them.
///
/// ```
/// use cirrus_core::testing::StacApiServer;
///
/// let server = StacApiServer::start();
/// assert!(server.url().starts_with("http://127.0.0.1:"));
/// assert!(server.items().is_empty());
/// ```
#[derive(Debug)]
pub struct StacApiServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What [`StacApiServer::fail_next`] and [`StacApiServer::stall_next`] do to a request.
#[derive(Debug, Clone)]
enum Injected {
    /// It is answered with this status.
    Fail(StatusCode),
    /// It is handled after this delay.
    Stall(Duration),
    /// It is answered with this redirection status and `Location`.
    Redirect(StatusCode, &'static str),
}

/// What the server and its handle share.
#[derive(Debug, Default)]
struct Shared {
    /// Every item, by (collection, id), in the order they were first stored.
    items: Mutex<IndexMap<(String, String), Value>>,
    /// How many requests were received, by method.
    requests: Mutex<BTreeMap<String, usize>>,
    /// What happens to the next requests, whatever they ask.
    injected: Mutex<VecDeque<Injected>>,
    /// The headers of the last request.
    last_headers: Mutex<HeaderMap>,
}

impl StacApiServer {
    /// Starts a server on a free port of 127.0.0.1. It accepts connections as soon as this
    /// returns.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound, or the server's thread or runtime cannot be
    /// started: the test cannot run without them.
    pub fn start() -> StacApiServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| panic!("cannot bind a port on 127.0.0.1: {e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("cannot make the listener non-blocking: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("cannot read the listener's address: {e}"));
        let shared = Arc::new(Shared::default());
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("stac-api-server-{}", addr.port()))
            .spawn(move || serve(listener, app, stopped))
            .unwrap_or_else(|e| panic!("cannot start the STAC API server's thread: {e}"));
        StacApiServer {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The root URL, `http://127.0.0.1:{port}/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every item stored, in the order they were first created (a replaced item keeps its
    /// place and has its new value).
    pub fn items(&self) -> Vec<Value> {
        lock(&self.shared.items).values().cloned().collect()
    }

    /// The item `id` of `collection`, if stored.
    pub fn item(&self, collection: &str, id: &str) -> Option<Value> {
        lock(&self.shared.items)
            .get(&(collection.to_string(), id.to_string()))
            .cloned()
    }

    /// How many requests were received, by method (`"GET"`, `"POST"`, `"PUT"`, …),
    /// failed ones included.
    pub fn requests(&self) -> BTreeMap<String, usize> {
        lock(&self.shared.requests).clone()
    }

    /// How many `method` requests were received.
    pub fn request_count(&self, method: &str) -> usize {
        lock(&self.shared.requests)
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// The value of header `name` (case-insensitive) in the last request received, if it had
    /// one that is text.
    pub fn last_header(&self, name: &str) -> Option<String> {
        let headers = lock(&self.shared.last_headers);
        let value = headers.get(name)?.to_str().ok()?;
        Some(value.to_string())
    }

    /// Answers the next `n` requests, whatever they are, with `503 Service Unavailable`.
    pub fn fail_next(&self, n: usize) {
        self.fail_next_with(n, 503);
    }

    /// Answers the next `n` requests, whatever they are, with `status` (e.g. `500`, `429`
    /// or `400`).
    ///
    /// # Panics
    ///
    /// When `status` is not a valid HTTP status code (100 to 999).
    pub fn fail_next_with(&self, n: usize, status: u16) {
        let status = StatusCode::from_u16(status)
            .unwrap_or_else(|_| panic!("{status} is not an HTTP status code"));
        lock(&self.shared.injected).extend(std::iter::repeat_n(Injected::Fail(status), n));
    }

    /// Answers the next `n` requests with the redirection `status` (`301`, `308`, …) to
    /// `location`.
    ///
    /// # Panics
    ///
    /// When `status` is not a valid HTTP status code (100 to 999).
    pub fn redirect_next(&self, n: usize, status: u16, location: &'static str) {
        let status = StatusCode::from_u16(status)
            .unwrap_or_else(|_| panic!("{status} is not an HTTP status code"));
        let redirect = Injected::Redirect(status, location);
        lock(&self.shared.injected).extend(std::iter::repeat_n(redirect, n));
    }

    /// Handles the next `n` requests only after `delay`, to test client timeouts. A stalled
    /// request is still handled after the delay (if the server is still running).
    pub fn stall_next(&self, n: usize, delay: Duration) {
        lock(&self.shared.injected).extend(std::iter::repeat_n(Injected::Stall(delay), n));
    }
}

impl Drop for StacApiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // An error means the server has already stopped.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic of the server thread was already reported on stderr.
            let _ = thread.join();
        }
    }
}

/// Runs the server until `stopped` fires (or its sender is dropped); dropping the runtime
/// then closes every connection.
fn serve(listener: TcpListener, app: Router, stopped: oneshot::Receiver<()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start the STAC API server's runtime: {e}"));
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .unwrap_or_else(|e| panic!("cannot register the STAC API listener: {e}"));
        tokio::select! {
            result = axum::serve(listener, app).into_future() => {
                if let Err(e) = result {
                    tracing::error!(error = %e, "the STAC API test server stopped");
                }
            }
            _ = stopped => {}
        }
    });
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(landing))
        .route("/collections/{collection}/items", post(create))
        .route(
            "/collections/{collection}/items/{id}",
            get(read).put(replace),
        )
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            count_and_fail,
        ))
        .with_state(shared)
}

/// Counts every request, and fails, stalls or redirects it if that is queued.
async fn count_and_fail(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    *lock(&shared.requests)
        .entry(request.method().to_string())
        .or_default() += 1;
    *lock(&shared.last_headers) = request.headers().clone();
    let injected = lock(&shared.injected).pop_front();
    match injected {
        Some(Injected::Fail(status)) => {
            error(status, "InjectedFailure", "a failure injected by the test")
        }
        Some(Injected::Stall(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(Injected::Redirect(status, location)) => {
            (status, [(LOCATION, location)]).into_response()
        }
        None => next.run(request).await,
    }
}

async fn landing() -> Json<Value> {
    Json(json!({
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "cirrus-test",
        "description": "An in-memory STAC API with Transactions, for Cirrus tests",
        "conformsTo": CONFORMS_TO,
        "links": [],
    }))
}

async fn create(
    State(shared): State<Arc<Shared>>,
    Path(collection): Path<String>,
    body: Bytes,
) -> Response {
    let (id, item) = match parse_item(&body, &collection, None) {
        Ok(parsed) => parsed,
        Err(description) => {
            return error(StatusCode::BAD_REQUEST, "BadRequest", &description);
        }
    };
    let key = (collection, id);
    let mut items = lock(&shared.items);
    if items.contains_key(&key) {
        let description = format!("Item {} already exists in collection {}", key.1, key.0);
        return error(StatusCode::CONFLICT, "ConflictError", &description);
    }
    items.insert(key, item.clone());
    (StatusCode::CREATED, Json(item)).into_response()
}

async fn replace(
    State(shared): State<Arc<Shared>>,
    Path((collection, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let item = match parse_item(&body, &collection, Some(&id)) {
        Ok((_, item)) => item,
        Err(description) => {
            return error(StatusCode::BAD_REQUEST, "BadRequest", &description);
        }
    };
    match lock(&shared.items).get_mut(&(collection, id)) {
        Some(stored) => {
            *stored = item.clone();
            (StatusCode::OK, Json(item)).into_response()
        }
        None => not_found(),
    }
}

async fn read(
    State(shared): State<Arc<Shared>>,
    Path((collection, id)): Path<(String, String)>,
) -> Response {
    match lock(&shared.items).get(&(collection, id)) {
        Some(item) => Json(item.clone()).into_response(),
        None => not_found(),
    }
}

/// The id and the item in a request body, its `collection` set to the path's if missing;
/// or why the request is a `400`.
fn parse_item(
    body: &[u8],
    collection: &str,
    path_id: Option<&str>,
) -> Result<(String, Value), String> {
    let mut item: Value =
        serde_json::from_slice(body).map_err(|e| format!("the request body is not JSON: {e}"))?;
    let Some(object) = item.as_object_mut() else {
        return Err("the request body is not a JSON object".into());
    };
    match object.get("type") {
        Some(Value::String(t)) if t == "Feature" => {}
        other => {
            let other = other.map_or("missing".to_string(), Value::to_string);
            return Err(format!(
                "the request body is not a STAC item: its \"type\" is {other}, not \"Feature\""
            ));
        }
    }
    let Some(id) = object.get("id").and_then(Value::as_str).map(str::to_string) else {
        return Err("the item has no \"id\" string".into());
    };
    if let Some(path_id) = path_id.filter(|path_id| *path_id != id) {
        return Err(format!("the item id {id:?} is not the path's, {path_id:?}"));
    }
    match object.get("collection") {
        None => {
            object.insert("collection".into(), collection.into());
        }
        Some(Value::String(c)) if c == collection => {}
        Some(other) => {
            return Err(format!(
                "the item's collection {other} is not the path's, {collection:?}"
            ));
        }
    }
    Ok((id, item))
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "NotFoundError", "no such item")
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"code": code, "description": description})),
    )
        .into_response()
}

/// Locks a mutex, recovering the data if a holder panicked: every update here is a single
/// insert, replace or push, so the data is never left half-changed.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
