//! The embedded state DB: one SQLite file, shared safely by any number of processes.
//!
//! - **WAL mode** with `synchronous = NORMAL`: readers never block the writer, and a crash
//!   cannot corrupt the file (a power loss may lose the last transactions).
//! - Every write runs in a `BEGIN IMMEDIATE` transaction, so the transition rules are checked
//!   and applied atomically even when several `cirrus` processes share the file. A **busy
//!   timeout** (default 30 s) makes a process wait for the write lock instead of failing.
//! - The schema is **versioned** (`PRAGMA user_version`) and migrated forward on open; a file
//!   written by a newer cirrus is refused, not damaged.
//! - **Indexes** serve every query shape without a full scan or a sort (see
//!   [`SqliteStateStore::explain`]), and per-workflow state **counts** are kept exact in the
//!   same transaction as every write, so `counts` reads a table of a few hundred rows.
//!
//! - Beside the records (schema version 2), a **workflow event log** (`events`: every
//!   [`WorkflowEvent`](crate::process::WorkflowEvent) with its exact JSON body, read back with
//!   [`SqliteStateStore::events`] and written through [`SqliteStateStore::event_log`], a
//!   [`MessageSink`](crate::process::MessageSink)) and **payload leases** (`leases`: which
//!   local worker runs a payload now, until when; see [`Leases`](super::Leases)).
//!
//! Times are stored as microseconds since the epoch; lists as JSON text.

mod events;
mod lease;
#[cfg(test)]
mod tests;

pub use events::{DEFAULT_EVENT_LIMIT, EventLogSink, EventQuery, LoggedEvent};

use super::StateStore;
use super::model::{Change, Outcome, State, StateKey, StateRecord, TimelineEvent, Timestamp};
use super::query::{Counts, CountsQuery, Page, PageToken, Query, SortKey};
use crate::{Error, Result};
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BACKEND: &str = "sqlite";

/// The default time a writer waits for another process's write lock.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Schema migrations, in order; migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: records, timeline, counts.
    r#"
    CREATE TABLE state (
        id            INTEGER PRIMARY KEY,
        collections   TEXT NOT NULL,
        workflow      TEXT NOT NULL,
        itemids       TEXT NOT NULL,
        state         TEXT NOT NULL,
        created       INTEGER NOT NULL,
        updated       INTEGER NOT NULL,
        state_updated INTEGER NOT NULL,
        claimed_at    INTEGER,
        executions    TEXT NOT NULL,
        last_error    TEXT,
        outputs       TEXT
    );
    -- The item part leads: it tells keys apart at the first column, where the workflow and
    -- collections are shared by many records (about 15% faster transitions at 1M records).
    CREATE UNIQUE INDEX state_key ON state (itemids, workflow, collections);
    CREATE INDEX state_by_updated ON state (updated);
    CREATE INDEX state_by_state_updated ON state (state_updated);
    CREATE INDEX state_by_state_and_updated ON state (state, updated);
    CREATE INDEX state_by_state_and_state_updated ON state (state, state_updated);
    CREATE INDEX state_by_workflow_and_updated ON state (workflow, updated);
    CREATE INDEX state_by_workflow_and_state_updated ON state (workflow, state_updated);
    CREATE INDEX state_by_collections_and_updated ON state (collections, updated);
    CREATE INDEX state_by_collections_and_state_updated ON state (collections, state_updated);
    CREATE INDEX state_errors_by_updated ON state (updated) WHERE last_error IS NOT NULL;
    CREATE INDEX state_errors_by_state_updated ON state (state_updated) WHERE last_error IS NOT NULL;

    CREATE TABLE timeline (
        seq       INTEGER PRIMARY KEY,
        record    INTEGER NOT NULL,
        state     TEXT NOT NULL,
        at        INTEGER NOT NULL,
        execution TEXT,
        error     TEXT
    );
    CREATE INDEX timeline_by_record ON timeline (record, seq);

    CREATE TABLE counts (
        workflow TEXT NOT NULL,
        state    TEXT NOT NULL,
        n        INTEGER NOT NULL,
        PRIMARY KEY (workflow, state)
    ) WITHOUT ROWID;
    "#,
    // 2: the workflow event log and payload leases.
    r#"
    CREATE TABLE events (
        seq         INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        event_type  TEXT NOT NULL,
        payload_id  TEXT,
        workflow    TEXT,
        collections TEXT,
        execution   TEXT,
        error       TEXT,
        body        TEXT NOT NULL
    );
    CREATE INDEX events_by_payload_id ON events (payload_id, seq);
    CREATE INDEX events_by_event_type_and_at ON events (event_type, at);
    CREATE INDEX events_by_at ON events (at);

    CREATE TABLE leases (
        payload_id TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        expires    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX leases_by_owner ON leases (owner);
    "#,
];

