//! The input of `hsi-detect`: which asset, its bands (from `eo:bands`, or from the ENVI
//! header of a raw scene), how its stored values scale, and whether it holds radiance.

use super::scene::Scene;
use crate::envi::{self, Header};
use crate::error::{Error, Result};
use crate::io::{asset_href, fetch, try_fetch};
use crate::spectral::Bands;
use cirrus_core::payload::Feature;
use gdal::Dataset;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What the pixels measure, which decides the units of the library targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Surface reflectance (unitless, 0–1).
    Reflectance,
    /// At-sensor radiance, µW/(cm²·sr·nm) (AVIRIS L1).
    Radiance,
}

impl Quantity {
    /// `reflectance` or `radiance`.
    pub fn as_str(self) -> &'static str {
        match self {
            Quantity::Reflectance => "reflectance",
            Quantity::Radiance => "radiance",
        }
    }
}

/// The chosen asset, fetched.
#[derive(Debug, Clone)]
pub struct Source {
    /// The asset's key.
    pub key: String,
    /// The local raster file.
    pub path: PathBuf,
    /// Every band of the raster, in band order.
    pub bands: Bands,
    /// The ENVI header, for a raw ENVI scene.
    pub header: Option<Header>,
    /// What the pixels measure.
    pub quantity: Quantity,
}

/// The asset to read: `requested`, or the first with `eo:bands` (`cog`, then `data`, then
/// any other), or else a `data` or `cog` asset whose bands come from its ENVI header.
pub fn choose_asset(item: &Feature, requested: Option<&str>) -> Result<String> {
    let assets = item
        .as_value()
        .get("assets")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(key) = requested {
        if assets.contains_key(key) {
            return Ok(key.to_string());
        }
        let known: Vec<&String> = assets.keys().collect();
        return Err(Error::parameter(
            "asset",
            format!(
                "item {:?} has no asset {key:?} (its assets: {known:?})",
                item.id()
            ),
        ));
    }
    let has_bands = |key: &str| assets.get(key).is_some_and(|a| a.get("eo:bands").is_some());
    let preferred = ["cog", "data"];
    preferred
        .iter()
        .map(|k| k.to_string())
        .find(|k| has_bands(k))
        .or_else(|| assets.keys().find(|k| has_bands(k)).cloned())
        .or_else(|| {
            preferred
                .iter()
                .find(|k| assets.contains_key(**k))
                .map(|k| k.to_string())
        })
        .ok_or_else(|| {
            Error::item(
                item.id(),
                "no asset to read: none has eo:bands, and there is no `data` or `cog` asset (name one with the `asset` parameter)",
            )
        })
}

/// Fetches asset `key` of `item` (and, for a raw ENVI scene, its header) into `scratch`.
pub async fn fetch_source(item: &Feature, key: &str, scratch: &Path) -> Result<Source> {
    let href = asset_href(item, key)?;
    let path = fetch(&href, scratch).await?;
    let mut header_path = envi::header_path_for(&path);
    if header_path.is_none() && href.contains("://") && !href.starts_with("file://") {
        for candidate in header_hrefs(&href) {
            if let Some(found) = try_fetch(&candidate, scratch).await? {
                header_path = Some(found);
                break;
            }
        }
    }
    let header = header_path.map(|h| Header::read(&h)).transpose()?;
    let asset = item.as_value().pointer(&format!(
        "/assets/{}",
        key.replace('~', "~0").replace('/', "~1")
    ));
    let has_eo = asset.is_some_and(|a| a.get("eo:bands").is_some())
        || item.as_value().pointer("/properties/eo:bands").is_some();
    let bands = match (&header, has_eo) {
        (_, true) => Bands::from_item(item, key)?,
        (Some(header), false) => Bands::from_header(header, &path)?,
        (None, false) => {
            return Err(Error::item(
                item.id(),
                format!(
                    "asset {key:?} has no eo:bands and no ENVI header: the band wavelengths are unknown"
                ),
            ));
        }
    };
    let declared = |v: Option<&Value>| {
        v.and_then(Value::as_array).is_some_and(|roles| {
            roles
                .iter()
                .any(|r| r.as_str().is_some_and(|r| r.contains("radiance")))
        })
    };
    let radiance = header
        .as_ref()
        .is_some_and(|h| h.data_gain_values.is_some())
        || declared(asset.and_then(|a| a.get("roles")))
        || item
            .as_value()
            .pointer("/properties/processing:level")
            .and_then(Value::as_str)
            .is_some_and(|level| level.starts_with("L1"));
    Ok(Source {
        key: key.to_string(),
        path,
        bands,
        header,
        quantity: if radiance {
            Quantity::Radiance
        } else {
            Quantity::Reflectance
        },
    })
}

/// Where the header of a remote ENVI image may be: `x.img` → `x.hdr`, `x.img.hdr`.
fn header_hrefs(href: &str) -> Vec<String> {
    let name_start = href.rfind('/').map_or(0, |i| i + 1);
    let mut out = Vec::new();
    if let Some(dot) = href[name_start..].rfind('.') {
        out.push(format!("{}.hdr", &href[..name_start + dot]));
    }
    out.push(format!("{href}.hdr"));
    out
}

/// The scene reader of `source` over the bands `used` (0-based), with `dataset` opened on
/// it: an ENVI scene's values are divided by its `data gain values` and its `data ignore
/// value` is no data; any other raster's band scale, offset and nodata are honoured.
pub fn scene(source: &Source, dataset: &Dataset, used: &[usize]) -> Result<Scene> {
    let (width, height) = dataset.raster_size();
    let count = dataset.raster_count();
    if count != source.bands.0.len() {
        return Err(Error::envi(
            &source.path,
            format!(
                "the raster has {count} bands but its band list (eo:bands or header) has {}",
                source.bands.0.len()
            ),
        ));
    }
    if let Some(header) = &source.header {
        header.check_image(&source.path)?;
    }
    let mut scene = Scene {
        path: source.path.clone(),
        width,
        height,
        bands: Vec::with_capacity(used.len()),
        scale: Vec::with_capacity(used.len()),
        offset: Vec::with_capacity(used.len()),
        nodata: Vec::with_capacity(used.len()),
        envi: source.header.clone(),
    };
    for &b in used {
        let number = i32::try_from(b + 1)
            .map_err(|_| Error::envi(&source.path, "too many bands for GDAL"))?;
        let (scale, offset, nodata) = match &source.header {
            Some(header) => {
                let gain = header
                    .data_gain_values
                    .as_ref()
                    .and_then(|g| g.get(b).copied())
                    .unwrap_or(1.0);
                if gain == 0.0 || !gain.is_finite() {
                    return Err(Error::envi(
                        &source.path,
                        format!("data gain value {gain} of band {} cannot divide", b + 1),
                    ));
                }
                (1.0 / gain, 0.0, header.data_ignore_value)
            }
            None => {
                let band = dataset.rasterband(b + 1).map_err(|err| {
                    Error::gdal(format!("band {} of {}", b + 1, source.path.display()), err)
                })?;
                (
                    band.scale().unwrap_or(1.0),
                    band.offset().unwrap_or(0.0),
                    band.no_data_value(),
                )
            }
        };
        scene.bands.push(number);
        scene.scale.push(scale);
        scene.offset.push(offset);
        scene.nodata.push(nodata);
    }
    Ok(scene)
}
