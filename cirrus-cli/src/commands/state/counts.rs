//! `cirrus state counts`: records per workflow and state.

use crate::cli::Global;
use crate::output::{Format, Table};
use cirrus_core::state::{CountsQuery, State, StateStore, Timestamp, parse_time_bound};
use std::collections::BTreeMap;
use std::io::Write;

/// Arguments of `cirrus state counts`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this workflow.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only records that entered their state since then: a duration back from now (`30m`,
    /// `24h`, `7d`) or a timestamp (RFC 3339).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

/// Prints a workflow × state table (JSON: one object per workflow).
pub async fn run(args: Args, store: &dyn StateStore, global: &Global) -> anyhow::Result<()> {
    let since = args
        .since
        .as_deref()
        .map(|s| parse_time_bound("--since", s, Timestamp::now()))
        .transpose()?;
    let counts = store
        .counts(&CountsQuery {
            workflow: args.workflow,
            since,
        })
        .await?;
    let mut out = std::io::stdout().lock();
    match global.format {
        Format::Json => {
            for (workflow, states) in &counts.workflows {
                serde_json::to_writer(&mut out, &row_json(workflow, states))?;
                writeln!(out)?;
            }
        }
        Format::Text => {
            let headers = std::iter::once("WORKFLOW")
                .chain(State::ALL.iter().map(|s| s.as_str()))
                .chain(["TOTAL"]);
            let mut table = Table::new(headers);
            let mut line = |name: &str, states: &BTreeMap<State, u64>| {
                let mut cells = vec![name.to_string()];
                cells.extend(
                    State::ALL
                        .iter()
                        .map(|s| states.get(s).copied().unwrap_or(0).to_string()),
                );
                cells.push(states.values().sum::<u64>().to_string());
                table.row(cells.iter().map(String::as_str));
            };
            for (workflow, states) in &counts.workflows {
                line(workflow, states);
            }
            if counts.workflows.len() != 1 {
                line("(all)", &counts.totals());
            }
            table.right_align_from(1);
            table.write(&mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn row_json(workflow: &str, states: &BTreeMap<State, u64>) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> = State::ALL
        .iter()
        .map(|s| {
            (
                s.as_str().to_string(),
                states.get(s).copied().unwrap_or(0).into(),
            )
        })
        .collect();
    serde_json::json!({
        "workflow": workflow,
        "counts": counts,
        "total": states.values().sum::<u64>(),
    })
}
