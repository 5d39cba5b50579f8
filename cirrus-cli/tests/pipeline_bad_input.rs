//! End-to-end: the local pipeline (`cirrus process`, `cirrus run`) on bad input and a bad
//! machine. A garbage NDJSON line is rejected alone, kept, and logged; a payload naming a
//! missing workflow, or whose task hangs past its timeout, is FAILED with a clear error; a
//! read-only state folder or a full disk stops the command with a clear error (exit 2, no
//! panic) and loses no record: once the machine is fixed, `cirrus run` finishes them all.

#![cfg(unix)]

mod common;

use cirrus_core::queue::sqlite::{SqliteQueue, SqliteQueueOptions};
use cirrus_core::queue::{Queue, QueueStats};
use common::{runtime, set_mode, text, wait_for_no_processes_in};
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A task speaking the task CLI contract (`run INPUT --output OUT --workdir DIR`): copies
/// its input to its output.
const COPY_TASK: &str =
    "#!/bin/sh\n# copy.sh run INPUT --output OUT --workdir DIR\nexec cp \"$2\" \"$4\"\n";

/// A task that never ends, and starts a child that would outlive it.
const HANG_TASK: &str = "#!/bin/sh\n# hang.sh run INPUT --output OUT --workdir DIR\necho 'hanging' >&2\nsleep 600 &\nwait\n";

/// The visibility timeout of the runs that are expected to stop on an error: their
/// payloads come back this soon.
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(1);

