//! The scene synthesiser: determinism, every interleave read back by the ENVI reader and by
//! GDAL, georeferencing, bad band lists, gains, fill and planted targets.

#![cfg(feature = "gdal")]

use cirrus_tasks::Error;
use cirrus_tasks::envi::{EnviImage, Header, Interleave};
use cirrus_tasks::sensor::Sensor;
use cirrus_tasks::synth::{self, SynthDtype, SynthOptions, Synthesized, Target};
use serde_json::Value;
use std::path::Path;

const INTERLEAVES: [Interleave; 3] = [Interleave::Bsq, Interleave::Bil, Interleave::Bip];

fn options(sensor: Sensor, width: usize, height: usize, interleave: Interleave) -> SynthOptions {
    SynthOptions {
        sensor,
        width,
        height,
        interleave,
        dtype: SynthDtype::Float32,
        rotation_deg: 0.0,
        target: None,
        bbl: None,
        seed: 42,
    }
}

fn synth(opts: &SynthOptions, dir: &Path) -> Synthesized {
    synth::write(opts, dir).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The index of the band nearest `nm`.
fn band_at(header: &Header, nm: f64) -> usize {
    let centres = header.wavelengths_nm().unwrap();
    (0..centres.len())
        .min_by(|&a, &b| (centres[a] - nm).abs().total_cmp(&(centres[b] - nm).abs()))
        .unwrap()
}

#[test]
fn the_same_seed_gives_the_same_bytes_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(Sensor::AvirisClassic, 37, 23, Interleave::Bsq);
    opts.target = Some(Target::Oil);
    let a = synth(&opts, &tmp.path().join("a"));
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = one_thread.install(|| synth(&opts, &tmp.path().join("b")));
    assert_eq!(
        std::fs::read(&a.image).unwrap(),
        std::fs::read(&b.image).unwrap()
    );
    assert_eq!(
        std::fs::read(&a.header).unwrap(),
        std::fs::read(&b.header).unwrap()
    );
    assert_eq!(read_json(&a.truth_path), read_json(&b.truth_path));
    assert_eq!(a.item["id"], b.item["id"]);
    assert_eq!(a.item["geometry"], b.item["geometry"]);

    opts.seed = 43;
    let c = synth(&opts, &tmp.path().join("c"));
    assert_ne!(
        std::fs::read(&a.image).unwrap(),
        std::fs::read(&c.image).unwrap()
    );
}

#[test]
fn every_interleave_holds_the_same_spectra_for_the_envi_reader_and_for_gdal() {
    let tmp = tempfile::tempdir().unwrap();
    for (sensor, width, height, dtype) in [
        (Sensor::AvirisClassic, 7, 7, SynthDtype::Int16),
        (Sensor::AvirisClassic, 300, 40, SynthDtype::Float32),
        (Sensor::AvirisNg, 9, 8, SynthDtype::Float32),
    ] {
        let mut reference: Option<Vec<Vec<f64>>> = None;
        for interleave in INTERLEAVES {
            let mut opts = options(sensor, width, height, interleave);
            opts.dtype = dtype;
            let dir = tmp.path().join(format!("{sensor}-{width}-{interleave}"));
            let s = synth(&opts, &dir);
            let envi = EnviImage::open(&s.image).unwrap();
            assert_eq!(envi.header().interleave, interleave);
            let ds = gdal::Dataset::open(&s.image).unwrap();
            assert_eq!(ds.raster_size(), (width, height));
            assert_eq!(ds.raster_count(), sensor.bands().len());
            let pixels = [(0, 0), (height / 2, width / 2), (height - 1, width - 2)];
            let spectra: Vec<Vec<f64>> = pixels
                .iter()
                .map(|&(l, s)| envi.pixel(l, s).unwrap())
                .collect();
            for (&(l, s), spectrum) in pixels.iter().zip(&spectra) {
                for band in [1, 33, 97, 161, sensor.bands().len()] {
                    let value = ds
                        .rasterband(band)
                        .unwrap()
                        .read_as::<f64>((s as isize, l as isize), (1, 1), (1, 1), None)
                        .unwrap()
                        .data()[0];
                    assert_eq!(
                        value,
                        spectrum[band - 1],
                        "{interleave} ({l}, {s}) band {band}"
                    );
                }
            }
            // A whole line, band-major, agrees with the pixels.
            let line = envi.line(height / 2).unwrap();
            assert_eq!(line[5 * width + width / 2], spectra[1][5]);
            match &reference {
                None => reference = Some(spectra),
                Some(reference) => assert_eq!(reference, &spectra, "{interleave}"),
            }
        }
    }
}

