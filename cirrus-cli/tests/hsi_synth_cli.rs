//! End-to-end: `cirrus hsi synth` through the real binary, in temporary folders.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;

fn cirrus() -> Command {
    Command::cargo_bin("cirrus").expect("the cirrus binary is built")
}

fn synth(out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    cirrus()
        .args(["hsi", "synth", "--sensor", "aviris-classic", "--width", "9"])
        .args([
            "--height",
            "8",
            "--interleave",
            "bsq",
            "--seed",
            "5",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .assert()
}

#[test]
fn synth_writes_the_scene_and_prints_the_item_path() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().join("scene");
    let stdout = synth(
        &out,
        &[
            "--target",
            "methane",
            "--dtype",
            "int16",
            "--rotation",
            "-27",
            "--bbl",
        ],
    )
    .success()
    .get_output()
    .stdout
    .clone();
    let item_path = String::from_utf8(stdout).expect("utf-8").trim().to_string();
    assert_eq!(
        Path::new(&item_path),
        out.join("item.json").canonicalize().unwrap()
    );
    let item: Value = serde_json::from_str(&std::fs::read_to_string(&item_path).unwrap()).unwrap();
    let id = item["id"].as_str().expect("an id");
    assert!(id.starts_with('f') && id.contains("t01p00r"), "{id}");
    assert_eq!(item["collection"], "aviris-classic");
    let header = std::fs::read_to_string(out.join(format!("{id}.hdr"))).unwrap();
    assert!(header.contains("interleave = bsq") && header.contains("data type = 2"));
    assert!(header.contains("rotation=-27") && header.contains("bbl = {"));
    assert_eq!(
        std::fs::metadata(out.join(format!("{id}.img")))
            .unwrap()
            .len(),
        9 * 8 * 224 * 2
    );
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("truth.json")).unwrap()).unwrap();
    assert_eq!(truth["target"], "methane");
    assert!(!truth["pixels"].as_array().unwrap().is_empty());

    // The same seed again: the same bytes.
    let again = dir.path().join("again");
    synth(
        &again,
        &[
            "--target",
            "methane",
            "--dtype",
            "int16",
            "--rotation",
            "-27",
            "--bbl",
        ],
    )
    .success();
    assert_eq!(
        std::fs::read(out.join(format!("{id}.img"))).unwrap(),
        std::fs::read(again.join(format!("{id}.img"))).unwrap()
    );
}

#[test]
fn json_output_names_every_file() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let stdout = synth(dir.path(), &["--format", "json", "--no-bbl"])
        .success()
        .get_output()
        .stdout
        .clone();
    let printed: Value = serde_json::from_slice(&stdout).expect("one JSON object");
    for key in ["item", "image", "header", "truth"] {
        let path = printed[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} is printed"));
        assert!(Path::new(path).is_file(), "{key}: {path}");
    }
    let header = std::fs::read_to_string(printed["header"].as_str().unwrap()).unwrap();
    assert!(!header.contains("bbl"));
    assert!(header.contains("data type = 4") && !header.contains("data ignore value"));
}

#[test]
fn bad_options_are_usage_errors() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    cirrus()
        .args([
            "hsi",
            "synth",
            "--sensor",
            "aviris-ng",
            "--width",
            "0",
            "--height",
            "8",
        ])
        .args(["--interleave", "bil", "--seed", "1", "--out"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("width: 0 pixels"));
    cirrus()
        .args([
            "hsi", "synth", "--sensor", "landsat", "--width", "9", "--height", "8",
        ])
        .args(["--interleave", "bil", "--seed", "1", "--out"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--sensor"));
    synth(dir.path(), &["--bbl", "--no-bbl"])
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}
