//! `cirrus task run NAME INPUT [--output OUT] [--local] [--workdir DIR] [--save-workdir]`:
//! run one task alone, as stac-task's CLI runs a task, following the task CLI contract
//! (`docs/projects.md`); and `cirrus task list`: the tasks a workflow can name.
//!
//! `NAME` is a built-in task (`cirrus-tasks`) or a project task (`[tasks.NAME]` in
//! `cirrus.toml`, which replaces a built-in of the same name). The task runs exactly as a
//! Task state would run it, so `cirrus task run` is also the entry point of a task in a
//! container.
//!
//! - `INPUT` is a file, `-` for stdin, or a URL (`file://`, `s3://…`); a `{"url": …}` or
//!   `{"href": …}` reference is followed. `OUT` is a file, `-` for stdout (the default), or
//!   a URL.
//! - Built-in tasks write their output assets next to each output item's published place
//!   (`upload_options.path_template`, relative to the project's `store.data`; a URL template
//!   as is). Outside a project, a relative template is the task's error. With `--local`,
//!   the assets go to the work folder instead (`--workdir DIR`, else a new folder whose
//!   path is printed on stderr), and nothing is uploaded.
//! - Scratch folders are made below `--workdir` and removed, unless `--save-workdir`.
//!
//! Exit codes: 0 and the output payload written; 1 when the task failed, with its error as
//! the last stderr line, `ErrorName: message` (`InvalidInput` for wrong input); 2 on usage
//! errors (an unknown task, an unreadable input or output).

use super::workflow::{resolver_with, task_env};
use crate::cli::Global;
use crate::input::read_text;
use crate::output::{Format, Table};
use crate::project::Project;
use anyhow::Context;
use cirrus_core::payload::ProcessPayload;
use cirrus_core::store::Store;
use cirrus_core::workflow::TaskResolver;
use cirrus_core::workflow::resolver::Invocation;
use clap::Subcommand;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `cirrus task` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one task on a payload and write its output payload (the task CLI contract).
    Run(RunArgs),
    /// List the tasks workflows can name: the built-in tasks and the project's.
    List(ListArgs),
}

/// Arguments of `cirrus task run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The task: a built-in task or a project `[tasks.NAME]`.
    name: String,
    /// The input payload: a file, `-` for stdin, or a URL.
    #[arg(value_name = "INPUT")]
    input: String,
    /// Where the output payload goes: a file, `-` for stdout, or a URL.
    #[arg(short, long, value_name = "OUT", default_value = "-")]
    output: String,
    /// Write output assets to the work folder instead of uploading them (and keep it).
    #[arg(long)]
    local: bool,
    /// The work folder: scratch folders are made in it (and, with `--local`, outputs).
    #[arg(long, value_name = "DIR")]
    workdir: Option<PathBuf>,
    /// Keep the scratch folders instead of removing them.
    #[arg(long)]
    save_workdir: bool,
}

/// Arguments of `cirrus task list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {}

/// Runs a `cirrus task` subcommand.
pub fn run(command: Command, global: &Global) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run_task(args),
        Command::List(_) => list(global),
    }
}

