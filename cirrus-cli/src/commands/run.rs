//! `cirrus run`: drain the project's process queue with a pool of workers.
//!
//! Each worker receives a batch of messages, claims its payloads in the state DB, runs their
//! workflows concurrently on the local engine, records each outcome, publishes the output
//! items, emits the workflow events and enqueues the next workflows of each chain.
//!
//! - `--until-empty` (the default): stop once the queue has nothing visible or in flight.
//!   Messages of a `cirrus run` that was killed are in flight until their visibility timeout
//!   lapses; then they come back and are taken over.
//! - `--follow`: keep waiting for new messages until Ctrl-C.
//!
//! Ctrl-C once: receive nothing more and finish the running payloads. Twice: cancel them;
//! they become ABORTED and their messages go back to the queue for the next run.
//!
//! stdout: the run's counters (`--format json`: one object). Exit 0; 1 when a payload of
//! this run FAILED or was INVALID, or a message was rejected; 2 on errors; 130 when aborted.

use crate::cli::Global;
use crate::local::{self, Purpose};
use crate::output::Format;
use crate::progress::Progress;
use crate::project::{Project, current_root};
use anyhow::Context;
use cirrus_core::pipeline::{RunOptions, Shutdown, StatsSnapshot};
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `cirrus run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workers: each runs a batch of up to --batch-size payloads, and claims its next batch
    /// while the current one runs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: u16,
    /// Stop once the queue is empty: nothing visible, nothing in flight (the default).
    #[arg(long, conflicts_with = "follow")]
    until_empty: bool,
    /// Keep waiting for new messages until Ctrl-C.
    #[arg(long)]
    follow: bool,
    /// The most messages a worker receives at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    batch_size: u16,
    /// Seconds a received message stays hidden, and a worker's lease lasts, without renewal
    /// (both are renewed while the payload runs): how long a killed worker's payloads wait
    /// before another run takes them over.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=43_200))]
    visibility_timeout: u64,
}

impl Args {
    fn options(&self) -> RunOptions {
        RunOptions {
            workers: usize::from(self.workers),
            batch_size: usize::from(self.batch_size),
            visibility_timeout: Duration::from_secs(self.visibility_timeout),
            follow: self.follow,
            ..RunOptions::default()
        }
    }
}

/// Drains the queue.
pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let root = current_root()?;
    let project = Project::load_root(&root)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let options = args.options();
    let (stats, aborted) = runtime.block_on(async {
        let local = local::open(&project, Purpose::Run, Vec::new()).await?;
        let shutdown = Shutdown::new();
        let progress = Progress::start(
            local.pipeline.stats(),
            local.queue.clone(),
            global.quiet > 0,
        );
        let signals = watch_signals(shutdown.clone(), &progress);
        let result = tokio::select! {
            result = local.pipeline.run(&options, &shutdown) => result,
            () = signals => unreachable!("the signal watcher never returns"),
        };
        progress.finish();
        result?;
        anyhow::Ok((local.pipeline.stats().snapshot(), shutdown.is_aborted()))
    })?;
    print_stats(&stats, global.format)?;
    if aborted {
        return Ok(ExitCode::from(130));
    }
    Ok(exit_code(&stats))
}

/// Ctrl-C once drains the run, twice aborts it. Never returns.
pub async fn watch_signals(shutdown: Shutdown, progress: &Progress) {
    if tokio::signal::ctrl_c().await.is_err() {
        return std::future::pending().await;
    }
    progress.println("interrupted: finishing the running payloads (Ctrl-C again to abort them)");
    shutdown.drain();
    if tokio::signal::ctrl_c().await.is_err() {
        return std::future::pending().await;
    }
    progress.println("aborting the running payloads; their messages go back to the queue");
    shutdown.abort();
    std::future::pending().await
}

/// 1 when something this run handled failed, was invalid or was rejected.
pub fn exit_code(stats: &StatsSnapshot) -> ExitCode {
    if stats.failed + stats.invalid + stats.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_stats(stats: &StatsSnapshot, format: Format) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer(&mut out, stats)?;
            writeln!(out)?;
        }
        Format::Text => writeln!(
            out,
            "received {} · succeeded {} · failed {} · invalid {} · aborted {} · skipped {} · rejected {}",
            stats.received,
            stats.succeeded,
            stats.failed,
            stats.invalid,
            stats.aborted,
            stats.skipped,
            stats.rejected
        )?,
    }
    out.flush()?;
    Ok(())
}
