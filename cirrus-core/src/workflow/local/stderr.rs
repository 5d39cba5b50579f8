//! A subprocess's stderr: read line by line with a bounded line length, copied into the
//! invocation's log (each line is a heartbeat), and scanned for the `ErrorName: message` line
//! that names the task's error.

use crate::task::ErrorClass;
use crate::workflow::error::Failure;
use crate::workflow::resolver::Invocation;
use std::io;
#[cfg(unix)]
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The longest line kept, in bytes; the rest of a longer line is dropped (a task that
/// writes megabytes without a line break must not make the engine buffer them).
pub(super) const MAX_LINE: usize = 64 * 1024;

/// The most lines one invocation puts into its log (they end up in the execution history,
/// which is held in memory); later lines are still heartbeats and still scanned for the
/// error line, and the log ends with a count of what was left out.
pub(super) const MAX_LOG_LINES: usize = 10_000;

/// Log-level words that look like an error name (`WARNING: disk almost full`) but are not.
const LOG_LEVELS: &[&str] = &[
    "TRACE", "DEBUG", "INFO", "NOTE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL",
];

/// Reads lines of at most [`MAX_LINE`] bytes. [`next_line`](LineReader::next_line) is
/// cancel-safe: a partial line is kept in the reader, so it can be raced in `select!`.
pub(super) struct LineReader<R> {
    reader: R,
    partial: Vec<u8>,
    truncated: bool,
    eof: bool,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub(super) fn new(reader: R) -> LineReader<R> {
        LineReader {
            reader,
            partial: Vec::new(),
            truncated: false,
            eof: false,
        }
    }

    /// The next line without its line break (invalid UTF-8 replaced), or `None` at the end.
    pub(super) async fn next_line(&mut self) -> io::Result<Option<String>> {
        if self.eof {
            return Ok(None);
        }
        loop {
            let buf = self.reader.fill_buf().await?;
            if buf.is_empty() {
                self.eof = true;
                if self.partial.is_empty() && !self.truncated {
                    return Ok(None);
                }
                return Ok(Some(self.take_line()));
            }
            let newline = buf.iter().position(|&b| b == b'\n');
            let chunk = &buf[..newline.unwrap_or(buf.len())];
            let room = MAX_LINE.saturating_sub(self.partial.len());
            if chunk.len() > room {
                self.truncated = true;
            }
            self.partial
                .extend_from_slice(&chunk[..chunk.len().min(room)]);
            let used = newline.map_or(buf.len(), |at| at + 1);
            self.reader.consume(used);
            if newline.is_some() {
                return Ok(Some(self.take_line()));
            }
        }
    }

    fn take_line(&mut self) -> String {
        let bytes = self.partial.strip_suffix(b"\r").unwrap_or(&self.partial);
        let mut line = String::from_utf8_lossy(bytes).into_owned();
        if self.truncated {
            line.push_str(" …[line truncated]");
        }
        self.partial.clear();
        self.truncated = false;
        line
    }
}

/// `(ErrorName, message)` when `line` reads `ErrorName: message`: a name made of dotted
/// identifiers (`InvalidInput`, `Foo.BarError`, `cirrus.lib.errors.InvalidInput`) that is not
/// a log level.
pub(super) fn error_line(line: &str) -> Option<(&str, &str)> {
    let (name, message) = line.split_once(": ")?;
    let identifier = |part: &str| {
        part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let valid = name.len() <= 256 && name.split('.').all(identifier) && !LOG_LEVELS.contains(&name);
    valid.then(|| (name, message.trim_end()))
}

/// What the task wrote on stderr, as far as the outcome is concerned.
pub(super) struct StderrLog<'a> {
    task: &'a str,
    invocation: &'a Invocation,
    last_line: Option<String>,
    error: Option<(String, String)>,
    kept: usize,
    dropped: usize,
}

impl<'a> StderrLog<'a> {
    pub(super) fn new(task: &'a str, invocation: &'a Invocation) -> StderrLog<'a> {
        StderrLog {
            task,
            invocation,
            last_line: None,
            error: None,
            kept: 0,
            dropped: 0,
        }
    }

    /// Takes one stderr line: a heartbeat, a log line, maybe the error line.
    pub(super) fn record(&mut self, line: String) {
        self.invocation.heartbeat();
        tracing::debug!(task = self.task, execution = %self.invocation.execution, state = %self.invocation.state, "stderr: {line}");
        if let Some((name, message)) = error_line(&line) {
            self.error = Some((name.to_owned(), message.to_owned()));
        }
        if !line.trim().is_empty() {
            self.last_line = Some(line.clone());
        }
        self.log(line);
    }

    /// Adds a line to the invocation's log, up to [`MAX_LOG_LINES`].
    pub(super) fn log(&mut self, line: String) {
        if self.kept < MAX_LOG_LINES {
            self.invocation.log(line);
            self.kept += 1;
        } else {
            self.dropped += 1;
        }
    }

    /// Notes in the log how many lines were left out.
    pub(super) fn finish(&self) {
        if self.dropped > 0 {
            self.invocation.log(format!(
                "… {} more lines not kept (the log keeps the first {MAX_LOG_LINES})",
                self.dropped
            ));
        }
    }

    /// The failure of a task that exited with `status` (not success): the last
    /// `ErrorName: message` line, else `TaskFailed` with the status and the last line.
    pub(super) fn failure(self, status: ExitStatus) -> Failure {
        if let Some((error, message)) = self.error {
            return Failure::new(error, message);
        }
        let status = describe_status(status);
        let cause = match self.last_line {
            Some(line) => format!("{status}: {line}"),
            None => format!("{status} (nothing on stderr)"),
        };
        Failure::new(ErrorClass::Failed.default_error_name(), cause)
    }
}