/// A project made by `cirrus init`, with the `copy` and `hang` tasks and a workflow each.
struct Project {
    dir: tempfile::TempDir,
    root: PathBuf,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path().join("project");
        fs::create_dir(dir.path().join("tmp")).expect("tmp folder");
        let init = Command::new(env!("CARGO_BIN_EXE_cirrus"))
            .arg("init")
            .arg(&root)
            .output()
            .expect("cirrus init runs");
        assert!(init.status.success(), "cirrus init: {}", text(&init.stderr));
        let project = Project { dir, root };
        for (name, script, timeout) in [("copy", COPY_TASK, "60s"), ("hang", HANG_TASK, "1s")] {
            let task = project.root.join(format!("tasks/{name}.sh"));
            fs::write(&task, script).expect("task written");
            set_mode(&task, 0o755);
            project.configure(&format!(
                "[tasks.{name}]\ncommand = [\"./tasks/{name}.sh\"]\ntimeout = \"{timeout}\"\n"
            ));
            let workflow = project.root.join(format!("workflows/{name}"));
            fs::create_dir_all(&workflow).expect("workflow folder");
            let definition = json!({
                "StartAt": name,
                "States": {name: {"Type": "Task", "Resource": name, "End": true}}
            });
            fs::write(workflow.join("definition.json"), definition.to_string())
                .expect("definition written");
        }
        project
    }

    /// Appends `section` to cirrus.toml.
    fn configure(&self, section: &str) {
        let path = self.root.join("cirrus.toml");
        let mut config = fs::read_to_string(&path).expect("cirrus.toml");
        config.push('\n');
        config.push_str(section);
        fs::write(&path, config).expect("cirrus.toml written");
    }

    /// Removes what `configure` appended.
    fn unconfigure(&self, section: &str) {
        let path = self.root.join("cirrus.toml");
        let config = fs::read_to_string(&path).expect("cirrus.toml");
        let without = config.replace(&format!("\n{section}"), "");
        assert_ne!(config, without, "{section} was configured");
        fs::write(&path, without).expect("cirrus.toml written");
    }

    fn cirrus(&self) -> Command {
        self.command(env!("CARGO_BIN_EXE_cirrus"))
    }

    /// `program` in the project folder, with task temporary folders in the test's folder.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(&self.root)
            .env("TMPDIR", self.dir.path().join("tmp"))
            .env_remove("CIRRUS_STATE_DB")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    /// `cirrus ARGS` to its end, failing the test after `patience`.
    fn run(&self, args: &[&str]) -> Output {
        self.run_command(self.cirrus().args(args))
    }

    fn run_command(&self, command: &mut Command) -> Output {
        let patience = Duration::from_secs(120);
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cirrus starts");
        let pid = child.id();
        let started = Instant::now();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || sender.send(child.wait_with_output()));
        match receiver.recv_timeout(patience) {
            Ok(output) => {
                let output = output.expect("cirrus ran");
                let stderr = text(&output.stderr);
                assert!(!stderr.contains("panicked"), "cirrus panicked: {stderr}");
                println!(
                    "{} {:?}: {} in {:?}",
                    Path::new(command.get_program()).display(),
                    command.get_args().collect::<Vec<_>>(),
                    output.status,
                    started.elapsed()
                );
                output
            }
            Err(_) => {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                panic!("cirrus did not finish within {patience:?}");
            }
        }
    }

    /// `cirrus ARGS`, which must exit with `code`; returns its stdout.
    fn expect(&self, code: i32, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "cirrus {args:?}\nstdout: {}\nstderr: {}",
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// Writes `lines` to a file and `cirrus process`es it; returns its exit code and
    /// stdout.
    fn submit(&self, name: &str, lines: &[String]) -> (Option<i32>, String) {
        let path = self.dir.path().join(name);
        fs::write(&path, lines.join("\n") + "\n").expect("input written");
        let output = self.run(&["process", path.to_str().expect("a UTF-8 path")]);
        (output.status.code(), text(&output.stdout))
    }

    fn record(&self, payload_id: &str) -> Value {
        let out = self.expect(0, &["state", "get", payload_id, "--format", "json"]);
        serde_json::from_str(out.trim()).expect("the record is JSON")
    }

    /// The states of every record, by payload ID.
    fn states(&self) -> Vec<(String, String)> {
        let mut states: Vec<(String, String)> = self
            .expect(0, &["state", "query", "--format", "json"])
            .lines()
            .map(|line| {
                let record: Value = serde_json::from_str(line).expect("a record is JSON");
                (
                    record["payload_id"]
                        .as_str()
                        .expect("payload_id")
                        .to_string(),
                    record["state"].as_str().expect("state").to_string(),
                )
            })
            .collect();
        states.sort();
        states
    }

    fn events(&self, event_type: &str) -> Vec<Value> {
        self.expect(
            0,
            &["state", "events", "--type", event_type, "--format", "json"],
        )
        .lines()
        .map(|line| serde_json::from_str(line).expect("an event is JSON"))
        .collect()
    }

    /// The IDs of the items in the publish log, sorted (a batch's payloads finish in any
    /// order).
    fn published(&self) -> Vec<String> {
        let log =
            fs::read_to_string(self.root.join(".cirrus/published.ndjson")).unwrap_or_default();
        let mut ids: Vec<String> = log
            .lines()
            .map(|line| {
                let message: Value = serde_json::from_str(line).expect("a published message");
                message["body"]["id"].as_str().expect("body.id").to_string()
            })
            .collect();
        ids.sort();
        ids
    }

    fn queue_stats(&self) -> QueueStats {
        let path = self.root.join(".cirrus/queue.db");
        runtime().block_on(async {
            let options = SqliteQueueOptions {
                create: false,
                ..SqliteQueueOptions::default()
            };
            let queue = SqliteQueue::open_with(&path, options)
                .await
                .expect("the queue opens");
            queue.stats().await.expect("queue stats")
        })
    }

    /// `cirrus run` after a run that stopped on an error: waits until that run's messages
    /// are visible again and its leases have lapsed, then drains the queue.
    fn run_again(&self) -> Value {
        // Waiting past the lease too (not only the visibility timeout) keeps this test
        // clear of the take-over race that `pipeline_crash.rs` shows.
        std::thread::sleep(VISIBILITY_TIMEOUT * 2 + Duration::from_millis(500));
        let out = self.expect(0, &["--format", "json", "run", "--visibility-timeout", "1"]);
        serde_json::from_str(out.trim()).expect("run --format json stats")
    }
}

/// A payload of one item `id` (collection `c`) for `workflow`.
fn payload(id: &str, workflow: &str) -> String {
    json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": id,
            "collection": "c",
            "geometry": null,
            "properties": {"datetime": "2024-01-01T00:00:00Z"},
            "links": [],
            "assets": {}
        }],
        "process": [{
            "workflow": workflow,
            "upload_options": {"path_template": "${collection}/${id}"}
        }]
    })
    .to_string()
}

fn succeeded(ids: &[&str], workflow: &str) -> Vec<(String, String)> {
    let mut states: Vec<(String, String)> = ids
        .iter()
        .map(|id| {
            (
                format!("c/workflow-{workflow}/{id}"),
                "SUCCEEDED".to_string(),
            )
        })
        .collect();
    states.sort();
    states
}

