//! `aviris-activate`: an AVIRIS ENVI scene → a north-up, band-interleaved COG, a PNG
//! preview and a STAC item (DESIGN §1 Activator, §6).
//!
//! For each input item:
//! 1. **Skip.** When the output item is already published where its `path_template` says
//!    and `replace` is not set, the published item is returned and nothing is read.
//! 2. **Check** ([`scene`]): the header parses, the image has exactly the header's size,
//!    there is a wavelength list and a map info. Any failure is `InvalidInput`.
//! 3. **One pass over the pixels** ([`warp`]): GDAL's warper turns the rotated grid
//!    north-up (same CRS, same pixel size, nearest neighbour so each output spectrum is an
//!    input spectrum unchanged), int16 values are divided by their band's
//!    `data gain values`, −9999 and the header's `data ignore value` become nodata
//!    (float32, nodata −9999 declared), and band statistics are gathered on the way.
//! 4. **COG** ([`cog`]): band-interleaved (fast reads of a few bands), 512-pixel tiles,
//!    DEFLATE with the floating-point predictor, average overviews.
//! 5. **Preview** ([`preview`]): true colour from the bands nearest 640/550/470 nm.
//! 6. **Item** ([`item`]): same `id`, collection `<input collection>-cog`, footprint in
//!    WGS84, projection extension, `eo:bands` in raster band order, `raster:bands`
//!    statistics, `hsi:wavelength_min/max` (µm), provenance.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `asset` | `data`, else the first `.img` asset | the ENVI image asset (its header: the `header` asset, else the sibling `.hdr`) |
//! | `collection` | `<input collection>-cog` | the output items' collection |
//! | `tile_size` | 512 | the COG's tile size (a multiple of 16) |

pub mod cog;
pub mod item;
pub mod preview;
pub mod scene;
pub mod stats;
pub mod warp;

use crate::env::TaskEnv;
use crate::error::{Error, Result};
use crate::io::{Outputs, Workdir};
use crate::provenance;
use async_trait::async_trait;
use cirrus_core::payload::{Feature, ProcessPayload};
use cirrus_core::task::{Task, TaskContext, TaskError};
use gdal::Dataset;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The task's name.
pub const NAME: &str = "aviris-activate";

/// The parameters of `aviris-activate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// The ENVI image asset's key; by default `data`, else the first `.img` asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// The output collection; by default `<input collection>-cog`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// The COG's tile size in pixels, a multiple of 16.
    #[serde(default = "default_tile_size")]
    pub tile_size: usize,
}

fn default_tile_size() -> usize {
    512
}

impl Parameters {
    /// The parameters of `payload`'s `aviris-activate` task, checked.
    pub fn of(payload: &ProcessPayload) -> Result<Parameters> {
        let map = payload.process_definition().task_parameters(NAME);
        let params: Parameters = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|err| Error::parameter(format!("tasks.{NAME}"), err.to_string()))?;
        if params.tile_size == 0 || !params.tile_size.is_multiple_of(16) || params.tile_size > 4096
        {
            return Err(Error::parameter(
                "tile_size",
                format!(
                    "must be a multiple of 16 up to 4096, got {}",
                    params.tile_size
                ),
            ));
        }
        Ok(params)
    }

    /// The output collection for `item`.
    fn collection(&self, item: &Feature) -> Result<String> {
        match (&self.collection, item.collection()) {
            (Some(collection), _) => Ok(collection.clone()),
            (None, Some(input)) => Ok(format!("{input}-cog")),
            (None, None) => Err(Error::parameter(
                "collection",
                format!(
                    "item {:?} has no collection to derive the output's from; set the parameter collection",
                    item.id()
                ),
            )),
        }
    }
}

/// The `aviris-activate` task.
#[derive(Debug, Clone)]
pub struct Activate {
    env: TaskEnv,
}

impl Activate {
    /// The task, writing where `env` says.
    pub fn new(env: TaskEnv) -> Activate {
        Activate { env }
    }

    /// Activates every item of `payload`; the output payload's features are the activated
    /// items, one per input item, in order.
    pub async fn activate(
        &self,
        mut payload: ProcessPayload,
        context: &TaskContext,
    ) -> Result<ProcessPayload> {
        let params = Parameters::of(&payload)?;
        let inputs = std::mem::take(&mut payload.features);
        let mut outputs = Vec::with_capacity(inputs.len());
        for input in &inputs {
            outputs.push(
                self.activate_item(&payload, input, &params, context)
                    .await?,
            );
            context.heartbeat();
        }
        payload.features = outputs;
        Ok(payload)
    }

