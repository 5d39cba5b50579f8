//! Schema migrations of the SQLite state DB.

use super::*;
use crate::process::{WorkflowEvent, WorkflowEventType};
use crate::state::{EventQuery, Leases};

/// A file at schema version 1 (records, timeline, counts) with one record, written by hand.
fn version_1_file(path: &Path) {
    let conn = Connection::open(path).expect("open");
    conn.execute_batch(MIGRATIONS[0]).expect("migration 1");
    conn.pragma_update(None, "user_version", 1)
        .expect("version");
    conn.execute(
        "INSERT INTO state (collections, workflow, itemids, state, created, updated, \
         state_updated, executions) VALUES ('c', 'w', 'a', 'SUCCEEDED', 1, 2, 2, '[\"e1\"]')",
        [],
    )
    .expect("record");
}

fn user_version(path: &Path) -> u32 {
    let conn = Connection::open(path).expect("open");
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("version")
}

#[tokio::test]
async fn a_version_1_file_migrates_to_the_event_log_and_leases() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.db");
    version_1_file(&path);
    assert_eq!(user_version(&path), 1);

    let store = SqliteStateStore::open(&path).await.expect("open migrates");
    assert_eq!(SqliteStateStore::schema_version(), 2);
    assert_eq!(user_version(&path), 2);

    // The v1 data is still there.
    let key = StateKey::parse("c/workflow-w/a").expect("key");
    let record = store.get(&key).await.expect("get").expect("record");
    assert_eq!(record.state, State::Succeeded);
    assert_eq!(record.executions, ["e1"]);

    // And the v2 tables work.
    let event = WorkflowEvent::new(
        WorkflowEventType::Succeeded,
        &key,
        Timestamp::from_micros(3),
    )
    .with_execution("e1");
    store
        .append_events(std::slice::from_ref(&event))
        .await
        .expect("append");
    let logged = store.events(&EventQuery::default()).await.expect("events");
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].event, event);
    assert!(
        store
            .acquire(key.as_str(), "w1", Duration::from_secs(60), false)
            .await
            .expect("acquire")
    );
    drop(store);

    // Reopening at version 2 migrates nothing.
    let store = SqliteStateStore::open(&path).await.expect("reopen");
    assert_eq!(
        store
            .events(&EventQuery::default())
            .await
            .expect("events")
            .len(),
        1
    );
    assert_eq!(user_version(&path), 2);
}

#[tokio::test]
async fn a_newer_file_is_still_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.db");
    drop(SqliteStateStore::create(&path).await.expect("create"));
    let conn = Connection::open(&path).expect("open");
    conn.pragma_update(None, "user_version", MIGRATIONS.len() as u32 + 1)
        .expect("bump");
    drop(conn);
    let error = SqliteStateStore::open(&path).await.expect_err("newer");
    assert!(
        error
            .to_string()
            .contains("schema version 3, newer than the 2"),
        "{error}"
    );
}
