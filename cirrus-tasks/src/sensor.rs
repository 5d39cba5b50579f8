//! Band tables of the AVIRIS sensors: band centres and widths, L1 radiance gains and the
//! usual bad band list.
//!
//! These tables are **built from the sensors' published layout**, not copied from the
//! official JPL wavelength files (we have no copy of those, and they change between flight
//! seasons). AVIRIS-Classic has four spectrometers (A: bands 1–32, B: 33–96, C: 97–160,
//! D: 161–224), each a linear grid anchored on known centres; the grids overlap, so the
//! centres go **backwards** at each seam (band 32 ≈ 667.5 nm, then band 33 ≈ 655.5 nm), as
//! in the real product headers. AVIRIS-NG is one 425-band grid from 376.86 nm, ~5.01 nm
//! apart.

use std::fmt;

/// An imaging spectrometer whose band layout the synthesiser knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sensor {
    /// AVIRIS-Classic: 224 bands, ~366–2497 nm, ~10 nm.
    AvirisClassic,
    /// AVIRIS-NG (L2 v2): 425 bands, ~377–2501 nm, ~5 nm.
    AvirisNg,
}

/// One AVIRIS-Classic spectrometer: first and last band (1-based), centre and FWHM at each
/// end (nm), L1 gain.
struct Spectrometer {
    first: usize,
    last: usize,
    centre: (f64, f64),
    fwhm: (f64, f64),
    gain: f64,
}

/// The four AVIRIS-Classic spectrometers. The anchors: 365.9 nm (band 1), 667.5/655.5 nm
/// (bands 32/33), 2497.0 nm (band 224); the B/C and C/D seams overlap by about two bands.
const CLASSIC: [Spectrometer; 4] = [
    Spectrometer {
        first: 1,
        last: 32,
        centre: (365.9, 667.5),
        fwhm: (9.2, 9.8),
        gain: 300.0,
    },
    Spectrometer {
        first: 33,
        last: 96,
        centre: (655.5, 1273.0),
        fwhm: (9.5, 10.0),
        gain: 300.0,
    },
    Spectrometer {
        first: 97,
        last: 160,
        centre: (1253.5, 1871.0),
        fwhm: (9.6, 11.0),
        gain: 600.0,
    },
    Spectrometer {
        first: 161,
        last: 224,
        centre: (1862.0, 2497.0),
        fwhm: (10.0, 12.0),
        gain: 1200.0,
    },
];

impl Sensor {
    /// Every sensor.
    pub const ALL: [Sensor; 2] = [Sensor::AvirisClassic, Sensor::AvirisNg];

