//! The feed half of the benchmark (`bench/feeders.sh`): a `stac-api` search on URL, with
//! payloads of one item onto a fresh local SQLite queue, as `cirrus feed` does. Prints one
//! JSON line: items, seconds, items a second and the peak RSS of this process.
//!
//! `bench_feed URL [DATETIME]`

use cirrus_core::queue::Queue;
use cirrus_core::queue::sqlite::SqliteQueue;
use cirrus_core::store::PayloadBucket;
use cirrus_feeders::stac_api::{StacApiConfig, StacApiFeeder};
use cirrus_feeders::{Counters, FeedConfig, FeedOptions, QueueSink, feed};
use serde_json::json;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: bench_feed URL [DATETIME]")?;
    let mut source = json!({"url": url, "limit": 1000});
    if let Some(datetime) = args.next() {
        source["datetime"] = json!(datetime);
    }
    let text = json!({"process": {"workflow": "ingest"}, "source": source}).to_string();
    let config: FeedConfig<StacApiConfig> = FeedConfig::parse("bench.json", &text)?;
    let dir = tempfile::tempdir()?;
    let queue = Arc::new(SqliteQueue::create(dir.path().join("queue.db")).await?);
    let bucket = PayloadBucket::open(dir.path().join("payloads").to_str().ok_or("path")?)?;
    let sink = QueueSink::new(queue.clone(), bucket);
    let options = FeedOptions {
        template: config.template("bench.json")?,
        batch_size: 1,
        checkpoint: Some(dir.path().join("checkpoint.json")),
        fingerprint: config.fingerprint.clone(),
        ..FeedOptions::default()
    };
    let feeder = Box::new(StacApiFeeder::new(config.source)?);
    let summary = feed(
        feeder,
        &sink,
        &options,
        &Counters::default(),
        std::future::pending(),
    )
    .await?;
    let queued = queue.stats().await?.visible;
    assert_eq!(queued, summary.payloads, "every payload is on the queue");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    println!(
        "{}",
        json!({
            "items": summary.items,
            "payloads_on_queue": queued,
            "seconds": (summary.seconds * 1000.0).round() / 1000.0,
            "items_per_second": summary.found_per_second.round(),
            "peak_rss_mb": (peak_kb as f64 / 1024.0 * 10.0).round() / 10.0,
        })
    );
    Ok(())
}
