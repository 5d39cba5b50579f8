//! The queue conformance suite on the SQLite backend, plus what only SQLite has: several
//! connections and processes sharing one file, and a receiver killed before it deletes.

use cirrus_core::queue::sqlite::{SqliteQueue, SqliteQueueOptions};
use cirrus_core::queue::{ManualClock, Queue};
use cirrus_core::state::Timestamp;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

async fn open(path: &Path, clock: &ManualClock) -> SqliteQueue {
    let options = SqliteQueueOptions {
        clock: Arc::new(clock.clone()),
        ..SqliteQueueOptions::default()
    };
    SqliteQueue::open_with(path, options).await.expect("open")
}

async fn make() -> (SqliteQueue, ManualClock) {
    // The directory lives as long as the test process; each queue gets its own.
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let clock = ManualClock::new(Timestamp::from_micros(1_748_736_000_000_000));
    (open(&dir.join("queue.db"), &clock).await, clock)
}

cirrus_core::queue_conformance_tests!(make);

/// Four connections to one file drain it together: no message goes to two of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_connections_share_one_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("queue.db");
    let clock = ManualClock::new(Timestamp::from_micros(0));
    let first = open(&path, &clock).await;
    let bodies: Vec<String> = (0..300).map(|i| format!("m-{i}")).collect();
    first.send_batch(&bodies).await.expect("send");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let queue = open(&path, &clock).await;
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = queue
                    .receive(9, Duration::from_secs(3600))
                    .await
                    .expect("receive");
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch.into_iter().map(|m| m.body));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("receiver"));
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), unique.len(), "a message went to two connections");
    assert_eq!(unique, bodies.iter().collect());
}

const CHILD_QUEUE: &str = "CIRRUS_TEST_QUEUE_DB";
const CHILD_MODE: &str = "CIRRUS_TEST_QUEUE_MODE";
const SHARED_MESSAGES: usize = 400;

fn child(path: &Path, test: &str, mode: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_QUEUE, path)
        .env(CHILD_MODE, mode)
        .stdout(Stdio::piped());
    command
}

/// Four processes drain one file, deleting what they receive: every message is received by
/// exactly one of them, and the queue ends empty.
#[test]
fn several_processes_share_one_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("queue.db");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let bodies: Vec<String> = (0..SHARED_MESSAGES).map(|i| format!("m-{i}")).collect();
    runtime.block_on(async {
        let queue = SqliteQueue::create(&path).await.expect("create");
        queue.send_batch(&bodies).await.expect("send");
    });
    let children: Vec<_> = (0..4)
        .map(|_| {
            child(&path, "child_receiver", "drain")
                .spawn()
                .expect("spawn a child process")
        })
        .collect();
    let mut all = Vec::new();
    for child in children {
        let output = child.wait_with_output().expect("child");
        assert!(output.status.success(), "a child failed");
        let stdout = String::from_utf8_lossy(&output.stdout);
        all.extend(
            stdout
                .lines()
                .filter_map(|l| l.split_once("got ").map(|(_, body)| body.to_string())),
        );
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), unique.len(), "a message went to two processes");
    assert_eq!(unique, bodies.iter().collect());
    runtime.block_on(async {
        let queue = SqliteQueue::create(&path).await.expect("open");
        assert_eq!(queue.stats().await.expect("stats").total(), 0);
    });
}

/// A process receives a message and is killed (`SIGKILL`) before deleting it: the message
/// stays hidden for its visibility timeout, then comes back with a receive count of 2.
#[test]
fn a_killed_receivers_message_comes_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("queue.db");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let id = runtime.block_on(async {
        let queue = SqliteQueue::create(&path).await.expect("create");
        queue.send("payload").await.expect("send")
    });
    let mut receiver = child(&path, "child_receiver", "hold")
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn a child process");
    let stdout = receiver.stdout.take().expect("child stdout");
    let line = BufReader::new(stdout)
        .lines()
        .find_map(|l| l.ok()?.split_once("got ").map(|(_, body)| body.to_string()))
        .expect("the child reports its message");
    assert_eq!(line, "payload");
    receiver.kill().expect("kill the child");
    receiver.wait().expect("reap the child");

    runtime.block_on(async {
        // The child hid the message for an hour from its receive, on the system clock.
        let clock = ManualClock::new(Timestamp::now());
        let queue = open(&path, &clock).await;
        let stats = queue.stats().await.expect("stats");
        assert_eq!((stats.visible, stats.in_flight), (0, 1));
        assert!(
            queue
                .receive(1, Duration::from_secs(60))
                .await
                .expect("receive")
                .is_empty()
        );
        clock.advance(Duration::from_secs(3601));
        let back = queue
            .receive(1, Duration::from_secs(60))
            .await
            .expect("receive");
        assert_eq!(
            (back[0].id.as_str(), back[0].receive_count),
            (id.as_str(), 2)
        );
        assert!(queue.delete(&back[0].receipt).await.expect("delete"));
    });
}

/// The body of the child processes above; does nothing on its own. `drain` receives and
/// deletes until the queue is empty; `hold` receives one message for an hour, reports it and
/// waits to be killed.
#[test]
#[ignore = "run by the multi-process tests in child processes"]
fn child_receiver() {
    let (Ok(path), Ok(mode)) = (std::env::var(CHILD_QUEUE), std::env::var(CHILD_MODE)) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let queue = SqliteQueue::create(&path).await.expect("open");
        loop {
            let batch = queue
                .receive(7, Duration::from_secs(3600))
                .await
                .expect("receive");
            if batch.is_empty() {
                return;
            }
            // On a line of its own: libtest has written `test child_receiver ... ` before us.
            let mut out = std::io::stdout().lock();
            writeln!(out).expect("write to stdout");
            for message in &batch {
                writeln!(out, "got {}", message.body).expect("write to stdout");
            }
            out.flush().expect("flush stdout");
            drop(out);
            if mode == "hold" {
                // Wait for the parent to kill us: stdin stays open until then.
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
                return;
            }
            let receipts: Vec<_> = batch.into_iter().map(|m| m.receipt).collect();
            let deleted = queue.delete_batch(&receipts).await.expect("delete");
            assert!(deleted.iter().all(|&d| d), "our receipts are current");
        }
    });
}
