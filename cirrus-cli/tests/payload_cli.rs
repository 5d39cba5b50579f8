//! End-to-end: the `cirrus` binary on good input, as a user runs it.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn cirrus() -> Command {
    Command::cargo_bin("cirrus").expect("the cirrus binary is built")
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cirrus-core/tests/fixtures/payloads")
        .join(path)
}

fn payload(items: &[(&str, &str)], workflow: &str) -> String {
    let features: Vec<Value> = items
        .iter()
        .map(|(id, c)| serde_json::json!({"id": id, "collection": c, "assets": {"a": {"href": "s3://x"}}}))
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features, "process": [{"workflow": workflow}]})
        .to_string()
}

#[test]
fn get_id_streams_ndjson_in_order_across_batches() {
    // Enough lines (and bytes) to span several reader batches and worker threads.
    let mut input = String::new();
    let mut want = String::new();
    for i in 0..3000 {
        let pad = "x".repeat(2000 + i % 97);
        let line = serde_json::json!({"features": [{"id": format!("i{i:05}"), "collection": "c", "pad": pad}], "process": [{"workflow": "w"}]});
        input.push_str(&line.to_string());
        input.push('\n');
        if i % 500 == 0 {
            input.push('\n'); // blank lines are skipped
        }
        want.push_str(&format!("c/workflow-w/i{i:05}\n"));
    }
    for threads in ["1", "2", "4"] {
        cirrus()
            .args(["payload", "get-id", "-j", threads])
            .write_stdin(input.clone())
            .assert()
            .success()
            .stdout(want.clone());
    }
}

#[test]
fn get_id_maps_an_ndjson_file_across_batches() {
    // About 9 MB: several 4 MB batches of the memory-mapped path, with lines that straddle
    // batch boundaries, CRLF line ends and a bad line in the last batch.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("payloads.ndjson");
    let mut input = String::new();
    let mut want = String::new();
    let n = 3000;
    for i in 0..n {
        let pad = "y".repeat(3000 + i % 113);
        let line = serde_json::json!({"features": [{"id": format!("m{i:05}"), "pad": pad}], "process": [{"workflow": "w"}]});
        input.push_str(&line.to_string());
        input.push_str(if i % 2 == 0 { "\n" } else { "\r\n" });
        want.push_str(&format!("none/workflow-w/m{i:05}\n"));
    }
    std::fs::write(&file, &input).unwrap();
    cirrus()
        .args(["payload", "get-id"])
        .arg(&file)
        .assert()
        .success()
        .stdout(want.clone());
    // The same input through stdin (the read path) gives the same output.
    cirrus()
        .args(["payload", "get-id", "-"])
        .write_stdin(input.clone())
        .assert()
        .success()
        .stdout(want.clone());
    // A bad line near the end: every ID before it is printed, then the error with its line.
    input.push_str("{\"features\": [{\"id\": 5}], \"process\": [{\"workflow\": \"w\"}]}\n");
    std::fs::write(&file, &input).unwrap();
    cirrus()
        .args(["payload", "get-id"])
        .arg(&file)
        .assert()
        .code(1)
        .stdout(want)
        .stderr(predicate::str::contains(format!(
            "line {}: $.features[0].id",
            n + 1
        )));
}

#[test]
fn get_id_reads_a_pretty_printed_file_and_json_format() {
    cirrus()
        .args(["payload", "get-id"])
        .arg(fixture("valid/multi-item-sentinel-2.json"))
        .assert()
        .success()
        .stdout("sentinel-2-l1c/sentinel-2-l2a/workflow-cog-archive/S2A_18HXG_20230601_0_L2A/S2B_18HXE_20230601_0_L1C/S2B_18HXF_20230601_0_L2A\n");
    let two = format!(
        "{}\n{}\n",
        payload(&[("b", "y"), ("a", "x")], "w"),
        payload(&[("z", "x")], "v")
    );
    cirrus()
        .args(["--format", "json", "payload", "get-id", "-"])
        .write_stdin(two)
        .assert()
        .success()
        .stdout(
            "{\"line\":1,\"id\":\"x/y/workflow-w/a/b\"}\n{\"line\":2,\"id\":\"x/workflow-v/z\"}\n",
        );
}

#[test]
fn validate_reports_each_record_and_exit_codes() {
    let input = format!(
        "{}\n{}\n{}\n",
        payload(&[("a", "c")], "ok"),
        payload(&[("b", "c")], "bad_name"),
        r#"{"url": "s3://bucket/p.json"}"#
    );
    let output = cirrus()
        .args(["payload", "validate", "--format", "json"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let reports: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[0]["status"], "valid");
    assert_eq!(reports[0]["id"], "c/workflow-ok/a");
    assert!(reports[0]["escaped_size"].as_u64().unwrap() > 100);
    assert_eq!(reports[1]["status"], "invalid");
    assert_eq!(reports[1]["line"], 2);
    assert_eq!(reports[1]["problems"][0]["path"], "$.process[0].workflow");
    assert_eq!(reports[2]["status"], "reference");
    assert_eq!(reports[2]["url"], "s3://bucket/p.json");

    cirrus()
        .args(["payload", "validate"])
        .arg(fixture("valid/fan-out.json"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            ": valid sentinel-2-l2a/workflow-cog-archive/",
        ));
}

#[test]
fn legacy_forms_warn_on_stderr_and_quiet_silences_them() {
    let legacy = fixture("valid/legacy-single-dict.json");
    cirrus()
        .args(["payload", "validate"])
        .arg(&legacy)
        .assert()
        .success()
        .stderr(predicate::str::contains("deprecated"));
    cirrus()
        .args(["-q", "payload", "validate"])
        .arg(&legacy)
        .assert()
        .success()
        .stderr("");
    let json_logs = cirrus()
        .args(["--log-format", "json", "payload", "validate"])
        .arg(&legacy)
        .output()
        .unwrap();
    let first: Value =
        serde_json::from_slice(json_logs.stderr.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(first["level"], "WARN");
}

#[test]
fn next_prints_the_chain_as_ndjson() {
    let output = cirrus()
        .args(["payload", "next"])
        .arg(fixture("valid/fan-out.json"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let next: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let workflows: Vec<&str> = next
        .iter()
        .map(|p| p["process"][0]["workflow"].as_str().unwrap())
        .collect();
    assert_eq!(workflows, ["cloud-mask", "ndvi"]);
    assert!(next.iter().all(|p| p.get("id").is_none()));
    // The end of a chain prints nothing.
    cirrus()
        .args(["payload", "next"])
        .arg(fixture("valid/minimal.json"))
        .assert()
        .success()
        .stdout("");
}

#[test]
fn schema_version_and_completions() {
    let output = cirrus().args(["payload", "schema"]).output().unwrap();
    let schema: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(schema["title"], "Cirrus process payload");
    assert!(schema["properties"]["process"].is_object());
    cirrus()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("cirrus 0.1.0"));
    cirrus()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("get-id"));
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    // `cirrus payload get-id big.ndjson | head -1` must not report a failure.
    let mut input = String::new();
    for i in 0..20000 {
        input.push_str(&payload(&[(&format!("i{i}"), "c")], "w"));
        input.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.ndjson");
    std::fs::write(&file, input).unwrap();
    let errors = dir.path().join("stderr.txt");
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' payload get-id '{}' 2> '{}' | head -n 1 > /dev/null",
            assert_cmd::cargo::cargo_bin("cirrus").display(),
            file.display(),
            errors.display()
        ))
        .status()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&errors).unwrap(),
        "",
        "no error on a closed pipe"
    );
    assert!(status.success());
}
