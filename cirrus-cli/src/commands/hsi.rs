//! `cirrus hsi synth`: write a synthetic AVIRIS scene (ENVI `.img` + `.hdr`), its STAC item
//! (`item.json`) and its planted target pixels (`truth.json`) into a folder.
//!
//! The scene is a pure function of the options: the same `--seed` gives the same bytes. See
//! `cirrus_tasks::synth` for what is in it.
//!
//! stdout: the item's path (`--format json`: one object with the item, image, header and
//! truth paths). Exit 0; 2 on bad options or when the folder cannot be written.

use crate::cli::Global;
use crate::output::Format;
use anyhow::Context;
use cirrus_tasks::envi::Interleave;
use cirrus_tasks::sensor::Sensor;
use cirrus_tasks::synth::{self, SynthDtype, SynthOptions, Target};
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// `cirrus hsi` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a synthetic AVIRIS scene, its STAC item and its truth file into a folder.
    Synth(SynthArgs),
}

/// A sensor, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SensorArg {
    /// AVIRIS-Classic: 224 bands, ~366–2497 nm, non-monotonic at the spectrometer seams.
    AvirisClassic,
    /// AVIRIS-NG: 425 bands, ~377–2501 nm.
    AvirisNg,
}

/// An interleave, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum InterleaveArg {
    /// Band interleaved by line.
    Bil,
    /// Band interleaved by pixel.
    Bip,
    /// Band sequential.
    Bsq,
}

/// A sample type, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DtypeArg {
    /// L1-like radiance with `data gain values` (stored = radiance × gain).
    Int16,
    /// L2-like reflectance with undeclared −9999 fill corners.
    Float32,
}

/// A target, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TargetArg {
    /// Oil mixed in at 30–80 % abundance (C–H absorptions at ~1730 and ~2310 nm).
    Oil,
    /// A methane plume of 1,500–4,000 ppm·m (absorption at ~2200–2450 nm).
    Methane,
}

/// Arguments of `cirrus hsi synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// The sensor whose band table the scene has.
    #[arg(long, value_enum)]
    sensor: SensorArg,
    /// Samples per line (7 or more).
    #[arg(long)]
    width: usize,
    /// Lines (7 or more).
    #[arg(long)]
    height: usize,
    /// The band layout of the image file.
    #[arg(long, value_enum)]
    interleave: InterleaveArg,
    /// The sample type.
    #[arg(long, value_enum, default_value_t = DtypeArg::Float32)]
    dtype: DtypeArg,
    /// The `map info` rotation in degrees (counter-clockwise, as GDAL reads it).
    #[arg(
        long,
        value_name = "DEG",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    rotation: f64,
    /// Plant a target in a few compact blobs (listed in truth.json).
    #[arg(long, value_enum)]
    target: Option<TargetArg>,
    /// Write a bad band list (`bbl`) in the header.
    #[arg(long, conflicts_with = "no_bbl")]
    bbl: bool,
    /// Write no bad band list (without --bbl or --no-bbl, the seed decides).
    #[arg(long)]
    no_bbl: bool,
    /// The seed the whole scene derives from.
    #[arg(long)]
    seed: u64,
    /// The folder to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

impl SynthArgs {
    fn options(&self) -> SynthOptions {
        SynthOptions {
            sensor: match self.sensor {
                SensorArg::AvirisClassic => Sensor::AvirisClassic,
                SensorArg::AvirisNg => Sensor::AvirisNg,
            },
            width: self.width,
            height: self.height,
            interleave: match self.interleave {
                InterleaveArg::Bil => Interleave::Bil,
                InterleaveArg::Bip => Interleave::Bip,
                InterleaveArg::Bsq => Interleave::Bsq,
            },
            dtype: match self.dtype {
                DtypeArg::Int16 => SynthDtype::Int16,
                DtypeArg::Float32 => SynthDtype::Float32,
            },
            rotation_deg: self.rotation,
            target: self.target.map(|t| match t {
                TargetArg::Oil => Target::Oil,
                TargetArg::Methane => Target::Methane,
            }),
            bbl: match (self.bbl, self.no_bbl) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            seed: self.seed,
        }
    }
}

/// Runs a `cirrus hsi` subcommand.
pub fn run(command: Command, global: &Global) -> anyhow::Result<ExitCode> {
    match command {
        Command::Synth(args) => run_synth(args, global.format),
    }
}

fn run_synth(args: SynthArgs, format: Format) -> anyhow::Result<ExitCode> {
    let written = synth::write(&args.options(), &args.out)
        .with_context(|| format!("cannot synthesise a scene in {}", args.out.display()))?;
    let mut out = std::io::stdout().lock();
    match format {
        Format::Text => writeln!(out, "{}", written.item_path.display())?,
        Format::Json => writeln!(
            out,
            "{}",
            json!({
                "item": written.item_path,
                "image": written.image,
                "header": written.header,
                "truth": written.truth_path,
            })
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
