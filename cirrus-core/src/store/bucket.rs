//! The payload bucket, in cirrus-geo 2.x's layout below a root prefix (`cirrus` by default):
//!
//! ```text
//! <root>/executions/<payload_id>/<execution>/input.json    kept: what each execution ran on
//! <root>/executions/<payload_id>/<execution>/output.json   kept: what it produced
//! <root>/tmp/oversized/<uuid>.json                         payloads too large to travel inline
//! <root>/tmp/batch/<payload_id>/<uuid>.json                payloads handed to Batch jobs
//! <root>/tmp/invalid/<uuid>.json                           queue messages that did not parse
//! ```
//!
//! Payload IDs contain `/`, and each part is a path segment, as in cirrus-geo, so
//! `sentinel-2-l2a/workflow-cog/S2B_X` is stored under `executions/sentinel-2-l2a/workflow-cog/S2B_X/`.
//! `<execution>` is the execution name (one segment). The UUIDs are random (version 4;
//! cirrus-geo uses version 1), so names never collide between writers.

use super::Store;
use crate::payload::size::must_travel_as_url;
use crate::{Error, Result};
use futures_util::{StreamExt, pin_mut};
use serde_json::{Value, json};

/// The root prefix cirrus-geo uses inside the payload bucket.
pub const DEFAULT_ROOT: &str = "cirrus";

const INPUT: &str = "input.json";
const OUTPUT: &str = "output.json";

/// The payload bucket: inputs and outputs of executions, and temporary payloads.
#[derive(Debug, Clone)]
pub struct PayloadBucket {
    root: Store,
}

impl PayloadBucket {
    /// The payload bucket at `url` (see [`Store::open`]) with the root prefix
    /// [`DEFAULT_ROOT`].
    pub fn open(url: &str) -> Result<PayloadBucket> {
        PayloadBucket::with_root(&Store::open(url)?, DEFAULT_ROOT)
    }

    /// The payload bucket in `store` below `root` (`""` for none).
    pub fn with_root(store: &Store, root: &str) -> Result<PayloadBucket> {
        Ok(PayloadBucket {
            root: store.child(root)?,
        })
    }

    /// This bucket with its local writes flushed together by [`Store::sync`] rather than
    /// one by one ([`Store::with_deferred_sync`]).
    pub fn with_deferred_sync(&self) -> PayloadBucket {
        PayloadBucket {
            root: self.root.with_deferred_sync(),
        }
    }

    /// The URL of the root prefix.
    pub fn url(&self) -> String {
        self.root.url()
    }

    /// The store at the root prefix.
    pub fn store(&self) -> &Store {
        &self.root
    }

    /// The URL of `executions/<payload_id>/<execution>/input.json`.
    pub fn input_url(&self, payload_id: &str, execution: &str) -> Result<String> {
        self.root
            .url_of(&execution_key(payload_id, execution, INPUT)?)
    }

    /// The URL of `executions/<payload_id>/<execution>/output.json`.
    pub fn output_url(&self, payload_id: &str, execution: &str) -> Result<String> {
        self.root
            .url_of(&execution_key(payload_id, execution, OUTPUT)?)
    }

    /// Writes the input payload of an execution and returns its URL.
    pub async fn put_input(
        &self,
        payload_id: &str,
        execution: &str,
        payload: &Value,
    ) -> Result<String> {
        self.put_execution_file(payload_id, execution, INPUT, payload)
            .await
    }

    /// Writes the output payload of an execution and returns its URL.
    pub async fn put_output(
        &self,
        payload_id: &str,
        execution: &str,
        payload: &Value,
    ) -> Result<String> {
        self.put_execution_file(payload_id, execution, OUTPUT, payload)
            .await
    }

    /// The input payload of `execution`, or of the latest execution that has one when
    /// `execution` is `None` (see [`PayloadBucket::latest_execution`]).
    pub async fn get_input(&self, payload_id: &str, execution: Option<&str>) -> Result<Value> {
        self.get_execution_file(payload_id, execution, INPUT).await
    }

    /// The output payload of `execution`, or of the latest execution that has one when
    /// `execution` is `None`. An execution still running (input, no output) is passed over.
    pub async fn get_output(&self, payload_id: &str, execution: Option<&str>) -> Result<Value> {
        self.get_execution_file(payload_id, execution, OUTPUT).await
    }

    /// The latest execution of `payload_id`: the one whose `input.json` was written last
    /// (by the store's last-modified time; on a tie, the greatest name). `None` when there is
    /// no execution. Executions of other payloads whose IDs extend this one (`a/b` and
    /// `a/b/c`) are not confused with it.
    pub async fn latest_execution(&self, payload_id: &str) -> Result<Option<String>> {
        self.latest_with(payload_id, INPUT).await
    }

    /// Writes a queue message that could not be parsed, as is, under `tmp/invalid/`, and
    /// returns its URL.
    pub async fn put_invalid(&self, raw: &str) -> Result<String> {
        let key = format!("tmp/invalid/{}.json", uuid::Uuid::new_v4());
        let url = self.root.put(&key, raw.as_bytes().to_vec()).await?;
        tracing::info!(%url, "unparsable message kept");
        Ok(url)
    }

    /// Writes a payload under `tmp/oversized/` and returns its URL.
    pub async fn put_oversized(&self, payload: &Value) -> Result<String> {
        let key = format!("tmp/oversized/{}.json", uuid::Uuid::new_v4());
        self.root.put_json(&key, payload).await
    }

    /// Writes a payload for a Batch job under `tmp/batch/<payload_id>/` and returns its URL.
    /// cirrus-geo's pre-batch step names the job's output `<url without .json>_out.json`.
    pub async fn put_batch(&self, payload_id: &str, payload: &Value) -> Result<String> {
        check_payload_id(payload_id)?;
        let key = format!("tmp/batch/{payload_id}/{}.json", uuid::Uuid::new_v4());
        self.root.put_json(&key, payload).await
    }

