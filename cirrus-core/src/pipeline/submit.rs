//! Putting payloads on the process queue (`cirrus process`).

use super::Pipeline;
use super::stats::{Counter, Stats};
use crate::Result;
use crate::payload::{Parsed, PayloadInput, size::must_travel_as_url};
use crate::process::{
    Envelope, Message, MessageSink, Rejected, Rejection, WorkflowEvent, WorkflowEventType, extract,
};
use crate::queue::Queue;
use crate::state::{StateKey, Timestamp};
use crate::store::PayloadBucket;
use serde::Serialize;
use std::sync::Arc;

/// What [`Pipeline::submit`] did with one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Submitted {
    /// On the queue.
    Enqueued {
        /// The queue message ID.
        message_id: String,
        /// The IDs of the payloads it carries inline (a `{"url"}` reference is only read
        /// by `process`).
        payload_ids: Vec<String>,
        /// Where the payload was written when it was too large to travel inline.
        #[serde(skip_serializing_if = "Option::is_none")]
        offloaded_to: Option<String>,
    },
    /// No record of the message is a process payload: it was not enqueued, a
    /// `RECORD_EXTRACT_FAILED` or `NOT_A_PROCESS_PAYLOAD` event was emitted, and the raw
    /// message was kept.
    Rejected {
        /// The event type.
        event_type: WorkflowEventType,
        /// What is wrong, naming the field.
        reason: String,
        /// Where the raw message is kept (`<root>/tmp/invalid/…`).
        kept_at: String,
    },
}

/// How many messages one `send_batch` carries.
const SEND_CHUNK: usize = 500;

impl Pipeline {
    /// Puts messages on the process queue, one result per message, in order: see
    /// [`Submitter::submit`].
    pub async fn submit(&self, bodies: &[String]) -> Result<Vec<Submitted>> {
        Submitter {
            queue: self.inner.queue.clone(),
            bucket: self.inner.bucket.clone(),
            events: self.inner.events.clone(),
            stats: Some(self.inner.stats.clone()),
        }
        .submit(bodies)
        .await
    }

    /// A record that is not a usable payload: its raw text is kept under `tmp/invalid/`, and
    /// its `RECORD_EXTRACT_FAILED` / `NOT_A_PROCESS_PAYLOAD` event, pointing there, is added
    /// to `events`. Returns where the raw text is kept.
    pub(super) async fn reject(
        &self,
        rejected: &Rejected,
        raw: &str,
        events: &mut Vec<WorkflowEvent>,
    ) -> Result<String> {
        let kept_at = keep_rejected(&self.inner.bucket, rejected, raw, events).await?;
        self.inner.stats.add(Counter::Rejected, 1);
        Ok(kept_at)
    }
}

/// Puts messages on a process queue, as `cirrus process` does, on any [`Queue`] (the local
/// SQLite queue, SQS) with any payload bucket: the submitting half of a [`Pipeline`], for
/// callers that do not run one (the CLI against a deployment, feeders).
#[derive(Clone)]
pub struct Submitter {
    queue: Arc<dyn Queue>,
    bucket: PayloadBucket,
    events: Vec<Arc<dyn MessageSink>>,
    stats: Option<Arc<Stats>>,
}

impl std::fmt::Debug for Submitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitter")
            .field("bucket", &self.bucket.url())
            .finish_non_exhaustive()
    }
}

impl Submitter {
    /// A submitter sending to `queue`, offloading oversized payloads to and keeping rejected
    /// messages in `bucket`.
    pub fn new(queue: Arc<dyn Queue>, bucket: PayloadBucket) -> Submitter {
        Submitter {
            queue,
            bucket,
            events: Vec::new(),
            stats: None,
        }
    }

    /// Also sends the workflow events of rejected messages to `sink`.
    pub fn event_sink(mut self, sink: Arc<dyn MessageSink>) -> Submitter {
        self.events.push(sink);
        self
    }

