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
