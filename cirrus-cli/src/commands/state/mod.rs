//! `cirrus state …`: where each payload is, what happened to it, and what failed.

pub mod counts;
pub mod events;
pub mod get;
pub mod query;
pub mod timeline;

use crate::cli::Global;
use crate::state_db::StateDbSpec;
use crate::target::{Deployment, TargetArgs};
use anyhow::Context;
use cirrus_core::state::{StateKey, StateStore};
use clap::Subcommand;
use std::process::ExitCode;

/// `cirrus state`: the state DB.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The state DB: `sqlite:PATH` or `dynamodb:TABLE` (its timeline in `TABLE-timeline`).
    /// Default: `state.db` of the project's cirrus.toml, else `sqlite:.cirrus/state.db` in the
    /// project folder.
    #[arg(long, global = true, env = "CIRRUS_STATE_DB", value_name = "SPEC")]
    pub state_db: Option<String>,
    /// The local project, or a deployment's DynamoDB state table.
    #[command(flatten)]
    pub target: TargetArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `cirrus state` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a payload's record and its timeline.
    Get(get::Args),
    /// List records matching filters, across all workflows unless one is given.
    Query(query::Args),
    /// Count records per workflow and state.
    Counts(counts::Args),
    /// Print every state transition of a payload, oldest first.
    Timeline(timeline::Args),
    /// Print the workflow event log (SQLite state DB only), oldest first.
    Events(events::Args),
}

/// Runs a `cirrus state` subcommand.
pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let spec = match args.target.deployment() {
            Some(name) => {
                anyhow::ensure!(
                    args.state_db.is_none(),
                    "--state-db and --deployment both name a state DB: give one"
                );
                let deployment = Deployment::find(name).await?;
                if let Command::Events(_) = args.command {
                    anyhow::bail!(
                        "deployment {name}: `cirrus state events` reads the local event log; a deployment sends its workflow events to the SNS topic {}",
                        deployment.var("CIRRUS_WORKFLOW_EVENT_TOPIC_ARN").unwrap_or("(none)")
                    );
                }
                StateDbSpec::Dynamodb(deployment.state_table()?.to_string())
            }
            None => StateDbSpec::resolve(args.state_db.as_deref())?,
        };
        match args.command {
            Command::Get(args) => get::run(args, spec.open().await?.as_ref(), global).await,
            Command::Query(args) => query::run(args, spec.open().await?.as_ref(), global).await,
            Command::Counts(args) => counts::run(args, spec.open().await?.as_ref(), global).await,
            Command::Timeline(args) => {
                timeline::run(args, spec.open().await?.as_ref(), global).await
            }
            // Not part of `StateStore`: only the SQLite state DB keeps an event log.
            Command::Events(args) => events::run(args, &spec, global).await,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Parses a payload ID given on the command line.
fn payload_key(id: &str) -> anyhow::Result<StateKey> {
    StateKey::parse(id).with_context(|| format!("payload ID {id:?}"))
}

/// The record of `key`, or a "no state record" error.
async fn existing(
    store: &dyn StateStore,
    key: &StateKey,
) -> anyhow::Result<cirrus_core::state::StateRecord> {
    store
        .get(key)
        .await?
        .ok_or_else(|| cirrus_core::Error::NotFound(key.to_string()).into())
}
