//! End-to-end: the local pipeline through the real binary, in a temporary project made by
//! `cirrus init`: `validate` → `process` a batch → `run --until-empty` → `state query`, with
//! a Python task speaking the task CLI contract (`tests/fixtures/pipeline/behave.py`).

use assert_cmd::Command;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const BEHAVE: &str = include_str!("fixtures/pipeline/behave.py");
const DEFINITION: &str = include_str!("fixtures/pipeline/definition.json");

fn cirrus(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("cirrus").expect("the cirrus binary is built");
    command
        .current_dir(dir)
        .env("BEHAVE_STATE", dir.join("behave-state"));
    command
}

/// A project with the `behave` task and three workflows using it: main, second, third.
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    cirrus(dir.path()).args(["init", "p"]).assert().success();
    let root = dir.path().join("p");
    fs::create_dir_all(root.join("tasks/behave")).unwrap();
    fs::create_dir_all(root.join("behave-state")).unwrap();
    fs::write(root.join("tasks/behave/task.py"), BEHAVE).unwrap();
    let mut config = fs::read_to_string(root.join("cirrus.toml")).unwrap();
    config.push_str(
        "\n[tasks.behave]\ncommand = [\"python3\", \"tasks/behave/task.py\"]\ntimeout = \"60s\"\n",
    );
    fs::write(root.join("cirrus.toml"), config).unwrap();
    for workflow in ["main", "second", "third"] {
        fs::create_dir_all(root.join("workflows").join(workflow)).unwrap();
        fs::write(
            root.join(format!("workflows/{workflow}/definition.json")),
            DEFINITION,
        )
        .unwrap();
    }
    (dir, root)
}

fn item(id: &str, behave: &str) -> Value {
    json!({
        "type": "Feature", "stac_version": "1.0.0", "id": id, "collection": "c",
        "geometry": {"type": "Point", "coordinates": [10.5, 45.25]}, "bbox": [10.5, 45.25, 10.5, 45.25],
        "properties": {"datetime": "2024-05-01T10:00:00Z", "behave": behave},
        "links": [], "assets": {"data": {"href": format!("s3://raw/{id}.tif")}}
    })
}

fn step(workflow: &str) -> Value {
    json!({"workflow": workflow, "upload_options": {"path_template": "/${collection}/${id}"}})
}

fn payload(features: Vec<Value>, process: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features, "process": process})
}

fn ndjson(payloads: &[Value]) -> String {
    payloads.iter().map(|p| format!("{p}\n")).collect()
}