const RECORD_COLUMNS: &str = "id, collections, workflow, itemids, state, created, updated, \
     state_updated, claimed_at, executions, last_error, outputs";

/// The SQLite [`StateStore`].
///
/// Cheap to clone; clones share a small pool of connections. Each call runs on tokio's
/// blocking pool when there is a runtime.
#[derive(Clone)]
pub struct SqliteStateStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    /// Held by this process's writers, one at a time: they queue here rather than in
    /// SQLite's busy handler, which sleeps up to 100 ms between tries. Other processes still
    /// wait in the busy handler.
    writer: Mutex<()>,
}

impl std::fmt::Debug for SqliteStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStateStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStateStore {
    /// Opens the database at `path`, creating it (and its parent folder) when missing, and
    /// migrates its schema.
    pub async fn create(path: impl AsRef<Path>) -> Result<SqliteStateStore> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::state_db(
                    BACKEND,
                    format!("cannot create folder {}", parent.display()),
                    e,
                )
            })?;
        }
        SqliteStateStore::open_with(path, true, DEFAULT_BUSY_TIMEOUT).await
    }

    /// Opens an existing database; a missing file is an error (`cirrus state` uses this, so
    /// a typo in a path does not silently create an empty database).
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStateStore> {
        let path = path.as_ref().to_path_buf();
        if !path.is_file() {
            return Err(Error::StateDb {
                backend: BACKEND,
                message: format!(
                    "no state database at {} (check the path, or choose one with --state-db sqlite:PATH or dynamodb:TABLE)",
                    path.display()
                ),
                source: None,
            });
        }
        SqliteStateStore::open_with(path, false, DEFAULT_BUSY_TIMEOUT).await
    }

    /// Opens with explicit settings: create the file or not, and the busy timeout.
    pub async fn open_with(
        path: PathBuf,
        create: bool,
        busy_timeout: Duration,
    ) -> Result<SqliteStateStore> {
        let store = SqliteStateStore {
            inner: Arc::new(Inner {
                path,
                busy_timeout,
                idle: Mutex::new(Vec::new()),
                writer: Mutex::new(()),
            }),
        };
        store.run(move |conn| migrate(conn, create)).await?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version this build writes.
    pub fn schema_version() -> u32 {
        MIGRATIONS.len() as u32
    }

    /// SQLite's `EXPLAIN QUERY PLAN` for the statement `query_page` runs for `query` (with a
    /// cursor when `paged`), one line per plan step.
    pub async fn explain(&self, query: &Query, paged: bool) -> Result<Vec<String>> {
        let cursor = paged.then_some((0, 0));
        let (sql, values) = query_sql(query, cursor, 100);
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), |row| {
                row.get::<_, String>(3)
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Runs `f` with a pooled connection, on tokio's blocking pool when there is a runtime.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        self.run_with(false, f).await
    }

    /// [`run`](Self::run) for a write transaction: one writer of this process at a time.
    async fn run_write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        self.run_with(true, f).await
    }

    async fn run_with<T, F>(&self, write: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let work = move || {
            let mut conn = inner.take()?;
            let guard = write.then(|| inner.writer.lock().unwrap_or_else(|e| e.into_inner()));
            let result = f(&mut conn).map_err(|e| naming_the_file(e, &inner.path));
            drop(guard);
            inner.give_back(conn);
            result
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn_blocking(work)
                .await
                .map_err(|e| Error::state_db(BACKEND, "a database task panicked", e))?,
            Err(_) => work(),
        }
    }
}

