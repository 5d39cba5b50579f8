//! `cirrus feed NAME --config FILE`: run a built-in feeder, putting its payloads on the
//! project's process queue (or, with `--dry-run`, printing them as NDJSON on stdout).
//!
//! Feeders: `stac-api` (an item search), `stac-catalog` (a static catalog), `listing` (files
//! matching a glob) and `rerun` (payloads from the state DB, with `replace`). The config
//! file (TOML, YAML or JSON) holds `process` (the process template), `batch_size`,
//! `max_rate` and the feeder's `source` section; see `docs/feeders.md`.
//!
//! A progress line on stderr counts what was found, sent and skipped; at the end a summary
//! line (stderr) gives the counts and rates, or, with `--format json` (and no `--dry-run`),
//! one JSON object on stdout. With `--checkpoint FILE`, an interrupted feed (Ctrl-C, an
//! error) resumes where it stopped when run again with the same config.
//!
//! Exit codes: 0 the feed ran to its end, 1 interrupted (resume with the checkpoint), 2 errors.

use crate::cli::Global;
use crate::local;
use crate::output::Format;
use crate::project::{DEFAULT_PAYLOAD_BUCKET, Project, current_root};
use crate::state_db::StateDbSpec;
use crate::target::{Deployment, TargetArgs};
use anyhow::Context;
use cirrus_core::store::PayloadBucket;
use cirrus_feeders::catalog::{CatalogConfig, CatalogFeeder};
use cirrus_feeders::listing::{ListingConfig, ListingFeeder};
use cirrus_feeders::rerun::{RerunConfig, RerunFeeder};
use cirrus_feeders::stac_api::{StacApiConfig, StacApiFeeder};
use cirrus_feeders::{
    Counters, FeedConfig, FeedOptions, Feeder, NdjsonSink, QueueSink, Sink, Summary,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The built-in feeders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Name {
    /// Item search on a STAC API (paging, retries, result-cap split).
    StacApi,
    /// Crawl a static STAC catalog, local or in an object store.
    StacCatalog,
    /// Files under a folder or prefix matching a glob, each made an item.
    Listing,
    /// Payloads from the state DB, re-enqueued with `replace`.
    Rerun,
}

/// Arguments of `cirrus feed`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The feeder.
    #[arg(value_enum)]
    name: Name,
    /// The feeder's config file (TOML, YAML or JSON).
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
    /// Print the payloads as NDJSON on stdout instead of enqueueing them.
    #[arg(long)]
    dry_run: bool,
    /// Items per payload (default: the config's `batch_size`, else 1).
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,
    /// Payloads a second at most: `N` or `N/s` (default: the config's `max_rate`).
    #[arg(long, value_name = "N/s", value_parser = parse_rate)]
    max_rate: Option<f64>,
    /// Resume from this file when it exists, and keep it up to date.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// The local project's queue (and, for `rerun`, state DB and payload bucket), or a
    /// deployment's: its SQS process queue, DynamoDB state table and S3 payload bucket.
    #[command(flatten)]
    target: TargetArgs,
}

/// `N` or `N/s`, a positive number.
fn parse_rate(text: &str) -> Result<f64, String> {
    let number = text.strip_suffix("/s").unwrap_or(text);
    match number.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a rate: write a positive number of payloads a second, e.g. 50 or 50/s"
        )),
    }
}

/// Runs the feed.
pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(feed(args, global))
}

/// The loaded config: the feeder and the feed options.
struct Setup {
    feeder: Box<dyn Feeder>,
    options: FeedOptions,
}

