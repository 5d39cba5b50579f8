//! Bad input never panics: `cirrus payload get-id`, `validate` and `next` driven with the
//! real binary on truncated, mistyped, huge, deeply nested, non-UTF-8 and empty input.
//!
//! Each case checks the documented exit code (0 ok; 1 a readable payload that is invalid or
//! has no computable ID; 2 unreadable input), that the message locates the problem (line
//! number and/or JSON path), and that nothing panicked.

use assert_cmd::Command;
use std::io::Write;
use std::path::Path;
use std::sync::LazyLock;
use tempfile::NamedTempFile;

/// A valid payload (with a next step) whose ID is `c/workflow-w/{id}`.
fn valid(id: &str) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{{"id":"{id}","collection":"c"}}],"process":[{{"workflow":"w"}},{{"workflow":"n"}}]}}"#
    )
}

/// A valid payload whose only item holds a 50 MB string.
static HUGE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let blob = "x".repeat(50_000_000);
    let mut text = format!(
        r#"{{"features":[{{"id":"big","collection":"c","properties":{{"blob":"{blob}"}}}}],"process":[{{"workflow":"w"}},{{"workflow":"n"}}]}}"#
    );
    text.push('\n');
    text.into_bytes()
});

/// What a run of the binary left behind.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The run, for assertion messages (long output is cut).
    fn describe(&self) -> String {
        let cut = |s: &str| s.chars().take(2000).collect::<String>();
        format!(
            "exit code {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }

    /// Checks the exit code, and that nothing panicked.
    fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "{}", self.describe());
        assert!(
            !self.stderr.contains("panicked"),
            "the binary panicked: {}",
            self.describe()
        );
        self
    }

    fn stderr_has(&self, needles: &[&str]) -> &Run {
        self.has("stderr", &self.stderr, needles)
    }

    fn stdout_has(&self, needles: &[&str]) -> &Run {
        self.has("stdout", &self.stdout, needles)
    }

    fn has(&self, stream: &str, text: &str, needles: &[&str]) -> &Run {
        for needle in needles {
            assert!(
                text.contains(needle),
                "{stream} lacks {needle:?}: {}",
                self.describe()
            );
        }
        self
    }

    fn stdout_is(&self, expected: &str) -> &Run {
        assert_eq!(self.stdout, expected, "{}", self.describe());
        self
    }
}

fn command() -> Command {
    match Command::cargo_bin("cirrus") {
        Ok(cmd) => cmd,
        Err(err) => panic!("the cirrus binary is not built: {err}"),
    }
}