#[test]
fn a_garbage_line_is_rejected_alone_and_the_rest_go_through() {
    let project = Project::new();
    let garbage = r#"{"features": [{"id": "torn"#;
    let not_a_payload = r#"{"hello": "world"}"#;
    let lines = vec![
        payload("a", "copy"),
        payload("b", "copy"),
        garbage.to_string(),
        payload("c", "copy"),
        not_a_payload.to_string(),
    ];
    let (code, stdout) = project.submit("batch.ndjson", &lines);
    assert_eq!(code, Some(1), "{stdout}");
    let out: Vec<&str> = stdout.lines().collect();
    assert_eq!(out.len(), 5, "{stdout}");
    assert_eq!(out[0], "enqueued c/workflow-copy/a");
    assert_eq!(out[1], "enqueued c/workflow-copy/b");
    assert_eq!(out[3], "enqueued c/workflow-copy/c");
    let input = project.dir.path().join("batch.ndjson");
    let prefix = format!(
        "{}:3: RECORD_EXTRACT_FAILED: message is not JSON",
        input.display()
    );
    assert!(out[2].starts_with(&prefix), "{}", out[2]);
    let prefix = format!(
        "{}:5: NOT_A_PROCESS_PAYLOAD: not a process payload: $.process: is required",
        input.display()
    );
    assert!(out[4].starts_with(&prefix), "{}", out[4]);

    // Each rejected line is kept, as it was, under tmp/invalid/ of the payload bucket.
    let invalid = project.root.join(".cirrus/payloads/cirrus/tmp/invalid");
    for (line, raw) in [(out[2], garbage), (out[4], not_a_payload)] {
        let kept_at = line
            .rsplit_once("(kept at file://")
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("no `kept at` in {line}"));
        let kept_at = Path::new(kept_at);
        assert_eq!(kept_at.parent(), Some(invalid.as_path()), "{line}");
        assert_eq!(fs::read_to_string(kept_at).expect("kept"), raw);
    }
    assert_eq!(fs::read_dir(&invalid).expect("tmp/invalid").count(), 2);

    // Each rejection is in the event log, with the kept copy's URL.
    let events = project.events("RECORD_EXTRACT_FAILED");
    assert_eq!(events.len(), 1, "{events:?}");
    let error = events[0]["error"].as_str().expect("error");
    assert!(error.starts_with("message is not JSON"), "{error}");
    assert!(
        out[2].contains(
            events[0]["input_payload_url"]
                .as_str()
                .expect("input_payload_url")
        )
    );
    assert_eq!(project.events("NOT_A_PROCESS_PAYLOAD").len(), 1);
    let log = fs::read_to_string(project.root.join(".cirrus/events.ndjson")).expect("events");
    let logged: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).expect("an event message"))
        .filter(|message: &Value| message["body"]["event_type"] == "RECORD_EXTRACT_FAILED")
        .collect();
    assert_eq!(logged.len(), 1, "{log}");
    assert_eq!(logged[0]["body"]["error"], events[0]["error"]);

    // The three good payloads run.
    let stats: Value = serde_json::from_str(project.expect(0, &["--format", "json", "run"]).trim())
        .expect("stats");
    assert_eq!(
        (&stats["received"], &stats["succeeded"], &stats["rejected"]),
        (&json!(3), &json!(3), &json!(0)),
        "{stats}"
    );
    assert_eq!(project.states(), succeeded(&["a", "b", "c"], "copy"));
    assert_eq!(project.published(), ["a", "b", "c"]);
}

#[test]
fn a_missing_workflow_is_failed_with_a_clear_error() {
    let project = Project::new();
    let (code, stdout) = project.submit(
        "batch.ndjson",
        &[payload("lost", "nowhere"), payload("fine", "copy")],
    );
    assert_eq!(code, Some(0), "{stdout}");
    let stdout = project.expect(1, &["run"]);
    assert!(stdout.contains("succeeded 1 · failed 1"), "{stdout}");

    let record = project.record("c/workflow-nowhere/lost");
    assert_eq!(record["state"], "FAILED", "{record}");
    let error = record["last_error"].as_str().expect("last_error");
    assert!(
        error.starts_with("WorkflowNotFound: no workflow named \"nowhere\""),
        "{error}"
    );
    assert!(
        error.contains("workflows/<name>/definition.json"),
        "{error}"
    );
    let failed = project.events("FAILED");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["payload_id"], "c/workflow-nowhere/lost");
    assert_eq!(failed[0]["error"], error);
    assert_eq!(project.record("c/workflow-copy/fine")["state"], "SUCCEEDED");
    assert_eq!(project.queue_stats().total(), 0);
}

