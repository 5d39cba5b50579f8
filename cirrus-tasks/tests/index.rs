//! The `hsi-index` task against an independent numpy computation (`tests/py/index_reference.py`
//! reads the same ENVI file with its own header parser and numpy.memmap), on synthetic
//! scenes of every layout, and its bad-input errors.

#![cfg(feature = "gdal")]

mod common;

use common::python;

use cirrus_core::payload::ProcessPayload;
use cirrus_core::store::Store;
use cirrus_core::task::ErrorClass;
use cirrus_tasks::TaskEnv;
use cirrus_tasks::envi::{Header, Interleave};
use cirrus_tasks::index::HsiIndex;
use cirrus_tasks::sensor::Sensor;
use cirrus_tasks::synth::{self, SynthDtype, SynthOptions, Synthesized};
use gdal::Dataset;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const NAMED: [&str; 8] = [
    "ndvi",
    "ndwi",
    "mndwi",
    "ndre",
    "ndmi",
    "pri",
    "cai",
    "hydrocarbon",
];

/// The custom expression the reference computes as `custom`.
const CUSTOM: &str = "sqrt(abs(R1000 - R550)) / max(R450, R2200, 0.01)";

fn scene(
    dir: &Path,
    dtype: SynthDtype,
    interleave: Interleave,
    bbl: bool,
    height: usize,
) -> Synthesized {
    let options = SynthOptions {
        sensor: Sensor::AvirisClassic,
        width: 41,
        height,
        interleave,
        dtype,
        rotation_deg: 12.0,
        target: None,
        bbl: Some(bbl),
        seed: 7,
    };
    synth::write(&options, dir).unwrap()
}

fn payload(item: &Value, parameters: Value) -> ProcessPayload {
    ProcessPayload::from_value(json!({
        "type": "FeatureCollection",
        "features": [item],
        "process": [{
            "workflow": "hsi-indices",
            "upload_options": {"path_template": "/${collection}/${id}"},
            "tasks": {"hsi-index": parameters}
        }]
    }))
    .unwrap()
    .value
}

/// Runs the task writing to `out` (`--local`); returns the output items.
async fn run(
    item: &Value,
    parameters: Value,
    out: &Path,
) -> Result<Vec<Value>, cirrus_core::task::TaskError> {
    let env = TaskEnv::without_store()
        .local(out)
        .with_workdir(out.join("work"))
        .with_threads(2);
    run_in(env, payload(item, parameters)).await
}

async fn run_in(
    env: TaskEnv,
    payload: ProcessPayload,
) -> Result<Vec<Value>, cirrus_core::task::TaskError> {
    let output = HsiIndex::new(env).process(payload).await?;
    Ok(output
        .features
        .iter()
        .map(|f| f.as_value().clone())
        .collect())
}

/// The local file of `item`'s asset `key`.
fn asset_path(item: &Value, key: &str) -> PathBuf {
    let href = item["assets"][key]["href"].as_str().unwrap();
    PathBuf::from(href.strip_prefix("file://").unwrap_or(href))
}

