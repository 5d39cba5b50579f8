//! `cirrus state get PAYLOAD_ID`: a record and its timeline.

use super::{existing, payload_key};
use crate::cli::Global;
use crate::output::{Format, Table};
use cirrus_core::state::StateStore;
use std::io::Write;

/// Arguments of `cirrus state get`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The payload ID, `{collections}/workflow-{workflow}/{item ids}`.
    pub payload_id: String,
}

/// Prints the record (JSON: one object with a `timeline` array).
pub async fn run(args: Args, store: &dyn StateStore, global: &Global) -> anyhow::Result<()> {
    let key = payload_key(&args.payload_id)?;
    let record = existing(store, &key).await?;
    let timeline = store.timeline(&key).await?;
    let mut out = std::io::stdout().lock();
    match global.format {
        Format::Json => {
            let mut value = serde_json::to_value(&record)?;
            value["timeline"] = serde_json::to_value(&timeline)?;
            serde_json::to_writer(&mut out, &value)?;
            writeln!(out)?;
        }
        Format::Text => {
            let mut fields = Table::new(["FIELD", "VALUE"]);
            fields.row(["payload_id", &record.payload_id]);
            fields.row(["state", record.state.as_str()]);
            fields.row(["created", &record.created.to_string()]);
            fields.row(["updated", &record.updated.to_string()]);
            fields.row(["state_updated", &record.state_updated.to_string()]);
            if let Some(claimed) = record.claimed_at {
                fields.row(["claimed_at", &claimed.to_string()]);
            }
            for (i, execution) in record.executions.iter().enumerate() {
                fields.row([if i == 0 { "executions" } else { "" }, execution]);
            }
            if let Some(error) = &record.last_error {
                fields.row(["last_error", error]);
            }
            for (i, output) in record.outputs.iter().flatten().enumerate() {
                fields.row([if i == 0 { "outputs" } else { "" }, output]);
            }
            fields.write_without_header(&mut out)?;
            writeln!(out)?;
            super::timeline::table(&timeline).write(&mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}