impl Inner {
    fn take(&self) -> Result<Connection> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(conn);
        }
        connect(&self.path, self.busy_timeout)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < 8 {
            idle.push(conn);
        }
    }
}

fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    let context = |what: &str| format!("{what} {}", path.display());
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::state_db(BACKEND, context("cannot open"), e))?;
    conn.busy_timeout(busy_timeout)
        .and_then(|()| conn.pragma_update(None, "journal_mode", "WAL"))
        .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
        .and_then(|()| conn.pragma_update(None, "cache_size", -65_536))
        .and_then(|()| conn.pragma_update(None, "temp_store", "MEMORY"))
        .map_err(|e| Error::state_db(BACKEND, context("cannot configure"), e))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn migrate(conn: &mut Connection, create: bool) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| Error::state_db(BACKEND, "cannot lock the database to migrate it", e))?;
    let version: u32 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| {
            Error::state_db(
                BACKEND,
                "cannot read the schema version (is this a SQLite database?)",
                e,
            )
        })?;
    let latest = MIGRATIONS.len() as u32;
    if version > latest {
        return Err(Error::StateDb {
            backend: BACKEND,
            message: format!(
                "the database has schema version {version}, newer than the {latest} this cirrus knows; upgrade cirrus"
            ),
            source: None,
        });
    }
    if version == 0 && !create {
        let tables: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(|e| Error::state_db(BACKEND, "cannot read the schema", e))?;
        if tables > 0 {
            return Err(Error::StateDb {
                backend: BACKEND,
                message: "the file is a SQLite database but not a cirrus state DB".to_string(),
                source: None,
            });
        }
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(|e| {
            Error::state_db(
                BACKEND,
                format!("migration {} → {} failed", from, from + 1),
                e,
            )
        })?;
        tracing::info!(from, to = from + 1, "migrated the state DB schema");
    }
    if version < latest {
        tx.pragma_update(None, "user_version", latest)
            .map_err(|e| Error::state_db(BACKEND, "cannot record the schema version", e))?;
    }
    tx.commit()
        .map_err(|e| Error::state_db(BACKEND, "cannot commit the migration", e))
}

/// Records `outputs` on the record of `key` and bumps `updated`; `None` (nothing written)
/// when there is no record.
fn set_outputs_in(
    conn: &Connection,
    key: &StateKey,
    outputs: Vec<String>,
    at: Timestamp,
) -> Result<Option<StateRecord>> {
    let Some((id, mut record)) = get_by_key(conn, key)? else {
        return Ok(None);
    };
    record.outputs = Some(outputs);
    record.updated = at;
    write_record(conn, Some(id), &record)?;
    Ok(Some(record))
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction and commits; `commit` says what failed when
/// the commit does.
fn write_tx<T>(
    conn: &mut Connection,
    commit: &'static str,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err("cannot take the write lock"))?;
    let value = f(&tx)?;
    tx.commit().map_err(db_err(commit))?;
    Ok(value)
}

/// A state DB error whose message names the database file (statements report what failed,
/// not where).
fn naming_the_file(e: Error, path: &Path) -> Error {
    match e {
        Error::StateDb {
            backend,
            message,
            source,
        } if !message.contains(&*path.to_string_lossy()) => Error::StateDb {
            backend,
            message: format!("{}: {message}", path.display()),
            source,
        },
        other => other,
    }
}

fn db_err(what: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |e| Error::state_db(BACKEND, what, e)
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::state_db(BACKEND, "statement failed", e)
    }
}

