//! End-to-end: `cirrus create feeder NAME` scaffolds a Rust crate that builds as created,
//! whose binary's payloads `cirrus process -` takes.
//!
//! The build is `cargo build --offline` in the workspace's target folder, with the
//! workspace's `Cargo.lock` copied in and its dev profile, so that it resolves the same
//! versions and reuses what the workspace built; what differs (dependencies built with other
//! features) is built the first time only.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn cirrus(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("cirrus").unwrap();
    cmd.current_dir(dir);
    cmd
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn a_created_rust_feeder_builds_and_feeds_cirrus_process() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    cirrus(root).args(["init", "."]).assert().success();
    let sdk = workspace().join("feeders");
    cirrus(root)
        .args(["create", "feeder", "scenes", "--sdk"])
        .arg(&sdk)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "created feeders/scenes/src/main.rs",
        ));
    let crate_dir = root.join("feeders/scenes");
    std::fs::copy(workspace().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let target = workspace().join("target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let build = std::process::Command::new(&cargo)
        .current_dir(&crate_dir)
        .args(["build", "--offline", "-q"])
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_PROFILE_DEV_DEBUG", "line-tables-only")
        .env("CARGO_INCREMENTAL", "0")
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let run = std::process::Command::new(target.join("debug/scenes"))
        .current_dir(&crate_dir)
        .arg("feeder.toml")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 3);
    assert!(
        stdout
            .lines()
            .next()
            .unwrap()
            .contains(r#""id":"scenes-0""#),
        "{stdout}"
    );
    cirrus(root)
        .args(["process", "-"])
        .write_stdin(stdout)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "enqueued scenes/workflow-example/scenes-2",
        ));

    // An existing feeder is not overwritten, and a wrong --sdk is named.
    cirrus(root)
        .args(["create", "feeder", "scenes"])
        .assert()
        .code(2);
    cirrus(root)
        .args(["create", "feeder", "x", "--sdk", "/nonexistent"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--sdk /nonexistent"));
}