/// `exit status 3`, or `killed by signal 9`.
fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    if let Some(signal) = status.signal() {
        return format!("killed by signal {signal}");
    }
    format!("{status}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines() {
        assert_eq!(
            error_line("InvalidInput: no items"),
            Some(("InvalidInput", "no items"))
        );
        assert_eq!(
            error_line("cirrus.lib.errors.InvalidInput: bad: really"),
            Some(("cirrus.lib.errors.InvalidInput", "bad: really"))
        );
        assert_eq!(error_line("Foo.BarError: x  "), Some(("Foo.BarError", "x")));
        assert_eq!(error_line("WARNING: disk almost full"), None);
        assert_eq!(error_line("2024-01-01 INFO: started"), None);
        assert_eq!(error_line("ERROR:root:boom"), None);
        assert_eq!(error_line("  File \"x.py\", line 3"), None);
        assert_eq!(error_line("Foo..Bar: x"), None);
        assert_eq!(error_line("9Lives: x"), None);
    }

    #[tokio::test]
    async fn lines_are_bounded_and_split() {
        let long = "x".repeat(MAX_LINE + 10);
        let text = format!("one\r\n\n{long}\nlast");
        let mut reader = LineReader::new(text.as_bytes());
        assert_eq!(reader.next_line().await.unwrap().as_deref(), Some("one"));
        assert_eq!(reader.next_line().await.unwrap().as_deref(), Some(""));
        let cut = reader.next_line().await.unwrap().unwrap();
        assert!(cut.starts_with(&"x".repeat(MAX_LINE)));
        assert!(cut.ends_with("…[line truncated]"));
        assert_eq!(reader.next_line().await.unwrap().as_deref(), Some("last"));
        assert_eq!(reader.next_line().await.unwrap(), None);
        assert_eq!(reader.next_line().await.unwrap(), None);
    }

    #[test]
    fn the_log_is_bounded() {
        let invocation = Invocation::new("e", "s", "r", "t");
        let mut log = StderrLog::new("task", &invocation);
        for i in 0..MAX_LOG_LINES + 5 {
            log.record(format!("line {i}"));
        }
        log.finish();
        let lines = invocation.take_log();
        assert_eq!(lines.len(), MAX_LOG_LINES + 1);
        assert_eq!(
            lines[MAX_LOG_LINES],
            "… 5 more lines not kept (the log keeps the first 10000)"
        );
    }
}
