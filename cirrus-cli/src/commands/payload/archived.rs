//! `cirrus payload get-input|get-output PAYLOAD_ID`: print a payload archived in the payload
//! bucket, `executions/<payload_id>/<execution>/input.json` or `output.json`.
//!
//! The bucket is the deployment's with `--deployment NAME`, else `--payloads` (or
//! `CIRRUS_PAYLOAD_BUCKET`), else the project's `store.payloads`, else `.cirrus/payloads` in
//! the project folder. Exit codes: 0 printed,
//! 2 when the payload, the execution or the bucket cannot be read.

use crate::project::{DEFAULT_PAYLOAD_BUCKET, Project, absolute};
use crate::target::{Deployment, TargetArgs};
use anyhow::Context;
use cirrus_core::store::PayloadBucket;
use std::io::{self, Write};
use std::process::ExitCode;

/// Arguments of `cirrus payload get-input` and `get-output`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The payload ID, `<collections>/workflow-<workflow>/<item ids>`.
    payload_id: String,
    /// The execution whose payload to print; default: the latest that has one.
    #[arg(long)]
    execution: Option<String>,
    /// The payload bucket: a path, or a file:// or s3:// URL.
    #[arg(long, env = "CIRRUS_PAYLOAD_BUCKET")]
    payloads: Option<String>,
    /// The local project's payload bucket, or a deployment's.
    #[command(flatten)]
    target: TargetArgs,
}

/// Which archived payload.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    /// The execution's input.
    Input,
    /// The execution's output.
    Output,
}

/// Prints the archived payload as one line of JSON.
pub fn run(args: Args, which: Which) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (url, bucket) = match args.target.deployment() {
        Some(name) => {
            let bucket = runtime.block_on(deployment_bucket(name))?;
            (bucket.url(), bucket)
        }
        None => {
            let url = bucket_url(args.payloads.as_deref())?;
            let bucket = PayloadBucket::open(&url)?;
            (url, bucket)
        }
    };
    let payload = runtime.block_on(async {
        let execution = args.execution.as_deref();
        match which {
            Which::Input => bucket.get_input(&args.payload_id, execution).await,
            Which::Output => bucket.get_output(&args.payload_id, execution).await,
        }
    });
    let what = match which {
        Which::Input => "input",
        Which::Output => "output",
    };
    let payload = payload.with_context(|| {
        format!(
            "no {what} payload of {:?} in the payload bucket {url}",
            args.payload_id
        )
    })?;
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, &payload)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}

/// The payload bucket of deployment `name`.
#[cfg(feature = "aws")]
async fn deployment_bucket(name: &str) -> anyhow::Result<PayloadBucket> {
    Ok(Deployment::find(name).await?.backends()?.bucket)
}

/// Without the `aws` feature there is no deployment.
#[cfg(not(feature = "aws"))]
async fn deployment_bucket(name: &str) -> anyhow::Result<PayloadBucket> {
    Deployment::find(name).await?;
    anyhow::bail!("deployment {name}: built without the `aws` feature")
}

/// The payload bucket in effect: the flag (or env), else the project's, else the default
/// folder in the project. A relative path is relative to the current folder for the flag,
/// and to the project folder for the configuration.
fn bucket_url(flag: Option<&str>) -> anyhow::Result<String> {
    if let Some(flag) = flag {
        let cwd = std::env::current_dir().context("cannot read the current folder")?;
        return Ok(absolute(flag, &cwd));
    }
    let project = Project::discover()?;
    let configured = project
        .payload_bucket
        .as_deref()
        .unwrap_or(DEFAULT_PAYLOAD_BUCKET);
    Ok(absolute(configured, &project.root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn relative_locations_are_joined_to_their_base() {
        let base = Path::new("/projects/p");
        assert_eq!(
            absolute(".cirrus/payloads", base),
            "/projects/p/.cirrus/payloads"
        );
        assert_eq!(absolute("/data/payloads", base), "/data/payloads");
        assert_eq!(absolute("s3://bucket/root", base), "s3://bucket/root");
        assert_eq!(absolute("file:///data/x", base), "file:///data/x");
    }
}
