//! `aviris-activate` end to end on synthetic scenes: COG validity and georeferencing of
//! rotated scenes, band metadata, gains and fill, bad input, skip-if-exists and `replace`.

#![cfg(feature = "gdal")]

mod common;

use common::python as python_program;

use cirrus_core::payload::{Feature, ProcessPayload};
use cirrus_core::store::Store;
use cirrus_core::task::{ErrorClass, Task, TaskContext, TaskError};
use cirrus_tasks::TaskEnv;
use cirrus_tasks::activate::Activate;
use cirrus_tasks::envi::{Header, Interleave};
use cirrus_tasks::io::Outputs;
use cirrus_tasks::sensor::Sensor;
use cirrus_tasks::synth::{self, SynthDtype, SynthOptions, Synthesized};
use gdal::Dataset;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const VALIDATE_COG: &str =
    "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py";

fn scene(dir: &Path, dtype: SynthDtype, interleave: Interleave, rotation: f64) -> Synthesized {
    synth::write(
        &SynthOptions {
            sensor: Sensor::AvirisClassic,
            width: 40,
            height: 30,
            interleave,
            dtype,
            rotation_deg: rotation,
            target: None,
            bbl: Some(true),
            seed: 7,
        },
        &dir.join("scene"),
    )
    .unwrap()
}

fn payload(item: &Value, tasks: Value, replace: bool) -> ProcessPayload {
    ProcessPayload::from_value(json!({
        "type": "FeatureCollection",
        "features": [item],
        "process": [{
            "workflow": "aviris-activate",
            "replace": replace,
            "upload_options": {"path_template": "/${collection}/${id}"},
            "tasks": {"aviris-activate": tasks}
        }]
    }))
    .unwrap()
    .value
}

async fn run(env: TaskEnv, payload: ProcessPayload) -> Result<Value, TaskError> {
    let context = TaskContext::new("test", || {});
    Activate::new(env)
        .run(payload, &context)
        .await
        .map(|out| out.to_value())
}

/// Activates `scene` into a local folder below `dir` (16-pixel tiles, so that a small
/// scene has overviews) and returns the output item.
async fn activate(dir: &Path, scene: &Synthesized) -> Value {
    let env = TaskEnv::without_store().local(dir.join("out"));
    let out = run(env, payload(&scene.item, json!({"tile_size": 16}), false))
        .await
        .unwrap();
    out["features"][0].clone()
}

fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new(python_program())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn a_rotated_scene_becomes_a_valid_north_up_cog_covering_its_corners() {
    let dir = tempfile::tempdir().unwrap();
    let scene = scene(dir.path(), SynthDtype::Float32, Interleave::Bil, 27.0);
    let item = activate(dir.path(), &scene).await;
    let cog = item["assets"]["cog"]["href"].as_str().unwrap().to_string();

    // GDAL's own validator.
    if Path::new(VALIDATE_COG).exists() {
        let out = Command::new(python_program())
            .args([VALIDATE_COG, &cog])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let output = Dataset::open(&cog).unwrap();
    let band = output.rasterband(1).unwrap();
    assert_eq!(band.block_size(), (16, 16));
    assert!(band.overview_count().unwrap() >= 1);
    assert_eq!(band.no_data_value(), Some(-9999.0));

    // The input's four corners, through GDAL's reading of the rotated map info.
    let input = Dataset::open(&scene.image).unwrap();
    let gt = input.geo_transform().unwrap();
    assert!(gt[2].abs() > 1e-6, "the input grid is rotated");
    let (w, h) = input.raster_size();
    let corners: Vec<(f64, f64)> = [
        (0.0, 0.0),
        (w as f64, 0.0),
        (w as f64, h as f64),
        (0.0, h as f64),
    ]
    .iter()
    .map(|(c, r)| (gt[0] + c * gt[1] + r * gt[2], gt[3] + c * gt[4] + r * gt[5]))
    .collect();
    let out_gt = output.geo_transform().unwrap();
    assert_eq!(out_gt[2], 0.0);
    assert_eq!(out_gt[4], 0.0);
    let pixel = gt[1].hypot(gt[4]);
    assert!((out_gt[1] - pixel).abs() < 1e-9 && (out_gt[5] + pixel).abs() < 1e-9);
    let (ow, oh) = output.raster_size();
    let bounds = [
        out_gt[0],
        out_gt[3] + oh as f64 * out_gt[5],
        out_gt[0] + ow as f64 * out_gt[1],
        out_gt[3],
    ];
    let envelope = corners
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, (x, y)| {
            [b[0].min(*x), b[1].min(*y), b[2].max(*x), b[3].max(*y)]
        });
    for (x, y) in &corners {
        assert!(
            *x >= bounds[0] - 1e-6 && *x <= bounds[2] + 1e-6,
            "corner x {x} in {bounds:?}"
        );
        assert!(
            *y >= bounds[1] - 1e-6 && *y <= bounds[3] + 1e-6,
            "corner y {y} in {bounds:?}"
        );
    }
    for i in 0..4 {
        assert!(
            (bounds[i] - envelope[i]).abs() <= pixel,
            "bound {i}: {bounds:?} vs {envelope:?}"
        );
    }
    assert_eq!(item["properties"]["proj:bbox"], json!(bounds));
    assert_eq!(item["properties"]["proj:shape"], json!([oh, ow]));
    let code = item["properties"]["proj:code"].as_str().unwrap();
    assert!(code.starts_with("EPSG:326"), "proj:code {code}");

    // The footprint in WGS84 holds the input's corners, transformed by GDAL.
    let lonlat = python(
        "import sys\nfrom osgeo import gdal, osr\nds = gdal.Open(sys.argv[1]); gt = ds.GetGeoTransform()\n\
         s = osr.SpatialReference(ds.GetProjection()); t = osr.SpatialReference(); t.ImportFromEPSG(4326)\n\
         for x in (s, t): x.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n\
         ct = osr.CoordinateTransformation(s, t)\n\
         for c, r in ((0, 0), (ds.RasterXSize, 0), (ds.RasterXSize, ds.RasterYSize), (0, ds.RasterYSize)):\n\
         \x20   p = ct.TransformPoint(gt[0] + c * gt[1] + r * gt[2], gt[3] + c * gt[4] + r * gt[5]); print(p[0], p[1])",
        &[scene.image.to_str().unwrap()],
    );
    let ring = item["geometry"]["coordinates"][0].as_array().unwrap();
    let bbox: Vec<f64> = item["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for line in lonlat.lines() {
        let p: Vec<f64> = line.split(' ').map(|v| v.parse().unwrap()).collect();
        assert!(
            ring.iter()
                .any(|q| (q[0].as_f64().unwrap() - p[0]).abs() < 1e-9
                    && (q[1].as_f64().unwrap() - p[1]).abs() < 1e-9),
            "corner {p:?} is a vertex of the footprint"
        );
        assert!(p[0] >= bbox[0] && p[0] <= bbox[2] && p[1] >= bbox[1] && p[1] <= bbox[3]);
    }
}

