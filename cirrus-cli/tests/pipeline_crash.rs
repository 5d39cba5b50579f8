//! End-to-end crash safety of the local pipeline: `cirrus run` is killed with SIGKILL while
//! it drains 2,000 payloads, twice, and restarted each time. In the end every payload is
//! SUCCEEDED exactly once, under one execution, no item is in the publish log twice, no
//! record is left CLAIMED or PROCESSING, the queue is empty, and no task process lingers.
//!
//! The kill moments are random: set `CIRRUS_CRASH_SEED` to replay a run (the seed is
//! printed; run with `--nocapture` to see it, the timings, the take-overs and the events).
//!
//! The second test is the race this suite first found: a dead worker's lease outliving its
//! message's visibility. The pipeline now ends a batch's leases before its messages can come
//! back, and a redelivered message whose payload is still leased waits on the queue for the
//! lease instead of being deleted.

#![cfg(unix)]

mod common;

use cirrus_core::pipeline::execution_name;
use cirrus_core::queue::sqlite::{SqliteQueue, SqliteQueueOptions};
use cirrus_core::queue::{Queue, QueueStats};
use cirrus_core::state::sqlite::SqliteStateStore;
use cirrus_core::state::{Change, Leases, StateKey, StateStore, Transition};
use common::{processes_in, runtime, set_mode, text, wait_for_no_processes_in};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

const PAYLOADS: usize = 2000;

/// Short, so that a killed run's payloads are taken over quickly.
const VISIBILITY_TIMEOUT: &str = "2";

/// The whole test fails rather than hang past this.
const DEADLINE: Duration = Duration::from_secs(300);

/// A task speaking the task CLI contract (`run INPUT --output OUT --workdir DIR`) that
/// copies its input to its output after a short sleep.
const COPY_TASK: &str = "#!/bin/sh\n# copy.sh run INPUT --output OUT --workdir DIR\nsleep 0.01\nexec cp \"$2\" \"$4\"\n";

const COPY_WORKFLOW: &str =
    r#"{"StartAt": "copy", "States": {"copy": {"Type": "Task", "Resource": "copy", "End": true}}}"#;

/// A project made by `cirrus init`, with the `copy` task and workflow. Task processes get
/// their temporary folders under `tmp`, so a killed run leaves nothing outside.
struct Project {
    dir: tempfile::TempDir,
    root: PathBuf,
    tmp: PathBuf,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path().join("project");
        let tmp = dir.path().join("tmp");
        fs::create_dir(&tmp).expect("tmp folder");
        let init = Command::new(env!("CARGO_BIN_EXE_cirrus"))
            .arg("init")
            .arg(&root)
            .output()
            .expect("cirrus init runs");
        assert!(init.status.success(), "cirrus init: {}", text(&init.stderr));
        let task = root.join("tasks/copy.sh");
        fs::write(&task, COPY_TASK).expect("task written");
        set_mode(&task, 0o755);
        let mut config = fs::read_to_string(root.join("cirrus.toml")).expect("cirrus.toml");
        config.push_str("\n[tasks.copy]\ncommand = [\"./tasks/copy.sh\"]\ntimeout = \"60s\"\n");
        fs::write(root.join("cirrus.toml"), config).expect("cirrus.toml written");
        fs::create_dir_all(root.join("workflows/copy")).expect("workflow folder");
        fs::write(root.join("workflows/copy/definition.json"), COPY_WORKFLOW)
            .expect("definition written");
        Project { dir, root, tmp }
    }

    fn cirrus(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cirrus"));
        command
            .current_dir(&self.root)
            .env("TMPDIR", &self.tmp)
            .env_remove("CIRRUS_STATE_DB")
            .env_remove("RUST_LOG");
        command
    }

    /// Runs a command that must succeed, and returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.cirrus().args(args).output().expect("cirrus runs");
        assert!(
            output.status.success(),
            "cirrus {args:?}: {}\n{}",
            output.status,
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// `cirrus run` in the background; its stderr goes to `run-N.stderr`.
    fn spawn_run(&self, round: usize) -> Child {
        let stderr = fs::File::create(self.stderr_file(round)).expect("stderr file");
        self.cirrus()
            .args(["--format", "json", "run", "--workers", "4"])
            .args(["--visibility-timeout", VISIBILITY_TIMEOUT])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("cirrus run starts")
    }

    fn stderr_file(&self, round: usize) -> PathBuf {
        self.dir.path().join(format!("run-{round}.stderr"))
    }

    fn publish_log(&self) -> PathBuf {
        self.root.join(".cirrus/published.ndjson")
    }

    /// Counts by state, over every workflow.
    fn counts(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for line in self.ok(&["state", "counts", "--format", "json"]).lines() {
            let row: Value = serde_json::from_str(line).expect("a counts row is JSON");
            for (state, n) in row["counts"].as_object().expect("counts by state") {
                *counts.entry(state.clone()).or_default() += n.as_u64().expect("a count");
            }
        }
        counts
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
}

/// The publish log, read leniently: the valid messages, and how many lines are not (a line
/// torn by a kill; the sink ends it on reopen, and the item is published again).
fn read_publish_log(path: &Path) -> (Vec<Value>, usize) {
    let Ok(text) = fs::read_to_string(path) else {
        return (Vec::new(), 0);
    };
    let mut valid = Vec::new();
    let mut torn = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Value>(line) {
            Ok(message) if message["body"]["id"].is_string() => valid.push(message),
            _ => torn += 1,
        }
    }
    (valid, torn)
}

