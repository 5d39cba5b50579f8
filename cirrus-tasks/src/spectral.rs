//! The bands of a hyperspectral asset, read from STAC `eo:bands`, and how a wavelength
//! resolves to a band: the nearest good band centre, never a position (AVIRIS band centres
//! are not monotonic at the spectrometer seams).

use crate::envi::Header;
use crate::error::{Error, Result};
use cirrus_core::payload::Feature;
use serde_json::{Map, Value, json};
use std::path::Path;

/// One band, in raster band order.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// The band's name (`B001`…).
    pub name: String,
    /// The centre wavelength, in nanometres.
    pub center_nm: f64,
    /// The full width at half maximum, in nanometres, when known.
    pub fwhm_nm: Option<f64>,
    /// `false` for a band the bad band list (`bbl`) marks unusable.
    pub good: bool,
}

impl Band {
    /// The band as an `eo:bands` entry: `center_wavelength` and `full_width_half_max` in
    /// micrometres, and `hsi:bbl` (1 good, 0 bad) when the band is bad.
    pub fn to_eo(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("name".into(), json!(self.name));
        entry.insert("center_wavelength".into(), json!(round_um(self.center_nm)));
        if let Some(fwhm) = self.fwhm_nm {
            entry.insert("full_width_half_max".into(), json!(round_um(fwhm)));
        }
        if !self.good {
            entry.insert("hsi:bbl".into(), json!(0));
        }
        Value::Object(entry)
    }
}

/// Nanometres to micrometres, rounded to 0.01 nm (the precision of ENVI headers).
fn round_um(nm: f64) -> f64 {
    (nm * 100.0).round() / 100_000.0
}

/// The bands of one asset.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands(pub Vec<Band>);

