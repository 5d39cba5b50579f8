//! End-to-end: `cirrus workflow validate|exec|graph` through the real binary.
//!
//! The contract checked here: exit codes (0 valid/succeeded, 1 invalid/failed, 2 unreadable
//! or unusable), the exact stdout of `exec` (the output, or `{"error", "cause"}`), the NDJSON
//! history, YAML definitions, stdin input, and Task states run as subprocesses configured in
//! a temporary project's `cirrus.toml`.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

#[path = "workflow_cli/tasks.rs"]
mod tasks;

pub(crate) fn cirrus() -> Command {
    Command::cargo_bin("cirrus").expect("the cirrus binary is built")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/workflow")
        .join(name)
}

/// `cirrus workflow ARGS…` run in an empty temporary folder, so no `cirrus.toml` of the
/// repository is found.
fn workflow(args: &[&str]) -> (Command, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut command = cirrus();
    command.current_dir(dir.path()).arg("workflow").args(args);
    (command, dir)
}

pub(crate) fn path(name: &str) -> String {
    fixture(name).display().to_string()
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

#[test]
fn validate_a_valid_definition() {
    for name in ["greet.json", "greet.yaml", "tasks.yaml", "timeout.json"] {
        let (mut command, _dir) = workflow(&["validate", &path(name)]);
        command
            .assert()
            .code(0)
            .stdout("")
            .stderr(predicate::str::contains("valid"));
    }
    let (mut command, _dir) = workflow(&["validate", "--format", "json", &path("greet.json")]);
    command.assert().code(0).stdout("[]\n");
}

#[test]
fn validate_lists_each_problem_with_its_path() {
    let (mut command, _dir) = workflow(&["validate", &path("invalid.json")]);
    let output = command.assert().code(1).get_output().clone();
    let stdout = stdout_of(&output);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 2, "{stdout}");
    assert!(
        lines.iter().any(|l| l.starts_with("$.States.First.Next: ")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("$.States.Second.Type: ")),
        "{stdout}"
    );

    let (mut command, _dir) = workflow(&["validate", "--format", "json", &path("invalid.json")]);
    let output = command.assert().code(1).get_output().clone();
    let problems: Vec<Value> = serde_json::from_slice(&output.stdout).expect("a JSON array");
    assert_eq!(problems.len(), lines.len());
    for (problem, line) in problems.iter().zip(&lines) {
        let text = format!(
            "{}: {}",
            problem["path"].as_str().unwrap(),
            problem["message"].as_str().unwrap()
        );
        assert_eq!(&text, line);
    }
}

#[test]
fn validate_malformed_and_unreadable_definitions() {
    let (mut command, _dir) = workflow(&["validate", &path("malformed.json")]);
    command.assert().code(1).stdout(predicate::str::starts_with(
        "$: not valid JSON: EOF while parsing",
    ));
    let (mut command, dir) = workflow(&["validate", "broken.yaml"]);
    fs::write(dir.path().join("broken.yaml"), "StartAt: [First\n").unwrap();
    command
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("$: not valid YAML: "));
    let (mut command, _dir) = workflow(&["validate", "missing.json"]);
    command
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("error: cannot read missing.json"));
}

#[test]
fn exec_prints_the_output() {
    let (mut command, _dir) = workflow(&["exec", &path("greet.json")]);
    command
        .assert()
        .code(0)
        .stdout("{\"greeting\":\"hello, world\",\"n\":0}\n");
}

#[test]
fn exec_reads_yaml_and_input_from_stdin_or_a_file() {
    let input = r#"{"name": "Ada", "items": [1, 2, 3]}"#;
    let want = "{\"greeting\":\"hello, Ada\",\"n\":3}\n";
    for definition in ["greet.json", "greet.yaml"] {
        let (mut command, _dir) = workflow(&["exec", &path(definition), "--input", "-"]);
        command.write_stdin(input).assert().code(0).stdout(want);
    }
    let (mut command, dir) = workflow(&["exec", &path("greet.yaml"), "--input", "in.json"]);
    fs::write(dir.path().join("in.json"), input).unwrap();
    command.assert().code(0).stdout(want);
}

#[test]
fn exec_failure_prints_error_and_cause() {
    let (mut command, _dir) = workflow(&["exec", &path("fail.json"), "--input", "-"]);
    command
        .write_stdin(r#"{"cause": "it broke"}"#)
        .assert()
        .code(1)
        .stdout("{\"error\":\"Boom\",\"cause\":\"it broke\"}\n");
    let (mut command, _dir) = workflow(&["exec", &path("fail.json")]);
    command
        .assert()
        .code(1)
        .stdout("{\"error\":\"Boom\",\"cause\":null}\n");
}

#[test]
fn exec_timed_out_is_a_failure() {
    let (mut command, _dir) = workflow(&["exec", &path("timeout.json")]);
    let output = command.assert().code(1).get_output().clone();
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(outcome["error"], "States.Timeout");
    assert_eq!(outcome.as_object().unwrap().len(), 2);
}

#[test]
fn exec_invalid_definition_is_exit_2_with_problems_on_stderr() {
    let (mut command, _dir) = workflow(&["exec", &path("invalid.json")]);
    command
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("$.States.First.Next: "));
    let (mut command, _dir) = workflow(&["exec", &path("malformed.json")]);
    command
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with("$: not valid JSON: "));
    let (mut command, _dir) = workflow(&["exec", "missing.yaml"]);
    command
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read missing.yaml"));
}

#[test]
fn exec_bad_input() {
    let (mut command, _dir) = workflow(&["exec", &path("greet.json"), "--input", "-"]);
    command
        .write_stdin("{\"name\": ")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("--input <stdin>: not valid JSON"));
    let (mut command, _dir) = workflow(&["exec", &path("greet.json"), "--input", "nope.json"]);
    command
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read nope.json"));
    let (mut command, _dir) = workflow(&["exec", "-", "--input", "-"]);
    command
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot both be read from stdin"));
}

#[test]
fn exec_history_is_ndjson_on_stderr() {
    let (mut command, _dir) =
        workflow(&["exec", &path("greet.json"), "--history", "--name", "run-1"]);
    let output = command.assert().code(0).get_output().clone();
    assert_eq!(
        stdout_of(&output),
        "{\"greeting\":\"hello, world\",\"n\":0}\n"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    let events: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"ExecutionStarted"));
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    assert!(types.contains(&"ChoiceStateEntered"), "{types:?}");
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
}

#[test]
fn exec_max_history_events() {
    let (mut command, _dir) = workflow(&["exec", &path("greet.json"), "--max-history-events", "3"]);
    let output = command.assert().code(1).get_output().clone();
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(outcome["error"], "States.Runtime");
}

#[test]
fn graph_draws_dot_or_mermaid() {
    let (mut command, _dir) = workflow(&["graph", &path("greet.yaml")]);
    command
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("digraph").and(predicate::str::contains("Named?")));
    let (mut command, _dir) = workflow(&["graph", "--mermaid", &path("greet.json")]);
    command
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("flowchart"));
    let (mut command, _dir) = workflow(&["graph", &path("invalid.json")]);
    command
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("$.States.First.Next: "));
}
