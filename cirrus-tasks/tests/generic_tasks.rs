//! The generic tasks end to end: `copy-assets` to a data store and to a local folder, and
//! `preview` on GeoTIFFs made here with GDAL.

use cirrus_core::payload::ProcessPayload;
use cirrus_core::store::Store;
use cirrus_core::task::{ErrorClass, Task, TaskContext, TaskError};
use cirrus_tasks::TaskEnv;
use cirrus_tasks::generic::copy_assets::CopyAssets;
use serde_json::{Value, json};
use std::path::Path;

fn context() -> TaskContext {
    TaskContext::new("test-execution", || {})
}

fn payload(value: Value) -> ProcessPayload {
    ProcessPayload::from_value(value)
        .expect("a valid test payload")
        .value
}

/// A payload of one item `scene` (collection `demo`) whose assets are the given hrefs.
fn item_payload(assets: Value, tasks: Value) -> ProcessPayload {
    payload(json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature", "stac_version": "1.0.0", "id": "scene", "collection": "demo",
            "geometry": null, "properties": {"datetime": "2024-05-01T00:00:00Z"},
            "assets": assets, "links": []
        }],
        "process": [{
            "workflow": "copy",
            "upload_options": {"path_template": "/${collection}/${id}"},
            "tasks": tasks
        }]
    }))
}

async fn run(task: &dyn Task, payload: ProcessPayload) -> Result<Value, TaskError> {
    task.run(payload, &context())
        .await
        .map(|out| out.to_value())
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn copy_assets_copies_to_the_path_template_and_rewrites_the_hrefs() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("in/scene.bin");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    write(&source, &big);
    write(&dir.path().join("in/scene.hdr"), b"ENVI\n");
    let data = dir.path().join("data");
    let env = TaskEnv::new(Store::open(data.to_str().unwrap()).unwrap());
    let input = item_payload(
        json!({
            "data": {"href": source.display().to_string(), "roles": ["data"], "title": "kept"},
            "header": {"href": format!("file://{}", dir.path().join("in/scene.hdr").display())},
            "junk": {"href": "/nowhere/junk.bin"}
        }),
        json!({"copy-assets": {"drop_assets": ["junk"]}}),
    );
    let out = run(&CopyAssets::new(env), input).await.unwrap();
    let item = &out["features"][0];
    let copied = data.join("demo/scene/scene.bin");
    assert_eq!(std::fs::read(&copied).unwrap(), big);
    assert_eq!(
        item["assets"]["data"]["href"],
        format!("file://{}", copied.display())
    );
    assert_eq!(item["assets"]["data"]["title"], "kept");
    assert!(
        item["assets"]["header"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/demo/scene/scene.hdr")
    );
    assert!(item["assets"].get("junk").is_none());
    assert!(source.is_file(), "the source is copied, not moved");
    assert!(item["properties"]["processing:software"]["cirrus-tasks/copy-assets"].is_string());
}

#[tokio::test]
async fn copy_assets_local_copies_into_a_folder_per_item_and_keeps_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("scene.bin");
    write(&source, b"pixels");
    let out_dir = dir.path().join("out");
    let env = TaskEnv::without_store().local(&out_dir);
    let input = item_payload(
        json!({"data": {"href": source.display().to_string()}, "other": {"href": "/nowhere/x"}}),
        json!({"copy-assets": {"assets": ["data"]}}),
    );
    let out = run(&CopyAssets::new(env), input).await.unwrap();
    let copied = out_dir.join("scene/scene.bin");
    assert_eq!(std::fs::read(&copied).unwrap(), b"pixels");
    assert!(source.is_file());
    assert_eq!(
        out["features"][0]["assets"]["data"]["href"],
        copied.display().to_string()
    );
    assert_eq!(out["features"][0]["assets"]["other"]["href"], "/nowhere/x");
}

#[tokio::test]
async fn copy_assets_bad_input_is_invalid_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let env = TaskEnv::without_store().local(dir.path());
    let task = CopyAssets::new(env);

    let missing_key = item_payload(json!({}), json!({"copy-assets": {"assets": ["data"]}}));
    let err = run(&task, missing_key).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
    assert_eq!(err.error, "InvalidInput");
    assert!(err.message.contains("\"data\""), "{err}");

    let missing_file = item_payload(json!({"data": {"href": "/no/such/file.tif"}}), json!({}));
    let err = run(&task, missing_file).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
    assert!(err.message.contains("/no/such/file.tif"), "{err}");

    let unknown = item_payload(json!({}), json!({"copy-assets": {"asets": ["data"]}}));
    let err = run(&task, unknown).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Invalid);
    assert!(err.message.contains("asets"), "{err}");
}

#[tokio::test]
async fn workflow_options_meant_for_other_tasks_are_ignored_and_shared_ones_apply() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("scene.bin");
    write(&source, b"pixels");
    let env = TaskEnv::without_store().local(dir.path().join("out"));
    let mut input = item_payload(
        json!({"data": {"href": source.display().to_string()}, "junk": {"href": "/x/junk"}}),
        json!({}),
    );
    input.process_definition_mut().workflow_options = Some(
        json!({"indices": ["ndvi"], "drop_assets": ["junk"]})
            .as_object()
            .unwrap()
            .clone(),
    );
    let out = run(&CopyAssets::new(env), input).await.unwrap();
    let assets = &out["features"][0]["assets"];
    assert!(assets.get("junk").is_none(), "{assets}");
    assert!(
        assets["data"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/out/scene/scene.bin")
    );
}

