//! GDAL helpers shared by the tasks: writing Cloud-Optimized GeoTIFFs and PNG previews, and
//! band statistics for STAC's raster extension.

use crate::error::{Error, Result};
use gdal::raster::RasterCreationOptions;
use gdal::{Dataset, DriverManager, Metadata};
use serde_json::{Value, json};
use std::path::Path;

/// The raster extension's schema URL.
pub const RASTER_EXTENSION: &str = "https://stac-extensions.github.io/raster/v1.1.0/schema.json";

/// Media type of a COG asset.
pub const COG_MEDIA_TYPE: &str = "image/tiff; application=geotiff; profile=cloud-optimized";

/// Copies `source` to a Cloud-Optimized GeoTIFF at `path`: 512×512 tiles, DEFLATE with a
/// predictor, overviews (average) down to one tile, BigTIFF when needed, all cores.
pub fn write_cog(source: &Dataset, path: &Path) -> Result<()> {
    let driver = DriverManager::get_driver_by_name("COG")
        .map_err(|err| Error::gdal("the COG driver is missing", err))?;
    let options = RasterCreationOptions::from_iter([
        "COMPRESS=DEFLATE",
        "PREDICTOR=YES",
        "BLOCKSIZE=512",
        "OVERVIEWS=AUTO",
        "OVERVIEW_RESAMPLING=AVERAGE",
        "BIGTIFF=IF_SAFER",
        "NUM_THREADS=ALL_CPUS",
    ]);
    source
        .create_copy(&driver, path, &options)
        .map_err(|err| Error::gdal(format!("writing the COG {}", path.display()), err))?;
    Ok(())
}

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

/// Adds overviews to `dataset` (average of the valid pixels; nodata stays nodata), then
/// copies it into the COG `target` with `tile`-pixel tiles, band-interleaved, DEFLATE with
/// the floating-point predictor, using `threads` threads for the overviews and the
/// compression.
///
/// `dataset` is a scratch raster opened for update: a GeoTIFF, or a `MEM` dataset when it
/// fits in memory. The GTiff driver's `COPY_SRC_OVERVIEWS=YES` then writes the layout
/// GDAL's `validate_cloud_optimized_geotiff.py` accepts (IFDs first, overviews before the
/// full resolution, tiles in order) and compresses every tile once, where the COG driver
/// would first write its overviews to a compressed temporary file and read them back.
pub fn write_cog_with_overviews(
    dataset: &mut Dataset,
    target: &Path,
    tile: usize,
    threads: usize,
) -> Result<()> {
    let (width, height) = dataset.raster_size();
    let levels = overview_levels(width, height, tile);
    let threads = threads.max(1).to_string();
    if !levels.is_empty() {
        gdal::config::set_thread_local_config_option("GDAL_NUM_THREADS", &threads)
            .map_err(|err| Error::gdal("setting GDAL_NUM_THREADS", err))?;
        let built = dataset.build_overviews("AVERAGE", &levels, &[]);
        gdal::config::clear_thread_local_config_option("GDAL_NUM_THREADS")
            .map_err(|err| Error::gdal("clearing GDAL_NUM_THREADS", err))?;
        built.map_err(|err| {
            Error::gdal(
                format!("building the overviews of {}", target.display()),
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

/// Band statistics of `dataset`'s band `band` (1-based) for the raster extension:
/// `{"statistics": {minimum, maximum, mean, stddev, valid_percent}}` plus `nodata` and
/// `data_type`. Exact (not approximate) statistics, computed by GDAL.
pub fn raster_band(dataset: &Dataset, band: usize) -> Result<Value> {
    let raster = dataset
        .rasterband(band)
        .map_err(|err| Error::gdal(format!("band {band}"), err))?;
    let data_type = match raster.band_type() {
        gdal::raster::GdalDataType::Float32 => "float32",
        gdal::raster::GdalDataType::Float64 => "float64",
        gdal::raster::GdalDataType::Int16 => "int16",
        gdal::raster::GdalDataType::UInt16 => "uint16",
        gdal::raster::GdalDataType::UInt8 => "uint8",
        gdal::raster::GdalDataType::Int32 => "int32",
        _ => "other",
    };
    let mut entry = json!({ "data_type": data_type });
    if let Some(nodata) = raster.no_data_value() {
        entry["nodata"] = if nodata.is_nan() {
            json!("nan")
        } else {
            json!(nodata)
        };
    }
    if let Some(stats) = raster
        .get_statistics(true, false)
        .map_err(|err| Error::gdal(format!("statistics of band {band}"), err))?
    {
        let valid = raster
            .metadata_item("STATISTICS_VALID_PERCENT", "")
            .and_then(|v| v.parse::<f64>().ok());
        entry["statistics"] = json!({
            "minimum": stats.min,
            "maximum": stats.max,
            "mean": stats.mean,
            "stddev": stats.std_dev,
        });
        if let Some(valid) = valid {
            entry["statistics"]["valid_percent"] = json!(valid);
        }
    }
    Ok(entry)
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
