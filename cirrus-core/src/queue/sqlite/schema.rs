//! The queue file: opening a connection, and the versioned schema.

use super::BACKEND;
use crate::{Error, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// `PRAGMA application_id` of a queue file: "CQUE".
const APPLICATION_ID: i32 = 0x4351_5545;

/// Schema migrations, in order; migration `i` takes the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: messages and dead letters.
    r#"
    CREATE TABLE messages (
        seq            INTEGER PRIMARY KEY,
        id             TEXT NOT NULL UNIQUE,
        body           TEXT NOT NULL,
        sent           INTEGER NOT NULL,
        visible_at     INTEGER NOT NULL,
        receive_count  INTEGER NOT NULL DEFAULT 0,
        first_received INTEGER,
        last_received  INTEGER,
        receipt        TEXT UNIQUE
    );
    CREATE INDEX messages_by_visible_at ON messages (visible_at);

    CREATE TABLE dead_letters (
        seq            INTEGER PRIMARY KEY,
        id             TEXT NOT NULL UNIQUE,
        body           TEXT NOT NULL,
        sent           INTEGER NOT NULL,
        receive_count  INTEGER NOT NULL,
        first_received INTEGER NOT NULL,
        last_received  INTEGER NOT NULL,
        dead_at        INTEGER NOT NULL
    );
    "#,
];

/// Opens a connection: WAL, `synchronous = NORMAL`, and the busy timeout.
pub(super) fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    let context = |what: &str| format!("{what} {}", path.display());
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::queue(BACKEND, context("cannot open"), e))?;
    conn.busy_timeout(busy_timeout)
        .and_then(|()| conn.pragma_update(None, "journal_mode", "WAL"))
        .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
        .map_err(|e| Error::queue(BACKEND, context("cannot configure"), e))?;
    Ok(conn)
}

/// Creates or migrates the schema, refusing newer versions and files that are not a queue.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let err = |what: &str| {
        let message = format!("{what} ({})", path.display());
        move |e| Error::queue(BACKEND, message, e)
    };
    let refuse = |message: String| Error::Queue {
        backend: BACKEND,
        message: format!("{message} ({})", path.display()),
        source: None,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err("cannot lock the database to migrate it"))?;
    let pragma = |name: &str| -> Result<i64> {
        tx.pragma_query_value(None, name, |row| row.get(0))
            .map_err(err(
                "cannot read the schema version (is this a SQLite database?)",
            ))
    };
    let (version, application_id) = (pragma("user_version")?, pragma("application_id")?);
    let tables: i64 = tx
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
        .map_err(err("cannot read the schema"))?;
    if application_id != i64::from(APPLICATION_ID) && (version != 0 || tables > 0) {
        return Err(refuse(
            "the file is a SQLite database but not a cirrus queue".to_string(),
        ));
    }
    let latest = MIGRATIONS.len() as i64;
    if version > latest {
        return Err(refuse(format!(
            "the queue has schema version {version}, newer than the {latest} this cirrus knows; upgrade cirrus"
        )));
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)
            .map_err(err(&format!("migration {} → {} failed", from, from + 1)))?;
        tracing::info!(from, to = from + 1, "migrated the queue schema");
    }
    if version < latest {
        tx.pragma_update(None, "user_version", latest)
            .and_then(|()| tx.pragma_update(None, "application_id", APPLICATION_ID))
            .map_err(err("cannot record the schema version"))?;
    }
    tx.commit().map_err(err("cannot commit the migration"))
}
