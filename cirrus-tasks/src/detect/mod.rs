//! `hsi-detect`: target detection and anomaly maps of a hyperspectral scene.
//!
//! | method | score | statistics |
//! |---|---|---|
//! | `mf` | matched filter `sᵀΣ⁻¹(x−μ) / (sᵀΣ⁻¹s)`: the target abundance (1 = pure target) | scene |
//! | `ace` | adaptive coherence estimator `(sᵀΣ⁻¹(x−μ))² / ((sᵀΣ⁻¹s)·(x−μ)ᵀΣ⁻¹(x−μ))`, 0–1 | scene |
//! | `rx` | RX anomaly `(x−μ)ᵀΣ⁻¹(x−μ)` | scene |
//! | `ch4-mf` | methane matched filter `(x−μ_c)ᵀΣ_c⁻¹t_c / (t_cᵀΣ_c⁻¹t_c)`, `t_c = −μ_c ⊙ k`, in ppm·m | per column |
//!
//! The signature `s` of an absolute target spectrum `t` (oil, a custom spectrum) is `t − μ`;
//! for `"methane"` it is `−μ ⊙ k`, `k` the unit methane absorption (per ppm·m) of
//! [`crate::library::methane_absorption`], so scores are enhancements in ppm·m. The oil
//! target is the library's oil reflectance, times [`crate::library::solar_radiance`] when the
//! scene holds radiance (an ENVI scene with `data gain values`, an asset role `radiance`, or
//! `processing:level` L1…).
//!
//! Two passes over the scene, block by block on `TaskEnv::threads` threads ([`engine`]):
//! statistics first (mean and covariance of the valid pixels over the good bands, for the
//! scene and, for `ch4-mf`, for each cross-track column over the methane window), then the
//! detectors ([`apply`]). A pixel is valid when every good band has data (not NaN, not the
//! −9999 fill, not the declared nodata); bands the `bbl` (or `hsi:bbl: 0`) marks bad are left
//! out of the spectra. The covariance is shrunk towards a scaled identity,
//! `Σ_reg = (1 − λ)Σ + λ·(tr Σ / p)·I` (λ = `regularization`), and factorised by Cholesky.
//! A scene with no more valid pixels than bands, or whose `Σ_reg` is singular (condition
//! number above 10¹²), is INVALID; a column that is, for `ch4-mf`, is left as no data.
//!
//! One output item per input item, `<input id>_detect`, with a float32 COG per method (asset
//! key = method name, nodata NaN, on the source's grid) and `cirrus:detection`: the target,
//! methods, λ, pixels and bands used, the bands left out, each method's score range and
//! mean, the covariance's condition number and the statistics' scope.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `methods` | `["mf", "ace", "rx"]` | any of `mf`, `ace`, `rx`, `ch4-mf` |
//! | `target` | `"oil"` | `"oil"`, `"methane"` or `{"wavelengths_nm": [...], "values": [...]}` (linear interpolation; must cover every good band) |
//! | `asset` | first with `eo:bands` (`cog`, then `data`), else `data`/`cog` with its ENVI header | the asset to read |
//! | `regularization` | `0.001` | the shrinkage λ in [0, 1) |
//! | `block_lines` | ~8 MiB of f64 spectra | lines per block |
//! | `collection` | `<input collection>-detect` | the output items' collection |
//! | `methane_window_nm` | `[2100, 2450]` | the bands of `ch4-mf` |

pub mod apply;
pub mod engine;
pub mod input;
pub mod item;
pub mod params;
pub mod scene;
pub mod stats;

use crate::env::TaskEnv;
use crate::error::{Error, Result};
use crate::io::{Outputs, Workdir};
use crate::library::{self, Material};
use async_trait::async_trait;
use cirrus_core::payload::{Feature, ProcessPayload};
use cirrus_core::task::{Task, TaskContext, TaskError};
use engine::{Plan, Signature};
use gdal::Dataset;
use input::{Quantity, Source};
use nalgebra::DVector;
use params::{Method, Parameters, Target};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The task's name.
pub const NAME: &str = "hsi-detect";

/// The parameters also taken from `process[0].workflow_options` (under
/// `process[0].tasks.hsi-detect`): those only this task uses. `asset` and `collection`
/// mean something else to each task, so they are read from the task's own options only.
const WORKFLOW_OPTIONS: &[&str] = &[
    "methods",
    "target",
    "regularization",
    "block_lines",
    "methane_window_nm",
];

/// The default block size: this many bytes of f64 spectra per block.
const BLOCK_BYTES: usize = 8 << 20;

/// The `hsi-detect` task.
#[derive(Debug, Clone)]
pub struct HsiDetect {
    env: TaskEnv,
}

#[async_trait]
impl Task for HsiDetect {
    fn name(&self) -> &str {
        NAME
    }

    async fn run(
        &self,
        payload: ProcessPayload,
        _ctx: &TaskContext,
    ) -> std::result::Result<ProcessPayload, TaskError> {
        Ok(self.detect(payload).await?)
    }
}

