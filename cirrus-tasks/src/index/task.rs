//! [`HsiIndex`]: the `hsi-index` task.
//!
//! For each input item: pick the asset, fetch it, learn its bands (`eo:bands`, or the ENVI
//! header of a raw scene), resolve every product's wavelengths to bands, skip the products
//! whose output item already exists (unless `replace`), compute the rest in one pass over
//! the scene ([`super::engine`]), write each as a COG and publish it with its item.

use super::engine::{self, Plan, default_block_lines};
use super::item::{self, Resolved};
use super::params::{Parameters, Product, ReaderKind};
use super::program::Program;
use super::source::Scene;
use super::{NODATA, TASK_NAME};
use crate::env::TaskEnv;
use crate::envi::{self, Header};
use crate::error::{Error, Result};
use crate::io::{self, Outputs, Workdir};
use crate::spectral::Bands;
use crate::{cog, raster};
use async_trait::async_trait;
use cirrus_core::payload::{Feature, ProcessPayload};
use cirrus_core::task::{Task, TaskContext, TaskError};
use gdal::raster::RasterCreationOptions;
use gdal::{Dataset, DriverManager, Metadata};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// The `hsi-index` task.
#[derive(Debug, Clone)]
pub struct HsiIndex {
    env: TaskEnv,
}

#[async_trait]
impl Task for HsiIndex {
    fn name(&self) -> &str {
        TASK_NAME
    }

    async fn run(
        &self,
        payload: ProcessPayload,
        _context: &TaskContext,
    ) -> Result<ProcessPayload, TaskError> {
        Ok(self.process(payload).await?)
    }
}

/// One product still to compute for an item.
struct Pending {
    product: Product,
    item: Map<String, Value>,
    outputs: Outputs,
    program: Program,
}

impl HsiIndex {
    /// The task, writing where `env` says.
    pub fn new(env: TaskEnv) -> HsiIndex {
        HsiIndex { env }
    }

    /// Runs the task: the output payload's features are the product items of every input
    /// item, in order.
    pub async fn process(&self, mut payload: ProcessPayload) -> Result<ProcessPayload> {
        let parameters = Parameters::from_definition(payload.process_definition())?;
        let products = parameters.products()?;
        let workdir = Workdir::new(&self.env, TASK_NAME)?;
        let mut outputs = Vec::new();
        for input in &payload.features {
            outputs.extend(
                self.item(&payload, input, &parameters, &products, workdir.path())
                    .await?,
            );
        }
        payload.features = outputs;
        Ok(payload)
    }