#[test]
fn the_header_round_trips_and_carries_the_sensor_table() {
    let tmp = tempfile::tempdir().unwrap();
    for sensor in Sensor::ALL {
        let s = synth(
            &options(sensor, 8, 7, Interleave::Bil),
            &tmp.path().join(sensor.name()),
        );
        let header = Header::read(&s.header).unwrap();
        assert_eq!(Header::parse(&header.to_text(), &s.header).unwrap(), header);
        let table = sensor.bands();
        let centres: Vec<f64> = table.iter().map(|b| b.0).collect();
        let fwhm: Vec<f64> = table.iter().map(|b| b.1).collect();
        assert_eq!(header.wavelengths_nm().unwrap(), centres);
        assert_eq!(header.fwhm_nm().unwrap(), fwhm);
        // The item's eo:bands are in band order, seams included.
        let eo = s.item["assets"]["data"]["eo:bands"].as_array().unwrap();
        assert_eq!(eo.len(), centres.len());
        for (entry, centre) in eo.iter().zip(&centres) {
            let um = entry["center_wavelength"].as_f64().unwrap();
            assert!((um * 1000.0 - centre).abs() < 1e-6);
        }
        assert_eq!(s.item["id"], s.image.file_stem().unwrap().to_str().unwrap());
        assert_eq!(s.item["collection"], sensor.name());
        let self_href = s.item["links"][0]["href"].as_str().unwrap();
        assert!(self_href.starts_with("file:///") && self_href.ends_with("/item.json"));
        assert_eq!(read_json(&s.item_path), s.item);
    }
    let classic = Header::read(
        &synth(
            &options(Sensor::AvirisClassic, 7, 7, Interleave::Bip),
            &tmp.path().join("seam"),
        )
        .header,
    )
    .unwrap()
    .wavelengths_nm()
    .unwrap();
    assert!(classic[32] < classic[31], "the A/B seam goes backwards");
}

