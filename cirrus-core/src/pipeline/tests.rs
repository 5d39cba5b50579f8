//! In-process tests of the pipeline; the CLI's end-to-end tests drive the binary.

use super::*;
use crate::payload::ProcessPayload;
use crate::process::MemorySink;
use crate::queue::sqlite::SqliteQueue;
use crate::state::sqlite::SqliteStateStore;
use crate::state::{State, StateKey};
use crate::task::{Task, TaskContext, TaskError};
use crate::workflow::StateMachine;
use crate::workflow::local::LocalResolver;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    state: Arc<SqliteStateStore>,
    queue: Arc<SqliteQueue>,
    events: Arc<MemorySink>,
    pipeline: Pipeline,
}

/// Fails with `error` on its first `fail_times` calls, then passes the payload through.
struct Flaky {
    calls: AtomicUsize,
    fail_times: usize,
    error: TaskError,
}

#[async_trait]
impl Task for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }

    async fn run(
        &self,
        payload: ProcessPayload,
        _context: &TaskContext,
    ) -> std::result::Result<ProcessPayload, TaskError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.fail_times {
            return Err(self.error.clone());
        }
        Ok(payload)
    }
}

fn machine(resource: &str) -> StateMachine {
    StateMachine::from_value(&json!({
        "StartAt": "T",
        "States": {"T": {
            "Type": "Task", "Resource": resource, "End": true,
            "Retry": [{"ErrorEquals": ["RetryableError"], "IntervalSeconds": 1, "MaxAttempts": 2}]
        }}
    }))
    .unwrap()
}

async fn fixture(flaky: Flaky) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let state = Arc::new(
        SqliteStateStore::create(root.join("state.db"))
            .await
            .unwrap(),
    );
    let queue = Arc::new(SqliteQueue::create(root.join("queue.db")).await.unwrap());
    let bucket = PayloadBucket::open(root.join("payloads").to_str().unwrap()).unwrap();
    let resolver = LocalResolver::builder()
        .task(Arc::new(flaky))
        .build()
        .unwrap();
    let mut workflows = Workflows::new();
    workflows.insert("one", machine("flaky"));
    workflows.insert("two", machine("flaky"));
    let events = Arc::new(MemorySink::new());
    let log_path = root.join("published.ndjson");
    let log = Arc::new(NdjsonSink::open(&log_path).await.unwrap());
    let pipeline = Pipeline::builder(
        state.clone(),
        state.clone(),
        queue.clone(),
        bucket,
        Engine::new(Arc::new(resolver)),
    )
    .workflows(workflows)
    .publisher(crate::store::ItemPublisher::open(root.join("data").to_str().unwrap()).unwrap())
    .event_sink(events.clone())
    .publish_log(log_path, log)
    .build();
    Fixture {
        _dir: dir,
        root,
        state,
        queue,
        events,
        pipeline,
    }
}

fn passing() -> Flaky {
    Flaky {
        calls: AtomicUsize::new(0),
        fail_times: 0,
        error: TaskError::failed("unused"),
    }
}

fn payload(id: &str, workflow: &str) -> String {
    json!({
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": id, "collection": "c", "properties": {}}],
        "process": [{"workflow": workflow, "upload_options": {"path_template": "/${collection}/${id}"}}]
    })
    .to_string()
}

fn event_types(events: &MemorySink) -> Vec<String> {
    events
        .messages()
        .iter()
        .map(|m| m.body["event_type"].as_str().unwrap().to_string())
        .collect()
}

async fn run(f: &Fixture) {
    f.pipeline
        .run(&RunOptions::default(), &Shutdown::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_payload_runs_publishes_and_is_recorded() {
    let f = fixture(passing()).await;
    f.pipeline.submit(&[payload("a", "one")]).await.unwrap();
    run(&f).await;
    let key = StateKey::parse("c/workflow-one/a").unwrap();
    let record = f.state.get(&key).await.unwrap().unwrap();
    assert_eq!(record.state, State::Succeeded);
    assert_eq!(record.outputs.as_ref().unwrap().len(), 1);
    assert_eq!(
        event_types(&f.events),
        ["CLAIMED_PROCESSING", "STARTED_PROCESSING", "SUCCEEDED"]
    );
    assert!(f.root.join("data/c/a/a.json").is_file());
    let log = crate::process::NdjsonSink::read(f.root.join("published.ndjson"))
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].attributes["status"].value, "created");
    let output = f
        .pipeline
        .bucket()
        .get_output(key.as_str(), None)
        .await
        .unwrap();
    assert_eq!(output["features"][0]["id"], "a");
    assert_eq!(f.queue.stats().await.unwrap().total(), 0);
    assert_eq!(f.pipeline.stats().snapshot().succeeded, 1);
}

