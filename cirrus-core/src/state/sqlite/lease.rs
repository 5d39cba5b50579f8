//! [`Leases`] in the SQLite state DB: the `leases` table, one row per leased payload.
//!
//! Acquiring is one `INSERT … ON CONFLICT DO UPDATE … WHERE` statement, in a `BEGIN
//! IMMEDIATE` transaction like every other write, so it is atomic across processes.

use super::{SqliteStateStore, write_tx};
use crate::Result;
use crate::state::Timestamp;
use crate::state::lease::{Lease, Leases, expiry};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use std::time::Duration;

impl SqliteStateStore {
    /// The lease on `payload_id`, expired or not, if there is one.
    pub async fn lease(&self, payload_id: &str) -> Result<Option<Lease>> {
        let payload_id = payload_id.to_string();
        self.run(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT owner, expires FROM leases WHERE payload_id = ?1")?;
            let lease = stmt
                .query_row([&payload_id], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .optional()?;
            Ok(lease.map(|(owner, expires)| Lease {
                payload_id,
                owner,
                expires: Timestamp::from_micros(expires),
            }))
        })
        .await
    }

    /// [`Leases::acquire`] as if the time were `now`.
    async fn acquire_at(
        &self,
        payload_id: &str,
        owner: &str,
        ttl: Duration,
        force: bool,
        now: Timestamp,
    ) -> Result<bool> {
        let held = self
            .acquire_many_at(&[payload_id.to_string()], owner, ttl, force, now)
            .await?;
        Ok(held == [true])
    }

    /// [`Leases::acquire_many`] as if the time were `now`: one transaction.
    async fn acquire_many_at(
        &self,
        payload_ids: &[String],
        owner: &str,
        ttl: Duration,
        force: bool,
        now: Timestamp,
    ) -> Result<Vec<bool>> {
        if payload_ids.is_empty() {
            return Ok(Vec::new());
        }
        let (payload_ids, owner) = (payload_ids.to_vec(), owner.to_string());
        let expires = expiry(now, ttl);
        self.run_write(move |conn| {
            write_tx(conn, COMMIT, |tx| {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO leases (payload_id, owner, expires) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (payload_id) DO UPDATE \
                     SET owner = excluded.owner, expires = excluded.expires \
                     WHERE ?5 OR leases.owner = excluded.owner OR leases.expires <= ?4",
                )?;
                payload_ids
                    .iter()
                    .map(|payload_id| {
                        let changed = stmt.execute(params![
                            payload_id,
                            owner,
                            expires.as_micros(),
                            now.as_micros(),
                            force
                        ])?;
                        Ok(changed == 1)
                    })
                    .collect()
            })
        })
        .await
    }

    /// [`Leases::renew`] as if the time were `now`.
    async fn renew_at(&self, owner: &str, ttl: Duration, now: Timestamp) -> Result<u64> {
        let owner = owner.to_string();
        let expires = expiry(now, ttl).as_micros();
        self.run_write(move |conn| {
            write_tx(conn, COMMIT, |tx| {
                let mut stmt =
                    tx.prepare_cached("UPDATE leases SET expires = ?2 WHERE owner = ?1")?;
                Ok(stmt.execute(params![owner, expires])? as u64)
            })
        })
        .await
    }
}

/// The commit error of every lease write.
const COMMIT: &str = "cannot commit the leases";

#[async_trait]
impl Leases for SqliteStateStore {
    async fn acquire(
        &self,
        payload_id: &str,
        owner: &str,
        ttl: Duration,
        force: bool,
    ) -> Result<bool> {
        self.acquire_at(payload_id, owner, ttl, force, Timestamp::now())
            .await
    }

    async fn renew(&self, owner: &str, ttl: Duration) -> Result<u64> {
        self.renew_at(owner, ttl, Timestamp::now()).await
    }

    async fn release(&self, payload_id: &str, owner: &str) -> Result<bool> {
        let released = self.release_many(&[payload_id.to_string()], owner).await?;
        Ok(released == 1)
    }