/// `cirrus task run`.
fn run_task(args: RunArgs) -> anyhow::Result<ExitCode> {
    let project = Project::discover()?;
    let mut env = task_env(&project)?;
    if args.local {
        let dir = match &args.workdir {
            Some(dir) => dir.clone(),
            None => {
                let millis = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                PathBuf::from(format!("cirrus-task-{}-{millis}", args.name))
            }
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the work folder {}", dir.display()))?;
        eprintln!("outputs go to {}", dir.display());
        env = env.local(&dir).with_workdir(&dir);
    } else if let Some(dir) = &args.workdir {
        env = env.with_workdir(dir);
    }
    env = env.keep_workdir(args.save_workdir);
    let resolver = resolver_with(&project, &env)?;
    let invoker = resolver.resolve(&args.name).map_err(|failure| {
        anyhow::anyhow!(
            "unknown task {:?}: {}",
            args.name,
            failure.cause.unwrap_or(failure.error)
        )
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let input = match read_input(&args.input).await {
            Ok(input) => input,
            Err(Invalid(message)) => return Ok(task_error("InvalidInput", &message)),
        };
        let invocation = Invocation::new(
            format!("task-run-{}", std::process::id()),
            args.name.clone(),
            args.name.clone(),
            String::new(),
        );
        match invoker.invoke(input, &invocation).await {
            Ok(output) => {
                write_output(&args.output, &output).await?;
                Ok(ExitCode::SUCCESS)
            }
            Err(failure) => Ok(task_error(
                &failure.error,
                failure.cause.as_deref().unwrap_or(""),
            )),
        }
    })
}

/// Prints the task's error line, `ErrorName: message`, last on stderr; exit 1.
fn task_error(error: &str, message: &str) -> ExitCode {
    let message = message.replace('\n', " ");
    eprintln!("{error}: {message}");
    ExitCode::from(1)
}

/// Input that is not a process payload: the task's `InvalidInput`.
struct Invalid(String);

/// The input payload at `location`, references followed; an unreadable or invalid input is
/// [`Invalid`].
async fn read_input(location: &str) -> Result<Value, Invalid> {
    let text = if location.contains("://") {
        let bytes = cirrus_core::store::fetch(location)
            .await
            .map_err(|err| Invalid(format!("{location}: {err}")))?;
        String::from_utf8(bytes).map_err(|_| Invalid(format!("{location}: not UTF-8 text")))?
    } else {
        read_text(Path::new(location))
            .map_err(|err| Invalid(format!("{err:#}")))?
            .1
    };
    let mut value: Value = serde_json::from_str(&text)
        .map_err(|err| Invalid(format!("{location}: not JSON: {err}")))?;
    // A reference ({"url"} from cirrus-geo, {"href"} from stac-task) names the payload.
    for _ in 0..4 {
        let reference = match &value {
            Value::Object(map) if !map.contains_key("process") => map
                .get("url")
                .or_else(|| map.get("href"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        };
        let Some(url) = reference else { break };
        value = cirrus_core::store::fetch_json(&url)
            .await
            .map_err(|err| Invalid(format!("the payload reference {url}: {err}")))?;
    }
    ProcessPayload::from_value(value.clone())
        .map_err(|err| Invalid(format!("{location}: not a process payload: {err}")))?;
    Ok(value)
}

/// Writes `output` to `location`: `-` (stdout), a URL, or a file.
async fn write_output(location: &str, output: &Value) -> anyhow::Result<()> {
    if location == "-" {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer(&mut stdout, output)?;
        writeln!(stdout)?;
        return Ok(());
    }
    if location.contains("://") {
        let (store, key) = Store::open_object(location)
            .with_context(|| format!("the output location {location}"))?;
        store
            .put_json(&key, output)
            .await
            .with_context(|| format!("cannot write the output payload to {location}"))?;
        return Ok(());
    }
    let path = Path::new(location);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let text = serde_json::to_string_pretty(output)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("cannot write the output payload to {location}"))
}

/// `cirrus task list`: one line (or JSON object) per task, sorted by name.
fn list(global: &Global) -> anyhow::Result<ExitCode> {
    let project = Project::discover()?;
    let env = task_env(&project)?;
    let mut rows: Vec<(String, &str, String)> = cirrus_tasks::builtin_tasks(&env)
        .iter()
        .filter(|task| !project.tasks.contains_key(task.name()))
        .map(|task| (task.name().to_owned(), "built-in", "in-process".to_owned()))
        .collect();
    for (name, task) in &project.tasks {
        rows.push((name.clone(), "project", task.command.join(" ")));
    }
    rows.sort();
    let mut out = std::io::stdout().lock();
    match global.format {
        Format::Json => {
            for (name, kind, runs) in &rows {
                serde_json::to_writer(
                    &mut out,
                    &json!({"name": name, "kind": kind, "runs": runs}),
                )?;
                writeln!(out)?;
            }
        }
        Format::Text => {
            let mut table = Table::new(["TASK", "KIND", "RUNS"]);
            for (name, kind, runs) in &rows {
                table.row([name.as_str(), kind, runs.as_str()]);
            }
            table.write(&mut out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