#[test]
fn a_task_hanging_past_its_timeout_is_failed_and_killed() {
    let project = Project::new();
    let (code, stdout) = project.submit("hang.ndjson", &[payload("h", "hang")]);
    assert_eq!(code, Some(0), "{stdout}");
    // `run` gives up on the task after its 1 s timeout (the guard in `run` fails the test
    // if it waits for the task's `sleep 600` instead).
    let stdout = project.expect(1, &["run"]);
    assert!(stdout.contains("failed 1"), "{stdout}");

    let record = project.record("c/workflow-hang/h");
    assert_eq!(record["state"], "FAILED", "{record}");
    let error = record["last_error"].as_str().expect("last_error");
    assert_eq!(
        error, "States.Timeout: task hang ran longer than its timeout of 1s",
        "{record}"
    );
    let failed = project.events("FAILED");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["error"], error);
    // The task's process group went with it: its `sleep 600` does not linger.
    let left = wait_for_no_processes_in(&project.root, Duration::from_secs(5));
    assert!(left.is_empty(), "task processes left running: {left:?}");
}

#[test]
fn a_read_only_state_folder_is_a_clear_error_and_loses_no_record() {
    let project = Project::new();
    project.submit("first.ndjson", &[payload("first", "copy")]);
    project.expect(0, &["run"]);
    let (code, stdout) = project.submit(
        "queued.ndjson",
        &[payload("q1", "copy"), payload("q2", "copy")],
    );
    assert_eq!(code, Some(0), "{stdout}");

    let state_folder = project.root.join(".cirrus");
    let Some(read_only) = ReadOnly::make(&state_folder) else {
        println!(
            "skipped: {} cannot be made read-only for this user here (root without chattr +i)",
            state_folder.display()
        );
        return;
    };
    let late = project.dir.path().join("late.ndjson");
    fs::write(&late, payload("q3", "copy")).expect("input written");
    let state_db = state_folder.join("state.db");
    for args in [
        vec!["process", late.to_str().expect("a UTF-8 path")],
        vec!["run"],
    ] {
        let output = project.run(&args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "cirrus {args:?}: {stderr}");
        let expected = format!("error: cannot open the state DB {}: ", state_db.display());
        assert!(stderr.contains(&expected), "cirrus {args:?}: {stderr}");
        // chmod gives "attempt to write a readonly database"; an immutable folder (root)
        // gives "unable to open database file".
        assert!(
            stderr.contains("readonly database") || stderr.contains("unable to open"),
            "cirrus {args:?}: {stderr}"
        );
    }
    drop(read_only);

    // Nothing was taken off the queue, nothing changed in the state DB.
    let queue = project.queue_stats();
    assert_eq!(
        (queue.visible, queue.in_flight, queue.dead),
        (2, 0, 0),
        "{queue:?}"
    );
    assert_eq!(project.states(), succeeded(&["first"], "copy"));
    // Once the folder is writable again, the refused submission goes through and every
    // payload runs.
    assert_eq!(
        project.expect(0, &["process", late.to_str().expect("a UTF-8 path")]),
        "enqueued c/workflow-copy/q3\n"
    );
    project.expect(0, &["run"]);
    assert_eq!(
        project.states(),
        succeeded(&["first", "q1", "q2", "q3"], "copy")
    );
    assert_eq!(project.published(), ["first", "q1", "q2", "q3"]);
}