    /// Activates one item, or returns its published activation.
    async fn activate_item(
        &self,
        payload: &ProcessPayload,
        input: &Feature,
        params: &Parameters,
        context: &TaskContext,
    ) -> Result<Feature> {
        let mut output = item::skeleton(input, &params.collection(input)?)?;
        let outputs = Outputs::for_item(&self.env, payload, &output)?;
        if !payload.process_definition().replace()
            && let Some(existing) = outputs.existing_item().await?
        {
            tracing::info!(
                item = input.id(),
                "already activated: skipped (set replace to redo it)"
            );
            let serde_json::Value::Object(map) = existing else {
                return Err(Error::item(
                    input.id(),
                    "the published output item is not an object",
                ));
            };
            return Ok(Feature::from_map(map)?);
        }
        let hrefs = scene::hrefs(input, params.asset.as_deref())?;
        let workdir = Workdir::new(&self.env, NAME)?;
        let (image, header) = scene::fetch_scene(&hrefs, workdir.path()).await?;
        context.heartbeat();
        let threads = self.env.threads();
        let tile = params.tile_size;
        let dir = workdir.path().to_path_buf();
        let id = input.id().to_string();
        let (scene, georef, stats) = blocking(move || {
            let scene = scene::validate(&image, &header)?;
            let source = Dataset::open(&image)
                .map_err(|err| Error::gdal(format!("opening {}", image.display()), err))?;
            let georef = north_up(&source, &header)?;
            let stats = warp::warp_to(
                &source,
                &scene.radiometry,
                &georef.grid,
                threads,
                &dir.join("scratch.tif"),
            )?;
            Ok((scene, georef, stats))
        })
        .await?;
        context.heartbeat();
        let rgb = preview::RGB_NM.map(|nm| scene.bands.nearest(nm).map(|band| band + 1));
        let rgb = match rgb {
            [Ok(r), Ok(g), Ok(b)] => [r, g, b],
            // A sensor without visible bands: a grey preview of the first band.
            _ => [1, 1, 1],
        };
        let dir = workdir.path().to_path_buf();
        let (cog_path, preview_path) = blocking(move || {
            let scratch = dir.join("scratch.tif");
            let cog_path = dir.join("cog.tif");
            cog::write(&scratch, &cog_path, tile, threads)?;
            let preview_path = dir.join("preview.png");
            let dataset = Dataset::open(&scratch)
                .map_err(|err| Error::gdal(format!("opening {}", scratch.display()), err))?;
            preview::write(&dataset, rgb, &preview_path)?;
            Ok((cog_path, preview_path))
        })
        .await?;
        context.heartbeat();
        let cog = outputs.put(&cog_path, &format!("{id}.tif")).await?;
        let preview = outputs
            .put(&preview_path, &format!("{id}_preview.png"))
            .await?;
        item::complete(
            &mut output,
            &item::Products {
                grid: &georef.grid,
                wkt: &georef.wkt,
                footprint: georef.footprint,
                bands: &scene.bands,
                stats: &stats,
                cog,
                preview,
                radiance: scene.radiometry.gains.is_some(),
            },
        )?;
        let recorded = serde_json::to_value(params).unwrap_or_default();
        provenance::record(output.as_map_mut(), NAME, input, recorded);
        tracing::info!(
            item = %id,
            width = georef.grid.width,
            height = georef.grid.height,
            bands = scene.bands.0.len(),
            "activated"
        );
        Ok(output)
    }
}

/// Where a scene lies: the north-up grid it is warped onto, its CRS, and its footprint.
#[derive(Debug, Clone)]
struct Georef {
    grid: warp::Grid,
    wkt: String,
    /// The four corners of the scene's own (rotated) grid, in the CRS.
    footprint: [(f64, f64); 4],
}

/// The [`Georef`] of `source`; a scene GDAL finds no CRS or geotransform in is invalid.
fn north_up(source: &Dataset, header: &Path) -> Result<Georef> {
    let wkt = source.projection();
    if wkt.is_empty() {
        return Err(Error::envi(
            header,
            "map info: GDAL finds no coordinate system in it",
        ));
    }
    let gt = source
        .geo_transform()
        .map_err(|_| Error::envi(header, "map info: GDAL finds no geotransform in it"))?;
    let (width, height) = source.raster_size();
    Ok(Georef {
        grid: warp::Grid::north_up(&gt, width, height),
        wkt,
        footprint: warp::corners(&gt, width, height),
    })
}

/// Runs GDAL work off the async runtime; a panic in it is resumed here.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => Err(Error::io(
            PathBuf::from(NAME),
            "the GDAL work was cancelled",
            std::io::Error::other(err),
        )),
    }
}

#[async_trait]
impl Task for Activate {
    fn name(&self) -> &str {
        NAME
    }

    async fn run(
        &self,
        payload: ProcessPayload,
        context: &TaskContext,
    ) -> std::result::Result<ProcessPayload, TaskError> {
        Ok(self.activate(payload, context).await?)
    }
}
