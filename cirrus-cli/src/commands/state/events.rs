//! `cirrus state events [PAYLOAD_ID]`: the workflow event log of the SQLite state DB.

use super::payload_key;
use crate::cli::Global;
use crate::output::{Format, Table};
use crate::state_db::StateDbSpec;
use cirrus_core::process::WorkflowEventType;
use cirrus_core::state::sqlite::SqliteStateStore;
use cirrus_core::state::{EventQuery, LoggedEvent, Timestamp, parse_time_bound};
use std::io::Write;

/// How many events are read (and, as text, aligned) at a time.
const PAGE: usize = 1000;

/// Arguments of `cirrus state events`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only the events of this payload ID, `{collections}/workflow-{workflow}/{item ids}`.
    pub payload_id: Option<String>,
    /// Only events of this type (CLAIMED_PROCESSING, FAILED, RECORD_EXTRACT_FAILED, …).
    #[arg(long = "type", value_name = "EVENT_TYPE", value_parser = parse_event_type)]
    pub event_type: Option<WorkflowEventType>,
    /// Only events about payloads of this workflow.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only events since then: a duration back from now (`30m`, `24h`, `7d`) or a timestamp
    /// (RFC 3339).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only events until then: a duration back from now or a timestamp.
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only events after this sequence number (the `seq` of the last event printed before).
    #[arg(long, value_name = "SEQ")]
    pub after: Option<i64>,
    /// Print at most N events (default: all), oldest first.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
}

fn parse_event_type(text: &str) -> Result<WorkflowEventType, String> {
    text.to_ascii_uppercase().parse().map_err(|_| {
        let names: Vec<&str> = WorkflowEventType::ALL.iter().map(|t| t.as_str()).collect();
        format!(
            "{text:?} is not a workflow event type; expected one of {}",
            names.join(", ")
        )
    })
}

/// Streams the matching events, oldest first: NDJSON (`seq` and the event's body) with
/// `--format json`, aligned columns otherwise.
pub async fn run(args: Args, spec: &StateDbSpec, global: &Global) -> anyhow::Result<()> {
    let store = match spec {
        StateDbSpec::Sqlite(path) => SqliteStateStore::open(path).await?,
        StateDbSpec::Dynamodb(_) => anyhow::bail!(
            "the event log is kept only in the SQLite state DB; on AWS workflow events go to the SNS topic"
        ),
    };
    let now = Timestamp::now();
    let bound = |field, text: &Option<String>| {
        text.as_deref()
            .map(|t| parse_time_bound(field, t, now))
            .transpose()
    };
    let payload_id = match &args.payload_id {
        Some(id) => Some(payload_key(id)?.as_str().to_string()),
        None => None,
    };
    let mut query = EventQuery {
        payload_id,
        event_type: args.event_type,
        workflow: args.workflow,
        since: bound("--since", &args.since)?,
        until: bound("--until", &args.until)?,
        after_seq: args.after,
        limit: PAGE,
    };
    let mut left = args
        .limit
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut first = true;
    while left > 0 {
        query.limit = left.min(PAGE);
        let events = store.events(&query).await?;
        left -= events.len();
        match global.format {
            Format::Json => {
                for event in &events {
                    serde_json::to_writer(&mut out, event)?;
                    writeln!(out)?;
                }
            }
            Format::Text if first => table(&events).write(&mut out)?,
            Format::Text => table(&events).write_without_header(&mut out)?,
        }
        first = false;
        match events.last() {
            Some(last) if events.len() == query.limit => query.after_seq = Some(last.seq),
            _ => break,
        }
    }
    out.flush()?;
    Ok(())
}

/// Events as a text table.
fn table(events: &[LoggedEvent]) -> Table {
    let mut table = Table::new(["AT", "EVENT_TYPE", "PAYLOAD_ID", "EXECUTION", "ERROR"]);
    for LoggedEvent { event, .. } in events {
        table.row([
            event.isotimestamp.to_string().as_str(),
            event.event_type.as_str(),
            event.key.as_ref().map_or("-", |k| k.as_str()),
            event.execution.as_deref().unwrap_or("-"),
            event.error.as_deref().unwrap_or(""),
        ]);
    }
    table
}
