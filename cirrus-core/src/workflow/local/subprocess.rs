//! Subprocess tasks: any program that speaks the task CLI contract,
//! `COMMAND… run INPUT --output OUT --workdir DIR [ARGS…]`.
//!
//! Each invocation gets a fresh temporary folder holding `input.json` (the state's input),
//! `output.json` (OUT), `workdir/` (DIR) and the captured stdout; it is removed afterwards.
//!
//! - **stderr** is read line by line while the task runs: each line goes into the
//!   invocation's log and counts as a heartbeat.
//! - **Exit 0**: the result is OUT, parsed as JSON. A task that did not write OUT may print
//!   its result on stdout instead (stac-task prints it when `--output` is absent); when OUT
//!   was written, stdout lines are log lines.
//! - **Non-zero exit**: the last stderr line of the form `ErrorName: message` is the error
//!   (`InvalidInput: no items`, a Python traceback's `Foo.BarError: …`); else the error is
//!   `TaskFailed` with the exit status and the last stderr line.
//! - **Timeout**: the task runs in its own process group. When the engine gives up on it
//!   (`TimeoutSeconds`) or the configured timeout passes, the whole group is killed, so
//!   nothing the task started outlives it. A configured timeout fails with `States.Timeout`.

use super::stderr::{LineReader, StderrLog};
use crate::task::ErrorClass;
use crate::workflow::error::{Failure, names};
use crate::workflow::resolver::{Invocation, Invoker};
use crate::{Error, Result};
use async_trait::async_trait;
use serde_json::Value;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::BufReader;
use tokio::process::{Child, Command};

/// How long to keep reading stderr after the task exited and its process group was killed:
/// only a process that left the group (`setsid`) can still hold the pipe open by then.
const DRAIN: Duration = Duration::from_secs(5);

/// A task run as a subprocess speaking the task CLI contract.
#[derive(Debug, Clone)]
pub struct SubprocessTask {
    name: String,
    command: Vec<String>,
    args: Vec<String>,
    current_dir: Option<PathBuf>,
    env: Vec<(String, String)>,
    timeout: Option<Duration>,
}

