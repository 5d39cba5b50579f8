//! The interpreter's behaviour over time and under load: Retry timing on a paused clock,
//! Catch ordering, task timeouts and heartbeats, Map concurrency bounds, and inputs that must
//! end cleanly (runaway loops, 10,000 states, 100,000 Map items, deep nesting).

use async_trait::async_trait;
use cirrus_core::workflow::{
    Engine, EngineOptions, EventKind, Execution, Failure, Invocation, Invoker, StateMachine,
    Status, TaskResolver, names,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Test tasks, by resource name.
#[derive(Default)]
struct Tasks {
    invokers: HashMap<String, Arc<dyn Invoker>>,
}

impl Tasks {
    fn with(mut self, name: &str, invoker: impl Invoker + 'static) -> Tasks {
        self.invokers.insert(name.into(), Arc::new(invoker));
        self
    }
}

impl TaskResolver for Tasks {
    fn resolve(&self, resource: &str) -> Result<Arc<dyn Invoker>, Failure> {
        self.invokers
            .get(resource)
            .cloned()
            .ok_or_else(|| Failure::new("Unknown", resource.to_owned()))
    }
}

/// Fails with `error` the first `failures` calls, then echoes its input. Records the
/// (paused-clock) instant of every call.
struct Flaky {
    error: &'static str,
    failures: usize,
    calls: Mutex<Vec<Instant>>,
}

impl Flaky {
    fn new(error: &'static str, failures: usize) -> Flaky {
        Flaky {
            error,
            failures,
            calls: Mutex::new(Vec::new()),
        }
    }
}

/// An invoker shared with the test, which reads what it recorded.
struct Shared<T>(Arc<T>);

#[async_trait]
impl Invoker for Shared<Flaky> {
    async fn invoke(&self, input: Value, _: &Invocation) -> Result<Value, Failure> {
        let mut calls = self.0.calls.lock().unwrap();
        calls.push(Instant::now());
        if calls.len() <= self.0.failures {
            Err(Failure::new(self.0.error, format!("call {}", calls.len())))
        } else {
            Ok(input)
        }
    }
}

/// Sleeps `$.sleep` seconds, sending a heartbeat every `$.beat` seconds when given.
struct Sleeper;

#[async_trait]
impl Invoker for Sleeper {
    async fn invoke(&self, input: Value, invocation: &Invocation) -> Result<Value, Failure> {
        let total = input["sleep"].as_u64().unwrap_or(0);
        let beat = input["beat"].as_u64();
        let mut slept = 0;
        while slept < total {
            let step = beat.unwrap_or(total - slept).min(total - slept);
            tokio::time::sleep(Duration::from_secs(step)).await;
            slept += step;
            invocation.heartbeat();
        }
        invocation.log(format!("slept {slept} s"));
        Ok(json!({ "slept": slept }))
    }
}

/// Counts how many calls run at once.
#[derive(Default)]
struct Gauge {
    running: AtomicUsize,
    peak: AtomicUsize,
}

#[async_trait]
impl Invoker for Shared<Gauge> {
    async fn invoke(&self, input: Value, _: &Invocation) -> Result<Value, Failure> {
        let now = self.0.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.0.running.fetch_sub(1, Ordering::SeqCst);
        Ok(input)
    }
}

fn machine(definition: Value) -> Arc<StateMachine> {
    Arc::new(StateMachine::from_value(&definition).expect("test definitions are valid"))
}

async fn run(tasks: Tasks, definition: Value, input: Value) -> Execution {
    Engine::new(Arc::new(tasks))
        .execute(machine(definition), input, "test")
        .await
}

/// A Task state with `retry` and `catch`, plus the catchers' targets `Caught` and `Other`
/// when `catch` names them (an unreachable state would be invalid).
fn task_with(retry: Value, catch: Value) -> Value {
    let mut states = serde_json::Map::new();
    let task =
        json!({ "Type": "Task", "Resource": "flaky", "Retry": retry, "Catch": catch, "End": true });
    states.insert("T".into(), task);
    let targets = catch.to_string();
    if targets.contains("\"Caught\"") {
        states.insert("Caught".into(), json!({ "Type": "Pass", "End": true }));
    }
    if targets.contains("\"Other\"") {
        states.insert(
            "Other".into(),
            json!({ "Type": "Pass", "Result": "other", "End": true }),
        );
    }
    json!({ "StartAt": "T", "States": states })
}

#[tokio::test(start_paused = true)]
async fn retry_waits_interval_times_backoff_capped_by_max_delay() {
    let flaky = Arc::new(Flaky::new("Boom", 4));
    let tasks = Tasks::default().with("flaky", Shared(flaky.clone()));
    let retry = json!([{ "ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 3.0,
                         "MaxAttempts": 4, "MaxDelaySeconds": 20 }]);
    let execution = run(tasks, task_with(retry, json!([])), json!({"k": 1})).await;
    assert_eq!(
        execution.status,
        Status::Succeeded,
        "{:?}",
        execution.failure
    );
    assert_eq!(execution.output, Some(json!({"k": 1})));
    let calls = flaky.calls.lock().unwrap();
    let gaps: Vec<u64> = calls.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    // 2, 2×3, 2×9, then 2×27 = 54 capped at 20.
    assert_eq!(gaps, [2, 6, 18, 20]);
    let retries = execution
        .history
        .iter()
        .filter(|e| e.kind == EventKind::StateRetryScheduled)
        .count();
    assert_eq!(retries, 4);
}

#[tokio::test(start_paused = true)]
async fn full_jitter_never_waits_longer_than_the_backoff() {
    let flaky = Arc::new(Flaky::new("Boom", 3));
    let tasks = Tasks::default().with("flaky", Shared(flaky.clone()));
    let retry = json!([{ "ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "BackoffRate": 1.0,
                         "MaxAttempts": 3, "JitterStrategy": "FULL" }]);
    let execution = run(tasks, task_with(retry, json!([])), json!({})).await;
    assert_eq!(execution.status, Status::Succeeded);
    let calls = flaky.calls.lock().unwrap();
    for gap in calls.windows(2).map(|w| w[1] - w[0]) {
        assert!(gap <= Duration::from_secs(10), "{gap:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_go_to_the_first_matching_catcher() {
    let flaky = Arc::new(Flaky::new("Boom", 10));
    let tasks = Tasks::default().with("flaky", Shared(flaky.clone()));
    let retry = json!([
        { "ErrorEquals": ["Boom"], "MaxAttempts": 2, "IntervalSeconds": 1 },
        { "ErrorEquals": ["States.ALL"], "MaxAttempts": 5 }
    ]);
    let catch = json!([
        { "ErrorEquals": ["Other"], "Next": "Other" },
        { "ErrorEquals": ["Boom"], "Next": "Caught", "ResultPath": "$.error" },
        { "ErrorEquals": ["States.ALL"], "Next": "Other" }
    ]);
    let execution = run(tasks, task_with(retry, catch), json!({"k": 1})).await;
    assert_eq!(execution.status, Status::Succeeded);
    // 1 call + 2 retries of the first retrier; the second retrier is never consulted.
    assert_eq!(flaky.calls.lock().unwrap().len(), 3);
    assert_eq!(
        execution.output,
        Some(json!({"k": 1, "error": {"Error": "Boom", "Cause": "call 3"}}))
    );
}

#[tokio::test(start_paused = true)]
async fn runtime_errors_are_never_retried_or_caught() {
    let tasks = Tasks::default().with("flaky", Shared(Arc::new(Flaky::new("Boom", 0))));
    let mut definition = task_with(
        json!([{ "ErrorEquals": ["States.ALL"] }]),
        json!([{ "ErrorEquals": ["States.ALL"], "Next": "Caught" }]),
    );
    definition["States"]["T"]["InputPath"] = json!("$.missing");
    let execution = run(tasks, definition, json!({})).await;
    assert_eq!(execution.status, Status::Failed);
    assert_eq!(execution.failure.unwrap().error, names::RUNTIME);
}

#[tokio::test(start_paused = true)]
async fn task_timeout_and_heartbeat_timeout() {
    let definition = |extra: Value| {
        let mut task = json!({ "Type": "Task", "Resource": "sleep", "End": true });
        task.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({ "StartAt": "S", "States": { "S": task } })
    };
    let tasks = || Tasks::default().with("sleep", Sleeper);

    let timed_out = run(
        tasks(),
        definition(json!({"TimeoutSeconds": 5})),
        json!({"sleep": 60}),
    )
    .await;
    assert_eq!(timed_out.failure.unwrap().error, names::TIMEOUT);

    let finished = run(
        tasks(),
        definition(json!({"TimeoutSeconds": 5})),
        json!({"sleep": 4}),
    )
    .await;
    assert_eq!(finished.output, Some(json!({"slept": 4})));
    assert!(
        finished
            .history
            .iter()
            .any(|e| e.kind == EventKind::TaskLog)
    );

    let silent = definition(json!({"TimeoutSeconds": 100, "HeartbeatSeconds": 3}));
    let no_beat = run(tasks(), silent.clone(), json!({"sleep": 10})).await;
    assert_eq!(no_beat.failure.unwrap().error, names::HEARTBEAT_TIMEOUT);
    let beating = run(tasks(), silent, json!({"sleep": 10, "beat": 2})).await;
    assert_eq!(beating.status, Status::Succeeded, "{:?}", beating.failure);

    let by_path = definition(json!({"TimeoutSecondsPath": "$.limit"}));
    let limited = run(tasks(), by_path, json!({"sleep": 9, "limit": 3})).await;
    assert_eq!(limited.failure.unwrap().error, names::TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn execution_timeout() {
    let definition = json!({
        "TimeoutSeconds": 5,
        "StartAt": "W",
        "States": { "W": { "Type": "Wait", "Seconds": 60, "End": true } }
    });
    let execution = run(Tasks::default(), definition, json!({})).await;
    assert_eq!(execution.status, Status::TimedOut);
    assert_eq!(execution.failure.unwrap().error, names::TIMEOUT);
    assert_eq!(
        execution.history.last().unwrap().kind,
        EventKind::ExecutionTimedOut
    );
}

fn map_over(tasks_resource: &str, max_concurrency: u64) -> Value {
    json!({
        "StartAt": "M",
        "States": { "M": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": max_concurrency,
            "ItemProcessor": { "StartAt": "T", "States": {
                "T": { "Type": "Task", "Resource": tasks_resource, "End": true } } },
            "End": true } }
    })
}

#[tokio::test(start_paused = true)]
async fn map_runs_at_most_max_concurrency_iterations_at_once() {
    for (limit, expected) in [(3, 3), (0, 40), (1, 1)] {
        let gauge = Arc::new(Gauge::default());
        let tasks = Tasks::default().with("gauge", Shared(gauge.clone()));
        let items: Vec<Value> = (0..100).map(|i| json!(i)).collect();
        let execution = run(tasks, map_over("gauge", limit), json!({ "items": items })).await;
        assert_eq!(
            execution.status,
            Status::Succeeded,
            "{:?}",
            execution.failure
        );
        assert_eq!(execution.output, Some(Value::Array(items)));
        assert_eq!(
            gauge.peak.load(Ordering::SeqCst),
            expected,
            "MaxConcurrency {limit}"
        );
    }
}

#[tokio::test]
async fn a_runaway_loop_stops_at_the_history_limit() {
    let definition = json!({
        "StartAt": "A",
        "States": {
            "A": { "Type": "Pass", "Next": "B" },
            "B": { "Type": "Choice", "Choices": [
                { "Variable": "$.stop", "IsPresent": true, "Next": "Done" } ], "Default": "A" },
            "Done": { "Type": "Succeed" }
        }
    });
    let execution = run(Tasks::default(), definition, json!({})).await;
    assert_eq!(execution.status, Status::Failed);
    let failure = execution.failure.unwrap();
    assert_eq!(failure.error, names::RUNTIME);
    assert!(failure.cause.unwrap().contains("25000"));
    assert_eq!(execution.history.len(), 25_001);
}

#[tokio::test]
async fn ten_thousand_states_run_to_the_end() {
    let mut states = serde_json::Map::new();
    for i in 0..10_000 {
        let state = if i == 9_999 {
            json!({ "Type": "Pass", "End": true })
        } else {
            json!({ "Type": "Pass", "Next": format!("S{}", i + 1) })
        };
        states.insert(format!("S{i}"), state);
    }
    let definition = json!({ "StartAt": "S0", "States": states });
    let engine = Engine::new(Arc::new(Tasks::default())).with_options(EngineOptions {
        max_history_events: 0,
        ..EngineOptions::default()
    });
    let execution = engine
        .execute(machine(definition), json!({"n": 1}), "long")
        .await;
    assert_eq!(execution.status, Status::Succeeded);
    assert_eq!(execution.history.len(), 2 + 2 * 10_000);
}

#[tokio::test]
async fn a_map_over_100_000_items() {
    let items: Vec<Value> = (0..100_000).map(|i| json!(i)).collect();
    let definition = json!({
        "StartAt": "M",
        "States": { "M": { "Type": "Map", "ItemsPath": "$.items",
            "ItemProcessor": { "StartAt": "P", "States": { "P": { "Type": "Pass", "End": true } } },
            "ResultSelector": { "count.$": "States.ArrayLength($)" },
            "End": true } }
    });
    // With Step Functions' history quota, the execution fails cleanly once it is reached...
    let input = json!({ "items": items });
    let capped = run(Tasks::default(), definition.clone(), input.clone()).await;
    assert_eq!(capped.status, Status::Failed);
    assert_eq!(capped.failure.unwrap().error, names::RUNTIME);
    // ...and without it, it runs to the end, 40 iterations at a time.
    let engine = Engine::new(Arc::new(Tasks::default())).with_options(EngineOptions {
        max_history_events: 0,
        ..EngineOptions::default()
    });
    let execution = engine.execute(machine(definition), input, "big").await;
    assert_eq!(
        execution.status,
        Status::Succeeded,
        "{:?}",
        execution.failure
    );
    assert_eq!(execution.output, Some(json!({ "count": 100_000 })));
}

#[tokio::test]
async fn nested_parallel_runs() {
    // 30 levels of Parallel, each with one branch holding the next level.
    let mut inner =
        json!({ "StartAt": "Leaf", "States": { "Leaf": { "Type": "Pass", "End": true } } });
    for level in 0..30 {
        let name = format!("P{level}");
        inner = json!({ "StartAt": name, "States": { name.clone(): {
            "Type": "Parallel", "Branches": [inner], "OutputPath": "$[0]", "End": true } } });
    }
    let execution = run(Tasks::default(), inner, json!({"deep": true})).await;
    assert_eq!(
        execution.status,
        Status::Succeeded,
        "{:?}",
        execution.failure
    );
    assert_eq!(execution.output, Some(json!({"deep": true})));
}

#[tokio::test]
async fn history_records_entered_exited_failed_and_caught() {
    let definition = json!({
        "StartAt": "P",
        "States": {
            "P": { "Type": "Parallel", "Branches": [
                { "StartAt": "F", "States": { "F": { "Type": "Fail", "Error": "E", "Cause": "c" } } }
            ], "Catch": [{ "ErrorEquals": ["E"], "Next": "Done" }], "Next": "Done" },
            "Done": { "Type": "Succeed" }
        }
    });
    let execution = run(Tasks::default(), definition, json!({})).await;
    assert_eq!(execution.status, Status::Succeeded);
    let kinds: Vec<EventKind> = execution.history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::ExecutionStarted,
            EventKind::ParallelStateEntered,
            EventKind::ParallelStateStarted,
            EventKind::FailStateEntered,
            EventKind::ParallelStateFailed,
            EventKind::StateFailed,
            EventKind::StateCaught,
            EventKind::ParallelStateExited,
            EventKind::SucceedStateEntered,
            EventKind::SucceedStateExited,
            EventKind::ExecutionSucceeded
        ]
    );
    let ids: Vec<u64> = execution.history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=kinds.len() as u64).collect::<Vec<_>>());
    assert!(
        execution
            .history
            .windows(2)
            .all(|w| w[0].timestamp <= w[1].timestamp)
    );
}