fn finish(cmd: &mut Command) -> Run {
    let output = match cmd.output() {
        Ok(output) => output,
        Err(err) => panic!("cannot run cirrus: {err}"),
    };
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `cirrus payload SUBCOMMAND` with `input` on stdin.
fn stdin(subcommand: &str, input: impl Into<Vec<u8>>) -> Run {
    finish(
        command()
            .args(["payload", subcommand])
            .write_stdin(input.into()),
    )
}

/// `cirrus payload SUBCOMMAND PATH`.
fn file(subcommand: &str, path: &Path) -> Run {
    finish(command().args(["payload", subcommand]).arg(path))
}

/// A temporary file holding `bytes`.
fn temp_file(bytes: &[u8]) -> NamedTempFile {
    let mut file = match NamedTempFile::new() {
        Ok(file) => file,
        Err(err) => panic!("cannot create a temporary file: {err}"),
    };
    if let Err(err) = file.write_all(bytes).and_then(|()| file.flush()) {
        panic!("cannot write the temporary file: {err}");
    }
    file
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

// ---------------------------------------------------------------------------------------
// Truncated JSON
// ---------------------------------------------------------------------------------------

const TRUNCATED: &str = r#"{"features": [{"id": "a", "collection": "c"}], "process": [{"workflow""#;

#[test]
fn truncated_document_is_unreadable() {
    stdin("get-id", TRUNCATED)
        .expect_code(2)
        .stdout_is("")
        .stderr_has(&["<stdin>", "line 1", "truncated JSON"]);
    validate_and_next_unreadable(TRUNCATED.as_bytes(), "line 1", &["truncated JSON"]);
}

/// A line of NDJSON cut short between tokens.
const CUT_BETWEEN_TOKENS: &str = r#"{"features":[{"id":"c"}],"process":[{"workflow":"w"}"#;
/// A line of NDJSON cut short inside a string.
const CUT_IN_STRING: &str = r#"{"features":[{"id":"c"}],"process":[{"workfl"#;

/// NDJSON whose line 3 is `cut`, followed by a valid line 4.
/// `validate` and `next` both call the one record of `input` unreadable (exit 2): `validate`
/// on stdout, `next` on stderr after printing nothing, each at `location` and with `also`.
fn validate_and_next_unreadable(input: &[u8], location: &str, also: &[&str]) {
    let mut validate = vec!["<stdin>:1: unreadable", location];
    validate.extend_from_slice(also);
    stdin("validate", input)
        .expect_code(2)
        .stdout_has(&validate);
    let at = format!("<stdin>: {location}");
    let mut next = vec![at.as_str()];
    next.extend_from_slice(also);
    stdin("next", input)
        .expect_code(2)
        .stdout_is("")
        .stderr_has(&next);
}

fn ndjson_with_line_3(cut: &str) -> String {
    format!("{}\n{}\n{cut}\n{}\n", valid("a"), valid("b"), valid("d"))
}

#[test]
fn get_id_prints_ids_before_a_truncated_ndjson_line() {
    for cut in [CUT_BETWEEN_TOKENS, CUT_IN_STRING] {
        let input = ndjson_with_line_3(cut);
        stdin("get-id", input.as_str())
            .expect_code(2)
            .stdout_is("c/workflow-w/a\nc/workflow-w/b\n")
            .stderr_has(&["<stdin>: line 3, column", "EOF while parsing"]);
        // The same from a file: the message names the file.
        let tmp = temp_file(input.as_bytes());
        let name = path_text(tmp.path());
        file("get-id", tmp.path())
            .expect_code(2)
            .stdout_is("c/workflow-w/a\nc/workflow-w/b\n")
            .stderr_has(&[&format!("{name}: line 3, column"), "EOF while parsing"]);
    }
}

#[test]
fn validate_reports_a_truncated_ndjson_line_and_goes_on() {
    for cut in [CUT_BETWEEN_TOKENS, CUT_IN_STRING] {
        let run = stdin("validate", ndjson_with_line_3(cut));
        run.expect_code(2);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), 5, "{}", run.describe());
        assert_eq!(lines[0], "<stdin>:1: valid c/workflow-w/a");
        assert_eq!(lines[1], "<stdin>:2: valid c/workflow-w/b");
        assert_eq!(lines[2], "<stdin>:3: unreadable");
        assert!(
            lines[3].starts_with("  $: line 3") && lines[3].contains("JSON"),
            "{}",
            run.describe()
        );
        assert_eq!(lines[4], "<stdin>:4: valid c/workflow-w/d");
    }
    // Cut between tokens, the message says what happened.
    stdin("validate", ndjson_with_line_3(CUT_BETWEEN_TOKENS))
        .stdout_has(&["  $: line 3", "truncated JSON: EOF while parsing a list"]);
}

#[test]
fn next_stops_at_a_truncated_ndjson_line() {
    for cut in [CUT_BETWEEN_TOKENS, CUT_IN_STRING] {
        let run = stdin("next", ndjson_with_line_3(cut));
        run.expect_code(2).stderr_has(&["<stdin>: line 3", "JSON"]);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{}", run.describe());
        for (line, id) in lines.iter().zip(["a", "b"]) {
            let next: serde_json::Value = match serde_json::from_str(line) {
                Ok(value) => value,
                Err(err) => panic!("next printed invalid JSON ({err}): {line}"),
            };
            assert_eq!(next["features"][0]["id"], id);
            assert_eq!(next["process"], serde_json::json!([{"workflow": "n"}]));
        }
    }
    stdin("next", ndjson_with_line_3(CUT_BETWEEN_TOKENS)).stderr_has(&[
        "<stdin>: line 3",
        "truncated JSON: EOF while parsing a list",
    ]);
}

