//! Synthesises an AVIRIS-Classic scene and activates it, for `bench/hsi_activate.sh`.
//!
//! `activate synth DIR WIDTH HEIGHT` writes a float32 BIL scene rotated 27° into `DIR`;
//! `activate run DIR OUT` activates `DIR/item.json` into the folder `OUT` and prints the
//! seconds the task took.

use cirrus_core::payload::ProcessPayload;
use cirrus_core::task::{Task, TaskContext};
use cirrus_tasks::TaskEnv;
use cirrus_tasks::activate::Activate;
use cirrus_tasks::envi::Interleave;
use cirrus_tasks::sensor::Sensor;
use cirrus_tasks::synth::{self, SynthDtype, SynthOptions};
use serde_json::{Value, json};
use std::path::Path;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["synth", dir, width, height] => synthesise(dir, width, height),
        ["run", dir, out] => activate(dir, out).await,
        _ => Err("usage: activate synth DIR WIDTH HEIGHT | activate run DIR OUT".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn synthesise(dir: &str, width: &str, height: &str) -> Outcome {
    let options = SynthOptions {
        sensor: Sensor::AvirisClassic,
        width: width.parse()?,
        height: height.parse()?,
        interleave: Interleave::Bil,
        dtype: SynthDtype::Float32,
        rotation_deg: 27.0,
        target: None,
        bbl: Some(true),
        seed: 1,
    };
    let scene = synth::write(&options, Path::new(dir))?;
    println!("{}", scene.image.display());
    Ok(())
}

async fn activate(dir: &str, out: &str) -> Outcome {
    let item: Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(dir).join("item.json"))?)?;
    let payload = ProcessPayload::from_value(json!({
        "type": "FeatureCollection",
        "features": [item],
        "process": [{"workflow": "aviris-activate", "tasks": {"aviris-activate": {}}}]
    }))?
    .value;
    let started = std::time::Instant::now();
    let env = TaskEnv::without_store().local(out);
    Activate::new(env)
        .run(payload, &TaskContext::new("bench", || {}))
        .await?;
    println!("{:.3}", started.elapsed().as_secs_f64());
    Ok(())
}