#[test]
fn gdal_reads_the_rotated_map_info_and_the_footprint_matches() {
    let tmp = tempfile::tempdir().unwrap();
    for rotation in [0.0, -27.0, 42.0] {
        let mut opts = options(Sensor::AvirisNg, 60, 25, Interleave::Bil);
        opts.rotation_deg = rotation;
        let s = synth(&opts, &tmp.path().join(format!("r{rotation}")));
        let header = Header::read(&s.header).unwrap();
        let map = header.map_info.clone().unwrap();
        assert_eq!(map.rotation_deg, rotation);
        let ds = gdal::Dataset::open(&s.image).unwrap();
        let gt = ds.geo_transform().unwrap();
        for (mine, theirs) in map.geotransform().iter().zip(gt) {
            assert!(
                (mine - theirs).abs() < 1e-6,
                "rotation {rotation}: {mine} vs {theirs}"
            );
        }
        // The item's footprint corners are GDAL's pixel corners, in WGS 84.
        let srs = ds.spatial_ref().unwrap();
        assert_eq!(srs.auth_code().unwrap(), 32600 + map.zone.unwrap() as i32);
        let mut wgs84 = gdal::spatial_ref::SpatialRef::from_epsg(4326).unwrap();
        wgs84
            .set_axis_mapping_strategy(gdal::spatial_ref::AxisMappingStrategy::TraditionalGisOrder);
        let mut utm = srs.clone();
        utm.set_axis_mapping_strategy(gdal::spatial_ref::AxisMappingStrategy::TraditionalGisOrder);
        let to_wgs84 = gdal::spatial_ref::CoordTransform::new(&utm, &wgs84).unwrap();
        let ring = s.item["geometry"]["coordinates"][0].as_array().unwrap();
        let (w, h) = (60.0, 25.0);
        for (corner, (px, py)) in ring.iter().zip([(0.0, 0.0), (0.0, h), (w, h), (w, 0.0)]) {
            let mut x = [gt[0] + px * gt[1] + py * gt[2]];
            let mut y = [gt[3] + px * gt[4] + py * gt[5]];
            to_wgs84.transform_coords(&mut x, &mut y, &mut []).unwrap();
            let (lon, lat) = (corner[0].as_f64().unwrap(), corner[1].as_f64().unwrap());
            assert!(
                (lon - x[0]).abs() < 1e-6 && (lat - y[0]).abs() < 1e-6,
                "{lon},{lat} vs {},{}",
                x[0],
                y[0]
            );
        }
        let bbox: Vec<f64> = s.item["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(bbox[0] < bbox[2] && bbox[1] < bbox[3]);
    }
}

#[test]
fn the_bad_band_list_is_there_when_asked_and_sometimes_when_not() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(Sensor::AvirisClassic, 7, 7, Interleave::Bil);
    opts.bbl = Some(true);
    let with = Header::read(&synth(&opts, &tmp.path().join("with")).header).unwrap();
    assert_eq!(with.bbl, Some(Sensor::AvirisClassic.default_bbl()));
    opts.bbl = Some(false);
    let without = Header::read(&synth(&opts, &tmp.path().join("without")).header).unwrap();
    assert_eq!(without.bbl, None);
    opts.bbl = None;
    let present: Vec<bool> = (0..12)
        .map(|seed| {
            opts.seed = seed;
            let s = synth(&opts, &tmp.path().join(format!("seed{seed}")));
            Header::read(&s.header).unwrap().bbl.is_some()
        })
        .collect();
    assert!(
        present.contains(&true) && present.contains(&false),
        "{present:?}"
    );
}

#[test]
fn int16_radiance_needs_the_gains_and_is_plausible() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(Sensor::AvirisClassic, 20, 20, Interleave::Bip);
    opts.dtype = SynthDtype::Int16;
    let s = synth(&opts, tmp.path());
    let envi = EnviImage::open(&s.image).unwrap();
    let header = envi.header();
    let gains = header.data_gain_values.clone().unwrap();
    assert_eq!(gains, Sensor::AvirisClassic.gains());
    assert_eq!(header.data_ignore_value, None);
    let (green, swir) = (band_at(header, 550.0), band_at(header, 2200.0));
    for l in 0..20 {
        for s in 0..20 {
            let stored = envi.pixel(l, s).unwrap();
            // Radiance (µW/(cm²·sr·nm)) = stored / gain.
            let radiance_green = stored[green] / gains[green];
            let radiance_swir = stored[swir] / gains[swir];
            assert!((0.1..60.0).contains(&radiance_green), "{radiance_green}");
            assert!((0.0..10.0).contains(&radiance_swir), "{radiance_swir}");
            assert!(stored.iter().all(|v| v.abs() < 32767.0), "no saturation");
        }
    }
}

#[test]
fn float32_fill_corners_are_there_and_undeclared() {
    let tmp = tempfile::tempdir().unwrap();
    for (w, h) in [(7, 7), (50, 30)] {
        let s = synth(
            &options(Sensor::AvirisNg, w, h, Interleave::Bil),
            &tmp.path().join(format!("{w}")),
        );
        let text = std::fs::read_to_string(&s.header).unwrap();
        assert!(!text.contains("data ignore value"));
        let envi = EnviImage::open(&s.image).unwrap();
        for (l, s) in [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1)] {
            assert!(envi.pixel(l, s).unwrap().iter().all(|&v| v == -9999.0));
        }
        let centre = envi.pixel(h / 2, w / 2).unwrap();
        assert!(centre.iter().all(|&v| v > -1.0 && v < 1.5));
        let ds = gdal::Dataset::open(&s.image).unwrap();
        assert_eq!(ds.rasterband(1).unwrap().no_data_value(), None);
    }
}

