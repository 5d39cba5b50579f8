//! The content of a synthetic scene: smooth abundance fields of vegetation, water and soil,
//! a brightness field, planted target blobs, fill corners, and the per-line spectra.
//!
//! Everything here is a pure function of the seed and the pixel position, so any line can be
//! generated alone, by any thread, in any order.

use super::rng::{Rng, hash};
use super::{SynthDtype, SynthOptions, Target};
use crate::library::{self, Material};
use std::collections::BTreeMap;

/// The value of a float32 pixel without data (not declared in the header).
pub(crate) const FILL: f32 = -9999.0;

/// The standard deviation of the reflectance noise.
const NOISE: f64 = 0.002;

/// A smooth random field on the unit square: a sum of a few low-frequency plane waves.
#[derive(Debug, Clone)]
struct Field {
    /// `(amplitude, cycles along u, cycles along v, phase)`.
    waves: Vec<(f64, f64, f64, f64)>,
}

impl Field {
    fn new(seed: u64, stream: u64) -> Field {
        let mut rng = Rng::new(seed, stream);
        let waves = (0..5)
            .map(|i| {
                let cycles = 0.4 + 0.6 * f64::from(i) + rng.uniform();
                let angle = rng.uniform() * std::f64::consts::TAU;
                (
                    1.0 / (1.0 + f64::from(i)),
                    cycles * angle.cos(),
                    cycles * angle.sin(),
                    rng.uniform() * std::f64::consts::TAU,
                )
            })
            .collect();
        Field { waves }
    }

    /// The field at `(u, v)`, roughly in −2..2.
    fn at(&self, u: f64, v: f64) -> f64 {
        self.waves
            .iter()
            .map(|&(a, fu, fv, phase)| {
                a * (std::f64::consts::TAU * (fu * u + fv * v) + phase).sin()
            })
            .sum()
    }
}

/// A planted target: a disc of pixels whose abundance falls from the centre to the edge.
#[derive(Debug, Clone)]
struct Blob {
    line: f64,
    sample: f64,
    radius: f64,
}

/// Everything needed to generate any line of the scene.
#[derive(Debug, Clone)]
pub(crate) struct Scene {
    width: usize,
    height: usize,
    bands: usize,
    seed: u64,
    dtype: SynthDtype,
    target: Option<Target>,
    /// Vegetation, water, soil and brightness fields.
    fields: [Field; 4],
    /// Reflectance of vegetation, water, soil and oil, per band.
    library: [Vec<f64>; 4],
    /// Methane absorption per band (per ppm·m).
    methane: Vec<f64>,
    /// Stored value per unit reflectance, per band (radiance × gain for int16; 1 for float32).
    scale: Vec<f64>,
    blobs: Vec<Blob>,
    /// The leg of the fill triangle at each corner, in pixels (0: no fill).
    fill_leg: f64,
}

impl Scene {
    /// The scene `opts` describes, on the band centres `centres` (nm) with L1 gains `gains`.
    pub(crate) fn new(opts: &SynthOptions, centres: &[f64], gains: &[f64]) -> Scene {
        let (w, h) = (opts.width, opts.height);
        let fields = [1, 2, 3, 4].map(|stream| Field::new(opts.seed, stream));
        let library = [
            Material::Vegetation,
            Material::Water,
            Material::Soil,
            Material::Oil,
        ]
        .map(|m| {
            centres
                .iter()
                .map(|&nm| library::reflectance(m, nm))
                .collect()
        });
        let scale = match opts.dtype {
            SynthDtype::Int16 => centres
                .iter()
                .zip(gains)
                .map(|(&nm, gain)| library::solar_radiance(nm) * gain)
                .collect(),
            SynthDtype::Float32 => vec![1.0; centres.len()],
        };
        // About 1.5 % of the scene is target, in one blob per 50,000 pixels (at most six).
        let area = (w * h) as f64;
        let count = 1 + (w * h / 50_000).min(5);
        let radius = (0.015 * area / count as f64 / std::f64::consts::PI).sqrt();
        let mut rng = Rng::new(opts.seed, 5);
        let blobs = (0..count)
            .map(|_| Blob {
                // Inside the central 70 %, away from the fill corners.
                line: (h as f64 * (0.15 + 0.7 * rng.uniform())).floor(),
                sample: (w as f64 * (0.15 + 0.7 * rng.uniform())).floor(),
                radius,
            })
            .collect();
        Scene {
            width: w,
            height: h,
            bands: centres.len(),
            seed: opts.seed,
            dtype: opts.dtype,
            target: opts.target,
            fields,
            library,
            methane: centres
                .iter()
                .map(|&nm| library::methane_absorption(nm))
                .collect(),
            scale,
            blobs,
            fill_leg: match opts.dtype {
                SynthDtype::Float32 => (w.min(h) as f64 / 10.0).floor().max(1.0),
                SynthDtype::Int16 => 0.0,
            },
        }
    }

