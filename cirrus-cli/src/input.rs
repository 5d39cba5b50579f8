//! Reading payloads from a file or stdin: one JSON document, or NDJSON.
//!
//! The first non-blank line decides the mode. If it is a complete JSON value, the input is
//! **NDJSON**: one record per line (blank lines skipped), read line by line in constant
//! memory, and a bad line is reported with its line number. Otherwise the input is read as
//! a stream of (pretty-printed) **JSON documents**, and an error carries its line and column.

use anyhow::Context;
use serde_json::Value;
use serde_json::error::Category;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::Range;

/// A buffered source of input bytes.
pub type Reader = Box<dyn BufRead + Send>;

/// A line and its 1-based number.
pub type NumberedLine = (usize, Vec<u8>);
use std::path::PathBuf;

/// The whole text of `path`, or of stdin for `-`, with its name for messages (`<stdin>` or
/// the path).
pub fn read_text(path: &std::path::Path) -> anyhow::Result<(String, String)> {
    use anyhow::Context;
    use std::io::Read;
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .read_to_string(&mut text)
            .context("cannot read stdin (as UTF-8 text)")?;
        return Ok(("<stdin>".to_string(), text));
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {} (as UTF-8 text)", path.display()))?;
    Ok((path.display().to_string(), text))
}

/// Where records come from.
pub struct Input {
    /// `<stdin>` or the path, for messages.
    pub name: String,
    reader: Reader,
}

impl Input {
    /// Opens `path`, or stdin when it is absent or `-`.
    pub fn open(path: Option<&PathBuf>) -> anyhow::Result<Input> {
        match path {
            Some(path) if path.as_os_str() != "-" => {
                let file =
                    File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
                Ok(Input {
                    name: path.display().to_string(),
                    reader: Box::new(BufReader::with_capacity(1 << 20, file)),
                })
            }
            _ => Ok(Input {
                name: "<stdin>".to_string(),
                reader: Box::new(BufReader::with_capacity(1 << 20, io::stdin())),
            }),
        }
    }

    /// Reads up to the first non-blank line and decides the mode.
    pub fn start(mut self) -> anyhow::Result<Start> {
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut line)
                .with_context(|| format!("cannot read {}", self.name))?;
            if n == 0 {
                return Ok(Start::Empty { name: self.name });
            }
            number += 1;
            if !is_blank(&line) {
                break;
            }
        }
        if is_complete_value(&line) {
            Ok(Start::Lines(Lines {
                reader: self.reader,
                pending: Some((number, line)),
                number,
            }))
        } else {
            let mut data = line;
            self.reader
                .read_to_end(&mut data)
                .with_context(|| format!("cannot read {}", self.name))?;
            Ok(Start::Documents(Documents {
                data,
                offset: 0,
                line: number,
                column: 1,
                failed: false,
            }))
        }
    }
}

/// The input, once its mode is known.
pub enum Start {
    /// Nothing but blank lines.
    Empty {
        /// The input's name.
        name: String,
    },
    /// NDJSON.
    Lines(Lines),
    /// One or more JSON documents spanning several lines.
    Documents(Documents),
}

impl Start {
    /// Every record, parsed as a JSON value.
    pub fn values(self) -> anyhow::Result<Box<dyn Iterator<Item = Result<Record, RecordError>>>> {
        match self {
            Start::Empty { name } => anyhow::bail!(
                "{name}: no input: expected a JSON payload or NDJSON (one payload per line)"
            ),
            Start::Lines(lines) => Ok(Box::new(lines.map(|line| {
                let (number, bytes) = line?;
                serde_json::from_slice(trim_line_break(&bytes))
                    .map(|value| Record {
                        line: number,
                        value,
                    })
                    .map_err(|err| RecordError::json(number, &err))
            }))),
            Start::Documents(docs) => Ok(Box::new(docs)),
        }
    }
}

/// One JSON record and the line it starts on (1-based).
pub struct Record {
    /// 1-based line number.
    pub line: usize,
    /// The parsed JSON.
    pub value: Value,
}

/// A record that could not be read.
#[derive(Debug)]
pub struct RecordError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What went wrong.
    pub message: String,
    /// Whether reading can go on with the next record.
    pub recoverable: bool,
}