/// A full disk under the publish log or the event log: `/dev/full` fails every write with
/// ENOSPC, as a full file system does.
#[test]
fn a_full_disk_under_a_log_is_a_clear_error_and_loses_no_record() {
    for log in ["items", "events"] {
        let project = Project::new();
        let ids = ["d1", "d2", "d3"];
        let lines: Vec<String> = ids.iter().map(|id| payload(id, "copy")).collect();
        let (code, stdout) = project.submit("batch.ndjson", &lines);
        assert_eq!(code, Some(0), "{stdout}");
        let section = format!("[publish]\n{log} = \"/dev/full\"\n");
        project.configure(&section);
        let output = project.run(&["run", "--visibility-timeout", "1"]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{log}: {stderr}");
        // The error surfaces at the write or at the flush, as the OS reports it.
        let error = stderr
            .lines()
            .find(|line| line.starts_with("error: "))
            .unwrap_or_else(|| panic!("{log}: no error line: {stderr}"));
        assert!(
            error.starts_with("error: message sink (ndjson /dev/full): cannot ")
                && error.ends_with(": No space left on device (os error 28)"),
            "{log}: {error}"
        );
        assert!(
            project
                .states()
                .iter()
                .all(|(_, state)| state != "SUCCEEDED"),
            "{log}: {:?}",
            project.states()
        );

        project.unconfigure(&section);
        let stats = project.run_again();
        assert_eq!(stats["succeeded"], 3, "{log}: {stats}");
        assert_eq!(project.states(), succeeded(&ids, "copy"), "{log}");
        assert_eq!(project.published(), ids, "{log}");
        assert_eq!(project.queue_stats().total(), 0, "{log}");
    }
}

/// A full disk under the state DB, simulated with a file size limit (`ulimit -f`): a write
/// past it fails with EFBIG, as one past the free space fails with ENOSPC. The limit is a
/// little above the current files, so the run stops once the state DB's write-ahead log
/// grows.
#[test]
fn a_full_disk_under_the_state_db_is_a_clear_error_and_loses_no_record() {
    let project = Project::new();
    project.submit("first.ndjson", &[payload("first", "copy")]);
    project.expect(0, &["run"]);
    let ids: Vec<String> = (0..40).map(|i| format!("f{i:02}")).collect();
    let lines: Vec<String> = ids.iter().map(|id| payload(id, "copy")).collect();
    let (code, stdout) = project.submit("batch.ndjson", &lines);
    assert_eq!(code, Some(0), "{stdout}");

    let largest = fs::read_dir(project.root.join(".cirrus"))
        .expect("the state folder")
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(|metadata| metadata.len())
        .max()
        .expect("files");
    // In 512-byte blocks: 32 KiB above the largest file.
    let blocks = largest / 512 + 64;
    // SIGXFSZ would kill the process: ignored, the write fails with EFBIG instead.
    let output = project.run_command(
        project
            .command("sh")
            .arg("-c")
            .arg("trap '' XFSZ; ulimit -f \"$1\"; shift; exec \"$@\"")
            .args(["sh", &blocks.to_string(), env!("CARGO_BIN_EXE_cirrus")])
            .args(["run", "--visibility-timeout", "1"]),
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let error = stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(
        error.starts_with("error: state DB (sqlite): ")
            && error.contains("state.db: cannot commit")
            && error.contains("I/O error"),
        "{error}"
    );

    let stats = project.run_again();
    assert_eq!(stats["failed"], 0, "{stats}");
    let mut all: Vec<&str> = ids.iter().map(String::as_str).collect();
    all.push("first");
    assert_eq!(project.states(), succeeded(&all, "copy"));
    all.sort();
    assert_eq!(project.published(), all, "each item published once");
    assert_eq!(project.queue_stats().total(), 0);
}

/// A folder and its files made read-only, until dropped. `chmod` is enough for a user; root
/// ignores file modes, so for root the folder and its files are made immutable
/// (`chattr +i`, which root cannot write through either). Made only when a probe write
/// into the folder then fails.
struct ReadOnly {
    folder: PathBuf,
    files: Vec<PathBuf>,
    immutable: bool,
}

impl ReadOnly {
    fn make(folder: &Path) -> Option<ReadOnly> {
        let files: Vec<PathBuf> = fs::read_dir(folder)
            .expect("the folder")
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.is_file())
            .collect();
        let mut read_only = ReadOnly {
            folder: folder.to_path_buf(),
            files,
            immutable: false,
        };
        for file in &read_only.files {
            set_mode(file, 0o444);
        }
        set_mode(folder, 0o555);
        if !writable(folder) {
            return Some(read_only);
        }
        read_only.immutable = true;
        let chattr = Command::new("chattr")
            .arg("+i")
            .args(&read_only.files)
            .arg(folder)
            .output();
        match chattr {
            Ok(output) if output.status.success() && !writable(folder) => Some(read_only),
            _ => None,
        }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.immutable {
            let _ = Command::new("chattr")
                .arg("-i")
                .arg(&self.folder)
                .args(&self.files)
                .status();
        }
        set_mode(&self.folder, 0o755);
        for file in &self.files {
            set_mode(file, 0o644);
        }
    }
}

/// Whether a file can be created in `folder` (and removes it).
fn writable(folder: &Path) -> bool {
    let probe = folder.join("probe");
    match fs::write(&probe, "probe") {
        Ok(()) => {
            let _ = fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}