impl HsiDetect {
    /// The task, writing where `env` says.
    pub fn new(env: TaskEnv) -> HsiDetect {
        HsiDetect { env }
    }

    /// Runs the detectors on every item of `payload`; the output payload holds one
    /// `<id>_detect` item per input item.
    pub async fn detect(&self, mut payload: ProcessPayload) -> Result<ProcessPayload> {
        let params: Parameters = crate::generic::parameters(&payload, NAME, WORKFLOW_OPTIONS)?;
        let target = params.validate()?;
        let workdir = Workdir::new(&self.env, NAME)?;
        let mut outputs = Vec::with_capacity(payload.features.len());
        for (i, item) in payload.features.iter().enumerate() {
            let scratch = workdir.path().join(format!("item-{i}"));
            std::fs::create_dir_all(&scratch)
                .map_err(|err| Error::io(&scratch, "cannot create a scratch folder", err))?;
            outputs.push(
                self.detect_item(&payload, item, &params, &target, &scratch)
                    .await?,
            );
        }
        payload.features = outputs;
        Ok(payload)
    }

    /// The output item of one input item (or the published one, when it exists and
    /// `replace` is not set).
    async fn detect_item(
        &self,
        payload: &ProcessPayload,
        input: &Feature,
        params: &Parameters,
        target: &Target,
        scratch: &Path,
    ) -> Result<Feature> {
        let collection = params
            .collection
            .clone()
            .unwrap_or_else(|| format!("{}-detect", input.collection().unwrap_or("hsi")));
        let mut item = item::skeleton(input, &collection);
        let outputs = Outputs::for_item(&self.env, payload, &feature(input, item.clone())?)?;
        if !payload.process_definition().replace()
            && let Some(existing) = outputs.existing_item().await?
        {
            tracing::info!(item = %item::output_id(input), "output item exists: skipped");
            return feature(input, existing.as_object().cloned().unwrap_or_default());
        }
        let key = input::choose_asset(input, params.asset.as_deref())?;
        let source = input::fetch_source(input, &key, scratch).await?;
        let id = item::output_id(input);
        let job = Job {
            item: input.id().to_string(),
            output: id.clone(),
            source,
            params: params.clone(),
            target: target.clone(),
            threads: self.env.threads(),
            dir: scratch.to_path_buf(),
        };
        let done = tokio::task::spawn_blocking(move || job.run())
            .await
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))?;
        let source_asset = input
            .as_value()
            .pointer(&format!(
                "/assets/{}",
                key.replace('~', "~0").replace('/', "~1")
            ))
            .cloned();
        let mut assets = serde_json::Map::new();
        for (method, file, band) in done.maps {
            let href = outputs
                .put(&file, &format!("{id}_{}.tif", method.as_str()))
                .await?;
            assets.insert(
                method.as_str().into(),
                item::asset(method, &href, band, source_asset.as_ref()),
            );
        }
        item.insert("assets".into(), Value::Object(assets));
        if let Some(properties) = item.get_mut("properties").and_then(Value::as_object_mut) {
            properties.insert("cirrus:detection".into(), done.detection);
        }
        let parameters = serde_json::to_value(params).unwrap_or(Value::Null);
        crate::provenance::record(&mut item, NAME, input, parameters);
        feature(input, item)
    }
}

/// `map` as a [`Feature`]; an error names the input item.
fn feature(input: &Feature, map: serde_json::Map<String, Value>) -> Result<Feature> {
    Feature::from_map(map).map_err(|err| Error::item(input.id(), format!("output item: {err}")))
}

/// The blocking part of one item: both passes and the COGs.
struct Job {
    item: String,
    output: String,
    source: Source,
    params: Parameters,
    target: Target,
    threads: usize,
    dir: PathBuf,
}

/// What a job made.
struct Done {
    /// Per method: the COG and its `raster:bands` entry.
    maps: Vec<(Method, PathBuf, Value)>,
    /// `cirrus:detection`.
    detection: Value,
}

