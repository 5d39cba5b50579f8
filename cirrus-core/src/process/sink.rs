//! Where workflow events and published items go: a [`MessageSink`].
//!
//! A [`Message`] is a JSON body with message attributes, as SNS carries it. Locally, sinks
//! are an NDJSON file ([`NdjsonSink`]) and memory ([`MemorySink`], for tests); an SNS sink
//! comes with the AWS backends. Every sink runs the shared suite
//! (`process::conformance`, feature `conformance`).

use super::attributes::{Attributes, item_attributes};
use crate::{Error, Result};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// One message: a JSON body and its attributes.
///
/// Serialized as one NDJSON line: `{"body": …, "attributes": {"name": {"DataType": …,
/// "StringValue": …}}}`, plus `"origin"` when it is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The body: a workflow event, or a STAC item.
    pub body: Value,
    /// Its attributes, by name.
    #[serde(default)]
    pub attributes: Attributes,
    /// The execution that published it, when known. File sinks keep it (the local pipeline
    /// reads it back to publish an item only once per execution, even across a crash);
    /// SNS does not carry it, so it never counts against the 10-attribute limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// Which payload and execution published a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The payload ID.
    pub payload_id: String,
    /// The execution name.
    pub execution: String,
}

impl Message {
    /// The message publishing a STAC item: the item as body, with
    /// [`item_attributes`].
    pub fn item(item: Value) -> Message {
        let attributes = item_attributes(&item);
        Message {
            body: item,
            attributes,
            origin: None,
        }
    }

    /// The same message, marked as published by `execution` of `payload_id`.
    pub fn with_origin(mut self, payload_id: &str, execution: &str) -> Message {
        self.origin = Some(Origin {
            payload_id: payload_id.to_string(),
            execution: execution.to_string(),
        });
        self
    }
}

/// A destination for messages: workflow events, or published items.
///
/// Two required methods: [`publish`](Self::publish) a batch, and [`flush`](Self::flush) it
/// to durable storage. A message is only known to be kept once `flush` has returned `Ok`.
#[async_trait]
pub trait MessageSink: Send + Sync {
    /// Publishes `messages`, in order. An empty batch is a no-op.
    async fn publish(&self, messages: &[Message]) -> Result<()>;

    /// Makes every message published so far durable.
    async fn flush(&self) -> Result<()>;

    /// Publishes one message.
    async fn publish_one(&self, message: &Message) -> Result<()> {
        self.publish(std::slice::from_ref(message)).await
    }
}

/// Messages appended to a file, one JSON object per line.
///
/// Each batch is written with one `write_all` on a file opened in append mode, and
/// [`flush`](MessageSink::flush) calls `fsync`. Writers in other processes may interleave
/// whole batches with ours, but a batch written here stays contiguous unless it exceeds
/// what the OS appends atomically.
#[derive(Debug)]
pub struct NdjsonSink {
    path: PathBuf,
    file: tokio::sync::Mutex<tokio::fs::File>,
}

impl NdjsonSink {
    /// Opens (creating it and its parent folders if needed) the file at `path` for
    /// appending. A last line left without its newline (a write torn by a crash) is ended
    /// first, so that it stays the only bad line.
    pub async fn open(path: impl AsRef<Path>) -> Result<NdjsonSink> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| sink_error(&path, "cannot create the folder", e))?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .await
            .map_err(|e| sink_error(&path, "cannot open for appending", e))?;
        end_last_line(&mut file)
            .await
            .map_err(|e| sink_error(&path, "cannot end the last line", e))?;
        Ok(NdjsonSink {
            path,
            file: tokio::sync::Mutex::new(file),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every message of an NDJSON file written by this sink. A line that is not a
    /// message is an error naming the file and the line.
    pub async fn read(path: impl AsRef<Path>) -> Result<Vec<Message>> {
        let path = path.as_ref();
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(|e| sink_error(path, "cannot read", e))?;
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                serde_json::from_str(line)
                    .map_err(|e| sink_error(path, format!("line {} is not a message", i + 1), e))
            })
            .collect()
    }
}

#[async_trait]
impl MessageSink for NdjsonSink {
    async fn publish(&self, messages: &[Message]) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut buffer = Vec::new();
        for message in messages {
            serde_json::to_writer(&mut buffer, message)?;
            buffer.push(b'\n');
        }
        let mut file = self.file.lock().await;
        file.write_all(&buffer)
            .await
            .map_err(|e| sink_error(&self.path, "cannot append", e))?;
        tracing::debug!(path = %self.path.display(), messages = messages.len(), "appended messages");
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        let mut file = self.file.lock().await;
        file.flush()
            .await
            .map_err(|e| sink_error(&self.path, "cannot flush", e))?;
        file.sync_data()
            .await
            .map_err(|e| sink_error(&self.path, "cannot fsync", e))
    }
}

/// Ends a last line torn by a crash with a newline, so the next message starts a line of its
/// own rather than corrupting the torn one further.
async fn end_last_line(file: &mut tokio::fs::File) -> std::io::Result<()> {
    if file.metadata().await?.len() == 0 {
        return Ok(());
    }
    file.seek(SeekFrom::End(-1)).await?;
    let mut last = [0u8];
    file.read_exact(&mut last).await?;
    if last[0] != b'\n' {
        tracing::warn!("the last line of the message file was torn; starting a new line");
        file.write_all(b"\n").await?;
        file.flush().await?;
    }
    Ok(())
}

fn sink_error(
    path: &Path,
    message: impl Into<String>,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::Sink {
        sink: format!("ndjson {}", path.display()),
        message: message.into(),
        source: Some(source.into()),
    }
}

/// Messages kept in memory, for tests.
#[derive(Debug, Default)]
pub struct MemorySink {
    published: Mutex<Vec<Message>>,
    flushed: Mutex<usize>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// Every message published so far, in order.
    pub fn messages(&self) -> Vec<Message> {
        lock(&self.published).clone()
    }

    /// The messages published before the last flush.
    pub fn flushed(&self) -> Vec<Message> {
        let flushed = *lock(&self.flushed);
        lock(&self.published)[..flushed].to_vec()
    }
}

/// Locks a mutex, recovering the data if a holder panicked: every update here is a single
/// push or store, so the data is never left half-changed.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl MessageSink for MemorySink {
    async fn publish(&self, messages: &[Message]) -> Result<()> {
        lock(&self.published).extend_from_slice(messages);
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        let published = lock(&self.published).len();
        *lock(&self.flushed) = published;
        Ok(())
    }
}
