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
use gdal::raster::RasterCreationOptions;
use gdal::{Dataset, DatasetOptions, DriverManager, GdalOpenFlags};
use std::path::Path;

/// The overview factors (2, 4, 8, …) a `width`×`height` raster needs until its smallest
/// level fits in one `tile`×`tile` tile; none when it already does.
pub fn overview_levels(width: usize, height: usize, tile: usize) -> Vec<i32> {
    let mut levels = Vec::new();
    let mut factor = 1usize;
    while width.max(height).div_ceil(factor) > tile && factor < 1 << 20 {
        factor *= 2;
        levels.push(factor as i32);
    }
    levels
}

/// Adds overviews to the scratch GeoTIFF `scratch` (average of the valid pixels; nodata
/// stays nodata), then copies it into the COG `target` with `tile`-pixel tiles, using
/// `threads` threads for the overviews and the compression.
pub fn write(scratch: &Path, target: &Path, tile: usize, threads: usize) -> Result<()> {
    let mut dataset = Dataset::open_ex(
        scratch,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_UPDATE | GdalOpenFlags::GDAL_OF_RASTER,
            ..DatasetOptions::default()
        },
    )
    .map_err(|err| Error::gdal(format!("opening {}", scratch.display()), err))?;
    let (width, height) = dataset.raster_size();
    let levels = overview_levels(width, height, tile);
    let threads = threads.to_string();
    if !levels.is_empty() {
        gdal::config::set_thread_local_config_option("GDAL_NUM_THREADS", &threads)
            .map_err(|err| Error::gdal("setting GDAL_NUM_THREADS", err))?;
        let built = dataset.build_overviews("AVERAGE", &levels, &[]);
        gdal::config::clear_thread_local_config_option("GDAL_NUM_THREADS")
            .map_err(|err| Error::gdal("clearing GDAL_NUM_THREADS", err))?;
        built.map_err(|err| {
            Error::gdal(
                format!("building the overviews of {}", scratch.display()),
                err,
            )
        })?;
    }
    let driver = DriverManager::get_driver_by_name("GTiff")
        .map_err(|err| Error::gdal("the GTiff driver is missing", err))?;
    let options = RasterCreationOptions::from_iter([
        "TILED=YES".to_string(),
        format!("BLOCKXSIZE={tile}"),
        format!("BLOCKYSIZE={tile}"),
        "INTERLEAVE=BAND".to_string(),
        "COMPRESS=DEFLATE".to_string(),
        "PREDICTOR=3".to_string(),
        "COPY_SRC_OVERVIEWS=YES".to_string(),
        "BIGTIFF=IF_SAFER".to_string(),
        format!("NUM_THREADS={threads}"),
    ]);
    dataset
        .create_copy(&driver, target, &options)
        .map_err(|err| Error::gdal(format!("writing the COG {}", target.display()), err))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overviews_go_down_to_one_tile() {
        assert!(overview_levels(512, 300, 512).is_empty());
        assert_eq!(overview_levels(513, 10, 512), vec![2]);
        assert_eq!(overview_levels(1391, 13139, 512), vec![2, 4, 8, 16, 32]);
        assert_eq!(overview_levels(64, 48, 16), vec![2, 4]);
    }
}
