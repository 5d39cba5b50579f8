//! Every state machine the project ships passes asl-validator, the npm package that checks
//! Amazon States Language definitions (JSON schema, transitions, reachability, paths,
//! intrinsic functions):
//!
//! - the `definition` of each case in `tests/asl/corpus/`;
//! - each `tests/asl/valid/*.json`, a `{"definition": ...}` wrapper or a bare definition;
//! - each `*.json`, `*.yaml` or `*.yml` file that is a state machine (an object with
//!   `StartAt` and `States`) under `workflows/`, `docs/examples/` and the CLI's workflow
//!   fixtures (`cirrus-cli/tests/fixtures/workflow/`, at any depth), except the fixtures
//!   named `invalid*` or `malformed*`, which are broken on purpose.
//!
//! A definition whose Task resources are task names rather than ARNs (each mode resolves the
//! name; `cirrus deploy` writes ARNs) is checked with asl-validator's ARN check off, and
//! every other check on.
//!
//! All of them go through one `node` process running `tests/asl/validate.js`, with
//! asl-validator 4.0.0 from `.tools/asl-validator`, which `scripts/install.sh` installs.
//!
//! asl-validator 4.0.0 rejects `\\` (an escaped backslash) inside an intrinsic function's
//! string literal, which Step Functions accepts; no shipped definition may use one.

use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The asl-validator version `scripts/install.sh` installs.
const ASL_VALIDATOR_VERSION: &str = "4.0.0";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workspace_root() -> PathBuf {
    let crate_dir = crate_dir();
    crate_dir.parent().unwrap_or(&crate_dir).to_path_buf()
}

/// One definition to validate: where it comes from, and the definition or YAML text.
struct Entry {
    name: String,
    body: Body,
}

enum Body {
    Definition(Value),
    /// Parsed by the driver, with the YAML package asl-validator depends on.
    Yaml(String),
}

impl Entry {
    fn to_json(&self) -> Value {
        match &self.body {
            Body::Definition(definition) => json!({"name": self.name, "definition": definition}),
            Body::Yaml(text) => json!({"name": self.name, "yaml": text}),
        }
    }
}

/// The path of `path` relative to the workspace root, for messages.
fn shown(path: &Path) -> String {
    let root = workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))
}

/// The `*.json` files of `dir` (not below it), sorted; none when `dir` does not exist.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

/// Every file below `dir`, at any depth, sorted; none when `dir` does not exist.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(|entry| entry.ok().map(|entry| entry.path())) {
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn is_state_machine(value: &Value) -> bool {
    value.get("StartAt").is_some() && value.get("States").is_some()
}

/// Every definition to check, and the files that could not be read as one.
fn collect() -> (Vec<Entry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let asl = crate_dir().join("tests/asl");

    for path in json_files(&asl.join("corpus")) {
        match read_json(&path) {
            Ok(case) => match case.get("definition") {
                Some(definition) => entries.push(Entry {
                    name: shown(&path),
                    body: Body::Definition(definition.clone()),
                }),
                None => problems.push(format!("{}: no `definition` member", shown(&path))),
            },
            Err(e) => problems.push(format!("{}: {e}", shown(&path))),
        }
    }
    for path in json_files(&asl.join("valid")) {
        match read_json(&path) {
            Ok(mut value) => {
                let definition = match value.get_mut("definition") {
                    Some(definition) => definition.take(),
                    None => value,
                };
                entries.push(Entry {
                    name: shown(&path),
                    body: Body::Definition(definition),
                });
            }
            Err(e) => problems.push(format!("{}: {e}", shown(&path))),
        }
    }
    let root = workspace_root();
    let shipped = [
        "workflows",
        "docs/examples",
        "cirrus-cli/tests/fixtures/workflow",
    ]
    .into_iter()
    .flat_map(|dir| files_below(&root.join(dir)))
    .filter(|path| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        !(name.starts_with("invalid") || name.starts_with("malformed"))
    });
    for path in shipped {
        let extension = path.extension().and_then(|ext| ext.to_str()).unwrap_or("");
        match extension {
            "json" => match read_json(&path) {
                Ok(value) if is_state_machine(&value) => entries.push(Entry {
                    name: shown(&path),
                    body: Body::Definition(value),
                }),
                Ok(_) => {}
                Err(e) => problems.push(format!("{}: {e}", shown(&path))),
            },
            "yaml" | "yml" => match std::fs::read_to_string(&path) {
                Ok(text) if text.contains("StartAt") && text.contains("States") => {
                    entries.push(Entry {
                        name: shown(&path),
                        body: Body::Yaml(text),
                    })
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("{}: cannot read: {e}", shown(&path))),
            },
            _ => {}
        }
    }
    (entries, problems)
}

