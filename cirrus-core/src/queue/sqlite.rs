//! The embedded process queue: one SQLite file, shared safely by any number of processes.
//!
//! - **WAL mode** with `synchronous = NORMAL`, like the state DB.
//! - Every receive, delete and change runs in a `BEGIN IMMEDIATE` transaction, so two
//!   receivers, in one process or several, never get the same message within its visibility
//!   timeout. A **busy timeout** (default 30 s) makes a process wait for the write lock.
//! - The schema is **versioned** (`PRAGMA user_version`, under the queue's own
//!   `application_id`) and migrated forward on open; a file written by a newer cirrus, or a
//!   SQLite file that is not a queue (the state DB, say), is refused.
//!
//! Use a file of its own (`queue.db` next to `state.db`): the schema version is per file.
//! Times are stored as microseconds since the epoch.

use super::clock::{Clock, SystemClock, plus};
use super::{
    DEFAULT_MAX_RECEIVES, DeadLetter, Message, Queue, QueueStats, Receipt, Redrive, check_bodies,
    check_receive, check_visibility,
};
use crate::state::Timestamp;
use crate::{Error, Result};
use async_trait::async_trait;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use schema::{MIGRATIONS, connect, migrate};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod schema;

const BACKEND: &str = "sqlite";

/// Receives, deletes and changes take the write lock when they start (`BEGIN IMMEDIATE`).
const WRITE: TransactionBehavior = TransactionBehavior::Immediate;

/// Reads see one consistent snapshot.
const READ: TransactionBehavior = TransactionBehavior::Deferred;

/// The default time a writer waits for another process's write lock.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of a [`SqliteQueue`].
#[derive(Debug, Clone)]
pub struct SqliteQueueOptions {
    /// Receives after which a message moves to the dead letters (at least 1).
    pub max_receives: u32,
    /// How long a writer waits for another process's write lock.
    pub busy_timeout: Duration,
    /// Create the file (and its folder) when missing.
    pub create: bool,
    /// Where the time is read.
    pub clock: Arc<dyn Clock>,
}

impl Default for SqliteQueueOptions {
    fn default() -> SqliteQueueOptions {
        SqliteQueueOptions {
            max_receives: DEFAULT_MAX_RECEIVES,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            create: true,
            clock: Arc::new(SystemClock),
        }
    }
}

/// The SQLite [`Queue`].
///
/// Cheap to clone; clones share one connection. Each call runs on tokio's blocking pool when
/// there is a runtime. Open the file again for another connection (each process does).
#[derive(Clone)]
pub struct SqliteQueue {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    max_receives: u32,
    clock: Arc<dyn Clock>,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQueue")
            .field("path", &self.inner.path)
            .field("max_receives", &self.inner.max_receives)
            .finish_non_exhaustive()
    }
}

impl SqliteQueue {
    /// Opens the queue at `path` with the default settings, creating it (and its parent
    /// folder) when missing.
    pub async fn create(path: impl AsRef<Path>) -> Result<SqliteQueue> {
        SqliteQueue::open_with(path, SqliteQueueOptions::default()).await
    }

