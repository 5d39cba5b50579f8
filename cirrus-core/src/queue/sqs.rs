//! The SQS process queue (feature `aws`): cirrus-geo's `${prefix}-process` queue and its
//! dead-letter queue, behind the [`Queue`] trait.
//!
//! - **send**: `SendMessageBatch`, 10 messages and at most 256 KiB per request; an entry
//!   SQS refuses is an error naming its index in the batch.
//! - **receive**: `ReceiveMessage` (10 per call) until `max` messages or an empty answer. The
//!   first call waits up to [`SqsQueue::receive_wait`] (1 s by default, long polling) so that
//!   every SQS server is asked; the receive count is SQS's `ApproximateReceiveCount`.
//! - **dead letters**: SQS moves a message to the dead-letter queue named by the queue's
//!   `RedrivePolicy` when it is received more than `maxReceiveCount` times. The dead-letter
//!   queue is given ([`SqsQueue::with_dead_letter_queue`]) or found from that policy.
//!   [`dead_letters`](Queue::dead_letters) reads it without losing anything (receive, then
//!   make visible again) and [`redrive`](Queue::redrive) sends messages back (send first,
//!   delete from the dead-letter queue only once the send succeeded).
//!
//! Where SQS differs from the embedded queue (the conformance suite's
//! `Capabilities::SQS` lists it):
//!
//! - A standard queue does not keep order: "oldest first" is best effort.
//! - A receipt of an earlier receive is not reliably refused: SQS may accept it (the
//!   message is deleted or changed anyway) or ignore it. Only receipts SQS rejects
//!   (`ReceiptHandleIsInvalid`, a message no longer in flight) give `false`.
//! - SQS gives a new message id on every send, so a redriven message carries the id it was
//!   first sent with in the message attribute [`ORIGINAL_ID_ATTRIBUTE`], and [`Message::id`]
//!   is that id: ids survive a redrive, as the trait says.
//! - SQS records neither the last receive nor the move to the dead-letter queue:
//!   [`DeadLetter::last_received`] and [`DeadLetter::dead_at`] are the first receive time,
//!   and `receive_count` is SQS's count less the receive that read the letter (each listing
//!   is a receive on the dead-letter queue).
//! - Counts (`stats`) are SQS's approximate ones; delayed messages count as in flight.
//!
//! ```no_run
//! use cirrus_core::queue::{Queue, sqs::SqsQueue};
//! use std::time::Duration;
//!
//! # async fn demo() -> cirrus_core::Result<()> {
//! // Region, credentials and endpoint come from the environment (AWS_REGION, AWS_PROFILE, …).
//! let queue = SqsQueue::connect("https://sqs.us-east-1.amazonaws.com/123456789012/demo-dev-process").await?;
//! queue.send(r#"{"url": "s3://bucket/payload.json"}"#).await?;
//! for message in queue.receive(10, Duration::from_secs(180)).await? {
//!     println!("{}", message.body);
//!     queue.delete(&message.receipt).await?;
//! }
//! # Ok(())
//! # }
//! ```

mod dead;
mod setup;

pub use setup::SqsQueueSettings;

use super::{
    DeadLetter, Message, Queue, QueueStats, Receipt, Redrive, check_bodies, check_receive,
    check_visibility,
};
use crate::aws::{batches, describe};
use crate::state::Timestamp;
use crate::{Error, Result};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

const BACKEND: &str = "sqs";

/// The message attribute holding the id a redriven message was first sent with.
pub const ORIGINAL_ID_ATTRIBUTE: &str = "cirrus_message_id";

/// The most entries of one SQS batch request, and messages of one `ReceiveMessage`.
const MAX_ENTRIES: usize = 10;

/// The most bytes of one SQS batch request (bodies and attributes).
const MAX_REQUEST_BYTES: usize = 262_144;

/// Attempts at entries SQS failed on its side (not the sender's fault).
const MAX_ATTEMPTS: u32 = 3;

/// SQS's error codes for a queue that does not exist.
const NO_QUEUE: &[(&str, &str)] = &[
    (
        "AWS.SimpleQueueService.NonExistentQueue",
        "the queue does not exist (deploy it with `cirrus deploy`, or SqsQueue::create)",
    ),
    (
        "QueueDoesNotExist",
        "the queue does not exist (deploy it with `cirrus deploy`, or SqsQueue::create)",
    ),
];