// ---------------------------------------------------------------------------------------
// Wrong types: readable JSON, invalid payload (exit 1), reported with the JSON path
// ---------------------------------------------------------------------------------------

/// `(payload, JSON path of the problem)`.
const WRONG_TYPES: [(&str, &str); 3] = [
    (
        r#"{"features":{"id":"x"},"process":[{"workflow":"w"}]}"#,
        "$.features",
    ),
    (
        r#"{"features":[{"id":7,"collection":"c"}],"process":[{"workflow":"w"}]}"#,
        "$.features[0].id",
    ),
    (r#"{"features":[{"id":"x"}],"process":"w"}"#, "$.process"),
];

#[test]
fn wrong_types_in_a_document_name_the_member() {
    for (payload, path) in WRONG_TYPES {
        stdin("get-id", payload)
            .expect_code(1)
            .stdout_is("")
            .stderr_has(&["<stdin>: line 1", path]);
        stdin("validate", payload)
            .expect_code(1)
            .stdout_has(&["<stdin>:1: invalid", &format!("  {path}: must be")]);
        stdin("next", payload)
            .expect_code(1)
            .stdout_is("")
            .stderr_has(&["<stdin>: line 1: invalid payload", path]);
    }
}

#[test]
fn wrong_types_in_ndjson_name_the_line_and_the_member() {
    for (payload, path) in WRONG_TYPES {
        let input = format!("{}\n{payload}\n{}\n", valid("a"), valid("b"));
        stdin("get-id", input.as_str())
            .expect_code(1)
            .stdout_is("c/workflow-w/a\n")
            .stderr_has(&["<stdin>: line 2", path]);
        stdin("validate", input.as_str())
            .expect_code(1)
            .stdout_has(&[
                "<stdin>:1: valid c/workflow-w/a\n<stdin>:2: invalid",
                &format!("  {path}: must be"),
                "<stdin>:3: valid c/workflow-w/b",
            ]);
        let run = stdin("next", input.as_str());
        run.expect_code(1)
            .stderr_has(&["<stdin>: line 2: invalid payload", path]);
        assert_eq!(run.stdout.lines().count(), 1, "{}", run.describe());
    }
}

// ---------------------------------------------------------------------------------------
// A 50 MB string inside an otherwise valid payload
// ---------------------------------------------------------------------------------------

#[test]
fn huge_string_get_id() {
    stdin("get-id", HUGE.as_slice())
        .expect_code(0)
        .stdout_is("c/workflow-w/big\n");
}

#[test]
fn huge_string_validate() {
    let tmp = temp_file(&HUGE);
    let name = path_text(tmp.path());
    let run = file("validate", tmp.path());
    run.expect_code(0).stdout_has(&[
        &format!("{name}:1: valid c/workflow-w/big\n"),
        "note: escaped size",
        "must travel as a",
    ]);
}

#[test]
fn huge_string_next() {
    let run = stdin("next", HUGE.as_slice());
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.describe());
    let next: serde_json::Value = match serde_json::from_str(lines[0]) {
        Ok(value) => value,
        Err(err) => panic!("next printed invalid JSON: {err}"),
    };
    assert_eq!(next["process"], serde_json::json!([{"workflow": "n"}]));
    let blob = next["features"][0]["properties"]["blob"].as_str();
    assert_eq!(blob.map(str::len), Some(50_000_000));
}

// ---------------------------------------------------------------------------------------
// Deep nesting
// ---------------------------------------------------------------------------------------

#[test]
fn deep_nesting_is_unreadable() {
    let brackets = "[".repeat(100_000);
    let inside = format!(
        r#"{{"features":[{{"id":"a","properties":{{"x":{}{}}}}}],"process":[{{"workflow":"w"}}]}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    for input in [brackets.as_str(), inside.as_str()] {
        stdin("get-id", input)
            .expect_code(2)
            .stdout_is("")
            .stderr_has(&["<stdin>: line 1", "recursion limit exceeded"]);
        validate_and_next_unreadable(input.as_bytes(), "line 1", &["recursion limit exceeded"]);
    }
}