    /// `aviris-classic` or `aviris-ng` (also the STAC collection and instrument name).
    pub fn name(&self) -> &'static str {
        match self {
            Sensor::AvirisClassic => "aviris-classic",
            Sensor::AvirisNg => "aviris-ng",
        }
    }

    /// The sensor named `name` ([`Sensor::name`]).
    pub fn from_name(name: &str) -> Option<Sensor> {
        Sensor::ALL.into_iter().find(|s| s.name() == name)
    }

    /// `(centre, fwhm)` of every band in raster band order, in nanometres. Not monotonic
    /// for AVIRIS-Classic (see the module docs).
    pub fn bands(&self) -> Vec<(f64, f64)> {
        match self {
            Sensor::AvirisClassic => CLASSIC
                .iter()
                .flat_map(|s| {
                    let n = (s.last - s.first) as f64;
                    (0..=s.last - s.first).map(move |i| {
                        let t = i as f64 / n;
                        (
                            round2(s.centre.0 + t * (s.centre.1 - s.centre.0)),
                            round2(s.fwhm.0 + t * (s.fwhm.1 - s.fwhm.0)),
                        )
                    })
                })
                .collect(),
            Sensor::AvirisNg => (0..425)
                .map(|i| {
                    let t = f64::from(i) / 424.0;
                    (round2(376.86 + 5.01 * f64::from(i)), round2(5.5 + 0.5 * t))
                })
                .collect(),
        }
    }

    /// The L1 radiance gain of every band: stored value = radiance (µW/(cm²·sr·nm)) × gain.
    /// AVIRIS-Classic: 300 for spectrometers A and B, 600 for C, 1200 for D. AVIRIS-NG L1
    /// radiance is float32 and has no gains; for an int16 NG scene (which the synthesiser can
    /// write) we use 1000 on every band, so that SWIR radiance (below 1) keeps three digits
    /// instead of rounding to 0 or 1.
    pub fn gains(&self) -> Vec<f64> {
        match self {
            Sensor::AvirisClassic => CLASSIC
                .iter()
                .flat_map(|s| std::iter::repeat_n(s.gain, s.last - s.first + 1))
                .collect(),
            Sensor::AvirisNg => vec![1000.0; 425],
        }
    }

    /// The usual bad band list (1 good, 0 bad): the array ends (below 380 nm, above
    /// 2480 nm) and the water-vapour bands (1340–1420 nm and 1800–1960 nm).
    pub fn default_bbl(&self) -> Vec<f64> {
        self.bands()
            .iter()
            .map(|&(centre, _)| {
                let bad = !(380.0..=2480.0).contains(&centre)
                    || (1340.0..=1420.0).contains(&centre)
                    || (1800.0..=1960.0).contains(&centre);
                if bad { 0.0 } else { 1.0 }
            })
            .collect()
    }
}

impl fmt::Display for Sensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Rounded to 0.01 nm, the precision of ENVI headers.
fn round2(nm: f64) -> f64 {
    (nm * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_has_224_bands_with_backward_seams() {
        let bands = Sensor::AvirisClassic.bands();
        assert_eq!(bands.len(), 224);
        assert_eq!(bands[0].0, 365.9);
        assert_eq!(bands[223].0, 2497.0);
        assert_eq!((bands[31].0, bands[32].0), (667.5, 655.5));
        // The seams are the only places where the centres go backwards.
        let backwards: Vec<usize> = (1..224).filter(|&i| bands[i].0 < bands[i - 1].0).collect();
        assert_eq!(backwards, vec![32, 96, 160]);
        assert!(bands.iter().all(|&(_, f)| (9.0..=12.0).contains(&f)));
        assert_eq!(Sensor::AvirisClassic.gains()[223], 1200.0);
        assert_eq!(Sensor::AvirisClassic.gains().len(), 224);
    }

    #[test]
    fn ng_has_425_bands_5_nm_apart() {
        let bands = Sensor::AvirisNg.bands();
        assert_eq!(bands.len(), 425);
        assert_eq!(bands[0].0, 376.86);
        assert!((bands[424].0 - 2501.1).abs() < 0.01);
        assert!(
            bands
                .windows(2)
                .all(|w| (w[1].0 - w[0].0 - 5.01).abs() < 0.011)
        );
        assert!(bands.iter().all(|&(_, f)| (5.5..=6.0).contains(&f)));
    }

    #[test]
    fn the_bad_band_list_flags_ends_and_water_vapour() {
        for sensor in Sensor::ALL {
            let bands = sensor.bands();
            let bbl = sensor.default_bbl();
            assert_eq!(bbl.len(), bands.len());
            let bad = |nm: f64| {
                let i = (0..bands.len())
                    .min_by(|&a, &b| (bands[a].0 - nm).abs().total_cmp(&(bands[b].0 - nm).abs()))
                    .unwrap();
                bbl[i] == 0.0
            };
            assert!(bad(1380.0) && bad(1900.0) && bad(2497.0), "{sensor}");
            assert!(!bad(860.0) && !bad(1650.0) && !bad(2200.0), "{sensor}");
            assert_eq!(Sensor::from_name(sensor.name()), Some(sensor));
        }
    }
}