/// A state column: its stored name; an unknown name is an error, never a guess.
impl rusqlite::types::FromSql for State {
    fn column_result(
        value: rusqlite::types::ValueRef<'_>,
    ) -> rusqlite::types::FromSqlResult<State> {
        let name = value.as_str()?;
        State::from_stored(name).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown state {name:?}").into())
        })
    }
}

/// A row of `state`, with its rowid.
fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, StateRecord)> {
    let id: i64 = row.get(0)?;
    let collections: String = row.get(1)?;
    let workflow: String = row.get(2)?;
    let item_ids: String = row.get(3)?;
    let state: State = row.get(4)?;
    let json_list = |idx: usize, text: Option<String>| -> rusqlite::Result<Option<Vec<String>>> {
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    idx,
                    rusqlite::types::Type::Text,
                    e.into(),
                )
            })
        })
        .transpose()
    };
    let executions = json_list(9, Some(row.get(9)?))?.unwrap_or_default();
    let outputs = json_list(11, row.get(11)?)?;
    Ok((
        id,
        StateRecord {
            payload_id: format!("{collections}/workflow-{workflow}/{item_ids}"),
            collections,
            workflow,
            item_ids,
            state,
            created: Timestamp::from_micros(row.get(5)?),
            updated: Timestamp::from_micros(row.get(6)?),
            state_updated: Timestamp::from_micros(row.get(7)?),
            claimed_at: row.get::<_, Option<i64>>(8)?.map(Timestamp::from_micros),
            executions,
            last_error: row.get(10)?,
            outputs,
        },
    ))
}

fn get_by_key(conn: &Connection, key: &StateKey) -> Result<Option<(i64, StateRecord)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM state WHERE itemids = ?3 AND workflow = ?1 AND collections = ?2"
    ))?;
    Ok(stmt
        .query_row(
            params![key.workflow(), key.collections(), key.item_ids()],
            record_from_row,
        )
        .optional()?)
}

fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string())
}

fn write_record(conn: &Connection, id: Option<i64>, record: &StateRecord) -> Result<i64> {
    let outputs = record.outputs.as_deref().map(json);
    let executions = json(&record.executions);
    match id {
        Some(id) => {
            let mut stmt = conn.prepare_cached(
                "UPDATE state SET state = ?2, updated = ?3, state_updated = ?4, claimed_at = ?5, \
                 executions = ?6, last_error = ?7, outputs = ?8 WHERE id = ?1",
            )?;
            stmt.execute(params![
                id,
                record.state.as_str(),
                record.updated.as_micros(),
                record.state_updated.as_micros(),
                record.claimed_at.map(Timestamp::as_micros),
                executions,
                record.last_error,
                outputs,
            ])?;
            Ok(id)
        }
        None => {
            let mut stmt = conn.prepare_cached(
                "INSERT INTO state (collections, workflow, itemids, state, created, updated, \
                 state_updated, claimed_at, executions, last_error, outputs) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            stmt.execute(params![
                record.collections,
                record.workflow,
                record.item_ids,
                record.state.as_str(),
                record.created.as_micros(),
                record.updated.as_micros(),
                record.state_updated.as_micros(),
                record.claimed_at.map(Timestamp::as_micros),
                executions,
                record.last_error,
                outputs,
            ])?;
            Ok(conn.last_insert_rowid())
        }
    }
}

fn append_timeline(conn: &Connection, record: i64, event: &TimelineEvent) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO timeline (record, state, at, execution, error) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    stmt.execute(params![
        record,
        event.state.as_str(),
        event.at.as_micros(),
        event.execution,
        event.error
    ])?;
    Ok(())
}

/// Changes to the `counts` table, accumulated over a transaction and written at its end.
#[derive(Default)]
struct CountDeltas(HashMap<(String, State), i64>);

