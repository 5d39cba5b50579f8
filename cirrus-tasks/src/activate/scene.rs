//! Finding an item's ENVI scene (image and header assets), fetching it, and checking it
//! before any heavy work: the header parses, the image has exactly the size the header
//! says, the band centres and the map info are there.

use super::warp::Radiometry;
use crate::envi::{self, DataType, Header};
use crate::error::{Error, Result};
use crate::io::{absolute_href, asset_href, fetch, try_fetch};
use crate::spectral::Bands;
use cirrus_core::payload::Feature;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The fill value of AVIRIS float products, which their headers do not declare.
pub const AVIRIS_FILL: f64 = -9999.0;

/// The asset key tried first when the parameter `asset` is not given.
pub const DEFAULT_ASSET: &str = "data";

/// Where an item's scene is: its image asset's key and href, and its header's href.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneHrefs {
    /// The image asset's key.
    pub asset: String,
    /// The image's href.
    pub image: String,
    /// The header's href: the `header` asset, else `None` (a sibling `.hdr` is looked for).
    pub header: Option<String>,
}

/// The image asset of `item`: `asset` when given, else `data`, else the first asset whose
/// href ends in `.img` or has no extension and a `.hdr` asset beside it.
pub fn hrefs(item: &Feature, asset: Option<&str>) -> Result<SceneHrefs> {
    let key = match asset {
        Some(key) => key.to_string(),
        None => default_asset(item).ok_or_else(|| {
            Error::item(
                item.id(),
                "has no ENVI image asset (no asset \"data\", none ending in .img or with a .hdr beside it); name it with the parameter asset",
            )
        })?,
    };
    let image = asset_href(item, &key)?;
    let header = item
        .as_value()
        .pointer("/assets/header/href")
        .and_then(Value::as_str)
        .map(|href| absolute_href(item, href));
    Ok(SceneHrefs {
        asset: key,
        image,
        header,
    })
}

fn default_asset(item: &Feature) -> Option<String> {
    let assets = item.as_value().get("assets")?.as_object()?;
    if assets.contains_key(DEFAULT_ASSET) {
        return Some(DEFAULT_ASSET.to_string());
    }
    let hrefs: Vec<&str> = assets
        .values()
        .filter_map(|a| a.get("href").and_then(Value::as_str))
        .collect();
    assets.iter().find_map(|(key, asset)| {
        let href = asset.get("href")?.as_str()?;
        let name = href.rsplit('/').next().unwrap_or(href);
        let is_envi = name.to_ascii_lowercase().ends_with(".img")
            || (!name.contains('.') && hrefs.contains(&format!("{href}.hdr").as_str()));
        is_envi.then(|| key.clone())
    })
}

/// Fetches the scene into `dir` when it is remote, and returns local paths that GDAL can
/// open: the image, and a header beside it under the name GDAL looks for.
pub async fn fetch_scene(hrefs: &SceneHrefs, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let image = fetch(&hrefs.image, dir).await?;
    let header = match &hrefs.header {
        Some(href) => fetch(href, dir).await?,
        None => sibling_header(&hrefs.image, &image, dir).await?,
    };
    if envi::header_path_for(&image).is_some_and(|found| same_file(&found, &header)) {
        return Ok((image, header));
    }
    // The header is not where GDAL's ENVI driver looks (`x.hdr` or `x.img.hdr`): link the
    // image into the work folder and put a copy of the header beside it.
    let linked = dir
        .join("scene")
        .join(image.file_name().unwrap_or("scene.img".as_ref()));
    let parent = linked
        .parent()
        .expect("a path joined onto a folder has a parent");
    std::fs::create_dir_all(parent)
        .map_err(|err| Error::io(parent, "cannot create a scratch folder", err))?;
    let absolute = std::path::absolute(&image)
        .map_err(|err| Error::io(&image, "cannot resolve the image path", err))?;
    std::os::unix::fs::symlink(&absolute, &linked)
        .map_err(|err| Error::io(&linked, "cannot link the image", err))?;
    let beside = PathBuf::from(format!("{}.hdr", linked.display()));
    std::fs::copy(&header, &beside)
        .map_err(|err| Error::io(&beside, "cannot copy the header", err))?;
    Ok((linked, header))
}

/// The `.hdr` beside the image at `href` (fetched as `image`): `x.hdr`, then `x.img.hdr`.
async fn sibling_header(href: &str, image: &Path, dir: &Path) -> Result<PathBuf> {
    if !href.contains("://") || href.starts_with("file://") {
        return envi::header_path_for(image).ok_or_else(|| {
            Error::envi(
                image,
                "no ENVI header beside the image (looked for .hdr) and no header asset",
            )
        });
    }
    let stem = href
        .rsplit_once('.')
        .filter(|(_, ext)| !ext.contains('/'))
        .map_or(href, |(stem, _)| stem);
    for candidate in [format!("{stem}.hdr"), format!("{href}.hdr")] {
        if let Some(path) = try_fetch(&candidate, dir).await? {
            return Ok(path);
        }
    }
    Err(Error::asset(
        href,
        "no ENVI header beside the image (looked for .hdr) and no header asset",
    ))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A validated scene: its header and what the activator derives from it.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The parsed header.
    pub header: Header,
    /// The bands, in raster band order, with centres, widths and the bad band list.
    pub bands: Bands,
    /// Gains and fill values.
    pub radiometry: Radiometry,
}

/// Reads the header at `header_path` and checks it against `image`: the exact image size,
/// a wavelength list (and FWHM, bbl and gain lists, when present) with one value per band,
/// a map info.
pub fn validate(image: &Path, header_path: &Path) -> Result<Scene> {
    let header = Header::read(header_path)?;
    header.check_image(image)?;
    let centres = header.wavelengths_nm().ok_or_else(|| {
        Error::envi(
            header_path,
            "no wavelength list: the band centres are unknown",
        )
    })?;
    let per_band = |field: &str, len: Option<usize>| match len {
        Some(len) if len != header.bands => Err(Error::envi(
            header_path,
            format!("{field} has {len} values for {} bands", header.bands),
        )),
        _ => Ok(()),
    };
    per_band("wavelength", Some(centres.len()))?;
    per_band("fwhm", header.fwhm.as_ref().map(Vec::len))?;
    per_band("bbl", header.bbl.as_ref().map(Vec::len))?;
    per_band(
        "data gain values",
        header.data_gain_values.as_ref().map(Vec::len),
    )?;
    if header.map_info.is_none() {
        return Err(Error::envi(
            header_path,
            "no map info: the scene is not georeferenced",
        ));
    }
    let bands = Bands::from_header(&header, header_path)?;
    let gains = match header.data_type {
        DataType::F32 | DataType::F64 => None,
        _ => header.data_gain_values.clone(),
    };
    if let Some(bad) = gains
        .iter()
        .flatten()
        .position(|g| !g.is_finite() || *g == 0.0)
    {
        return Err(Error::envi(
            header_path,
            format!(
                "data gain values: band {} has gain 0 or not a number",
                bad + 1
            ),
        ));
    }
    let mut fill = vec![AVIRIS_FILL];
    fill.extend(header.data_ignore_value.filter(|v| *v != AVIRIS_FILL));
    Ok(Scene {
        header,
        bands,
        radiometry: Radiometry { gains, fill },
    })
}
