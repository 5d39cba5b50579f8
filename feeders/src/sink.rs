//! Where payloads go: a process queue ([`QueueSink`]) or NDJSON on a writer ([`NdjsonSink`],
//! stdout for `--dry-run`).

use crate::{Error, Result};
use async_trait::async_trait;
use cirrus_core::queue::Queue;
use cirrus_core::store::PayloadBucket;
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Payloads a `send_batch` of the queue carries at most.
const SEND_CHUNK: usize = 500;

/// A destination for payloads.
#[async_trait]
pub trait Sink: Send + Sync {
    /// A short name for logs and the summary (`queue`, `stdout`).
    fn name(&self) -> &'static str;

    /// Sends `payloads` in order. Returns only once every one is acknowledged (on the queue,
    /// or written): the runner then moves the checkpoint past them.
    async fn send(&self, payloads: &[Value]) -> Result<()>;
}

/// The process queue: the local SQLite queue, or SQS, or any [`Queue`].
///
/// A payload too large to travel inline is written under the payload bucket's
/// `tmp/oversized/` and enqueued as `{"url": …}`, as `cirrus process` does
/// ([`PayloadBucket::maybe_offload`]).
pub struct QueueSink {
    queue: Arc<dyn Queue>,
    bucket: PayloadBucket,
}

impl QueueSink {
    /// A sink enqueueing on `queue`, offloading oversized payloads to `bucket`.
    pub fn new(queue: Arc<dyn Queue>, bucket: PayloadBucket) -> QueueSink {
        QueueSink { queue, bucket }
    }
}

#[async_trait]
impl Sink for QueueSink {
    fn name(&self) -> &'static str {
        "queue"
    }

    async fn send(&self, payloads: &[Value]) -> Result<()> {
        for chunk in payloads.chunks(SEND_CHUNK) {
            let mut bodies = Vec::with_capacity(chunk.len());
            for payload in chunk {
                bodies.push(self.bucket.maybe_offload(payload).await?.to_string());
            }
            self.queue.send_batch(&bodies).await?;
        }
        Ok(())
    }
}

/// One JSON payload a line on a writer (stdout for `--dry-run`), flushed after each send.
pub struct NdjsonSink<W> {
    out: Mutex<W>,
}

impl<W: Write + Send> NdjsonSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> NdjsonSink<W> {
        NdjsonSink {
            out: Mutex::new(out),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl<W: Write + Send> Sink for NdjsonSink<W> {
    fn name(&self) -> &'static str {
        "stdout"
    }

    async fn send(&self, payloads: &[Value]) -> Result<()> {
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let write = |out: &mut W| -> std::io::Result<()> {
            for payload in payloads {
                serde_json::to_writer(&mut *out, payload)?;
                out.write_all(b"\n")?;
            }
            out.flush()
        };
        write(&mut out).map_err(|e| Error::Sink {
            sink: "stdout",
            message: e.to_string(),
        })
    }
}