    /// Puts messages on the process queue, one result per message, in order.
    ///
    /// Each message may be any shape `process` accepts (raw payload, `{"url"}`, SQS, SNS, SNS
    /// in SQS). A message with no usable record is rejected here rather than enqueued, with
    /// the event and the kept copy `process` would have made; a message with at least one
    /// usable record is enqueued whole (`process` rejects its bad records). A raw payload too
    /// large to travel inline is written under `tmp/oversized/` and enqueued as `{"url"}`.
    pub async fn submit(&self, bodies: &[String]) -> Result<Vec<Submitted>> {
        let mut results: Vec<Option<Submitted>> = vec![None; bodies.len()];
        let mut to_send: Vec<(usize, String, Vec<String>, Option<String>)> = Vec::new();
        let mut events = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            let mut records = extract(body);
            let single_raw = records.len() == 1 && records[0].envelope == Envelope::Raw;
            let mut payload_ids = Vec::new();
            let mut oversized = None;
            for record in &mut records {
                let Ok(Parsed {
                    value: PayloadInput::Payload(payload),
                    ..
                }) = &record.outcome
                else {
                    continue;
                };
                match payload.id().and_then(|id| StateKey::parse(&id)) {
                    Ok(key) => {
                        payload_ids.push(key.as_str().to_string());
                        if single_raw {
                            let value = payload.to_value();
                            oversized = must_travel_as_url(&value).then_some(value);
                        }
                    }
                    // As `process` would: a payload whose ID cannot be computed is not one.
                    Err(e) => {
                        record.outcome = Err(Rejected {
                            rejection: Rejection::NotAProcessPayload,
                            reason: format!("id: {e}"),
                            problems: Vec::new(),
                            raw: body.clone(),
                        });
                    }
                }
            }
            if let Some(rejected) = all_rejected(&records) {
                let kept_at = keep_rejected(&self.bucket, rejected, body, &mut events).await?;
                if let Some(stats) = &self.stats {
                    stats.add(Counter::Rejected, 1);
                }
                results[i] = Some(Submitted::Rejected {
                    event_type: rejected.rejection.event_type(),
                    reason: rejected.reason.clone(),
                    kept_at,
                });
                continue;
            }
            let offloaded_to = match oversized {
                Some(value) => Some(self.bucket.put_oversized(&value).await?),
                None => None,
            };
            let body = match &offloaded_to {
                Some(url) => serde_json::json!({ "url": url }).to_string(),
                None => body.clone(),
            };
            to_send.push((i, body, payload_ids, offloaded_to));
        }
        if !events.is_empty() {
            let messages: Vec<Message> = events.iter().map(WorkflowEvent::to_message).collect();
            for sink in &self.events {
                sink.publish(&messages).await?;
                sink.flush().await?;
            }
        }
        for chunk in to_send.chunks(SEND_CHUNK) {
            let bodies: Vec<String> = chunk.iter().map(|(_, body, _, _)| body.clone()).collect();
            let ids = self.queue.send_batch(&bodies).await?;
            for ((i, _, payload_ids, offloaded_to), message_id) in chunk.iter().zip(ids) {
                results[*i] = Some(Submitted::Enqueued {
                    message_id,
                    payload_ids: payload_ids.clone(),
                    offloaded_to: offloaded_to.clone(),
                });
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every message is either rejected or sent"))
            .collect())
    }
}

/// Keeps a rejected record's raw text under `tmp/invalid/` and adds its event, pointing there,
/// to `events`. Returns where the raw text is kept.
async fn keep_rejected(
    bucket: &PayloadBucket,
    rejected: &Rejected,
    raw: &str,
    events: &mut Vec<WorkflowEvent>,
) -> Result<String> {
    let kept_at = bucket.put_invalid(raw).await?;
    tracing::warn!(reason = %rejected, %kept_at, "record rejected");
    events.push(rejected.event(Timestamp::now()).with_input_url(&kept_at));
    Ok(kept_at)
}

/// The first rejection, when every record is rejected.
fn all_rejected(records: &[crate::process::Record]) -> Option<&Rejected> {
    let mut first = None;
    for record in records {
        match &record.outcome {
            Ok(_) => return None,
            Err(rejected) => {
                first.get_or_insert(rejected);
            }
        }
    }
    first
}