#[tokio::test]
async fn band_metadata_gains_and_fill_are_right() {
    let dir = tempfile::tempdir().unwrap();
    // int16 BIP with gains, unrotated so that pixels map one to one.
    let scene = scene(dir.path(), SynthDtype::Int16, Interleave::Bip, 0.0);
    let header = Header::read(&scene.header).unwrap();
    let item = activate(dir.path(), &scene).await;
    // Stored with gains: L1 radiance, which processors must know.
    assert_eq!(item["assets"]["cog"]["roles"], json!(["data", "radiance"]));
    assert_eq!(item["properties"]["processing:level"], "L1B");
    let eo = item["assets"]["cog"]["eo:bands"].as_array().unwrap();
    let centres = header.wavelengths_nm().unwrap();
    let widths = header.fwhm_nm().unwrap();
    assert_eq!(eo.len(), 224);
    assert!(
        centres.windows(2).any(|w| w[1] < w[0]),
        "the sensor has seams"
    );
    for (i, band) in eo.iter().enumerate() {
        let um = band["center_wavelength"].as_f64().unwrap();
        assert!(
            (um * 1000.0 - centres[i]).abs() < 0.006,
            "band {i}: {um} µm vs {} nm",
            centres[i]
        );
        let fwhm = band["full_width_half_max"].as_f64().unwrap();
        assert!((fwhm * 1000.0 - widths[i]).abs() < 0.006);
        let bad = header.bbl.as_ref().unwrap()[i] == 0.0;
        assert_eq!(band.get("hsi:bbl") == Some(&json!(0)), bad, "band {i} bbl");
    }
    let min = centres.iter().copied().fold(f64::MAX, f64::min);
    let max = centres.iter().copied().fold(f64::MIN, f64::max);
    assert!(
        (item["properties"]["hsi:wavelength_min"].as_f64().unwrap() * 1000.0 - min).abs() < 0.006
    );
    assert!(
        (item["properties"]["hsi:wavelength_max"].as_f64().unwrap() * 1000.0 - max).abs() < 0.006
    );

    // Every pixel of a few bands is DN / gain, read independently with numpy.
    let cog = item["assets"]["cog"]["href"].as_str().unwrap();
    let worst = python(
        "import sys, numpy as np\nfrom osgeo import gdal\n\
         src = gdal.Open(sys.argv[1]); out = gdal.Open(sys.argv[2]); gains = [float(g) for g in sys.argv[3].split(',')]\n\
         worst = 0.0\n\
         for b in (1, 50, 111, 224):\n\
         \x20   dn = src.GetRasterBand(b).ReadAsArray().astype('f8'); v = out.GetRasterBand(b).ReadAsArray().astype('f8')\n\
         \x20   worst = max(worst, float(np.max(np.abs(v - dn / gains[b - 1]) / np.maximum(1e-6, np.abs(dn / gains[b - 1])))))\n\
         print(worst)",
        &[
            scene.image.to_str().unwrap(),
            cog,
            &header
                .data_gain_values
                .as_ref()
                .unwrap()
                .iter()
                .map(f64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ],
    );
    assert!(
        worst.trim().parse::<f64>().unwrap() < 1e-6,
        "relative error {worst}"
    );
}

#[tokio::test]
async fn the_fill_becomes_nodata_and_is_left_out_of_the_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let scene = scene(dir.path(), SynthDtype::Float32, Interleave::Bsq, 0.0);
    let item = activate(dir.path(), &scene).await;
    let cog = item["assets"]["cog"]["href"].as_str().unwrap();
    let stats = &item["assets"]["cog"]["raster:bands"][30];
    // numpy on the input: the band's valid (≠ −9999) values.
    let expected = python(
        "import sys, numpy as np\nfrom osgeo import gdal\n\
         src = gdal.Open(sys.argv[1]); out = gdal.Open(sys.argv[2])\n\
         a = src.GetRasterBand(31).ReadAsArray().astype('f8'); b = out.GetRasterBand(31).ReadAsArray()\n\
         v = a[a != -9999]\n\
         print(v.size, a.size, v.min(), v.max(), v.mean(), v.std(), int((b == -9999).sum()), int((a == -9999).sum()))",
        &[scene.image.to_str().unwrap(), cog],
    );
    let e: Vec<f64> = expected
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(e[0] < e[1], "the synthetic scene has fill corners");
    assert_eq!(
        e[6], e[7],
        "every fill pixel is nodata in the COG, and only those"
    );
    assert_eq!(stats["nodata"], -9999.0);
    let s = &stats["statistics"];
    assert!((s["minimum"].as_f64().unwrap() - e[2]).abs() < 1e-6);
    assert!((s["maximum"].as_f64().unwrap() - e[3]).abs() < 1e-6);
    assert!((s["mean"].as_f64().unwrap() - e[4]).abs() < 1e-6);
    assert!((s["stddev"].as_f64().unwrap() - e[5]).abs() < 1e-6);
    assert!((s["valid_percent"].as_f64().unwrap() - 100.0 * e[0] / e[1]).abs() < 1e-9);
    let preview = item["assets"]["preview"]["href"].as_str().unwrap();
    let png = Dataset::open(preview).unwrap();
    assert_eq!(png.raster_count(), 4);
    assert_eq!(item["assets"]["preview"]["roles"], json!(["overview"]));
    assert_eq!(
        item["collection"],
        format!("{}-cog", scene.item["collection"].as_str().unwrap())
    );
    assert_eq!(item["id"], scene.item["id"]);
    assert_eq!(item["links"][0]["rel"], "derived_from");
}

