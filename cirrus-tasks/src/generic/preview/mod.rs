//! `preview`: a PNG preview (and optionally a thumbnail) of an item's raster asset.
//!
//! The asset is read with GDAL at the preview's size (from overviews when the file has
//! them), each band is stretched linearly between two percentiles of its valid pixels to
//! 8 bits, and the result is written as a grey or RGB PNG with an alpha band: pixels that
//! are nodata (or NaN) in any band are 0 and transparent. The PNG becomes the asset
//! `preview` (roles `overview`), the thumbnail the asset `thumbnail` (roles `thumbnail`);
//! the rest of the item is kept.
//!
//! | parameter | type | default | meaning |
//! |---|---|---|---|
//! | `asset` | asset key | the first asset with role `data` or `visual` that is a raster | the asset to render |
//! | `bands` | list of 1 or 3 band numbers (1-based) | the bands nearest 640, 550 and 470 nm when the asset has `eo:bands` wavelengths, else band 1 (one band) or bands 1, 2, 3 | grey or red, green, blue |
//! | `max_size` | pixels | 1024 | the preview's longer side (never enlarged) |
//! | `percentiles` | `[low, high]` | `[2, 98]` | the stretch: these percentiles map to 0 and 255 |
//! | `thumbnail` | bool | `false` | also a 256-pixel thumbnail |

mod render;

use super::{add_software, parameters};
use crate::env::TaskEnv;
use crate::error::{Error, Result};
use crate::io::{Outputs, Workdir, asset_href, fetch};
use crate::spectral::Bands;
use async_trait::async_trait;
use cirrus_core::payload::{Feature, ProcessPayload};
use cirrus_core::task::{Task, TaskContext, TaskError};
use gdal::Dataset;
use render::{Image, write_png};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The task's name.
pub const NAME: &str = "preview";

/// The keys of [`Parameters`], the ones taken from `workflow_options`.
const KEYS: &[&str] = &["asset", "bands", "max_size", "percentiles", "thumbnail"];

/// The longer side of a thumbnail, in pixels.
pub const THUMBNAIL_SIZE: usize = 256;

/// The wavelengths (nm) of the red, green and blue bands of a true-colour preview.
pub const TRUE_COLOUR_NM: [f64; 3] = [640.0, 550.0, 470.0];

/// File name extensions taken for rasters when an asset has no media type.
const RASTER_EXTENSIONS: &[&str] = &["tif", "tiff", "img", "jp2", "vrt", "png", "jpg", "jpeg"];

/// The parameters of `preview`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// The asset to render; by default the first raster asset with role `data` or `visual`.
    #[serde(default)]
    pub asset: Option<String>,
    /// One (grey) or three (red, green, blue) 1-based band numbers.
    #[serde(default)]
    pub bands: Option<Vec<usize>>,
    /// The preview's longer side, in pixels.
    #[serde(default = "default_max_size")]
    pub max_size: usize,
    /// The low and high percentiles of the linear stretch.
    #[serde(default = "default_percentiles")]
    pub percentiles: [f64; 2],
    /// Also write a [`THUMBNAIL_SIZE`] thumbnail.
    #[serde(default)]
    pub thumbnail: bool,
}

fn default_max_size() -> usize {
    1024
}

fn default_percentiles() -> [f64; 2] {
    [2.0, 98.0]
}

impl Default for Parameters {
    fn default() -> Parameters {
        Parameters {
            asset: None,
            bands: None,
            max_size: default_max_size(),
            percentiles: default_percentiles(),
            thumbnail: false,
        }
    }
}

