//! Subprocess tasks driven with small `sh` scripts written to a temporary folder.

use super::*;
use futures_util::FutureExt;
use serde_json::json;
use tempfile::TempDir;

/// A task `name` running `sh SCRIPT`, where the script is `body` (it gets the contract's
/// arguments: `$1` = run, `$2` = INPUT, `$4` = OUT, `$6` = DIR).
fn script(dir: &TempDir, name: &str, body: &str) -> SubprocessTask {
    let path = dir.path().join(format!("{name}.sh"));
    std::fs::write(&path, body).unwrap();
    SubprocessTask::new(name, ["sh".to_owned(), path.display().to_string()]).unwrap()
}

fn invocation() -> Invocation {
    Invocation::new("exec-1", "Run", "task", "token")
}

#[tokio::test]
async fn success_reads_out_and_logs_stderr_as_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let task = script(
        &dir,
        "copy",
        r#"echo "starting $1" >&2
echo "args: $3 $5 $7" >&2
echo "progress on stdout"
cat "$2" > "$4"
echo done >&2
"#,
    )
    .with_args(["--local"]);
    let invocation = invocation();
    let output = task
        .invoke(json!({"a": [1, 2]}), &invocation)
        .await
        .unwrap();
    assert_eq!(output, json!({"a": [1, 2]}));
    assert_eq!(
        invocation.take_log(),
        [
            "starting run",
            "args: --output --workdir --local",
            "done",
            "stdout: progress on stdout"
        ]
    );
    assert!(invocation.heartbeat_received().now_or_never().is_some());
}

#[tokio::test]
async fn without_out_the_result_is_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let task = script(&dir, "echo", "echo '{\"from\": \"stdout\"}'\n");
    let output = task.invoke(json!({}), &invocation()).await.unwrap();
    assert_eq!(output, json!({"from": "stdout"}));

    let silent = script(&dir, "silent", "exit 0\n");
    let failure = silent.invoke(json!({}), &invocation()).await.unwrap_err();
    assert_eq!(failure.error, "TaskFailed");
    assert_eq!(
        failure.cause.as_deref(),
        Some(
            "task silent: exited 0 without a result: it wrote nothing to --output and nothing on stdout"
        )
    );

    let garbage = script(&dir, "garbage", "echo 'not json' > \"$4\"\n");
    let failure = garbage.invoke(json!({}), &invocation()).await.unwrap_err();
    assert!(
        failure
            .cause
            .unwrap()
            .starts_with("task garbage: exited 0 but its output (--output) is not JSON")
    );
}

#[tokio::test]
async fn the_last_error_line_names_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let task = script(
        &dir,
        "fail",
        r#"echo "WARNING: first a warning" >&2
echo "Traceback (most recent call last):" >&2
echo "TaskFailed: an earlier error" >&2
echo "cirrus.lib.errors.InvalidInput: no items: none at all" >&2
echo "WARNING: exiting" >&2
exit 1
"#,
    );
    let invocation = invocation();
    let failure = task.invoke(json!({}), &invocation).await.unwrap_err();
    assert_eq!(
        failure,
        Failure::new("cirrus.lib.errors.InvalidInput", "no items: none at all")
    );
    assert_eq!(invocation.take_log().len(), 5);
}

#[tokio::test]
async fn without_an_error_line_the_exit_status_and_last_line_are_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let task = script(
        &dir,
        "boom",
        "echo 'something went wrong' >&2\necho >&2\nexit 3\n",
    );
    let failure = task.invoke(json!({}), &invocation()).await.unwrap_err();
    assert_eq!(
        failure,
        Failure::new("TaskFailed", "exit status 3: something went wrong")
    );
    let quiet = script(&dir, "quiet", "exit 4\n");
    let failure = quiet.invoke(json!({}), &invocation()).await.unwrap_err();
    assert_eq!(
        failure,
        Failure::new("TaskFailed", "exit status 4 (nothing on stderr)")
    );
}

#[tokio::test]
async fn a_command_that_cannot_start_is_named() {
    let task = SubprocessTask::new("ghost", ["/nonexistent/bin/task", "--flag"]).unwrap();
    let failure = task.invoke(json!({}), &invocation()).await.unwrap_err();
    assert_eq!(failure.error, "TaskFailed");
    let cause = failure.cause.unwrap();
    assert!(
        cause.starts_with("task ghost: cannot run `/nonexistent/bin/task --flag`: "),
        "{cause}"
    );
}

#[tokio::test]
async fn current_dir_and_env_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let task = script(
        &dir,
        "where",
        "printf '{\"pwd\": \"%s\", \"color\": \"%s\"}' \"$(pwd -P)\" \"$COLOR\" > \"$4\"\n",
    )
    .with_current_dir(dir.path())
    .with_env("COLOR", "blue");
    let output = task.invoke(json!({}), &invocation()).await.unwrap();
    let canonical = dir.path().canonicalize().unwrap();
    assert_eq!(output["pwd"], canonical.display().to_string());
    assert_eq!(output["color"], "blue");
}

/// A script that starts a background `sleep` (its pid written to `pid_file`) and waits.
#[cfg(target_os = "linux")]
fn sleeper(dir: &TempDir, pid_file: &Path) -> SubprocessTask {
    let body = format!(
        "sleep 1000 &\necho $! > '{}'\necho started >&2\nwait\n",
        pid_file.display()
    );
    script(dir, "sleeper", &body)
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet), polling for up to 10 s:
/// SIGKILL is delivered asynchronously.
#[cfg(target_os = "linux")]
async fn gone(pid: &str) -> bool {
    for _ in 0..200 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat)
                if stat
                    .rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('Z')) =>
            {
                return true;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    false
}

#[cfg(target_os = "linux")]
async fn wait_for_pid(pid_file: &Path) -> String {
    for _ in 0..200 {
        if let Ok(pid) = std::fs::read_to_string(pid_file)
            && pid.ends_with('\n')
        {
            return pid.trim().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the script never wrote {}", pid_file.display());
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_configured_timeout_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let task = sleeper(&dir, &pid_file).with_timeout(Duration::from_secs(2));
    let invocation = invocation();
    let failure = task.invoke(json!({}), &invocation).await.unwrap_err();
    assert_eq!(
        failure,
        Failure::new(
            "States.Timeout",
            "task sleeper ran longer than its timeout of 2s"
        )
    );
    let pid = wait_for_pid(&pid_file).await;
    assert!(
        gone(&pid).await,
        "the background process {pid} survived the timeout"
    );
    assert_eq!(invocation.take_log(), ["started"]);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn dropping_the_invocation_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let task = sleeper(&dir, &pid_file);
    let invocation = invocation();
    {
        // What the engine does on TimeoutSeconds: stop polling and drop the future.
        let run = task.invoke(json!({}), &invocation);
        tokio::pin!(run);
        let pid_file = pid_file.clone();
        tokio::select! {
            _ = &mut run => panic!("the sleeper finished"),
            pid = wait_for_pid(&pid_file) => assert!(!pid.is_empty()),
        }
    }
    let pid = wait_for_pid(&pid_file).await;
    assert!(
        gone(&pid).await,
        "the background process {pid} survived the drop"
    );
}

#[test]
fn durations_read_well() {
    assert_eq!(describe(Duration::from_secs(900)), "15m");
    assert_eq!(describe(Duration::from_secs(7200)), "2h");
    assert_eq!(describe(Duration::from_secs(90)), "90s");
    assert_eq!(describe(Duration::from_millis(1500)), "1.5s");
}
