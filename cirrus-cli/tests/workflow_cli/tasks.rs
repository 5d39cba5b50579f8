//! Task states run as subprocesses configured in a temporary project's `cirrus.toml`:
//! results, Lambda mapping, configuration errors, and killing on timeout and Ctrl-C.

use super::{cirrus, path};
use predicates::prelude::*;
use serde_json::{Value, json};
use std::fs;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt as _;
#[cfg(target_os = "linux")]
use std::path::Path;

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
