//! `cirrus run-workflow [PATH|-] [--timeout S] [--rerun]`: run one payload through the local
//! pipeline and print its output payload, as cirrus-geo's `run-workflow` does on AWS.
//!
//! The payload is enqueued and the queue is drained (with any other messages on it) until
//! the payload's record is terminal. Chain successors stay on the queue for `cirrus run`.
//!
//! Exit 0 and the output payload on stdout when it SUCCEEDED (or had already succeeded);
//! 10 when it FAILED, was INVALID or ABORTED (the error on stderr); 11 when `--timeout`
//! passed first (the execution is then aborted and its message returned to the queue);
//! 2 on errors.

use crate::cli::Global;
use crate::input::read_text;
use crate::local::{self, Purpose};
use crate::progress::Progress;
use crate::project::{Project, current_root};
use crate::target::{Deployment, TargetArgs};
use anyhow::Context;
use async_trait::async_trait;
use cirrus_core::payload::ProcessPayload;
use cirrus_core::pipeline::{RunOptions, Shutdown, Submitted};
use cirrus_core::process::{Message, MessageSink, WorkflowEvent, WorkflowEventType};
use cirrus_core::state::StateKey;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Arguments of `cirrus run-workflow`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The payload: a JSON file, or `-` for stdin (the default).
    #[arg(value_name = "PATH|-", default_value = "-")]
    input: PathBuf,
    /// Seconds to wait for the payload to finish.
    #[arg(short, long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Run it again even if it already succeeded or is invalid (sets `process[0].replace`).
    #[arg(short, long)]
    rerun: bool,
    /// Workers draining the queue meanwhile.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: u16,
    /// The local pipeline, or a deployment: the payload then goes to its SQS process queue,
    /// and its DynamoDB record is polled until it is terminal.
    #[command(flatten)]
    target: TargetArgs,
}

/// How the payload ended, as far as `run-workflow` is concerned.
enum End {
    Succeeded,
    Failed(String),
    TimedOut,
}

/// Runs the payload and prints its output.
pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let (name, mut payload) = read(&args.input)?;
    if args.rerun {
        payload.process_definition_mut().replace = Some(true);
    }
    let payload_id = payload
        .set_id()
        .with_context(|| format!("{name}: the payload ID"))?
        .to_string();
    let key = StateKey::parse(&payload_id)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let timeout = Duration::from_secs(args.timeout);
    let (end, output) = if let Some(deployment) = args.target.deployment() {
        runtime.block_on(async {
            let deployment = Deployment::find(deployment).await?;
            remote(&deployment, &name, &payload, &key, args.rerun, timeout).await
        })?
    } else {
        let project = Project::load_root(&current_root()?)?;
        runtime.block_on(local_run(
            &project, &args, global, &name, &payload, &key, timeout,
        ))?
    };
    match end {
        End::Succeeded => {
            let mut out = io::stdout().lock();
            serde_json::to_writer(&mut out, &output)?;
            writeln!(out)?;
            Ok(ExitCode::SUCCESS)
        }
        End::Failed(error) => {
            eprintln!("{payload_id}: {error}");
            Ok(ExitCode::from(10))
        }
        End::TimedOut => {
            eprintln!("{payload_id}: not finished after {} s", args.timeout);
            Ok(ExitCode::from(11))
        }
    }
}

/// Runs the payload through the local pipeline.
async fn local_run(
    project: &Project,
    args: &Args,
    global: &Global,
    name: &str,
    payload: &ProcessPayload,
    key: &StateKey,
    timeout: Duration,
) -> anyhow::Result<(End, Option<serde_json::Value>)> {
    let payload_id = key.as_str();
    {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let local = local::open(project, Purpose::Run, vec![Arc::new(Events(tx))]).await?;
        let submitted = local
            .pipeline
            .submit(&[payload.to_value().to_string()])
            .await?;
        if let Some(Submitted::Rejected { reason, .. }) = submitted.first() {
            anyhow::bail!("{name}: {reason}");
        }
        let shutdown = Shutdown::new();
        let options = RunOptions {
            workers: usize::from(args.workers),
            follow: true,
            ..RunOptions::default()
        };
        let progress = Progress::start(
            local.pipeline.stats(),
            local.queue.clone(),
            global.quiet > 0,
        );
        let run = local.pipeline.run(&options, &shutdown);
        tokio::pin!(run);
        let wait = wait_for(key, &mut rx, &local);
        let end = tokio::select! {
            end = tokio::time::timeout(timeout, wait) => end.unwrap_or(Ok(End::TimedOut)),
            result = &mut run => Err(match result {
                Ok(()) => anyhow::anyhow!("the pipeline stopped before the payload finished"),
                Err(e) => e.into(),
            }),
            () = crate::commands::run::watch_signals(shutdown.clone(), &progress) => unreachable!("never returns"),
        };
        match &end {
            Ok(End::TimedOut) | Err(_) => shutdown.abort(),
            Ok(_) => shutdown.drain(),
        }
        let stopped = run.await;
        progress.finish();
        let end = end?;
        stopped?;
        let output = match end {
            End::Succeeded => Some(local.pipeline.bucket().get_output(payload_id, None).await?),
            _ => None,
        };
        anyhow::Ok((end, output))
    }
}

/// How often the deployment's state record is read while waiting.
#[cfg(feature = "aws")]
const REMOTE_POLL: Duration = Duration::from_secs(2);

/// Without the `aws` feature there is no deployment to run on.
#[cfg(not(feature = "aws"))]
async fn remote(
    deployment: &Deployment,
    _name: &str,
    _payload: &ProcessPayload,
    _key: &StateKey,
    _rerun: bool,
    _timeout: Duration,
) -> anyhow::Result<(End, Option<serde_json::Value>)> {
    anyhow::bail!(
        "deployment {}: built without the `aws` feature",
        deployment.name
    )
}

