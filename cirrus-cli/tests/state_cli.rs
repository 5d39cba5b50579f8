//! `cirrus state …` end to end on an SQLite state DB written through the library.

use assert_cmd::Command;
use cirrus_core::state::sqlite::SqliteStateStore;
use cirrus_core::state::{Change, StateKey, StateStore, Timestamp, Transition};
use predicates::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const HOUR: i64 = 3_600_000_000;

/// A project folder whose default state DB holds 30 payloads over 3 workflows: every third
/// FAILED (two kinds of error), the rest SUCCEEDED, spread over the last 30 hours, half an hour off the hour.
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join(".cirrus/state.db");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = SqliteStateStore::create(&db).await.expect("create");
        let now = Timestamp::now();
        let mut changes = Vec::new();
        for i in 0..30i64 {
            let key = StateKey::parse(&format!("sentinel-2-l2a/workflow-wf-{}/S2B_{i:02}", i % 3))
                .expect("key");
            let at = now.minus_micros((30 - i) * HOUR - HOUR / 2);
            let execution = format!("exec-{i}");
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
            let end = if i % 3 == 0 {
                let error = if i % 2 == 0 {
                    "TaskFailed: no assets"
                } else {
                    "TimedOutError: 3600 s"
                };
                Transition::Failed {
                    execution,
                    error: error.to_string(),
                }
            } else {
                Transition::Succeeded { execution }
            };
            changes.push(Change {
                key,
                transition: end,
                at,
            });
        }
        assert!(
            store
                .apply(&changes)
                .await
                .expect("apply")
                .iter()
                .all(|o| o.is_applied())
        );
    });
    (dir, db)
}

fn cirrus(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("cirrus").expect("binary");
    cmd.current_dir(dir).env_remove("CIRRUS_STATE_DB");
    cmd
}

fn lines(output: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(output)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn get_prints_the_record_and_its_timeline() {
    let (dir, _) = project();
    let id = "sentinel-2-l2a/workflow-wf-0/S2B_03";
    let out = cirrus(dir.path())
        .args(["state", "get", id, "--format", "json"])
        .assert()
        .success();
    let record = &lines(&out.get_output().stdout)[0];
    assert_eq!(record["payload_id"], id);
    assert_eq!(record["state"], "FAILED");
    assert_eq!(record["last_error"], "TimedOutError: 3600 s");
    assert_eq!(record["executions"], serde_json::json!(["exec-3"]));
    let states: Vec<&str> = record["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["CLAIMED", "PROCESSING", "FAILED"]);

    cirrus(dir.path())
        .args(["state", "get", id])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "last_error     TimedOutError: 3600 s",
        ))
        .stdout(predicate::str::contains("PROCESSING  exec-3"));
}

