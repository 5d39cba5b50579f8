//! The local pipeline end to end: 10,000 payloads through a 3-task no-op workflow with 2
//! workers (`cirrus run`), against the workflow engine alone.
//!
//! In one process, on a temporary project assembled as `cirrus run` assembles it (SQLite
//! state DB and process queue, a payload bucket and a data store on the local filesystem,
//! the state DB's event log and an NDJSON event log, an NDJSON publish log):
//!
//! 1. **enqueue**: `Pipeline::submit`, 1,000 payloads a call;
//! 2. **pipeline** (the figure): `Pipeline::run` with 2 workers until the queue is empty:
//!    process → execution → update-state → publish, each payload one item written to the data
//!    store and one publish-log line. Checked afterwards (untimed): every record SUCCEEDED,
//!    one publish-log line per payload;
//! 3. **engine raw** (the peer): the same workflow on the same payloads through
//!    `Engine::execute` alone, 20 at once (2 workers × batches of 10, the pipeline's
//!    concurrency), polled in one task as the pipeline polls its executions; then again with
//!    each execution spawned as a tokio task, which lets the engine use every core.
//!
//! Prints payloads a second for each, the ratio pipeline/engine, the peak RSS (`VmHWM`)
//! after each phase, and whether the target (1,000 payloads a second) is met.
//!
//! `CIRRUS_BENCH_PAYLOADS` changes the payload count (default 10,000). The project lives in a
//! fresh folder `bench/.work/pipeline/run-*` (`CIRRUS_BENCH_DIR` moves it), as a user's
//! project lives in their working tree rather than in the system's temporary folder. Each
//! payload creates three files (its archived input and output, its item) and three folders,
//! so the figure depends on the file system there (`CIRRUS_BENCH_DIR=/dev/shm` takes the
//! disk out of it). The project is **kept** after the run, for inspection: deleting its
//! 60,000 files and folders right before the next run would slow that run's file creation on
//! a journal-less ext4 (see `bench/README.md`). Delete `bench/.work/pipeline` when done.

use async_trait::async_trait;
use cirrus_core::payload::ProcessPayload;
use cirrus_core::pipeline::{Pipeline, RunOptions, Shutdown, Submitted, Workflows};
use cirrus_core::process::NdjsonSink;
use cirrus_core::queue::sqlite::SqliteQueue;
use cirrus_core::state::sqlite::SqliteStateStore;
use cirrus_core::state::{CountsQuery, State, StateStore};
use cirrus_core::store::{ItemPublisher, PayloadBucket};
use cirrus_core::task::{Task, TaskContext, TaskError};
use cirrus_core::workflow::{Engine, StateMachine, Status, local::LocalResolver};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Payloads a second the pipeline should reach.
const TARGET: f64 = 1_000.0;
const WORKERS: usize = 2;
/// Payloads per `submit` call.
const SUBMIT_CHUNK: usize = 1_000;
const WORKFLOW: &str = "noop3";
const COLLECTION: &str = "bench";

/// Returns its payload unchanged.
struct Noop;

#[async_trait]
impl Task for Noop {
    fn name(&self) -> &str {
        "noop"
    }

    async fn run(
        &self,
        payload: ProcessPayload,
        _context: &TaskContext,
    ) -> Result<ProcessPayload, TaskError> {
        Ok(payload)
    }
}

fn machine() -> StateMachine {
    StateMachine::from_value(&json!({
        "Comment": "three no-op tasks",
        "StartAt": "A",
        "States": {
            "A": { "Type": "Task", "Resource": "noop", "Next": "B" },
            "B": { "Type": "Task", "Resource": "noop", "Next": "C" },
            "C": { "Type": "Task", "Resource": "noop", "End": true }
        }
    }))
    .expect("the benchmark workflow is valid")
}

