//! The state DB conformance suite on the SQLite backend, plus what only SQLite has: query
//! plans, migrations, and several processes sharing one file.

use cirrus_core::state::sqlite::SqliteStateStore;
use cirrus_core::state::{
    Change, CountsQuery, Query, SortKey, State, StateKey, StateStore, Timestamp, Transition,
};
use std::process::Command;

async fn make() -> SqliteStateStore {
    // The directory lives as long as the test process; each store gets its own.
    let dir = tempfile::tempdir().expect("temp dir").keep();
    SqliteStateStore::create(dir.join("state.db"))
        .await
        .expect("create")
}

cirrus_core::state_conformance_tests!(make);

/// Every query shape — any mix of filters, window bounds, sort key, direction and cursor —
/// reads an index in sort order: never the whole table, never a sort. Only the shapes with
/// no filter at all walk an index from one end (and stop at the page size).
#[tokio::test]
async fn every_query_shape_uses_an_index_without_sorting() {
    let store = make().await;
    let mut shapes = 0;
    for mask in 0..64u32 {
        let has = |bit: u32| mask & (1 << bit) != 0;
        for sort in [SortKey::Updated, SortKey::StateUpdated] {
            for ascending in [false, true] {
                for paged in [false, true] {
                    let query = Query {
                        state: has(0).then_some(State::Failed),
                        workflow: has(1).then(|| "wf".to_string()),
                        collections: has(2).then(|| "c".to_string()),
                        error_prefix: has(3).then(|| "TaskFailed".to_string()),
                        since: has(4).then(|| Timestamp::from_micros(1)),
                        until: has(5).then(|| Timestamp::from_micros(2)),
                        sort: Some(sort),
                        ascending,
                        limit: None,
                    };
                    let plan = store
                        .explain(&query, paged)
                        .await
                        .expect("explain")
                        .join(" | ");
                    shapes += 1;
                    assert!(!plan.contains("TEMP B-TREE"), "{query:?} sorts: {plan}");
                    assert!(
                        plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"),
                        "{query:?}: {plan}"
                    );
                    let narrowed = has(0) || has(1) || has(2) || has(4) || has(5) || paged;
                    if narrowed {
                        assert!(
                            plan.starts_with("SEARCH state USING"),
                            "{query:?} scans: {plan}"
                        );
                    } else if has(3) {
                        // Only records with an error are in the partial index it walks.
                        assert!(plan.contains("state_errors_by_"), "{query:?}: {plan}");
                    }
                }
            }
        }
    }
    assert_eq!(shapes, 512);
}

#[tokio::test]
async fn schema_is_versioned_and_migrated_forward_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.db");

    let missing = SqliteStateStore::open(&path).await.expect_err("no file");
    assert!(
        missing.to_string().contains("no state database at"),
        "{missing}"
    );
    assert!(!path.exists(), "open does not create");

    // An empty file is a version-0 database: created and migrated.
    std::fs::write(&path, b"").expect("empty file");
    let store = SqliteStateStore::create(&path)
        .await
        .expect("migrate an empty file");
    let key = StateKey::parse("c/workflow-w/a").expect("key");
    store.claim(&key, "e1", false).await.expect("claim");
    drop(store);
    let version = |path: &std::path::Path| -> u32 {
        let conn = rusqlite::Connection::open(path).expect("open");
        conn.pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("version")
    };
    assert_eq!(version(&path), SqliteStateStore::schema_version());

    // Reopening keeps the data and does not migrate again.
    let store = SqliteStateStore::open(&path).await.expect("reopen");
    assert_eq!(
        store.get(&key).await.expect("get").expect("record").state,
        State::Claimed
    );
    drop(store);

    // A file from a newer cirrus is refused, untouched.
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.pragma_update(None, "user_version", 99).expect("bump");
    drop(conn);
    let newer = SqliteStateStore::open(&path)
        .await
        .expect_err("newer schema");
    assert!(newer.to_string().contains("newer than"), "{newer}");
    assert_eq!(version(&path), 99);

    // Some other SQLite database is refused, not taken over.
    let other = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&other).expect("open");
    conn.execute_batch("CREATE TABLE t (x)").expect("table");
    drop(conn);
    let foreign = SqliteStateStore::open(&other)
        .await
        .expect_err("foreign database");
    assert!(
        foreign.to_string().contains("not a cirrus state DB"),
        "{foreign}"
    );

    // Not a database at all.
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "hello, this is not SQLite at all, but it is long enough",
    )
    .expect("write");
    let error = SqliteStateStore::open(&text).await.expect_err("text file");
    assert!(error.to_string().contains("state DB (sqlite)"), "{error}");
}