impl SubprocessTask {
    /// The task `name`, run as `command` (a program and its first arguments), followed by
    /// `run INPUT --output OUT --workdir DIR`. Fails when `command` is empty.
    pub fn new(
        name: impl Into<String>,
        command: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<SubprocessTask> {
        let name = name.into();
        let command: Vec<String> = command.into_iter().map(Into::into).collect();
        if command.first().is_none_or(String::is_empty) {
            return Err(Error::invalid_argument(
                "command",
                format!("task {name:?}: the command needs at least a program to run"),
            ));
        }
        Ok(SubprocessTask {
            name,
            command,
            args: Vec::new(),
            current_dir: None,
            env: Vec::new(),
            timeout: None,
        })
    }

    /// Extra arguments, after `--workdir DIR` (`--logging DEBUG`, `--local`, …).
    pub fn with_args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The folder the task runs in (relative paths in the command are relative to it).
    pub fn with_current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// An environment variable for the task (on top of the inherited environment).
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Fails the task with `States.Timeout` when it runs longer than `timeout` (on top of
    /// the state's `TimeoutSeconds`, which the engine enforces).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command as a readable line, for messages.
    pub fn command_line(&self) -> String {
        let quote = |part: &String| {
            if part.is_empty() || part.contains(|c: char| c.is_whitespace() || c == '"') {
                format!("{part:?}")
            } else {
                part.clone()
            }
        };
        self.command.iter().map(quote).collect::<Vec<_>>().join(" ")
    }

    /// A `TaskFailed` failure of this task.
    fn failed(&self, what: impl std::fmt::Display) -> Failure {
        Failure::new(
            ErrorClass::Failed.default_error_name(),
            format!("task {}: {what}", self.name),
        )
    }

    async fn run(&self, input: Value, invocation: &Invocation) -> Result<Value, Failure> {
        let dir = tempfile::Builder::new()
            .prefix("cirrus-task-")
            .tempdir()
            .map_err(|e| self.failed(format_args!("cannot create a temporary folder: {e}")))?;
        let files = Files::in_dir(dir.path());
        let bytes = serde_json::to_vec(&input).expect("a JSON value always serializes");
        tokio::fs::write(&files.input, bytes).await.map_err(|e| {
            self.failed(format_args!("cannot write {}: {e}", files.input.display()))
        })?;
        tokio::fs::create_dir(&files.workdir).await.map_err(|e| {
            self.failed(format_args!(
                "cannot create {}: {e}",
                files.workdir.display()
            ))
        })?;
        let stdout = std::fs::File::create(&files.stdout).map_err(|e| {
            self.failed(format_args!(
                "cannot create {}: {e}",
                files.stdout.display()
            ))
        })?;

        let mut command = self.command(&files);
        command.stdout(stdout);
        let mut child = command
            .spawn()
            .map_err(|e| self.failed(format_args!("cannot run `{}`: {e}", self.command_line())))?;
        let mut group = ProcessGroup::of(&child);
        tracing::debug!(task = %self.name, execution = %invocation.execution, state = %invocation.state, pid = child.id(), command = %self.command_line(), "started subprocess task");

        let mut log = StderrLog::new(&self.name, invocation);
        let status = wait_logging(&mut child, &mut group, &mut log).await;
        let status =
            status.map_err(|e| self.failed(format_args!("cannot wait for the process: {e}")))?;
        tracing::debug!(task = %self.name, execution = %invocation.execution, %status, "subprocess task exited");
        if !status.success() {
            log.finish();
            return Err(log.failure(status));
        }
        let output = self.output(&files, &mut log).await;
        log.finish();
        output
    }

    /// The command line for one invocation.
    fn command(&self, files: &Files) -> Command {
        let mut command = Command::new(&self.command[0]);
        command
            .args(&self.command[1..])
            .arg("run")
            .arg(&files.input)
            .arg("--output")
            .arg(&files.output)
            .arg("--workdir")
            .arg(&files.workdir)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        #[cfg(unix)]
        command.process_group(0);
        command
    }

    /// The result of a task that exited 0: OUT, else stdout.
    async fn output(&self, files: &Files, log: &mut StderrLog<'_>) -> Result<Value, Failure> {
        let stdout = tokio::fs::read(&files.stdout).await.map_err(|e| {
            self.failed(format_args!("cannot read {}: {e}", files.stdout.display()))
        })?;
        match tokio::fs::read(&files.output).await {
            Ok(bytes) => {
                for line in String::from_utf8_lossy(&stdout).lines() {
                    if !line.trim().is_empty() {
                        log.log(format!("stdout: {line}"));
                    }
                }
                serde_json::from_slice(&bytes).map_err(|e| {
                    self.failed(format_args!(
                        "exited 0 but its output (--output) is not JSON: {e}"
                    ))
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if stdout.trim_ascii().is_empty() {
                    return Err(self.failed(
                        "exited 0 without a result: it wrote nothing to --output and nothing on stdout",
                    ));
                }
                serde_json::from_slice(&stdout).map_err(|e| {
                    self.failed(format_args!(
                        "exited 0 without writing --output, and its stdout is not a JSON result: {e}"
                    ))
                })
            }
            Err(e) => Err(self.failed(format_args!(
                "cannot read its output {}: {e}",
                files.output.display()
            ))),
        }
    }
}

#[async_trait]
impl Invoker for SubprocessTask {
    async fn invoke(&self, input: Value, invocation: &Invocation) -> Result<Value, Failure> {
        let Some(limit) = self.timeout else {
            return self.run(input, invocation).await;
        };
        match tokio::time::timeout(limit, self.run(input, invocation)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::new(
                names::TIMEOUT,
                format!(
                    "task {} ran longer than its timeout of {}",
                    self.name,
                    describe(limit)
                ),
            )),
        }
    }
}

/// The files of one invocation.
struct Files {
    input: PathBuf,
    output: PathBuf,
    workdir: PathBuf,
    stdout: PathBuf,
}

impl Files {
    fn in_dir(dir: &Path) -> Files {
        Files {
            input: dir.join("input.json"),
            output: dir.join("output.json"),
            workdir: dir.join("workdir"),
            stdout: dir.join("stdout"),
        }
    }
}

/// Waits for `child` while copying its stderr into `log`, kills what the task left running
/// in its `group`, then reads what is left of stderr (for at most [`DRAIN`]).
async fn wait_logging(
    child: &mut Child,
    group: &mut ProcessGroup,
    log: &mut StderrLog<'_>,
) -> io::Result<std::process::ExitStatus> {
    let Some(stderr) = child.stderr.take() else {
        let status = child.wait().await;
        group.kill();
        return status;
    };
    let mut lines = LineReader::new(BufReader::new(stderr));
    let mut open = true;
    let status = loop {
        tokio::select! {
            line = lines.next_line(), if open => match line {
                Ok(Some(line)) => log.record(line),
                Ok(None) => open = false,
                Err(e) => {
                    tracing::warn!("cannot read the task's stderr: {e}");
                    open = false;
                }
            },
            status = child.wait() => break status,
        }
    };
    // Whatever the task left running in its group goes with it.
    group.kill();
    let status = status?;
    if open {
        let drain = async {
            while let Ok(Some(line)) = lines.next_line().await {
                log.record(line);
            }
        };
        if tokio::time::timeout(DRAIN, drain).await.is_err() {
            tracing::warn!(
                "the task exited but a process it started still holds its stderr open; stopped reading it"
            );
        }
    }
    Ok(status)
}

/// The process group of a task (its leader's pid), killed when dropped: when the engine
/// drops the invocation (a timeout) or the task has exited.
struct ProcessGroup(Option<i32>);

impl ProcessGroup {
    fn of(child: &Child) -> ProcessGroup {
        ProcessGroup(child.id().and_then(|id| i32::try_from(id).ok()))
    }

    /// Sends SIGKILL to every process of the group (once).
    fn kill(&mut self) {
        let Some(group) = self.0.take() else {
            return;
        };
        // 0 and 1 would signal our own group or every process: never a child's pid.
        #[cfg(unix)]
        if group > 1 {
            // SAFETY: kill(2) takes plain integers and touches no memory of this process.
            let done = unsafe { libc::kill(-group, libc::SIGKILL) };
            if done != 0 {
                let error = io::Error::last_os_error();
                if error.raw_os_error() != Some(libc::ESRCH) {
                    tracing::warn!("cannot kill process group {group}: {error}");
                }
            }
        }
        #[cfg(not(unix))]
        let _ = group;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `15m`, `2h`, `90s`, `1.5s`.
fn describe(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if duration.subsec_nanos() != 0 {
        format!("{}s", duration.as_secs_f64())
    } else if seconds != 0 && seconds.is_multiple_of(3600) {
        format!("{}h", seconds / 3600)
    } else if seconds != 0 && seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests;