/// A process payload of one small Sentinel-2-like item (about 1 KB).
fn payload(i: usize) -> Value {
    let (x, y) = (
        -120.0 + (i % 100) as f64 * 0.5,
        30.0 + (i / 100 % 40) as f64 * 0.5,
    );
    let id = format!("S2B_10SEG_2024{:04}_0_L2A", i);
    let day = i % 28 + 1;
    json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "stac_version": "1.0.0",
            "stac_extensions": ["https://stac-extensions.github.io/eo/v1.1.0/schema.json"],
            "id": id,
            "collection": COLLECTION,
            "bbox": [x, y, x + 1.0, y + 1.0],
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[x, y], [x + 1.0, y], [x + 1.0, y + 1.0], [x, y + 1.0], [x, y]]]
            },
            "properties": {
                "datetime": format!("2024-03-{day:02}T18:{:02}:21.024000Z", i % 60),
                "platform": "sentinel-2b",
                "constellation": "sentinel-2",
                "eo:cloud_cover": (i % 100) as f64 / 1.7,
                "proj:epsg": 32610
            },
            "assets": {
                "visual": {
                    "href": format!("s3://sentinel-cogs/sentinel-s2-l2a-cogs/10/S/EG/2024/3/{id}/TCI.tif"),
                    "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                    "title": "True color image",
                    "roles": ["visual"]
                },
                "thumbnail": {
                    "href": format!("s3://sentinel-cogs/sentinel-s2-l2a-cogs/10/S/EG/2024/3/{id}/preview.jpg"),
                    "type": "image/jpeg",
                    "title": "Thumbnail",
                    "roles": ["thumbnail"]
                }
            },
            "links": []
        }],
        "process": [{
            "workflow": WORKFLOW,
            "upload_options": { "path_template": "/${collection}/${id}" }
        }]
    })
}

/// The pipeline's input for a payload: parsed, with its `id` set.
fn engine_input(i: usize) -> Value {
    let mut parsed = ProcessPayload::from_value(payload(i))
        .expect("the benchmark payload is a process payload")
        .value;
    parsed.set_id().expect("the benchmark payload has an id");
    parsed.to_value()
}

/// The peak resident set size so far, in MiB (`VmHWM`, Linux only).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time this process used so far: (user, system) seconds.
fn cpu_seconds() -> (f64, f64) {
    // SAFETY: `getrusage` only writes the `rusage` struct it is given, which is plain data
    // and valid when zeroed.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (seconds(usage.ru_utime), seconds(usage.ru_stime))
}

/// CPU used since `before`, per payload, and as a share of the wall time.
fn print_cpu(phase: &str, before: (f64, f64), n: usize, wall: f64) {
    let (user, system) = cpu_seconds();
    let (user, system) = (user - before.0, system - before.1);
    println!(
        "{phase} CPU: user {:.3} ms + system {:.3} ms per payload ({:.0}% of one core over the phase)",
        user * 1e3 / n as f64,
        system * 1e3 / n as f64,
        (user + system) / wall * 100.0
    );
}

fn print_peak(after: &str) {
    match peak_rss_mib() {
        Some(mib) => println!("peak RSS (VmHWM) after {after}: {mib:.1} MiB"),
        None => println!("peak RSS (VmHWM) after {after}: unavailable"),
    }
}

