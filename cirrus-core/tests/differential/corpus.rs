//! The ASL corpus: one JSON file per case in `tests/asl/corpus/`, each a definition, an input
//! and the outcome the ASL specification gives for them.
//!
//! ```json
//! {"comment": "what it checks", "definition": {...}, "input": ...,
//!  "expected": {"status": "SUCCEEDED", "output": ...}
//!            | {"status": "FAILED", "error": "...", "cause": "..." (optional)}}
//! ```

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The folder of the corpus.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/asl/corpus")
}

/// `KNOWN_DIFFERENCES.md`: the cases where moto departs from the specification.
pub fn known_differences_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/asl/KNOWN_DIFFERENCES.md")
}

/// One corpus case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The file name without `.json`.
    pub name: String,
    /// What the case checks.
    pub comment: String,
    /// The ASL definition.
    pub definition: Value,
    /// The execution input.
    pub input: Value,
    /// The outcome the specification gives.
    pub expected: Expected,
}

/// The outcome a case expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// The execution succeeds with this output.
    Succeeded(Value),
    /// The execution fails with this error and, when given, this cause.
    Failed {
        /// The error name.
        error: String,
        /// The cause, when the case pins it.
        cause: Option<String>,
    },
}

impl Expected {
    /// The same JSON shape as a case file's `expected`.
    pub fn to_json(&self) -> Value {
        match self {
            Expected::Succeeded(output) => json!({"status": "SUCCEEDED", "output": output}),
            Expected::Failed { error, cause } => {
                let mut object = json!({"status": "FAILED", "error": error});
                if let Some(cause) = cause {
                    object["cause"] = json!(cause);
                }
                object
            }
        }
    }
}

/// How an execution ended, on either engine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`; `REJECTED` when the engine refused the
    /// definition; `RUNNING` when it did not finish in time.
    pub status: String,
    /// The output, when it is JSON text.
    pub output: Option<Value>,
    /// The output as reported, when it is not JSON text.
    pub raw_output: Option<String>,
    /// The error name.
    pub error: Option<String>,
    /// The cause.
    pub cause: Option<String>,
}

impl Outcome {
    /// An outcome with a status and an error message only (a rejected definition, a call that
    /// failed, an execution that did not finish).
    pub fn other(status: &str, error: impl Into<String>) -> Outcome {
        Outcome {
            status: status.to_string(),
            error: Some(error.into()),
            ..Outcome::default()
        }
    }

    /// A JSON object with the fields that are set, for messages.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("status".into(), json!(self.status));
        if let Some(output) = &self.output {
            object.insert("output".into(), output.clone());
        }
        if let Some(raw) = &self.raw_output {
            object.insert("rawOutput".into(), json!(raw));
        }
        if let Some(error) = &self.error {
            object.insert("error".into(), json!(error));
        }
        if let Some(cause) = &self.cause {
            object.insert("cause".into(), json!(cause));
        }
        Value::Object(object)
    }

    /// Whether this outcome is what `expected` says: same status, and the same output, or
    /// the same error (and the same cause when `expected` gives one).
    pub fn satisfies(&self, expected: &Expected) -> bool {
        match expected {
            Expected::Succeeded(output) => {
                self.status == "SUCCEEDED"
                    && self.raw_output.is_none()
                    && self.output.as_ref().is_some_and(|got| json_eq(got, output))
            }
            Expected::Failed { error, cause } => {
                self.status == "FAILED"
                    && self.error.as_deref() == Some(error.as_str())
                    && cause
                        .as_ref()
                        .is_none_or(|c| self.cause.as_deref() == Some(c))
            }
        }
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`) and object members in any
/// order.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| json_eq(x, y)))
        }
        _ => a == b,
    }
}

/// Every case, sorted by name.
///
/// # Panics
///
/// When the folder cannot be read or a file is not a well-formed case; the message names the
/// file and the problem.
pub fn load() -> Vec<Case> {
    let dir = corpus_dir();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus folder {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| parse_case(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn parse_case(path: &Path) -> Result<Case, String> {
    let name = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .ok_or("the file name is not UTF-8")?
        .to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut value: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let object = value
        .as_object_mut()
        .ok_or("the case is not a JSON object")?;
    let allowed = ["comment", "definition", "input", "expected"];
    if let Some(unknown) = object.keys().find(|key| !allowed.contains(&key.as_str())) {
        return Err(format!("unknown member `{unknown}`"));
    }
    let comment = match object.remove("comment") {
        Some(Value::String(comment)) if !comment.is_empty() => comment,
        _ => return Err("`comment` must be a non-empty string".into()),
    };
    let definition = match object.remove("definition") {
        Some(definition @ Value::Object(_)) => definition,
        _ => return Err("`definition` must be an object".into()),
    };
    let input = object.remove("input").ok_or("`input` is missing")?;
    let expected = parse_expected(object.remove("expected").ok_or("`expected` is missing")?)?;
    Ok(Case {
        name,
        comment,
        definition,
        input,
        expected,
    })
}

fn parse_expected(value: Value) -> Result<Expected, String> {
    let Value::Object(mut object) = value else {
        return Err("`expected` must be an object".into());
    };
    let status = object.remove("status");
    let text = |object: &mut Map<String, Value>, key: &str| match object.remove(key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(format!("`expected.{key}` must be a string")),
    };
    let expected = match status.as_ref().and_then(Value::as_str) {
        Some("SUCCEEDED") => Expected::Succeeded(
            object
                .remove("output")
                .ok_or("`expected.output` is missing")?,
        ),
        Some("FAILED") => Expected::Failed {
            error: text(&mut object, "error")?.ok_or("`expected.error` is missing")?,
            cause: text(&mut object, "cause")?,
        },
        _ => return Err("`expected.status` must be \"SUCCEEDED\" or \"FAILED\"".into()),
    };
    match object.keys().next() {
        Some(unknown) => Err(format!("unknown member `expected.{unknown}`")),
        None => Ok(expected),
    }
}

/// The case names of `KNOWN_DIFFERENCES.md`: its `## ` headings.
///
/// # Panics
///
/// When the file cannot be read, or names a case twice.
pub fn known_differences() -> BTreeSet<String> {
    let path = known_differences_file();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut names = BTreeSet::new();
    for heading in text.lines().filter_map(|line| line.strip_prefix("## ")) {
        let name = heading.trim().to_string();
        assert!(
            names.insert(name.clone()),
            "{}: case `{name}` has two sections",
            path.display()
        );
    }
    names
}

/// Whether running the case sleeps on purpose: a Wait state with `Seconds`/`SecondsPath`, or
/// a `Retry` that may retry (moto really waits `IntervalSeconds`). The benchmark leaves such
/// cases out.
pub fn sleeps(definition: &Value) -> bool {
    match definition {
        Value::Object(object) => {
            let waits = object.get("Type").and_then(Value::as_str) == Some("Wait")
                && (object.contains_key("Seconds") || object.contains_key("SecondsPath"));
            let retries = object
                .get("Retry")
                .and_then(Value::as_array)
                .is_some_and(|retriers| {
                    retriers
                        .iter()
                        .any(|r| r.get("MaxAttempts").and_then(Value::as_u64) != Some(0))
                });
            waits || retries || object.values().any(sleeps)
        }
        Value::Array(values) => values.iter().any(sleeps),
        _ => false,
    }
}
