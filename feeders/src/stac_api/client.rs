//! The HTTP side of the STAC API feeder: one page request, with retries and exponential
//! backoff on connection errors, timeouts, 429 and 5xx.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use stac::api::ItemCollection;
use std::time::Duration;

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// One page request: what a `next` link says to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRequest {
    /// `GET` or `POST`.
    pub method: HttpMethod,
    /// The URL, with its query for GET.
    pub href: String,
    /// The JSON body of a POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Map<String, Value>>,
}

/// The HTTP method of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// Parameters in the query string.
    Get,
    /// Parameters in a JSON body (needed for `intersects` and cql2-json filters on most
    /// servers).
    #[default]
    Post,
}

impl HttpMethod {
    fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

impl PageRequest {
    /// The request a `next` link asks for after `self`, or `None` when there is no `next`
    /// link. A POST link's body replaces the previous body, or is merged into it when the
    /// link says `"merge": true`.
    pub fn next(&self, page: &ItemCollection) -> Option<PageRequest> {
        let link = page.links.iter().find(|l| l.rel == "next")?;
        let method = match link.method.as_deref() {
            Some(m) if m.eq_ignore_ascii_case("POST") => HttpMethod::Post,
            _ => HttpMethod::Get,
        };
        let body = match method {
            HttpMethod::Get => None,
            HttpMethod::Post => {
                let merge = link.merge.unwrap_or(false);
                let mut body = if merge {
                    self.body.clone().unwrap_or_default()
                } else {
                    Map::new()
                };
                for (k, v) in link.body.clone().unwrap_or_default() {
                    body.insert(k, v);
                }
                Some(body)
            }
        };
        Some(PageRequest {
            method,
            href: link.href.clone(),
            body,
        })
    }
}

/// Retry settings.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first wait; each next one doubles (with ±25 % jitter), up to a minute.
    pub backoff: Duration,
}

/// An HTTP client for search pages.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    retry: Retry,
}

impl Client {
    /// A client with `headers` on every request and a `timeout` per request.
    pub fn new(headers: &[(String, String)], timeout: Duration, retry: Retry) -> Result<Client> {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            let header_name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::invalid_argument("source.headers", format!("{name:?}: {e}")))?;
            let header_value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|e| Error::invalid_argument("source.headers", format!("{name}: {e}")))?;
            map.insert(header_name, header_value);
        }
        let http = reqwest::Client::builder()
            .default_headers(map)
            .timeout(timeout)
            .user_agent(concat!("cirrus-feeders/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Error::invalid_argument("source", format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(Client { http, retry })
    }

    /// Fetches one page, retrying what is worth retrying. A body that is not a STAC item
    /// collection is an error at once: retrying would not change it.
    pub async fn page(&self, request: &PageRequest) -> Result<ItemCollection> {
        let method = request.method.as_str();
        let http_error = |message: String| Error::Http {
            method,
            url: request.href.clone(),
            message,
        };
        let mut attempt = 0;
        loop {
            let builder = match request.method {
                HttpMethod::Get => self.http.get(&request.href),
                HttpMethod::Post => self
                    .http
                    .post(&request.href)
                    .json(request.body.as_ref().unwrap_or(&Map::new())),
            };
            let (message, retry_after): (String, Option<Duration>) = match builder.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(&response);
                    if status.is_success() {
                        match response.bytes().await {
                            Ok(body) => return parse_page(&request.href, &body),
                            Err(e) => (format!("reading the body failed: {e}"), None),
                        }
                    } else if status.as_u16() == 429 || status.is_server_error() {
                        let body = response.text().await.unwrap_or_default();
                        (format!("{status}: {}", excerpt(&body)), retry_after)
                    } else {
                        let body = response.text().await.unwrap_or_default();
                        return Err(http_error(format!("{status}: {}", excerpt(&body))));
                    }
                }
                Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => {
                    (e.to_string(), None)
                }
                Err(e) => return Err(http_error(e.to_string())),
            };
            if attempt >= self.retry.retries {
                return Err(http_error(format!(
                    "{message} (gave up after {} attempts)",
                    attempt + 1
                )));
            }
            let wait = retry_after.unwrap_or_else(|| backoff(self.retry.backoff, attempt));
            tracing::warn!(method, url = %request.href, attempt = attempt + 1, wait_ms = wait.as_millis() as u64, "{message}; retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// The wait before retry number `attempt` (0-based): `base * 2^attempt`, ±25 %, at most a
/// minute.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF);
    exp.mul_f64(0.75 + fastrand::f64() * 0.5).min(MAX_BACKOFF)
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_BACKOFF))
}

fn parse_page(url: &str, body: &[u8]) -> Result<ItemCollection> {
    serde_json::from_slice(body).map_err(|e| Error::InvalidDocument {
        url: url.to_string(),
        message: format!(
            "the response is not a STAC item collection ({e}); it starts with {:?}",
            excerpt(&String::from_utf8_lossy(body))
        ),
    })
}

/// The first 200 characters of `text`.
fn excerpt(text: &str) -> String {
    let mut s: String = text.chars().take(200).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn backoff_doubles_within_jitter() {
        let base = Duration::from_millis(100);
        for attempt in 0..4 {
            let wait = backoff(base, attempt).as_secs_f64();
            let exp = 0.1 * f64::from(1u32 << attempt);
            assert!(
                wait >= exp * 0.74 && wait <= exp * 1.26,
                "{attempt}: {wait}"
            );
        }
        assert!(backoff(base, 30) <= MAX_BACKOFF);
    }

    #[test]
    fn next_links_for_get_and_post() {
        let page: ItemCollection = serde_json::from_value(json!({
            "type": "FeatureCollection", "features": [],
            "links": [{"rel": "next", "href": "http://x/search", "method": "POST", "body": {"token": "t2"}, "merge": true}]
        }))
        .unwrap();
        let first = PageRequest {
            method: HttpMethod::Post,
            href: "http://x/search".into(),
            body: json!({"limit": 10, "token": "t1"}).as_object().cloned(),
        };
        let next = first.next(&page).unwrap();
        assert_eq!(next.method, HttpMethod::Post);
        assert_eq!(
            Value::Object(next.body.unwrap()),
            json!({"limit": 10, "token": "t2"})
        );
        let get: ItemCollection = serde_json::from_value(json!({
            "type": "FeatureCollection", "features": [],
            "links": [{"rel": "next", "href": "http://x/search?skip=10"}]
        }))
        .unwrap();
        let next = first.next(&get).unwrap();
        assert_eq!((next.method, next.body), (HttpMethod::Get, None));
        let last: ItemCollection = serde_json::from_value(
            json!({"type": "FeatureCollection", "features": [], "links": []}),
        )
        .unwrap();
        assert!(first.next(&last).is_none());
    }
}