impl Parameters {
    /// Checks the values the types do not.
    fn check(&self) -> Result<()> {
        if let Some(bands) = &self.bands
            && (!matches!(bands.len(), 1 | 3) || bands.contains(&0))
        {
            return Err(Error::parameter(
                "bands",
                format!("give 1 or 3 band numbers, counted from 1; got {bands:?}"),
            ));
        }
        if !(1..=16384).contains(&self.max_size) {
            return Err(Error::parameter(
                "max_size",
                format!("must be 1 to 16384 pixels, got {}", self.max_size),
            ));
        }
        let [low, high] = self.percentiles;
        if !(0.0..=100.0).contains(&low) || !(0.0..=100.0).contains(&high) || low >= high {
            return Err(Error::parameter(
                "percentiles",
                format!("must be [low, high] with 0 <= low < high <= 100, got [{low}, {high}]"),
            ));
        }
        Ok(())
    }
}

/// The `preview` task.
#[derive(Debug, Clone)]
pub struct Preview {
    env: TaskEnv,
}

impl Preview {
    /// The task, writing where `env` says.
    pub fn new(env: TaskEnv) -> Preview {
        Preview { env }
    }

    /// Adds a preview (and a thumbnail) to every item of `payload`.
    pub async fn preview(&self, mut payload: ProcessPayload) -> Result<ProcessPayload> {
        let params: Parameters = parameters(&payload, NAME, KEYS)?;
        params.check()?;
        let workdir = Workdir::new(&self.env, NAME)?;
        let mut features = std::mem::take(&mut payload.features);
        for (i, item) in features.iter_mut().enumerate() {
            let scratch = workdir.path().join(i.to_string());
            std::fs::create_dir_all(&scratch)
                .map_err(|err| Error::io(&scratch, "cannot create a scratch folder", err))?;
            self.preview_item(&payload, item, &params, &scratch).await?;
        }
        payload.features = features;
        Ok(payload)
    }

    /// Renders `item`'s preview and adds its assets.
    async fn preview_item(
        &self,
        payload: &ProcessPayload,
        item: &mut Feature,
        params: &Parameters,
        scratch: &Path,
    ) -> Result<()> {
        let key = match &params.asset {
            Some(key) => key.clone(),
            None => default_asset(item)?,
        };
        let href = asset_href(item, &key)?;
        let outputs = Outputs::for_item(&self.env, payload, item)?;
        let source = fetch(&href, scratch).await?;
        let eo_bands = Bands::from_item(item, &key).ok();
        let job = Job {
            source,
            href: href.clone(),
            bands: params.bands.clone(),
            eo_bands,
            max_size: params.max_size,
            percentiles: params.percentiles,
            thumbnail: params.thumbnail.then(|| scratch.join("thumbnail.png")),
            preview: scratch.join("preview.png"),
        };
        let preview = job.preview.clone();
        let thumbnail = job.thumbnail.clone();
        let bands = blocking(move || job.render()).await?;
        let id = item.id().to_string();
        let mut new_assets = vec![(
            "preview",
            outputs.put(&preview, &format!("{id}_preview.png")).await?,
            "overview",
        )];
        if let Some(thumbnail) = thumbnail {
            let href = outputs
                .put(&thumbnail, &format!("{id}_thumbnail.png"))
                .await?;
            new_assets.push(("thumbnail", href, "thumbnail"));
        }
        let bands: Vec<String> = bands.iter().map(usize::to_string).collect();
        let assets = item
            .as_map_mut()
            .entry("assets")
            .or_insert_with(|| json!({}));
        if let Some(assets) = assets.as_object_mut() {
            for (name, href, role) in new_assets {
                assets.insert(
                    name.to_string(),
                    json!({
                        "href": href,
                        "type": "image/png",
                        "title": format!("{name} of {key} (band {})", bands.join(", ")),
                        "roles": [role],
                    }),
                );
            }
        }
        add_software(item.as_map_mut(), NAME);
        tracing::info!(item = %id, asset = %key, bands = ?bands, "preview written");
        Ok(())
    }
}

#[async_trait]
impl Task for Preview {
    fn name(&self) -> &str {
        NAME
    }

    async fn run(
        &self,
        payload: ProcessPayload,
        _context: &TaskContext,
    ) -> std::result::Result<ProcessPayload, TaskError> {
        Ok(self.preview(payload).await?)
    }
}

