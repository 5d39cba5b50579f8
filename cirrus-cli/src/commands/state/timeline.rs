//! `cirrus state timeline PAYLOAD_ID`: every transition of a payload, oldest first.

use super::payload_key;
use crate::cli::Global;
use crate::output::{Format, Table};
use cirrus_core::state::{StateStore, TimelineEvent};
use std::io::Write;

/// Arguments of `cirrus state timeline`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The payload ID, `{collections}/workflow-{workflow}/{item ids}`.
    pub payload_id: String,
}

/// Prints the timeline (JSON: one event per line).
pub async fn run(args: Args, store: &dyn StateStore, global: &Global) -> anyhow::Result<()> {
    let key = payload_key(&args.payload_id)?;
    let timeline = store.timeline(&key).await?;
    if timeline.is_empty() {
        // No transitions: tell an unknown payload from a record written without a timeline
        // (for example by cirrus-geo itself).
        super::existing(store, &key).await?;
    }
    let mut out = std::io::stdout().lock();
    match global.format {
        Format::Json => {
            for event in &timeline {
                serde_json::to_writer(&mut out, event)?;
                writeln!(out)?;
            }
        }
        Format::Text => table(&timeline).write(&mut out)?,
    }
    out.flush()?;
    Ok(())
}

/// The timeline as a text table.
pub fn table(timeline: &[TimelineEvent]) -> Table {
    let mut table = Table::new(["AT", "STATE", "EXECUTION", "ERROR"]);
    for event in timeline {
        table.row([
            event.at.to_string().as_str(),
            event.state.as_str(),
            event.execution.as_deref().unwrap_or("-"),
            event.error.as_deref().unwrap_or(""),
        ]);
    }
    table
}
