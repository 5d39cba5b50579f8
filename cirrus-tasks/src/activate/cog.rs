//! The activated scene's COG: **band-interleaved**, tiled, DEFLATE with the floating-point
//! predictor, average overviews down to one tile.
//!
//! Why band-interleaved: the products read a few bands of many (an index reads 2–4 of 224).
//! In a pixel-interleaved tile every band's values are compressed together, so reading one
//! band decompresses all 224 (a 512×512 float32 tile is 235 MB of them); band-interleaved,
//! it reads that band's tiles alone. Detectors that need every band read tile windows of
//! each band, which costs the same either way. GDAL 3.6's COG driver writes only pixel
//! interleaving, so the COG is written by the GTiff driver with `COPY_SRC_OVERVIEWS=YES`
//! from a scratch file that already has its overviews: the layout GDAL's
//! `validate_cloud_optimized_geotiff.py` accepts (IFDs first, overviews before the full
//! resolution, tiles in order).

use crate::error::{Error, Result};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use std::path::Path;

/// Adds overviews to the scratch GeoTIFF `scratch` (average of the valid pixels; nodata
/// stays nodata), then copies it into the COG `target` with `tile`-pixel tiles, using
/// `threads` threads for the overviews and the compression
/// ([`crate::raster::write_cog_with_overviews`]).
pub fn write(scratch: &Path, target: &Path, tile: usize, threads: usize) -> Result<()> {
    let mut dataset = Dataset::open_ex(
        scratch,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_UPDATE | GdalOpenFlags::GDAL_OF_RASTER,
            ..DatasetOptions::default()
        },
    )
    .map_err(|err| Error::gdal(format!("opening {}", scratch.display()), err))?;
    crate::raster::write_cog_with_overviews(&mut dataset, target, tile, threads)
}
