//! The `stac-api` feeder against a real STAC API (stac-server's memory backend on
//! 127.0.0.1) holding 25,000 generated items.

mod common;

use cirrus_feeders::stac_api::{StacApiConfig, StacApiFeeder};
use cirrus_feeders::testing::{StacServer, items};
use cirrus_feeders::{Checkpoint, Counters, FeedConfig, FeedOptions, feed};
use common::{Collect, assert_exactly_once, counts, never};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

const N: usize = 25_000;

fn all_ids() -> Vec<String> {
    items(N).map(|i| i.id).collect()
}

/// A feed of the config `source` (JSON), with a `process` template and `batch_size`.
fn setup(source: Value, batch_size: usize) -> (Box<StacApiFeeder>, FeedOptions) {
    let text =
        json!({"process": {"workflow": "ingest"}, "batch_size": batch_size, "source": source})
            .to_string();
    let config: FeedConfig<StacApiConfig> = FeedConfig::parse("feed.json", &text).unwrap();
    let options = FeedOptions {
        template: config.template("feed.json").unwrap(),
        batch_size,
        fingerprint: config.fingerprint.clone(),
        ..FeedOptions::default()
    };
    (
        Box::new(StacApiFeeder::new(config.source).unwrap()),
        options,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_through_25000_items_with_post_and_get() {
    let server = StacServer::start(N).await.unwrap();
    let (feeder, options) = setup(json!({"url": server.url, "limit": 1000}), 10);
    let sink = Collect::default();
    let summary = feed(feeder, &sink, &options, &Counters::default(), never())
        .await
        .unwrap();
    assert_exactly_once(&sink.item_ids(), &all_ids());
    assert_eq!(
        (summary.found, summary.items, summary.payloads),
        (N as u64, N as u64, 2500)
    );
    assert!(summary.complete && !summary.interrupted);
    assert_eq!(
        server.faults.searches.load(Ordering::SeqCst),
        25,
        "one search per page of 1000"
    );
    // Payloads group 10 items each and carry the process template.
    let first = sink.payloads.lock().unwrap()[0].clone();
    assert_eq!(first["features"].as_array().unwrap().len(), 10);
    assert_eq!(first["process"], json!([{"workflow": "ingest"}]));

    let (feeder, options) = setup(
        json!({"url": server.url, "method": "GET", "limit": 2500}),
        1,
    );
    let sink = Collect::default();
    feed(feeder, &sink, &options, &Counters::default(), never())
        .await
        .unwrap();
    assert_exactly_once(&sink.item_ids(), &all_ids());
}

/// The ids of the generated items intersecting `[w, s, e, n]` in `[t0, t1]`, computed from
/// how they are generated.
fn expected(bbox: [f64; 4], t0: &str, t1: &str) -> Vec<String> {
    let (t0, t1) = (
        t0.parse::<chrono::DateTime<chrono::Utc>>().unwrap(),
        t1.parse::<chrono::DateTime<chrono::Utc>>().unwrap(),
    );
    items(N)
        .filter(|item| {
            let b = item.bbox.unwrap();
            let (x0, y0, x1, y1) = (b.xmin(), b.ymin(), b.xmax(), b.ymax());
            let t = item.properties.datetime.unwrap();
            x0 <= bbox[2] && x1 >= bbox[0] && y0 <= bbox[3] && y1 >= bbox[1] && t >= t0 && t <= t1
        })
        .map(|item| item.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bbox_and_datetime_filters() {
    let server = StacServer::start(N).await.unwrap();
    let bbox = [-119.52, 30.0, -118.0, 31.0];
    let (t0, t1) = ("2020-01-01T00:00:00Z", "2022-06-30T23:59:59Z");
    let want = expected(bbox, t0, t1);
    assert!(
        want.len() > 100 && want.len() < 5000,
        "{} items",
        want.len()
    );
    let source =
        json!({"url": server.url, "limit": 100, "bbox": bbox, "datetime": format!("{t0}/{t1}")});
    let (feeder, options) = setup(source, 1);
    let sink = Collect::default();
    feed(feeder, &sink, &options, &Counters::default(), never())
        .await
        .unwrap();
    assert_exactly_once(&sink.item_ids(), &want);
    // GET: datetime alone (stac-server 0.5.9 answers 500 "unsupported value" to a GET search
    // with a bbox once it has to write a `next` link).
    let want = expected([-180.0, -90.0, 180.0, 90.0], t0, t1);
    let source = json!({"url": server.url, "method": "GET", "limit": 1000, "datetime": format!("{t0}/{t1}")});
    let (feeder, options) = setup(source, 1);
    let sink = Collect::default();
    feed(feeder, &sink, &options, &Counters::default(), never())
        .await
        .unwrap();
    assert_exactly_once(&sink.item_ids(), &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_result_cap_splits_the_datetime_range_before_sending() {
    let server = StacServer::start(N).await.unwrap();
    server.faults.cap.store(4000, Ordering::SeqCst);
    let source = json!({"url": server.url, "limit": 1000, "result_cap": 4000, "datetime": "2019-01-01T00:00:00Z/2024-12-31T00:00:00Z"});
    let (feeder, options) = setup(source, 1);
    let sink = Collect::default();
    let summary = feed(feeder, &sink, &options, &Counters::default(), never())
        .await
        .unwrap();
    assert_exactly_once(&sink.item_ids(), &all_ids());
    assert_eq!(summary.skipped, 0);
    // More searches than the 25 pages: the splits.
    assert!(server.faults.searches.load(Ordering::SeqCst) > 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_result_cap_is_learned_and_nothing_is_missed() {
    let server = StacServer::start(N).await.unwrap();
    server.faults.cap.store(4000, Ordering::SeqCst);
    let (feeder, options) = setup(json!({"url": server.url, "limit": 1000}), 1);
    let sink = Collect::default();
    feed(feeder, &sink, &options, &Counters::default(), never())
        .await
        .unwrap();
    let ids = sink.item_ids();
    let counts = counts(&ids);
    assert_eq!(counts.len(), N, "every item, at least once");
    // Only the first, capped search's items go twice (same payload IDs: the state DB skips them).
    let twice = counts.values().filter(|n| **n > 1).count();
    assert!(twice <= 4000, "{twice} items sent more than once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_failing_twice_is_retried_with_backoff() {
    let server = StacServer::start(N).await.unwrap();
    server.faults.fail_next.store(2, Ordering::SeqCst);
    let (feeder, options) = setup(
        json!({"url": server.url, "limit": 5000, "backoff_ms": 20}),
        1,
    );
    let sink = Collect::default();
    feed(feeder, &sink, &options, &Counters::default(), never())
        .await
        .unwrap();
    assert_eq!(server.faults.failed.load(Ordering::SeqCst), 2);
    assert_exactly_once(&sink.item_ids(), &all_ids());

    // With fewer retries than failures, the error names the URL, the status and the attempts.
    server.faults.fail_next.store(3, Ordering::SeqCst);
    let (feeder, options) = setup(json!({"url": server.url, "retries": 2, "backoff_ms": 1}), 1);
    let err = feed(
        feeder,
        &Collect::default(),
        &options,
        &Counters::default(),
        never(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(&format!("POST {}/search: 500", server.url)),
        "{err}"
    );
    assert!(err.contains("gave up after 3 attempts"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_stops_with_a_clear_error_and_the_checkpoint_resumes() {
    let server = StacServer::start(N).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("feed.checkpoint.json");
    // The 4th search (0-based 3) answers a body cut in the middle.
    server.faults.broken_from.store(3, Ordering::SeqCst);
    let (feeder, mut options) = setup(json!({"url": server.url, "limit": 500}), 7);
    options.checkpoint = Some(checkpoint.clone());
    let sink = Collect::default();
    let err = feed(feeder, &sink, &options, &Counters::default(), never())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "{}/search: the response is not a STAC item collection",
            server.url
        )),
        "{err}"
    );
    // Three pages were read; their items went out in whole payloads of 7, and the
    // checkpoint is right after the last of them.
    let saved = Checkpoint::load(&checkpoint, "stac-api", &options.fingerprint)
        .unwrap()
        .unwrap();
    assert_eq!(saved.payloads, 1500 / 7);
    assert_eq!(saved.items, 1500 / 7 * 7);
    assert!(!saved.complete);

    server
        .faults
        .broken_from
        .store(usize::MAX, Ordering::SeqCst);
    let (feeder, _) = setup(json!({"url": server.url, "limit": 500}), 7);
    let summary = feed(feeder, &sink, &options, &Counters::default(), never())
        .await
        .unwrap();
    assert!(summary.resumed && summary.complete);
    assert_exactly_once(&sink.item_ids(), &all_ids());
    // A completed feed does nothing when run again.
    let (feeder, _) = setup(json!({"url": server.url, "limit": 500}), 7);
    let again = feed(feeder, &sink, &options, &Counters::default(), never())
        .await
        .unwrap();
    assert_eq!((again.complete, again.payloads), (true, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_feeds_resume_without_duplicates_or_gaps() {
    let server = StacServer::start(N).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp.json");
    let source = json!({"url": server.url, "limit": 700, "result_cap": 6000, "datetime": "2019-01-01T00:00:00Z/2023-12-31T00:00:00Z"});
    server.faults.cap.store(6000, Ordering::SeqCst);
    let sink = Collect::default();
    // A sink that fails, a stop signal, and a sink that fails again: three interruptions.
    for fail_from in [3, 0, 9] {
        let (feeder, mut options) = setup(source.clone(), 3);
        options.checkpoint = Some(checkpoint.clone());
        options.max_rate = None;
        sink.sends.store(0, Ordering::SeqCst);
        sink.fail_from.store(fail_from, Ordering::SeqCst);
        if fail_from == 0 {
            // Stop once a few sends went through.
            let stop = async {
                while sink.sends.load(Ordering::SeqCst) < 5 {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            };
            let summary = feed(feeder, &sink, &options, &Counters::default(), stop)
                .await
                .unwrap();
            assert!(summary.interrupted && !summary.complete);
        } else {
            assert!(
                feed(feeder, &sink, &options, &Counters::default(), never())
                    .await
                    .is_err()
            );
        }
    }
    sink.fail_from.store(0, Ordering::SeqCst);
    let (feeder, mut options) = setup(source, 3);
    options.checkpoint = Some(checkpoint.clone());
    let summary = feed(feeder, &sink, &options, &Counters::default(), never())
        .await
        .unwrap();
    assert!(summary.resumed && summary.complete);
    assert_exactly_once(&sink.item_ids(), &all_ids());
}

#[tokio::test]
async fn bad_configs_name_the_field() {
    let parse = |source: Value| {
        let text = json!({"process": {"workflow": "w"}, "source": source}).to_string();
        match FeedConfig::<StacApiConfig>::parse("feed.json", &text) {
            Err(e) => e.to_string(),
            Ok(config) => StacApiFeeder::new(config.source).unwrap_err().to_string(),
        }
    };
    assert!(
        parse(json!({"url": "http://x", "colections": []}))
            .contains("source.colections: unknown field `colections`")
    );
    assert!(parse(json!({"url": "http://x", "bbox": [1, 2, 3]})).starts_with("source.bbox:"));
    assert!(parse(json!({"url": "http://x", "datetime": "soon"})).starts_with("source.datetime:"));
    assert!(parse(json!({"url": "http://x", "filter": 3})).starts_with("source.filter:"));
    assert!(parse(json!({"url": "not a url"})).starts_with("source.url:"));
    assert!(
        parse(json!({"url": "http://x", "method": "PUT"}))
            .contains("source.method: unknown variant")
    );
}
