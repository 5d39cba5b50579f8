//! State DB benchmark on SQLite: 1,000,000 records over 20 workflows, 5% FAILED.
//!
//! Prints, from one run in one process:
//! - the raw SQLite insert rate (a plain indexed table, prepared statement, 10,000-row
//!   transactions): the reference every other figure is compared with;
//! - `query --state FAILED --since 24h --limit 100` across all workflows: p50 and p99;
//! - `counts` for all workflows (and with `--since 24h`);
//! - claim → processing → succeeded lifecycles a second, transitions batched 1,000 to a
//!   transaction.
//!
//! `CIRRUS_BENCH_RECORDS` changes the record count (default 1,000,000).

use cirrus_core::state::sqlite::SqliteStateStore;
use cirrus_core::state::{
    Change, CountsQuery, Query, State, StateKey, StateStore, Timestamp, Transition,
};
use std::time::{Duration, Instant};

const WORKFLOWS: usize = 20;
const BATCH: usize = 1000;

fn main() {
    let records: usize = std::env::var("CIRRUS_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");

    let raw = raw_insert_rate(&dir.path().join("raw.db"), records);
    println!(
        "raw SQLite insert: {raw:.0} rows/s ({records} rows, 1 index, 10,000-row transactions)"
    );

    runtime.block_on(async {
        let store = SqliteStateStore::create(dir.path().join("state.db")).await.expect("open");
        let now = Timestamp::now();
        let started = Instant::now();
        populate(&store, records, now).await;
        let elapsed = started.elapsed();
        let rate = records as f64 / elapsed.as_secs_f64();
        println!(
            "populate: {records} records (claim → processing → succeeded/failed, 3 transitions each) in {:.1} s: {rate:.0} lifecycles/s = {:.0} transitions/s ({:.2}× raw insert rate)",
            elapsed.as_secs_f64(),
            rate * 3.0,
            rate * 3.0 / raw
        );

        let query = Query {
            state: Some(State::Failed),
            since: Some(now.minus_micros(86_400_000_000)),
            ..Query::default()
        };
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..200 {
            let t = Instant::now();
            let page = store.query_page(&query, None, 100).await.expect("query");
            times.push(t.elapsed());
            found = page.records.len();
        }
        let (p50, p99) = percentiles(&mut times);
        println!(
            "query --state FAILED --since 24h --limit 100 (all workflows, {found} rows): p50 {:.3} ms, p99 {:.3} ms (target p50 < 5 ms)",
            ms(p50),
            ms(p99)
        );

        for (label, q) in [
            ("counts (all workflows)", CountsQuery::default()),
            (
                "counts --since 24h (all workflows)",
                CountsQuery { since: query.since, ..CountsQuery::default() },
            ),
        ] {
            let mut times = Vec::new();
            let mut total = 0;
            for _ in 0..20 {
                let t = Instant::now();
                let counts = store.counts(&q).await.expect("counts");
                times.push(t.elapsed());
                total = counts.total();
            }
            let (p50, p99) = percentiles(&mut times);
            println!("{label} ({total} records): p50 {:.3} ms, p99 {:.3} ms (target < 300 ms)", ms(p50), ms(p99));
        }

        let n = (records / 20).clamp(1000, 50_000);
        let t = Instant::now();
        lifecycles(&store, n, Timestamp::now()).await;
        let elapsed = t.elapsed();
        let rate = n as f64 / elapsed.as_secs_f64();
        println!(
            "lifecycles on a {records}-record DB: {n} claim → processing → succeeded in {:.2} s: {rate:.0} lifecycles/s = {:.0} transitions/s ({:.2}× raw insert rate; target ≥ 20,000 lifecycles/s)",
            elapsed.as_secs_f64(),
            rate * 3.0,
            rate * 3.0 / raw,
        );
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentiles(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

fn raw_insert_rate(path: &std::path::Path, rows: usize) -> f64 {
    let mut conn = rusqlite::Connection::open(path).expect("raw db");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "NORMAL")
        .expect("sync");
    conn.execute_batch("CREATE TABLE raw (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v INTEGER NOT NULL); CREATE INDEX raw_k ON raw (k);")
        .expect("schema");
    let started = Instant::now();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(10_000) {
        let tx = conn.transaction().expect("tx");
        {
            let mut stmt = tx
                .prepare_cached("INSERT INTO raw (k, v) VALUES (?1, ?2)")
                .expect("stmt");
            for i in chunk {
                stmt.execute(rusqlite::params![
                    format!("wf-{}/item-{i:09}", i % WORKFLOWS),
                    *i as i64
                ])
                .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    rows as f64 / started.elapsed().as_secs_f64()
}

fn key(workflow: usize, item: &str) -> StateKey {
    StateKey::parse(&format!("sentinel-2-l2a/workflow-wf-{workflow}/{item}")).expect("key")
}

/// 1 in 20 FAILED, the rest SUCCEEDED, spread evenly over the last 30 days.
async fn populate(store: &SqliteStateStore, records: usize, now: Timestamp) {
    let span = 30 * 86_400_000_000i64;
    let step = span / records as i64;
    for start in (0..records).step_by(BATCH) {
        let end = (start + BATCH).min(records);
        let mut changes = Vec::with_capacity((end - start) * 3);
        for i in start..end {
            let key = key(i % WORKFLOWS, &format!("S2B_{i:09}"));
            let execution = format!("exec-{i}");
            let at = now.minus_micros(span - step * i as i64);
            changes.push(Change {
                key: key.clone(),
                transition: Transition::Claim {
                    execution: execution.clone(),
                    replace: false,
                },
                at,
            });
            changes.push(Change {
                key: key.clone(),
                transition: Transition::Processing {
                    execution: execution.clone(),
                },
                at,
            });
            let last = if i % 20 == 7 {
                Transition::Failed {
                    execution,
                    error: format!("TaskFailed: band {} is empty", i % 7),
                }
            } else {
                Transition::Succeeded { execution }
            };
            changes.push(Change {
                key,
                transition: last,
                at,
            });
        }
        let outcomes = store.apply(&changes).await.expect("apply");
        assert!(outcomes.iter().all(|o| o.is_applied()));
    }
}

/// Claims `n` new payloads, then moves them to PROCESSING, then SUCCEEDED, each step in
/// batches of `BATCH` transitions per transaction.
async fn lifecycles(store: &SqliteStateStore, n: usize, now: Timestamp) {
    let keys: Vec<StateKey> = (0..n)
        .map(|i| key(i % WORKFLOWS, &format!("NEW_{i:09}")))
        .collect();
    for start in (0..n).step_by(BATCH) {
        let batch = &keys[start..(start + BATCH).min(n)];
        for step in 0..3 {
            let changes: Vec<Change> = batch
                .iter()
                .enumerate()
                .map(|(j, key)| {
                    let execution = format!("new-{}", start + j);
                    let transition = match step {
                        0 => Transition::Claim {
                            execution,
                            replace: false,
                        },
                        1 => Transition::Processing { execution },
                        _ => Transition::Succeeded { execution },
                    };
                    Change {
                        key: key.clone(),
                        transition,
                        at: now,
                    }
                })
                .collect();
            let outcomes = store.apply(&changes).await.expect("apply");
            assert!(outcomes.iter().all(|o| o.is_applied()));
        }
    }
}
