//! `cirrus state events` end to end on an SQLite event log written through the library.

use assert_cmd::Command;
use cirrus_core::process::{WorkflowEvent, WorkflowEventType};
use cirrus_core::state::sqlite::SqliteStateStore;
use cirrus_core::state::{StateKey, Timestamp};
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const HOUR: i64 = 3_600_000_000;

/// A state DB whose event log holds, over the last few hours: payload A of `cog` claimed,
/// started and failed; payload B of `mosaic` claimed and succeeded; and one message that
/// was not JSON.
fn state_db() -> (tempfile::TempDir, PathBuf, Vec<WorkflowEvent>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("state.db");
    let now = Timestamp::now();
    let at = |hours_ago: i64| now.minus_micros(hours_ago * HOUR);
    let a = StateKey::parse("sentinel-2-l2a/workflow-cog/S2B_A").expect("key");
    let b = StateKey::parse("landsat-c2l2/workflow-mosaic/LC09_B").expect("key");
    use WorkflowEventType::*;
    let events = vec![
        WorkflowEvent::new(ClaimedProcessing, &a, at(50)).with_execution("exec-a"),
        WorkflowEvent::new(StartedProcessing, &a, at(49))
            .with_execution("exec-a")
            .with_input_url("file:///p/executions/a/exec-a/input.json"),
        WorkflowEvent::new(ClaimedProcessing, &b, at(5)).with_execution("exec-b"),
        WorkflowEvent::unidentified(RecordExtractFailed, at(4)).with_error("message is not JSON"),
        WorkflowEvent::new(Failed, &a, at(3))
            .with_execution("exec-a")
            .with_error("TaskFailed: no assets"),
        WorkflowEvent::new(Succeeded, &b, at(2))
            .with_execution("exec-b")
            .with_output_url("file:///p/executions/b/exec-b/output.json"),
    ];
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = SqliteStateStore::create(&db).await.expect("create");
        store.append_events(&events[..3]).await.expect("append");
        store.append_events(&events[3..]).await.expect("append");
    });
    (dir, db, events)
}

fn cirrus(dir: &Path, db: &Path) -> Command {
    let mut cmd = Command::cargo_bin("cirrus").expect("binary");
    cmd.current_dir(dir)
        .env_remove("CIRRUS_STATE_DB")
        .arg("state")
        .arg("--state-db")
        .arg(format!("sqlite:{}", db.display()));
    cmd
}

/// Runs `cirrus state events ARGS --format json` and returns its lines.
fn json_lines(dir: &Path, db: &Path, args: &[&str]) -> Vec<Value> {
    let out = cirrus(dir, db)
        .arg("events")
        .args(args)
        .args(["--format", "json"])
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

fn types(lines: &[Value]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l["event_type"].as_str().expect("event_type"))
        .collect()
}

#[test]
fn json_prints_seq_and_the_exact_body_oldest_first() {
    let (dir, db, events) = state_db();
    let lines = json_lines(dir.path(), &db, &[]);
    assert_eq!(lines.len(), events.len());
    for (line, event) in lines.iter().zip(&events) {
        let mut body = line.clone();
        let seq = body
            .as_object_mut()
            .expect("object")
            .remove("seq")
            .expect("seq");
        assert!(seq.is_i64(), "{line}");
        assert_eq!(body, event.body());
    }
    let seqs: Vec<i64> = lines.iter().map(|l| l["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let keys: Vec<&String> = lines[4].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "seq",
            "event_type",
            "payload_id",
            "isotimestamp",
            "execution",
            "error"
        ]
    );
}

#[test]
fn filters_select_events() {
    let (dir, db, _) = state_db();
    let run = |args: &[&str]| json_lines(dir.path(), &db, args);

    let a = run(&["sentinel-2-l2a/workflow-cog/S2B_A"]);
    assert_eq!(
        types(&a),
        ["CLAIMED_PROCESSING", "STARTED_PROCESSING", "FAILED"]
    );
    assert_eq!(a[2]["error"], "TaskFailed: no assets");

    let claimed = run(&["--type", "claimed_processing"]);
    assert_eq!(types(&claimed), ["CLAIMED_PROCESSING"; 2]);

    let mosaic = run(&["--workflow", "mosaic"]);
    assert_eq!(types(&mosaic), ["CLAIMED_PROCESSING", "SUCCEEDED"]);

    let recent = run(&["--since", "24h", "--until", "3h"]);
    assert_eq!(
        types(&recent),
        ["CLAIMED_PROCESSING", "RECORD_EXTRACT_FAILED", "FAILED"]
    );
    assert!(recent[1].get("payload_id").is_none());

    let first_two = run(&["--limit", "2"]);
    assert_eq!(
        types(&first_two),
        ["CLAIMED_PROCESSING", "STARTED_PROCESSING"]
    );
    let after = first_two[1]["seq"].to_string();
    let next = run(&["--limit", "2", "--after", &after]);
    assert_eq!(
        types(&next),
        ["CLAIMED_PROCESSING", "RECORD_EXTRACT_FAILED"]
    );

    assert!(run(&["sentinel-2-l2a/workflow-cog/NONE"]).is_empty());
}

#[test]
fn text_prints_aligned_columns() {
    let (dir, db, _) = state_db();
    let out = cirrus(dir.path(), &db)
        .args(["events", "--since", "24h"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[0].starts_with("AT ")
            && lines[0].contains("  EVENT_TYPE ")
            && lines[0].contains("  PAYLOAD_ID ")
            && lines[0].ends_with("  EXECUTION  ERROR"),
        "{text}"
    );
    let column = |name: &str| lines[0].find(name).expect("column");
    for line in &lines[1..] {
        for name in ["EVENT_TYPE", "PAYLOAD_ID", "EXECUTION"] {
            let at = column(name);
            assert_eq!(&line[at - 2..at], "  ", "{name} in {line:?}");
            assert_ne!(&line[at..=at], " ", "{name} in {line:?}");
        }
    }
    assert!(lines[2].contains("RECORD_EXTRACT_FAILED") && lines[2].contains("message is not JSON"));
    assert!(lines[3].contains("sentinel-2-l2a/workflow-cog/S2B_A"));
    assert!(lines[3].contains("exec-a") && lines[3].ends_with("TaskFailed: no assets"));
}

#[test]
fn bad_arguments_and_backends_exit_2() {
    let (dir, db, _) = state_db();
    cirrus(dir.path(), &db)
        .args(["events", "--type", "EXPLODED"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "\"EXPLODED\" is not a workflow event type; expected one of CLAIMED_PROCESSING,",
        ));
    cirrus(dir.path(), &db)
        .args(["events", "--since", "yesterday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--since"));
    cirrus(dir.path(), &db)
        .args(["events", "not-a-payload-id"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("payload ID \"not-a-payload-id\""));
    cirrus(dir.path(), &dir.path().join("missing.db"))
        .arg("events")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no state database at"));

    let mut dynamodb = Command::cargo_bin("cirrus").expect("binary");
    dynamodb
        .current_dir(dir.path())
        .env_remove("CIRRUS_STATE_DB")
        .args(["state", "--state-db", "dynamodb:cirrus-state", "events"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the event log is kept only in the SQLite state DB; on AWS workflow events go to the SNS topic",
        ));
    assert!(db.is_file());
}