impl Job {
    fn run(self) -> Result<Done> {
        let source = &self.source;
        let invalid =
            |message: String| Error::item(&self.item, format!("asset {:?}: {message}", source.key));
        let used: Vec<usize> = (0..source.bands.0.len())
            .filter(|b| source.bands.0[*b].good)
            .collect();
        if used.len() < 2 {
            return Err(invalid(format!(
                "{} good bands: detection needs at least two",
                used.len()
            )));
        }
        let dataset = Dataset::open(&source.path)
            .map_err(|err| Error::gdal(format!("opening {}", source.path.display()), err))?;
        let scene = input::scene(source, &dataset, &used)?;
        let centres: Vec<f64> = used.iter().map(|b| source.bands.0[*b].center_nm).collect();
        let target = signature(&self.target, source, &used, &centres)?;
        let window_nm = self.params.methane_window_nm;
        let (methane_window, methane_k) = if self.params.methods.contains(&Method::Ch4Mf) {
            methane_window(&centres, window_nm, source)?
        } else {
            (Vec::new(), DVector::zeros(0))
        };
        let block_lines = self.params.block_lines.unwrap_or_else(|| {
            (BLOCK_BYTES / (scene.width * scene.band_count() * 8).max(1)).max(1)
        });
        let plan = Plan {
            block_lines: block_lines.min(scene.height.max(1)),
            threads: self.threads,
            regularization: self.params.regularization,
            methods: self.params.methods.clone(),
            target,
            methane_window,
            methane_k,
            methane_window_nm: window_nm,
            scene,
        };
        tracing::info!(
            item = %self.item,
            bands = plan.scene.band_count(),
            width = plan.scene.width,
            height = plan.scene.height,
            block_lines = plan.block_lines,
            "hsi-detect: statistics"
        );
        let stats = engine::statistics(&plan)?;
        let models = engine::models(&plan, &stats).map_err(invalid)?;
        let valid_pixels = match &stats.scene {
            Some(scene) => scene.n,
            None => stats.columns.iter().map(|c| c.n).sum(),
        };
        let raw: Vec<PathBuf> = plan
            .methods
            .iter()
            .map(|m| self.dir.join(format!("{}-raw.tif", m.as_str())))
            .collect();
        let scores = apply::apply(&plan, &models, &dataset, &raw)?;
        let mut maps = Vec::with_capacity(raw.len());
        for (method, raw) in plan.methods.iter().zip(&raw) {
            let cog = self
                .dir
                .join(format!("{}_{}.tif", self.output, method.as_str()));
            {
                let map = Dataset::open(raw)
                    .map_err(|err| Error::gdal(format!("opening {}", raw.display()), err))?;
                crate::raster::write_cog(&map, &cog)?;
            }
            let _ = std::fs::remove_file(raw);
            let written = Dataset::open(&cog)
                .map_err(|err| Error::gdal(format!("opening {}", cog.display()), err))?;
            let band = crate::raster::raster_band(&written, 1)?;
            maps.push((*method, cog, band));
        }
        let detection = item::Summary {
            asset: &source.key,
            target: &self.target,
            quantity: source.quantity.as_str(),
            bands: &source.bands,
            plan: &plan,
            models: &models,
            valid_pixels,
            scores: &scores,
        }
        .to_json();
        Ok(Done { maps, detection })
    }
}

/// The signature of `mf` and `ace` over the good bands (`centres`, nm).
fn signature(
    target: &Target,
    source: &Source,
    used: &[usize],
    centres: &[f64],
) -> Result<Signature> {
    Ok(match target {
        Target::Oil => Signature::Spectrum(DVector::from_iterator(
            centres.len(),
            centres.iter().map(|nm| {
                let rho = library::reflectance(Material::Oil, *nm);
                match source.quantity {
                    Quantity::Reflectance => rho,
                    Quantity::Radiance => rho * library::solar_radiance(*nm),
                }
            }),
        )),
        Target::Methane => Signature::Relative(DVector::from_iterator(
            centres.len(),
            centres.iter().map(|nm| -library::methane_absorption(*nm)),
        )),
        Target::Custom(spectrum) => {
            let mut values = Vec::with_capacity(centres.len());
            for (b, nm) in used.iter().zip(centres) {
                values.push(spectrum.at(*nm).ok_or_else(|| {
                    Error::parameter(
                        "target",
                        format!(
                            "the spectrum covers {}–{} nm, but band {} (a good band) is at {nm:.2} nm",
                            spectrum.wavelengths_nm[0],
                            spectrum.wavelengths_nm[spectrum.wavelengths_nm.len() - 1],
                            source.bands.0[*b].name
                        ),
                    )
                })?);
            }
            Signature::Spectrum(DVector::from_vec(values))
        }
    })
}

/// The good bands (indices into `centres`) inside `window` and `k` there.
fn methane_window(
    centres: &[f64],
    window: [f64; 2],
    source: &Source,
) -> Result<(Vec<usize>, DVector<f64>)> {
    let bands: Vec<usize> = (0..centres.len())
        .filter(|i| (window[0]..=window[1]).contains(&centres[*i]))
        .filter(|i| library::methane_absorption(centres[*i]) > 0.0)
        .collect();
    if bands.len() < 2 {
        let (lo, hi) = source.bands.range_nm();
        return Err(Error::parameter(
            "methane_window_nm",
            format!(
                "[{}, {}] nm holds {} good band(s) where methane absorbs; the sensor covers {lo:.1}–{hi:.1} nm",
                window[0],
                window[1],
                bands.len()
            ),
        ));
    }
    let k = DVector::from_iterator(
        bands.len(),
        bands
            .iter()
            .map(|i| -library::methane_absorption(centres[*i])),
    );
    Ok((bands, k))
}