    /// The payload itself when it may travel inline, otherwise `{"url": …}` after writing it
    /// under `tmp/oversized/`. The limit is cirrus-geo's: the double-escaped JSON length
    /// ([`must_travel_as_url`]).
    pub async fn maybe_offload(&self, payload: &Value) -> Result<Value> {
        if !must_travel_as_url(payload) {
            return Ok(payload.clone());
        }
        let url = self.put_oversized(payload).await?;
        tracing::debug!(%url, "payload too large to travel inline; offloaded");
        Ok(json!({ "url": url }))
    }

    /// Reads the JSON object at `url` (`file://`, a path, or `s3://` with the `aws` feature).
    /// It need not be in this bucket; S3 URLs are read with the bucket's S3 options.
    pub async fn fetch(&self, url: &str) -> Result<Value> {
        self.root.fetch_json(url).await
    }

    /// `value` itself, or the payload it refers to when it is a reference: an object with a
    /// `url` (preferred) or `href` member and no `process` member.
    pub async fn resolve(&self, value: Value) -> Result<Value> {
        let url = match &value {
            Value::Object(map) if !map.contains_key("process") => {
                match map.get("url").or_else(|| map.get("href")) {
                    None => return Ok(value),
                    Some(Value::String(url)) if !url.is_empty() => url.clone(),
                    Some(other) => {
                        return Err(Error::invalid_argument(
                            "url",
                            format!(
                                "a payload reference must be a non-empty URL string, got {other}"
                            ),
                        ));
                    }
                }
            }
            _ => return Ok(value),
        };
        self.fetch(&url).await
    }

    async fn put_execution_file(
        &self,
        payload_id: &str,
        execution: &str,
        file: &str,
        payload: &Value,
    ) -> Result<String> {
        let key = execution_key(payload_id, execution, file)?;
        let url = self.root.put_json(&key, payload).await?;
        tracing::debug!(payload_id, execution, %url, "payload written");
        Ok(url)
    }

    async fn get_execution_file(
        &self,
        payload_id: &str,
        execution: Option<&str>,
        file: &str,
    ) -> Result<Value> {
        let execution = match execution {
            Some(execution) => execution.to_string(),
            None => self.latest_with(payload_id, file).await?.ok_or_else(|| {
                let dir = format!("executions/{payload_id}");
                let url = self.root.url_of(&dir).unwrap_or(dir);
                Error::ObjectNotFound(format!("{url}/<any execution>/{file}"))
            })?,
        };
        let key = execution_key(payload_id, &execution, file)?;
        match self.root.get_json(&key).await? {
            Some(value) => Ok(value),
            None => Err(Error::ObjectNotFound(self.root.url_of(&key)?)),
        }
    }

    /// The execution whose `file` was written last, if any.
    async fn latest_with(&self, payload_id: &str, file: &str) -> Result<Option<String>> {
        check_payload_id(payload_id)?;
        let dir = format!("executions/{payload_id}/");
        let listing = self.root.list(&dir)?;
        pin_mut!(listing);
        let mut latest: Option<(chrono::DateTime<chrono::Utc>, String)> = None;
        while let Some(object) = listing.next().await {
            let object = object?;
            let Some((execution, name)) = object
                .key
                .strip_prefix(&dir)
                .and_then(|rest| rest.split_once('/'))
            else {
                continue;
            };
            if name != file || execution.contains('/') {
                continue;
            }
            let candidate = (object.last_modified, execution.to_string());
            if latest.as_ref().is_none_or(|best| candidate > *best) {
                latest = Some(candidate);
            }
        }
        Ok(latest.map(|(_, execution)| execution))
    }
}

/// `executions/<payload_id>/<execution>/<file>`, after checking both parts.
///
/// An execution given by its Step Functions ARN (as the state records of a deployment hold
/// them, like cirrus-geo's) is filed under its name, the ARN's last part, as cirrus-geo does.
fn execution_key(payload_id: &str, execution: &str, file: &str) -> Result<String> {
    check_payload_id(payload_id)?;
    let execution = match execution.strip_prefix("arn:") {
        Some(arn) if arn.contains(":execution:") => arn.rsplit(':').next().unwrap_or(execution),
        _ => execution,
    };
    if let Some(problem) = segment_problem(execution) {
        return Err(Error::invalid_argument(
            "execution",
            format!("{execution:?}: {problem}"),
        ));
    }
    if execution.contains('/') {
        return Err(Error::invalid_argument(
            "execution",
            format!("{execution:?}: an execution name cannot contain '/'"),
        ));
    }
    Ok(format!("executions/{payload_id}/{execution}/{file}"))
}

/// A payload ID is a `/`-separated object path: every segment must be usable.
fn check_payload_id(payload_id: &str) -> Result<()> {
    for segment in payload_id.split('/') {
        if let Some(problem) = segment_problem(segment) {
            return Err(Error::invalid_argument(
                "payload_id",
                format!("{payload_id:?}: {problem}"),
            ));
        }
    }
    Ok(())
}

/// Why `segment` cannot be one segment of an object key, if it cannot.
fn segment_problem(segment: &str) -> Option<&'static str> {
    if segment.is_empty() {
        Some("empty path segment (leading, trailing or doubled '/')")
    } else if segment == "." || segment == ".." {
        Some("'.' and '..' cannot be path segments")
    } else if segment.chars().any(|c| c.is_ascii_control()) {
        Some("control characters cannot be stored in object keys")
    } else {
        None
    }
}

#[cfg(test)]
#[path = "bucket_tests.rs"]
mod tests;
