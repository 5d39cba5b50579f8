//! Synthetic AVIRIS scenes for tests and demos: an ENVI scene (`<scene>.img` + `.hdr`), a STAC
//! item pointing at it (`item.json`) and the planted target pixels (`truth.json`).
//!
//! - Bands: the [`Sensor`] table (AVIRIS-Classic with its non-monotonic seams, or AVIRIS-NG),
//!   `wavelength units = Nanometers`, a `bbl` when asked (or when the seed says so).
//! - Data: int16 L1-like radiance with `data gain values` (stored = radiance × gain), or
//!   float32 reflectance with **undeclared** −9999 fill triangles in the four corners.
//! - Spectra: smooth spatial mixtures of vegetation, water and soil from
//!   [`crate::library`], evaluated at the band centres, with a small brightness variation and
//!   Gaussian-like noise (σ = 0.002 reflectance); optionally an oil or a methane target planted
//!   in a few compact blobs (≈1.5 % of the scene).
//! - Georeferencing: WGS 84 / UTM, a `map info` with `rotation=` (GDAL's convention: a
//!   positive angle turns the image counter-clockwise, see [`crate::envi::MapInfo::geotransform`]).
//!
//! A scene is a pure function of its options: each line draws from its own PRNG stream
//! seeded from `(seed, line)`, so the bytes do not depend on the thread count. Lines are
//! generated in parallel (rayon) and written with positioned writes into a preallocated file,
//! so memory stays at a few lines per thread whatever the scene size, for every interleave.

mod geo;
mod item;
mod rng;
mod scene;

use crate::envi::{DataType, Header, Interleave, MapInfo};
use crate::error::{Error, Result};
use crate::sensor::Sensor;
use rayon::prelude::*;
use scene::Scene;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The sample type of a synthetic scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SynthDtype {
    /// L1-like radiance, int16, scaled by the sensor's gains.
    Int16,
    /// L2-like reflectance, float32, with undeclared −9999 fill corners.
    Float32,
}

impl SynthDtype {
    /// `int16` or `float32`.
    pub fn name(self) -> &'static str {
        match self {
            SynthDtype::Int16 => "int16",
            SynthDtype::Float32 => "float32",
        }
    }
}

/// What is planted in a synthetic scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Oil on the surface: the oil reflectance mixed in at 30–80 % abundance.
    Oil,
    /// A methane plume: the signal multiplied by `exp(−k·c)`, c = 1,500–4,000 ppm·m.
    Methane,
}

impl Target {
    /// `oil` or `methane`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Oil => "oil",
            Target::Methane => "methane",
        }
    }
}

/// What to synthesise.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    /// The band table.
    pub sensor: Sensor,
    /// Samples per line (at least 7).
    pub width: usize,
    /// Lines (at least 7).
    pub height: usize,
    /// The file's band layout.
    pub interleave: Interleave,
    /// Radiance (int16) or reflectance (float32).
    pub dtype: SynthDtype,
    /// The `map info` rotation, in degrees.
    pub rotation_deg: f64,
    /// The planted target, if any.
    pub target: Option<Target>,
    /// Whether the header has a `bbl`; `None`: the seed decides.
    pub bbl: Option<bool>,
    /// The seed everything derives from.
    pub seed: u64,
}

/// The files of a synthetic scene.
#[derive(Debug, Clone)]
pub struct Synthesized {
    /// The ENVI image (`<scene>.img`).
    pub image: PathBuf,
    /// The ENVI header (`<scene>.hdr`).
    pub header: PathBuf,
    /// The STAC item (`item.json`).
    pub item_path: PathBuf,
    /// The STAC item's JSON.
    pub item: serde_json::Value,
    /// The planted pixels (`truth.json`).
    pub truth_path: PathBuf,
}

/// The largest accepted width or height.
const MAX_SIDE: usize = 100_000;

/// Writes the scene `opts` describes into `out_dir` (created if missing).
pub fn write(opts: &SynthOptions, out_dir: &Path) -> Result<Synthesized> {
    for (name, value) in [("width", opts.width), ("height", opts.height)] {
        if !(7..=MAX_SIDE).contains(&value) {
            return Err(Error::parameter(
                name,
                format!("{value} pixels; a scene is 7 to {MAX_SIDE} pixels on each side"),
            ));
        }
    }
    if !opts.rotation_deg.is_finite() || opts.rotation_deg.abs() > 360.0 {
        return Err(Error::parameter(
            "rotation",
            format!(
                "{} is not an angle in degrees (−360 to 360)",
                opts.rotation_deg
            ),
        ));
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|err| Error::io(out_dir, "cannot create the output folder", err))?;
    let out_dir = out_dir
        .canonicalize()
        .map_err(|err| Error::io(out_dir, "cannot resolve the output folder", err))?;
    let layout = item::Layout::new(opts);
    let header = header(opts, &layout);
    let image = out_dir.join(format!("{}.img", layout.scene));
    let header_path = out_dir.join(format!("{}.hdr", layout.scene));
    let bands = opts.sensor.bands();
    let centres: Vec<f64> = bands.iter().map(|b| b.0).collect();
    let scene = Scene::new(opts, &centres, &opts.sensor.gains());
    let started = std::time::Instant::now();
    write_image(&scene, &header, &image)?;
    header.write(&header_path)?;
    tracing::info!(
        scene = %layout.scene,
        image = %image.display(),
        bytes = header.image_len(),
        seconds = started.elapsed().as_secs_f64(),
        "synthesised an ENVI scene"
    );
    let truth = scene.truth();
    let item = item::stac_item(opts, &layout, &header, &image, &header_path, &out_dir);
    let item_path = out_dir.join("item.json");
    let truth_path = out_dir.join("truth.json");
    write_json(&item_path, &item)?;
    write_json(&truth_path, &item::truth_json(opts.target, &truth))?;
    Ok(Synthesized {
        image,
        header: header_path,
        item_path,
        item,
        truth_path,
    })
}