/// SQS's error codes for a receipt it does not accept (stale, made up, or of a message no
/// longer in flight).
const STALE_RECEIPT: &[&str] = &[
    "ReceiptHandleIsInvalid",
    "InvalidReceiptHandle",
    "MessageNotInflight",
    "AWS.SimpleQueueService.MessageNotInflight",
];

/// The SQS [`Queue`]. Cheap to clone (the SDK client is shared).
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
    dead_letter_url: Arc<OnceCell<Option<String>>>,
    receive_wait: Duration,
}

/// One message as SQS returned it, from the queue or its dead-letter queue.
#[derive(Debug)]
struct Received {
    /// SQS's id of this copy.
    sqs_id: String,
    /// The id it was first sent with ([`ORIGINAL_ID_ATTRIBUTE`], else `sqs_id`).
    id: String,
    body: String,
    receipt: String,
    receive_count: u32,
    sent: Timestamp,
    first_received: Timestamp,
}

/// One message to send, with the id to carry over for a redrive.
struct Outgoing<'a> {
    body: &'a str,
    original_id: Option<&'a str>,
}

impl Outgoing<'_> {
    /// The bytes SQS counts against the request limit.
    fn size(&self) -> usize {
        self.body.len()
            + self.original_id.map_or(0, |id| {
                ORIGINAL_ID_ATTRIBUTE.len() + "String".len() + id.len()
            })
    }
}

impl SqsQueue {
    /// The queue at `url`, through `client`. The dead-letter queue is found from the queue's
    /// `RedrivePolicy` when first needed. Nothing is sent yet.
    pub fn new(client: Client, url: impl Into<String>) -> SqsQueue {
        SqsQueue {
            client,
            url: url.into(),
            dead_letter_url: Arc::new(OnceCell::new()),
            receive_wait: Duration::from_secs(1),
        }
    }

    /// The queue at `url` with an SDK configuration.
    pub fn from_config(config: &aws_config::SdkConfig, url: impl Into<String>) -> SqsQueue {
        SqsQueue::new(Client::new(config), url)
    }

    /// The queue at `url` with the SDK's default configuration: region, credentials and
    /// endpoint from the environment (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, …).
    /// Nothing is sent yet; a missing queue shows on the first call.
    pub async fn connect(url: impl Into<String>) -> Result<SqsQueue> {
        let url = url.into();
        if url.trim().is_empty() {
            return Err(Error::invalid_argument("queue_url", "is empty"));
        }
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        if config.region().is_none() {
            return Err(Error::Queue {
                backend: BACKEND,
                message: format!(
                    "no AWS region for queue {url}: set AWS_REGION (or a profile with a region)"
                ),
                source: None,
            });
        }
        Ok(SqsQueue::from_config(&config, url))
    }

    /// The same queue with its dead-letter queue given rather than found.
    pub fn with_dead_letter_queue(self, url: impl Into<String>) -> SqsQueue {
        SqsQueue {
            dead_letter_url: Arc::new(OnceCell::new_with(Some(Some(url.into())))),
            ..self
        }
    }

    /// The same queue with another long-polling wait for the first `ReceiveMessage` of a
    /// receive (whole seconds, at most 20; zero for short polling).
    pub fn with_receive_wait(self, wait: Duration) -> SqsQueue {
        SqsQueue {
            receive_wait: wait.min(Duration::from_secs(20)),
            ..self
        }
    }