/// Runs GDAL work off the async runtime; a panic in it is resumed here.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => Err(Error::io(
            "preview",
            "the rendering was cancelled",
            std::io::Error::other(err),
        )),
    }
}

/// The first asset with role `data` or `visual` that is a raster (an `image/*` media type,
/// or, with no media type, a raster file name extension).
pub fn default_asset(item: &Feature) -> Result<String> {
    let assets = item.as_map().get("assets").and_then(Value::as_object);
    let found = assets.into_iter().flatten().find(|(_, asset)| {
        let roles = asset.get("roles").and_then(Value::as_array);
        let wanted = roles
            .into_iter()
            .flatten()
            .any(|role| role == "data" || role == "visual");
        let raster = match asset.get("type").and_then(Value::as_str) {
            Some(media) => media.starts_with("image/"),
            None => asset
                .get("href")
                .and_then(Value::as_str)
                .and_then(|href| href.rsplit('.').next())
                .is_some_and(|ext| RASTER_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())),
        };
        wanted && raster
    });
    found.map(|(key, _)| key.clone()).ok_or_else(|| {
        Error::item(
            item.id(),
            "has no raster asset with role data or visual to preview; name one with the parameter asset",
        )
    })
}

/// One rendering, moved to a blocking thread.
struct Job {
    source: PathBuf,
    href: String,
    bands: Option<Vec<usize>>,
    eo_bands: Option<Bands>,
    max_size: usize,
    percentiles: [f64; 2],
    preview: PathBuf,
    thumbnail: Option<PathBuf>,
}

impl Job {
    /// Writes the preview (and thumbnail); returns the bands rendered.
    fn render(self) -> Result<Vec<usize>> {
        let dataset = Dataset::open(&self.source)
            .map_err(|err| Error::gdal(format!("opening {}", self.href), err))?;
        let count = dataset.raster_count();
        let bands = match self.bands {
            Some(bands) => {
                if let Some(band) = bands.iter().find(|b| **b > count) {
                    return Err(Error::parameter(
                        "bands",
                        format!(
                            "band {band} does not exist: {} has {count} band(s)",
                            self.href
                        ),
                    ));
                }
                bands
            }
            None => default_bands(count, self.eo_bands.as_ref())
                .ok_or_else(|| Error::asset(&self.href, "the raster has no bands"))?,
        };
        let image = Image::read(&dataset, &bands, self.max_size)?;
        let limits = image.limits(self.percentiles);
        write_png(&image, &limits, &self.preview)?;
        if let Some(thumbnail) = &self.thumbnail {
            let small = Image::read(&dataset, &bands, THUMBNAIL_SIZE.min(self.max_size))?;
            write_png(&small, &limits, thumbnail)?;
        }
        Ok(bands)
    }
}

/// The bands of a default preview: true colour from `eo:bands` when the raster has one
/// entry per band and the sensor covers 640, 550 and 470 nm; else bands 1, 2, 3, or band 1.
pub fn default_bands(count: usize, eo_bands: Option<&Bands>) -> Option<Vec<usize>> {
    if count == 0 {
        return None;
    }
    if count >= 3
        && let Some(eo) = eo_bands.filter(|eo| eo.0.len() == count)
        && let Ok(rgb) = TRUE_COLOUR_NM
            .iter()
            .map(|nm| eo.nearest(*nm).map(|i| i + 1))
            .collect::<std::result::Result<Vec<usize>, String>>()
    {
        return Some(rgb);
    }
    Some(if count >= 3 { vec![1, 2, 3] } else { vec![1] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_parameters_are_refused_by_name() {
        let bands = Parameters {
            bands: Some(vec![1, 2]),
            ..Parameters::default()
        };
        assert!(bands.check().unwrap_err().to_string().contains("bands"));
        let percentiles = Parameters {
            percentiles: [98.0, 2.0],
            ..Parameters::default()
        };
        assert!(
            percentiles
                .check()
                .unwrap_err()
                .to_string()
                .contains("percentiles")
        );
        assert!(Parameters::default().check().is_ok());
    }
}
