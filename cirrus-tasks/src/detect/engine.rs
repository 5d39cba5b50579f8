//! The detection engine, in two passes over the scene, block by block on a bounded pool of
//! threads (each with its own reader: a file handle or a GDAL dataset):
//!
//! 1. [`statistics`]: the mean and covariance of the valid pixels, for the whole scene
//!    (`mf`, `ace`, `rx`) and for each cross-track column over the methane window
//!    (`ch4-mf`), merged across blocks and threads;
//! 2. [`apply`](super::apply::apply): the detectors, pixel by pixel, into one float32 raster
//!    per method.
//!
//! Memory is bounded by the block size (a block's spectra in f64, twice: the values and
//! their centred copy), the per-thread partial statistics (p² values for the scene, and
//! `width × q²` for the columns, q the bands of the methane window), and at most
//! `threads` blocks of scores waiting to be written.

use super::params::Method;
use super::scene::Scene;
use super::stats::{Background, Filter, Moments, Problem};
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

/// What to compute, on which bands.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The raster and the bands read (the good bands, in raster order).
    pub scene: Scene,
    /// Lines per block.
    pub block_lines: usize,
    /// Threads to use.
    pub threads: usize,
    /// The covariance shrinkage λ.
    pub regularization: f64,
    /// The methods to run, in output order.
    pub methods: Vec<Method>,
    /// The target of `mf` and `ace`, over the bands read.
    pub target: Signature,
    /// `ch4-mf`'s bands (indices into the bands read) and the unit methane absorption
    /// spectrum `k` there (per ppm·m, negative where methane absorbs); empty without `ch4-mf`.
    pub methane_window: Vec<usize>,
    /// `k` over `methane_window`.
    pub methane_k: DVector<f64>,
    /// The wavelengths the methane window was chosen from, in nanometres.
    pub methane_window_nm: [f64; 2],
}

/// How the signature `s` of `mf` and `ace` comes from the target.
#[derive(Debug, Clone)]
pub enum Signature {
    /// An absolute target spectrum `t`: `s = t − μ`.
    Spectrum(DVector<f64>),
    /// A relative change `k` (per unit abundance): `s = μ ⊙ k`.
    Relative(DVector<f64>),
}

impl Signature {
    /// The signature against the background mean `mean`.
    pub fn against(&self, mean: &DVector<f64>) -> DVector<f64> {
        match self {
            Signature::Spectrum(t) => t - mean,
            Signature::Relative(k) => mean.component_mul(k),
        }
    }
}

impl Plan {
    /// Whether a scene-wide background is needed.
    pub fn needs_scene(&self) -> bool {
        self.methods
            .iter()
            .any(|m| matches!(m, Method::Mf | Method::Ace | Method::Rx))
    }

    /// Whether per-column backgrounds are needed.
    pub fn needs_columns(&self) -> bool {
        self.methods.contains(&Method::Ch4Mf)
    }

    /// The blocks: (first line, lines).
    pub fn blocks(&self) -> Vec<(usize, usize)> {
        (0..self.scene.height)
            .step_by(self.block_lines.max(1))
            .map(|first| (first, self.block_lines.min(self.scene.height - first)))
            .collect()
    }

    /// The worker count: no more than the threads or the blocks.
    pub fn workers(&self) -> usize {
        self.threads.clamp(1, self.blocks().len().max(1))
    }

    /// A pool of [`Plan::workers`] threads.
    pub fn pool(&self) -> Result<rayon::ThreadPool> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.workers())
            .thread_name(|i| format!("hsi-detect-{i}"))
            .build()
            .map_err(|err| {
                Error::io(
                    &self.scene.path,
                    "cannot start the detection threads",
                    std::io::Error::other(err),
                )
            })
    }
}

/// The statistics of pass 1.
#[derive(Debug, Clone)]
pub struct Statistics {
    /// The scene's, over every band read (when needed).
    pub scene: Option<Moments>,
    /// Each column's, over the methane window (when needed).
    pub columns: Vec<Moments>,
}

impl Statistics {
    fn empty(plan: &Plan) -> Statistics {
        Statistics {
            scene: plan
                .needs_scene()
                .then(|| Moments::new(plan.scene.band_count())),
            columns: if plan.needs_columns() {
                vec![Moments::new(plan.methane_window.len()); plan.scene.width]
            } else {
                Vec::new()
            },
        }
    }

    fn merge(&mut self, other: &Statistics) {
        if let (Some(mine), Some(theirs)) = (&mut self.scene, &other.scene) {
            mine.merge(theirs);
        }
        for (mine, theirs) in self.columns.iter_mut().zip(&other.columns) {
            mine.merge(theirs);
        }
    }
}