    async fn acquire_many(
        &self,
        payload_ids: &[String],
        owner: &str,
        ttl: Duration,
        force: bool,
    ) -> Result<Vec<bool>> {
        self.acquire_many_at(payload_ids, owner, ttl, force, Timestamp::now())
            .await
    }

    async fn release_many(&self, payload_ids: &[String], owner: &str) -> Result<u64> {
        if payload_ids.is_empty() {
            return Ok(0);
        }
        let (payload_ids, owner) = (payload_ids.to_vec(), owner.to_string());
        self.run_write(move |conn| {
            write_tx(conn, COMMIT, |tx| {
                let mut stmt =
                    tx.prepare_cached("DELETE FROM leases WHERE payload_id = ?1 AND owner = ?2")?;
                let mut released = 0;
                for payload_id in &payload_ids {
                    released += stmt.execute(params![payload_id, owner])? as u64;
                }
                Ok(released)
            })
        })
        .await
    }

    async fn release_all(&self, owner: &str) -> Result<u64> {
        let owner = owner.to_string();
        self.run_write(move |conn| {
            write_tx(conn, COMMIT, |tx| {
                let mut stmt = tx.prepare_cached("DELETE FROM leases WHERE owner = ?1")?;
                Ok(stmt.execute([owner])? as u64)
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "c/workflow-w/a";
    const MINUTE: Duration = Duration::from_secs(60);

    async fn store() -> (tempfile::TempDir, SqliteStateStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStateStore::create(dir.path().join("state.db"))
            .await
            .expect("create");
        (dir, store)
    }

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_micros(1_700_000_000_000_000 + seconds * 1_000_000)
    }

    async fn holder(store: &SqliteStateStore) -> Option<(String, Timestamp)> {
        let lease = store.lease(ID).await.expect("lease");
        lease.map(|l| (l.owner, l.expires))
    }

    #[tokio::test]
    async fn batches_acquire_and_release_like_single_calls() {
        let (_dir, store) = store().await;
        let ids: Vec<String> = ["a", "b", "c"].map(|i| format!("c/workflow-w/{i}")).into();
        assert!(store.acquire(&ids[1], "w2", MINUTE, false).await.unwrap());
        let held = store.acquire_many(&ids, "w1", MINUTE, false).await.unwrap();
        assert_eq!(held, [true, false, true]);
        assert_eq!(
            store.acquire_many(&ids, "w1", MINUTE, true).await.unwrap(),
            [true; 3]
        );
        assert_eq!(store.release_many(&ids[..2], "w1").await.unwrap(), 2);
        assert_eq!(store.release_many(&ids, "w2").await.unwrap(), 0);
        assert_eq!(
            store
                .lease(&ids[2])
                .await
                .unwrap()
                .map(|l| l.owner)
                .as_deref(),
            Some("w1")
        );
        assert!(store.lease(&ids[0]).await.unwrap().is_none());
        assert!(
            store
                .acquire_many(&[], "w1", MINUTE, false)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_lease_is_exclusive_until_it_expires() {
        let (_dir, store) = store().await;
        assert!(
            store
                .acquire_at(ID, "w1", MINUTE, false, t(0))
                .await
                .unwrap()
        );
        assert_eq!(holder(&store).await, Some(("w1".into(), t(60))));

        // Held by another and unexpired: refused, and left as it was.
        assert!(
            !store
                .acquire_at(ID, "w2", MINUTE, false, t(30))
                .await
                .unwrap()
        );
        assert!(
            !store
                .acquire_at(ID, "w2", MINUTE, false, t(59))
                .await
                .unwrap()
        );
        assert_eq!(holder(&store).await, Some(("w1".into(), t(60))));

        // The holder may take it again, which extends it.
        assert!(
            store
                .acquire_at(ID, "w1", MINUTE, false, t(40))
                .await
                .unwrap()
        );
        assert_eq!(holder(&store).await, Some(("w1".into(), t(100))));

        // Expired: another worker takes it over.
        assert!(
            store
                .acquire_at(ID, "w2", MINUTE, false, t(100))
                .await
                .unwrap()
        );
        assert_eq!(holder(&store).await, Some(("w2".into(), t(160))));
        assert!(
            !store
                .acquire_at(ID, "w1", MINUTE, false, t(101))
                .await
                .unwrap()
        );

        // `force` takes it regardless.
        assert!(
            store
                .acquire_at(ID, "w3", MINUTE, true, t(102))
                .await
                .unwrap()
        );
        assert_eq!(holder(&store).await, Some(("w3".into(), t(162))));
        let lease = store.lease(ID).await.unwrap().expect("lease");
        assert!(lease.is_held_at(t(161)) && !lease.is_held_at(t(162)));
    }

    #[tokio::test]
    async fn renew_extends_every_lease_of_its_owner() {
        let (_dir, store) = store().await;
        for id in ["c/workflow-w/a", "c/workflow-w/b"] {
            assert!(
                store
                    .acquire_at(id, "w1", MINUTE, false, t(0))
                    .await
                    .unwrap()
            );
        }
        assert!(
            store
                .acquire_at("c/workflow-w/c", "w2", MINUTE, false, t(0))
                .await
                .unwrap()
        );

        // Renewing at 90 s also extends a lease that expired but was not taken over.
        assert_eq!(store.renew_at("w1", MINUTE, t(90)).await.unwrap(), 2);
        assert_eq!(holder(&store).await, Some(("w1".into(), t(150))));
        let other = store.lease("c/workflow-w/c").await.unwrap().expect("lease");
        assert_eq!(other.expires, t(60));
        assert_eq!(store.renew_at("nobody", MINUTE, t(90)).await.unwrap(), 0);

        // Through the trait, with the system clock.
        assert_eq!(store.renew("w2", MINUTE).await.unwrap(), 1);
        let renewed = store.lease("c/workflow-w/c").await.unwrap().expect("lease");
        assert!(renewed.is_held_at(Timestamp::now()));
    }

    #[tokio::test]
    async fn only_the_owner_releases() {
        let (_dir, store) = store().await;
        let leases: &dyn Leases = &store;
        assert!(leases.acquire(ID, "w1", MINUTE, false).await.unwrap());
        assert!(!leases.acquire(ID, "w2", MINUTE, false).await.unwrap());
        assert!(!leases.release(ID, "w2").await.unwrap());
        assert!(holder(&store).await.is_some());
        assert!(leases.release(ID, "w1").await.unwrap());
        assert!(!leases.release(ID, "w1").await.unwrap());
        assert_eq!(holder(&store).await, None);
        assert!(leases.acquire(ID, "w2", MINUTE, false).await.unwrap());

        for id in ["c/workflow-w/x", "c/workflow-w/y"] {
            assert!(leases.acquire(id, "w1", MINUTE, false).await.unwrap());
        }
        assert_eq!(leases.release_all("w1").await.unwrap(), 2);
        assert_eq!(leases.release_all("w1").await.unwrap(), 0);
        assert_eq!(holder(&store).await.map(|h| h.0), Some("w2".into()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_two_concurrent_acquirers_exactly_one_wins() {
        let (_dir, store) = store().await;
        // Two stores on one file: separate connections, as two processes would have.
        let other = SqliteStateStore::open(store.path()).await.expect("open");
        for i in 0..50 {
            let id = format!("c/workflow-w/item-{i}");
            let (a, b) = tokio::join!(
                store.acquire(&id, "w1", MINUTE, false),
                other.acquire(&id, "w2", MINUTE, false)
            );
            let (a, b) = (a.expect("w1"), b.expect("w2"));
            assert!(a != b, "{id}: w1 {a}, w2 {b}");
            let winner = if a { "w1" } else { "w2" };
            let lease = store.lease(&id).await.unwrap().expect("lease");
            assert_eq!(lease.owner, winner, "{id}");
        }
    }
}
