//! End-to-end: `cirrus workflow validate|exec|graph` through the real binary.
//!
//! The contract checked here: exit codes (0 valid/succeeded, 1 invalid/failed, 2 unreadable
//! or unusable), the exact stdout of `exec` (the output, or `{"error", "cause"}`), the NDJSON
//! history, YAML definitions, stdin input, and Task states run as subprocesses configured in
//! a temporary project's `cirrus.toml`.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use std::fs;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

fn cirrus() -> Command {
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

fn path(name: &str) -> String {
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

/// A project whose `cirrus.toml` runs `copy-assets` and `reject` as subprocesses and maps a
/// Lambda function name to `copy-assets`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = dir.path();
    fs::create_dir_all(root.join("tasks")).unwrap();
    fs::create_dir_all(root.join("sub/folder")).unwrap();
    fs::write(
        root.join("tasks/copy.sh"),
        "echo \"copying for $CIRRUS_TEST_COLOR\" >&2\nprintf '{\"task\": \"copy-assets\", \"input\": %s}' \"$(cat \"$2\")\" > \"$4\"\n",
    )
    .unwrap();
    let reject = root.join("tasks/reject.sh");
    fs::write(
        &reject,
        "#!/bin/sh\necho 'looking at the input' >&2\necho 'InvalidInput: no items to process' >&2\nexit 1\n",
    )
    .unwrap();
    #[cfg(unix)]
    fs::set_permissions(&reject, fs::Permissions::from_mode(0o755)).unwrap();
    // Starts a background process (its pid in sleeper.pid, in the project folder) and waits.
    fs::write(
        root.join("tasks/sleeper.sh"),
        "sleep 1000 &\necho $! > sleeper.pid.tmp\nmv sleeper.pid.tmp sleeper.pid\nwait\n",
    )
    .unwrap();
    fs::write(
        root.join("cirrus.toml"),
        r#"
[tasks.sleeper]
command = ["sh", "tasks/sleeper.sh"]

[tasks.copy-assets]
command = ["sh", "tasks/copy.sh"]
env = { CIRRUS_TEST_COLOR = "blue" }
timeout = "1m"

[tasks.reject]
command = ["./tasks/reject.sh"]

[lambda.functions]
"my-stack-copy-assets" = "copy-assets"
"#,
    )
    .unwrap();
    dir
}

#[test]
fn exec_runs_subprocess_tasks_from_the_project() {
    let project = project();
    let output = cirrus()
        .current_dir(project.path().join("sub/folder"))
        .args([
            "workflow",
            "exec",
            &path("tasks.yaml"),
            "--input",
            "-",
            "--history",
        ])
        .write_stdin(r#"{"id": "x"}"#)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    let copied = json!({"task": "copy-assets", "input": {"id": "x"}});
    assert_eq!(
        result,
        json!({
            "id": "x",
            "copied": copied,
            "by_arn": {"task": "copy-assets", "input": copied},
            "by_invoke": {"payload": {"task": "copy-assets", "input": {"from": "invoke"}}, "status": 200},
            "rejected": {"Error": "InvalidInput", "Cause": "no items to process"},
        })
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    let logged: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| event["type"] == "TaskLog")
        .collect();
    let text = serde_json::to_string(&logged).unwrap();
    assert!(text.contains("copying for blue"), "{text}");
    assert!(text.contains("InvalidInput: no items to process"), "{text}");
}

#[test]
fn exec_unmapped_lambda_function_fails_with_a_hint() {
    let project = project();
    let output = cirrus()
        .current_dir(project.path())
        .args(["workflow", "exec", &path("unmapped.json")])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(outcome["error"], "Lambda.ResourceNotFoundException");
    let cause = outcome["cause"].as_str().unwrap();
    assert!(
        cause.contains("[lambda.functions] \"not-mapped\" = \"TASK\""),
        "{cause}"
    );
    assert!(cause.contains("copy-assets (subprocess)"), "{cause}");
}

#[test]
fn exec_bad_project_configuration_is_exit_2() {
    let project = project();
    fs::write(
        project.path().join("cirrus.toml"),
        "[tasks.copy-assets]\ncomand = [\"sh\"]\n",
    )
    .unwrap();
    cirrus()
        .current_dir(project.path())
        .args(["workflow", "exec", &path("greet.json")])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("cirrus.toml: tasks.copy-assets")
                .and(predicate::str::contains("unknown field `comand`")),
        );
    fs::write(
        project.path().join("cirrus.toml"),
        "[lambda.functions]\n\"fn\" = \"nope\"\n",
    )
    .unwrap();
    cirrus()
        .current_dir(project.path())
        .args(["workflow", "exec", &path("greet.json")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "function \"fn\" maps to task \"nope\", which is not registered",
        ));
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

/// The pid the sleeper task wrote, once it is there (at most 20 s).
#[cfg(target_os = "linux")]
fn sleeper_pid(project: &Path) -> String {
    let file = project.join("sleeper.pid");
    for _ in 0..400 {
        if let Ok(pid) = fs::read_to_string(&file) {
            return pid.trim().to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the sleeper task never started");
}

/// Whether process `pid` is gone or a zombie, waiting up to 10 s for SIGKILL to land.
#[cfg(target_os = "linux")]
fn gone(pid: &str) -> bool {
    for _ in 0..200 {
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat)
                if stat
                    .rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('Z')) =>
            {
                return true;
            }
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
    false
}

#[cfg(target_os = "linux")]
#[test]
fn exec_task_timeout_kills_the_task_and_what_it_started() {
    let project = project();
    let output = cirrus()
        .current_dir(project.path())
        .args(["workflow", "exec", &path("sleeper.json"), "--input", "-"])
        .write_stdin(r#"{"timeout": 1}"#)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(outcome["error"], "States.Timeout");
    let pid = sleeper_pid(project.path());
    assert!(
        gone(&pid),
        "the task's background process {pid} outlived the timeout"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn exec_interrupted_kills_the_running_tasks() {
    let project = project();
    let input = project.path().join("input.json");
    fs::write(&input, r#"{"timeout": 600}"#).unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cirrus"))
        .current_dir(project.path())
        .args(["workflow", "exec", &path("sleeper.json"), "--input"])
        .arg(&input)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cirrus starts");
    let pid = sleeper_pid(project.path());
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted"));
    assert!(
        gone(&pid),
        "the task's background process {pid} outlived the interruption"
    );
}