    async fn item(
        &self,
        payload: &ProcessPayload,
        input: &Feature,
        parameters: &Parameters,
        products: &[Product],
        dir: &Path,
    ) -> Result<Vec<Feature>> {
        let key = choose_asset(input, parameters.asset.as_deref())?;
        let href = io::asset_href(input, &key)?;
        let local = io::fetch(&href, dir).await?;
        if io::local_path(&href)?.is_none() && envi::header_path_for(&local).is_none() {
            fetch_remote_header(&href, dir).await?;
        }
        let header = envi::header_path_for(&local)
            .map(|path| Header::read(&path).map(|header| (path, header)))
            .transpose()?;
        let bands = if has_eo_bands(input, &key) {
            Bands::from_item(input, &key)?
        } else if let Some((path, header)) = &header {
            Bands::from_header(header, path)?
        } else {
            return Err(Error::item(
                input.id(),
                format!(
                    "asset {key:?} has no eo:bands and is not a raw ENVI scene with a header: the band wavelengths are unknown"
                ),
            ));
        };
        let collection = item::collection(input, parameters.collection.as_deref());
        let replace = payload.process_definition().replace();
        let mut read: Vec<usize> = Vec::new();
        let mut pending = Vec::new();
        let mut done = Vec::new();
        for product in products {
            let resolved = resolve(input, product, &bands)?;
            let skeleton = item::skeleton(input, &collection, product, &bands, &resolved);
            let output = Feature::from_map(skeleton.clone())?;
            let outputs = Outputs::for_item(&self.env, payload, &output)?;
            if !replace && let Some(existing) = outputs.existing_item().await? {
                tracing::info!(
                    item = output.id(),
                    "the output item exists: skipped (set replace to redo it)"
                );
                if let Value::Object(map) = existing {
                    done.push(Feature::from_map(map)?);
                    continue;
                }
            }
            for r in &resolved {
                if !read.contains(&r.band) {
                    read.push(r.band);
                }
            }
            let program = Program::compile(&product.expression, &|nm| {
                let band = resolved
                    .iter()
                    .find(|r| r.wavelength_nm.to_bits() == nm.to_bits())
                    .map(|r| r.band)
                    .expect("every wavelength of the expression was resolved above");
                read.iter()
                    .position(|b| *b == band)
                    .expect("every resolved band is in the read list")
            });
            pending.push(Pending {
                product: product.clone(),
                item: skeleton,
                outputs,
                program,
            });
        }
        if pending.is_empty() {
            return Ok(done);
        }
        let job = Job {
            input: local,
            header: header.map(|(_, header)| header),
            band_count: bands.0.len(),
            reader: parameters.reader,
            bands: read,
            programs: pending.iter().map(|p| p.program.clone()).collect(),
            names: pending
                .iter()
                .map(|p| item::item_id(input, &p.product.name))
                .collect(),
            dir: dir.to_path_buf(),
            block_lines: parameters.block_lines,
            threads: self.env.threads(),
            item: input.id().to_string(),
        };
        let produced = tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(|err| {
                Error::io(
                    dir,
                    "the index computation panicked",
                    std::io::Error::other(err.to_string()),
                )
            })??;
        let recorded = parameters.to_json();
        for (mut p, (file, raster_band)) in pending.into_iter().zip(produced) {
            let name = format!("{}.tif", item::item_id(input, &p.product.name));
            let href = p.outputs.put(&file, &name).await?;
            item::finish(
                &mut p.item,
                input,
                &p.product,
                &href,
                raster_band,
                recorded.clone(),
            );
            done.push(Feature::from_map(p.item)?);
        }
        Ok(done)
    }
}

/// The wavelengths of `product` resolved to bands; a wavelength the sensor does not cover
/// is an INVALID input naming the product and the wavelength.
fn resolve(input: &Feature, product: &Product, bands: &Bands) -> Result<Vec<Resolved>> {
    product
        .expression
        .wavelengths()
        .into_iter()
        .map(|nm| {
            bands
                .nearest(nm)
                .map(|band| Resolved {
                    wavelength_nm: nm,
                    band,
                })
                .map_err(|message| {
                    Error::item(
                        input.id(),
                        format!("index {:?} needs R{nm}: {message}", product.name),
                    )
                })
        })
        .collect()
}

/// The asset to read: the `asset` parameter, else the first with `eo:bands` preferring
/// `cog` then `data`, else `data` (a raw ENVI scene).
fn choose_asset(input: &Feature, given: Option<&str>) -> Result<String> {
    let assets = input
        .as_value()
        .get("assets")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::item(input.id(), "has no assets"))?;
    if let Some(given) = given {
        return if assets.contains_key(given) {
            Ok(given.to_string())
        } else {
            Err(Error::item(
                input.id(),
                format!(
                    "has no asset {given:?} (parameter asset); it has {:?}",
                    assets.keys().collect::<Vec<_>>()
                ),
            ))
        };
    }
    let with_bands = |key: &str| assets.get(key).is_some_and(|a| a.get("eo:bands").is_some());
    ["cog", "data"]
        .into_iter()
        .find(|key| with_bands(key))
        .map(str::to_string)
        .or_else(|| assets.keys().find(|key| with_bands(key)).cloned())
        .or_else(|| assets.contains_key("data").then(|| "data".to_string()))
        .ok_or_else(|| {
            Error::item(
                input.id(),
                "no asset has eo:bands and there is no `data` asset: name the asset to read with the `asset` parameter",
            )
        })
}

fn has_eo_bands(input: &Feature, key: &str) -> bool {
    let value = input.as_value();
    value.pointer("/properties/eo:bands").is_some()
        || value
            .get("assets")
            .and_then(|assets| assets.get(key))
            .is_some_and(|asset| asset.get("eo:bands").is_some())
}