    /// The queue URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The long-polling wait of a receive's first `ReceiveMessage`.
    pub fn receive_wait(&self) -> Duration {
        self.receive_wait
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The dead-letter queue's URL: as given, else from the queue's `RedrivePolicy` (looked
    /// up once). `None` when the queue has no redrive policy.
    pub async fn dead_letter_queue(&self) -> Result<Option<&str>> {
        let url = self
            .dead_letter_url
            .get_or_try_init(|| dead::discover(&self.client, &self.url))
            .await?;
        Ok(url.as_deref())
    }

    /// Sends `messages` to the queue at `url`, in requests of at most 10 entries and 256
    /// KiB; returns one result per message, in order: SQS's message id, or why SQS refused
    /// it. A request that fails as a whole is an error.
    async fn send_to(
        &self,
        url: &str,
        messages: &[Outgoing<'_>],
    ) -> Result<Vec<std::result::Result<String, String>>> {
        let sizes: Vec<usize> = messages.iter().map(Outgoing::size).collect();
        let mut results = Vec::with_capacity(messages.len());
        for range in batches(&sizes, MAX_ENTRIES, MAX_REQUEST_BYTES) {
            let start = range.start;
            let mut pending: Vec<usize> = range.clone().collect();
            let mut chunk: Vec<Option<std::result::Result<String, String>>> =
                vec![None; range.len()];
            for attempt in 1..=MAX_ATTEMPTS {
                let entries = pending
                    .iter()
                    .map(|&i| entry(i, &messages[i]))
                    .collect::<Result<Vec<_>>>()?;
                let output = self
                    .client
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| sqs_error(&format!("SendMessageBatch on queue {url}"), e))?;
                for ok in output.successful() {
                    let i = entry_index(ok.id(), &pending)?;
                    chunk[i - start] = Some(Ok(ok.message_id().to_string()));
                }
                let mut retry = Vec::new();
                for failed in output.failed() {
                    let i = entry_index(failed.id(), &pending)?;
                    let reason = format!(
                        "{}: {}",
                        failed.code(),
                        failed.message().unwrap_or("no message")
                    );
                    if !failed.sender_fault() && attempt < MAX_ATTEMPTS {
                        retry.push(i);
                    }
                    chunk[i - start] = Some(Err(reason));
                }
                if retry.is_empty() {
                    break;
                }
                tracing::debug!(
                    queue = url,
                    entries = retry.len(),
                    attempt,
                    "retrying entries SQS failed"
                );
                backoff(attempt).await;
                pending = retry;
            }
            for (offset, result) in chunk.into_iter().enumerate() {
                results.push(result.unwrap_or_else(|| {
                    Err(format!(
                        "SQS returned no result for entry {}",
                        start + offset
                    ))
                }));
            }
        }
        Ok(results)
    }

    /// One `ReceiveMessage` of at most `max` (≤ 10) messages.
    async fn receive_once(
        &self,
        url: &str,
        max: usize,
        visibility: i32,
        wait: Duration,
    ) -> Result<Vec<Received>> {
        let output = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.min(MAX_ENTRIES) as i32)
            .visibility_timeout(visibility)
            .wait_time_seconds(wait.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names(ORIGINAL_ID_ATTRIBUTE)
            .send()
            .await
            .map_err(|e| sqs_error(&format!("ReceiveMessage on queue {url}"), e))?;
        output.messages().iter().map(|m| received(url, m)).collect()
    }

    /// Deletes by receipt from the queue at `url`: `true` per deleted entry, `false` where
    /// SQS refused the receipt.
    async fn delete_from(&self, url: &str, receipts: &[&str]) -> Result<Vec<bool>> {
        let mut deleted = vec![false; receipts.len()];
        let indices: Vec<usize> = (0..receipts.len())
            .filter(|&i| !receipts[i].is_empty())
            .collect();
        for chunk in indices.chunks(MAX_ENTRIES) {
            let entries = chunk
                .iter()
                .map(|&i| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(receipts[i])
                        .build()
                        .map_err(|e| Error::queue(BACKEND, "cannot build a delete entry", e))
                })
                .collect::<Result<Vec<_>>>()?;
            let output = self
                .client
                .delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sqs_error(&format!("DeleteMessageBatch on queue {url}"), e))?;
            for ok in output.successful() {
                deleted[entry_index(ok.id(), chunk)?] = true;
            }
            for failed in output.failed() {
                let i = entry_index(failed.id(), chunk)?;
                if !failed.sender_fault() && !STALE_RECEIPT.contains(&failed.code()) {
                    return Err(Error::Queue {
                        backend: BACKEND,
                        message: format!(
                            "DeleteMessageBatch on queue {url}: SQS failed to delete receipt {i} of the batch ({}: {})",
                            failed.code(),
                            failed.message().unwrap_or("no message")
                        ),
                        source: None,
                    });
                }
                tracing::debug!(
                    queue = url,
                    entry = i,
                    code = failed.code(),
                    "SQS refused a receipt"
                );
            }
        }
        Ok(deleted)
    }