/// Sends the payload to the deployment's process queue and polls its record until a run that
/// started after the send is terminal (or, without `--rerun`, until `process` skipped it as
/// already SUCCEEDED or INVALID). On AWS a timeout leaves the execution running.
#[cfg(feature = "aws")]
async fn remote(
    deployment: &Deployment,
    name: &str,
    payload: &ProcessPayload,
    key: &StateKey,
    rerun: bool,
    timeout: Duration,
) -> anyhow::Result<(End, Option<serde_json::Value>)> {
    use cirrus_core::state::State;
    let backends = deployment.backends()?;
    let state = backends.state.clone();
    let before = state.get(key).await?;
    let runs_before = before.as_ref().map_or(0, |r| r.executions.len());
    if !rerun && let Some(record) = &before {
        // `process` would skip it: report the recorded outcome, as the local pipeline does.
        match record.state {
            State::Succeeded => {
                let output = backends.bucket.get_output(key.as_str(), None).await?;
                return Ok((End::Succeeded, Some(output)));
            }
            State::Invalid => {
                return Ok((
                    End::Failed(format!(
                        "already INVALID ({}); use --rerun to run it again",
                        record.last_error.clone().unwrap_or_default()
                    )),
                    None,
                ));
            }
            _ => {}
        }
    }
    let submitter = crate::commands::process::remote_submitter(deployment)?;
    let submitted = submitter.submit(&[payload.to_value().to_string()]).await?;
    if let Some(Submitted::Rejected { reason, .. }) = submitted.first() {
        anyhow::bail!("{name}: {reason}");
    }
    tracing::info!(payload_id = %key, deployment = %deployment.name, "sent to the process queue; waiting for the state record");
    let wait = async {
        loop {
            tokio::time::sleep(REMOTE_POLL).await;
            let Some(record) = state.get(key).await? else {
                continue;
            };
            if record.executions.len() <= runs_before {
                continue;
            }
            match record.state {
                State::Succeeded => return anyhow::Ok(End::Succeeded),
                State::Failed | State::Invalid | State::Aborted => {
                    return Ok(End::Failed(
                        record
                            .last_error
                            .unwrap_or_else(|| record.state.to_string()),
                    ));
                }
                State::Claimed | State::Processing => {}
            }
        }
    };
    let end = tokio::time::timeout(timeout, wait)
        .await
        .unwrap_or(Ok(End::TimedOut))?;
    let output = match end {
        End::Succeeded => Some(backends.bucket.get_output(key.as_str(), None).await?),
        _ => None,
    };
    Ok((end, output))
}

/// Waits for the payload's terminal event, or for its record to become terminal when
/// another process is running it.
async fn wait_for(
    key: &StateKey,
    events: &mut mpsc::UnboundedReceiver<WorkflowEvent>,
    local: &local::Local,
) -> anyhow::Result<End> {
    use cirrus_core::state::{State, StateStore};
    let mut poll_state = false;
    loop {
        let event = if poll_state {
            match tokio::time::timeout(Duration::from_millis(500), events.recv()).await {
                Ok(event) => event,
                Err(_) => {
                    let record = local.state.get(key).await?;
                    match record.map(|r| (r.state, r.last_error)) {
                        Some((State::Succeeded, _)) => return Ok(End::Succeeded),
                        Some((State::Failed | State::Invalid | State::Aborted, error)) => {
                            return Ok(End::Failed(error.unwrap_or_else(|| "ABORTED".into())));
                        }
                        _ => continue,
                    }
                }
            }
        } else {
            events.recv().await
        };
        let Some(event) = event else {
            anyhow::bail!("the pipeline stopped before the payload finished");
        };
        if event.key.as_ref() != Some(key) {
            continue;
        }
        let error = || {
            event
                .error
                .clone()
                .unwrap_or_else(|| event.event_type.to_string())
        };
        match event.event_type {
            WorkflowEventType::Succeeded | WorkflowEventType::AlreadySucceeded => {
                return Ok(End::Succeeded);
            }
            WorkflowEventType::Failed
            | WorkflowEventType::TimedOut
            | WorkflowEventType::Invalid
            | WorkflowEventType::Aborted => return Ok(End::Failed(error())),
            WorkflowEventType::AlreadyInvalid => {
                let record = local.state.get(key).await?;
                let last = record.and_then(|r| r.last_error);
                return Ok(End::Failed(format!(
                    "already INVALID ({}); use --rerun to run it again",
                    last.unwrap_or_default()
                )));
            }
            WorkflowEventType::AlreadyClaimed | WorkflowEventType::AlreadyProcessing => {
                poll_state = true;
            }
            _ => {}
        }
    }
}

/// Forwards workflow events to `run-workflow`.
struct Events(mpsc::UnboundedSender<WorkflowEvent>);

#[async_trait]
impl MessageSink for Events {
    async fn publish(&self, messages: &[Message]) -> cirrus_core::Result<()> {
        for message in messages {
            if let Ok(event) = WorkflowEvent::from_body(&message.body) {
                let _ = self.0.send(event);
            }
        }
        Ok(())
    }

    async fn flush(&self) -> cirrus_core::Result<()> {
        Ok(())
    }
}

/// The payload to run.
fn read(input: &std::path::Path) -> anyhow::Result<(String, ProcessPayload)> {
    let (name, text) = read_text(input)?;
    let payload = ProcessPayload::from_json(&text).with_context(|| name.clone())?;
    Ok((name, payload))
}
