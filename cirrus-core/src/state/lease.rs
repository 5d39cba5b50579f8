//! Payload leases: which local worker is running a payload right now.
//!
//! The state record says a payload is CLAIMED or PROCESSING, and by which execution; it
//! cannot say whether the worker running that execution is still alive. A lease can: the
//! worker takes a lease on the payload for a short time to live, renews all its leases
//! while it runs, and releases them when done. If it dies, its leases simply expire, and
//! another worker may then take the payload over and resume its recorded execution.

use super::model::Timestamp;
use crate::Result;
use async_trait::async_trait;
use std::time::Duration;

/// Who is running a payload right now, for local workers sharing one state DB.
///
/// A lease is held by an `owner` (a worker's ID) until it expires. Every operation is
/// atomic, also across processes, so two workers acquiring the same payload cannot both
/// win.
#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes the lease on `payload_id` for `owner` until now + `ttl`. Unless `force`, only
    /// when there is no lease, it has expired, or `owner` already holds it. Returns whether
    /// `owner` holds it now.
    async fn acquire(
        &self,
        payload_id: &str,
        owner: &str,
        ttl: Duration,
        force: bool,
    ) -> Result<bool>;

    /// Extends every lease held by `owner`, expired or not, to now + `ttl`; returns how many.
    async fn renew(&self, owner: &str, ttl: Duration) -> Result<u64>;

    /// Drops the lease on `payload_id` if `owner` holds it; returns whether it did.
    async fn release(&self, payload_id: &str, owner: &str) -> Result<bool>;

    /// Drops every lease held by `owner` (a worker shutting down); returns how many.
    async fn release_all(&self, owner: &str) -> Result<u64>;

    /// [`acquire`](Self::acquire) for several payloads, one result each, in order.
    /// Backends that can batch (SQLite: one transaction) do.
    async fn acquire_many(
        &self,
        payload_ids: &[String],
        owner: &str,
        ttl: Duration,
        force: bool,
    ) -> Result<Vec<bool>> {
        let mut held = Vec::with_capacity(payload_ids.len());
        for payload_id in payload_ids {
            held.push(self.acquire(payload_id, owner, ttl, force).await?);
        }
        Ok(held)
    }

    /// [`release`](Self::release) for several payloads; returns how many were released.
    async fn release_many(&self, payload_ids: &[String], owner: &str) -> Result<u64> {
        let mut released = 0;
        for payload_id in payload_ids {
            released += u64::from(self.release(payload_id, owner).await?);
        }
        Ok(released)
    }
}

/// One lease, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The payload leased.
    pub payload_id: String,
    /// Who holds it.
    pub owner: String,
    /// When it expires, unless renewed.
    pub expires: Timestamp,
}

impl Lease {
    /// Whether the lease is still held at `now`.
    pub fn is_held_at(&self, now: Timestamp) -> bool {
        now < self.expires
    }
}

/// `now + ttl`, saturating.
pub(crate) fn expiry(now: Timestamp, ttl: Duration) -> Timestamp {
    let ttl = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
    Timestamp::from_micros(now.as_micros().saturating_add(ttl))
}
