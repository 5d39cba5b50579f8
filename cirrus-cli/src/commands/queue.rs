//! `cirrus queue stats | dead-letters | redrive`: look at the project's process queue.
//!
//! - `stats`: messages visible, in flight (received, not yet deleted) and dead.
//! - `dead-letters [--limit N]`: messages received `[queue] max_receives` times without
//!   being handled, oldest first, with their bodies (`--format json`: NDJSON).
//! - `redrive (--all | ID…)`: send dead letters back to the queue, as SQS's DLQ redrive.

use crate::cli::Global;
use crate::local;
use crate::output::{Format, Table};
use crate::project::{Project, current_root};
use anyhow::Context;
use cirrus_core::queue::{Queue, Redrive};
use clap::Subcommand;
use serde_json::json;
use std::io::{self, Write};
use std::process::ExitCode;

/// `cirrus queue` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Messages visible, in flight and dead.
    Stats,
    /// The dead letters, oldest first.
    DeadLetters {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Send dead letters back to the queue.
    Redrive {
        /// Every dead letter.
        #[arg(long, conflicts_with = "ids", required_unless_present = "ids")]
        all: bool,
        /// The dead letters with these message IDs.
        ids: Vec<String>,
    },
}

/// Runs a `cirrus queue` subcommand.
pub fn run(command: Command, global: &Global) -> anyhow::Result<ExitCode> {
    let root = current_root()?;
    let project = Project::load_root(&root)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let queue = local::open_queue(&project, false).await?;
        let mut out = io::stdout().lock();
        match command {
            Command::Stats => {
                let stats = queue.stats().await?;
                match global.format {
                    Format::Json => {
                        let value = json!({"visible": stats.visible, "in_flight": stats.in_flight, "dead": stats.dead});
                        writeln!(out, "{value}")?;
                    }
                    Format::Text => {
                        let mut table = Table::new(["VISIBLE", "IN_FLIGHT", "DEAD"]);
                        let cells = [stats.visible, stats.in_flight, stats.dead].map(|n| n.to_string());
                        table.row(cells.iter().map(String::as_str));
                        table.write(&mut out)?;
                    }
                }
            }
            Command::DeadLetters { limit } => {
                let letters = queue.dead_letters(limit).await?;
                match global.format {
                    Format::Json => {
                        for letter in &letters {
                            let value = json!({
                                "id": letter.id,
                                "receive_count": letter.receive_count,
                                "sent": letter.sent,
                                "dead_at": letter.dead_at,
                                "body": letter.body,
                            });
                            writeln!(out, "{value}")?;
                        }
                    }
                    Format::Text => {
                        let mut table = Table::new(["DEAD_AT", "ID", "RECEIVES", "BODY"]);
                        for letter in &letters {
                            let (dead_at, receives) = (letter.dead_at.to_string(), letter.receive_count.to_string());
                            let body: String = letter.body.chars().take(80).collect();
                            table.row([dead_at.as_str(), letter.id.as_str(), receives.as_str(), body.as_str()]);
                        }
                        table.write(&mut out)?;
                    }
                }
            }
            Command::Redrive { all, ids } => {
                let which = if all { Redrive::All } else { Redrive::Ids(ids) };
                let moved = queue.redrive(&which).await?;
                match global.format {
                    Format::Json => writeln!(out, "{}", json!({"redriven": moved}))?,
                    Format::Text => writeln!(out, "redriven {moved}")?,
                }
            }
        }
        out.flush()?;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}
