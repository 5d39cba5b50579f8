//! Pass 2: the detectors applied pixel by pixel, block by block, written to one float32
//! GeoTIFF per method (no data: NaN) on the source's grid.
//!
//! With `w = Σ⁻¹s / (sᵀΣ⁻¹s)`, `L` the Cholesky factor of `Σ` and `d = x − μ`:
//! `MF = wᵀd`; `RX = ‖L⁻¹d‖²`; `ACE = ((L⁻¹s)ᵀ(L⁻¹d))² / ((sᵀΣ⁻¹s)·RX)`;
//! per column c, `CH4 = w_cᵀ(x − μ_c)` over the methane window.

use super::engine::{Models, Plan};
use super::params::Method;
use crate::error::{Error, Result};
use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::{Dataset, DriverManager};
use nalgebra::{DMatrix, DMatrixView};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// The minimum, maximum and mean of a method's valid scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreStats {
    /// Scored pixels.
    pub count: u64,
    /// The smallest score.
    pub min: f64,
    /// The largest score.
    pub max: f64,
    /// The sum of the scores.
    pub sum: f64,
}

impl Default for ScoreStats {
    fn default() -> ScoreStats {
        ScoreStats {
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
        }
    }
}

impl ScoreStats {
    fn add(&mut self, score: f64) {
        self.count += 1;
        self.min = self.min.min(score);
        self.max = self.max.max(score);
        self.sum += score;
    }

    fn merge(&mut self, other: &ScoreStats) {
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    /// The mean score (NaN without scores).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum / self.count as f64
        }
    }
}

/// One block of scores on its way to the writer: the first line and a map per method.
type ScoredBlock = (usize, usize, Vec<Vec<f32>>);

/// Pass 2: scores every pixel with every method of `plan`, writing `outputs[i]` (a GeoTIFF
/// on the grid of `source`) for `plan.methods[i]`. Returns each method's score statistics.
pub fn apply(
    plan: &Plan,
    models: &Models,
    source: &Dataset,
    outputs: &[PathBuf],
) -> Result<Vec<ScoreStats>> {
    let mut targets = outputs
        .iter()
        .map(|path| create(source, path, plan.scene.width, plan.scene.height))
        .collect::<Result<Vec<_>>>()?;
    let blocks = plan.blocks();
    let workers = plan.workers();
    let pool = plan.pool()?;
    let (sender, receiver) = mpsc::sync_channel::<ScoredBlock>(workers);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<()> {
            for (first, lines, maps) in receiver {
                for ((target, path), map) in targets.iter_mut().zip(outputs).zip(maps) {
                    write(target, path, first, lines, map)?;
                }
            }
            for (target, path) in targets.iter_mut().zip(outputs) {
                target
                    .flush_cache()
                    .map_err(|err| Error::gdal(format!("writing {}", path.display()), err))?;
            }
            Ok(())
        });
        let scored = pool.install(|| {
            (0..workers)
                .into_par_iter()
                .map(|worker| {
                    let sender = sender.clone();
                    let reader = plan.scene.open()?;
                    let mut stats = vec![ScoreStats::default(); plan.methods.len()];
                    let mut buffers = Buffers::default();
                    for &(first, lines) in blocks.iter().skip(worker).step_by(workers) {
                        plan.scene.read(
                            &reader,
                            first,
                            lines,
                            &mut buffers.values,
                            &mut buffers.valid,
                        )?;
                        let maps = score(plan, models, &mut buffers, &mut stats);
                        if sender.send((first, lines, maps)).is_err() {
                            // The writer stopped on an error, which it reports.
                            break;
                        }
                    }
                    Ok(stats)
                })
                .collect::<Result<Vec<_>>>()
        });
        drop(sender);
        let written = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        written?;
        let mut total = vec![ScoreStats::default(); plan.methods.len()];
        for partial in scored? {
            for (t, p) in total.iter_mut().zip(&partial) {
                t.merge(p);
            }
        }
        Ok(total)
    })
}

/// A worker's reusable buffers.
#[derive(Default)]
struct Buffers {
    values: Vec<f64>,
    valid: Vec<bool>,
    centred: Vec<f64>,
}