const CHILD_DB: &str = "CIRRUS_TEST_STATE_DB";
const CHILD_ID: &str = "CIRRUS_TEST_WORKER";
const SHARED_KEYS: usize = 300;

fn shared_key(i: usize) -> StateKey {
    StateKey::parse(&format!("c/workflow-multi/item-{i:03}")).expect("key")
}

/// Several processes claim the same 300 payloads, each in batches, and run the lifecycle of
/// those they win. Every payload is won exactly once and ends SUCCEEDED with a timeline of
/// exactly three events.
#[test]
fn several_processes_share_one_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.db");
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<_> = (0..4)
        .map(|worker| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "child_claimer",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_DB, &path)
                .env(CHILD_ID, worker.to_string())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawn a child process")
        })
        .collect();
    let mut won = 0;
    for child in children {
        let output = child.wait_with_output().expect("child");
        assert!(output.status.success(), "a child failed");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("won ").map(|(_, n)| n))
            .expect("child reports its wins");
        won += line.trim().parse::<usize>().expect("a count");
    }
    assert_eq!(won, SHARED_KEYS, "every payload is won exactly once");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = SqliteStateStore::open(&path).await.expect("open");
        let keys: Vec<StateKey> = (0..SHARED_KEYS).map(shared_key).collect();
        for (key, record) in keys
            .iter()
            .zip(store.get_many(&keys).await.expect("get_many"))
        {
            let record = record.expect("record");
            assert_eq!(record.state, State::Succeeded);
            assert_eq!(record.executions.len(), 1, "{key} claimed once");
            assert_eq!(store.timeline(key).await.expect("timeline").len(), 3);
        }
        let counts = store.counts(&CountsQuery::default()).await.expect("counts");
        assert_eq!(counts.get("multi", State::Succeeded), SHARED_KEYS as u64);
        assert_eq!(counts.total(), SHARED_KEYS as u64);
    });
}

/// The body of one process of `several_processes_share_one_file`; does nothing on its own.
#[test]
#[ignore = "run by several_processes_share_one_file in child processes"]
fn child_claimer() {
    let (Ok(path), Ok(worker)) = (std::env::var(CHILD_DB), std::env::var(CHILD_ID)) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let won = runtime.block_on(async {
        let store = SqliteStateStore::create(&path).await.expect("open");
        let mut won = 0;
        // Each worker walks the keys from a different start, 25 claims per transaction.
        let offset = worker.parse::<usize>().expect("worker") * 75;
        let order: Vec<usize> = (0..SHARED_KEYS)
            .map(|i| (i + offset) % SHARED_KEYS)
            .collect();
        for chunk in order.chunks(25) {
            let claims: Vec<Change> = chunk
                .iter()
                .map(|&i| {
                    let execution = format!("w{worker}-{i}");
                    Change::now(
                        shared_key(i),
                        Transition::Claim {
                            execution,
                            replace: false,
                        },
                    )
                })
                .collect();
            let outcomes = store.apply(&claims).await.expect("claims");
            for (change, outcome) in claims.iter().zip(outcomes) {
                if !outcome.is_applied() {
                    continue;
                }
                won += 1;
                let execution = change.transition.execution().to_string();
                store
                    .set_processing(&change.key, &execution)
                    .await
                    .expect("processing");
                let done = store
                    .set_succeeded(&change.key, &execution)
                    .await
                    .expect("succeeded");
                assert!(done.is_applied());
            }
        }
        won
    });
    println!("won {won}");
}
