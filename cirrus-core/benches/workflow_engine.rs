//! Workflow engine throughput: a 10-state Pass/Choice/Map workflow run 10,000 times in one
//! process.
//!
//! Prints state transitions a second (every state entered counts as one transition, Map
//! iterations included), for executions run one after another and for 64 running at once,
//! against the target of 100,000 transitions a second. History recording is on, as in every
//! real run.
//!
//! `CIRRUS_BENCH_RUNS` changes the number of executions (default 10,000).

use cirrus_core::workflow::{
    Engine, EventKind, Failure, Invoker, StateMachine, Status, TaskResolver,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

const TARGET: f64 = 100_000.0;

/// No tasks: the workflow is Pass, Choice and Map only.
struct NoTasks;

impl TaskResolver for NoTasks {
    fn resolve(&self, resource: &str) -> Result<Arc<dyn Invoker>, Failure> {
        Err(Failure::new("Unknown", resource.to_owned()))
    }
}

fn definition() -> Value {
    json!({
        "Comment": "10 states: 7 at the top level, 3 in the Map's item processor",
        "StartAt": "Init",
        "States": {
            "Init": { "Type": "Pass",
                "Parameters": { "items.$": "$.items", "count.$": "States.ArrayLength($.items)", "scene.$": "$.scene" },
                "Next": "Check" },
            "Check": { "Type": "Choice",
                "Choices": [ { "Variable": "$.count", "NumericGreaterThan": 3, "Next": "Large" } ],
                "Default": "Small" },
            "Large": { "Type": "Pass", "Result": "large", "ResultPath": "$.size", "Next": "Each" },
            "Small": { "Type": "Pass", "Result": "small", "ResultPath": "$.size", "Next": "Each" },
            "Each": { "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 4,
                "ItemSelector": { "value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index" },
                "ItemProcessor": { "StartAt": "Classify", "States": {
                    "Classify": { "Type": "Choice",
                        "Choices": [ { "Variable": "$.value.band", "StringMatches": "B0*", "Next": "Visible" } ],
                        "Default": "Other" },
                    "Visible": { "Type": "Pass", "Parameters": { "band.$": "$.value.band", "visible": true }, "End": true },
                    "Other": { "Type": "Pass", "Parameters": { "band.$": "$.value.band", "visible": false }, "End": true }
                } },
                "ResultPath": "$.bands",
                "Next": "Summarize" },
            "Summarize": { "Type": "Pass",
                "Parameters": { "scene.$": "$.scene", "size.$": "$.size", "bands.$": "$.bands[*].band" },
                "Next": "Done" },
            "Done": { "Type": "Succeed" }
        }
    })
}

fn input(i: usize) -> Value {
    json!({
        "scene": format!("scene-{i}"),
        "items": [ { "band": "B02" }, { "band": "B03" }, { "band": "B04" }, { "band": "SWIR" } ]
    })
}

fn transitions(history: &[cirrus_core::workflow::HistoryEvent]) -> usize {
    history
        .iter()
        .filter(|event| {
            matches!(
                event.kind,
                EventKind::PassStateEntered
                    | EventKind::ChoiceStateEntered
                    | EventKind::MapStateEntered
                    | EventKind::SucceedStateEntered
            )
        })
        .count()
}

fn main() {
    let runs: usize = std::env::var("CIRRUS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let machine =
        Arc::new(StateMachine::from_value(&definition()).expect("the benchmark workflow is valid"));
    let engine = Engine::new(Arc::new(NoTasks));

    runtime.block_on(async {
        // Warm up, and check the workflow does what it should.
        let execution = engine.execute(machine.clone(), input(0), "warm-up").await;
        assert_eq!(
            execution.status,
            Status::Succeeded,
            "{:?}",
            execution.failure
        );
        assert_eq!(
            execution.output.as_ref().unwrap()["bands"],
            json!(["B02", "B03", "B04", "SWIR"])
        );
        let per_run = transitions(&execution.history);

        let started = Instant::now();
        let mut total = 0;
        for i in 0..runs {
            let execution = engine
                .execute(machine.clone(), input(i), format!("run-{i}"))
                .await;
            total += transitions(&execution.history);
        }
        report(
            "one at a time",
            runs,
            total,
            started.elapsed().as_secs_f64(),
        );

        let started = Instant::now();
        let mut total = 0;
        let mut set = tokio::task::JoinSet::new();
        for i in 0..runs {
            if set.len() >= 64 {
                let history: Vec<_> = set.join_next().await.expect("non-empty").expect("no panic");
                total += transitions(&history);
            }
            let (engine, machine) = (engine.clone(), machine.clone());
            set.spawn(async move {
                engine
                    .execute(machine, input(i), format!("c-{i}"))
                    .await
                    .history
            });
        }
        while let Some(history) = set.join_next().await {
            total += transitions(&history.expect("no panic"));
        }
        report("64 at once", runs, total, started.elapsed().as_secs_f64());
        println!("({per_run} transitions per execution)");
    });
}

fn report(mode: &str, runs: usize, transitions: usize, seconds: f64) {
    let rate = transitions as f64 / seconds;
    println!(
        "{mode}: {runs} executions, {transitions} transitions in {seconds:.3} s: {rate:.0} transitions/s, {:.0} executions/s ({:.2}× the 100,000/s target)",
        runs as f64 / seconds,
        rate / TARGET
    );
}