#[test]
fn planted_pixels_carry_the_target_signature_and_nothing_else_changes() {
    let tmp = tempfile::tempdir().unwrap();
    for (target, width, height) in [
        (Target::Oil, 100, 80),
        (Target::Methane, 100, 80),
        (Target::Oil, 7, 7),
    ] {
        let mut opts = options(Sensor::AvirisNg, width, height, Interleave::Bip);
        let plain = synth(&opts, &tmp.path().join(format!("plain{width}")));
        opts.target = Some(target);
        let planted = synth(&opts, &tmp.path().join(format!("{}{width}", target.name())));
        let truth = read_json(&planted.truth_path);
        assert_eq!(truth["target"], target.name());
        let pixels = truth["pixels"].as_array().unwrap();
        let fraction = pixels.len() as f64 / (width * height) as f64;
        assert!(!pixels.is_empty() && fraction <= 0.03, "{fraction}");
        if width > 7 {
            assert!(fraction >= 0.005, "{fraction}");
        }
        let a = EnviImage::open(&plain.image).unwrap();
        let b = EnviImage::open(&planted.image).unwrap();
        let header = a.header().clone();
        let (hi_a, hi_b, hi_c) = (
            band_at(&header, 1705.0),
            band_at(&header, 1729.0),
            band_at(&header, 1741.0),
        );
        let ch4 = band_at(&header, 2338.0);
        let planted_at: std::collections::HashMap<(u64, u64), f64> = pixels
            .iter()
            .map(|p| {
                (
                    (p[0].as_u64().unwrap(), p[1].as_u64().unwrap()),
                    p[2].as_f64().unwrap(),
                )
            })
            .collect();
        for l in 0..height {
            for s in 0..width {
                let (x, y) = (a.pixel(l, s).unwrap(), b.pixel(l, s).unwrap());
                match planted_at.get(&(l as u64, s as u64)) {
                    None => assert_eq!(x, y, "({l}, {s}) changed but is not in truth.json"),
                    Some(&amount) => match target {
                        Target::Oil => {
                            assert!((0.3..=0.8).contains(&amount));
                            let hi =
                                |r: &[f64]| 24.0 * (r[hi_c] - r[hi_a]) / 36.0 + r[hi_a] - r[hi_b];
                            assert!(
                                hi(&y) > hi(&x) + 0.01 * amount,
                                "({l}, {s}): {} vs {}",
                                hi(&y),
                                hi(&x)
                            );
                        }
                        Target::Methane => {
                            assert!((1500.0..=4000.0).contains(&amount));
                            let expected = (-cirrus_tasks::library::methane_absorption(
                                header.wavelengths_nm().unwrap()[ch4],
                            ) * amount)
                                .exp();
                            let ratio = y[ch4] / x[ch4];
                            assert!(
                                ratio < 0.95 && (ratio - expected).abs() < 0.1,
                                "{ratio} vs {expected}"
                            );
                        }
                    },
                }
            }
        }
    }
}

#[test]
fn bad_options_name_the_option() {
    let tmp = tempfile::tempdir().unwrap();
    for (opts, name) in [
        (options(Sensor::AvirisNg, 0, 10, Interleave::Bil), "width"),
        (options(Sensor::AvirisNg, 10, 6, Interleave::Bil), "height"),
        (
            SynthOptions {
                rotation_deg: f64::NAN,
                ..options(Sensor::AvirisNg, 10, 10, Interleave::Bil)
            },
            "rotation",
        ),
    ] {
        match synth::write(&opts, tmp.path()) {
            Err(Error::Parameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("expected a parameter error on {name}, got {other:?}"),
        }
    }
}