impl RecordError {
    /// A JSON syntax or type error on line `line` of NDJSON.
    pub fn json(line: usize, err: &serde_json::Error) -> RecordError {
        let message = match err.classify() {
            Category::Eof => format!("truncated JSON: {}", strip_location(err)),
            Category::Io => format!("read error: {}", strip_location(err)),
            _ => format!("invalid JSON: {}", strip_location(err)),
        };
        RecordError {
            line,
            column: (err.column() > 0).then_some(err.column()),
            message,
            recoverable: true,
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "line {}, column {}: {}", self.line, column, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

impl std::error::Error for RecordError {}

/// serde_json's message without its " at line L column C" suffix.
fn strip_location(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

/// Whether `line` holds a whole JSON value, or something that is not the start of a longer
/// one: the first line of NDJSON, rather than of a pretty-printed document.
pub fn is_complete_value(line: &[u8]) -> bool {
    match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
        Ok(_) => true,
        Err(err) => err.classify() != Category::Eof,
    }
}

/// The line without its `\n` or `\r\n`, so that a line cut short reads as truncated rather
/// than as holding a control character.
pub fn trim_line_break(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// NDJSON lines: `(line number, bytes)`, blank lines skipped.
pub struct Lines {
    reader: Reader,
    pending: Option<NumberedLine>,
    number: usize,
}

impl Lines {
    /// Reads the next non-blank line into `buf` (cleared first) and returns its number, or
    /// `None` at the end.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> Result<Option<usize>, RecordError> {
        buf.clear();
        Ok(self.next_append(buf)?.map(|(number, _)| number))
    }

    /// Appends the next non-blank line to `buf` and returns its number and its range in
    /// `buf`, or `None` at the end.
    pub fn next_append(
        &mut self,
        buf: &mut Vec<u8>,
    ) -> Result<Option<(usize, Range<usize>)>, RecordError> {
        if let Some((number, line)) = self.pending.take() {
            let start = buf.len();
            buf.extend_from_slice(&line);
            return Ok(Some((number, start..buf.len())));
        }
        loop {
            let start = buf.len();
            let n = self
                .reader
                .read_until(b'\n', buf)
                .map_err(|err| RecordError {
                    line: self.number + 1,
                    column: None,
                    message: format!("read error: {err}"),
                    recoverable: false,
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.number += 1;
            if is_blank(&buf[start..]) {
                buf.truncate(start);
            } else {
                return Ok(Some((self.number, start..buf.len())));
            }
        }
    }
}

impl Lines {
    /// The first line (already read) and its number, and the reader positioned after it.
    pub fn into_parts(self) -> (Option<NumberedLine>, Reader) {
        (self.pending, self.reader)
    }
}

impl Iterator for Lines {
    type Item = Result<(usize, Vec<u8>), RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        match self.next_into(&mut buf) {
            Ok(Some(number)) => Some(Ok((number, buf))),
            Ok(None) => None,
            Err(err) => Some(Err(err)),
        }
    }
}

/// JSON documents that may span several lines (pretty-printed payloads).
///
/// A document has to be held whole in memory to be parsed anyway, so this mode reads the
/// input at once; NDJSON ([`Lines`]) is the streaming mode.
pub struct Documents {
    data: Vec<u8>,
    offset: usize,
    /// Line and column (1-based) of `data[offset]`.
    line: usize,
    column: usize,
    failed: bool,
}

impl Documents {
    /// Advances over whitespace, keeping the line and column up to date.
    fn skip_whitespace(&mut self) {
        while let Some(&b) = self.data.get(self.offset) {
            if !b.is_ascii_whitespace() {
                break;
            }
            self.advance(1);
        }
    }

    fn advance(&mut self, n: usize) {
        let end = (self.offset + n).min(self.data.len());
        for &b in &self.data[self.offset..end] {
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.offset = end;
    }
}

impl Iterator for Documents {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        self.skip_whitespace();
        if self.offset >= self.data.len() {
            return None;
        }
        let (line, column) = (self.line, self.column);
        let mut stream =
            serde_json::Deserializer::from_slice(&self.data[self.offset..]).into_iter::<Value>();
        match stream.next()? {
            Ok(value) => {
                let consumed = stream.byte_offset();
                self.advance(consumed);
                Some(Ok(Record { line, value }))
            }
            Err(err) => {
                self.failed = true;
                let mut error = RecordError::json(line + err.line().saturating_sub(1), &err);
                if err.line() == 1 {
                    error.column = error.column.map(|c| c + column - 1);
                }
                error.recoverable = false;
                Some(Err(error))
            }
        }
    }
}