/// Pass 1: the statistics of the valid pixels.
pub fn statistics(plan: &Plan) -> Result<Statistics> {
    let blocks = plan.blocks();
    let workers = plan.workers();
    let partials: Vec<Statistics> = plan.pool()?.install(|| {
        (0..workers)
            .into_par_iter()
            .map(|worker| {
                let reader = plan.scene.open()?;
                let mut stats = Statistics::empty(plan);
                let (mut values, mut valid) = (Vec::new(), Vec::new());
                let (mut picked, mut scratch) = (Vec::new(), Vec::new());
                for &(first, lines) in blocks.iter().skip(worker).step_by(workers) {
                    plan.scene
                        .read(&reader, first, lines, &mut values, &mut valid)?;
                    accumulate(plan, &mut stats, &values, &valid, &mut picked, &mut scratch);
                }
                Ok(stats)
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let mut total = Statistics::empty(plan);
    for partial in &partials {
        total.merge(partial);
    }
    Ok(total)
}

/// Adds one block's valid pixels to `stats`.
fn accumulate(
    plan: &Plan,
    stats: &mut Statistics,
    values: &[f64],
    valid: &[bool],
    picked: &mut Vec<f64>,
    scratch: &mut Vec<f64>,
) {
    let nb = plan.scene.band_count();
    if let Some(scene) = &mut stats.scene {
        picked.clear();
        for (pixel, _) in values.chunks_exact(nb).zip(valid).filter(|(_, ok)| **ok) {
            picked.extend_from_slice(pixel);
        }
        scene.add(picked, scratch);
    }
    let width = plan.scene.width;
    for (column, moments) in stats.columns.iter_mut().enumerate() {
        picked.clear();
        for (i, _) in valid
            .iter()
            .enumerate()
            .skip(column)
            .step_by(width)
            .filter(|(_, ok)| **ok)
        {
            let pixel = &values[i * nb..(i + 1) * nb];
            picked.extend(plan.methane_window.iter().map(|b| pixel[*b]));
        }
        moments.add(picked, scratch);
    }
}

/// The scene-wide detector of `mf`, `ace` and `rx`.
#[derive(Debug, Clone)]
pub struct SceneModel {
    /// The background.
    pub background: Background,
    /// The matched filter of the target (`None` when `mf` and `ace` are not asked for).
    pub filter: Option<Filter>,
    /// `L⁻¹` (only when `ace` or `rx` is asked for).
    pub whitening: Option<DMatrix<f64>>,
}

/// The methane matched filter of one column.
#[derive(Debug, Clone)]
pub struct ColumnModel {
    /// The column's mean over the methane window.
    pub mean: DVector<f64>,
    /// Its filter `Σ_c⁻¹t_c / (t_cᵀΣ_c⁻¹t_c)`.
    pub weights: DVector<f64>,
    /// Its covariance's condition number.
    pub condition: f64,
}

/// The models of pass 2, made from the statistics of pass 1.
#[derive(Debug, Clone)]
pub struct Models {
    /// The scene model, when `mf`, `ace` or `rx` is asked for.
    pub scene: Option<SceneModel>,
    /// Each column's methane filter (`None` for a column with too few valid pixels or a
    /// singular covariance: its scores are no data).
    pub columns: Vec<Option<ColumnModel>>,
}

/// Regularises and factorises the statistics. A scene whose covariance cannot be made
/// (too few valid pixels, singular), or whose every column fails, is an error naming why.
pub fn models(plan: &Plan, stats: &Statistics) -> std::result::Result<Models, String> {
    let scene = match &stats.scene {
        None => None,
        Some(moments) => {
            let background = Background::new(moments, plan.regularization)
                .map_err(|problem| format!("scene statistics: {problem}"))?;
            let wants = |m: Method| plan.methods.contains(&m);
            let filter = if wants(Method::Mf) || wants(Method::Ace) {
                let signature = plan.target.against(&background.mean);
                Some(background.filter(&signature).ok_or_else(|| {
                    "the target signature is zero after whitening: the target equals the scene mean"
                        .to_string()
                })?)
            } else {
                None
            };
            let whitening =
                (wants(Method::Ace) || wants(Method::Rx)).then(|| background.whitening());
            Some(SceneModel {
                background,
                filter,
                whitening,
            })
        }
    };
    let mut columns = Vec::with_capacity(stats.columns.len());
    let mut first_problem: Option<(usize, Problem)> = None;
    for (c, moments) in stats.columns.iter().enumerate() {
        let model = Background::new(moments, plan.regularization).and_then(|background| {
            let signature = background.mean.component_mul(&plan.methane_k);
            let filter = background.filter(&signature).ok_or(Problem::Singular {
                condition: background.condition,
            })?;
            Ok(ColumnModel {
                mean: background.mean,
                weights: filter.weights,
                condition: background.condition,
            })
        });
        match model {
            Ok(model) => columns.push(Some(model)),
            Err(problem) => {
                first_problem.get_or_insert((c, problem));
                columns.push(None);
            }
        }
    }
    if !columns.is_empty() && columns.iter().all(Option::is_none) {
        let (c, problem) = first_problem.expect("invariant: every column failed, so one did");
        return Err(format!(
            "ch4-mf: no column has usable statistics over the {} bands of the methane window (column {c}: {problem})",
            plan.methane_window.len()
        ));
    }
    if let Some((c, problem)) = first_problem {
        tracing::warn!(
            column = c,
            skipped = columns.iter().filter(|m| m.is_none()).count(),
            %problem,
            "ch4-mf: columns without usable statistics are left as no data"
        );
    }
    Ok(Models { scene, columns })
}