fn main() -> ExitCode {
    let n: usize = std::env::var("CIRRUS_BENCH_PAYLOADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let base = std::env::var_os("CIRRUS_BENCH_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/.work/pipeline"),
        PathBuf::from,
    );
    if let Err(err) = std::fs::create_dir_all(&base) {
        eprintln!("error: cannot create {}: {err}", base.display());
        return ExitCode::FAILURE;
    }
    let dir = match tempfile::Builder::new().prefix("run-").tempdir_in(&base) {
        Ok(dir) => dir.keep(),
        Err(err) => {
            eprintln!(
                "error: cannot create a project folder in {}: {err}",
                base.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(bench(&dir, n));
    println!(
        "project kept in {} (delete {} when done)",
        dir.display(),
        base.display()
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(root: &Path, n: usize) -> Result<(), String> {
    // As `cirrus run` assembles a project (cirrus-cli/src/local.rs).
    let state = Arc::new(
        SqliteStateStore::create(root.join("state.db"))
            .await
            .map_err(fail("state DB"))?,
    );
    let queue = Arc::new(
        SqliteQueue::create(root.join("queue.db"))
            .await
            .map_err(fail("queue"))?,
    );
    let bucket = PayloadBucket::open(&root.join("payloads").to_string_lossy())
        .map_err(fail("payload bucket"))?;
    let publisher =
        ItemPublisher::open(&root.join("data").to_string_lossy()).map_err(fail("data store"))?;
    let events = NdjsonSink::open(root.join("events.ndjson"))
        .await
        .map_err(fail("event log"))?;
    let publish_log_path = root.join("published.ndjson");
    let publish_log = NdjsonSink::open(&publish_log_path)
        .await
        .map_err(fail("publish log"))?;
    let resolver = LocalResolver::builder()
        .task(Arc::new(Noop))
        .build()
        .map_err(fail("resolver"))?;
    let engine = Engine::new(Arc::new(resolver));
    let mut workflows = Workflows::new();
    workflows.insert(WORKFLOW, machine());
    let pipeline = Pipeline::builder(
        state.clone(),
        state.clone(),
        queue.clone(),
        bucket,
        engine.clone(),
    )
    .workflows(workflows)
    .publisher(publisher)
    .event_sink(Arc::new(state.event_log()))
    .event_sink(Arc::new(events))
    .publish_log(publish_log_path.clone(), Arc::new(publish_log))
    .build();

    let bodies: Vec<String> = (0..n).map(|i| payload(i).to_string()).collect();
    let bytes: usize = bodies.iter().map(String::len).sum();
    println!(
        "{n} payloads of one item each, {:.0} bytes on average; workflow A → B → C of no-op in-process tasks",
        bytes as f64 / n.max(1) as f64
    );
    println!(
        "project folder: {} (CIRRUS_BENCH_DIR moves it)",
        root.display()
    );

    // 1. Enqueue.
    let started = Instant::now();
    for chunk in bodies.chunks(SUBMIT_CHUNK) {
        let submitted = pipeline.submit(chunk).await.map_err(fail("submit"))?;
        if let Some(rejected) = submitted
            .iter()
            .find(|s| !matches!(s, Submitted::Enqueued { .. }))
        {
            return Err(format!("a payload was not enqueued: {rejected:?}"));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "enqueue: {n} payloads in {seconds:.2} s = {:.0} payloads/s (submit, {SUBMIT_CHUNK} a call)",
        n as f64 / seconds
    );
    drop(bodies);
    print_peak("enqueue");

    // 2. The pipeline.
    let options = RunOptions {
        workers: WORKERS,
        ..RunOptions::default()
    };
    let cpu = cpu_seconds();
    let started = Instant::now();
    pipeline
        .run(&options, &Shutdown::new())
        .await
        .map_err(fail("pipeline run"))?;
    let seconds = started.elapsed().as_secs_f64();
    let pipeline_rate = n as f64 / seconds;
    println!(
        "pipeline: {n} payloads in {seconds:.2} s = {pipeline_rate:.0} payloads/s ({WORKERS} workers, batches of {})",
        options.batch_size
    );
    print_cpu("pipeline", cpu, n, seconds);
    print_peak("pipeline");
    verify(state.as_ref(), &publish_log_path, n).await?;

    // 3. The engine alone, at the pipeline's concurrency.
    let machine = Arc::new(machine());
    let check = engine
        .execute(machine.clone(), engine_input(0), "warm-up")
        .await;
    if check.status != Status::Succeeded {
        return Err(format!("the workflow failed: {:?}", check.failure));
    }
    let concurrency = WORKERS * options.batch_size;
    let cpu = cpu_seconds();
    let started = Instant::now();
    let mut runs = futures_util::stream::iter(0..n)
        .map(|i| {
            let (engine, machine) = (&engine, machine.clone());
            async move {
                engine
                    .execute(machine, engine_input(i), format!("raw-{i}"))
                    .await
                    .status
            }
        })
        .buffer_unordered(concurrency);
    let mut failed = 0;
    while let Some(status) = runs.next().await {
        if status != Status::Succeeded {
            failed += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if failed > 0 {
        return Err(format!("{failed} raw executions did not succeed"));
    }
    let engine_rate = n as f64 / seconds;
    println!(
        "engine raw: {n} executions in {seconds:.2} s = {engine_rate:.0} payloads/s ({concurrency} at once, input parsing included)"
    );
    print_cpu("engine raw", cpu, n, seconds);

    // The same, each execution spawned as a tokio task: what the engine does on every core.
    let started = Instant::now();
    let mut runs = futures_util::stream::iter(0..n)
        .map(|i| {
            let (engine, machine) = (engine.clone(), machine.clone());
            tokio::spawn(async move {
                engine
                    .execute(machine, engine_input(i), format!("spawned-{i}"))
                    .await
                    .status
            })
        })
        .buffer_unordered(concurrency);
    let mut failed = 0;
    while let Some(status) = runs.next().await {
        if !matches!(status, Ok(Status::Succeeded)) {
            failed += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if failed > 0 {
        return Err(format!("{failed} spawned raw executions did not succeed"));
    }
    let spawned_rate = n as f64 / seconds;
    println!(
        "engine raw, spawned: {n} executions in {seconds:.2} s = {spawned_rate:.0} payloads/s ({concurrency} at once, each a tokio task)"
    );
    print_peak("engine raw");

    println!(
        "pipeline/engine: {:.3} (against the spawned engine: {:.3})",
        pipeline_rate / engine_rate,
        pipeline_rate / spawned_rate
    );
    match peak_rss_mib() {
        Some(mib) => println!("peak RSS (VmHWM): {mib:.1} MiB"),
        None => println!("peak RSS (VmHWM): unavailable"),
    }
    let met = if pipeline_rate >= TARGET {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "target >= {TARGET:.0} payloads/s: {met} ({:.2}×)",
        pipeline_rate / TARGET
    );
    Ok(())
}

/// Turns an error into a message naming what failed.
fn fail(what: &'static str) -> impl Fn(cirrus_core::Error) -> String {
    move |e| format!("{what}: {e:#}")
}

/// Every record SUCCEEDED, and one publish-log line per payload.
async fn verify(state: &SqliteStateStore, publish_log: &Path, n: usize) -> Result<(), String> {
    let counts = state
        .counts(&CountsQuery::default())
        .await
        .map_err(|e| format!("state counts: {e:#}"))?;
    let mut succeeded = 0;
    let mut other = Vec::new();
    for (workflow, states) in &counts.workflows {
        for (s, count) in states {
            if *s == State::Succeeded {
                succeeded += count;
            } else {
                other.push(format!("{workflow} {s}: {count}"));
            }
        }
    }
    if succeeded != n as u64 || !other.is_empty() {
        return Err(format!(
            "expected {n} SUCCEEDED records, found {succeeded} (others: {})",
            if other.is_empty() {
                "none".to_string()
            } else {
                other.join(", ")
            }
        ));
    }
    let log = std::fs::read_to_string(publish_log)
        .map_err(|e| format!("{}: {e}", publish_log.display()))?;
    let lines = log.lines().filter(|l| !l.trim().is_empty()).count();
    if lines != n {
        return Err(format!(
            "expected {n} lines in the publish log {}, found {lines}",
            publish_log.display()
        ));
    }
    println!("verified: {succeeded} records SUCCEEDED, {lines} publish-log lines");
    Ok(())
}