/// Downloads the ENVI header next to a remote image (`x.img` → `x.hdr`, else `x.img.hdr`),
/// when there is one.
async fn fetch_remote_header(href: &str, dir: &Path) -> Result<()> {
    let mut candidates = Vec::new();
    if let Some((stem, _)) = href.rsplit_once('.')
        && !stem.ends_with('/')
    {
        candidates.push(format!("{stem}.hdr"));
    }
    candidates.push(format!("{href}.hdr"));
    for candidate in candidates {
        if io::try_fetch(&candidate, dir).await?.is_some() {
            break;
        }
    }
    Ok(())
}

/// The blocking part of one item: everything GDAL.
struct Job {
    input: PathBuf,
    header: Option<Header>,
    band_count: usize,
    reader: ReaderKind,
    bands: Vec<usize>,
    programs: Vec<Program>,
    names: Vec<String>,
    dir: PathBuf,
    block_lines: Option<usize>,
    threads: usize,
    item: String,
}

impl Job {
    /// Computes every product; returns each one's COG and its raster band entry.
    fn run(self) -> Result<Vec<(PathBuf, Value)>> {
        let scene = match (&self.header, self.reader) {
            (Some(header), ReaderKind::Auto | ReaderKind::Mmap) => {
                Scene::envi_mmap(&self.input, header.clone())?
            }
            (Some(header), ReaderKind::Gdal) => Scene::envi_gdal(&self.input, header)?,
            (None, ReaderKind::Mmap) => {
                return Err(Error::parameter(
                    "reader",
                    format!(
                        "mmap reads raw ENVI scenes only, and {} has no ENVI header",
                        self.input.display()
                    ),
                ));
            }
            (None, _) => Scene::gdal(&self.input)?,
        };
        if scene.bands() != self.band_count {
            return Err(Error::item(
                &self.item,
                format!(
                    "eo:bands lists {} bands, but {} has {}",
                    self.band_count,
                    self.input.display(),
                    scene.bands()
                ),
            ));
        }
        let (width, height) = (scene.width(), scene.height());
        let block_lines = self
            .block_lines
            .unwrap_or_else(|| default_block_lines(width, height, self.bands.len(), self.threads));
        let source = Dataset::open(&self.input)
            .map_err(|err| Error::gdal(format!("opening {}", self.input.display()), err))?;
        let in_memory = width * height * 4 * self.names.len() <= IN_MEMORY_OUTPUTS;
        let plan = Plan {
            scene: &scene,
            bands: self.bands.clone(),
            programs: self.programs,
            block_lines,
            threads: self.threads,
        };
        let cogs: Vec<PathBuf> = self
            .names
            .iter()
            .map(|name| self.dir.join(format!("{name}.tif")))
            .collect();
        let started = std::time::Instant::now();
        let computed = |products: usize, products_in_memory: bool| {
            tracing::info!(
                item = self.item,
                width,
                height,
                bands = self.bands.len(),
                products,
                block_lines,
                mapped = scene.is_mapped(),
                in_memory = products_in_memory,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "indices computed"
            );
        };
        let geo = if in_memory {
            cog::GeoTags::from_gdal(
                source.geo_transform().ok(),
                &source.projection(),
                &self.dir.join("georeferencing.tif"),
            )?
        } else {
            None
        };
        let bands = if let Some(geo) = geo {
            drop(source);
            let mut results = vec![vec![NODATA as f32; width * height]; self.names.len()];
            plan.run(|block| {
                let at = block.lines.start * width;
                for (all, result) in results.iter_mut().zip(block.results) {
                    all[at..at + result.len()].copy_from_slice(&result);
                }
                Ok(())
            })?;
            computed(results.len(), true);
            let bands: Vec<(cog::Band<'_>, &Path)> = results
                .iter()
                .zip(&self.names)
                .zip(&cogs)
                .map(|((values, name), cog)| {
                    let band = cog::Band {
                        width,
                        height,
                        values,
                        nodata: NODATA as f32,
                        description: name,
                    };
                    (band, cog.as_path())
                })
                .collect();
            cog::write(&bands, &geo, TILE, self.threads)?
        } else {
            let mut datasets = Vec::with_capacity(self.names.len());
            for name in &self.names {
                let scratch = self.dir.join(format!("{name}.tmp.tif"));
                datasets.push(create_output(&source, &scratch, width, height, name)?);
            }
            drop(source);
            plan.run(|block| engine::write(&mut datasets, block))?;
            computed(datasets.len(), false);
            encode(datasets, &cogs, self.threads)?
        };
        Ok(cogs.into_iter().zip(bands).collect())
    }
}

/// The most bytes of results kept in memory and written by [`cog::write`]; larger outputs go
/// to scratch GeoTIFFs and GDAL writes their COGs, so memory stays bounded by the block size.
const IN_MEMORY_OUTPUTS: usize = 256 << 20;

/// The COG tile size.
const TILE: usize = 512;

/// Writes the scratch GeoTIFF `datasets[i]` as the COG `cogs[i]` and returns its raster
/// band entry. Each product has a thread of its own, and each product's compression uses
/// GDAL's pool of `threads` threads, so that one product's statistics and overviews overlap
/// another's compression.
fn encode(datasets: Vec<Dataset>, cogs: &[PathBuf], threads: usize) -> Result<Vec<Value>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = datasets
            .into_iter()
            .zip(cogs)
            .map(|(mut dataset, cog)| {
                scope.spawn(move || {
                    let band = raster::raster_band(&dataset, 1)?;
                    raster::write_cog_with_overviews(&mut dataset, cog, TILE, threads.max(1))?;
                    Ok(band)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// A tiled float32 scratch GeoTIFF at `scratch` with `source`'s georeferencing and the
/// nodata value.
fn create_output(
    source: &Dataset,
    scratch: &Path,
    width: usize,
    height: usize,
    name: &str,
) -> Result<Dataset> {
    let context = || format!("creating {}", scratch.display());
    let driver =
        DriverManager::get_driver_by_name("GTiff").map_err(|err| Error::gdal(context(), err))?;
    let options = RasterCreationOptions::from_iter([
        "TILED=YES",
        "BLOCKXSIZE=256",
        "BLOCKYSIZE=256",
        "BIGTIFF=IF_SAFER",
    ]);
    let mut dataset = driver
        .create_with_band_type_with_options::<f32, _>(scratch, width, height, 1, &options)
        .map_err(|err| Error::gdal(context(), err))?;
    if let Ok(transform) = source.geo_transform() {
        dataset
            .set_geo_transform(&transform)
            .map_err(|err| Error::gdal(context(), err))?;
    }
    let projection = source.projection();
    if !projection.is_empty() {
        dataset
            .set_projection(&projection)
            .map_err(|err| Error::gdal(context(), err))?;
    }
    let mut band = dataset
        .rasterband(1)
        .map_err(|err| Error::gdal(context(), err))?;
    band.set_no_data_value(Some(NODATA))
        .map_err(|err| Error::gdal(context(), err))?;
    band.set_description(name)
        .map_err(|err| Error::gdal(context(), err))?;
    Ok(dataset)
}

impl Parameters {
    /// The parameters as recorded in the output items' `cirrus:parameters`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        if !self.indices.is_empty() {
            out.insert("indices".into(), json!(self.indices));
        }
        if !self.expressions.is_empty() {
            out.insert(
                "expressions".into(),
                Value::Object(self.expressions.clone()),
            );
        }
        if let Some(asset) = &self.asset {
            out.insert("asset".into(), json!(asset));
        }
        if let Some(collection) = &self.collection {
            out.insert("collection".into(), json!(collection));
        }
        if let Some(lines) = self.block_lines {
            out.insert("block_lines".into(), json!(lines));
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdal::raster::Buffer;

    /// An output too big for memory goes through a scratch GeoTIFF and GDAL's writer; one
    /// that fits is written by [`cog::write`]. Both give valid COGs with the same pixels,
    /// georeferencing and statistics.
    #[test]
    fn scratch_and_in_memory_outputs_give_the_same_cogs() {
        let dir = tempfile::tempdir().unwrap();
        let (width, height) = (1100, 530);
        let mut source = DriverManager::get_driver_by_name("MEM")
            .unwrap()
            .create_with_band_type::<f32, _>("", width, height, 1)
            .unwrap();
        let transform = [500_000.0, 12.0, 3.0, 4_300_000.0, 2.5, -15.0];
        source.set_geo_transform(&transform).unwrap();
        let srs = gdal::spatial_ref::SpatialRef::from_epsg(32615).unwrap();
        source.set_spatial_ref(&srs).unwrap();
        let values: Vec<f32> = (0..width * height)
            .map(|i| {
                if i % 97 == 0 {
                    NODATA as f32
                } else {
                    ((i % width) as f32 * 0.37).sin() + (i / width) as f32 * 1e-3
                }
            })
            .collect();
        let scratch =
            create_output(&source, &dir.path().join("s.tif"), width, height, "p").unwrap();
        let mut buffer = Buffer::new((width, height), values.clone());
        scratch
            .rasterband(1)
            .unwrap()
            .write((0, 0), (width, height), &mut buffer)
            .unwrap();
        let cogs = [dir.path().join("gdal.tif"), dir.path().join("ours.tif")];
        let gdal_band = encode(vec![scratch], &cogs[..1], 2).unwrap().remove(0);
        let geo = cog::GeoTags::from_gdal(
            Some(transform),
            &source.projection(),
            &dir.path().join("probe.tif"),
        )
        .unwrap()
        .expect("UTM needs no sidecar");
        let band = cog::Band {
            width,
            height,
            values: &values,
            nodata: NODATA as f32,
            description: "p",
        };
        let our_band = cog::write(&[(band, cogs[1].as_path())], &geo, TILE, 2)
            .unwrap()
            .remove(0);
        assert!(!dir.path().join("probe.tif").exists());
        // GDAL sums the statistics block by block: the last digits may differ.
        for key in ["minimum", "maximum", "mean", "stddev", "valid_percent"] {
            let a = gdal_band["statistics"][key].as_f64().unwrap();
            let b = our_band["statistics"][key].as_f64().unwrap();
            assert!(
                (a - b).abs() <= 1e-4 * a.abs().max(1.0),
                "{key}: {a} against {b}"
            );
        }
        assert_eq!(gdal_band["nodata"], json!(NODATA));
        assert_eq!(our_band["nodata"], json!(NODATA));
        let read = |path: &Path| {
            let dataset = Dataset::open(path).unwrap();
            assert_eq!(
                dataset
                    .metadata_item("LAYOUT", "IMAGE_STRUCTURE")
                    .as_deref(),
                Some("COG"),
                "{}",
                path.display()
            );
            let band = dataset.rasterband(1).unwrap();
            assert_eq!(band.overview_count().unwrap(), 2);
            assert_eq!(band.no_data_value(), Some(NODATA));
            assert_eq!(band.description().unwrap(), "p");
            let overview = band.overview(0).unwrap();
            let (ow, oh) = overview.size();
            let overview = overview
                .read_as::<f32>((0, 0), (ow, oh), (ow, oh), None)
                .unwrap()
                .data()
                .to_vec();
            let full = band
                .read_as::<f32>((0, 0), (width, height), (width, height), None)
                .unwrap()
                .data()
                .to_vec();
            (
                dataset.geo_transform().unwrap(),
                dataset.spatial_ref().unwrap().auth_code().unwrap(),
                full,
                overview,
            )
        };
        let (gdal_transform, gdal_epsg, gdal_full, gdal_overview) = read(&cogs[0]);
        let (our_transform, our_epsg, our_full, our_overview) = read(&cogs[1]);
        assert_eq!(gdal_transform, transform);
        assert_eq!(our_transform, transform);
        assert_eq!((gdal_epsg, our_epsg), (32615, 32615));
        assert_eq!(gdal_full, values);
        assert_eq!(our_full, values);
        // Both average the valid pixels of each 2×2 block.
        assert_eq!(our_overview.len(), gdal_overview.len());
        for (i, (a, b)) in our_overview.iter().zip(&gdal_overview).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * a.abs().max(1.0),
                "overview pixel {i}: {a} against {b}"
            );
        }
    }
}
