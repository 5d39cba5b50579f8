//! `hsi-detect` end to end on synthetic scenes: scores against an independent numpy
//! implementation, detection of planted targets (ROC AUC from `truth.json`), the output item,
//! and bad input.

mod common;

use cirrus_core::payload::ProcessPayload;
use cirrus_core::store::Store;
use cirrus_core::task::{ErrorClass, Task, TaskContext, TaskError};
use cirrus_tasks::TaskEnv;
use cirrus_tasks::detect::HsiDetect;
use cirrus_tasks::envi::{Header, Interleave};
use cirrus_tasks::library::{self, Material};
use cirrus_tasks::sensor::Sensor;
use cirrus_tasks::synth::{self, SynthDtype, SynthOptions, Synthesized, Target};
use common::python;
use gdal::Dataset;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A synthetic scene with a bad band list, BIL, no rotation, no target.
fn options(sensor: Sensor, size: (usize, usize), dtype: SynthDtype) -> SynthOptions {
    SynthOptions {
        sensor,
        width: size.0,
        height: size.1,
        interleave: Interleave::Bil,
        dtype,
        rotation_deg: 0.0,
        target: None,
        bbl: Some(true),
        seed: 7,
    }
}

fn write(opts: &SynthOptions, dir: &Path) -> Synthesized {
    synth::write(opts, dir).expect("the synthesiser writes the scene")
}

/// Runs `hsi-detect` with `params` on the synthesised scene, writing to `dir/out`.
async fn run(scene: &Synthesized, params: Value, dir: &Path) -> Result<Value, TaskError> {
    let env = TaskEnv::without_store()
        .local(dir.join("out"))
        .with_workdir(dir.join("work"))
        .with_threads(2);
    run_in(env, scene, params, false).await
}

/// Runs `hsi-detect` in `env`, with `replace` as the process definition says.
async fn run_in(
    env: TaskEnv,
    scene: &Synthesized,
    params: Value,
    replace: bool,
) -> Result<Value, TaskError> {
    let payload = ProcessPayload::from_value(json!({
        "type": "FeatureCollection",
        "features": [scene.item],
        "process": [{
            "workflow": "detect",
            "replace": replace,
            "upload_options": {"path_template": "/${collection}/${id}"},
            "tasks": {"hsi-detect": params}
        }]
    }))
    .expect("a valid test payload")
    .value;
    HsiDetect::new(env)
        .run(payload, &TaskContext::new("test", || {}))
        .await
        .map(|out| out.to_value())
}

/// The href of asset `key` of the only output item.
fn cog(out: &Value, key: &str) -> PathBuf {
    PathBuf::from(
        out["features"][0]["assets"][key]["href"]
            .as_str()
            .unwrap_or_else(|| panic!("no asset {key} in {out:#}")),
    )
}

/// A map's values (NaN = no data), line after line.
fn read_map(path: &Path) -> (usize, Vec<f32>) {
    let dataset = Dataset::open(path).unwrap();
    let (w, h) = dataset.raster_size();
    let band = dataset.rasterband(1).unwrap();
    let buffer = band.read_as::<f32>((0, 0), (w, h), (w, h), None).unwrap();
    (w, buffer.into_shape_and_vec().1)
}