/// The ENVI header of the scene.
fn header(opts: &SynthOptions, layout: &item::Layout) -> Header {
    let bands = opts.sensor.bands();
    let with_bbl = opts.bbl.unwrap_or(rng::hash(opts.seed, 7) & 1 == 1);
    let kind = match opts.dtype {
        SynthDtype::Int16 => "L1 radiance, stored = radiance (uW/(cm2 sr nm)) x data gain value",
        SynthDtype::Float32 => "L2 reflectance, fill -9999 (undeclared)",
    };
    Header {
        samples: opts.width,
        lines: opts.height,
        bands: bands.len(),
        header_offset: 0,
        data_type: match opts.dtype {
            SynthDtype::Int16 => DataType::I16,
            SynthDtype::Float32 => DataType::F32,
        },
        interleave: opts.interleave,
        byte_order: 0,
        wavelength: Some(bands.iter().map(|b| b.0).collect()),
        wavelength_units: Some("Nanometers".into()),
        fwhm: Some(bands.iter().map(|b| b.1).collect()),
        bbl: with_bbl.then(|| opts.sensor.default_bbl()),
        data_gain_values: (opts.dtype == SynthDtype::Int16).then(|| opts.sensor.gains()),
        data_ignore_value: None,
        map_info: Some(MapInfo {
            projection: "UTM".into(),
            ref_x: 1.0,
            ref_y: 1.0,
            easting: layout.easting,
            northing: layout.northing,
            pixel_x: layout.pixel,
            pixel_y: layout.pixel,
            zone: Some(layout.zone),
            north: Some(true),
            datum: Some("WGS-84".into()),
            units: Some("Meters".into()),
            rotation_deg: opts.rotation_deg,
        }),
        coordinate_system_string: Some(geo::utm_wkt(layout.zone, true)),
        band_names: None,
        description: Some(format!(
            "Synthetic {} scene {} (cirrus hsi synth, seed {}): {kind}",
            opts.sensor, layout.scene, opts.seed
        )),
        extra: vec![
            ("file type".into(), "ENVI Standard".into()),
            ("sensor type".into(), opts.sensor.name().into()),
        ],
    }
}

/// Generates every line in parallel and writes each where the interleave puts it.
fn write_image(scene: &Scene, header: &Header, path: &Path) -> Result<()> {
    let file =
        File::create(path).map_err(|err| Error::io(path, "cannot create the ENVI image", err))?;
    file.set_len(header.image_len())
        .map_err(|err| Error::io(path, "cannot size the ENVI image", err))?;
    let (w, h, b) = (header.samples, header.lines, header.bands);
    let size = header.data_type.bytes();
    let interleave = header.interleave;
    (0..h).into_par_iter().try_for_each_init(
        || (vec![0.0; w * b], Vec::with_capacity(w * b * size)),
        |(values, bytes), line| {
            scene.line(line, values);
            bytes.clear();
            match interleave {
                Interleave::Bil | Interleave::Bsq => {
                    values.iter().for_each(|&v| scene.encode(v, bytes));
                }
                Interleave::Bip => {
                    for sample in 0..w {
                        for band in 0..b {
                            scene.encode(values[band * w + sample], bytes);
                        }
                    }
                }
            }
            let write = |data: &[u8], offset: usize| {
                file.write_all_at(data, offset as u64)
                    .map_err(|err| Error::io(path, format!("cannot write line {line}"), err))
            };
            match interleave {
                Interleave::Bil | Interleave::Bip => write(bytes, line * w * b * size),
                Interleave::Bsq => bytes
                    .chunks_exact(w * size)
                    .enumerate()
                    .try_for_each(|(band, row)| write(row, ((band * h + line) * w) * size)),
            }
        },
    )
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|err| Error::io(path, "cannot serialise", std::io::Error::other(err)))?;
    std::fs::write(path, text + "\n").map_err(|err| Error::io(path, "cannot write", err))
}