async fn feed(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let project = || -> anyhow::Result<Project> { Project::load_root(&current_root()?) };
    let remote = match args.target.deployment() {
        Some(name) => Some(remote_backends(name).await?),
        None => None,
    };
    let setup = match args.name {
        Name::StacApi => setup::<StacApiConfig>(&args, |c| Ok(Box::new(StacApiFeeder::new(c)?)))?,
        Name::StacCatalog => {
            setup::<CatalogConfig>(&args, |c| Ok(Box::new(CatalogFeeder::new(c)?)))?
        }
        Name::Listing => setup::<ListingConfig>(&args, |c| Ok(Box::new(ListingFeeder::new(c)?)))?,
        Name::Rerun => {
            let (state, bucket) = match &remote {
                Some(backends) => (backends.state.clone(), backends.bucket.clone()),
                None => {
                    let project = project()?;
                    let state = StateDbSpec::of_project(&project)?.open().await?;
                    (Arc::from(state), payload_bucket(&project)?)
                }
            };
            setup::<RerunConfig>(&args, |c| Ok(Box::new(RerunFeeder::new(c, state, bucket)?)))?
        }
    };
    let sink: Box<dyn Sink> = if args.dry_run {
        Box::new(NdjsonSink::new(std::io::BufWriter::new(std::io::stdout())))
    } else if let Some(backends) = &remote {
        Box::new(QueueSink::new(
            backends.queue.clone(),
            backends.bucket.clone(),
        ))
    } else {
        let project = project()?;
        let queue = local::open_queue(&project, true).await?;
        Box::new(QueueSink::new(Arc::new(queue), payload_bucket(&project)?))
    };
    let counters = Arc::new(Counters::default());
    let progress = start_progress(counters.clone(), global.quiet > 0);
    let stop = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let result =
        cirrus_feeders::feed(setup.feeder, sink.as_ref(), &setup.options, &counters, stop).await;
    progress.finish_and_clear();
    let summary = result.with_context(|| match &setup.options.checkpoint {
        Some(path) => format!(
            "the feed stopped; run the same command again to resume from {}",
            path.display()
        ),
        None => "the feed stopped (with --checkpoint FILE it could resume)".to_string(),
    })?;
    report(&summary, global, args.dry_run)?;
    Ok(if summary.interrupted {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Loads the config as `C`, builds the feeder with `build`, and the options (flags over
/// the config).
fn setup<C: DeserializeOwned>(
    args: &Args,
    build: impl FnOnce(C) -> cirrus_feeders::Result<Box<dyn Feeder>>,
) -> anyhow::Result<Setup> {
    let file = args.config.display().to_string();
    let config = FeedConfig::<C>::load(&args.config)?;
    let template = config.template(&file)?;
    let options = FeedOptions {
        template,
        batch_size: args.batch_size.or(config.batch_size).unwrap_or(1),
        max_rate: args.max_rate.or(config.max_rate),
        checkpoint: args.checkpoint.clone(),
        fingerprint: config.fingerprint.clone(),
    };
    anyhow::ensure!(options.batch_size > 0, "--batch-size: must be at least 1");
    let feeder = build(config.source).with_context(|| format!("{file}: the source section"))?;
    Ok(Setup { feeder, options })
}

/// The project's payload bucket (where oversized payloads go, and archived inputs are).
fn payload_bucket(project: &Project) -> anyhow::Result<PayloadBucket> {
    let url = project.locate(
        project
            .payload_bucket
            .as_deref()
            .unwrap_or(DEFAULT_PAYLOAD_BUCKET),
    );
    PayloadBucket::open(&url).with_context(|| format!("the payload bucket {url}"))
}

/// What a feed to deployment `name` uses: its queue, state table and payload bucket.
#[cfg(feature = "aws")]
async fn remote_backends(name: &str) -> anyhow::Result<RemoteBackends> {
    let backends = Deployment::find(name).await?.backends()?;
    Ok(RemoteBackends {
        queue: backends.queue,
        state: backends.state,
        bucket: backends.bucket,
    })
}

/// Without the `aws` feature there is no deployment to feed.
#[cfg(not(feature = "aws"))]
async fn remote_backends(name: &str) -> anyhow::Result<RemoteBackends> {
    Deployment::find(name).await?;
    anyhow::bail!("deployment {name}: built without the `aws` feature")
}

/// A deployment's backends, as a feed uses them.
struct RemoteBackends {
    queue: Arc<dyn cirrus_core::queue::Queue>,
    state: Arc<dyn cirrus_core::state::StateStore>,
    bucket: cirrus_core::store::PayloadBucket,
}

/// A spinner line on stderr with the counters, redrawn a few times a second; hidden when
/// stderr is not a terminal or with `--quiet`.
fn start_progress(counters: Arc<Counters>, hidden: bool) -> ProgressBar {
    let target = if hidden {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .expect("the template is valid"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let drawn = bar.clone();
    tokio::spawn(async move {
        while !drawn.is_finished() {
            let (found, items, payloads, skipped) = counters.snapshot();
            let rate = found as f64 / drawn.elapsed().as_secs_f64().max(1e-3);
            drawn.set_message(format!(
                "found {found} · sent {payloads} payloads ({items} items) · skipped {skipped} · {rate:.0} found/s"
            ));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    bar
}

/// The summary: a line on stderr, or JSON on stdout with `--format json` (not with
/// `--dry-run`, whose stdout holds the payloads).
fn report(summary: &Summary, global: &Global, dry_run: bool) -> anyhow::Result<()> {
    if global.format == Format::Json && !dry_run {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, summary)?;
        writeln!(out)?;
        return Ok(());
    }
    if global.quiet > 0 {
        return Ok(());
    }
    let state = if summary.interrupted {
        "interrupted"
    } else if summary.complete && summary.found == 0 && summary.resumed {
        "already complete"
    } else {
        "complete"
    };
    eprintln!(
        "{} ({}): {state}: found {}, sent {} payloads ({} items), skipped {} in {:.1} s ({:.0} found/s, {:.0} payloads/s){}",
        summary.feeder,
        if dry_run {
            "dry run"
        } else {
            summary.sink.as_str()
        },
        summary.found,
        summary.payloads,
        summary.items,
        summary.skipped,
        summary.seconds,
        summary.found_per_second,
        summary.payloads_per_second,
        if summary.resumed {
            ", resumed from the checkpoint"
        } else {
            ""
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("50/s"), Ok(50.0));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("fast").is_err());
    }
}
