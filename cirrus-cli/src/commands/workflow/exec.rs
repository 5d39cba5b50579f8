//! `cirrus workflow exec DEFINITION [--input PATH|-] [--history] [--name NAME]`: run a
//! state machine on this machine, with the project's tasks.
//!
//! - SUCCEEDED: the final output as JSON on stdout, exit 0.
//! - FAILED or TIMED_OUT: `{"error": "<name>", "cause": "<cause>"}` on stdout (`cause` is
//!   `null` when there is none), exit 1.
//! - An invalid definition: its problems on stderr, exit 2; an unreadable definition or
//!   input, exit 2; interrupted (Ctrl-C), exit 130 after the running tasks are killed.
//!
//! `--history` writes the execution's history to stderr as NDJSON, one event per line.

use super::definition;
use crate::project::Project;
use anyhow::Context;
use cirrus_core::workflow::{Engine, EngineOptions, Execution, Status};
use serde_json::{Value, json};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Arguments of `cirrus workflow exec`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The definition: a JSON or YAML file, or `-` for stdin.
    definition: PathBuf,
    /// The execution's input: a JSON file, or `-` for stdin. Default: `{}`.
    #[arg(long, value_name = "PATH|-")]
    input: Option<PathBuf>,
    /// Write the execution history to stderr as NDJSON (one event per line).
    #[arg(long)]
    history: bool,
    /// The execution's name (`$$.Execution.Name`). Default: `local-<time>-<pid>`.
    #[arg(long)]
    name: Option<String>,
    /// Fail the execution with States.Runtime when its history grows past N events (0: no
    /// limit).
    #[arg(long, value_name = "N", default_value_t = EngineOptions::default().max_history_events)]
    max_history_events: usize,
}

/// Runs the definition and prints its outcome.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if is_stdin(&args.definition) && args.input.as_deref().is_some_and(is_stdin) {
        anyhow::bail!("the definition and --input cannot both be read from stdin");
    }
    let machine = match definition::load(&args.definition)? {
        Ok(machine) => machine,
        Err(problems) => return definition::report_invalid(&problems),
    };
    let input = read_input(args.input.as_deref())?;
    let project = Project::discover()?;
    let resolver = super::resolver(&project)?;
    let options = EngineOptions {
        max_history_events: args.max_history_events,
        ..EngineOptions::default()
    };
    let name = args.name.unwrap_or_else(default_name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let engine = Engine::new(Arc::new(resolver)).with_options(options);
    let execution = runtime.block_on(async {
        let interrupted = async {
            // Without a Ctrl-C handler, run to the end.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            execution = engine.execute(Arc::new(machine), input, name) => Some(execution),
            () = interrupted => None,
        }
    });
    // Dropping the runtime drops every task still running, which kills their processes.
    drop(runtime);
    let Some(execution) = execution else {
        eprintln!("interrupted");
        return Ok(ExitCode::from(130));
    };
    if args.history {
        write_history(&execution)?;
    }
    print_outcome(&execution)
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The input document: `{}` by default.
fn read_input(path: Option<&Path>) -> anyhow::Result<Value> {
    let Some(path) = path else {
        return Ok(json!({}));
    };
    let (name, bytes) = if is_stdin(path) {
        let mut bytes = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("cannot read the input from stdin")?;
        ("<stdin>".to_owned(), bytes)
    } else {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        (path.display().to_string(), bytes)
    };
    serde_json::from_slice(&bytes).with_context(|| format!("--input {name}: not valid JSON"))
}

/// `local-<unix time in ms>-<pid>`: unique on this machine.
fn default_name() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    format!("local-{millis}-{}", std::process::id())
}

/// The history as NDJSON on stderr.
fn write_history(execution: &Execution) -> anyhow::Result<()> {
    let mut err = BufWriter::new(io::stderr().lock());
    for event in &execution.history {
        serde_json::to_writer(&mut err, event)?;
        writeln!(err)?;
    }
    err.flush()?;
    Ok(())
}

/// The output (exit 0), or the error and cause (exit 1), on stdout.
fn print_outcome(execution: &Execution) -> anyhow::Result<ExitCode> {
    tracing::info!(execution = %execution.name, status = ?execution.status, "execution finished");
    let (document, code) = match execution.status {
        Status::Succeeded => (
            execution.output.clone().unwrap_or(Value::Null),
            ExitCode::SUCCESS,
        ),
        Status::Failed | Status::TimedOut => {
            let (error, cause) = match &execution.failure {
                Some(failure) => (failure.error.as_str(), failure.cause.as_deref()),
                None => (
                    "States.Runtime",
                    Some("the execution ended without an error"),
                ),
            };
            (json!({"error": error, "cause": cause}), ExitCode::from(1))
        }
    };
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, &document)?;
    writeln!(out)?;
    out.flush()?;
    Ok(code)
}