/// Lines in the publish log so far (cheap: no parsing).
fn published_lines(path: &Path) -> usize {
    fs::read(path)
        .map(|bytes| bytes.iter().filter(|b| **b == b'\n').count())
        .unwrap_or(0)
}

/// splitmix64: a small, seedable generator, enough to pick kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

fn seed() -> u64 {
    match std::env::var("CIRRUS_CRASH_SEED") {
        Ok(seed) => seed.parse().expect("CIRRUS_CRASH_SEED is a number"),
        Err(_) => SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_nanos() as u64,
    }
}

fn payloads() -> String {
    let mut ndjson = String::new();
    for i in 0..PAYLOADS {
        let payload = json!({
            "type": "FeatureCollection",
            "features": [{
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": format!("item-{i:04}"),
                "collection": "crash",
                "geometry": null,
                "properties": {"datetime": "2024-01-01T00:00:00Z"},
                "links": [],
                "assets": {}
            }],
            "process": [{
                "workflow": "copy",
                "upload_options": {"path_template": "${collection}/${id}"}
            }]
        });
        ndjson.push_str(&payload.to_string());
        ndjson.push('\n');
    }
    ndjson
}

#[test]
fn killed_twice_every_payload_succeeds_once_and_no_item_is_published_twice() {
    let started = Instant::now();
    let deadline = started + DEADLINE;
    let seed = seed();
    println!("seed {seed} (CIRRUS_CRASH_SEED={seed} replays the kill moments)");
    let mut rng = Rng(seed);
    let project = Project::new();

    let input = project.dir.path().join("payloads.ndjson");
    fs::write(&input, payloads()).expect("payloads written");
    let enqueued = project.ok(&["process", input.to_str().expect("a UTF-8 path")]);
    let enqueued = enqueued
        .lines()
        .filter(|l| l.starts_with("enqueued "))
        .count();
    assert_eq!(enqueued, PAYLOADS);
    println!("{PAYLOADS} payloads enqueued in {:?}", started.elapsed());

    let mut target = 0;
    for round in 1..=2 {
        target = kill_at_a_random_moment(&project, round, &mut rng, target, deadline);
    }
    let stats = run_to_the_end(&project, 3, deadline);

    // What happened, printed before the checks so that a failure shows it too.
    let records: Vec<Value> = project
        .ok(&["state", "query", "--format", "json"])
        .lines()
        .map(|line| serde_json::from_str(line).expect("a record is JSON"))
        .collect();
    let events: Vec<Value> = project
        .ok(&["state", "events", "--format", "json"])
        .lines()
        .map(|line| serde_json::from_str(line).expect("an event is JSON"))
        .collect();
    let (published, torn) = read_publish_log(&project.publish_log());
    report(&project, &records, &events, &published, torn);

    assert_eq!(stats["failed"], 0, "{stats}");
    assert_eq!(stats["invalid"], 0, "{stats}");
    assert_eq!(stats["rejected"], 0, "{stats}");
    let execution_of = check_records(&records);
    check_publish_log(&published, &execution_of);
    let data = fs::read_dir(project.root.join(".cirrus/data/crash"))
        .expect("the data store")
        .count();
    assert_eq!(data, PAYLOADS, "items in the data store");

    // Nothing is left on the queue, dead letters included.
    let queue = project.queue_stats();
    let left = (queue.visible, queue.in_flight, queue.dead);
    assert_eq!(left, (0, 0, 0), "{queue:?}");

    // At most one SUCCEEDED event per payload. (Fewer: the events of a batch are emitted
    // after its state changes, so a kill in between loses them; the state DB is the record.)
    let mut succeeded_events: HashMap<&str, usize> = HashMap::new();
    for event in events.iter().filter(|e| e["event_type"] == "SUCCEEDED") {
        let payload_id = event["payload_id"].as_str().expect("payload_id");
        *succeeded_events.entry(payload_id).or_default() += 1;
    }
    let twice: Vec<_> = succeeded_events.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "SUCCEEDED twice: {twice:?}");

    // The tasks the killed runs started are in their own process groups: they may outlive
    // their run a little, never for good.
    let lingering = wait_for_no_processes_in(&project.root, Duration::from_secs(10));
    assert!(
        lingering.is_empty(),
        "task processes still running: {lingering:?}"
    );
    println!("total {:?}", started.elapsed());
}

