//! A [`MessageSink`] that publishes STAC items to a STAC API's Transactions endpoint:
//! [`StacApiSink`] (feature `stac-api`, on by default).
//!
//! Each message body is a STAC item. It is created with
//! `POST {base}/collections/{collection}/items`; when the API answers `409 Conflict` (the item
//! exists), it is replaced with `PUT {base}/collections/{collection}/items/{id}`, so publishing
//! an item again updates it. `429` and `5xx` answers, timeouts and connection errors are
//! retried with exponential backoff and jitter; any other answer is an error naming the item,
//! the URL, the status and the start of the response body.
//!
//! ```no_run
//! # async fn demo() -> cirrus_core::Result<()> {
//! use cirrus_core::process::{Message, MessageSink, StacApiSink};
//! use serde_json::json;
//!
//! let sink = StacApiSink::new("https://stac.example.com/")?
//!     .with_header("Authorization", "Bearer secret")?;
//! let item = json!({"type": "Feature", "id": "a", "collection": "c"});
//! sink.publish(&[Message::item(item)]).await?;
//! # Ok(())
//! # }
//! ```

use super::sink::{Message, MessageSink};
use crate::{Error, Result};
use async_trait::async_trait;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, redirect};
use serde_json::Value;
use std::fmt;
use std::time::Duration;
use url::Url;

/// How long one request may take, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times a request is retried after a `429`, a `5xx`, a timeout or a connection
/// error, by default.
pub const DEFAULT_RETRIES: u32 = 3;

/// The delay before the first retry, by default; each retry doubles it.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(100);

/// The longest delay between two attempts, however many retries are configured.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How much of an error response is read; of that, [`BODY_CHARS`] characters are quoted.
const BODY_BYTES: usize = 4096;

/// How many characters of an error response an error message quotes.
const BODY_CHARS: usize = 500;

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is encoded in a
/// path segment, so an id with `/`, `?`, `#`, `%` or spaces stays one segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Publishes each message body, a STAC item, to a STAC API's Transactions endpoint: `POST`
/// to create, `PUT` when it already exists.
///
/// Built with [`new`](Self::new), then optionally [`with_timeout`](Self::with_timeout),
/// [`with_retries`](Self::with_retries), [`with_backoff`](Self::with_backoff) and
/// [`with_header`](Self::with_header). A batch is checked first (every item needs a string
/// `id` and `collection`), then sent one item at a time, in order; the first failure stops
/// it and is returned. [`flush`](MessageSink::flush) does nothing: an item is stored once
/// its request has succeeded.
#[derive(Clone)]
pub struct StacApiSink {
    /// The base URL, its path ending with `/`.
    base: Url,
    /// `stac-api <base>`, the password (if any) redacted: the sink's name in errors.
    name: String,
    client: reqwest::Client,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
    headers: HeaderMap,
}

