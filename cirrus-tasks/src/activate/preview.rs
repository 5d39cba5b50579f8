//! The true-colour PNG preview of an activated scene: the bands nearest 640, 550 and
//! 470 nm, each stretched between its 2nd and 98th percentile, at most
//! [`MAX_SIDE`] pixels on the long side, nodata transparent.

use super::warp::NODATA;
use crate::error::{Error, Result};
use gdal::raster::{Buffer, ResampleAlg};
use gdal::{Dataset, DriverManager};
use std::path::Path;

/// The preview's longest side, in pixels.
pub const MAX_SIDE: usize = 1024;

/// The wavelengths (nm) shown as red, green and blue.
pub const RGB_NM: [f64; 3] = [640.0, 550.0, 470.0];

/// Writes the RGBA PNG `target` from the 1-based bands `rgb` of `dataset` (float32 with
/// nodata [`NODATA`]), read from its overviews when it has them.
pub fn write(dataset: &Dataset, rgb: [usize; 3], target: &Path) -> Result<()> {
    let (width, height) = dataset.raster_size();
    let scale = (MAX_SIDE as f64 / width.max(height) as f64).min(1.0);
    let size = (
        ((width as f64 * scale).round() as usize).max(1),
        ((height as f64 * scale).round() as usize).max(1),
    );
    let mut channels = Vec::with_capacity(4);
    for band in rgb {
        let values = dataset
            .rasterband(band)
            .and_then(|b| {
                b.read_as::<f32>(
                    (0, 0),
                    (width, height),
                    size,
                    Some(ResampleAlg::NearestNeighbour),
                )
            })
            .map_err(|err| Error::gdal(format!("reading band {band} for the preview"), err))?
            .into_shape_and_vec()
            .1;
        channels.push(values);
    }
    let valid: Vec<bool> = (0..size.0 * size.1)
        .map(|i| channels.iter().all(|c| c[i] != NODATA && c[i].is_finite()))
        .collect();
    let mut bytes: Vec<Vec<u8>> = channels
        .iter()
        .map(|values| stretch(values, &valid))
        .collect();
    bytes.push(valid.iter().map(|v| if *v { 255 } else { 0 }).collect());
    let context = || format!("writing the preview {}", target.display());
    let mem = DriverManager::get_driver_by_name("MEM")
        .and_then(|driver| driver.create_with_band_type::<u8, _>("", size.0, size.1, 4))
        .map_err(|err| Error::gdal(context(), err))?;
    for (index, data) in bytes.into_iter().enumerate() {
        let mut buffer = Buffer::new(size, data);
        mem.rasterband(index + 1)
            .and_then(|mut band| band.write((0, 0), size, &mut buffer))
            .map_err(|err| Error::gdal(context(), err))?;
    }
    let png =
        DriverManager::get_driver_by_name("PNG").map_err(|err| Error::gdal(context(), err))?;
    mem.create_copy(&png, target, &Default::default())
        .map_err(|err| Error::gdal(context(), err))?;
    Ok(())
}

/// `values` scaled to 1–255 between their 2nd and 98th percentile over the `valid`
/// pixels (0 where invalid).
fn stretch(values: &[f32], valid: &[bool]) -> Vec<u8> {
    let mut sample: Vec<f32> = values
        .iter()
        .zip(valid)
        .filter(|(_, ok)| **ok)
        .map(|(v, _)| *v)
        .collect();
    let (lo, hi) = if sample.is_empty() {
        (0.0, 1.0)
    } else {
        (percentile(&mut sample, 0.02), percentile(&mut sample, 0.98))
    };
    let span = if hi > lo { hi - lo } else { 1.0 };
    values
        .iter()
        .zip(valid)
        .map(|(v, ok)| {
            if *ok {
                (1.0 + 254.0 * ((v - lo) / span).clamp(0.0, 1.0)).round() as u8
            } else {
                0
            }
        })
        .collect()
}

/// The `q` quantile of `sample` (nearest rank), which must not be empty.
fn percentile(sample: &mut [f32], q: f64) -> f32 {
    let rank = ((sample.len() - 1) as f64 * q).round() as usize;
    *sample.select_nth_unstable_by(rank, |a, b| a.total_cmp(b)).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stretch_clips_at_the_percentiles_and_blanks_invalid_pixels() {
        let values: Vec<f32> = (0..101).map(|v| v as f32).collect();
        let mut valid = vec![true; 101];
        valid[50] = false;
        let bytes = stretch(&values, &valid);
        assert_eq!(bytes[0], 1);
        assert_eq!(bytes[100], 255);
        assert_eq!(bytes[50], 0);
        assert!(bytes[30] > 1 && bytes[30] < 255);
    }
}
