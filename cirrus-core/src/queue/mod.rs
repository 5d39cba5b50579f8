//! The process queue: payload messages waiting to be processed, with the semantics of SQS.
//!
//! [`Queue`] is the interface; [`sqlite::SqliteQueue`] is the embedded default, and
//! `sqs::SqsQueue` (feature `aws`) is SQS with its dead-letter queue.
//!
//! - **At-least-once.** A received message is hidden for its visibility timeout, not removed;
//!   it is only gone once [`Queue::delete`] is called with its receipt. A receiver that dies
//!   before deleting lets the message come back when the timeout ends.
//! - Each receive bumps the message's **receive count** and hands out a fresh [`Receipt`];
//!   the receipt of an earlier receive no longer deletes or changes the message.
//! - A message already received `max_receives` times (default [`DEFAULT_MAX_RECEIVES`], as
//!   cirrus-geo's `maxReceiveCount`) is moved to the **dead letters** when it would be
//!   delivered again. Dead letters can be listed and [redriven](Queue::redrive).
//!
//! Time is read from a [`Clock`], so tests move it with a [`ManualClock`].
//!
//! ```
//! use cirrus_core::queue::{Queue, sqlite::SqliteQueue};
//! use std::time::Duration;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let queue = SqliteQueue::create(dir.path().join("queue.db")).await?;
//! queue.send_batch(&["one".to_string(), "two".to_string()]).await?;
//!
//! let messages = queue.receive(10, Duration::from_secs(180)).await?;
//! assert_eq!(messages[0].body, "one");
//! assert_eq!(queue.stats().await?.in_flight, 2);
//! for message in &messages {
//!     assert!(queue.delete(&message.receipt).await?);
//! }
//! assert_eq!(queue.stats().await?.total(), 0);
//! # Ok::<(), cirrus_core::Error>(())
//! # }).unwrap();
//! ```

mod clock;
pub mod sqlite;
#[cfg(feature = "aws")]
pub mod sqs;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "aws")]
pub use sqs::SqsQueue;

/// The examples of `docs/queue.md`, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/queue.md")]
struct QueueGuide;

use crate::state::Timestamp;
use crate::{Error, Result};
use async_trait::async_trait;
use std::time::Duration;

/// How many times a message is received before it moves to the dead letters (cirrus-geo's
/// `maxReceiveCount`).
pub const DEFAULT_MAX_RECEIVES: u32 = 5;

/// The visibility timeout of cirrus-geo's process queue.
pub const DEFAULT_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(180);

/// The most messages one [`Queue::receive`] returns.
pub const MAX_RECEIVE_BATCH: usize = 100;

/// The longest visibility timeout (12 hours, as SQS).
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 3600);

/// The largest message body, in bytes (SQS's classic limit; payloads over 120,000 bytes
/// travel as `{"url": …}` references anyway).
pub const MAX_BODY_BYTES: usize = 262_144;

/// The proof of one receive of one message; it deletes the message or changes its
/// visibility until the message is received again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Receipt(String);

impl Receipt {
    /// Wraps a receipt handle given by a backend.
    pub fn new(handle: impl Into<String>) -> Receipt {
        Receipt(handle.into())
    }

    /// The handle as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The id given by `send`.
    pub id: String,
    /// The body as sent.
    pub body: String,
    /// Deletes the message or changes its visibility, until the next receive.
    pub receipt: Receipt,
    /// How many times the message has been received, this time included (1 the first time).
    pub receive_count: u32,
    /// When it was sent.
    pub sent: Timestamp,
    /// When it was first received.
    pub first_received: Timestamp,
}

/// A message that was received too many times without being deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The id given by `send`; kept by [`Queue::redrive`].
    pub id: String,
    /// The body as sent.
    pub body: String,
    /// How many times it was received.
    pub receive_count: u32,
    /// When it was sent.
    pub sent: Timestamp,
    /// When it was first received.
    pub first_received: Timestamp,
    /// When it was last received.
    pub last_received: Timestamp,
    /// When it was moved to the dead letters.
    pub dead_at: Timestamp,
}

/// Message counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Messages that a receive would return now.
    pub visible: u64,
    /// Received messages still within their visibility timeout.
    pub in_flight: u64,
    /// Dead letters.
    pub dead: u64,
}

impl QueueStats {
    /// Every message, dead letters included.
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.dead
    }
}

/// Which dead letters [`Queue::redrive`] sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redrive {
    /// Every dead letter.
    All,
    /// The dead letters with these ids; unknown ids are skipped.
    Ids(Vec<String>),
}

/// A process queue backend.
///
/// Backends implement seven methods; `send`, `delete` and `dead_letter_count` are provided on
/// top of them. Every backend must pass the conformance suite (`queue::conformance`, feature
/// `conformance`).
#[async_trait]
pub trait Queue: Send + Sync {
    /// Enqueues `bodies` in order, returning one new message id each. Bodies must be
    /// non-empty and at most [`MAX_BODY_BYTES`] (see [`check_bodies`]); nothing is sent when
    /// one is not.
    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<String>>;

