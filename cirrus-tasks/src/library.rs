//! A small spectral library of smooth analytic spectra, as functions of wavelength (nm):
//! the surface materials the synthesiser mixes, a methane absorption spectrum and an
//! at-sensor radiance scale.
//!
//! The shapes are physically plausible (a red edge, liquid-water absorptions, C–H
//! absorptions of hydrocarbons) but synthetic: they are not measurements from USGS or ECOSTRESS
//! libraries, and they are meant for testing pipelines, not for science.

use std::fmt;

/// A surface material of the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Material {
    /// Green vegetation: chlorophyll absorption at 670 nm, a red edge near 700–720 nm, a NIR
    /// plateau, liquid-water absorptions at 970, 1200, 1450 and 1940 nm.
    Vegetation,
    /// Open water: a few percent in the blue and green, nearly black in the NIR and SWIR.
    Water,
    /// Bare soil: brightness rising with wavelength, weak water and clay absorptions.
    Soil,
    /// Crude oil: dark in the visible, with C–H absorptions at ~1730 and ~2310 nm.
    Oil,
}

impl Material {
    /// Every material.
    pub const ALL: [Material; 4] = [
        Material::Vegetation,
        Material::Water,
        Material::Soil,
        Material::Oil,
    ];

    /// The lower-case name.
    pub fn name(&self) -> &'static str {
        match self {
            Material::Vegetation => "vegetation",
            Material::Water => "water",
            Material::Soil => "soil",
            Material::Oil => "oil",
        }
    }
}

impl fmt::Display for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Gaussian of height 1 centred on `centre` with standard deviation `sigma`.
fn gauss(nm: f64, centre: f64, sigma: f64) -> f64 {
    let z = (nm - centre) / sigma;
    (-0.5 * z * z).exp()
}

/// A logistic step from 0 to 1 centred on `centre`, `width` nm wide.
fn step(nm: f64, centre: f64, width: f64) -> f64 {
    1.0 / (1.0 + (-(nm - centre) / width).exp())
}

/// Multiplies by `1 − depth` at each absorption centre (`(centre, sigma, depth)`).
fn absorb(nm: f64, bands: &[(f64, f64, f64)]) -> f64 {
    bands
        .iter()
        .map(|&(centre, sigma, depth)| 1.0 - depth * gauss(nm, centre, sigma))
        .product()
}

/// The reflectance (0–1) of `material` at `nm`.
pub fn reflectance(material: Material, nm: f64) -> f64 {
    let r = match material {
        Material::Vegetation => {
            let visible = 0.035 + 0.08 * gauss(nm, 550.0, 35.0) - 0.015 * gauss(nm, 670.0, 25.0);
            let nir = 0.46 - 0.16 * step(nm, 1600.0, 250.0);
            let edge = step(nm, 712.0, 12.0);
            let base = visible * (1.0 - edge) + nir * edge;
            base * absorb(
                nm,
                &[
                    (970.0, 25.0, 0.06),
                    (1200.0, 40.0, 0.12),
                    (1450.0, 60.0, 0.55),
                    (1940.0, 70.0, 0.7),
                    (2500.0, 120.0, 0.4),
                ],
            )
        }
        Material::Water => 0.005 + 0.06 * (-(nm - 400.0).max(0.0) / 150.0).exp(),
        Material::Soil => {
            let base = 0.08 + 0.32 * (1.0 - (-(nm - 350.0).max(0.0) / 700.0).exp());
            base * absorb(
                nm,
                &[
                    (1410.0, 30.0, 0.12),
                    (1910.0, 40.0, 0.18),
                    (2205.0, 25.0, 0.1),
                ],
            )
        }
        Material::Oil => {
            let base = 0.03 + 0.22 * step(nm, 900.0, 150.0);
            base * absorb(
                nm,
                &[
                    (1195.0, 15.0, 0.12),
                    (1730.0, 12.0, 0.45),
                    (1765.0, 10.0, 0.2),
                    (2310.0, 20.0, 0.45),
                    (2350.0, 18.0, 0.35),
                ],
            )
        }
    };
    r.clamp(0.0, 1.0)
}

/// The methane absorption coefficient at `nm`, per ppm·m: a pixel whose column holds `c`
/// ppm·m of methane above background transmits `exp(−k·c)`. The bands sit between 2200
/// and 2450 nm, strongest near 2300–2360 nm; below 2100 nm it is ~0.
pub fn methane_absorption(nm: f64) -> f64 {
    const LINES: [(f64, f64); 10] = [
        (2205.0, 0.12),
        (2245.0, 0.2),
        (2275.0, 0.35),
        (2305.0, 0.7),
        (2320.0, 0.85),
        (2338.0, 1.0),
        (2355.0, 0.9),
        (2372.0, 0.6),
        (2395.0, 0.4),
        (2425.0, 0.2),
    ];
    5.0e-5
        * LINES
            .iter()
            .map(|&(c, s)| s * gauss(nm, c, 9.0))
            .sum::<f64>()
}

