//! The rendering of a preview: bands read at a reduced size with their validity mask, a
//! linear percentile stretch to 8 bits, and the PNG (grey or RGB, plus alpha) written
//! through GDAL's MEM and PNG drivers.

use crate::error::{Error, Result};
use gdal::raster::{Buffer, RasterCreationOptions, ResampleAlg};
use gdal::{Dataset, DriverManager};
use std::path::Path;

/// Bands read at a reduced size, with the mask of pixels valid in every band.
pub(super) struct Image {
    width: usize,
    height: usize,
    bands: Vec<Vec<f64>>,
    valid: Vec<bool>,
}

impl Image {
    /// Reads `bands` of `dataset` with their longer side at most `max_size` (average
    /// resampling, from overviews when there are any).
    pub(super) fn read(dataset: &Dataset, bands: &[usize], max_size: usize) -> Result<Image> {
        let (w, h) = dataset.raster_size();
        let scale = (max_size as f64 / w.max(h) as f64).min(1.0);
        let width = ((w as f64 * scale).round() as usize).max(1);
        let height = ((h as f64 * scale).round() as usize).max(1);
        let mut valid = vec![true; width * height];
        let mut data = Vec::with_capacity(bands.len());
        for &number in bands {
            let band = dataset
                .rasterband(number)
                .map_err(|err| Error::gdal(format!("band {number}"), err))?;
            let nodata = band.no_data_value();
            let values = band
                .read_as::<f64>((0, 0), (w, h), (width, height), Some(ResampleAlg::Average))
                .map_err(|err| Error::gdal(format!("reading band {number}"), err))?
                .into_shape_and_vec()
                .1;
            for (ok, v) in valid.iter_mut().zip(&values) {
                if v.is_nan() || nodata.is_some_and(|nd| *v == nd) {
                    *ok = false;
                }
            }
            data.push(values);
        }
        Ok(Image {
            width,
            height,
            bands: data,
            valid,
        })
    }

    /// Each band's `[low, high]` percentile values over the valid pixels (`None` when none
    /// is valid).
    pub(super) fn limits(&self, percentiles: [f64; 2]) -> Vec<Option<(f64, f64)>> {
        self.bands
            .iter()
            .map(|band| {
                let mut values: Vec<f64> = band
                    .iter()
                    .zip(&self.valid)
                    .filter_map(|(v, ok)| ok.then_some(*v))
                    .collect();
                if values.is_empty() {
                    return None;
                }
                Some((
                    percentile(&mut values, percentiles[0]),
                    percentile(&mut values, percentiles[1]),
                ))
            })
            .collect()
    }
}

/// The `p`-th percentile (nearest rank) of `values`, which must not be empty.
fn percentile(values: &mut [f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    let rank = rank.min(values.len() - 1);
    *values.select_nth_unstable_by(rank, f64::total_cmp).1
}

/// `v` stretched linearly from `[low, high]` to `[1, 255]` (0 is kept for nodata).
fn stretch(v: f64, (low, high): (f64, f64)) -> u8 {
    if high <= low {
        return 128;
    }
    (1.0 + (v - low) / (high - low) * 254.0)
        .round()
        .clamp(1.0, 255.0) as u8
}

/// Writes `image` stretched by `limits` as a PNG with an alpha band.
pub(super) fn write_png(image: &Image, limits: &[Option<(f64, f64)>], path: &Path) -> Result<()> {
    let pixels = image.width * image.height;
    let memory = DriverManager::get_driver_by_name("MEM")
        .map_err(|err| Error::gdal("the MEM driver is missing", err))?;
    let mut dataset = memory
        .create_with_band_type::<u8, _>("", image.width, image.height, image.bands.len() + 1)
        .map_err(|err| Error::gdal("creating the preview in memory", err))?;
    let shape = (image.width, image.height);
    for (i, (band, limit)) in image.bands.iter().zip(limits).enumerate() {
        let bytes: Vec<u8> = band
            .iter()
            .zip(&image.valid)
            .map(|(v, ok)| match (ok, limit) {
                (true, Some(limit)) => stretch(*v, *limit),
                _ => 0,
            })
            .collect();
        write_band(&mut dataset, i + 1, shape, bytes)?;
    }
    let alpha: Vec<u8> = image
        .valid
        .iter()
        .map(|ok| if *ok { 255 } else { 0 })
        .collect();
    debug_assert_eq!(alpha.len(), pixels);
    write_band(&mut dataset, image.bands.len() + 1, shape, alpha)?;
    let png = DriverManager::get_driver_by_name("PNG")
        .map_err(|err| Error::gdal("the PNG driver is missing", err))?;
    dataset
        .create_copy(&png, path, &RasterCreationOptions::default())
        .map_err(|err| Error::gdal(format!("writing the PNG {}", path.display()), err))?;
    // GDAL may keep side metadata next to the PNG; the asset is the PNG alone.
    let _ = std::fs::remove_file(path.with_extension("png.aux.xml"));
    Ok(())
}

/// Writes the bytes of band `number` (`shape` = (columns, rows), matching `bytes`).
fn write_band(
    dataset: &mut Dataset,
    number: usize,
    shape: (usize, usize),
    bytes: Vec<u8>,
) -> Result<()> {
    let mut buffer = Buffer::new(shape, bytes);
    dataset
        .rasterband(number)
        .and_then(|mut band| band.write((0, 0), shape, &mut buffer))
        .map_err(|err| Error::gdal(format!("writing preview band {number}"), err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_stretch() {
        let mut values: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut values, 2.0), 2.0);
        assert_eq!(percentile(&mut values, 98.0), 98.0);
        assert_eq!(stretch(2.0, (2.0, 98.0)), 1);
        assert_eq!(stretch(98.0, (2.0, 98.0)), 255);
        assert_eq!(stretch(-5.0, (2.0, 98.0)), 1);
        assert_eq!(stretch(50.0, (2.0, 98.0)), 128);
        assert_eq!(stretch(7.0, (3.0, 3.0)), 128);
    }
}
