//! The `tracing` subscriber: logs go to stderr, as text or JSON.

use crate::cli::{Global, LogFormat};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the subscriber. `CIRRUS_LOG` (an `EnvFilter` directive such as `debug` or
/// `cirrus_core=trace`) overrides `-v`/`-q`.
pub fn init(global: &Global) {
    let level = match (global.quiet, global.verbose) {
        (q, _) if q >= 2 => "off",
        (1, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("CIRRUS_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    match global.log_format {
        LogFormat::Text => builder.without_time().init(),
        LogFormat::Json => builder.json().init(),
    }
}
