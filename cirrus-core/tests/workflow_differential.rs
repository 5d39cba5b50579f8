//! The differential test of the ASL engine: every case of `tests/asl/corpus/` runs on our
//! engine and on moto's Step Functions (moto 5.2.5, started by `MotoServer::shared`), and
//! both outcomes are checked against the outcome the ASL specification gives.
//!
//! - Our engine must give the expected outcome for every case.
//! - moto must too, except for the cases of `tests/asl/KNOWN_DIFFERENCES.md`, where it
//!   departs from the specification. A listed case where moto does give the expected outcome
//!   fails as well: the entry is stale.
//!
//! All moto executions start at once and are then polled, so the test takes about as long
//! as the slowest case (a few seconds: some cases really wait or retry for 1 s).
//! Run it with `cargo test -p cirrus-core --test workflow_differential`.

mod differential;

use cirrus_core::testing::MotoServer;
use differential::corpus::{self, Case, Outcome};
use differential::{moto, ours};
use futures_util::future::join_all;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long one case may run, on either engine.
const LIMIT: Duration = Duration::from_secs(60);

/// How often moto executions are polled.
const POLL: Duration = Duration::from_millis(50);

/// The smallest corpus the test accepts (a guard against a folder that went missing).
const MIN_CASES: usize = 70;

/// The most cases that may sleep on purpose (Wait seconds, retry intervals): moto really
/// sleeps, and so does our engine on a real clock.
const MAX_SLEEPING_CASES: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn corpus_on_our_engine_and_on_moto() {
    let cases = corpus::load();
    assert!(
        cases.len() >= MIN_CASES,
        "only {} corpus cases in {}; expected at least {MIN_CASES}",
        cases.len(),
        corpus::corpus_dir().display()
    );
    let sleeping: Vec<&str> = cases
        .iter()
        .filter(|case| corpus::sleeps(&case.definition))
        .map(|case| case.name.as_str())
        .collect();
    assert!(
        sleeping.len() <= MAX_SLEEPING_CASES,
        "{} corpus cases wait or retry, at most {MAX_SLEEPING_CASES} may: {sleeping:?}",
        sleeping.len()
    );
    let known = corpus::known_differences();
    let server = MotoServer::shared();
    moto::enable_execution(server).expect("turn on moto's Step Functions execution");
    let sfn = moto::Sfn::new(server).await;

    let on_moto = join_all(cases.iter().map(|case| run_on_moto(&sfn, case)));
    let on_ours = join_all(
        cases
            .iter()
            .map(|case| ours::run(&case.definition, &case.input, &case.name, LIMIT)),
    );
    let started = Instant::now();
    let ((on_moto, moto_time), (on_ours, ours_time)) =
        tokio::join!(timed(on_moto, started), timed(on_ours, started));
    eprintln!(
        "{} cases: all done on moto after {:.1} s, on our engine after {:.1} s; {} known differences",
        cases.len(),
        moto_time.as_secs_f64(),
        ours_time.as_secs_f64(),
        known.len()
    );

    let mut failing = BTreeSet::new();
    for ((case, moto), ours) in cases.iter().zip(&on_moto).zip(&on_ours) {
        let problems = judge(case, moto, ours, known.contains(&case.name));
        if !problems.is_empty() {
            eprintln!("{}", report(case, moto, ours, &problems));
            failing.insert(case.name.clone());
        }
    }
    let names: BTreeSet<&String> = cases.iter().map(|case| &case.name).collect();
    let orphans: Vec<&String> = known.iter().filter(|name| !names.contains(name)).collect();
    assert!(
        orphans.is_empty(),
        "{} has sections for cases that are not in the corpus: {orphans:?}",
        corpus::known_differences_file().display()
    );
    assert!(
        failing.is_empty(),
        "{} of {} corpus cases failed (details above): {failing:?}",
        failing.len(),
        cases.len()
    );
}

/// Creates a state machine for the case and runs it once. A rejected definition is a
/// `REJECTED` outcome.
async fn run_on_moto(sfn: &moto::Sfn, case: &Case) -> Outcome {
    match sfn.create(&case.name, &case.definition).await {
        Ok(machine) => {
            sfn.run_on(&machine, &case.name, &case.input, POLL, LIMIT)
                .await
        }
        Err(message) => Outcome::other("REJECTED", message),
    }
}

/// `runs` and the time from `started` to when it completed.
async fn timed<T>(runs: impl Future<Output = T>, started: Instant) -> (T, Duration) {
    let runs = runs.await;
    (runs, started.elapsed())
}

/// What is wrong with a case's two outcomes; empty when all is well.
fn judge(case: &Case, moto: &Outcome, ours: &Outcome, known: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if !ours.satisfies(&case.expected) {
        problems.push("our engine does not give the expected outcome".to_string());
    }
    match (moto.satisfies(&case.expected), known) {
        (true, true) => problems.push(
            "moto now gives the expected outcome: remove the case's section from \
             KNOWN_DIFFERENCES.md"
                .to_string(),
        ),
        (false, false) => problems.push(
            "moto does not give the expected outcome: if the expectation follows the \
             specification, describe the difference in KNOWN_DIFFERENCES.md"
                .to_string(),
        ),
        _ => {}
    }
    problems
}

/// A readable account of a failing case.
fn report(case: &Case, moto: &Outcome, ours: &Outcome, problems: &[String]) -> String {
    let pretty = |value: serde_json::Value| {
        serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
    };
    let mut text = format!("\n=== {} ({})\n", case.name, case.comment);
    for problem in problems {
        text.push_str(&format!("  - {problem}\n"));
    }
    text.push_str(&format!("expected: {}\n", pretty(case.expected.to_json())));
    text.push_str(&format!("ours:     {}\n", pretty(ours.to_json())));
    text.push_str(&format!("moto:     {}\n", pretty(moto.to_json())));
    text
}
