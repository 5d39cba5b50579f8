//! What only the SQLite queue has: its file, its schema and its settings.

use super::*;
use crate::queue::ManualClock;
use crate::state::sqlite::SqliteStateStore;

fn options(clock: &ManualClock, max_receives: u32) -> SqliteQueueOptions {
    SqliteQueueOptions {
        max_receives,
        clock: Arc::new(clock.clone()),
        ..SqliteQueueOptions::default()
    }
}

#[tokio::test]
async fn creates_folder_and_records_schema_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state").join("queue.db");
    let queue = SqliteQueue::create(&path).await.expect("create");
    assert_eq!(queue.path(), path);
    assert_eq!(queue.max_receives(), DEFAULT_MAX_RECEIVES);
    let conn = Connection::open(&path).expect("open");
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("version");
    assert_eq!(version, SqliteQueue::schema_version());
    drop(queue);
    // Opening again keeps the messages.
    let queue = SqliteQueue::create(&path).await.expect("reopen");
    queue.send("kept").await.expect("send");
    let again = SqliteQueue::create(&path).await.expect("reopen");
    assert_eq!(again.stats().await.expect("stats").visible, 1);
}

#[tokio::test]
async fn refuses_missing_newer_and_foreign_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.db");
    let options = SqliteQueueOptions {
        create: false,
        ..SqliteQueueOptions::default()
    };
    let error = SqliteQueue::open_with(&missing, options).await.unwrap_err();
    assert!(
        error.to_string().contains("no queue database at"),
        "{error}"
    );
    assert!(!missing.exists());

    let state = dir.path().join("state.db");
    SqliteStateStore::create(&state).await.expect("state DB");
    let error = SqliteQueue::create(&state).await.unwrap_err();
    assert!(error.to_string().contains("not a cirrus queue"), "{error}");

    let newer = dir.path().join("newer.db");
    SqliteQueue::create(&newer).await.expect("create");
    Connection::open(&newer)
        .and_then(|c| c.pragma_update(None, "user_version", 99))
        .expect("bump the version");
    let error = SqliteQueue::create(&newer).await.unwrap_err();
    assert!(error.to_string().contains("schema version 99"), "{error}");

    let text = dir.path().join("text.db");
    std::fs::write(
        &text,
        "not a database, just text that is long enough to be a header",
    )
    .expect("write");
    let error = SqliteQueue::create(&text).await.unwrap_err();
    assert!(error.to_string().starts_with("queue (sqlite)"), "{error}");
}

#[tokio::test]
async fn max_receives_is_configurable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(Timestamp::from_micros(1_000_000));
    let path = dir.path().join("queue.db");
    let error = SqliteQueue::open_with(&path, options(&clock, 0))
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "max_receives: must be at least 1");
    let queue = SqliteQueue::open_with(&path, options(&clock, 1))
        .await
        .expect("open");
    queue.send("once").await.expect("send");
    assert_eq!(
        queue
            .receive(1, Duration::ZERO)
            .await
            .expect("receive")
            .len(),
        1
    );
    assert!(
        queue
            .receive(1, Duration::ZERO)
            .await
            .expect("receive")
            .is_empty()
    );
    let dead = queue.dead_letters(10).await.expect("dead letters");
    assert_eq!(dead[0].receive_count, 1);
    assert_eq!(dead[0].first_received, dead[0].last_received);
    assert_eq!(dead[0].dead_at, clock.now());
}

#[tokio::test]
async fn times_come_from_the_clock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(Timestamp::from_micros(5_000_000));
    let queue = SqliteQueue::open_with(dir.path().join("q.db"), options(&clock, 5))
        .await
        .expect("open");
    queue.send("m").await.expect("send");
    clock.advance(Duration::from_secs(3));
    let message = queue
        .receive(1, Duration::from_secs(10))
        .await
        .expect("receive")
        .remove(0);
    assert_eq!(message.sent, Timestamp::from_micros(5_000_000));
    assert_eq!(message.first_received, Timestamp::from_micros(8_000_000));
    clock.advance(Duration::from_secs(10));
    let stats = queue.stats().await.expect("stats");
    assert_eq!(
        (stats.visible, stats.in_flight),
        (1, 0),
        "visible again at exactly +10 s"
    );
}

#[test]
fn works_without_a_runtime() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let queue = runtime
        .block_on(SqliteQueue::create(dir.path().join("q.db")))
        .expect("create");
    let ids = futures_util::FutureExt::now_or_never(queue.send("m"));
    assert!(
        ids.is_some_and(|id| id.is_ok()),
        "runs inline outside tokio"
    );
}

#[tokio::test]
async fn errors_name_the_operation_and_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("queue.db");
    let queue = SqliteQueue::create(&path).await.expect("create");
    Connection::open(&path)
        .and_then(|c| c.execute_batch("DROP TABLE messages"))
        .expect("break the schema");
    let error = queue.send("m").await.unwrap_err().to_string();
    let want = format!(
        "queue (sqlite): send in {}: statement failed",
        path.display()
    );
    assert_eq!(error, want);
}