    /// Opens the queue at `path` with `options`.
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: SqliteQueueOptions,
    ) -> Result<SqliteQueue> {
        let path = path.as_ref().to_path_buf();
        if options.max_receives == 0 {
            return Err(Error::invalid_argument(
                "max_receives",
                "must be at least 1",
            ));
        }
        if options.create {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    Error::queue(
                        BACKEND,
                        format!("cannot create folder {}", parent.display()),
                        e,
                    )
                })?;
            }
        } else if !path.is_file() {
            return Err(Error::Queue {
                backend: BACKEND,
                message: format!("no queue database at {}", path.display()),
                source: None,
            });
        }
        let open_path = path.clone();
        let conn = blocking(move || {
            let mut conn = connect(&open_path, options.busy_timeout)?;
            migrate(&mut conn, &open_path)?;
            Ok(conn)
        })
        .await?;
        Ok(SqliteQueue {
            inner: Arc::new(Inner {
                path,
                max_receives: options.max_receives,
                clock: options.clock,
                conn: Mutex::new(conn),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Receives after which a message moves to the dead letters.
    pub fn max_receives(&self) -> u32 {
        self.inner.max_receives
    }

    /// The schema version this build writes.
    pub fn schema_version() -> u32 {
        MIGRATIONS.len() as u32
    }

    /// Runs `f` in a transaction (`WRITE` or `READ`), with the current time and
    /// `max_receives`, and commits.
    async fn transaction<T, F>(
        &self,
        behavior: TransactionBehavior,
        what: &'static str,
        f: F,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, Timestamp, u32) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let mut conn = inner.conn.lock().unwrap_or_else(|e| e.into_inner());
            let fail = |problem: &str, e: rusqlite::Error| {
                let message = format!("{what} in {}: {problem}", inner.path.display());
                Error::queue(BACKEND, message, e)
            };
            let tx = conn
                .transaction_with_behavior(behavior)
                .map_err(|e| fail("cannot lock the queue", e))?;
            let now = inner.clock.now();
            let value = f(&tx, now, inner.max_receives).map_err(|e| fail("statement failed", e))?;
            tx.commit().map_err(|e| fail("cannot commit", e))?;
            Ok(value)
        })
        .await
    }
}

/// Runs `f` on tokio's blocking pool when there is a runtime, else here.
async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(f)
            .await
            .map_err(|e| Error::queue(BACKEND, "a queue task panicked", e))?,
        Err(_) => f(),
    }
}

fn ts(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    row.get(idx).map(Timestamp::from_micros)
}