/// The planted pixels of `truth.json`, as (line, sample).
fn truth(scene: &Synthesized) -> Vec<(usize, usize)> {
    let truth: Value = serde_json::from_slice(&std::fs::read(&scene.truth_path).unwrap()).unwrap();
    truth["pixels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_u64().unwrap() as usize,
                p[1].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

/// The ROC AUC of `scores` (higher = target) against the planted pixels: the Mann–Whitney
/// statistic over the pixels with a score, ties counted half.
fn auc(width: usize, scores: &[f32], positives: &[(usize, usize)]) -> f64 {
    let mut is_positive = vec![false; scores.len()];
    for (line, sample) in positives {
        is_positive[line * width + sample] = true;
    }
    let mut ranked: Vec<(f32, bool)> = scores
        .iter()
        .zip(&is_positive)
        .filter(|(s, _)| s.is_finite())
        .map(|(s, p)| (*s, *p))
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < ranked.len() {
        let j = (i..ranked.len())
            .find(|j| ranked[*j].0 != ranked[i].0)
            .unwrap_or(ranked.len());
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += mean_rank * ranked[i..j].iter().filter(|r| r.1).count() as f64;
        i = j;
    }
    let n_pos = ranked.iter().filter(|r| r.1).count() as f64;
    let n_neg = ranked.len() as f64 - n_pos;
    assert!(
        n_pos > 0.0 && n_neg > 0.0,
        "{n_pos} positives, {n_neg} negatives"
    );
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

/// Runs the numpy reference on `spec` and returns its report.
fn reference(spec: Value, dir: &Path) -> Value {
    let spec_path = dir.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/detect_reference.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(&spec_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the numpy reference failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The library oil reflectance as a custom target (points every 5 nm), so that numpy
/// interpolates the same points without the Rust library.
fn oil_points() -> Value {
    let nm: Vec<f64> = (0..=460).map(|i| 350.0 + 5.0 * i as f64).collect();
    let values: Vec<f64> = nm
        .iter()
        .map(|x| library::reflectance(Material::Oil, *x))
        .collect();
    json!({"wavelengths_nm": nm, "values": values})
}

/// `k` of the methane window at the good band centres of `header` (what the task uses).
fn methane_k(header: &Path, window: [f64; 2]) -> Vec<f64> {
    let header = Header::read(header).unwrap();
    let centres = header.wavelengths_nm().unwrap();
    centres
        .iter()
        .enumerate()
        .filter(|(i, _)| header.bbl.as_ref().is_none_or(|bbl| bbl[*i] != 0.0))
        .filter(|(_, c)| (window[0]..=window[1]).contains(*c))
        .map(|(_, c)| library::methane_absorption(*c))
        .collect()
}

/// Every method against numpy on one scene; returns the output payload.
async fn compare_with_numpy(opts: &SynthOptions, dir: &Path) -> Value {
    let scene = write(opts, &dir.join("scene"));
    let target = oil_points();
    let params = json!({
        "methods": ["mf", "ace", "rx", "ch4-mf"],
        "target": target,
        "regularization": 1e-3,
        "block_lines": 5,
    });
    let out = run(&scene, params, dir).await.unwrap();
    let methods = ["mf", "ace", "rx", "ch4-mf"];
    let outputs: serde_json::Map<String, Value> = methods
        .iter()
        .map(|m| (m.to_string(), json!(cog(&out, m))))
        .collect();
    let report = reference(
        json!({
            "image": scene.image, "header": scene.header, "regularization": 1e-3,
            "target": target, "outputs": outputs,
            "methane": {"window_nm": [2100.0, 2450.0], "k": methane_k(&scene.header, [2100.0, 2450.0])},
        }),
        dir,
    );
    eprintln!(
        "numpy comparison ({:?}, {:?}): {report}",
        opts.sensor, opts.dtype
    );
    for method in methods {
        let r = &report[method];
        assert!(r["valid"].as_u64().unwrap() > 0, "{method}: {r}");
        assert_eq!(
            r["nodata_equal"], true,
            "{method}: the no-data pixels differ: {r}"
        );
        assert_eq!(r["nodata"], "nan", "{method}: {r}");
        // MF and ACE are O(1): absolute 1e-4. RX (~p) and CH4 (ppm·m, ~10³): relative 1e-4,
        // i.e. |a − b| ≤ 1e-4·max(1, |b|).
        let (key, limit) = match method {
            "mf" | "ace" => ("max_abs_diff", 1e-4),
            _ => ("max_rel_diff", 1e-4),
        };
        let diff = r[key].as_f64().unwrap();
        assert!(diff <= limit, "{method}: {key} {diff} > {limit}: {r}");
    }
    out
}

#[tokio::test]
async fn scores_match_numpy_on_float32_reflectance_with_fill_and_bbl() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(Sensor::AvirisClassic, (40, 72), SynthDtype::Float32);
    opts.target = Some(Target::Oil);
    let out = compare_with_numpy(&opts, dir.path()).await;
    let item = &out["features"][0];
    let source_id = item["links"][0]["title"].as_str().unwrap();
    assert_eq!(item["id"], format!("{source_id}_detect"));
    let detection = &item["properties"]["cirrus:detection"];
    assert_eq!(detection["target"], "custom");
    assert_eq!(detection["regularization"], 1e-3);
    assert_eq!(detection["stats_scope"], "column+scene");
    assert_eq!(detection["scores"]["ch4-mf"]["stats_scope"], "column");
    assert!(detection["condition_number"].as_f64().unwrap() > 1.0);
    let excluded = detection["bands"]["excluded"].as_array().unwrap().len();
    assert!(
        excluded > 0,
        "the synthetic bbl marks bad bands: {detection}"
    );
    assert_eq!(
        detection["bands"]["used"].as_u64().unwrap() as usize + excluded,
        224
    );
    let mf = &detection["scores"]["mf"];
    assert!(mf["min"].as_f64().unwrap() < mf["mean"].as_f64().unwrap());
    assert_eq!(item["links"][0]["rel"], "derived_from");
    assert!(item["properties"]["processing:software"]["cirrus-tasks/hsi-detect"].is_string());
    assert_eq!(item["assets"]["mf"]["raster:bands"][0]["nodata"], "nan");
    assert_eq!(item["assets"]["ch4-mf"]["raster:bands"][0]["unit"], "ppm·m");
}

#[tokio::test]
async fn scores_match_numpy_on_int16_radiance_with_gains() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(Sensor::AvirisClassic, (24, 90), SynthDtype::Int16);
    opts.interleave = Interleave::Bip;
    opts.target = Some(Target::Methane);
    compare_with_numpy(&opts, dir.path()).await;
}

#[tokio::test]
async fn the_matched_filter_finds_planted_oil() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(Sensor::AvirisClassic, (96, 128), SynthDtype::Float32);
    opts.target = Some(Target::Oil);
    opts.interleave = Interleave::Bsq;
    let scene = write(&opts, &dir.path().join("scene"));
    let out = run(
        &scene,
        json!({"methods": ["mf", "ace"], "target": "oil"}),
        dir.path(),
    )
    .await
    .unwrap();
    let planted = truth(&scene);
    let (width, mf) = read_map(&cog(&out, "mf"));
    let (_, ace) = read_map(&cog(&out, "ace"));
    let (mf_auc, ace_auc) = (auc(width, &mf, &planted), auc(width, &ace, &planted));
    eprintln!(
        "oil: {} planted pixels, MF AUC {mf_auc:.4}, ACE AUC {ace_auc:.4}",
        planted.len()
    );
    assert!(mf_auc > 0.95, "MF AUC {mf_auc}");
    assert!(ace_auc > 0.95, "ACE AUC {ace_auc}");
}

#[tokio::test]
async fn the_methane_matched_filter_finds_the_plume() {
    let dir = tempfile::tempdir().unwrap();
    // AVIRIS-Classic L1: int16 radiance with gains 300/600/1200.
    let mut opts = options(Sensor::AvirisClassic, (64, 160), SynthDtype::Int16);
    opts.target = Some(Target::Methane);
    let scene = write(&opts, &dir.path().join("scene"));
    let out = run(
        &scene,
        json!({"methods": ["ch4-mf", "mf"], "target": "methane"}),
        dir.path(),
    )
    .await
    .unwrap();
    let planted = truth(&scene);
    let (width, ch4) = read_map(&cog(&out, "ch4-mf"));
    let (_, mf) = read_map(&cog(&out, "mf"));
    let (ch4_auc, mf_auc) = (auc(width, &ch4, &planted), auc(width, &mf, &planted));
    eprintln!(
        "methane: {} planted pixels, CH4-MF AUC {ch4_auc:.4}, scene MF AUC {mf_auc:.4}",
        planted.len()
    );
    assert!(ch4_auc > 0.95, "CH4-MF AUC {ch4_auc}");
    let detection = &out["features"][0]["properties"]["cirrus:detection"];
    assert_eq!(detection["data"], "radiance");
    assert_eq!(detection["methane"]["columns"], 64);
}

#[tokio::test]
async fn bad_input_gives_clear_invalid_errors() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(Sensor::AvirisClassic, (20, 30), SynthDtype::Float32);
    let scene = write(&opts, &dir.path().join("scene"));
    let invalid = |result: Result<Value, TaskError>, needles: &[&str]| {
        let err = result.expect_err("the task must fail");
        assert_eq!(err.class, ErrorClass::Invalid, "{err:?}");
        for needle in needles {
            assert!(
                err.message.contains(needle),
                "{needle:?} not in {:?}",
                err.message
            );
        }
    };
    invalid(
        run(&scene, json!({"methods": ["mf", "sam"]}), dir.path()).await,
        &["sam", "mf"],
    );
    invalid(
        run(&scene, json!({"treshold": 3}), dir.path()).await,
        &["treshold"],
    );
    let narrow = json!({"target": {"wavelengths_nm": [400, 2000], "values": [0.1, 0.2]}});
    invalid(
        run(&scene, narrow, dir.path()).await,
        &["target", "400–2000 nm", "good band"],
    );
    invalid(
        run(&scene, json!({"asset": "cog"}), dir.path()).await,
        &["asset", "cog"],
    );
    // 7 × 7 = 49 pixels (fewer where the corners are filled) for ~200 good bands: the
    // covariance cannot be estimated, even though shrinkage would make it invertible.
    let tiny = write(
        &options(Sensor::AvirisClassic, (7, 7), SynthDtype::Int16),
        &dir.path().join("tiny"),
    );
    invalid(
        run(&tiny, json!({}), dir.path()).await,
        &["49 valid pixels", "more valid pixels than bands"],
    );
    // The methane window of a column needs more lines than window bands.
    let short = write(
        &options(Sensor::AvirisNg, (300, 20), SynthDtype::Int16),
        &dir.path().join("short"),
    );
    invalid(
        run(&short, json!({"methods": ["ch4-mf"]}), dir.path()).await,
        &["ch4-mf", "no column"],
    );
}

#[tokio::test]
async fn an_existing_output_item_is_kept_unless_replace_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let scene = write(
        &options(Sensor::AvirisClassic, (16, 40), SynthDtype::Float32),
        &dir.path().join("scene"),
    );
    let data = dir.path().join("data");
    let env = || TaskEnv::new(Store::open(data.to_str().unwrap()).unwrap()).with_threads(1);
    let id = format!("{}_detect", scene.item["id"].as_str().unwrap());
    let collection = format!("{}-detect", scene.item["collection"].as_str().unwrap());
    let folder = data.join(&collection).join(&id);
    std::fs::create_dir_all(&folder).unwrap();
    let existing = json!({
        "type": "Feature", "stac_version": "1.0.0", "id": id, "collection": collection,
        "geometry": null, "properties": {"datetime": "2024-05-01T00:00:00Z", "marker": "old"},
        "links": [], "assets": {}
    });
    std::fs::write(folder.join(format!("{id}.json")), existing.to_string()).unwrap();
    let params = json!({"methods": ["rx"]});
    let kept = run_in(env(), &scene, params.clone(), false).await.unwrap();
    assert_eq!(kept["features"][0]["properties"]["marker"], "old");
    assert!(!folder.join(format!("{id}_rx.tif")).exists());
    let replaced = run_in(env(), &scene, params, true).await.unwrap();
    let item = &replaced["features"][0];
    assert!(item["properties"].get("marker").is_none());
    let href = item["assets"]["rx"]["href"].as_str().unwrap();
    assert!(
        href.ends_with(&format!("{collection}/{id}/{id}_rx.tif")),
        "{href}"
    );
    assert!(folder.join(format!("{id}_rx.tif")).is_file());
}