impl Bands {
    /// The `eo:bands` of `item`'s asset `asset` (or, when the asset has none, of the item's
    /// properties). Every band needs a numeric `center_wavelength` (µm).
    pub fn from_item(item: &Feature, asset: &str) -> Result<Bands> {
        let value = item.as_value();
        let entries = value
            .get("assets")
            .and_then(|assets| assets.get(asset))
            .and_then(|asset| asset.get("eo:bands"))
            .or_else(|| value.pointer("/properties/eo:bands"))
            .ok_or_else(|| {
                Error::item(
                    item.id(),
                    format!("no eo:bands on asset {asset:?} or in the properties: the band wavelengths are unknown"),
                )
            })?
            .as_array()
            .ok_or_else(|| Error::item(item.id(), "eo:bands is not an array"))?;
        let mut bands = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let center = entry
                .get("center_wavelength")
                .and_then(Value::as_f64)
                .ok_or_else(|| {
                    Error::item(
                        item.id(),
                        format!("eo:bands[{i}] has no numeric center_wavelength"),
                    )
                })?;
            let fwhm = entry.get("full_width_half_max").and_then(Value::as_f64);
            let good = entry.get("hsi:bbl").and_then(Value::as_f64) != Some(0.0);
            bands.push(Band {
                name: entry
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("B{:03}", i + 1), str::to_string),
                center_nm: center * 1000.0,
                fwhm_nm: fwhm.map(|f| f * 1000.0),
                good,
            });
        }
        if bands.is_empty() {
            return Err(Error::item(item.id(), "eo:bands is empty"));
        }
        Ok(Bands(bands))
    }

    /// The bands an ENVI header (read from `path`) describes: `wavelength` (required; the
    /// error says the band centres are unknown without it), `fwhm`, `bbl` and `band names`.
    pub fn from_header(header: &Header, path: &Path) -> Result<Bands> {
        let centres = header.wavelengths_nm().ok_or_else(|| {
            Error::envi(
                path,
                "no `wavelength` list: the band wavelengths are unknown",
            )
        })?;
        if centres.len() != header.bands {
            return Err(Error::envi(
                path,
                format!(
                    "wavelength has {} values for {} bands",
                    centres.len(),
                    header.bands
                ),
            ));
        }
        let fwhm = header.fwhm_nm();
        let names = header
            .band_names
            .as_ref()
            .filter(|n| n.len() == header.bands);
        Ok(Bands(
            centres
                .iter()
                .enumerate()
                .map(|(i, centre)| Band {
                    name: names.map_or_else(|| format!("B{:03}", i + 1), |n| n[i].clone()),
                    center_nm: *centre,
                    fwhm_nm: fwhm.as_ref().and_then(|f| f.get(i).copied()),
                    good: header
                        .bbl
                        .as_ref()
                        .and_then(|bbl| bbl.get(i))
                        .is_none_or(|flag| *flag != 0.0),
                })
                .collect(),
        ))
    }

    /// The `eo:bands` array, in band order.
    pub fn to_eo(&self) -> Value {
        Value::Array(self.0.iter().map(Band::to_eo).collect())
    }

    /// The smallest and largest band centre, in nanometres.
    pub fn range_nm(&self) -> (f64, f64) {
        self.0
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), b| {
                (lo.min(b.center_nm), hi.max(b.center_nm))
            })
    }

    /// The 0-based index of the good band whose centre is nearest `nm`.
    ///
    /// A wavelength outside the sensor's range (further than one band width beyond the
    /// first or last centre) is an error, as is one whose nearest band is more than
    /// 25 nm away (e.g. inside a run of bad water-vapour bands).
    pub fn nearest(&self, nm: f64) -> std::result::Result<usize, String> {
        let (lo, hi) = self.range_nm();
        let width = self.typical_width();
        if !nm.is_finite() || nm < lo - width || nm > hi + width {
            return Err(format!(
                "{nm} nm is outside the sensor's range ({lo:.1}–{hi:.1} nm)"
            ));
        }
        let (index, band) = self
            .0
            .iter()
            .enumerate()
            .filter(|(_, band)| band.good)
            .min_by(|(_, a), (_, b)| {
                (a.center_nm - nm)
                    .abs()
                    .total_cmp(&(b.center_nm - nm).abs())
            })
            .ok_or_else(|| "every band is marked bad (bbl)".to_string())?;
        let distance = (band.center_nm - nm).abs();
        if distance > 25.0_f64.max(width) {
            return Err(format!(
                "the nearest good band to {nm} nm is {} at {:.2} nm, {distance:.1} nm away (the bands between are bad or missing)",
                band.name, band.center_nm
            ));
        }
        Ok(index)
    }

    /// The median spacing of the band centres (at least 1 nm).
    fn typical_width(&self) -> f64 {
        let mut centres: Vec<f64> = self.0.iter().map(|b| b.center_nm).collect();
        centres.sort_by(f64::total_cmp);
        let mut gaps: Vec<f64> = centres
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|g| *g > 0.0)
            .collect();
        if gaps.is_empty() {
            return 10.0;
        }
        gaps.sort_by(f64::total_cmp);
        gaps[gaps.len() / 2].max(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bands(centres: &[f64]) -> Bands {
        Bands(
            centres
                .iter()
                .enumerate()
                .map(|(i, c)| Band {
                    name: format!("B{i}"),
                    center_nm: *c,
                    fwhm_nm: None,
                    good: true,
                })
                .collect(),
        )
    }

    #[test]
    fn the_nearest_centre_wins_across_a_non_monotonic_seam() {
        // Band 2 (655.5) comes after band 1 (667.5): positions would pick the wrong one.
        let b = bands(&[648.0, 657.9, 667.5, 655.5, 665.2, 674.9]);
        assert_eq!(b.nearest(656.0), Ok(3));
        assert_eq!(b.nearest(667.0), Ok(2));
        assert_eq!(b.nearest(675.0), Ok(5));
    }

    #[test]
    fn bad_bands_are_skipped_and_out_of_range_is_an_error() {
        let mut b = bands(&[1340.0, 1350.0, 1360.0, 1370.0]);
        b.0[1].good = false;
        assert_eq!(b.nearest(1348.0), Ok(0));
        assert!(
            b.nearest(2000.0)
                .unwrap_err()
                .contains("outside the sensor's range")
        );
        for band in &mut b.0 {
            band.good = false;
        }
        assert!(b.nearest(1350.0).unwrap_err().contains("bad"));
    }
}