/// Runs the task on `item` and returns its error.
async fn failure(dir: &Path, item: &Value) -> TaskError {
    let env = TaskEnv::without_store().local(dir.join("out"));
    run(env, payload(item, json!({}), false)).await.unwrap_err()
}

fn rewrite_header(path: &Path, edit: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, edit(&text)).unwrap();
}

#[tokio::test]
async fn bad_scenes_are_invalid_input_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let scene = scene(dir.path(), SynthDtype::Float32, Interleave::Bil, 10.0);
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();

    // A truncated image.
    let bytes = std::fs::read(&scene.image).unwrap();
    std::fs::write(&scene.image, &bytes[..bytes.len() - 100]).unwrap();
    let err = failure(dir.path(), &scene.item).await;
    assert_eq!(
        (err.class, err.error.as_str()),
        (ErrorClass::Invalid, "InvalidInput")
    );
    assert!(
        err.message.contains(&name(&scene.image)) && err.message.contains("truncated"),
        "{err}"
    );
    std::fs::write(&scene.image, &bytes).unwrap();

    // A header that claims more lines than the file holds.
    let original = std::fs::read_to_string(&scene.header).unwrap();
    rewrite_header(&scene.header, |t| t.replace("lines = 30", "lines = 31"));
    let err = failure(dir.path(), &scene.item).await;
    assert_eq!(err.class, ErrorClass::Invalid);
    assert!(
        err.message.contains(&name(&scene.image)) && err.message.contains("truncated"),
        "{err}"
    );
    std::fs::write(&scene.header, &original).unwrap();

    // No wavelength list.
    rewrite_header(&scene.header, |t| {
        let start = t.find("wavelength = {").unwrap();
        let end = start + t[start..].find('}').unwrap() + 1;
        format!("{}{}", &t[..start], &t[end..])
    });
    let err = failure(dir.path(), &scene.item).await;
    assert_eq!(err.class, ErrorClass::Invalid);
    assert!(err.message.contains(&name(&scene.header)), "{err}");
    assert!(err.message.contains("no wavelength list"), "{err}");
}

#[tokio::test]
async fn a_published_activation_is_skipped_unless_replace_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let scene = scene(dir.path(), SynthDtype::Float32, Interleave::Bil, 0.0);
    let data = dir.path().join("data");
    let env = TaskEnv::new(Store::open(data.to_str().unwrap()).unwrap());
    let first = run(env.clone(), payload(&scene.item, json!({}), false))
        .await
        .unwrap();
    let mut item = first["features"][0].clone();
    let cog = item["assets"]["cog"]["href"].as_str().unwrap().to_string();
    assert!(cog.starts_with("file://"), "{cog}");

    // Publish it, marked, as update-state would; then the scene is skipped.
    item["properties"]["marker"] = json!("published");
    let published = Feature::from_map(item.as_object().unwrap().clone()).unwrap();
    let definition = payload(&scene.item, json!({}), false);
    let Outputs::Store { store, item_key } =
        Outputs::for_item(&env, &definition, &published).unwrap()
    else {
        panic!("a data store gives store outputs")
    };
    store.put_json(&item_key, &item).await.unwrap();
    let cog_path = url::Url::parse(&cog).unwrap().to_file_path().unwrap();
    std::fs::remove_file(&cog_path).unwrap();
    let skipped = run(env.clone(), payload(&scene.item, json!({}), false))
        .await
        .unwrap();
    assert_eq!(skipped["features"][0]["properties"]["marker"], "published");
    assert!(!cog_path.exists(), "no GDAL work when skipped");

    // replace redoes it.
    let redone = run(env, payload(&scene.item, json!({}), true))
        .await
        .unwrap();
    assert!(redone["features"][0]["properties"].get("marker").is_none());
    assert!(cog_path.exists());
}

#[tokio::test]
async fn an_unknown_parameter_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let scene = scene(dir.path(), SynthDtype::Float32, Interleave::Bil, 0.0);
    let env = TaskEnv::without_store().local(dir.path().join("out"));
    let err = run(env, payload(&scene.item, json!({"tile": 16}), false))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
    assert!(err.message.contains("tile"), "{err}");
}
