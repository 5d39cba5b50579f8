//! `pre-batch` and `post-batch`: the two Lambda steps around a Batch job, in cirrus-geo's
//! `url` / `url_out` contract.
//!
//! A Batch task runs as `pre-batch` → `batch:submitJob.sync` → `post-batch` in a
//! single-branch Parallel state. `pre-batch` writes the payload under
//! `<root>/tmp/batch/<payload_id>/<uuid>.json` (or keeps the `{"url"}` it was given) and
//! returns `{"url", "url_out"}`; the job runs `cirrus task run NAME Ref::url --output
//! Ref::url_out`. `post-batch` then returns the job's output payload (inline, or `{"url"}`
//! when too large); or, when the job failed and the Catch put its error in `$.error`, reads
//! the job's last log line from CloudWatch Logs (`/aws/batch/job`) and fails with the task's
//! own error: a task that raised `InvalidInput` in Batch makes the payload INVALID.

use super::HandlerError;
use super::context::Context;
use super::sfn::describe;
use cirrus_core::payload::ProcessPayload;
use regex::Regex;
use serde_json::{Value, json};
use std::sync::OnceLock;

/// The log group AWS Batch writes job logs to.
pub const BATCH_LOG_GROUP: &str = "/aws/batch/job";

/// `pre-batch`: `{"url", "url_out"}` for the payload (or reference) in `event`.
///
/// # Errors
///
/// `InvalidInput` when the event is neither a payload nor a reference; a retryable error
/// when the payload cannot be written.
pub async fn pre_batch(context: &Context, event: Value) -> Result<Value, HandlerError> {
    let url = match reference(&event) {
        Some(url) => url.to_string(),
        None => {
            let mut payload = ProcessPayload::from_value(event)
                .map_err(|e| HandlerError::new("InvalidInput", format!("pre-batch: {e}")))?
                .value;
            let id = payload
                .set_id()
                .map(str::to_string)
                .map_err(|e| HandlerError::new("InvalidInput", format!("pre-batch: {e}")))?;
            context.bucket.put_batch(&id, &payload.to_value()).await?
        }
    };
    let url_out = match url.strip_suffix(".json") {
        Some(stem) => format!("{stem}_out.json"),
        None => format!("{url}_out.json"),
    };
    Ok(json!({"url": url, "url_out": url_out}))
}

/// `post-batch`: the job's output payload, or the job's error.
///
/// # Errors
///
/// When `event.error` is set: an error named after the job's last log line
/// (`ErrorName: message`), or, without logs, the Catch's error name with the container's
/// and the job's status reasons. Otherwise, a retryable error when the output cannot be
/// read.
pub async fn post_batch(context: &Context, event: Value) -> Result<Value, HandlerError> {
    if let Some(error) = event.get("error").filter(|e| !e.is_null()) {
        return Err(job_error(context, error).await);
    }
    let url_out = event
        .pointer("/Parameters/url_out")
        .or_else(|| event.get("url_out"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            HandlerError::bad_event(
                "post-batch: the event has neither `error` nor `Parameters.url_out` (is the Batch job's output the state's input?)",
            )
        })?;
    let output = context.bucket.fetch(url_out).await?;
    Ok(context.bucket.maybe_offload(&output).await?)
}

/// A `{"url"}` / `{"href"}` reference's URL.
fn reference(event: &Value) -> Option<&str> {
    let map = event.as_object()?;
    if map.contains_key("process") {
        return None;
    }
    map.get("url").or_else(|| map.get("href"))?.as_str()
}

/// The error a failed Batch job raised, from its last log line.
async fn job_error(context: &Context, error: &Value) -> HandlerError {
    let name = error
        .get("Error")
        .and_then(Value::as_str)
        .unwrap_or("States.TaskFailed")
        .to_string();
    let cause: Value = match error.get("Cause") {
        Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    let stream = cause
        .get("Attempts")
        .and_then(Value::as_array)
        .and_then(|attempts| attempts.last())
        .and_then(|attempt| attempt.pointer("/Container/LogStreamName"))
        .or_else(|| cause.pointer("/Container/LogStreamName"))
        .and_then(Value::as_str);
    if let Some(stream) = stream {
        match last_log_line(context, stream).await {
            Ok(Some(line)) => {
                let (error_type, message) = parse_error_line(&line);
                tracing::info!(
                    stream,
                    error_type = error_type.as_deref(),
                    "the Batch job's error"
                );
                return HandlerError::new(error_type.unwrap_or(name), message);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(stream, error = %e, "the Batch job's log cannot be read");
            }
        }
    }
    let reason = |pointer: &str| {
        cause
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_string()
    };
    HandlerError::new(
        name,
        format!(
            "Unable to get error log, container likely never ran. Container Reason: {}; Status Reason: {}",
            reason("/Container/Reason"),
            reason("/StatusReason")
        ),
    )
}

/// The last non-empty message of a Batch job's log stream.
async fn last_log_line(context: &Context, stream: &str) -> Result<Option<String>, HandlerError> {
    let events = context
        .logs
        .get_log_events()
        .log_group_name(BATCH_LOG_GROUP)
        .log_stream_name(stream)
        .start_from_head(false)
        .limit(50)
        .send()
        .await
        .map_err(|e| {
            HandlerError::aws(format!(
                "logs:GetLogEvents {BATCH_LOG_GROUP} {stream}: {}",
                describe(&e)
            ))
        })?;
    Ok(events
        .events()
        .iter()
        .rev()
        .filter_map(|e| e.message())
        .map(str::trim)
        .find(|m| !m.is_empty())
        .map(str::to_string))
}

/// A log line `ErrorName: message` split as cirrus-geo does (`^(?:([\.\w]+):)?\s*(.*)`):
/// the error name, when there is one, and the message.
pub fn parse_error_line(line: &str) -> (Option<String>, String) {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(r"^(?:([\.\w]+):)?\s*(.*)").expect("the error line pattern is valid")
    });
    match pattern.captures(line) {
        Some(captures) => (
            captures.get(1).map(|m| m.as_str().to_string()),
            captures
                .get(2)
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
        ),
        None => (None, line.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_error_line;

    #[test]
    fn error_lines_split_like_cirrus_geo() {
        assert_eq!(
            parse_error_line("InvalidInput: no band at 860 nm"),
            (Some("InvalidInput".into()), "no band at 860 nm".into())
        );
        assert_eq!(
            parse_error_line("stactask.exceptions.InvalidInput: bad"),
            (
                Some("stactask.exceptions.InvalidInput".into()),
                "bad".into()
            )
        );
        assert_eq!(
            parse_error_line("Segmentation fault"),
            (None, "Segmentation fault".into())
        );
    }
}