#[tokio::test]
async fn the_same_payload_is_skipped_then_rerun_with_replace() {
    let f = fixture(passing()).await;
    f.pipeline.submit(&[payload("a", "one")]).await.unwrap();
    run(&f).await;
    f.pipeline.submit(&[payload("a", "one")]).await.unwrap();
    run(&f).await;
    assert_eq!(event_types(&f.events).last().unwrap(), "ALREADY_SUCCEEDED");
    let mut replace: Value = serde_json::from_str(&payload("a", "one")).unwrap();
    replace["process"][0]["replace"] = json!(true);
    f.pipeline.submit(&[replace.to_string()]).await.unwrap();
    run(&f).await;
    let record = f
        .state
        .get(&StateKey::parse("c/workflow-one/a").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, State::Succeeded);
    assert_eq!(record.executions.len(), 2);
    assert_ne!(record.executions[0], record.executions[1]);
}

#[tokio::test]
async fn duplicates_in_a_batch_and_garbage_records() {
    let f = fixture(passing()).await;
    let p = payload("a", "one");
    let sqs = json!({"Records": [{"body": p}, {"body": p}, {"body": "not json"}]}).to_string();
    f.queue.send(&sqs).await.unwrap();
    run(&f).await;
    let types = event_types(&f.events);
    assert!(
        types.contains(&"DUPLICATE_ID_ENCOUNTERED".to_string()),
        "{types:?}"
    );
    assert!(
        types.contains(&"RECORD_EXTRACT_FAILED".to_string()),
        "{types:?}"
    );
    assert!(types.contains(&"SUCCEEDED".to_string()), "{types:?}");
    let invalid = std::fs::read_dir(f.root.join("payloads/cirrus/tmp/invalid"))
        .unwrap()
        .count();
    assert_eq!(invalid, 1);
}

#[tokio::test]
async fn invalid_failed_and_missing_workflow() {
    let invalid = fixture(Flaky {
        calls: AtomicUsize::new(0),
        fail_times: 9,
        error: TaskError::invalid("bad band"),
    })
    .await;
    invalid
        .pipeline
        .submit(&[payload("a", "one")])
        .await
        .unwrap();
    run(&invalid).await;
    let record = invalid
        .state
        .get(&StateKey::parse("c/workflow-one/a").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, State::Invalid);
    assert_eq!(record.last_error.as_deref(), Some("InvalidInput: bad band"));

    let failed = fixture(Flaky {
        calls: AtomicUsize::new(0),
        fail_times: 9,
        error: TaskError::failed("boom"),
    })
    .await;
    failed
        .pipeline
        .submit(&[payload("a", "one"), payload("b", "nope")])
        .await
        .unwrap();
    run(&failed).await;
    let record = failed
        .state
        .get(&StateKey::parse("c/workflow-one/a").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, State::Failed);
    assert_eq!(record.last_error.as_deref(), Some("TaskFailed: boom"));
    let record = failed
        .state
        .get(&StateKey::parse("c/workflow-nope/b").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, State::Failed);
    assert!(
        record
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("WorkflowNotFound: no workflow named \"nope\""),
        "{:?}",
        record.last_error
    );
}

#[tokio::test]
async fn a_retry_succeeds_on_the_second_attempt() {
    let f = fixture(Flaky {
        calls: AtomicUsize::new(0),
        fail_times: 1,
        error: TaskError::retryable("busy"),
    })
    .await;
    f.pipeline.submit(&[payload("a", "one")]).await.unwrap();
    run(&f).await;
    let record = f
        .state
        .get(&StateKey::parse("c/workflow-one/a").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, State::Succeeded);
}

