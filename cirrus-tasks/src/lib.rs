//! Built-in Cirrus tasks, on GDAL.
//!
//! | task | what it does |
//! |---|---|
//! | `aviris-activate` | an AVIRIS ENVI scene → a north-up COG, a PNG preview and a STAC item |
//! | `hsi-index` | spectral indices (`ndvi`, …, or `(R860-R670)/(R860+R670)`) → a COG per index |
//! | `hsi-detect` | matched filter, ACE and RX detection maps for a target spectrum |
//! | `copy-assets` | copies an item's assets to where its `path_template` says |
//! | `preview` | a PNG preview of an item's raster asset |
//!
//! Every task implements [`cirrus_core::task::Task`], so the same code runs in-process in a
//! local workflow, under `cirrus task run`, on Lambda or in a Batch container. Where a task
//! writes its outputs is decided by its [`TaskEnv`].

#[cfg(feature = "gdal")]
pub mod activate;
#[cfg(feature = "gdal")]
pub mod cog;
#[cfg(feature = "gdal")]
pub mod detect;
mod env;
pub mod envi;
mod error;
pub mod generic;
#[cfg(feature = "gdal")]
pub mod index;
pub mod io;
pub mod library;
pub mod provenance;
#[cfg(feature = "gdal")]
pub mod raster;
pub mod sensor;
pub mod spectral;
pub mod synth;

pub use env::TaskEnv;
pub use error::{Error, Result};

use cirrus_core::task::Task;
use std::sync::Arc;

/// Every built-in task, sharing `env`.
pub fn builtin_tasks(env: &TaskEnv) -> Vec<Arc<dyn Task>> {
    let generic: Arc<dyn Task> = Arc::new(generic::copy_assets::CopyAssets::new(env.clone()));
    #[cfg(feature = "gdal")]
    let raster: [Arc<dyn Task>; 4] = [
        Arc::new(generic::preview::Preview::new(env.clone())),
        Arc::new(index::HsiIndex::new(env.clone())),
        Arc::new(activate::Activate::new(env.clone())),
        Arc::new(detect::HsiDetect::new(env.clone())),
    ];
    #[cfg(not(feature = "gdal"))]
    let raster: [Arc<dyn Task>; 0] = [];
    std::iter::once(generic).chain(raster).collect()
}