/// The at-sensor radiance, in µW/(cm²·sr·nm), of a surface of reflectance 1 at `nm`: a
/// 5778 K solar spectrum scaled to ~190 µW/(cm²·nm) at 500 nm, a 30° sun, and an
/// atmosphere with O₂ and water-vapour absorptions. Used to make int16 L1 radiance.
pub fn solar_radiance(nm: f64) -> f64 {
    let planck = |l: f64| {
        let m = l * 1e-9;
        1.0 / (m.powi(5) * ((1.438_777e-2 / (m * 5778.0)).exp() - 1.0))
    };
    let irradiance = 190.0 * planck(nm) / planck(500.0);
    let rayleigh = (-0.009 * (550.0 / nm).powi(4)).exp();
    let atmosphere = rayleigh
        * absorb(
            nm,
            &[
                (762.0, 4.0, 0.6),
                (940.0, 20.0, 0.5),
                (1135.0, 25.0, 0.55),
                (1380.0, 35.0, 0.97),
                (1880.0, 50.0, 0.98),
                (2500.0, 60.0, 0.5),
            ],
        );
    irradiance * 30f64.to_radians().cos() * atmosphere / std::f64::consts::PI
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kühn et al. (2004) hydrocarbon index on 1705/1729/1741 nm.
    fn hydrocarbon_index(r: impl Fn(f64) -> f64) -> f64 {
        let (a, b, c) = (1705.0, 1729.0, 1741.0);
        (b - a) * (r(c) - r(a)) / (c - a) + r(a) - r(b)
    }

    #[test]
    fn spectra_stay_in_range_and_are_smooth() {
        for material in Material::ALL {
            let mut previous = reflectance(material, 350.0);
            for nm in 351..2600 {
                let r = reflectance(material, f64::from(nm));
                assert!((0.0..=1.0).contains(&r), "{material} at {nm}: {r}");
                assert!((r - previous).abs() < 0.02, "{material} jumps at {nm}");
                previous = r;
            }
        }
    }

    #[test]
    fn vegetation_has_a_red_edge_and_water_absorptions() {
        let v = |nm| reflectance(Material::Vegetation, nm);
        assert!(v(860.0) > 4.0 * v(670.0), "NDVI-like contrast");
        assert!(v(550.0) > v(670.0), "green peak");
        assert!(v(1450.0) < 0.6 * v(1650.0));
        assert!(v(1940.0) < 0.5 * v(2200.0));
        assert!(v(1200.0) < v(1100.0));
        let w = |nm| reflectance(Material::Water, nm);
        assert!(w(860.0) < 0.02 && w(500.0) > w(860.0) * 3.0);
        let s = |nm| reflectance(Material::Soil, nm);
        assert!(s(1650.0) > s(500.0) && s(860.0) < 1.5 * s(670.0));
    }

    #[test]
    fn oil_moves_the_hydrocarbon_index() {
        let oil = hydrocarbon_index(|nm| reflectance(Material::Oil, nm));
        for material in [Material::Vegetation, Material::Water, Material::Soil] {
            let other = hydrocarbon_index(|nm| reflectance(material, nm));
            assert!(oil > other + 0.03, "{material}: {other} vs oil {oil}");
        }
    }

    #[test]
    fn methane_absorbs_only_in_the_swir2() {
        assert!(methane_absorption(2000.0) < 1e-9);
        assert!(methane_absorption(1650.0) < 1e-12);
        let peak = (2200..2450)
            .max_by(|&a, &b| {
                methane_absorption(f64::from(a)).total_cmp(&methane_absorption(f64::from(b)))
            })
            .unwrap();
        assert!((2300..=2360).contains(&peak), "{peak}");
        // A few thousand ppm·m take a visible bite out of the signal.
        let t = (-methane_absorption(f64::from(peak)) * 3000.0).exp();
        assert!((0.7..0.95).contains(&t), "{t}");
    }

    #[test]
    fn radiance_is_plausible_for_aviris() {
        let l = solar_radiance(550.0);
        assert!((30.0..60.0).contains(&l), "{l}");
        assert!(solar_radiance(2200.0) < l / 5.0);
        assert!(solar_radiance(1380.0) < 0.1 * solar_radiance(1250.0));
    }
}
