//! The ASL corpus on moto's Step Functions and on our engine, side by side.
//!
//! Every case of `tests/asl/corpus/` that does not sleep on purpose (no Wait with seconds,
//! no Retry) runs `ROUNDS` times on each engine, one execution after another, measured end
//! to end the way a user sees it:
//!
//! - moto: `StartExecution`, then `DescribeExecution` every 5 ms until the execution stops
//!   (the state machine is created once per case, before the timed rounds);
//! - ours: parse and validate the definition, then execute it.
//!
//! One untimed warm-up run per case and engine comes first; it also checks that the outcome is
//! the expected one. The report gives each case's median time on both engines and their
//! ratio, then the totals.
//!
//! `cargo bench -p cirrus-core --bench workflow_corpus` (`CIRRUS_BENCH_ROUNDS` sets the
//! number of rounds, 20 by default). It needs moto: `bash scripts/install.sh`.

#[path = "../tests/differential/mod.rs"]
mod differential;

use cirrus_core::testing::MotoServer;
use differential::corpus::{self, Case, Outcome};
use differential::{moto, ours};
use std::time::{Duration, Instant};

/// Timed rounds per case and engine, unless `CIRRUS_BENCH_ROUNDS` says otherwise.
const DEFAULT_ROUNDS: usize = 20;

/// How often moto executions are polled.
const POLL: Duration = Duration::from_millis(5);

/// How long one execution may run.
const LIMIT: Duration = Duration::from_secs(60);

/// One case's timings.
struct Timing {
    name: String,
    moto: Duration,
    ours: Duration,
    /// Why a warm-up outcome was not the expected one, if it was not.
    note: Option<String>,
}

fn main() {
    let rounds = match std::env::var("CIRRUS_BENCH_ROUNDS") {
        Ok(text) => text
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or_else(|| panic!("CIRRUS_BENCH_ROUNDS={text}: expected a positive integer")),
        Err(_) => DEFAULT_ROUNDS,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can be built");
    runtime.block_on(bench(rounds));
}

async fn bench(rounds: usize) {
    let known = corpus::known_differences();
    let (cases, sleeping): (Vec<Case>, Vec<Case>) = corpus::load()
        .into_iter()
        .partition(|case| !corpus::sleeps(&case.definition));
    let server = MotoServer::shared();
    moto::enable_execution(server).expect("turn on moto's Step Functions execution");
    let sfn = moto::Sfn::new(server).await;
    eprintln!(
        "{} corpus cases, {} left out because they wait or retry; {rounds} rounds per case and engine",
        cases.len() + sleeping.len(),
        sleeping.len()
    );

    let mut timings = Vec::new();
    for case in &cases {
        let machine = match sfn.create(&case.name, &case.definition).await {
            Ok(machine) => machine,
            Err(message) => {
                eprintln!("{}: left out, moto rejects it: {message}", case.name);
                continue;
            }
        };
        let mut notes = Vec::new();
        let warm_up = execution_name(case, "warm-up");
        let warm_moto = sfn
            .run_on(&machine, &warm_up, &case.input, POLL, LIMIT)
            .await;
        if !warm_moto.satisfies(&case.expected) && !known.contains(&case.name) {
            notes.push(format!("moto gave {}", warm_moto.to_json()));
        }
        let warm_ours = ours::run(&case.definition, &case.input, &case.name, LIMIT).await;
        if !warm_ours.satisfies(&case.expected) {
            notes.push(format!("ours gave {}", warm_ours.to_json()));
        }
        if !notes.is_empty() {
            notes.insert(
                0,
                format!("{}: expected {}", case.comment, case.expected.to_json()),
            );
        }

        let mut on_moto = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let name = execution_name(case, &round.to_string());
            let started = Instant::now();
            let outcome: Outcome = sfn.run_on(&machine, &name, &case.input, POLL, LIMIT).await;
            on_moto.push(started.elapsed());
            std::hint::black_box(outcome);
        }
        let mut on_ours = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let started = Instant::now();
            let outcome = ours::run(&case.definition, &case.input, &case.name, LIMIT).await;
            on_ours.push(started.elapsed());
            std::hint::black_box(outcome);
        }
        timings.push(Timing {
            name: case.name.clone(),
            moto: median(on_moto),
            ours: median(on_ours),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        });
    }
    report(&timings);
}

/// A unique execution name (moto needs one) within Step Functions' 80 characters.
fn execution_name(case: &Case, suffix: &str) -> String {
    let mut name: String = case.name.chars().take(80 - 1 - suffix.len()).collect();
    name.push('-');
    name.push_str(suffix);
    name
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn millis(time: Duration) -> f64 {
    time.as_secs_f64() * 1000.0
}

fn report(timings: &[Timing]) {
    let width = timings
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:width$}  {:>10}  {:>10}  {:>9}",
        "case", "moto ms", "ours ms", "moto/ours"
    );
    for timing in timings {
        println!(
            "{:width$}  {:>10.3}  {:>10.3}  {:>8.0}x",
            timing.name,
            millis(timing.moto),
            millis(timing.ours),
            timing.moto.as_secs_f64() / timing.ours.as_secs_f64().max(1e-9)
        );
    }
    let moto: Duration = timings.iter().map(|t| t.moto).sum();
    let ours: Duration = timings.iter().map(|t| t.ours).sum();
    println!(
        "{:width$}  {:>10.3}  {:>10.3}  {:>8.0}x",
        format!("total ({} cases, medians)", timings.len()),
        millis(moto),
        millis(ours),
        moto.as_secs_f64() / ours.as_secs_f64().max(1e-9)
    );
    for timing in timings {
        if let Some(note) = &timing.note {
            println!("note: {}: unexpected warm-up outcome: {note}", timing.name);
        }
    }
}