impl CountDeltas {
    fn moved(&mut self, workflow: &str, from: Option<State>, to: Option<State>) {
        if from == to {
            return;
        }
        for (state, delta) in [(from, -1), (to, 1)] {
            if let Some(state) = state {
                *self.0.entry((workflow.to_string(), state)).or_default() += delta;
            }
        }
    }

    fn write(self, conn: &Connection) -> Result<()> {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO counts (workflow, state, n) VALUES (?1, ?2, ?3) \
             ON CONFLICT (workflow, state) DO UPDATE SET n = n + excluded.n",
        )?;
        for ((workflow, state), delta) in self.0 {
            if delta != 0 {
                stmt.execute(params![workflow, state.as_str(), delta])?;
            }
        }
        Ok(())
    }
}

fn apply_changes(conn: &mut Connection, changes: &[Change]) -> Result<Vec<Outcome>> {
    write_tx(conn, "cannot commit the transitions", |tx| {
        let mut outcomes = Vec::with_capacity(changes.len());
        let mut deltas = CountDeltas::default();
        for change in changes {
            let current = get_by_key(tx, &change.key)?;
            let (id, record) = match current {
                Some((id, record)) => (Some(id), Some(record)),
                None => (None, None),
            };
            if !change.transition.allowed(record.as_ref()) {
                outcomes.push(Outcome::Refused(record));
                continue;
            }
            let next = change
                .transition
                .apply(&change.key, record.as_ref(), change.at);
            deltas.moved(
                &next.workflow,
                record.as_ref().map(|r| r.state),
                Some(next.state),
            );
            let id = write_record(tx, id, &next)?;
            append_timeline(tx, id, &TimelineEvent::of(change))?;
            outcomes.push(Outcome::Applied(next));
        }
        deltas.write(tx)?;
        Ok(outcomes)
    })
}

/// The index `query_page` reads for a query: the most selective equality filter that still
/// delivers rows in sort-key order, so no query scans the table or sorts.
fn index_for(query: &Query) -> &'static str {
    let by_updated = query.sort_key() == SortKey::Updated;
    match (
        query.state.is_some(),
        query.workflow.is_some(),
        query.collections.is_some(),
        query.error_prefix.is_some(),
        by_updated,
    ) {
        (true, _, _, _, true) => "state_by_state_and_updated",
        (true, _, _, _, false) => "state_by_state_and_state_updated",
        (_, true, _, _, true) => "state_by_workflow_and_updated",
        (_, true, _, _, false) => "state_by_workflow_and_state_updated",
        (_, _, true, _, true) => "state_by_collections_and_updated",
        (_, _, true, _, false) => "state_by_collections_and_state_updated",
        (_, _, _, true, true) => "state_errors_by_updated",
        (_, _, _, true, false) => "state_errors_by_state_updated",
        (_, _, _, _, true) => "state_by_updated",
        (_, _, _, _, false) => "state_by_state_updated",
    }
}

