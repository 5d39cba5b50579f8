//! The `hsi-index` task: spectral indices of a hyperspectral scene, one float32 COG and one
//! STAC item per product.
//!
//! - [`expr`]: the expression language (`(R860-R670)/(R860+R670)`, `R<nm>` being the band
//!   nearest a wavelength) and its parser;
//! - [`named`]: the named indices (`ndvi`, `ndwi`, `mndwi`, `ndre`, `ndmi`, `pri`, `cai`,
//!   `hydrocarbon`), each an expression of that language;
//! - [`program`]: an expression compiled to a stack program evaluated over whole blocks;
//! - [`params`]: the task's parameters;
//! - [`source`]: reading blocks of bands from a memory-mapped raw ENVI scene or through GDAL;
//! - [`engine`]: the multi-threaded block engine;
//! - [`item`]: the output items;
//! - [`task`]: [`HsiIndex`], the task itself.
//!
//! Each wavelength resolves to the nearest good band centre of the asset's `eo:bands` (or,
//! for a raw ENVI scene without them, of its header), never to a position:
//! [`crate::spectral::Bands::nearest`].

pub mod engine;
pub mod expr;
pub mod item;
pub mod named;
pub mod params;
pub mod program;
pub mod source;
pub mod task;

pub use params::Parameters;
pub use task::HsiIndex;

/// The task's name.
pub const TASK_NAME: &str = "hsi-index";

/// The nodata value of every output: missing inputs (NaN, −9999, the declared nodata),
/// divisions by zero and every other non-finite result. A product that computes exactly
/// −9999 reads as nodata too.
pub const NODATA: f64 = -9999.0;

/// The most products one run computes.
pub const MAX_PRODUCTS: usize = 64;