// ---------------------------------------------------------------------------------------
// Bytes that are not UTF-8
// ---------------------------------------------------------------------------------------

#[test]
fn non_utf8_in_an_id_is_unreadable() {
    let input = b"{\"features\":[{\"id\":\"a\xff\"}],\"process\":[{\"workflow\":\"w\"}]}\n";
    stdin("get-id", input.as_slice())
        .expect_code(2)
        .stdout_is("")
        .stderr_has(&["<stdin>: line 1, column", "UTF-8"]);
    validate_and_next_unreadable(input, "line 1, column", &[]);
}

#[test]
fn non_utf8_in_a_string_the_id_does_not_use() {
    let input = b"{\"features\":[{\"id\":\"a\",\"note\":\"\xc3\x28\"}],\"process\":[{\"workflow\":\"w\"}]}\n";
    // get-id skips members the ID does not depend on without decoding them (documented in
    // `cirrus_core::payload::fast_id`).
    stdin("get-id", input.as_slice())
        .expect_code(0)
        .stdout_is("none/workflow-w/a\n");
    validate_and_next_unreadable(input, "line 1, column", &[]);
}

#[test]
fn non_utf8_outside_strings_is_unreadable() {
    for input in [
        b"{\"features\":[{\"id\":\"a\"}],\xff\"process\":[{\"workflow\":\"w\"}]}\n".as_slice(),
        b"{\"features\":[{\"id\":\"a\"}],\"process\":[{\"workflow\":\"w\"}]}\xfe\n".as_slice(),
    ] {
        stdin("get-id", input)
            .expect_code(2)
            .stdout_is("")
            .stderr_has(&["<stdin>: line 1, column", "invalid JSON"]);
        validate_and_next_unreadable(input, "line 1, column", &["invalid JSON"]);
    }
}

// ---------------------------------------------------------------------------------------
// No input
// ---------------------------------------------------------------------------------------

#[test]
fn empty_and_blank_input_is_an_error() {
    for input in ["", "\n", "\n  \n\t\n\r\n"] {
        for subcommand in ["get-id", "validate", "next"] {
            stdin(subcommand, input)
                .expect_code(2)
                .stdout_is("")
                .stderr_has(&["<stdin>: no input"]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Bugs found by the fuzz target, fixed
// ---------------------------------------------------------------------------------------

/// A duplicated key takes its last value (as in Python's `json` and in `validate`), but
/// get-id keeps the type error of the first occurrence.
#[test]
fn get_id_lets_the_last_duplicate_key_win() {
    let input = r#"{"features":1,"features":[{"id":"a"}],"process":[{"workflow":"w"}]}"#;
    stdin("validate", input)
        .expect_code(0)
        .stdout_is("<stdin>:1: valid none/workflow-w/a\n");
    stdin("get-id", input)
        .expect_code(0)
        .stdout_is("none/workflow-w/a\n");
}

/// serde_json (validate, next) rejects 128 levels of nesting; get-id's scanner accepts them.
#[test]
fn nesting_limit_is_the_same_for_every_command() {
    let input = format!(
        r#"{{"features":{}{},"process":[{{"workflow":"w"}}]}}"#,
        "[".repeat(127),
        "]".repeat(127)
    );
    stdin("validate", input.as_str())
        .expect_code(2)
        .stdout_has(&["recursion limit exceeded"]);
    stdin("get-id", input.as_str())
        .expect_code(2)
        .stderr_has(&["recursion limit exceeded"]);
}

/// An NDJSON line cut inside a string is parsed with its line break, which serde_json
/// reports as a control character in a string, without a column.
#[test]
fn truncation_inside_a_string_says_truncated() {
    stdin("validate", ndjson_with_line_3(CUT_IN_STRING))
        .expect_code(2)
        .stdout_has(&["  $: line 3, column 44: truncated JSON"]);
    stdin("next", ndjson_with_line_3(CUT_IN_STRING))
        .expect_code(2)
        .stderr_has(&["<stdin>: line 3, column 44: truncated JSON"]);
}