/// The SQL of one page: filters, keyset cursor `(time, rowid)`, order, limit.
fn query_sql(
    query: &Query,
    cursor: Option<(i64, i64)>,
    page_size: usize,
) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let ts = query.sort_key().as_str();
    let mut sql = format!(
        "SELECT {RECORD_COLUMNS} FROM state INDEXED BY {} WHERE 1 = 1",
        index_for(query)
    );
    let mut values: Vec<Value> = Vec::new();
    // Appends `clause`, its `$` becoming the next parameter's `?N`; returns N.
    fn push(sql: &mut String, values: &mut Vec<Value>, clause: &str, value: Value) -> usize {
        values.push(value);
        sql.push_str(&clause.replace('$', &format!("?{}", values.len())));
        values.len()
    }
    if let Some(state) = query.state {
        push(
            &mut sql,
            &mut values,
            " AND state = $",
            Value::Text(state.as_str().into()),
        );
    }
    if let Some(workflow) = &query.workflow {
        push(
            &mut sql,
            &mut values,
            " AND workflow = $",
            Value::Text(workflow.clone()),
        );
    }
    if let Some(collections) = &query.collections {
        let value = Value::Text(collections.clone());
        push(&mut sql, &mut values, " AND collections = $", value);
    }
    if let Some(since) = query.since {
        let value = Value::Integer(since.as_micros());
        push(&mut sql, &mut values, &format!(" AND {ts} >= $"), value);
    }
    if let Some(until) = query.until {
        let value = Value::Integer(until.as_micros());
        push(&mut sql, &mut values, &format!(" AND {ts} <= $"), value);
    }
    if let Some(prefix) = &query.error_prefix {
        let value = Value::Text(prefix.clone());
        let n = push(
            &mut sql,
            &mut values,
            " AND last_error IS NOT NULL AND substr(last_error, 1, length($))",
            value,
        );
        sql.push_str(&format!(" = ?{n}"));
    }
    let (cmp, dir) = if query.ascending {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    if let Some((t, id)) = cursor {
        let n = push(
            &mut sql,
            &mut values,
            &format!(" AND {ts} {cmp}= $"),
            Value::Integer(t),
        );
        let clause = format!(" AND ({ts} {cmp} ?{n} OR id {cmp} $)");
        push(&mut sql, &mut values, &clause, Value::Integer(id));
    }
    let n = push(
        &mut sql,
        &mut values,
        "",
        Value::Integer(page_size.min(i64::MAX as usize) as i64),
    );
    sql.push_str(&format!(" ORDER BY {ts} {dir}, id {dir} LIMIT ?{n}"));
    (sql, values)
}

/// Where a page ends: the last row's sort-key time and rowid.
type Cursor = (i64, i64);

fn query_page_sync(
    conn: &Connection,
    query: &Query,
    cursor: Option<Cursor>,
    page_size: usize,
) -> Result<(Vec<StateRecord>, Option<Cursor>)> {
    // One extra row tells whether there is a next page.
    let (sql, values) = query_sql(query, cursor, page_size.saturating_add(1));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), record_from_row)?;
    let mut records = Vec::with_capacity(page_size.min(4096));
    let mut more = false;
    let mut last = None;
    for row in rows {
        let (id, record) = row?;
        if records.len() == page_size {
            more = true;
            break;
        }
        last = Some((query.sort_key().of(&record).as_micros(), id));
        records.push(record);
    }
    Ok((records, if more { last } else { None }))
}

#[async_trait]
impl StateStore for SqliteStateStore {
    async fn get_many(&self, keys: &[StateKey]) -> Result<Vec<Option<StateRecord>>> {
        let keys = keys.to_vec();
        self.run(move |conn| {
            let tx = conn.transaction().map_err(db_err("cannot start a read"))?;
            let records = keys
                .iter()
                .map(|key| Ok(get_by_key(&tx, key)?.map(|(_, r)| r)))
                .collect::<Result<Vec<_>>>()?;
            tx.finish().map_err(db_err("cannot finish a read"))?;
            Ok(records)
        })
        .await
    }