    /// Changes the visibility of one message of the queue at `url`; `false` when SQS
    /// refuses the receipt.
    async fn change_visibility_in(&self, url: &str, receipt: &str, seconds: i32) -> Result<bool> {
        if receipt.is_empty() {
            return Ok(false);
        }
        let sent = self
            .client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) if is_stale_receipt(&e) => Ok(false),
            Err(e) => Err(sqs_error(
                &format!("ChangeMessageVisibility on queue {url}"),
                e,
            )),
        }
    }

    /// The queue attributes `names` of the queue at `url`, as numbers (0 when absent).
    async fn counts(&self, url: &str, names: &[QueueAttributeName]) -> Result<Vec<u64>> {
        let mut request = self.client.get_queue_attributes().queue_url(url);
        for name in names {
            request = request.attribute_names(name.clone());
        }
        let output = request
            .send()
            .await
            .map_err(|e| sqs_error(&format!("GetQueueAttributes on queue {url}"), e))?;
        let empty = HashMap::new();
        let attributes = output.attributes().unwrap_or(&empty);
        names
            .iter()
            .map(|name| match attributes.get(name) {
                None => Ok(0),
                Some(text) => text.parse::<u64>().map_err(|e| {
                    Error::queue(
                        BACKEND,
                        format!("queue {url}: attribute {name} is not a count: {text:?}"),
                        e,
                    )
                }),
            })
            .collect()
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<String>> {
        check_bodies(bodies)?;
        let messages: Vec<Outgoing> = bodies
            .iter()
            .map(|body| Outgoing {
                body,
                original_id: None,
            })
            .collect();
        let results = self.send_to(&self.url, &messages).await?;
        let sent = results.iter().filter(|r| r.is_ok()).count();
        let mut ids = Vec::with_capacity(results.len());
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(id) => ids.push(id),
                Err(reason) => {
                    return Err(Error::Queue {
                        backend: BACKEND,
                        message: format!(
                            "SendMessageBatch on queue {}: SQS refused message {i} of the batch ({reason}); {sent} of the {} messages were sent",
                            self.url,
                            bodies.len()
                        ),
                        source: None,
                    });
                }
            }
        }
        tracing::debug!(queue = %self.url, messages = ids.len(), "sent messages");
        Ok(ids)
    }

    async fn receive(&self, max: usize, visibility_timeout: Duration) -> Result<Vec<Message>> {
        check_receive(max, visibility_timeout)?;
        let visibility = whole_seconds(visibility_timeout);
        let mut messages = Vec::new();
        let mut seen = HashSet::new();
        while messages.len() < max {
            let wait = if messages.is_empty() {
                self.receive_wait
            } else {
                Duration::ZERO
            };
            let batch = self
                .receive_once(&self.url, max - messages.len(), visibility, wait)
                .await?;
            let count = batch.len();
            let fresh: Vec<Received> = batch
                .into_iter()
                .filter(|r| seen.insert(r.sqs_id.clone()))
                .collect();
            // A message seen again already lost its visibility timeout within this receive
            // (always so with a zero timeout, which hides nothing): what is left is seen.
            let done = count == 0 || fresh.len() < count || visibility == 0;
            messages.extend(fresh.into_iter().map(|r| Message {
                id: r.id,
                body: r.body,
                receipt: Receipt::new(r.receipt),
                receive_count: r.receive_count,
                sent: r.sent,
                first_received: r.first_received,
            }));
            if done {
                break;
            }
        }
        Ok(messages)
    }

    async fn delete_batch(&self, receipts: &[Receipt]) -> Result<Vec<bool>> {
        let handles: Vec<&str> = receipts.iter().map(Receipt::as_str).collect();
        self.delete_from(&self.url, &handles).await
    }

    async fn change_visibility(&self, receipt: &Receipt, timeout: Duration) -> Result<bool> {
        check_visibility(timeout)?;
        self.change_visibility_in(&self.url, receipt.as_str(), whole_seconds(timeout))
            .await
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        dead::list(self, limit).await
    }

    async fn redrive(&self, which: &Redrive) -> Result<usize> {
        dead::redrive(self, which).await
    }

    async fn stats(&self) -> Result<QueueStats> {
        let names = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        let main = self.counts(&self.url, &names).await?;
        let dead = match self.dead_letter_queue().await? {
            Some(url) => self.counts(url, &names).await?.iter().sum(),
            None => 0,
        };
        Ok(QueueStats {
            visible: main[0],
            in_flight: main[1] + main[2],
            dead,
        })
    }
}