/// The scores of one block, one map per method (NaN where there is no score).
fn score(
    plan: &Plan,
    models: &Models,
    buffers: &mut Buffers,
    stats: &mut [ScoreStats],
) -> Vec<Vec<f32>> {
    let nb = plan.scene.band_count();
    let pixels = buffers.valid.len();
    let mut maps = vec![vec![f32::NAN; pixels]; plan.methods.len()];
    let valid_indices: Vec<usize> = (0..pixels).filter(|i| buffers.valid[*i]).collect();
    if let Some(model) = &models.scene {
        let mean = &model.background.mean;
        let centred = &mut buffers.centred;
        centred.clear();
        for &i in &valid_indices {
            let pixel = &buffers.values[i * nb..(i + 1) * nb];
            centred.extend(pixel.iter().zip(mean.iter()).map(|(x, m)| x - m));
        }
        let n = valid_indices.len();
        let whitened = model.whitening.as_ref().filter(|_| n > 0).map(|l_inv| {
            let d = DMatrixView::from_slice(centred, nb, n);
            let mut z = DMatrix::<f64>::zeros(nb, n);
            z.gemm(1.0, l_inv, &d, 0.0);
            z
        });
        for (m, method) in plan.methods.iter().enumerate() {
            for (j, &i) in valid_indices.iter().enumerate() {
                let d = &centred[j * nb..(j + 1) * nb];
                let value = match (method, &model.filter, &whitened) {
                    (Method::Mf, Some(filter), _) => filter
                        .weights
                        .as_slice()
                        .iter()
                        .zip(d)
                        .map(|(w, x)| w * x)
                        .sum(),
                    (Method::Rx, _, Some(z)) => z.column(j).norm_squared(),
                    (Method::Ace, Some(filter), Some(z)) => {
                        let z = z.column(j);
                        let rx = z.norm_squared();
                        if rx > 0.0 {
                            filter.whitened.dot(&z).powi(2) / (filter.energy * rx)
                        } else {
                            0.0
                        }
                    }
                    _ => continue,
                };
                maps[m][i] = value as f32;
                stats[m].add(f64::from(value as f32));
            }
        }
    }
    if let Some(m) = plan.methods.iter().position(|m| *m == Method::Ch4Mf) {
        let width = plan.scene.width;
        for &i in &valid_indices {
            let Some(Some(column)) = models.columns.get(i % width) else {
                continue;
            };
            let pixel = &buffers.values[i * nb..(i + 1) * nb];
            let value: f64 = plan
                .methane_window
                .iter()
                .zip(column.mean.iter().zip(column.weights.iter()))
                .map(|(b, (mu, w))| w * (pixel[*b] - mu))
                .sum();
            maps[m][i] = value as f32;
            stats[m].add(f64::from(value as f32));
        }
    }
    maps
}

/// A single-band float32 GeoTIFF on `source`'s grid, no data NaN.
fn create(source: &Dataset, path: &Path, width: usize, height: usize) -> Result<Dataset> {
    let context = || format!("creating {}", path.display());
    let driver = DriverManager::get_driver_by_name("GTiff")
        .map_err(|err| Error::gdal("the GTiff driver is missing", err))?;
    let options = RasterCreationOptions::from_iter(["BIGTIFF=IF_SAFER"]);
    let mut target = driver
        .create_with_band_type_with_options::<f32, _>(path, width, height, 1, &options)
        .map_err(|err| Error::gdal(context(), err))?;
    if let Ok(transform) = source.geo_transform() {
        target
            .set_geo_transform(&transform)
            .map_err(|err| Error::gdal(context(), err))?;
    }
    let projection = source.projection();
    if !projection.is_empty() {
        target
            .set_projection(&projection)
            .map_err(|err| Error::gdal(context(), err))?;
    }
    target
        .rasterband(1)
        .and_then(|mut band| band.set_no_data_value(Some(f64::NAN)))
        .map_err(|err| Error::gdal(context(), err))?;
    Ok(target)
}

/// Writes `map` (lines `first..first + lines`) into `target`.
fn write(
    target: &mut Dataset,
    path: &Path,
    first: usize,
    lines: usize,
    map: Vec<f32>,
) -> Result<()> {
    let width = target.raster_size().0;
    let mut buffer = Buffer::new((width, lines), map);
    let line = isize::try_from(first)
        .map_err(|_| Error::envi(path, format!("line {first} does not fit GDAL's sizes")))?;
    target
        .rasterband(1)
        .and_then(|mut band| band.write((0, line), (width, lines), &mut buffer))
        .map_err(|err| {
            Error::gdal(
                format!("writing lines {first}.. of {}", path.display()),
                err,
            )
        })
}