    async fn apply(&self, changes: &[Change]) -> Result<Vec<Outcome>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let changes = changes.to_vec();
        self.run_write(move |conn| apply_changes(conn, &changes))
            .await
    }

    async fn set_outputs(
        &self,
        key: &StateKey,
        outputs: &[String],
        at: Timestamp,
    ) -> Result<Option<StateRecord>> {
        let key = key.clone();
        let outputs = outputs.to_vec();
        self.run_write(move |conn| {
            write_tx(conn, "cannot commit the outputs", |tx| {
                set_outputs_in(tx, &key, outputs, at)
            })
        })
        .await
    }

    async fn set_outputs_many(
        &self,
        outputs: &[(StateKey, Vec<String>)],
        at: Timestamp,
    ) -> Result<()> {
        if outputs.is_empty() {
            return Ok(());
        }
        let outputs = outputs.to_vec();
        self.run_write(move |conn| {
            write_tx(conn, "cannot commit the outputs", |tx| {
                for (key, urls) in outputs {
                    set_outputs_in(tx, &key, urls, at)?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn delete(&self, key: &StateKey) -> Result<bool> {
        let key = key.clone();
        self.run_write(move |conn| {
            write_tx(conn, "cannot commit the delete", |tx| {
                let Some((id, record)) = get_by_key(tx, &key)? else {
                    return Ok(false);
                };
                tx.execute("DELETE FROM timeline WHERE record = ?1", [id])?;
                tx.execute("DELETE FROM state WHERE id = ?1", [id])?;
                let mut deltas = CountDeltas::default();
                deltas.moved(&record.workflow, Some(record.state), None);
                deltas.write(tx)?;
                Ok(true)
            })
        })
        .await
    }

    async fn query_page(
        &self,
        query: &Query,
        page: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        let cursor = match page {
            Some(token) => {
                let value = token.decode(BACKEND, query)?;
                Some(serde_json::from_value::<(i64, i64)>(value).map_err(|_| {
                    Error::invalid_argument("page", "not a valid page token: bad cursor")
                })?)
            }
            None => None,
        };
        let query = query.clone();
        self.run(move |conn| {
            let (records, next) = query_page_sync(conn, &query, cursor, page_size.max(1))?;
            Ok(Page {
                records,
                next: next.map(|c| PageToken::encode(BACKEND, &query, serde_json::json!(c))),
            })
        })
        .await
    }

    async fn counts(&self, query: &CountsQuery) -> Result<Counts> {
        let query = query.clone();
        self.run(move |conn| {
            let tx = conn.transaction().map_err(db_err("cannot start a read"))?;
            let mut counts = Counts::default();
            match query.since {
                None => {
                    let mut stmt = tx.prepare_cached(
                        "SELECT workflow, state, n FROM counts WHERE n > 0 AND (?1 IS NULL OR workflow = ?1)",
                    )?;
                    let mut rows = stmt.query(params![query.workflow])?;
                    while let Some(row) = rows.next()? {
                        let state: String = row.get(1)?;
                        if let Some(state) = State::from_stored(&state) {
                            counts.add(&row.get::<_, String>(0)?, state, row.get::<_, i64>(2)? as u64);
                        }
                    }
                }
                Some(since) => {
                    let mut stmt = tx.prepare_cached(
                        "SELECT workflow, count(*) FROM state INDEXED BY state_by_state_and_state_updated \
                         WHERE state = ?1 AND state_updated >= ?2 AND (?3 IS NULL OR workflow = ?3) \
                         GROUP BY workflow",
                    )?;
                    for state in State::ALL {
                        let mut rows =
                            stmt.query(params![state.as_str(), since.as_micros(), query.workflow])?;
                        while let Some(row) = rows.next()? {
                            counts.add(&row.get::<_, String>(0)?, state, row.get::<_, i64>(1)? as u64);
                        }
                    }
                }
            }
            tx.finish().map_err(db_err("cannot finish a read"))?;
            Ok(counts)
        })
        .await
    }

    async fn timeline(&self, key: &StateKey) -> Result<Vec<TimelineEvent>> {
        let key = key.clone();
        self.run(move |conn| {
            let tx = conn.transaction().map_err(db_err("cannot start a read"))?;
            let Some((id, _)) = get_by_key(&tx, &key)? else {
                return Ok(Vec::new());
            };
            let mut stmt = tx.prepare_cached(
                "SELECT state, at, execution, error FROM timeline WHERE record = ?1 ORDER BY seq",
            )?;
            let events = stmt
                .query_map([id], |row| {
                    Ok(TimelineEvent {
                        state: row.get(0)?,
                        at: Timestamp::from_micros(row.get(1)?),
                        execution: row.get(2)?,
                        error: row.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            drop(stmt);
            tx.finish().map_err(db_err("cannot finish a read"))?;
            Ok(events)
        })
        .await
    }
}