/// The `SendMessageBatch` entry of message `i`.
fn entry(i: usize, message: &Outgoing<'_>) -> Result<SendMessageBatchRequestEntry> {
    let mut builder = SendMessageBatchRequestEntry::builder()
        .id(i.to_string())
        .message_body(message.body);
    if let Some(id) = message.original_id {
        let value = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(id)
            .build()
            .map_err(|e| Error::queue(BACKEND, "cannot build a message attribute", e))?;
        builder = builder.message_attributes(ORIGINAL_ID_ATTRIBUTE, value);
    }
    builder
        .build()
        .map_err(|e| Error::queue(BACKEND, "cannot build a send entry", e))
}

/// The batch index an entry id stands for, checked against the indices sent.
fn entry_index(id: &str, sent: &[usize]) -> Result<usize> {
    id.parse::<usize>()
        .ok()
        .filter(|i| sent.contains(i))
        .ok_or_else(|| Error::Queue {
            backend: BACKEND,
            message: format!("SQS answered for entry {id:?}, which was not sent"),
            source: None,
        })
}

/// A message as SQS returned it from `url`.
fn received(url: &str, message: &aws_sdk_sqs::types::Message) -> Result<Received> {
    let missing = |what: &str| Error::Queue {
        backend: BACKEND,
        message: format!("ReceiveMessage on queue {url}: a message came without its {what}"),
        source: None,
    };
    let sqs_id = message.message_id().ok_or_else(|| missing("id"))?;
    let attributes = message.attributes();
    let attribute = |name: MessageSystemAttributeName| -> Result<u64> {
        let text = attributes
            .and_then(|a| a.get(&name))
            .ok_or_else(|| missing(name.as_str()))?;
        text.parse::<u64>().map_err(|e| {
            Error::queue(
                BACKEND,
                format!("ReceiveMessage on queue {url}: {name} is not a number: {text:?}"),
                e,
            )
        })
    };
    let millis = |name| -> Result<Timestamp> {
        let ms = attribute(name)?;
        Ok(Timestamp::from_micros(
            i64::try_from(ms).unwrap_or(i64::MAX / 1000) * 1000,
        ))
    };
    let original = message
        .message_attributes()
        .and_then(|a| a.get(ORIGINAL_ID_ATTRIBUTE))
        .and_then(MessageAttributeValue::string_value);
    Ok(Received {
        sqs_id: sqs_id.to_string(),
        id: original.unwrap_or(sqs_id).to_string(),
        body: message.body().unwrap_or_default().to_string(),
        receipt: message
            .receipt_handle()
            .ok_or_else(|| missing("receipt handle"))?
            .to_string(),
        receive_count: u32::try_from(attribute(
            MessageSystemAttributeName::ApproximateReceiveCount,
        )?)
        .unwrap_or(u32::MAX),
        sent: millis(MessageSystemAttributeName::SentTimestamp)?,
        first_received: millis(MessageSystemAttributeName::ApproximateFirstReceiveTimestamp)?,
    })
}

/// A visibility timeout in SQS's whole seconds, rounded up (checked to be ≤ 12 h before).
fn whole_seconds(timeout: Duration) -> i32 {
    let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    i32::try_from(seconds).unwrap_or(i32::MAX)
}

/// `true` when SQS refused a receipt as unknown, stale, or of a message not in flight.
fn is_stale_receipt<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    let Some(service) = error.as_service_error() else {
        return false;
    };
    match service.code() {
        Some(code) if STALE_RECEIPT.contains(&code) => true,
        Some("InvalidParameterValue") => service.message().is_some_and(|m| {
            let m = m.to_ascii_lowercase();
            m.contains("receipt") || m.contains("not available") || m.contains("does not exist")
        }),
        _ => false,
    }
}

/// Waits before retry `attempt`.
async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
}

/// An SDK error as [`Error::Queue`], naming the request and the queue.
fn sqs_error<E>(context: &str, error: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (message, source) = describe(context, error, NO_QUEUE);
    Error::Queue {
        backend: BACKEND,
        message,
        source,
    }
}
