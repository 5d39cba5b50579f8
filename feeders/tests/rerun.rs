//! The `rerun` feeder on a state DB with payloads in every state, across workflows.

mod common;

use cirrus_core::state::sqlite::SqliteStateStore;
use cirrus_core::state::{StateKey, StateStore};
use cirrus_core::store::PayloadBucket;
use cirrus_feeders::rerun::{RerunConfig, RerunFeeder};
use cirrus_feeders::{Counters, FeedOptions, feed};
use common::{Collect, never};
use serde_json::json;
use std::sync::Arc;

/// `(payload id, state, error, archived)` of the fixture.
const RECORDS: &[(&str, &str, Option<&str>, bool)] = &[
    (
        "c/workflow-ingest/a",
        "FAILED",
        Some("TaskError: no such asset"),
        true,
    ),
    (
        "c/workflow-ingest/b",
        "FAILED",
        Some("States.Timeout: task timed out"),
        true,
    ),
    (
        "c/workflow-ingest/c",
        "FAILED",
        Some("TaskError: gone"),
        false,
    ),
    ("c/workflow-ingest/d", "SUCCEEDED", None, true),
    (
        "c/workflow-ingest/e",
        "INVALID",
        Some("InvalidInput: bad"),
        true,
    ),
    ("c/workflow-publish/f", "ABORTED", None, true),
    (
        "c/workflow-publish/g",
        "FAILED",
        Some("TaskError: throttled"),
        true,
    ),
    ("c/workflow-publish/h", "PROCESSING", None, true),
];

async fn fixture(dir: &std::path::Path) -> (Arc<dyn StateStore>, PayloadBucket) {
    let state = Arc::new(
        SqliteStateStore::create(dir.join("state.db"))
            .await
            .unwrap(),
    );
    let bucket = PayloadBucket::open(dir.join("payloads").to_str().unwrap()).unwrap();
    for (id, to, error, archived) in RECORDS {
        let key = StateKey::parse(id).unwrap();
        let execution = format!("exec-{}", id.rsplit('/').next().unwrap());
        let claimed = state.claim(&key, &execution, false).await.unwrap();
        assert!(matches!(claimed, cirrus_core::state::Outcome::Applied(_)));
        state.set_processing(&key, &execution).await.unwrap();
        match *to {
            "FAILED" => state
                .set_failed(&key, &execution, error.unwrap())
                .await
                .unwrap(),
            "INVALID" => state
                .set_invalid(&key, &execution, error.unwrap())
                .await
                .unwrap(),
            "SUCCEEDED" => state.set_succeeded(&key, &execution).await.unwrap(),
            "ABORTED" => state.set_aborted(&key, &execution).await.unwrap(),
            _ => state.set_processing(&key, &execution).await.unwrap(),
        };
        if *archived {
            let (_, workflow, item) = {
                let mut parts = id.split('/');
                (
                    parts.next(),
                    parts.next().unwrap().trim_start_matches("workflow-"),
                    parts.next().unwrap(),
                )
            };
            let input = json!({
                "type": "FeatureCollection",
                "features": [{"id": item, "collection": "c"}],
                "process": [{"workflow": workflow, "upload_options": {"path_template": "${id}"}}, {"workflow": "next"}],
            });
            bucket.put_input(id, &execution, &input).await.unwrap();
        }
    }
    (state, bucket)
}

async fn rerun(
    config: RerunConfig,
    state: &Arc<dyn StateStore>,
    bucket: &PayloadBucket,
) -> (Vec<serde_json::Value>, cirrus_feeders::Summary) {
    let feeder = RerunFeeder::new(config, state.clone(), bucket.clone()).unwrap();
    let sink = Collect::default();
    let summary = feed(
        Box::new(feeder),
        &sink,
        &FeedOptions::default(),
        &Counters::default(),
        never(),
    )
    .await
    .unwrap();
    (sink.payloads.into_inner().unwrap(), summary)
}

fn items(payloads: &[serde_json::Value]) -> Vec<String> {
    let mut ids: Vec<String> = payloads
        .iter()
        .map(|p| p["features"][0]["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn reruns_failed_and_aborted_payloads_across_workflows_with_replace() {
    let dir = tempfile::tempdir().unwrap();
    let (state, bucket) = fixture(dir.path()).await;
    let (payloads, summary) = rerun(RerunConfig::default(), &state, &bucket).await;
    // FAILED a, b, g and ABORTED f; c is FAILED but its input was never archived.
    assert_eq!(items(&payloads), ["a", "b", "f", "g"]);
    assert_eq!(
        (summary.found, summary.payloads, summary.skipped),
        (5, 4, 1)
    );
    for payload in &payloads {
        assert_eq!(payload["process"][0]["replace"], true);
        assert_eq!(
            payload["process"][1],
            json!({"workflow": "next"}),
            "the chain is kept"
        );
        assert_eq!(
            payload["process"][0]["upload_options"]["path_template"],
            "${id}"
        );
    }
}

#[tokio::test]
async fn selects_by_workflow_state_and_error_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let (state, bucket) = fixture(dir.path()).await;
    let config =
        |workflows: &[&str], states: Option<&[&str]>, error_prefix: Option<&str>| RerunConfig {
            workflows: workflows.iter().map(|s| s.to_string()).collect(),
            states: states.map(|s| s.iter().map(|s| s.to_string()).collect()),
            error_prefix: error_prefix.map(str::to_string),
            since: Some("1h".to_string()),
            ..RerunConfig::default()
        };
    let (p, _) = rerun(
        config(&["ingest"], Some(&["failed"]), None),
        &state,
        &bucket,
    )
    .await;
    assert_eq!(items(&p), ["a", "b"]);
    let (p, _) = rerun(
        config(&[], Some(&["FAILED"]), Some("TaskError:")),
        &state,
        &bucket,
    )
    .await;
    assert_eq!(items(&p), ["a", "g"]);
    let (p, _) = rerun(
        config(
            &["ingest", "publish"],
            Some(&["INVALID", "SUCCEEDED"]),
            None,
        ),
        &state,
        &bucket,
    )
    .await;
    assert_eq!(items(&p), ["d", "e"]);
    let (p, _) = rerun(config(&["publish"], Some(&[]), None), &state, &bucket).await;
    assert_eq!(items(&p), ["f", "g", "h"], "no states: every state");
    // Nothing older than the window.
    let mut old = config(&[], None, None);
    old.since = Some("2001-01-01T00:00:00Z".into());
    old.until = Some("2002-01-01T00:00:00Z".into());
    assert!(rerun(old, &state, &bucket).await.0.is_empty());
    let bad = RerunFeeder::new(
        config(&[], Some(&["DONE"]), None),
        state.clone(),
        bucket.clone(),
    );
    assert!(bad.err().unwrap().to_string().starts_with("source.states:"));
}
