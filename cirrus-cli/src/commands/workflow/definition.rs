//! Reading a workflow definition: JSON or YAML, chosen by the file's extension (`.json`,
//! `.yaml`, `.yml`), else by its first character (`{` or `[` is JSON, anything else YAML).
//!
//! A definition that cannot be read (missing file, I/O error) is an error of the command
//! (exit 2). One that is read but does not parse, or is not valid ASL, gives problems, each
//! with its JSON path (`$` when the document itself does not parse).

use anyhow::Context;
use cirrus_core::Error;
use cirrus_core::payload::Problem;
use cirrus_core::workflow::StateMachine;
use serde_json::Value;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;

/// The two document formats a definition may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
}

/// Reads and validates the definition at `path` (`-` for stdin). The outer error is an
/// unreadable definition; the inner one lists the problems of a readable one.
pub fn load(path: &Path) -> anyhow::Result<Result<StateMachine, Vec<Problem>>> {
    let document = match read(path)? {
        Ok(document) => document,
        Err(problem) => return Ok(Err(vec![problem])),
    };
    match StateMachine::from_value(&document) {
        Ok(machine) => Ok(Ok(machine)),
        Err(Error::InvalidWorkflow(problems)) => Ok(Err(problems)),
        Err(other) => Ok(Err(vec![Problem::new("$", other.to_string())])),
    }
}

/// Prints the problems of an invalid definition on stderr, one per line, for the commands
/// that cannot go on without a valid one: exit 2.
pub fn report_invalid(problems: &[Problem]) -> anyhow::Result<ExitCode> {
    let mut err = io::stderr().lock();
    for problem in problems {
        writeln!(err, "{problem}")?;
    }
    Ok(ExitCode::from(2))
}

/// Reads the document at `path` (`-` for stdin) as JSON or YAML.
pub fn read(path: &Path) -> anyhow::Result<Result<Value, Problem>> {
    let bytes = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("cannot read the definition from stdin")?;
        bytes
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    Ok(parse(path, &bytes))
}

/// Parses a definition's bytes.
fn parse(path: &Path, bytes: &[u8]) -> Result<Value, Problem> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Problem::new("$", format!("the definition is not UTF-8 text: {e}")))?;
    match format_of(path, text) {
        Format::Json => serde_json::from_str(text)
            .map_err(|e| Problem::new("$", format!("not valid JSON: {e}"))),
        Format::Yaml => serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| {
            Problem::new("$", format!("not valid YAML: {}", one_line(&e.to_string())))
        }),
    }
}

/// YAML 1.2: only `true` and `false` are booleans, so `Next: no` names the state `no`; errors
/// are one line (no source snippet).
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
    }
}

/// The format of a definition: by extension, else by its first non-blank character.
fn format_of(path: &Path, text: &str) -> Format {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => Format::Json,
        Some("yaml" | "yml") => Format::Yaml,
        _ => match text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .chars()
            .next()
        {
            Some('{' | '[') => Format::Json,
            _ => Format::Yaml,
        },
    }
}

/// A message on one line (a problem is printed as one line).
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_by_extension_then_first_character() {
        assert_eq!(format_of(Path::new("a.json"), "StartAt: x"), Format::Json);
        assert_eq!(format_of(Path::new("a.YML"), "{}"), Format::Yaml);
        assert_eq!(
            format_of(Path::new("a.asl"), "  \n{\"StartAt\": 1}"),
            Format::Json
        );
        assert_eq!(format_of(Path::new("-"), "StartAt: x"), Format::Yaml);
    }

    #[test]
    fn yaml_becomes_json() {
        let yaml = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Result: {n: 1.5, ok: true, none: null}\n    End: true\n";
        let value = parse(Path::new("w.yaml"), yaml.as_bytes()).unwrap();
        assert_eq!(
            value,
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"n": 1.5, "ok": true, "none": null}, "End": true}}})
        );
    }

    #[test]
    fn yaml_1_2_booleans() {
        let value = parse(Path::new("w.yml"), b"Next: no\nEnd: true\nOn: yes\n").unwrap();
        assert_eq!(value, json!({"Next": "no", "End": true, "On": "yes"}));
    }

    #[test]
    fn unparsable_documents_are_problems_at_the_root() {
        let json = parse(Path::new("w.json"), b"{\"StartAt\": ").unwrap_err();
        assert_eq!(json.path, "$");
        assert!(
            json.message.starts_with("not valid JSON: EOF"),
            "{}",
            json.message
        );
        let yaml = parse(Path::new("w.yaml"), b"StartAt: [unclosed\n").unwrap_err();
        assert_eq!(yaml.path, "$");
        assert!(
            yaml.message.starts_with("not valid YAML: "),
            "{}",
            yaml.message
        );
        assert!(!yaml.message.contains('\n'));
        let binary = parse(Path::new("w"), b"\xff\xfe").unwrap_err();
        assert!(
            binary
                .message
                .starts_with("the definition is not UTF-8 text")
        );
    }
}