    /// Whether pixel `(line, sample)` lies in one of the four fill corners.
    pub(crate) fn is_fill(&self, line: usize, sample: usize) -> bool {
        let (l, s) = (line as f64, sample as f64);
        let (far_l, far_s) = (
            (self.height - 1 - line) as f64,
            (self.width - 1 - sample) as f64,
        );
        [l + s, l + far_s, far_l + s, far_l + far_s]
            .iter()
            .any(|&d| d < self.fill_leg)
    }

    /// The target amount at a pixel: an abundance (oil, 0.3–0.8) or a methane enhancement
    /// (1,500–4,000 ppm·m); `None` outside every blob or without a target.
    pub(crate) fn target_at(&self, line: usize, sample: usize) -> Option<f64> {
        let target = self.target?;
        let (lo, hi) = match target {
            Target::Oil => (0.3, 0.8),
            Target::Methane => (1500.0, 4000.0),
        };
        self.blobs
            .iter()
            .filter_map(|b| {
                let d =
                    ((line as f64 - b.line).powi(2) + (sample as f64 - b.sample).powi(2)).sqrt();
                let reach = b.radius.max(0.5);
                (d <= reach).then(|| hi - (hi - lo) * (d / reach))
            })
            .max_by(f64::total_cmp)
            .filter(|_| !self.is_fill(line, sample))
    }

    /// Every target pixel, in line then sample order: `(line, sample, amount)`.
    pub(crate) fn truth(&self) -> Vec<(usize, usize, f64)> {
        let mut pixels = BTreeMap::new();
        for b in &self.blobs {
            let reach = b.radius.max(0.5);
            let lines = (b.line - reach).floor().max(0.0) as usize
                ..=((b.line + reach).ceil() as usize).min(self.height - 1);
            for line in lines {
                let samples = (b.sample - reach).floor().max(0.0) as usize
                    ..=((b.sample + reach).ceil() as usize).min(self.width - 1);
                for sample in samples {
                    if let Some(amount) = self.target_at(line, sample) {
                        pixels.insert((line, sample), amount);
                    }
                }
            }
        }
        pixels.into_iter().map(|((l, s), a)| (l, s, a)).collect()
    }

    /// Fills `out` (band-major: `out[band * width + sample]`) with the stored values of
    /// `line`, before conversion to the file's type.
    pub(crate) fn line(&self, line: usize, out: &mut [f64]) {
        let w = self.width;
        let mut rng = Rng::new(self.seed, hash(6, line as u64));
        let v = line as f64 / self.height as f64;
        for sample in 0..w {
            if self.is_fill(line, sample) {
                for band in 0..self.bands {
                    out[band * w + sample] = f64::from(FILL);
                }
                continue;
            }
            let u = sample as f64 / w as f64;
            // Softmax of the three material fields: mostly pure patches, mixed at the borders.
            let raw = [0, 1, 2].map(|m| (2.5 * self.fields[m].at(u, v)).exp());
            let total: f64 = raw.iter().sum();
            let [veg, water, soil] = raw.map(|r| r / total);
            let brightness = 1.0 + 0.08 * self.fields[3].at(u, v);
            let target = self.target_at(line, sample);
            for band in 0..self.bands {
                let mut r = brightness
                    * (veg * self.library[0][band]
                        + water * self.library[1][band]
                        + soil * self.library[2][band]);
                match (self.target, target) {
                    (Some(Target::Oil), Some(a)) => r = (1.0 - a) * r + a * self.library[3][band],
                    (Some(Target::Methane), Some(c)) => r *= (-self.methane[band] * c).exp(),
                    _ => {}
                }
                r += NOISE * rng.normal();
                out[band * w + sample] = r * self.scale[band];
            }
        }
    }

    /// The stored sample type's encoding of `value`, little-endian, appended to `bytes`.
    pub(crate) fn encode(&self, value: f64, bytes: &mut Vec<u8>) {
        match self.dtype {
            SynthDtype::Int16 => {
                let v = value
                    .round()
                    .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16;
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            SynthDtype::Float32 => bytes.extend_from_slice(&(value as f32).to_le_bytes()),
        }
    }
}