#[tokio::test]
async fn copy_assets_without_a_store_or_local_folder_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("scene.bin");
    write(&source, b"pixels");
    let input = item_payload(
        json!({"data": {"href": source.display().to_string()}}),
        json!({}),
    );
    let err = run(&CopyAssets::new(TaskEnv::without_store()), input)
        .await
        .unwrap_err();
    assert!(err.message.contains("--local"), "{err}");
}

#[cfg(feature = "gdal")]
mod preview {
    use super::*;
    use cirrus_tasks::generic::preview::Preview;
    use gdal::raster::Buffer;
    use gdal::{Dataset, DriverManager};

    /// A `bands`-band float32 GeoTIFF, `w`×`h`, band b pixel (x, y) = b*1000 + x + y*w,
    /// with nodata -9999 in the top-left pixel of every band.
    fn geotiff(path: &Path, w: usize, h: usize, bands: usize) {
        let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
        let mut ds = driver
            .create_with_band_type::<f32, _>(path, w, h, bands)
            .unwrap();
        ds.set_geo_transform(&[500_000.0, 10.0, 0.0, 4_200_000.0, 0.0, -10.0])
            .unwrap();
        for b in 1..=bands {
            let mut data: Vec<f32> = (0..w * h).map(|i| (b * 1000 + i) as f32).collect();
            data[0] = -9999.0;
            let mut band = ds.rasterband(b).unwrap();
            band.set_no_data_value(Some(-9999.0)).unwrap();
            band.write((0, 0), (w, h), &mut Buffer::new((w, h), data))
                .unwrap();
        }
    }

    /// The eo:bands of a 5-band asset: 470, 550, 640, 860 and 1650 nm, in a shuffled order.
    fn eo_bands() -> Value {
        json!(
            [0.86, 0.64, 1.65, 0.47, 0.55]
                .iter()
                .map(|um| json!({"center_wavelength": um}))
                .collect::<Vec<_>>()
        )
    }

    #[tokio::test]
    async fn preview_is_a_true_colour_png_with_alpha_and_a_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        let tif = dir.path().join("scene.tif");
        geotiff(&tif, 600, 300, 5);
        let data = dir.path().join("data");
        let env = TaskEnv::new(Store::open(data.to_str().unwrap()).unwrap());
        let input = item_payload(
            json!({
                "metadata": {"href": "/x/meta.xml", "roles": ["metadata"]},
                "data": {"href": tif.display().to_string(), "type": "image/tiff",
                         "roles": ["data"], "eo:bands": eo_bands()}
            }),
            json!({"preview": {"max_size": 200, "thumbnail": true}}),
        );
        let out = run(&Preview::new(env), input).await.unwrap();
        let assets = &out["features"][0]["assets"];
        assert_eq!(assets["preview"]["roles"], json!(["overview"]));
        assert_eq!(assets["thumbnail"]["roles"], json!(["thumbnail"]));
        // Red 640 nm is band 2, green 550 nm band 5, blue 470 nm band 4.
        assert!(
            assets["preview"]["title"]
                .as_str()
                .unwrap()
                .contains("2, 5, 4")
        );
        let png = data.join("demo/scene/scene_preview.png");
        assert_eq!(
            assets["preview"]["href"],
            format!("file://{}", png.display())
        );
        let preview = Dataset::open(&png).unwrap();
        assert_eq!(preview.raster_size(), (200, 100));
        assert_eq!(preview.raster_count(), 4);
        let alpha = preview.rasterband(4).unwrap();
        let alpha = alpha
            .read_as::<u8>((0, 0), (200, 100), (200, 100), None)
            .unwrap();
        assert!(alpha.data().iter().filter(|a| **a == 255).count() > 19_900);
        let red = preview.rasterband(1).unwrap();
        let red = red
            .read_as::<u8>((0, 0), (200, 100), (200, 100), None)
            .unwrap();
        let (first, last) = (red.data()[1], red.data()[200 * 100 - 1]);
        assert!(first < 10 && last > 245, "stretched: {first} .. {last}");
        let thumb = Dataset::open(data.join("demo/scene/scene_thumbnail.png")).unwrap();
        assert_eq!(
            thumb.raster_size(),
            (200, 100),
            "never larger than max_size"
        );
    }

    #[tokio::test]
    async fn a_one_band_raster_gives_a_grey_preview_and_bad_bands_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let tif = dir.path().join("ndvi.tif");
        geotiff(&tif, 40, 30, 1);
        let env = TaskEnv::without_store().local(dir.path().join("out"));
        let assets = json!({"ndvi": {"href": tif.display().to_string(), "roles": ["data"]}});
        let out = run(
            &Preview::new(env.clone()),
            item_payload(assets.clone(), json!({})),
        )
        .await
        .unwrap();
        let png = out["features"][0]["assets"]["preview"]["href"]
            .as_str()
            .unwrap()
            .to_string();
        let preview = Dataset::open(&png).unwrap();
        assert_eq!(preview.raster_size(), (40, 30));
        assert_eq!(preview.raster_count(), 2, "grey and alpha");

        let err = run(
            &Preview::new(env.clone()),
            item_payload(assets, json!({"preview": {"bands": [1, 2, 3]}})),
        )
        .await
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Invalid);
        assert!(err.message.contains("band 2 does not exist"), "{err}");

        let none = json!({"meta": {"href": "/x/meta.xml", "roles": ["metadata"]}});
        let err = run(&Preview::new(env), item_payload(none, json!({})))
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Invalid);
        assert!(err.message.contains("no raster asset"), "{err}");
    }
}
