//! The command line: global options and the command tree.

use crate::commands::Command;
use crate::output::Format;
use clap::{Args, Parser, ValueEnum};

/// Cirrus: STAC workflow pipelines, locally or on AWS.
#[derive(Debug, Parser)]
#[command(name = "cirrus", version, about, propagate_version = true)]
pub struct Cli {
    /// Options that apply to every command.
    #[command(flatten)]
    pub global: Global,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options that apply to every command.
#[derive(Debug, Args)]
pub struct Global {
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less log output on stderr (-q errors only, -qq nothing).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
    /// How records are printed on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// How logs are printed on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "CIRRUS_LOG_FORMAT")]
    pub log_format: LogFormat,
}

/// How logs are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}
