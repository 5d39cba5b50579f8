//! End-to-end tests of `cirrus payload template`, driving the real binary.

use std::io::Write;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::NamedTempFile;

/// `cirrus payload template ARGS…` with `stdin` as standard input.
fn template(args: &[&str], stdin: impl Into<Vec<u8>>) -> assert_cmd::assert::Assert {
    let mut cmd = match Command::cargo_bin("cirrus") {
        Ok(cmd) => cmd,
        Err(err) => panic!("the cirrus binary is not built: {err}"),
    };
    cmd.args(["payload", "template"])
        .args(args)
        .write_stdin(stdin)
        .assert()
}

/// A temporary variable file holding `text`.
fn var_file(text: &str) -> NamedTempFile {
    let mut file = match NamedTempFile::new() {
        Ok(file) => file,
        Err(err) => panic!("cannot create a temporary file: {err}"),
    };
    if let Err(err) = file.write_all(text.as_bytes()).and_then(|()| file.flush()) {
        panic!("cannot write the temporary file: {err}");
    }
    file
}

fn path(file: &NamedTempFile) -> &str {
    match file.path().to_str() {
        Some(path) => path,
        None => panic!("temporary path is not UTF-8"),
    }
}

#[test]
fn renders_from_a_var_file_and_options() {
    let vars = var_file("# test variables\n\ncollection=sentinel-2\nbucket='s3://my bucket'\n");
    let stdin = concat!(
        "{\n",
        "  \"collection\": \"$collection\",\n",
        "  \"href\": \"${bucket}/${prefix?data}/$id.json\",\n",
        "  \"price\": \"$$3\"\n",
        "}\n",
    );
    template(&["-x", "id", "item-1", path(&vars)], stdin)
        .success()
        .stdout(concat!(
            "{\n",
            "  \"collection\": \"sentinel-2\",\n",
            "  \"href\": \"s3://my bucket/data/item-1.json\",\n",
            "  \"price\": \"$3\"\n",
            "}\n",
        ))
        .stderr("");
}

#[test]
fn output_has_no_newline_added() {
    template(&["--var", "a", "1"], "[$a]")
        .success()
        .stdout("[1]");
}

#[test]
fn option_overrides_var_files_wherever_it_stands() {
    let first = var_file("a=from-first\nb=from-first\nc=from-first\n");
    let second = var_file("b=from-second\nc=from-second\n");
    template(
        &["-x", "c", "from-x", path(&first), path(&second)],
        "$a $b $c",
    )
    .success()
    .stdout("from-first from-second from-x");
    template(
        &[
            path(&first),
            "-x",
            "c",
            "x1",
            path(&second),
            "-x",
            "c",
            "x2",
        ],
        "$c",
    )
    .success()
    .stdout("x2");
}

#[test]
fn option_value_may_start_with_a_hyphen() {
    template(&["-x", "n", "-5"], "${n}").success().stdout("-5");
}

#[test]
fn undefined_variable_fails_with_its_name() {
    template(&["-x", "other", "1"], "{\n  \"a\": \"${missing_var}\"\n}\n")
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("missing_var").and(predicate::str::contains("line 2")));
}

#[test]
fn silenced_undefined_variable_is_kept() {
    template(
        &["--silence-templating-errors"],
        "$missing ${also} ${d?default} $$ $",
    )
    .success()
    .stdout("$missing ${also} default $ $");
}

#[test]
fn invalid_placeholder_fails() {
    template(&[], "costs $5")
        .code(2)
        .stderr(predicate::str::contains("line 1, column 7"));
}

#[test]
fn empty_stdin_gives_empty_output() {
    template(&[], "").success().stdout("");
}

#[test]
fn non_json_output_is_allowed() {
    template(&["-x", "x", "{"], "not json: $x")
        .success()
        .stdout("not json: {");
}

#[test]
fn non_utf8_stdin_is_a_clear_error() {
    template(&[], b"ok \xff\xfe".to_vec())
        .code(2)
        .stderr(predicate::str::contains("not valid UTF-8"));
}

#[test]
fn missing_var_file_is_named() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(err) => panic!("cannot create a temporary directory: {err}"),
    };
    let missing = dir.path().join("absent.env");
    let missing = missing.to_string_lossy();
    template(&[&missing], "x")
        .code(2)
        .stderr(predicate::str::contains("absent.env"));
}

#[test]
fn malformed_var_file_names_file_and_line() {
    let vars = var_file("a=1\nb=two words\n");
    let expected = format!("{}:2:", path(&vars));
    template(&[path(&vars)], "$a")
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(expected));
}

#[test]
fn x_needs_two_values() {
    template(&["-x", "only"], "").failure();
}