impl StacApiSink {
    /// A sink publishing to the STAC API at `base_url` (`http://` or `https://`; a path such
    /// as `https://host/stac/v1` is kept, and items go under it).
    ///
    /// # Errors
    ///
    /// [`Error::Sink`] naming the URL when it does not parse, is not `http(s)`, or has a query
    /// or fragment; or when the HTTP client cannot be built (no TLS configuration).
    pub fn new(base_url: &str) -> Result<StacApiSink> {
        let invalid = |message: String| Error::Sink {
            sink: format!("stac-api {base_url}"),
            message,
            source: None,
        };
        let mut base = Url::parse(base_url)
            .map_err(|e| invalid(format!("invalid STAC API URL {base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "the STAC API URL {:?} is not http:// or https://",
                redacted(&base)
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid(format!(
                "the STAC API URL {:?} has a query or fragment; give the API's root URL",
                redacted(&base)
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let name = format!("stac-api {}", redacted(&base));
        let client = reqwest::Client::builder()
            .user_agent(concat!("cirrus/", env!("CARGO_PKG_VERSION")))
            .redirect(redirect::Policy::custom(follow_preserving_method))
            .build()
            .map_err(|e| Error::Sink {
                sink: name.clone(),
                message: "cannot build the HTTP client".into(),
                source: Some(e.into()),
            })?;
        Ok(StacApiSink {
            base,
            name,
            client,
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            backoff: DEFAULT_BACKOFF,
            headers: HeaderMap::new(),
        })
    }

    /// The same sink, each request allowed `timeout` (default [`DEFAULT_TIMEOUT`], 30 s)
    /// from sending to the end of the response. A timed-out request is retried.
    pub fn with_timeout(mut self, timeout: Duration) -> StacApiSink {
        self.timeout = timeout;
        self
    }

    /// The same sink, a request retried up to `retries` times (default
    /// [`DEFAULT_RETRIES`], 3) after a `429`, a `5xx`, a timeout or a connection error. `0`
    /// never retries.
    pub fn with_retries(mut self, retries: u32) -> StacApiSink {
        self.retries = retries;
        self
    }

    /// The same sink, waiting about `backoff` (default [`DEFAULT_BACKOFF`], 100 ms) before
    /// the first retry, twice that before the second, and so on, up to 30 s. Each delay is
    /// drawn at random between half and all of that, so that many publishers do not retry in
    /// step.
    pub fn with_backoff(mut self, backoff: Duration) -> StacApiSink {
        self.backoff = backoff;
        self
    }

    /// The same sink, sending the header `name: value` with every request (e.g.
    /// `Authorization`). Values are marked sensitive: they never appear in logs or `Debug`.
    ///
    /// # Errors
    ///
    /// [`Error::Sink`] naming the header when the name or the value is not valid in HTTP.
    pub fn with_header(mut self, name: &str, value: &str) -> Result<StacApiSink> {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| self.error(format!("invalid header name {name:?}"), Some(e.into())))?;
        let mut value = HeaderValue::from_str(value).map_err(|e| {
            self.error(format!("invalid value for header {name:?}"), Some(e.into()))
        })?;
        value.set_sensitive(true);
        self.headers.insert(header, value);
        Ok(self)
    }

    /// The same sink, with each `(name, value)` of `headers` added as by
    /// [`with_header`](Self::with_header).
    ///
    /// # Errors
    ///
    /// As [`with_header`](Self::with_header), for the first invalid header.
    pub fn with_headers<I, K, V>(self, headers: I) -> Result<StacApiSink>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        headers.into_iter().try_fold(self, |sink, (name, value)| {
            sink.with_header(name.as_ref(), value.as_ref())
        })
    }

    /// The base URL items are published under, its path ending with `/`.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// Creates or replaces one item.
    async fn put_item(&self, item: &Target<'_>) -> Result<()> {
        let created = self.send(Method::POST, &item.items_url, item).await?;
        let answer = if created.status == StatusCode::CONFLICT {
            tracing::debug!(
                item_id = item.id,
                collection = item.collection,
                "the item exists; replacing it"
            );
            self.send(Method::PUT, &item.item_url, item).await?
        } else {
            created
        };
        if answer.status.is_success() {
            tracing::debug!(
                item_id = item.id,
                collection = item.collection,
                method = %answer.method,
                status = answer.status.as_u16(),
                "published the item"
            );
            return Ok(());
        }
        let retried = if answer.attempts > 1 {
            format!(" (after {} attempts)", answer.attempts)
        } else {
            String::new()
        };
        Err(self.error(
            format!(
                "item {:?} in collection {:?}: {} {} answered {}{retried}: {}",
                item.id,
                item.collection,
                answer.method,
                redacted(&answer.url),
                answer.status,
                answer.body
            ),
            None,
        ))
    }

    /// Sends `item` with `method` to `url`, retrying `429`, `5xx`, timeouts and connection
    /// errors, and returns the first other answer, or the last one.
    async fn send(&self, method: Method, url: &Url, item: &Target<'_>) -> Result<Answer> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let retry = attempt <= self.retries;
            let sent = self
                .client
                .request(method.clone(), url.clone())
                .headers(self.headers.clone())
                .timeout(self.timeout)
                .json(item.body)
                .send()
                .await;
            let problem = match sent {
                Ok(mut response) => {
                    let status = response.status();
                    let retryable =
                        status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
                    let body = if status.is_success() {
                        // Read to the end, so that the connection can be reused.
                        let _ = response.bytes().await;
                        String::new()
                    } else if status.is_redirection() {
                        let location = response
                            .headers()
                            .get(reqwest::header::LOCATION)
                            .and_then(|l| l.to_str().ok())
                            .unwrap_or("nowhere");
                        format!(
                            "a redirect to {location}, which is not followed (only 307 and 308 \
                             are); configure the final URL"
                        )
                    } else {
                        body_start(&mut response).await
                    };
                    if !(retryable && retry) {
                        return Ok(Answer {
                            method,
                            url: url.clone(),
                            status,
                            body,
                            attempts: attempt,
                        });
                    }
                    format!("answered {status}: {body}")
                }
                Err(e) if retry && transient(&e) => describe(&e, self.timeout),
                Err(e) => {
                    let retried = if attempt > 1 {
                        format!(" (after {attempt} attempts)")
                    } else {
                        String::new()
                    };
                    return Err(self.error(
                        format!(
                            "item {:?} in collection {:?}: {method} {}: {}{retried}",
                            item.id,
                            item.collection,
                            redacted(url),
                            describe(&e, self.timeout)
                        ),
                        Some(e.into()),
                    ));
                }
            };
            let delay = self.delay(attempt);
            tracing::warn!(
                item_id = item.id,
                collection = item.collection,
                %method,
                url = redacted(url),
                attempt,
                retries = self.retries,
                delay_ms = delay.as_millis() as u64,
                "{problem}; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// The delay after failed attempt number `attempt` (1-based): the backoff doubled
    /// `attempt - 1` times, capped, then "equal jitter" (between half and all of it).
    fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        let full = self.backoff.saturating_mul(factor).min(MAX_BACKOFF);
        let half = full / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// The item to publish from a message, with its URLs; an error when it has no `id` or
    /// no `collection`, or one that cannot be a path segment.
    fn target<'a>(&self, index: usize, message: &'a Message) -> Result<Target<'a>> {
        let body = &message.body;
        let Some(object) = body.as_object() else {
            return Err(self.error(
                format!(
                    "message {} is not a STAC item: its body is not a JSON object",
                    index + 1
                ),
                None,
            ));
        };
        let id = object.get("id").and_then(Value::as_str);
        let collection = object.get("collection").and_then(Value::as_str);
        let (id, collection) = match (id, collection) {
            (Some(id), Some(collection)) => (id, collection),
            (None, _) => {
                return Err(self.error(
                    format!(
                        "message {} has no \"id\" string (collection {:?}); a STAC API needs it",
                        index + 1,
                        collection.unwrap_or("none"),
                    ),
                    None,
                ));
            }
            (Some(id), None) => {
                return Err(self.error(
                    format!(
                        "item {id:?} has no \"collection\" string; a STAC API needs it to \
                         choose /collections/{{collection}}/items"
                    ),
                    None,
                ));
            }
        };
        let collection_segment = self.segment(id, "collection", collection)?;
        let id_segment = self.segment(id, "id", id)?;
        let join = |path: String| {
            self.base.join(&path).map_err(|e| {
                self.error(
                    format!("item {id:?} in collection {collection:?}: cannot build its URL"),
                    Some(e.into()),
                )
            })
        };
        Ok(Target {
            id,
            collection,
            body,
            items_url: join(format!("collections/{collection_segment}/items"))?,
            item_url: join(format!(
                "collections/{collection_segment}/items/{id_segment}"
            ))?,
        })
    }

    /// `value` percent-encoded as one URL path segment; an error naming item `id` and
    /// `field` when it is empty, `.` or `..`, which a URL path cannot carry as a segment.
    fn segment(&self, id: &str, field: &str, value: &str) -> Result<String> {
        if matches!(value, "" | "." | "..") {
            return Err(self.error(
                format!("item {id:?}: {field} {value:?} cannot be a URL path segment"),
                None,
            ));
        }
        Ok(utf8_percent_encode(value, SEGMENT).to_string())
    }

    fn error(
        &self,
        message: String,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Sink {
            sink: self.name.clone(),
            message,
            source,
        }
    }
}

impl fmt::Debug for StacApiSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StacApiSink")
            .field("base", &redacted(&self.base))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[async_trait]
impl MessageSink for StacApiSink {
    async fn publish(&self, messages: &[Message]) -> Result<()> {
        let targets = messages
            .iter()
            .enumerate()
            .map(|(i, message)| self.target(i, message))
            .collect::<Result<Vec<_>>>()?;
        for target in &targets {
            self.put_item(target).await?;
        }
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// One item to publish.
struct Target<'a> {
    id: &'a str,
    collection: &'a str,
    body: &'a Value,
    /// `{base}collections/{collection}/items`
    items_url: Url,
    /// `{base}collections/{collection}/items/{id}`
    item_url: Url,
}

/// The answer to a request, after any retries.
struct Answer {
    method: Method,
    url: Url,
    status: StatusCode,
    /// The start of the body, for an answer that is not a success; empty otherwise.
    body: String,
    /// How many requests were sent.
    attempts: u32,
}

/// Whether a request that got no answer may be sent again: it timed out, could not
/// connect, or the connection failed before the answer (not a bad URL or a redirect loop).
fn transient(e: &reqwest::Error) -> bool {
    !(e.is_builder() || e.is_redirect())
}

/// What went wrong with a request that got no answer, in a few words.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("timed out after {timeout:?}")
    } else if e.is_connect() {
        format!("cannot connect: {}", error_chain(e))
    } else {
        error_chain(e)
    }
}

/// An error and its sources, joined by `: ` (reqwest's own message is only "error sending
/// request"; the cause is in the sources).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The first [`BODY_CHARS`] characters of a response body (at most [`BODY_BYTES`] are
/// read), or `(empty body)`.
async fn body_start(response: &mut reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the rest of the error response");
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    let mut chars = text.char_indices();
    match chars.nth(BODY_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None if bytes.len() >= BODY_BYTES => format!("{text}…"),
        None => text.to_string(),
    }
}

/// Follows redirects that keep the method and body (307, 308), at most 10; stops at any
/// other, which then is an error. (A client follows 301, 302 and 303 with a `GET` and no
/// body, which could answer 200 without storing anything.)
fn follow_preserving_method(attempt: redirect::Attempt<'_>) -> redirect::Action {
    let keeps_method = matches!(
        attempt.status(),
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
    );
    if keeps_method && attempt.previous().len() < 10 {
        attempt.follow()
    } else {
        attempt.stop()
    }
}

/// `url` with its password, if any, replaced by `***`, for messages and logs.
fn redacted(url: &Url) -> String {
    if url.password().is_none() {
        return url.to_string();
    }
    let mut url = url.clone();
    // Cannot fail: the URL has a password, so it has a host and can carry one.
    let _ = url.set_password(Some("***"));
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls_are_percent_encoded_under_the_base_path() {
        let sink = StacApiSink::new("http://127.0.0.1:1/stac/v1").unwrap();
        assert_eq!(sink.base_url(), "http://127.0.0.1:1/stac/v1/");
        let message = Message::item(json!({"id": "a b/c?d#e%f", "collection": "x:y"}));
        let target = sink.target(0, &message).unwrap();
        assert_eq!(
            target.items_url.as_str(),
            "http://127.0.0.1:1/stac/v1/collections/x%3Ay/items"
        );
        assert_eq!(
            target.item_url.as_str(),
            "http://127.0.0.1:1/stac/v1/collections/x%3Ay/items/a%20b%2Fc%3Fd%23e%25f"
        );
    }

    #[test]
    fn dot_segments_are_rejected() {
        let sink = StacApiSink::new("http://127.0.0.1:1/").unwrap();
        let message = Message::item(json!({"id": "..", "collection": "c"}));
        let error = sink.target(0, &message).err().unwrap().to_string();
        assert!(
            error.contains(r#"id ".." cannot be a URL path segment"#),
            "{error}"
        );
    }

    #[test]
    fn delays_grow_with_jitter_and_are_capped() {
        let sink = StacApiSink::new("http://127.0.0.1:1/")
            .unwrap()
            .with_backoff(Duration::from_millis(100));
        for (attempt, full) in [(1, 100), (2, 200), (3, 400)] {
            let delay = sink.delay(attempt);
            let full = Duration::from_millis(full);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
        assert!(sink.delay(40) <= MAX_BACKOFF);
    }

    #[test]
    fn passwords_and_header_values_are_not_shown() {
        let sink = StacApiSink::new("https://user:hunter2@example.com/")
            .unwrap()
            .with_header("Authorization", "Bearer hunter2")
            .unwrap();
        let debug = format!("{sink:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("authorization"), "{debug}");
        let message = Message::item(json!({"id": "a"}));
        let error = sink.target(0, &message).err().unwrap().to_string();
        assert!(
            error.contains("stac-api https://user:***@example.com/"),
            "{error}"
        );
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn bad_headers_are_errors_naming_them() {
        let sink = StacApiSink::new("http://127.0.0.1:1/").unwrap();
        let error = sink.with_header("bad name", "v").unwrap_err().to_string();
        assert!(
            error.contains(r#"invalid header name "bad name""#),
            "{error}"
        );
    }
}
