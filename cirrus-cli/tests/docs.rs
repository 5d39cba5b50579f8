//! The examples in `docs/payload.md` work: `json payload id=…` blocks are valid payloads with
//! that ID, `json invalid paths=a;b` blocks fail with exactly those paths, and each
//! `$ cirrus …` line of a `console` block, run from `docs/`, prints what follows it.

mod common;

use assert_cmd::Command;
use cirrus_core::Error;
use cirrus_core::payload::ProcessPayload;
use common::markdown::{blocks, docs_dir};
use std::collections::BTreeSet;
use std::fs;

#[test]
fn payload_blocks_are_valid_with_the_stated_id() {
    let mut checked = 0;
    for block in blocks("payload.md") {
        let Some(id) = block.info.strip_prefix("json payload id=") else {
            continue;
        };
        let payload = ProcessPayload::from_json(&block.body)
            .unwrap_or_else(|e| panic!("payload.md:{}: {e}", block.line));
        assert_eq!(payload.id().unwrap(), id, "payload.md:{}", block.line);
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} payload blocks found");
}

#[test]
fn invalid_blocks_fail_with_the_stated_paths() {
    let mut checked = 0;
    for block in blocks("payload.md") {
        let Some(paths) = block.info.strip_prefix("json invalid paths=") else {
            continue;
        };
        let want: BTreeSet<&str> = paths.split(';').collect();
        let problems = match ProcessPayload::from_json(&block.body) {
            Err(Error::InvalidPayload(problems)) => problems,
            other => panic!("payload.md:{}: expected invalid, got {other:?}", block.line),
        };
        let got: BTreeSet<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(got, want, "payload.md:{}", block.line);
        checked += 1;
    }
    assert!(checked >= 1, "no invalid blocks found");
}

#[test]
fn console_blocks_print_what_they_show() {
    let mut checked = 0;
    for block in blocks("payload.md") {
        if block.info != "console" {
            continue;
        }
        for (command, expected) in block.commands() {
            let (command, stdin) = match command.split_once(" < ") {
                Some((command, file)) => (command.to_string(), Some(file.trim().to_string())),
                None => (command, None),
            };
            let mut words = command.split_whitespace();
            assert_eq!(words.next(), Some("cirrus"), "payload.md:{}", block.line);
            let mut cmd = Command::cargo_bin("cirrus").expect("cirrus binary built");
            cmd.current_dir(docs_dir()).args(words);
            if let Some(file) = stdin {
                cmd.write_stdin(fs::read(docs_dir().join(file)).expect("stdin file"));
            }
            let output = cmd.output().expect("cirrus runs");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                expected,
                "payload.md:{}: `{command}` printed something else (stderr: {})",
                block.line,
                String::from_utf8_lossy(&output.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} console commands found");
}