#[tokio::test]
async fn a_chain_fans_out_and_filters() {
    let f = fixture(passing()).await;
    let template = "/${collection}/${id}";
    let chained = json!({
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": "keep-1", "collection": "c", "properties": {}},
            {"type": "Feature", "id": "drop-1", "collection": "c", "properties": {}}
        ],
        "process": [
            {"workflow": "one", "upload_options": {"path_template": template}},
            [
                {"workflow": "two", "upload_options": {"path_template": template}, "chain_filter": "@.id =~ 'keep.*'"},
                {"workflow": "one", "collections": "other", "upload_options": {"path_template": template}}
            ]
        ]
    });
    f.pipeline.submit(&[chained.to_string()]).await.unwrap();
    run(&f).await;
    for id in [
        "c/workflow-one/drop-1/keep-1",
        "c/workflow-two/keep-1",
        "other/workflow-one/drop-1/keep-1",
    ] {
        let record = f.state.get(&StateKey::parse(id).unwrap()).await.unwrap();
        assert_eq!(record.map(|r| r.state), Some(State::Succeeded), "{id}");
    }
}

#[tokio::test]
async fn a_dead_workers_payload_is_taken_over_under_the_same_execution() {
    let f = fixture(passing()).await;
    f.pipeline.submit(&[payload("a", "one")]).await.unwrap();
    // A worker that claims and starts the payload, then dies: its message stays received
    // and its lease is left to lapse.
    let received = f
        .queue
        .receive(10, std::time::Duration::from_millis(1))
        .await
        .unwrap();
    let dead = Pipeline::builder(
        f.state.clone(),
        f.state.clone(),
        f.queue.clone(),
        f.pipeline.bucket().clone(),
        Engine::new(Arc::new(LocalResolver::builder().build().unwrap())),
    )
    .owner("dead")
    .build();
    let intake = dead
        .intake(
            &received,
            std::time::Instant::now() + std::time::Duration::from_millis(1),
        )
        .await
        .unwrap();
    assert_eq!(intake.jobs.len(), 1);
    let execution = intake.jobs[0].execution.clone();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    run(&f).await;
    let record = f
        .state
        .get(&StateKey::parse("c/workflow-one/a").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, State::Succeeded);
    assert_eq!(record.executions, vec![execution]);
}

#[tokio::test]
async fn a_payload_without_a_usable_id_is_rejected_alone() {
    let f = fixture(passing()).await;
    let long = "x".repeat(2000);
    let results = f
        .pipeline
        .submit(&[payload(&long, "one"), payload("a", "one")])
        .await
        .unwrap();
    assert!(
        matches!(
            &results[0],
            Submitted::Rejected {
                event_type: crate::process::WorkflowEventType::NotAProcessPayload,
                ..
            }
        ),
        "{results:?}"
    );
    assert!(
        matches!(&results[1], Submitted::Enqueued { .. }),
        "{results:?}"
    );
    // The same payload reaching `process` directly (not through `submit`) is rejected there.
    f.queue.send(&payload(&long, "one")).await.unwrap();
    run(&f).await;
    assert_eq!(
        event_types(&f.events),
        [
            "NOT_A_PROCESS_PAYLOAD",
            "NOT_A_PROCESS_PAYLOAD",
            "CLAIMED_PROCESSING",
            "STARTED_PROCESSING",
            "SUCCEEDED"
        ]
    );
}

/// Counts its calls, and takes a while.
struct Slow {
    calls: Arc<AtomicUsize>,
}

#[async_trait]
impl Task for Slow {
    fn name(&self) -> &str {
        "slow"
    }

    async fn run(
        &self,
        payload: ProcessPayload,
        _context: &TaskContext,
    ) -> std::result::Result<ProcessPayload, TaskError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        Ok(payload)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_received_by_another_worker_does_not_run_twice() {
    let f = fixture(passing()).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let resolver = LocalResolver::builder()
        .task(Arc::new(Slow {
            calls: calls.clone(),
        }))
        .build()
        .unwrap();
    let mut workflows = Workflows::new();
    workflows.insert("one", machine("slow"));
    let pipeline = Pipeline::builder(
        f.state.clone(),
        f.state.clone(),
        f.queue.clone(),
        f.pipeline.bucket().clone(),
        Engine::new(Arc::new(resolver)),
    )
    .workflows(workflows)
    .event_sink(f.events.clone())
    .build();
    pipeline
        .submit(&[payload("a", "one"), payload("a", "one")])
        .await
        .unwrap();
    let options = RunOptions {
        workers: 2,
        batch_size: 1,
        ..RunOptions::default()
    };
    pipeline.run(&options, &Shutdown::new()).await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "{:?}",
        event_types(&f.events)
    );
    let types = event_types(&f.events);
    assert!(
        types.iter().any(|t| t.starts_with("ALREADY_")),
        "the duplicate is skipped: {types:?}"
    );
}