    /// At most `max` (1..=[`MAX_RECEIVE_BATCH`]) visible messages, oldest first. Each is hidden
    /// for `visibility_timeout` (at most [`MAX_VISIBILITY_TIMEOUT`]), its receive count goes
    /// up by one and it gets a fresh receipt. Messages already received `max_receives` times
    /// move to the dead letters instead. Returns an empty list when nothing is visible.
    async fn receive(&self, max: usize, visibility_timeout: Duration) -> Result<Vec<Message>>;

    /// Deletes the messages of `receipts`; `false` where a receipt is unknown or stale
    /// (the message was deleted, or received again since).
    async fn delete_batch(&self, receipts: &[Receipt]) -> Result<Vec<bool>>;

    /// Hides the message of `receipt` until now + `timeout` (0: visible now). `false` when
    /// the receipt is unknown or stale.
    async fn change_visibility(&self, receipt: &Receipt, timeout: Duration) -> Result<bool>;

    /// At most `limit` dead letters, oldest first.
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>>;

    /// Sends dead letters back to the queue, visible now, with their receive count reset and
    /// their ids kept. Returns how many were sent back.
    async fn redrive(&self, which: &Redrive) -> Result<usize>;

    /// Message counts now.
    async fn stats(&self) -> Result<QueueStats>;

    /// Enqueues one body, returning its message id.
    async fn send(&self, body: &str) -> Result<String> {
        let mut ids = self.send_batch(&[body.to_string()]).await?;
        ids.pop().ok_or_else(|| Error::Queue {
            backend: "queue",
            message: "send_batch returned no message id".to_string(),
            source: None,
        })
    }

    /// Deletes the message of `receipt`; `false` when the receipt is unknown or stale.
    async fn delete(&self, receipt: &Receipt) -> Result<bool> {
        let mut deleted = self.delete_batch(std::slice::from_ref(receipt)).await?;
        Ok(deleted.pop().unwrap_or(false))
    }

    /// How many dead letters there are.
    async fn dead_letter_count(&self) -> Result<u64> {
        Ok(self.stats().await?.dead)
    }
}

/// Checks message bodies: each non-empty and at most [`MAX_BODY_BYTES`].
pub fn check_bodies(bodies: &[String]) -> Result<()> {
    for (i, body) in bodies.iter().enumerate() {
        if body.is_empty() {
            return Err(Error::invalid_argument(
                "body",
                format!("message {i} of the batch is empty"),
            ));
        }
        if body.len() > MAX_BODY_BYTES {
            return Err(Error::invalid_argument(
                "body",
                format!(
                    "message {i} of the batch is {} bytes, over the {MAX_BODY_BYTES}-byte limit (send large payloads as {{\"url\": …}})",
                    body.len()
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the arguments of [`Queue::receive`].
pub fn check_receive(max: usize, visibility_timeout: Duration) -> Result<()> {
    if !(1..=MAX_RECEIVE_BATCH).contains(&max) {
        return Err(Error::invalid_argument(
            "max_messages",
            format!("{max} is out of range 1..={MAX_RECEIVE_BATCH}"),
        ));
    }
    check_visibility(visibility_timeout)
}

/// Checks a visibility timeout: at most [`MAX_VISIBILITY_TIMEOUT`].
pub fn check_visibility(timeout: Duration) -> Result<()> {
    if timeout > MAX_VISIBILITY_TIMEOUT {
        return Err(Error::invalid_argument(
            "visibility_timeout",
            format!(
                "{} s is over the {} s limit",
                timeout.as_secs(),
                MAX_VISIBILITY_TIMEOUT.as_secs()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_checks_name_the_message() {
        assert!(check_bodies(&["a".to_string()]).is_ok());
        let empty = check_bodies(&["a".to_string(), String::new()]).unwrap_err();
        assert_eq!(empty.to_string(), "body: message 1 of the batch is empty");
        let big = check_bodies(&["x".repeat(MAX_BODY_BYTES + 1)]).unwrap_err();
        assert!(big.to_string().contains("262145 bytes"), "{big}");
    }

    #[test]
    fn receive_checks_are_bounded() {
        assert!(check_receive(1, Duration::ZERO).is_ok());
        assert!(check_receive(MAX_RECEIVE_BATCH, MAX_VISIBILITY_TIMEOUT).is_ok());
        let zero = check_receive(0, Duration::ZERO).unwrap_err();
        assert!(zero.to_string().starts_with("max_messages:"), "{zero}");
        assert!(check_receive(MAX_RECEIVE_BATCH + 1, Duration::ZERO).is_err());
        let long = check_receive(1, MAX_VISIBILITY_TIMEOUT + Duration::from_secs(1));
        assert!(
            long.unwrap_err()
                .to_string()
                .starts_with("visibility_timeout:")
        );
    }

    #[test]
    fn stats_total() {
        let stats = QueueStats {
            visible: 1,
            in_flight: 2,
            dead: 3,
        };
        assert_eq!(stats.total(), 6);
    }
}
