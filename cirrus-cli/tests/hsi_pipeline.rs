//! End-to-end: the HSI pipeline through the real binary, as the README demo runs it, on
//! small synthetic scenes: `init --hsi` → `validate` → `hsi synth` → `process` the chain
//! `aviris-to-products` → `run --until-empty` → `state query`, the published items and
//! their COGs (opened by GDAL's `gdalinfo`); and `task run` of one task alone.
#![cfg(feature = "hsi")]

use assert_cmd::Command;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn cirrus(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("cirrus").expect("the cirrus binary is built");
    command.current_dir(dir);
    command
}

/// `cirrus hsi synth` of a 24×20 scene into `dir/out`; returns its item.
fn synth(dir: &Path, out: &str, args: &[&str]) -> Value {
    cirrus(dir)
        .args([
            "hsi", "synth", "--width", "24", "--height", "20", "--out", out,
        ])
        .args(args)
        .assert()
        .success();
    let text = fs::read_to_string(dir.join(out).join("item.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The local path of an item's asset `key` (a `file://` URL or a path).
fn asset_path(item: &Value, key: &str) -> PathBuf {
    let href = item["assets"][key]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("no asset {key}: {item:#}"));
    PathBuf::from(href.strip_prefix("file://").unwrap_or(href))
}

/// Cuts the scene's image to half its size: the header then lies about it.
fn truncate(item: &Value) {
    let image = asset_path(item, "data");
    let size = fs::metadata(&image).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(size / 2)
        .unwrap();
}

/// `gdalinfo -json` of `path`.
fn gdalinfo(path: &Path) -> Value {
    let output = std::process::Command::new("gdalinfo")
        .arg("-json")
        .arg(path)
        .output()
        .expect("gdalinfo (gdal-bin) is installed");
    assert!(
        output.status.success(),
        "gdalinfo {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A tiled, compressed GeoTIFF (the activated COG is band-interleaved, written by the GTiff
/// driver in the COG layout, which GDAL 3.6 does not mark as `LAYOUT=COG`).
fn assert_tiled(info: &Value) {
    assert_eq!(info["driverShortName"], "GTiff", "{info:#}");
    let block = &info["bands"][0]["block"];
    assert_eq!(block[0], block[1], "square tiles: {info:#}");
    assert!(block[0].as_u64().unwrap() >= 16, "{info:#}");
    assert_eq!(
        info["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"],
        "DEFLATE"
    );
}

fn records(root: &Path) -> BTreeMap<String, Value> {
    let output = cirrus(root)
        .args(["--format", "json", "state", "query"])
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|record| (record["payload_id"].as_str().unwrap().to_string(), record))
        .collect()
}

#[test]
fn the_chain_activates_two_scenes_into_products_and_a_truncated_scene_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    cirrus(dir.path())
        .args(["init", "--hsi", "p"])
        .assert()
        .success();
    let root = dir.path().join("p");
    cirrus(&root).arg("validate").assert().success();

    let classic = synth(
        &root,
        "scenes/classic",
        &[
            "--sensor",
            "aviris-classic",
            "--interleave",
            "bip",
            "--dtype",
            "int16",
            "--rotation",
            "12",
            "--target",
            "oil",
            "--seed",
            "1",
        ],
    );
    let ng = synth(
        &root,
        "scenes/ng",
        &[
            "--sensor",
            "aviris-ng",
            "--interleave",
            "bil",
            "--dtype",
            "float32",
            "--seed",
            "2",
        ],
    );
    let broken = synth(
        &root,
        "scenes/broken",
        &[
            "--sensor",
            "aviris-classic",
            "--interleave",
            "bsq",
            "--seed",
            "3",
        ],
    );
    truncate(&broken);
    let ids: Vec<&str> = [&classic, &ng, &broken]
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.iter().collect::<std::collections::BTreeSet<_>>().len(),
        3,
        "three distinct scenes: {ids:?}"
    );

    // One payload per scene, each carrying the chain of the project's example payload.
    let example: Value = serde_json::from_str(
        &fs::read_to_string(root.join("workflows/aviris-to-products/payload.json")).unwrap(),
    )
    .unwrap();
    let batch: String = [&classic, &ng, &broken]
        .iter()
        .map(|item| {
            let payload = json!({"type": "FeatureCollection", "features": [item],
                                 "process": example["process"]});
            format!("{payload}\n")
        })
        .collect();
    cirrus(&root)
        .args(["process", "-"])
        .write_stdin(batch)
        .assert()
        .success();
    let output = cirrus(&root)
        .args(["--format", "json", "run", "--until-empty", "--workers", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        output.status.code(),
        Some(1),
        "one payload is INVALID: {stderr}"
    );
    let counters: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(counters["succeeded"], 6, "{counters}");
    assert_eq!(counters["invalid"], 1, "{counters}");
    assert_eq!(counters["failed"], 0, "{counters}");

    let records = records(&root);
    for (collection, id) in [("aviris-classic", ids[0]), ("aviris-ng", ids[1])] {
        for key in [
            format!("{collection}/workflow-aviris-to-products/{id}"),
            format!("{collection}-cog/workflow-hsi-indices/{id}"),
            format!("{collection}-cog/workflow-hsi-detection/{id}"),
        ] {
            let record = records
                .get(&key)
                .unwrap_or_else(|| panic!("{key}: {records:#?}"));
            assert_eq!(record["state"], "SUCCEEDED", "{record:#}");
        }
    }
    let invalid = &records[&format!("aviris-classic/workflow-aviris-to-products/{}", ids[2])];
    assert_eq!(invalid["state"], "INVALID", "{invalid:#}");
    let error = invalid["last_error"].as_str().unwrap();
    assert!(error.starts_with("InvalidInput: "), "{error}");
    assert!(error.contains(".img"), "the error names the image: {error}");
    assert_eq!(
        records.len(),
        7,
        "the broken scene goes no further: {records:#?}"
    );

    // The published items and their files, below the data store.
    let data = root.join(".cirrus/data");
    let activated_path = data.join(format!("aviris-classic-cog/{0}/{0}.json", ids[0]));
    let activated: Value =
        serde_json::from_str(&fs::read_to_string(&activated_path).unwrap()).unwrap();
    assert_eq!(activated["collection"], "aviris-classic-cog");
    let cog = gdalinfo(&asset_path(&activated, "cog"));
    assert_tiled(&cog);
    assert_eq!(cog["bands"].as_array().unwrap().len(), 224);
    assert!(asset_path(&activated, "preview").is_file());

    let ndvi_path = data.join(format!(
        "aviris-ng-cog-index/{0}_ndvi/{0}_ndvi.json",
        ids[1]
    ));
    let ndvi: Value = serde_json::from_str(&fs::read_to_string(&ndvi_path).unwrap()).unwrap();
    let index = gdalinfo(&asset_path(&ndvi, "ndvi"));
    assert_eq!(
        index["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"], "COG",
        "{index:#}"
    );
    assert_eq!(index["bands"][0]["type"], "Float32");
    assert!(
        index["coordinateSystem"]["wkt"]
            .as_str()
            .unwrap()
            .contains("UTM")
    );

    let detect_path = data.join(format!(
        "aviris-classic-cog-detect/{0}_detect/{0}_detect.json",
        ids[0]
    ));
    let detect: Value = serde_json::from_str(&fs::read_to_string(&detect_path).unwrap()).unwrap();
    for method in ["mf", "ace", "rx"] {
        assert!(
            asset_path(&detect, method).is_file(),
            "{method}: {detect:#}"
        );
    }
    // The int16 scene is L1 radiance: activation says so, and detection builds its oil
    // target as radiance, not reflectance.
    assert_eq!(
        detect["properties"]["cirrus:detection"]["data"], "radiance",
        "{detect:#}"
    );
}

#[test]
fn task_run_activates_one_scene_locally_and_names_a_bad_scene() {
    let dir = tempfile::tempdir().unwrap();
    let scene = synth(
        dir.path(),
        "scene",
        &[
            "--sensor",
            "aviris-classic",
            "--interleave",
            "bip",
            "--dtype",
            "int16",
            "--rotation",
            "30",
            "--seed",
            "7",
        ],
    );
    let payload = json!({
        "type": "FeatureCollection", "features": [scene],
        "process": [{"workflow": "aviris-activate",
                     "upload_options": {"path_template": "/${collection}/${id}"}}]
    });
    fs::write(dir.path().join("payload.json"), payload.to_string()).unwrap();
    cirrus(dir.path())
        .args([
            "task",
            "run",
            "aviris-activate",
            "payload.json",
            "--output",
            "out.json",
        ])
        .args(["--local", "--workdir", "work"])
        .assert()
        .success();
    let out: Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("out.json")).unwrap()).unwrap();
    let item = &out["features"][0];
    assert_eq!(item["collection"], "aviris-classic-cog");
    let cog = asset_path(item, "cog");
    assert!(
        cog.starts_with(dir.path().join("work").canonicalize().unwrap())
            || cog.starts_with(dir.path().join("work")),
        "{}",
        cog.display()
    );
    assert_tiled(&gdalinfo(&cog));

    // Outside a project and without --local there is nowhere to write: the task says so.
    let output = cirrus(dir.path())
        .args(["task", "run", "aviris-activate", "payload.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("InvalidInput: ") && last.contains("--local"),
        "{stderr}"
    );

    // A truncated scene: exit 1 and the task's error as the last stderr line.
    truncate(&scene);
    let output = cirrus(dir.path())
        .args([
            "task",
            "run",
            "aviris-activate",
            "payload.json",
            "--local",
            "--workdir",
            "work2",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("InvalidInput: ") && last.contains(".img"),
        "{stderr}"
    );

    // An unknown task is a usage error listing the built-ins.
    let output = cirrus(dir.path())
        .args(["task", "run", "no-such-task", "payload.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("aviris-activate"));
}

#[test]
fn task_list_names_the_built_ins_and_a_project_task_replaces_one() {
    let dir = tempfile::tempdir().unwrap();
    cirrus(dir.path())
        .args(["init", "--hsi", "p"])
        .assert()
        .success();
    let root = dir.path().join("p");
    let list = |root: &Path| -> BTreeMap<String, String> {
        let output = cirrus(root)
            .args(["--format", "json", "task", "list"])
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .map(|t| {
                (
                    t["name"].as_str().unwrap().into(),
                    t["kind"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let tasks = list(&root);
    for name in [
        "aviris-activate",
        "hsi-index",
        "hsi-detect",
        "copy-assets",
        "preview",
    ] {
        assert_eq!(
            tasks.get(name).map(String::as_str),
            Some("built-in"),
            "{tasks:?}"
        );
    }
    let mut config = fs::read_to_string(root.join("cirrus.toml")).unwrap();
    config.push_str("\n[tasks.preview]\ncommand = [\"python3\", \"tasks/preview.py\"]\n");
    fs::write(root.join("cirrus.toml"), config).unwrap();
    fs::write(root.join("tasks/preview.py"), "import sys\n").unwrap();
    assert_eq!(list(&root)["preview"], "project");
    cirrus(&root).arg("validate").assert().success();
}