#[test]
fn unknown_payloads_and_bad_ids_exit_2() {
    let (dir, _) = project();
    for command in ["get", "timeline"] {
        cirrus(dir.path())
            .args(["state", command, "sentinel-2-l2a/workflow-wf-0/NOPE"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "no state record for payload \"sentinel-2-l2a/workflow-wf-0/NOPE\"",
            ));
        cirrus(dir.path())
            .args(["state", command, "not-a-payload-id"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("payload ID \"not-a-payload-id\""));
    }
}

#[test]
fn query_filters_across_workflows() {
    let (dir, _) = project();
    let query = |args: &[&str]| {
        let out = cirrus(dir.path())
            .args(["state", "query", "--format", "json"])
            .args(args)
            .assert()
            .success();
        lines(&out.get_output().stdout)
    };
    assert_eq!(query(&[]).len(), 30);
    let failed = query(&["--state", "failed"]);
    assert_eq!(failed.len(), 10);
    let workflows: HashSet<&str> = failed
        .iter()
        .map(|r| r["workflow"].as_str().unwrap())
        .collect();
    assert_eq!(workflows.len(), 1, "i % 3 == 0 are all wf-0");
    assert_eq!(query(&["--state", "FAILED", "--since", "24h"]).len(), 8);
    assert_eq!(query(&["--error-prefix", "TaskFailed"]).len(), 5);
    assert_eq!(
        query(&["--error-prefix", "TimedOut", "--since", "24h"]).len(),
        4
    );
    assert_eq!(query(&["--workflow", "wf-1"]).len(), 10);
    assert_eq!(
        query(&[
            "--collections",
            "sentinel-2-l2a",
            "--workflow",
            "wf-2",
            "--until",
            "20h"
        ])
        .len(),
        3
    );
    assert_eq!(query(&["--collections", "landsat"]).len(), 0);
    let newest_first = query(&[]);
    assert_eq!(newest_first[0]["items"], "S2B_29");
    let oldest_first = query(&["--ascending", "--sort", "state_updated"]);
    assert_eq!(oldest_first[0]["items"], "S2B_00");

    cirrus(dir.path())
        .args(["state", "query", "--state", "FAILED", "--limit", "2"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("STATE_UPDATED"))
        .stdout(predicate::str::contains(
            "FAILED      sentinel-2-l2a/workflow-wf-0/S2B_27  TimedOutError: 3600 s",
        ));
}

#[test]
fn limit_and_page_walk_every_record_once() {
    let (dir, _) = project();
    let mut seen = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let mut cmd = cirrus(dir.path());
        cmd.args([
            "state", "query", "--format", "json", "--since", "7d", "--limit", "7",
        ]);
        if let Some(token) = &page {
            cmd.args(["--page", token]);
        }
        let out = cmd.assert().success();
        let records = lines(&out.get_output().stdout);
        assert!(records.len() <= 7);
        seen.extend(
            records
                .into_iter()
                .map(|r| r["payload_id"].as_str().unwrap().to_string()),
        );
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        match stderr
            .lines()
            .find_map(|l| l.strip_prefix("next page: --page "))
        {
            Some(token) => page = Some(token.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 30);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 30);

    // A token belongs to its query.
    let out = cirrus(dir.path())
        .args(["state", "query", "--limit", "5", "--format", "json"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    let token = stderr
        .lines()
        .find_map(|l| l.strip_prefix("next page: --page "))
        .expect("a token")
        .to_string();
    cirrus(dir.path())
        .args([
            "state", "query", "--limit", "5", "--state", "FAILED", "--page", &token,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "page: the page token belongs to a different query",
        ));
    cirrus(dir.path())
        .args(["state", "query", "--limit", "5", "--page", "garbage!"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a valid page token"));
}

#[test]
fn counts_per_workflow_and_state() {
    let (dir, _) = project();
    let out = cirrus(dir.path())
        .args(["state", "counts", "--format", "json"])
        .assert()
        .success();
    let rows = lines(&out.get_output().stdout);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["workflow"], "wf-0");
    assert_eq!(rows[0]["counts"]["FAILED"], 10);
    assert_eq!(rows[1]["counts"]["SUCCEEDED"], 10);
    assert_eq!(rows[1]["counts"]["FAILED"], 0);
    assert_eq!(rows[2]["total"], 10);

    let out = cirrus(dir.path())
        .args([
            "state",
            "counts",
            "--since",
            "24h",
            "--workflow",
            "wf-0",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let rows = lines(&out.get_output().stdout);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["counts"]["FAILED"], 8);

    cirrus(dir.path())
        .args(["state", "counts"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "WORKFLOW  CLAIMED  PROCESSING  SUCCEEDED  FAILED  INVALID  ABORTED  TOTAL",
        ))
        .stdout(predicate::str::contains(
            "wf-0            0           0          0      10        0        0     10",
        ))
        .stdout(predicate::str::contains(
            "(all)           0           0         20      10        0        0     30",
        ));
}

#[test]
fn timeline_lists_transitions_in_order() {
    let (dir, _) = project();
    let out = cirrus(dir.path())
        .args([
            "state",
            "timeline",
            "sentinel-2-l2a/workflow-wf-1/S2B_04",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let events = lines(&out.get_output().stdout);
    let states: Vec<&str> = events
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["CLAIMED", "PROCESSING", "SUCCEEDED"]);
    assert!(events.iter().all(|e| e["execution"] == "exec-4"));
}

#[test]
fn bad_arguments_exit_2_with_the_reason() {
    let (dir, _) = project();
    let fails = |args: &[&str], message: &str| {
        cirrus(dir.path())
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message.to_string()));
    };
    fails(
        &["state", "query", "--since", "yesterday"],
        "--since: \"yesterday\" is neither a duration",
    );
    fails(
        &["state", "query", "--until", "24 h"],
        "--until: \"24 h\" is neither a duration",
    );
    fails(
        &["state", "counts", "--since", "5y"],
        "--since: \"5y\" is neither a duration",
    );
    fails(
        &["state", "query", "--since", "24ч"],
        "--since: \"24ч\" is neither a duration",
    );
    fails(
        &["state", "query", "--since", "999999999999999w"],
        "--since: \"999999999999999w\" is too long a duration",
    );
    fails(
        &["state", "query", "--state", "DONE"],
        "\"DONE\" is not a state; expected one of CLAIMED, PROCESSING, SUCCEEDED, FAILED, INVALID, ABORTED",
    );
    fails(&["state", "query", "--limit", "0"], "--limit");
    fails(
        &["state", "--state-db", "state.db", "counts"],
        "expected sqlite:PATH or dynamodb:TABLE",
    );
    fails(
        &["state", "--state-db", "sqlite:missing.db", "counts"],
        "no state database at",
    );
}

#[test]
fn the_state_db_comes_from_the_flag_the_env_or_the_project() {
    let (dir, db) = project();
    let elsewhere = tempfile::tempdir().expect("temp dir");
    // No project here: the default is .cirrus/state.db in the current folder, which is missing.
    cirrus(elsewhere.path())
        .args(["state", "counts"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".cirrus/state.db"));
    let spec = format!("sqlite:{}", db.display());
    cirrus(elsewhere.path())
        .args(["state", "counts", "--state-db", &spec])
        .assert()
        .success();
    cirrus(elsewhere.path())
        .env("CIRRUS_STATE_DB", &spec)
        .args(["state", "counts"])
        .assert()
        .success();

    // A project names its DB in cirrus.toml, relative to the project folder, and is found
    // from a subfolder.
    std::fs::rename(&db, dir.path().join("custom.db")).expect("move");
    std::fs::write(
        dir.path().join("cirrus.toml"),
        "[state]\ndb = \"sqlite:custom.db\"\n",
    )
    .expect("config");
    let sub = dir.path().join("workflows/deep");
    std::fs::create_dir_all(&sub).expect("subfolder");
    cirrus(&sub)
        .args(["state", "query", "--format", "json", "--limit", "1"])
        .assert()
        .success();
    std::fs::write(dir.path().join("cirrus.toml"), "[state]\ndb = 3\n").expect("config");
    cirrus(&sub)
        .args(["state", "counts"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("state.db must be a string"));
}