/// Receives up to `max` messages at `now`, moving the over-received ones to the dead letters.
fn receive_in(
    tx: &Transaction<'_>,
    now: Timestamp,
    max_receives: u32,
    max: usize,
    visible_until: Timestamp,
) -> rusqlite::Result<Vec<Message>> {
    let mut select = tx.prepare_cached(
        "SELECT seq, id, body, sent, receive_count, first_received, last_received \
         FROM messages WHERE visible_at <= ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut bury = tx.prepare_cached(
        "INSERT INTO dead_letters (id, body, sent, receive_count, first_received, last_received, dead_at) \
         SELECT id, body, sent, receive_count, first_received, last_received, ?2 FROM messages WHERE seq = ?1",
    )?;
    let mut remove = tx.prepare_cached("DELETE FROM messages WHERE seq = ?1")?;
    let mut take = tx.prepare_cached(
        "UPDATE messages SET visible_at = ?2, receive_count = receive_count + 1, \
         first_received = coalesce(first_received, ?3), last_received = ?3, receipt = ?4 \
         WHERE seq = ?1",
    )?;
    let mut messages = Vec::new();
    loop {
        let want = (max - messages.len()) as i64;
        let rows = select
            .query_map(rusqlite::params![now.as_micros(), want], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    ts(row, 3)?,
                    row.get::<_, u32>(4)?,
                    row.get::<_, Option<i64>>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut buried = 0;
        for (seq, id, body, sent, count, first) in rows {
            if count >= max_receives {
                bury.execute(rusqlite::params![seq, now.as_micros()])?;
                remove.execute([seq])?;
                tracing::warn!(message_id = %id, receive_count = count, "moved a message to the dead letters");
                buried += 1;
                continue;
            }
            let receipt = format!("{id}.{}.{}", count + 1, uuid::Uuid::new_v4().simple());
            take.execute(rusqlite::params![
                seq,
                visible_until.as_micros(),
                now.as_micros(),
                receipt
            ])?;
            messages.push(Message {
                id,
                body,
                receipt: Receipt::new(receipt),
                receive_count: count + 1,
                sent,
                first_received: first.map(Timestamp::from_micros).unwrap_or(now),
            });
        }
        // Stop when the batch is full or no more were visible; loop only past dead letters.
        if buried == 0 || messages.len() == max {
            return Ok(messages);
        }
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<String>> {
        check_bodies(bodies)?;
        if bodies.is_empty() {
            return Ok(Vec::new());
        }
        let bodies = bodies.to_vec();
        self.transaction(WRITE, "send", move |tx, now, _| {
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (id, body, sent, visible_at) VALUES (?1, ?2, ?3, ?3)",
            )?;
            let mut ids = Vec::with_capacity(bodies.len());
            for body in &bodies {
                let id = uuid::Uuid::new_v4().to_string();
                insert.execute(rusqlite::params![id, body, now.as_micros()])?;
                ids.push(id);
            }
            Ok(ids)
        })
        .await
    }

    async fn receive(&self, max: usize, visibility_timeout: Duration) -> Result<Vec<Message>> {
        check_receive(max, visibility_timeout)?;
        self.transaction(WRITE, "receive", move |tx, now, max_receives| {
            receive_in(tx, now, max_receives, max, plus(now, visibility_timeout))
        })
        .await
    }

    async fn delete_batch(&self, receipts: &[Receipt]) -> Result<Vec<bool>> {
        if receipts.is_empty() {
            return Ok(Vec::new());
        }
        let receipts = receipts.to_vec();
        self.transaction(WRITE, "delete", move |tx, _, _| {
            let mut delete = tx.prepare_cached("DELETE FROM messages WHERE receipt = ?1")?;
            receipts
                .iter()
                .map(|r| Ok(delete.execute([r.as_str()])? > 0))
                .collect()
        })
        .await
    }

    async fn change_visibility(&self, receipt: &Receipt, timeout: Duration) -> Result<bool> {
        check_visibility(timeout)?;
        let receipt = receipt.clone();
        self.transaction(WRITE, "change visibility", move |tx, now, _| {
            let changed = tx.execute(
                "UPDATE messages SET visible_at = ?2 WHERE receipt = ?1",
                rusqlite::params![receipt.as_str(), plus(now, timeout).as_micros()],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.transaction(READ, "list dead letters", move |tx, _, _| {
            let mut select = tx.prepare_cached(
                "SELECT id, body, receive_count, sent, first_received, last_received, dead_at \
                 FROM dead_letters ORDER BY seq LIMIT ?1",
            )?;
            select
                .query_map([limit], |row| {
                    Ok(DeadLetter {
                        id: row.get(0)?,
                        body: row.get(1)?,
                        receive_count: row.get(2)?,
                        sent: ts(row, 3)?,
                        first_received: ts(row, 4)?,
                        last_received: ts(row, 5)?,
                        dead_at: ts(row, 6)?,
                    })
                })?
                .collect()
        })
        .await
    }

    async fn redrive(&self, which: &Redrive) -> Result<usize> {
        let which = which.clone();
        self.transaction(WRITE, "redrive", move |tx, now, _| {
            let back = "INSERT INTO messages (id, body, sent, visible_at) \
                        SELECT id, body, sent, ?1 FROM dead_letters";
            match which {
                Redrive::All => {
                    let n = tx.execute(&format!("{back} ORDER BY seq"), [now.as_micros()])?;
                    tx.execute("DELETE FROM dead_letters", [])?;
                    tracing::info!(messages = n, "redrove every dead letter");
                    Ok(n)
                }
                Redrive::Ids(ids) => {
                    let mut insert = tx.prepare_cached(&format!("{back} WHERE id = ?2"))?;
                    let mut remove = tx.prepare_cached("DELETE FROM dead_letters WHERE id = ?1")?;
                    let mut n = 0;
                    for id in &ids {
                        if insert.execute(rusqlite::params![now.as_micros(), id])? > 0 {
                            remove.execute([id])?;
                            n += 1;
                        }
                    }
                    tracing::info!(
                        messages = n,
                        asked = ids.len(),
                        "redrove dead letters by id"
                    );
                    Ok(n)
                }
            }
        })
        .await
    }

    async fn stats(&self) -> Result<QueueStats> {
        self.transaction(READ, "count messages", |tx, now, _| {
            let now = now.as_micros();
            let count = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
                tx.query_row(sql, params, |row| row.get::<_, i64>(0))
                    .map(|n| n.max(0) as u64)
            };
            Ok(QueueStats {
                visible: count(
                    "SELECT count(*) FROM messages WHERE visible_at <= ?1",
                    &[&now],
                )?,
                in_flight: count(
                    "SELECT count(*) FROM messages WHERE visible_at > ?1",
                    &[&now],
                )?,
                dead: count("SELECT count(*) FROM dead_letters", &[])?,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests;
