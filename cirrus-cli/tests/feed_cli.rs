//! End-to-end: `cirrus feed` against a real STAC API on 127.0.0.1, into the project's queue.

use assert_cmd::Command;
use cirrus_core::queue::Queue;
use cirrus_core::queue::sqlite::SqliteQueue;
use cirrus_feeders::testing::StacServer;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;

fn cirrus(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("cirrus").unwrap();
    cmd.current_dir(dir);
    cmd
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn feeds_a_stac_api_search_into_the_queue_and_resumes_a_finished_feed_as_a_no_op() {
    let rt = runtime();
    let server = rt.block_on(StacServer::start(2000)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    cirrus(root).args(["init", "."]).assert().success();
    let config = format!(
        "batch_size = 4\n\n[process]\nworkflow = \"ingest\"\n\n[source]\nurl = \"{}\"\nlimit = 300\ndatetime = \"2019-01-01T00:00:00Z/2021-12-31T23:59:59Z\"\n",
        server.url
    );
    std::fs::write(root.join("feed.toml"), config).unwrap();

    let want = cirrus_feeders::testing::items(2000)
        .filter(|i| i.properties.datetime.unwrap().to_rfc3339().as_str() < "2022")
        .count();
    assert!(
        want > 1000 && want < 1300,
        "about three of the five years: {want}"
    );
    // --dry-run: payloads on stdout, nothing on the queue.
    let out = cirrus(root)
        .args([
            "feed",
            "stac-api",
            "--config",
            "feed.toml",
            "--dry-run",
            "--batch-size",
            "10",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let items: usize = lines
        .iter()
        .map(|p| p["features"].as_array().unwrap().len())
        .sum();
    assert_eq!(items, want);
    assert_eq!(lines[0]["features"].as_array().unwrap().len(), 10);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!(
        "stac-api (dry run): complete: found {want}, sent {} payloads ({want} items)",
        want.div_ceil(10)
    )));

    // Into the queue, with a checkpoint and the JSON summary.
    let out = cirrus(root)
        .args([
            "feed",
            "stac-api",
            "--config",
            "feed.toml",
            "--checkpoint",
            "feed.checkpoint.json",
            "--max-rate",
            "100000/s",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["found"].as_u64(), summary["payloads"].as_u64()),
        (Some(want as u64), Some(want.div_ceil(4) as u64))
    );
    assert_eq!(summary["complete"], true);
    let queue = rt
        .block_on(SqliteQueue::create(root.join(".cirrus/queue.db")))
        .unwrap();
    assert_eq!(
        rt.block_on(queue.stats()).unwrap().visible,
        want.div_ceil(4) as u64
    );
    // The queued payloads are what `cirrus process` accepts.
    let message = rt
        .block_on(queue.receive(1, std::time::Duration::ZERO))
        .unwrap()
        .remove(0);
    let payload: Value = serde_json::from_str(&message.body).unwrap();
    assert_eq!(payload["process"][0]["workflow"], "ingest");

    // Run again: the checkpoint says it is complete; nothing more is sent.
    cirrus(root)
        .args([
            "feed",
            "stac-api",
            "--config",
            "feed.toml",
            "--checkpoint",
            "feed.checkpoint.json",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("already complete"));
    assert_eq!(
        rt.block_on(queue.stats()).unwrap().total(),
        want.div_ceil(4) as u64
    );
}

#[test]
fn bad_configs_and_flags_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    cirrus(root).args(["init", "."]).assert().success();
    std::fs::write(
        root.join("feed.toml"),
        "[process]\nworkflow = \"w\"\n[source]\nurl = \"http://127.0.0.1:9\"\nbboxx = [1]\n",
    )
    .unwrap();
    cirrus(root)
        .args(["feed", "stac-api", "--config", "feed.toml", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "feed.toml: source.bboxx: unknown field `bboxx`",
        ));
    std::fs::write(
        root.join("feed.toml"),
        "[process]\nworkflow = \"a_b\"\n[source]\nurl = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    cirrus(root)
        .args(["feed", "stac-api", "--config", "feed.toml", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("feed.toml: process:"));
    cirrus(root)
        .args([
            "feed",
            "stac-api",
            "--config",
            "feed.toml",
            "--max-rate",
            "fast",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a rate"));
    // Nothing listens on port 9: the error names the URL once the retries are spent.
    std::fs::write(root.join("feed.toml"), "[process]\nworkflow = \"w\"\n[source]\nurl = \"http://127.0.0.1:9\"\nretries = 1\nbackoff_ms = 1\n").unwrap();
    cirrus(root)
        .args(["feed", "stac-api", "--config", "feed.toml", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("POST http://127.0.0.1:9/search"));
}