/// The reference's report on `outputs` (product name → item).
fn reference(scene: &Synthesized, items: &[Value]) -> Value {
    let outputs: serde_json::Map<String, Value> = items
        .iter()
        .map(|item| {
            let (name, _) = item["assets"].as_object().unwrap().iter().next().unwrap();
            (name.clone(), json!(asset_path(item, name)))
        })
        .collect();
    let spec = scene.image.with_extension("spec.json");
    std::fs::write(
        &spec,
        json!({"image": scene.image, "header": scene.header, "outputs": outputs}).to_string(),
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/index_reference.py");
    let output = std::process::Command::new(python())
        .arg(script)
        .arg(&spec)
        .output()
        .expect("python3 runs the reference");
    assert!(
        output.status.success(),
        "the reference failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn read_array(path: &Path) -> Vec<f32> {
    let dataset = Dataset::open(path).unwrap();
    let (w, h) = dataset.raster_size();
    let band = dataset.rasterband(1).unwrap();
    band.read_as::<f32>((0, 0), (w, h), (w, h), None)
        .unwrap()
        .data()
        .to_vec()
}

fn all_products() -> Value {
    json!({"indices": NAMED, "expressions": {"custom": CUSTOM}})
}

/// Checks every product of `items` against the reference, within 1e-6 (relative above 1),
/// with the same nodata pixels, and the band each wavelength resolved to.
fn check_against_reference(scene: &Synthesized, items: &[Value], with_fill: bool) {
    let report = reference(scene, items);
    for item in items {
        let name = item["assets"].as_object().unwrap().keys().next().unwrap();
        let r = &report[name];
        let label = format!("{name} on {}: {r}", scene.image.display());
        assert!(r["max_error"].as_f64().unwrap() <= 1e-6, "{label}");
        assert_eq!(r["nodata_equal"], true, "{label}");
        assert_eq!(r["nodata_value"], -9999.0, "{label}");
        assert_eq!(r["driver_layout"], "COG", "{label}");
        assert_eq!(r["cog_errors"], json!([]), "{label}");
        assert_eq!(
            r["description"].as_str(),
            Some(item["id"].as_str().unwrap()),
            "{label}"
        );
        // The statistics GDAL reads from the COG are the item's.
        let stats = &item["assets"][name]["raster:bands"][0]["statistics"];
        for key in ["minimum", "maximum", "mean", "stddev"] {
            let in_cog: f64 = r["statistics"][key].as_str().unwrap().parse().unwrap();
            let in_item = stats[key].as_f64().unwrap();
            assert!(
                (in_cog - in_item).abs() <= 1e-9 * in_item.abs().max(1.0),
                "{key}: {label}"
            );
        }
        assert!(r["valid"].as_u64().unwrap() > 100, "{label}");
        if with_fill {
            assert!(r["nodata"].as_u64().unwrap() > 0, "fill corners: {label}");
        }
        for resolved in item["properties"]["hsi:resolved_bands"].as_array().unwrap() {
            let nm = resolved["wavelength"].as_f64().unwrap();
            assert_eq!(
                resolved["band"],
                r["bands"][format!("{nm}")],
                "{label}: band of R{nm}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_named_index_and_a_custom_expression_match_numpy_on_every_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (SynthDtype::Int16, Interleave::Bip, true),
        (SynthDtype::Int16, Interleave::Bil, false),
        (SynthDtype::Float32, Interleave::Bil, false),
        (SynthDtype::Float32, Interleave::Bsq, true),
    ];
    for (i, (dtype, interleave, bbl)) in cases.into_iter().enumerate() {
        let dir = tmp.path().join(format!("case{i}"));
        let scene = scene(&dir.join("scene"), dtype, interleave, bbl, 29);
        let items = run(&scene.item, all_products(), &dir.join("out"))
            .await
            .unwrap();
        assert_eq!(items.len(), NAMED.len() + 1);
        check_against_reference(&scene, &items, dtype == SynthDtype::Float32);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_output_item_carries_the_product_its_expression_and_provenance() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = scene(
        &tmp.path().join("scene"),
        SynthDtype::Float32,
        Interleave::Bil,
        true,
        20,
    );
    let parameters = json!({"indices": ["ndvi"], "expressions": {"custom": CUSTOM}});
    let items = run(&scene.item, parameters, &tmp.path().join("out"))
        .await
        .unwrap();
    let input_id = scene.item["id"].as_str().unwrap();
    let ndvi = &items[0];
    assert_eq!(ndvi["id"], format!("{input_id}_ndvi"));
    assert_eq!(ndvi["collection"], "aviris-classic-index");
    assert_eq!(
        ndvi["properties"]["datetime"],
        scene.item["properties"]["datetime"]
    );
    assert_eq!(ndvi["geometry"], scene.item["geometry"]);
    assert_eq!(
        ndvi["properties"]["processing:expression"],
        json!({"format": "cirrus-hsi", "expression": "(R860 - R670) / (R860 + R670)"})
    );
    assert!(ndvi["properties"].get("eo:bands").is_none());
    assert_eq!(
        ndvi["properties"]["cirrus:parameters"]["indices"],
        json!(["ndvi"])
    );
    assert!(ndvi["properties"]["processing:software"]["cirrus-tasks/hsi-index"].is_string());
    assert_eq!(ndvi["links"][0]["rel"], "derived_from");
    let asset = &ndvi["assets"]["ndvi"];
    assert_eq!(
        asset["type"],
        "image/tiff; application=geotiff; profile=cloud-optimized"
    );
    assert_eq!(asset["roles"], json!(["data"]));
    let band = &asset["raster:bands"][0];
    assert_eq!(band["data_type"], "float32");
    assert_eq!(band["nodata"], -9999.0);
    let stats = &band["statistics"];
    assert!(stats["minimum"].as_f64().unwrap() >= -1.0);
    assert!(stats["maximum"].as_f64().unwrap() <= 1.0);
    assert!(
        stats["valid_percent"].as_f64().unwrap() < 100.0,
        "fill corners"
    );
    assert_eq!(
        items[1]["properties"]["processing:expression"]["expression"],
        CUSTOM
    );
    // The output keeps the input's (rotated) grid.
    let input = Dataset::open(&scene.image).unwrap();
    let output = Dataset::open(asset_path(ndvi, "ndvi")).unwrap();
    assert_eq!(output.raster_size(), input.raster_size());
    assert_eq!(
        output.geo_transform().unwrap(),
        input.geo_transform().unwrap()
    );
    assert!(output.geo_transform().unwrap()[2] != 0.0, "rotated");
    assert_eq!(
        output.spatial_ref().unwrap().auth_code().unwrap(),
        input.spatial_ref().unwrap().auth_code().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wavelengths_resolve_to_the_nearest_centre_across_the_classic_seams() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = scene(
        &tmp.path().join("scene"),
        SynthDtype::Float32,
        Interleave::Bip,
        false,
        16,
    );
    let centres = Header::read(&scene.header)
        .unwrap()
        .wavelengths_nm()
        .unwrap();
    let parameters = json!({"expressions": {"seam": "R662", "seam2": "-R1258 * 2"}});
    let items = run(&scene.item, parameters, &tmp.path().join("out"))
        .await
        .unwrap();
    for (item, nm) in items.iter().zip([662.0, 1258.0]) {
        let band = item["properties"]["hsi:resolved_bands"][0]["band"]
            .as_u64()
            .unwrap() as usize
            - 1;
        let nearest = (0..centres.len())
            .min_by(|&a, &b| (centres[a] - nm).abs().total_cmp(&(centres[b] - nm).abs()))
            .unwrap();
        assert_eq!(band, nearest, "R{nm}");
        // By position (the first centre at or above the wavelength) it would be another
        // band, on the other side of the seam.
        let positional = centres.iter().position(|c| *c >= nm).unwrap();
        assert_ne!(band, positional, "R{nm} is in a seam overlap");
        assert!(
            (band - 2..band + 2).any(|j| centres[j + 1] < centres[j]),
            "R{nm}: the centres go backwards next to band {band}"
        );
    }
    check_against_reference(&scene, &items, true);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_block_size_and_thread_count_do_not_change_the_result() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = scene(
        &tmp.path().join("scene"),
        SynthDtype::Int16,
        Interleave::Bsq,
        true,
        50,
    );
    let mut arrays = Vec::new();
    for (i, (block_lines, threads)) in [(7, 2), (1000, 2), (1, 1), (7, 1)].into_iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        let env = TaskEnv::without_store()
            .local(&out)
            .with_workdir(out.join("work"))
            .with_threads(threads);
        let parameters = json!({"indices": ["ndvi", "cai"], "block_lines": block_lines});
        let items = run_in(env, payload(&scene.item, parameters)).await.unwrap();
        arrays.push((
            read_array(&asset_path(&items[0], "ndvi")),
            read_array(&asset_path(&items[1], "cai")),
        ));
    }
    assert_eq!(arrays[0].0.len(), 41 * 50);
    for other in &arrays[1..] {
        assert!(
            arrays[0] == *other,
            "identical bits whatever the blocks and threads"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gdal_reader_and_a_cog_with_eo_bands_give_the_same_products() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, (dtype, interleave)) in [
        (SynthDtype::Int16, Interleave::Bip),
        (SynthDtype::Float32, Interleave::Bil),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = tmp.path().join(format!("case{i}"));
        let scene = scene(&dir.join("scene"), dtype, interleave, true, 23);
        let parameters =
            |reader: &str| json!({"indices": ["ndvi", "hydrocarbon"], "reader": reader});
        let mapped = run(&scene.item, parameters("mmap"), &dir.join("mmap"))
            .await
            .unwrap();
        let through_gdal = run(&scene.item, parameters("gdal"), &dir.join("gdal"))
            .await
            .unwrap();
        for (a, b) in mapped.iter().zip(&through_gdal) {
            let key = a["assets"].as_object().unwrap().keys().next().unwrap();
            assert!(
                read_array(&asset_path(a, key)) == read_array(&asset_path(b, key)),
                "{key}"
            );
        }
        if dtype == SynthDtype::Float32 {
            // The activator's kind of input: a GeoTIFF asset `cog` with eo:bands.
            let source = Dataset::open(&scene.image).unwrap();
            let tiff = dir.join("scene.tif");
            let driver = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
            source
                .create_copy(&driver, &tiff, &Default::default())
                .unwrap();
            let mut item = scene.item.clone();
            item["assets"]["cog"] = json!({
                "href": tiff,
                "type": "image/tiff; application=geotiff",
                "eo:bands": scene.item["assets"]["data"]["eo:bands"].clone(),
            });
            let from_tiff = run(&item, parameters("auto"), &dir.join("tiff"))
                .await
                .unwrap();
            check_against_reference(&scene, &from_tiff, true);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_raw_scene_without_eo_bands_takes_its_bands_from_the_header() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = scene(
        &tmp.path().join("scene"),
        SynthDtype::Float32,
        Interleave::Bil,
        true,
        17,
    );
    let mut item = scene.item.clone();
    item["assets"]["data"]
        .as_object_mut()
        .unwrap()
        .remove("eo:bands");
    let items = run(
        &item,
        json!({"indices": ["ndmi", "pri"]}),
        &tmp.path().join("out"),
    )
    .await
    .unwrap();
    check_against_reference(&scene, &items, true);

    // Without a wavelength list either, the bands are unknown: INVALID, naming the header.
    let text = std::fs::read_to_string(&scene.header).unwrap();
    let start = text.find("wavelength = {").unwrap();
    let end = start + text[start..].find('}').unwrap() + 1;
    std::fs::write(&scene.header, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let err = run(
        &item,
        json!({"indices": ["ndvi"]}),
        &tmp.path().join("out2"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid, "{err}");
    assert!(err.message.contains("no `wavelength` list"), "{err}");
    assert!(err.message.contains(".hdr"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_invalid_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = scene(
        &tmp.path().join("scene"),
        SynthDtype::Float32,
        Interleave::Bil,
        false,
        9,
    );
    let out = tmp.path().join("out");
    let cases = [
        (
            json!({"expressions": {"uv": "R300 / R860"}}),
            vec!["\"uv\"", "R300", "outside the sensor's range"],
        ),
        (
            json!({"expressions": {"swir": "R2600 - R2400"}}),
            vec!["\"swir\"", "R2600", "outside"],
        ),
        (
            json!({"expressions": {"bad": "(R860 - R670"}}),
            vec!["expressions.bad", "column 13", "never closed"],
        ),
        (
            json!({"expressions": {"bad": "R860 ** 2"}}),
            vec!["column 7", "unexpected '*'"],
        ),
        (
            json!({"indices": ["evi"]}),
            vec!["unknown index \"evi\"", "ndvi"],
        ),
        (
            json!({"indices": ["ndvi"], "colour": "red"}),
            vec!["unknown field `colour`"],
        ),
        (json!({}), vec!["nothing to compute"]),
        (
            json!({"indices": ["ndvi"], "asset": "nope"}),
            vec!["no asset \"nope\""],
        ),
    ];
    for (parameters, needles) in cases {
        let err = run(&scene.item, parameters.clone(), &out)
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Invalid, "{parameters}: {err}");
        assert_eq!(err.error, "InvalidInput");
        for needle in needles {
            assert!(err.message.contains(needle), "{parameters}: {err}");
        }
    }
    // A truncated image.
    let bytes = std::fs::read(&scene.image).unwrap();
    std::fs::write(&scene.image, &bytes[..bytes.len() - 100]).unwrap();
    let err = run(&scene.item, json!({"indices": ["ndvi"]}), &out)
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid, "{err}");
    assert!(err.message.contains("truncated"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_output_item_is_skipped_unless_replace() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = scene(
        &tmp.path().join("scene"),
        SynthDtype::Float32,
        Interleave::Bil,
        false,
        9,
    );
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let env = || {
        TaskEnv::new(Store::open(data.to_str().unwrap()).unwrap())
            .with_workdir(tmp.path().join("work"))
    };
    let parameters = json!({"indices": ["ndvi", "ndmi"]});
    let first = run_in(env(), payload(&scene.item, parameters.clone()))
        .await
        .unwrap();
    let id = first[0]["id"].as_str().unwrap();
    let href = first[0]["assets"]["ndvi"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        href.contains(&format!("aviris-classic-index/{id}/{id}.tif")),
        "{href}"
    );
    // Publish the ndvi item where the path template says, as the pipeline would.
    let folder = data.join("aviris-classic-index").join(id);
    let mut published = first[0].clone();
    published["properties"]["marker"] = json!("published");
    std::fs::write(folder.join(format!("{id}.json")), published.to_string()).unwrap();

    let second = run_in(env(), payload(&scene.item, parameters.clone()))
        .await
        .unwrap();
    assert_eq!(second.len(), 2);
    assert_eq!(
        second[0]["properties"]["marker"], "published",
        "skipped: the published item"
    );
    assert!(second[1]["properties"].get("marker").is_none());

    let mut replacing = payload(&scene.item, parameters);
    replacing.process_definition_mut().replace = Some(true);
    let third = run_in(env(), replacing).await.unwrap();
    assert!(third[0]["properties"].get("marker").is_none(), "recomputed");
}
