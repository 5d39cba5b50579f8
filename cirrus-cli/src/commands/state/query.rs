//! `cirrus state query`: records matching filters, across all workflows unless one is given.

use crate::cli::Global;
use crate::output::Format;
use cirrus_core::state::{
    PageToken, Query, SortKey, State, StateRecord, StateStore, Timestamp, parse_time_bound,
};
use futures_util::TryStreamExt;
use std::io::Write;

/// Arguments of `cirrus state query`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this workflow.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only this collections part of the payload ID (e.g. `sentinel-2-l2a`, `l8/s2`).
    #[arg(long)]
    pub collections: Option<String>,
    /// Only records in this state (CLAIMED, PROCESSING, SUCCEEDED, FAILED, INVALID, ABORTED).
    #[arg(long, value_parser = parse_state)]
    pub state: Option<State>,
    /// Only records since then: a duration back from now (`30m`, `24h`, `7d`) or a timestamp
    /// (RFC 3339). Applies to the sort key's time.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only records until then: a duration back from now or a timestamp.
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only records whose last error starts with this (e.g. `TaskFailed`, `TimedOutError`).
    #[arg(long, value_name = "PREFIX")]
    pub error_prefix: Option<String>,
    /// Order and window by `updated` or `state_updated` (default: `state_updated` with
    /// `--state`, else `updated`).
    #[arg(long, value_parser = ["updated", "state_updated"])]
    pub sort: Option<String>,
    /// Oldest first (default: newest first).
    #[arg(long)]
    pub ascending: bool,
    /// Print at most N records, then the token of the next page on stderr.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub limit: Option<u64>,
    /// Continue a previous query from its page token (repeat the same filters).
    #[arg(long, value_name = "TOKEN", requires = "limit")]
    pub page: Option<String>,
}

fn parse_state(text: &str) -> Result<State, String> {
    text.parse().map_err(|e: cirrus_core::Error| e.to_string())
}

/// Streams matching records: NDJSON with `--format json`, aligned columns otherwise.
pub async fn run(args: Args, store: &dyn StateStore, global: &Global) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let bound = |field, text: &Option<String>| {
        text.as_deref()
            .map(|t| parse_time_bound(field, t, now))
            .transpose()
    };
    let query = Query {
        workflow: args.workflow,
        collections: args.collections,
        state: args.state,
        since: bound("--since", &args.since)?,
        until: bound("--until", &args.until)?,
        error_prefix: args.error_prefix,
        sort: args
            .sort
            .as_deref()
            .map(str::parse::<SortKey>)
            .transpose()?,
        ascending: args.ascending,
        limit: None,
    };
    let mut printer = Printer::new(global.format, query.sort_key());
    match args.limit {
        Some(limit) => {
            let token = args.page.map(PageToken::new);
            let page = store
                .query_page(&query, token.as_ref(), limit as usize)
                .await?;
            for record in &page.records {
                printer.print(record)?;
            }
            printer.finish()?;
            if let Some(next) = page.next {
                eprintln!("next page: --page {next}");
            }
        }
        None => {
            let mut records = store.query(query);
            while let Some(record) = records.try_next().await? {
                printer.print(&record)?;
            }
            printer.finish()?;
        }
    }
    Ok(())
}

/// Prints records as they stream in.
struct Printer {
    format: Format,
    sort: SortKey,
    out: std::io::BufWriter<std::io::Stdout>,
    header: bool,
}

impl Printer {
    fn new(format: Format, sort: SortKey) -> Printer {
        Printer {
            format,
            sort,
            out: std::io::BufWriter::new(std::io::stdout()),
            header: false,
        }
    }

    fn print(&mut self, record: &StateRecord) -> anyhow::Result<()> {
        match self.format {
            Format::Json => {
                serde_json::to_writer(&mut self.out, record)?;
                writeln!(self.out)?;
            }
            Format::Text => {
                if !self.header {
                    self.header = true;
                    let time = self.sort.as_str().to_ascii_uppercase();
                    writeln!(
                        self.out,
                        "{time:<32}  {:<10}  PAYLOAD_ID  LAST_ERROR",
                        "STATE"
                    )?;
                }
                let error = record.last_error.as_deref().unwrap_or("");
                writeln!(
                    self.out,
                    "{:<32}  {:<10}  {}  {}",
                    self.sort.of(record).to_string(),
                    record.state.as_str(),
                    record.payload_id,
                    one_line(error, 100)
                )?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// `text` on one line, cut to `max` characters with an ellipsis.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max - 1).collect();
    cut.push('…');
    cut
}
