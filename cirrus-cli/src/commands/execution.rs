//! `cirrus execution get|history PAYLOAD_ID|ARN --deployment NAME`: a deployment's Step
//! Functions executions.
//!
//! A payload ID names its latest execution (`--execution NAME` picks another), whose ARN is
//! derived from the deployment's `CIRRUS_BASE_WORKFLOW_ARN` as cirrus-geo does; an execution
//! ARN is used as given. `get` prints the execution (status, dates, input, output, error and
//! cause); `history` prints its events, oldest first (`--format json`: one JSON object per
//! line). Local executions keep no history once they end: locally, use `cirrus state get`
//! and `cirrus payload get-input|get-output`.

use crate::cli::Global;
use crate::output::Format;
use crate::target::{Deployment, TargetArgs};
use anyhow::Context;
use cirrus_core::state::StateKey;
use clap::Subcommand;
use serde_json::Value;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

/// `cirrus execution` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an execution: status, dates, input, output, error and cause.
    Get(Args),
    /// Print an execution's events, oldest first.
    History(Args),
}

/// Arguments of `cirrus execution get|history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A payload ID (its latest execution) or an execution ARN.
    #[arg(value_name = "PAYLOAD_ID|ARN")]
    id: String,
    /// The execution of the payload to show, by name; default: its latest.
    #[arg(long, value_name = "NAME")]
    execution: Option<String>,
    /// The deployment (required: local executions keep no history).
    #[command(flatten)]
    target: TargetArgs,
}

/// Runs a `cirrus execution` subcommand.
pub fn run(command: Command, global: &Global) -> anyhow::Result<ExitCode> {
    let (args, history) = match command {
        Command::Get(args) => (args, false),
        Command::History(args) => (args, true),
    };
    let Some(name) = args.target.deployment() else {
        anyhow::bail!(
            "cirrus execution needs --deployment NAME (or CIRRUS_DEPLOYMENT): local executions keep no history once they end; use `cirrus state get` and `cirrus payload get-input|get-output` for local payloads"
        );
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let deployment = Deployment::find(name).await?;
        let arn = execution_arn(&deployment, &args.id, args.execution.as_deref()).await?;
        if history {
            print_history(&fetch_history(&deployment, &arn).await?, global.format)
        } else {
            print_execution(&fetch(&deployment, &arn).await?, global.format)
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The ARN of the execution `id` names.
async fn execution_arn(
    deployment: &Deployment,
    id: &str,
    execution: Option<&str>,
) -> anyhow::Result<String> {
    if id.starts_with("arn:") {
        anyhow::ensure!(
            execution.is_none(),
            "--execution picks an execution of a payload ID; {id} is already an execution ARN"
        );
        return Ok(id.to_string());
    }
    let key = StateKey::parse(id).with_context(|| format!("payload ID {id:?}"))?;
    let name = match execution {
        Some(name) => name.to_string(),
        None => {
            let record = record(deployment, &key).await?;
            record.executions.last().cloned().ok_or_else(|| {
                anyhow::anyhow!("payload {id} has no execution yet (state {})", record.state)
            })?
        }
    };
    // The execution name may be recorded as a full ARN.
    if name.starts_with("arn:") {
        return Ok(name);
    }
    deployment.execution_arn(key.workflow(), &name)
}

#[cfg(feature = "aws")]
async fn record(
    deployment: &Deployment,
    key: &StateKey,
) -> anyhow::Result<cirrus_core::state::StateRecord> {
    Ok(deployment
        .backends()?
        .state
        .get(key)
        .await?
        .ok_or_else(|| cirrus_core::Error::NotFound(key.to_string()))?)
}

#[cfg(not(feature = "aws"))]
async fn record(
    deployment: &Deployment,
    _key: &StateKey,
) -> anyhow::Result<cirrus_core::state::StateRecord> {
    anyhow::bail!(
        "deployment {}: built without the `aws` feature",
        deployment.name
    )
}

#[cfg(feature = "aws")]
async fn fetch(deployment: &Deployment, arn: &str) -> anyhow::Result<Value> {
    Ok(cirrus_deploy::execution::describe(&deployment.sdk, arn).await?)
}

#[cfg(feature = "aws")]
async fn fetch_history(deployment: &Deployment, arn: &str) -> anyhow::Result<Vec<Value>> {
    Ok(cirrus_deploy::execution::history(&deployment.sdk, arn).await?)
}

#[cfg(not(feature = "aws"))]
async fn fetch(deployment: &Deployment, _arn: &str) -> anyhow::Result<Value> {
    anyhow::bail!(
        "deployment {}: built without the `aws` feature",
        deployment.name
    )
}

#[cfg(not(feature = "aws"))]
async fn fetch_history(deployment: &Deployment, _arn: &str) -> anyhow::Result<Vec<Value>> {
    anyhow::bail!(
        "deployment {}: built without the `aws` feature",
        deployment.name
    )
}

fn print_execution(execution: &Value, format: Format) -> anyhow::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    match format {
        Format::Json => {
            serde_json::to_writer(&mut out, execution)?;
            writeln!(out)?;
        }
        Format::Text => {
            if let Value::Object(fields) = execution {
                for (name, value) in fields {
                    match value {
                        Value::String(text) => writeln!(out, "{name}: {text}")?,
                        other => writeln!(out, "{name}: {other}")?,
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn print_history(events: &[Value], format: Format) -> anyhow::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    for event in events {
        match format {
            Format::Json => serde_json::to_writer(&mut out, event)?,
            Format::Text => {
                let details = event
                    .as_object()
                    .and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
                    .map(|(_, v)| summary(v))
                    .unwrap_or_default();
                write!(
                    out,
                    "{:>4}  {}  {:<28}  {details}",
                    event["id"],
                    event["timestamp"].as_str().unwrap_or_default(),
                    event["type"].as_str().unwrap_or_default(),
                )?;
            }
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

/// One line of an event's details: the state name, the error and cause, short.
fn summary(details: &Value) -> String {
    let mut parts = Vec::new();
    for key in ["name", "resource", "error", "cause"] {
        if let Some(value) = details.get(key) {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let mut text: String = text.chars().take(120).collect();
            if text.len() < value.to_string().len().saturating_sub(2) {
                text.push('…');
            }
            parts.push(format!("{key}={text}"));
        }
    }
    parts.join(" ")
}