/// The asl-validator package folder.
///
/// # Panics
///
/// When `node` or the package (at the expected version) is missing: the message says to run
/// `scripts/install.sh`.
fn validator_dir() -> PathBuf {
    let hint = "run `bash scripts/install.sh` from the workspace root";
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|out| out.status.success()),
        "`node` is not installed or does not run; {hint}"
    );
    let dir = workspace_root().join(".tools/asl-validator/node_modules/asl-validator");
    let manifest = dir.join("package.json");
    let version = read_json(&manifest).unwrap_or_else(|e| {
        panic!(
            "asl-validator is not installed ({}: {e}); {hint}",
            shown(&manifest)
        )
    })["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        version,
        ASL_VALIDATOR_VERSION,
        "{} has asl-validator {version}, not {ASL_VALIDATOR_VERSION}; {hint}",
        shown(&dir)
    );
    dir
}

/// Runs the driver on `entries` and returns its verdicts, in the same order.
fn run_driver(validator: &Path, entries: &[Entry]) -> Vec<Value> {
    let driver = crate_dir().join("tests/asl/validate.js");
    let mut child = Command::new("node")
        .arg(&driver)
        .arg(validator)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node {}: {e}", shown(&driver)));
    let input = Value::Array(entries.iter().map(Entry::to_json).collect()).to_string();
    // Write from another thread: the driver may fill its stdout pipe before it has read all
    // of stdin.
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("node {} did not finish: {e}", shown(&driver)));
    let written = writer
        .join()
        .expect("the stdin writer thread does not panic");
    assert!(
        output.status.success(),
        "node {} failed ({}):\n{}",
        shown(&driver),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    written.unwrap_or_else(|e| panic!("cannot write to node {}: {e}", shown(&driver)));
    let verdicts: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "node {} wrote something that is not a JSON array: {e}",
            shown(&driver)
        )
    });
    assert_eq!(
        verdicts.len(),
        entries.len(),
        "{} answered for {} definitions out of {}",
        shown(&driver),
        verdicts.len(),
        entries.len()
    );
    verdicts
}

#[test]
fn every_shipped_state_machine_passes_asl_validator() {
    let validator = validator_dir();
    let (entries, mut problems) = collect();
    let corpus = entries
        .iter()
        .filter(|entry| entry.name.contains("tests/asl/corpus/"))
        .count();
    assert!(
        corpus > 0,
        "no corpus definitions found under {}",
        shown(&crate_dir().join("tests/asl/corpus"))
    );
    let verdicts = run_driver(&validator, &entries);
    let mut checked = 0;
    for (entry, verdict) in entries.iter().zip(&verdicts) {
        if verdict["skipped"] == json!(true) {
            continue;
        }
        checked += 1;
        if verdict["valid"] != json!(true) {
            let errors: Vec<&str> = verdict["errors"]
                .as_array()
                .map(|errors| errors.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            problems.push(format!("{}:\n    {}", entry.name, errors.join("\n    ")));
        }
    }
    eprintln!("asl-validator {ASL_VALIDATOR_VERSION} checked {checked} state machines");
    assert!(
        problems.is_empty(),
        "{} of the project's state machines are not valid ASL (asl-validator {ASL_VALIDATOR_VERSION}):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
