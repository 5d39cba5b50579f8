//! End-to-end: `cirrus payload get-input|get-output` read payloads archived in the payload
//! bucket (`<bucket>/cirrus/executions/<payload_id>/<execution>/{input,output}.json`).

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use std::path::Path;

const ID: &str = "sentinel-2-l2a/workflow-cog-archive/S2B_1";

fn cirrus(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("cirrus").expect("the cirrus binary is built");
    command.current_dir(dir).env_remove("CIRRUS_PAYLOAD_BUCKET");
    command
}

/// Archives `payload` as `file` (`input.json` or `output.json`) of `execution`.
fn archive(bucket: &Path, execution: &str, file: &str, payload: &Value) {
    let dir = bucket.join("cirrus/executions").join(ID).join(execution);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), payload.to_string()).unwrap();
}

fn printed(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("one JSON document on stdout")
}

#[test]
fn prints_the_archived_input_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("payloads");
    archive(&bucket, "exec-1", "input.json", &json!({"run": "in"}));
    archive(&bucket, "exec-1", "output.json", &json!({"run": "out"}));
    let flag = bucket.display().to_string();

    let input = cirrus(dir.path())
        .args(["payload", "get-input", ID, "--payloads", &flag])
        .assert()
        .success();
    assert_eq!(printed(&input.get_output().stdout), json!({"run": "in"}));

    let output = cirrus(dir.path())
        .args([
            "payload",
            "get-output",
            ID,
            "--execution",
            "exec-1",
            "--payloads",
            &flag,
        ])
        .assert()
        .success();
    assert_eq!(printed(&output.get_output().stdout), json!({"run": "out"}));
}

#[test]
fn the_bucket_comes_from_the_project_or_its_default_folder() {
    let dir = tempfile::tempdir().unwrap();
    // The default: .cirrus/payloads in the project folder.
    std::fs::write(dir.path().join("cirrus.toml"), "").unwrap();
    archive(
        &dir.path().join(".cirrus/payloads"),
        "e",
        "input.json",
        &json!({"from": "default"}),
    );
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let assert = cirrus(&sub)
        .args(["payload", "get-input", ID])
        .assert()
        .success();
    assert_eq!(
        printed(&assert.get_output().stdout),
        json!({"from": "default"})
    );

    // Configured, relative to the project folder.
    std::fs::write(
        dir.path().join("cirrus.toml"),
        "[store]\npayloads = \"archive\"\n",
    )
    .unwrap();
    archive(
        &dir.path().join("archive"),
        "e",
        "input.json",
        &json!({"from": "config"}),
    );
    let assert = cirrus(&sub)
        .args(["payload", "get-input", ID])
        .assert()
        .success();
    assert_eq!(
        printed(&assert.get_output().stdout),
        json!({"from": "config"})
    );
}

#[test]
fn a_missing_payload_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("payloads");
    archive(&bucket, "exec-1", "input.json", &json!({}));
    let flag = bucket.display().to_string();
    // Running: an input but no output yet.
    cirrus(dir.path())
        .args(["payload", "get-output", ID, "--payloads", &flag])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("no output payload of").and(predicate::str::contains(ID)));
    cirrus(dir.path())
        .args([
            "payload",
            "get-input",
            ID,
            "--execution",
            "exec-2",
            "--payloads",
            &flag,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no input payload of"));
}

#[test]
fn a_bad_store_setting_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cirrus.toml"), "[store]\npayloads = 3\n").unwrap();
    cirrus(dir.path())
        .args(["payload", "get-input", ID])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("store.payloads"));
}
