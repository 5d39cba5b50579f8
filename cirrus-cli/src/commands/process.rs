//! `cirrus process [PATH|-]`: put payloads on the project's process queue.
//!
//! The input is one JSON message, or NDJSON (one message per line). A message is any shape
//! `process` accepts: a payload, `{"url": …}`, an SQS record body, an SNS envelope, or SNS
//! inside SQS. A line that carries no payload (not JSON, not a process payload) is rejected
//! alone: it gets its `RECORD_EXTRACT_FAILED` / `NOT_A_PROCESS_PAYLOAD` event and is kept
//! under the payload bucket's `tmp/invalid/`, and the other lines are enqueued.
//!
//! stdout: one line per message (`--format json`: one object per message, with its `line`).
//! Exit 0 when every message was enqueued, 1 when some were rejected, 2 on errors.

use crate::cli::Global;
use crate::input::read_text;
use crate::local::{self, Purpose};
use crate::output::Format;
use crate::project::{Project, current_root};
use crate::target::{Deployment, TargetArgs};
use anyhow::Context;
use cirrus_core::pipeline::Submitted;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cirrus process`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A JSON or NDJSON file, or `-` for stdin (the default).
    #[arg(value_name = "PATH|-", default_value = "-")]
    input: PathBuf,
    /// The local project's queue, or a deployment's SQS process queue.
    #[command(flatten)]
    target: TargetArgs,
}

/// How many messages are submitted at once.
const CHUNK: usize = 1000;

/// Enqueues the messages and reports each.
pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let (name, text) = read_text(&args.input)?;
    let messages = split(&text);
    if messages.is_empty() {
        anyhow::bail!("{name}: no message to enqueue (the input is empty)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let submitter = runtime.block_on(async {
        match args.target.deployment() {
            Some(deployment) => remote_submitter(&Deployment::find(deployment).await?),
            None => {
                let project = Project::load_root(&current_root()?)?;
                let local = local::open(&project, Purpose::Submit, Vec::new()).await?;
                Ok(Submit::Local(local.pipeline))
            }
        }
    })?;
    let mut results = Vec::with_capacity(messages.len());
    let failed = runtime.block_on(async {
        for chunk in messages.chunks(CHUNK) {
            let bodies: Vec<String> = chunk.iter().map(|(_, body)| body.clone()).collect();
            results.extend(submitter.submit(&bodies).await?);
        }
        anyhow::Ok(())
    });
    // What was enqueued before an error is reported all the same.
    let code = report(&name, &messages, &results, global.format)?;
    if let Err(e) = failed {
        let line = messages.get(results.len()).map_or(0, |(line, _)| *line);
        return Err(e.context(format!(
            "{name}:{line}: not enqueued, with every message after it ({} of {} were)",
            results.len(),
            messages.len()
        )));
    }
    Ok(code)
}

/// Where `cirrus process` puts the messages.
pub(crate) enum Submit {
    /// The local project's pipeline.
    Local(cirrus_core::pipeline::Pipeline),
    /// A deployment's SQS process queue.
    #[cfg(feature = "aws")]
    Remote(cirrus_core::pipeline::Submitter),
}

impl Submit {
    pub(crate) async fn submit(&self, bodies: &[String]) -> cirrus_core::Result<Vec<Submitted>> {
        match self {
            Submit::Local(pipeline) => pipeline.submit(bodies).await,
            #[cfg(feature = "aws")]
            Submit::Remote(submitter) => submitter.submit(bodies).await,
        }
    }
}

/// A submitter to the deployment's SQS process queue, offloading oversized payloads and
/// keeping rejected messages in its payload bucket, with the workflow events of rejected ones
/// on its workflow-event topic.
#[cfg(feature = "aws")]
pub(crate) fn remote_submitter(deployment: &Deployment) -> anyhow::Result<Submit> {
    let backends = deployment.backends()?;
    let mut submitter =
        cirrus_core::pipeline::Submitter::new(backends.queue.clone(), backends.bucket.clone());
    if let Some(events) = &backends.workflow_events {
        submitter = submitter.event_sink(events.clone());
    }
    Ok(Submit::Remote(submitter))
}

/// Without the `aws` feature there is no deployment to submit to.
#[cfg(not(feature = "aws"))]
pub(crate) fn remote_submitter(deployment: &Deployment) -> anyhow::Result<Submit> {
    anyhow::bail!(
        "deployment {}: this cirrus was built without the `aws` feature",
        deployment.name
    )
}

/// The messages of the input, with their line numbers: the whole input when it is one JSON
/// value (a pretty-printed payload), else each non-blank line.
fn split(text: &str) -> Vec<(usize, String)> {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        return vec![(1, value.to_string())];
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| (i + 1, line.trim().to_string()))
        .collect()
}

fn report(
    name: &str,
    messages: &[(usize, String)],
    results: &[Submitted],
    format: Format,
) -> anyhow::Result<ExitCode> {
    let mut out = BufWriter::new(io::stdout().lock());
    let mut rejected = 0;
    for ((line, _), result) in messages.iter().zip(results) {
        match format {
            Format::Json => {
                let mut value = serde_json::to_value(result)?;
                value["line"] = (*line).into();
                serde_json::to_writer(&mut out, &value)?;
                writeln!(out)?;
            }
            Format::Text => match result {
                Submitted::Enqueued {
                    payload_ids,
                    offloaded_to,
                    ..
                } => {
                    let ids = if payload_ids.is_empty() {
                        "(payload by reference)".to_string()
                    } else {
                        payload_ids.join(" ")
                    };
                    match offloaded_to {
                        Some(url) => writeln!(out, "enqueued {ids} (oversized, as {url})")?,
                        None => writeln!(out, "enqueued {ids}")?,
                    }
                }
                Submitted::Rejected {
                    event_type,
                    reason,
                    kept_at,
                } => writeln!(
                    out,
                    "{name}:{line}: {event_type}: {reason} (kept at {kept_at})"
                )?,
            },
        }
        if matches!(result, Submitted::Rejected { .. }) {
            rejected += 1;
        }
    }
    out.flush()?;
    let enqueued = results.len() - rejected;
    tracing::info!(enqueued, rejected, "messages submitted");
    Ok(if rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