/// `cirrus process -` with `input`; returns the exit code and stdout.
fn process(root: &Path, input: &str) -> (i32, String) {
    let output = cirrus(root)
        .args(["process", "-"])
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// `cirrus run --until-empty`; returns the exit code and the run's counters.
fn run(root: &Path) -> (i32, Value) {
    let output = cirrus(root)
        .args(["run", "--until-empty", "--workers", "2", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let counters = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("run printed no counters ({e}); stderr: {stderr}"));
    (output.status.code().unwrap(), counters)
}

/// The JSON lines `cirrus ARGS` prints, which must succeed.
fn json_lines(root: &Path, args: &[&str]) -> Vec<Value> {
    let output = cirrus(root).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Every record of the state DB, by payload ID.
fn records(root: &Path) -> BTreeMap<String, Value> {
    json_lines(root, &["state", "query", "--format", "json"])
        .into_iter()
        .map(|record| (record["payload_id"].as_str().unwrap().to_string(), record))
        .collect()
}

fn state(records: &BTreeMap<String, Value>, id: &str) -> String {
    let record = records
        .get(id)
        .unwrap_or_else(|| panic!("no record {id}: {records:#?}"));
    record["state"].as_str().unwrap().to_string()
}

/// The event types of the event log, for one payload (`None`: all events).
fn events(root: &Path, payload_id: Option<&str>) -> Vec<String> {
    let mut args = vec!["state", "events", "--format", "json"];
    args.extend(payload_id);
    json_lines(root, &args)
        .iter()
        .map(|event| event["event_type"].as_str().unwrap().to_string())
        .collect()
}

/// The publish log: every line's item ID and `status` attribute.
fn published(root: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(root.join(".cirrus/published.ndjson")).unwrap_or_default();
    text.lines()
        .map(|line| {
            let message: Value = serde_json::from_str(line).unwrap();
            (
                message["body"]["id"].as_str().unwrap().to_string(),
                message["attributes"]["status"]["StringValue"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn a_batch_goes_through_the_whole_pipeline() {
    let (_dir, root) = project();
    cirrus(&root).arg("validate").assert().success();

    let ok = payload(vec![item("ok-1", "ok")], vec![step("main")]);
    let chain = payload(
        vec![item("keep-1", "ok"), item("drop-1", "ok")],
        vec![
            step("main"),
            json!([
                {"workflow": "second", "chain_filter": "@.id =~ 'keep.*'", "upload_options": {"path_template": "/${collection}/${id}"}},
                {"workflow": "second", "collections": "fanout", "upload_options": {"path_template": "/${collection}/${id}"}}
            ]),
            step("third"),
        ],
    );
    let mut big = item("big-1", "ok");
    big["properties"]["padding"] = json!("y".repeat(130_000));
    let batch = [
        ok.clone(),
        ok.clone(), // a duplicate in the same batch
        payload(vec![item("invalid-1", "invalid")], vec![step("main")]),
        payload(vec![item("fail-1", "fail")], vec![step("main")]),
        payload(vec![item("retry-1", "retry-once")], vec![step("main")]),
        chain,
        payload(vec![big], vec![step("main")]),
    ];
    let (code, stdout) = process(&root, &ndjson(&batch));
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.lines().count(), batch.len(), "{stdout}");
    assert!(
        stdout.contains("(oversized, as "),
        "the big payload travels as a URL: {stdout}"
    );

    let (code, counters) = run(&root);
    assert_eq!(
        code, 1,
        "a FAILED and an INVALID payload make the run exit 1: {counters}"
    );
    let records = records(&root);
    assert_eq!(state(&records, "c/workflow-main/ok-1"), "SUCCEEDED");
    assert_eq!(state(&records, "c/workflow-main/invalid-1"), "INVALID");
    assert_eq!(
        records["c/workflow-main/invalid-1"]["last_error"],
        "InvalidInput: item invalid-1 has no usable bands"
    );
    assert_eq!(state(&records, "c/workflow-main/fail-1"), "FAILED");
    assert_eq!(
        records["c/workflow-main/fail-1"]["last_error"],
        "TaskFailed: item fail-1 broke the processor"
    );
    // The retrier ran the task twice: the second attempt succeeded.
    assert_eq!(state(&records, "c/workflow-main/retry-1"), "SUCCEEDED");
    let calls = fs::read_to_string(root.join("behave-state/main-retry-1")).unwrap();
    assert_eq!(calls, "2");
    assert_eq!(state(&records, "c/workflow-main/big-1"), "SUCCEEDED");

    // The chain: main, then a fan-out into two `second` payloads (one filtered), then `third`
    // after each branch.
    assert_eq!(
        state(&records, "c/workflow-main/drop-1/keep-1"),
        "SUCCEEDED"
    );
    assert_eq!(state(&records, "c/workflow-second/keep-1"), "SUCCEEDED");
    assert_eq!(
        state(&records, "fanout/workflow-second/drop-1/keep-1"),
        "SUCCEEDED"
    );
    assert_eq!(state(&records, "c/workflow-third/keep-1"), "SUCCEEDED");
    assert_eq!(
        state(&records, "c/workflow-third/drop-1/keep-1"),
        "SUCCEEDED"
    );
    assert_eq!(records.len(), 10, "{:#?}", records.keys());
    assert_eq!(counters["succeeded"], 8, "{counters}");
    assert_eq!(counters["failed"], 1, "{counters}");
    assert_eq!(counters["invalid"], 1, "{counters}");
    assert_eq!(counters["skipped"], 1, "the duplicate: {counters}");

    let all = events(&root, None);
    assert!(
        all.contains(&"DUPLICATE_ID_ENCOUNTERED".to_string()),
        "{all:?}"
    );
    assert_eq!(
        events(&root, Some("c/workflow-main/ok-1")),
        [
            "DUPLICATE_ID_ENCOUNTERED",
            "CLAIMED_PROCESSING",
            "STARTED_PROCESSING",
            "SUCCEEDED"
        ]
    );

    // Published: every output item of every SUCCEEDED payload, under the data store, once
    // per payload. The chain's links publish the same items again (same path): `updated`.
    let items = published(&root);
    assert_eq!(items.len(), 3 + 2 + 1 + 2 + 1 + 2, "{items:?}");
    let mut seen = std::collections::HashSet::new();
    for (id, status) in &items {
        let expected = if seen.insert(id) {
            "created"
        } else {
            "updated"
        };
        assert_eq!(status, expected, "{id}: {items:?}");
    }
    let stored: Value = serde_json::from_str(
        &fs::read_to_string(root.join(".cirrus/data/c/ok-1/ok-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(stored["properties"]["visited"], json!(["main"]));
    assert!(stored["properties"]["updated"].is_string());
    let output = cirrus(&root)
        .args(["payload", "get-output", "c/workflow-main/ok-1"])
        .output()
        .unwrap();
    let output: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        output["features"][0]["properties"]["visited"],
        json!(["main"])
    );

    // The same payload again is skipped; with `replace` it runs again.
    let (code, _) = process(&root, &ndjson(std::slice::from_ref(&ok)));
    assert_eq!(code, 0);
    let (code, counters) = run(&root);
    assert_eq!(
        (code, counters["skipped"].as_u64()),
        (0, Some(1)),
        "{counters}"
    );
    let mut rerun = ok.clone();
    rerun["process"][0]["replace"] = json!(true);
    process(&root, &ndjson(&[rerun]));
    let (code, counters) = run(&root);
    assert_eq!(
        (code, counters["succeeded"].as_u64()),
        (0, Some(1)),
        "{counters}"
    );
    let records = self::records(&root);
    let executions = records["c/workflow-main/ok-1"]["executions"]
        .as_array()
        .unwrap();
    assert_eq!(executions.len(), 2);
    assert_ne!(executions[0], executions[1]);
    let ok_events = events(&root, Some("c/workflow-main/ok-1"));
    assert!(
        ok_events.contains(&"ALREADY_SUCCEEDED".to_string()),
        "{ok_events:?}"
    );
    let last = published(&root).pop().unwrap();
    assert_eq!(last, ("ok-1".to_string(), "updated".to_string()));
}

#[test]
fn run_workflow_prints_the_output_or_exits_10_or_11() {
    let (_dir, root) = project();
    let write = |name: &str, value: &Value| {
        let path = root.join(name);
        fs::write(&path, value.to_string()).unwrap();
        path
    };
    let ok = write(
        "ok.json",
        &payload(vec![item("rw-1", "ok")], vec![step("main")]),
    );
    let output = cirrus(&root)
        .args(["run-workflow"])
        .arg(&ok)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["id"], "c/workflow-main/rw-1");
    assert_eq!(
        printed["features"][0]["properties"]["visited"],
        json!(["main"])
    );

    let fail = write(
        "fail.json",
        &payload(vec![item("rw-2", "fail")], vec![step("main")]),
    );
    let output = cirrus(&root)
        .args(["run-workflow"])
        .arg(&fail)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(10));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("TaskFailed: item rw-2 broke the processor"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The first attempt fails and the retry waits 1 s: longer than the timeout.
    let slow = write(
        "slow.json",
        &payload(vec![item("rw-3", "retry-once")], vec![step("main")]),
    );
    let output = cirrus(&root)
        .args(["run-workflow", "--timeout", "1"])
        .arg(&slow)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(11),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records = records(&root);
    assert_eq!(state(&records, "c/workflow-main/rw-3"), "ABORTED");
    // The aborted payload went back to the queue: the next run finishes it.
    let (code, _) = run(&root);
    assert_eq!(code, 0);
    assert_eq!(
        state(&self::records(&root), "c/workflow-main/rw-3"),
        "SUCCEEDED"
    );
}

#[test]
fn every_message_shape_runs_and_items_reach_the_stac_api() {
    let (_dir, root) = project();
    let api = cirrus_core::testing::StacApiServer::start();
    let mut config = fs::read_to_string(root.join("cirrus.toml")).unwrap();
    config.push_str(&format!(
        "\n[publish]\nstac_api = \"{}\"\nstac_api_headers = {{ Authorization = \"Bearer t0ken\" }}\n",
        api.url()
    ));
    fs::write(root.join("cirrus.toml"), config).unwrap();

    let raw = |id: &str| payload(vec![item(id, "ok")], vec![step("main")]);
    let referenced = root.join("referenced.json");
    fs::write(&referenced, raw("by-url").to_string()).unwrap();
    let sns = |body: &Value| json!({"Type": "Notification", "Message": body.to_string()});
    let messages = [
        raw("raw"),
        json!({"url": referenced.display().to_string()}),
        json!({"Records": [{"eventSource": "aws:sqs", "body": raw("sqs").to_string()}]}),
        sns(&raw("sns")),
        json!({"Records": [{"eventSource": "aws:sqs", "body": sns(&raw("sns-in-sqs")).to_string()}]}),
    ];
    let (code, stdout) = process(&root, &ndjson(&messages));
    assert_eq!(code, 0, "{stdout}");
    let (code, counters) = run(&root);
    assert_eq!(code, 0, "{counters}");
    let records = records(&root);
    for id in ["raw", "by-url", "sqs", "sns", "sns-in-sqs"] {
        assert_eq!(
            state(&records, &format!("c/workflow-main/{id}")),
            "SUCCEEDED",
            "{id}"
        );
    }
    let mut stored: Vec<String> = api
        .items()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect();
    stored.sort();
    assert_eq!(stored, ["by-url", "raw", "sns", "sns-in-sqs", "sqs"]);
    assert_eq!(
        api.last_header("authorization").as_deref(),
        Some("Bearer t0ken")
    );
    assert_eq!(
        api.item("c", "raw").unwrap()["properties"]["visited"],
        json!(["main"])
    );
}

/// The first `sh` block of docs/pipeline.md runs as written, with `cirrus` on the PATH.
#[test]
fn the_pipeline_guide_example_runs() {
    let guide =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/pipeline.md"))
            .unwrap();
    let start = guide
        .find("```sh\n")
        .expect("docs/pipeline.md has an sh block")
        + 6;
    let script = &guide[start..start + guide[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("cirrus");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir.path())
        .env("PATH", path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("\"example-item-1\""),
        "run-workflow printed the output: {stdout}"
    );
}

#[test]
fn dead_letters_are_listed_and_redriven() {
    use cirrus_core::queue::Queue;
    use cirrus_core::queue::sqlite::{SqliteQueue, SqliteQueueOptions};
    let (_dir, root) = project();
    let mut config = fs::read_to_string(root.join("cirrus.toml")).unwrap();
    config.push_str("\n[queue]\nmax_receives = 1\n");
    fs::write(root.join("cirrus.toml"), config).unwrap();
    let (code, _) = process(
        &root,
        &payload(vec![item("dl-1", "ok")], vec![step("main")]).to_string(),
    );
    assert_eq!(code, 0);
    // A consumer that receives the message and dies without deleting it, twice over: the
    // second receive moves it to the dead letters.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let options = SqliteQueueOptions {
            max_receives: 1,
            ..SqliteQueueOptions::default()
        };
        let queue = SqliteQueue::open_with(root.join(".cirrus/queue.db"), options)
            .await
            .unwrap();
        let first = queue
            .receive(10, std::time::Duration::from_millis(1))
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(
            queue
                .receive(10, std::time::Duration::from_secs(1))
                .await
                .unwrap()
                .is_empty()
        );
    });
    let stats = cirrus(&root)
        .args(["queue", "stats", "--format", "json"])
        .output()
        .unwrap();
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats, json!({"visible": 0, "in_flight": 0, "dead": 1}));
    let letters = cirrus(&root)
        .args(["queue", "dead-letters", "--format", "json"])
        .output()
        .unwrap();
    let letter: Value = serde_json::from_slice(&letters.stdout).unwrap();
    assert_eq!(letter["receive_count"], 1);
    assert!(letter["body"].as_str().unwrap().contains("dl-1"));
    cirrus(&root)
        .args(["queue", "redrive", "--all"])
        .assert()
        .success()
        .stdout("redriven 1\n");
    let (code, _) = run(&root);
    assert_eq!(code, 0);
    assert_eq!(state(&records(&root), "c/workflow-main/dl-1"), "SUCCEEDED");
}
