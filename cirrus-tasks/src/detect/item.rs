//! The output item of `hsi-detect`: `<input id>_detect`, on the input's footprint and
//! time, with a COG asset per method and the detection statistics in `cirrus:detection`.

use super::apply::ScoreStats;
use super::engine::{Models, Plan};
use super::params::{Method, Target};
use crate::raster::{COG_MEDIA_TYPE, RASTER_EXTENSION};
use crate::spectral::Bands;
use cirrus_core::payload::Feature;
use serde_json::{Map, Value, json};

/// The output item's ID.
pub fn output_id(input: &Feature) -> String {
    format!("{}_detect", input.id())
}

/// The output item without its assets: the input's type, version, geometry, bbox and
/// properties (but not its `eo:bands`, raster statistics or processing fields), in
/// `collection`.
pub fn skeleton(input: &Feature, collection: &str) -> Map<String, Value> {
    let source = input.as_map();
    let mut item = Map::new();
    item.insert("type".into(), json!("Feature"));
    for key in ["stac_version", "geometry", "bbox"] {
        if let Some(value) = source.get(key) {
            item.insert(key.into(), value.clone());
        }
    }
    item.insert("id".into(), json!(output_id(input)));
    item.insert("collection".into(), json!(collection));
    let mut properties = source
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    properties.retain(|key, _| {
        !(key.starts_with("eo:")
            || key.starts_with("raster:")
            || key.starts_with("processing:")
            || key.starts_with("cirrus:"))
    });
    item.insert("properties".into(), Value::Object(properties));
    let extensions: Vec<Value> = source
        .get("stac_extensions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| {
            e.as_str()
                .is_some_and(|e| !e.contains("/eo/") && !e.contains("/raster/"))
        })
        .cloned()
        .chain([json!(RASTER_EXTENSION)])
        .collect();
    item.insert("stac_extensions".into(), Value::Array(extensions));
    item.insert("links".into(), json!([]));
    item.insert("assets".into(), json!({}));
    item
}

/// The asset of `method`'s map at `href`: a float32 COG whose `raster:bands` entry is
/// `band` (from [`crate::raster::raster_band`]), with the source asset's `proj:` fields
/// (the map is on the source's grid).
pub fn asset(method: Method, href: &str, mut band: Value, source_asset: Option<&Value>) -> Value {
    if let Some(unit) = method.unit() {
        band["unit"] = json!(unit);
    }
    let mut asset = json!({
        "href": href,
        "type": COG_MEDIA_TYPE,
        "title": format!("{} detection map", method.as_str()),
        "description": method.description(),
        "roles": ["data"],
        "raster:bands": [band],
    });
    if let Some(source) = source_asset.and_then(Value::as_object) {
        for (key, value) in source.iter().filter(|(k, _)| k.starts_with("proj:")) {
            asset[key] = value.clone();
        }
    }
    asset
}

/// What pass 1 and pass 2 found, for `cirrus:detection`.
#[derive(Debug)]
pub struct Summary<'a> {
    /// The asset read.
    pub asset: &'a str,
    /// The target.
    pub target: &'a Target,
    /// What the pixels measure (`reflectance` or `radiance`).
    pub quantity: &'a str,
    /// Every band of the source.
    pub bands: &'a Bands,
    /// The plan that ran.
    pub plan: &'a Plan,
    /// The models of pass 1.
    pub models: &'a Models,
    /// Valid pixels in the scene.
    pub valid_pixels: u64,
    /// Each method's score statistics, in `plan.methods` order.
    pub scores: &'a [ScoreStats],
}

impl Summary<'_> {
    /// The `cirrus:detection` property.
    pub fn to_json(&self) -> Value {
        let plan = self.plan;
        let scope = |m: Method| {
            if m == Method::Ch4Mf {
                "column"
            } else {
                "scene"
            }
        };
        let mut scores = Map::new();
        for (method, stats) in plan.methods.iter().zip(self.scores) {
            let finite = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
            scores.insert(
                method.as_str().into(),
                json!({
                    "stats_scope": scope(*method),
                    "pixels": stats.count,
                    "min": finite(stats.min),
                    "max": finite(stats.max),
                    "mean": finite(stats.mean()),
                }),
            );
        }
        let mut scopes: Vec<&str> = plan.methods.iter().map(|m| scope(*m)).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let excluded: Vec<&str> = self
            .bands
            .0
            .iter()
            .filter(|b| !b.good)
            .map(|b| b.name.as_str())
            .collect();
        let mut out = json!({
            "asset": self.asset,
            "target": self.target.name(),
            "data": self.quantity,
            "methods": plan.methods.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            "regularization": plan.regularization,
            "stats_scope": scopes.join("+"),
            "pixels": self.valid_pixels,
            "bands": {
                "used": plan.scene.band_count(),
                "excluded": excluded,
            },
            "scores": scores,
        });
        if let Some(scene) = &self.models.scene {
            out["pixels_used"] = json!(scene.background.pixels);
            out["condition_number"] = json!(scene.background.condition);
        }
        if plan.needs_columns() {
            let usable: Vec<_> = self.models.columns.iter().flatten().collect();
            let worst = usable.iter().map(|c| c.condition).fold(0.0, f64::max);
            out["methane"] = json!({
                "window_nm": plan.methane_window_nm,
                "bands": plan.methane_window.len(),
                "columns": self.models.columns.len(),
                "columns_without_statistics": self.models.columns.len() - usable.len(),
                "condition_number_max": worst,
                "unit": "ppm·m",
            });
        }
        out
    }
}