/// Starts `cirrus run` and kills it (SIGKILL) once `previous` plus a random 150 to 600 more
/// items are in the publish log, and a random 0 to 400 ms more: so that some payloads are
/// done before the first kill and some remain after the second, whatever the machine's
/// speed, and the kill lands anywhere in a batch. Returns the target it waited for.
fn kill_at_a_random_moment(
    project: &Project,
    round: usize,
    rng: &mut Rng,
    previous: u64,
    deadline: Instant,
) -> u64 {
    let log = project.publish_log();
    let target = (published_lines(&log) as u64).max(previous) + rng.range(150, 600);
    let extra = Duration::from_millis(rng.range(0, 400));
    let started = Instant::now();
    let mut child = project.spawn_run(round);
    while (published_lines(&log) as u64) < target {
        if let Some(status) = child.try_wait().expect("wait on cirrus run") {
            panic!(
                "run {round} ended ({status}) before {target} items were published: {}",
                fs::read_to_string(project.stderr_file(round)).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "run {round} made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(extra);
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("the killed run is reaped");
    let lingering = processes_in(&project.root);
    let counts = project.counts();
    println!(
        "run {round}: killed ({status}) after {:?} (target {target} items + {extra:?}); {} lines in the publish log; {counts:?}; task processes left running: {}",
        started.elapsed(),
        published_lines(&log),
        lingering.len(),
    );
    assert!(
        status.code().is_none(),
        "run {round} was not killed: {status}"
    );
    let succeeded = counts.get("SUCCEEDED").copied().unwrap_or(0);
    assert!(succeeded > 0, "nothing finished before kill {round}");
    assert!(
        succeeded < PAYLOADS as u64,
        "everything finished before kill {round}: raise PAYLOADS or lower the targets"
    );
    target
}

/// Runs `cirrus run` until the queue is empty; it must succeed. Returns its counters.
fn run_to_the_end(project: &Project, round: usize, deadline: Instant) -> Value {
    let started = Instant::now();
    let mut child = project.spawn_run(round);
    let status = wait_until(&mut child, deadline);
    let mut stdout = String::new();
    let pipe = child.stdout.as_mut().expect("piped stdout");
    std::io::Read::read_to_string(pipe, &mut stdout).expect("stdout read");
    let stderr = fs::read_to_string(project.stderr_file(round)).unwrap_or_default();
    println!(
        "run {round} (to the end): {status} after {:?}: {}",
        started.elapsed(),
        stdout.trim()
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success(), "the last run: {status}\n{stderr}");
    serde_json::from_str(stdout.trim()).expect("run --format json counters")
}

/// Prints the take-overs, the events, torn lines, and the records left unfinished (with
/// their events).
fn report(
    project: &Project,
    records: &[Value],
    events: &[Value],
    published: &[Value],
    torn: usize,
) {
    let takeovers: Vec<usize> = (1..=3)
        .map(|round| {
            fs::read_to_string(project.stderr_file(round))
                .unwrap_or_default()
                .matches("taking its execution over")
                .count()
        })
        .collect();
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for event in events {
        *by_type
            .entry(event["event_type"].as_str().expect("event_type"))
            .or_default() += 1;
    }
    let updated = published
        .iter()
        .filter(|m| m["attributes"]["status"]["StringValue"] == "updated")
        .count();
    println!(
        "payloads taken over by runs 1..3: {takeovers:?}; torn publish-log lines: {torn}; items published as `updated` (their file was written before a kill): {updated}"
    );
    println!("events: {by_type:?}");
    let stuck: Vec<&str> = records
        .iter()
        .filter(|r| r["state"] != "SUCCEEDED")
        .map(|r| r["payload_id"].as_str().expect("payload_id"))
        .collect();
    for payload_id in stuck.iter().take(3) {
        let types: Vec<&str> = events
            .iter()
            .filter(|e| e["payload_id"] == *payload_id)
            .map(|e| e["event_type"].as_str().expect("event_type"))
            .collect();
        println!("unfinished: {payload_id}, events {types:?}");
    }
    if stuck.len() > 3 {
        println!("… and {} more unfinished", stuck.len() - 3);
    }
}

/// Every payload is SUCCEEDED, under a single execution (a take-over resumes the recorded
/// execution under its name). Returns each payload's execution.
fn check_records(records: &[Value]) -> HashMap<String, Value> {
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    for record in records {
        *states
            .entry(record["state"].as_str().expect("state"))
            .or_default() += 1;
    }
    assert_eq!(
        states,
        BTreeMap::from([("SUCCEEDED", PAYLOADS)]),
        "records by state"
    );
    let mut execution_of = HashMap::new();
    for record in records {
        let executions = record["executions"].as_array().expect("executions");
        assert_eq!(executions.len(), 1, "{record}");
        let outputs = record["outputs"].as_array().map(Vec::len);
        assert_eq!(outputs, Some(1), "{record}");
        let payload_id = record["payload_id"].as_str().expect("payload_id");
        execution_of.insert(payload_id.to_string(), executions[0].clone());
    }
    execution_of
}

/// Each item is in the publish log once, published by its payload's execution.
fn check_publish_log(published: &[Value], execution_of: &HashMap<String, Value>) {
    let mut seen = HashSet::new();
    for message in published {
        let id = message["body"]["id"].as_str().expect("body.id");
        assert!(seen.insert(id), "{id} published twice");
        let payload_id = message["origin"]["payload_id"]
            .as_str()
            .expect("origin.payload_id");
        assert_eq!(payload_id, format!("crash/workflow-copy/{id}"));
        let execution = execution_of.get(payload_id);
        assert_eq!(
            Some(&message["origin"]["execution"]),
            execution,
            "{message}"
        );
    }
    assert_eq!(published.len(), PAYLOADS, "items in the publish log");
}

/// A payload whose worker died right after claiming it: its message is visible again, but
/// the dead worker's lease has not lapsed yet (the lease is taken after the message is
/// received, so it outlives the message's visibility by that gap, and the first renewal
/// would have closed it). The next `cirrus run` must not drop the payload: it must run it
/// once the lease lapses.
#[test]
fn a_message_back_before_the_lease_lapses_is_taken_over() {
    let project = Project::new();
    let input = project.dir.path().join("payload.ndjson");
    let payload = payloads().lines().next().expect("a payload").to_string();
    fs::write(&input, &payload).expect("payload written");
    project.ok(&["process", input.to_str().expect("a UTF-8 path")]);
    let key = StateKey::parse("crash/workflow-copy/item-0000").expect("a key");
    let cirrus_dir = project.root.join(".cirrus");
    runtime().block_on(async {
        // What a worker does before it dies: receive (hidden for 1 s), claim, take the lease
        // (here for 3 s, to widen the gap).
        let queue = SqliteQueue::create(cirrus_dir.join("queue.db"))
            .await
            .expect("queue");
        let batch = queue
            .receive(10, Duration::from_secs(1))
            .await
            .expect("receive");
        assert_eq!(batch.len(), 1);
        let state = SqliteStateStore::create(cirrus_dir.join("state.db"))
            .await
            .expect("state DB");
        let execution = execution_name(key.as_str(), &[]);
        let outcomes = state
            .apply(&[Change::now(
                key.clone(),
                Transition::Claim {
                    execution,
                    replace: false,
                },
            )])
            .await
            .expect("claim");
        assert!(outcomes[0].is_applied());
        let held = state
            .acquire(key.as_str(), "worker-dead", Duration::from_secs(3), true)
            .await
            .expect("lease");
        assert!(held);
    });
    std::thread::sleep(Duration::from_millis(1200));

    let output = project
        .cirrus()
        .args(["--format", "json", "run", "--visibility-timeout", "1"])
        .output()
        .expect("cirrus run");
    let stats: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let record: Value = serde_json::from_str(
        project
            .ok(&["state", "get", key.as_str(), "--format", "json"])
            .trim(),
    )
    .expect("the record is JSON");
    let queue = project.queue_stats();
    assert_eq!(
        record["state"],
        "SUCCEEDED",
        "run: {stats}\n{}\nqueue: {queue:?}",
        text(&output.stderr)
    );
    assert_eq!(queue.total(), 0, "{queue:?}");
}

/// Waits for `child`, killing it and failing at `deadline`.
fn wait_until(child: &mut Child, deadline: Instant) -> ExitStatus {
    loop {
        if let Some(status) = child.try_wait().expect("wait on cirrus run") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cirrus run did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