#[tokio::test]
async fn a_geotiff_asset_read_through_gdal_scores_like_the_envi_scene() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(Sensor::AvirisClassic, (20, 40), SynthDtype::Float32);
    opts.target = Some(Target::Oil);
    let mut scene = write(&opts, &dir.path().join("scene"));
    let params = json!({"methods": ["mf", "rx"]});
    let envi = run(&scene, params.clone(), &dir.path().join("envi"))
        .await
        .unwrap();
    let tiff = dir.path().join("scene/scene.tif");
    let driver = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    Dataset::open(&scene.image)
        .unwrap()
        .create_copy(&driver, &tiff, &gdal::raster::RasterCreationOptions::new())
        .unwrap();
    let mut asset = scene.item["assets"]["data"].clone();
    asset["href"] = json!(tiff);
    scene.item["assets"]["cog"] = asset;
    let gdal_out = run(&scene, params, &dir.path().join("gdal")).await.unwrap();
    assert_eq!(
        gdal_out["features"][0]["properties"]["cirrus:detection"]["asset"],
        "cog"
    );
    for method in ["mf", "rx"] {
        let (_, a) = read_map(&cog(&envi, method));
        let (_, b) = read_map(&cog(&gdal_out, method));
        assert_eq!(a.len(), b.len());
        let same = a
            .iter()
            .zip(&b)
            .all(|(x, y)| (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-6 * x.abs().max(1.0));
        assert!(same, "{method}: the GDAL and ENVI readers disagree");
    }
}
