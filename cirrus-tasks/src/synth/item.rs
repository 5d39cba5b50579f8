//! The seed-derived identity of a synthetic scene (name, date, place) and its STAC item and
//! truth file.

use super::geo;
use super::rng::hash;
use super::{SynthDtype, SynthOptions, Target};
use crate::envi::Header;
use crate::sensor::Sensor;
use crate::spectral::{Band, Bands};
use serde_json::{Value, json};
use std::path::Path;

/// Where and when a scene was "flown", derived from its seed.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// The AVIRIS-style scene name: `f<yymmdd>t01p00r<nn>` or `ang<yyyymmdd>t<hhmmss>`.
    pub(crate) scene: String,
    /// RFC 3339 acquisition time.
    pub(crate) datetime: String,
    /// UTM zone (northern hemisphere).
    pub(crate) zone: u32,
    /// Easting of the upper-left corner.
    pub(crate) easting: f64,
    /// Northing of the upper-left corner.
    pub(crate) northing: f64,
    /// Pixel size, in metres.
    pub(crate) pixel: f64,
}

impl Layout {
    pub(crate) fn new(opts: &SynthOptions) -> Layout {
        let pick = |stream: u64, n: u64| hash(opts.seed, 100 + stream) % n;
        let month = 5 + pick(1, 5) as u32;
        let day = 1 + pick(2, 28) as u32;
        let (hour, minute, second) = (16 + pick(3, 6), pick(4, 60), pick(5, 60));
        let (scene, year, pixel) = match opts.sensor {
            Sensor::AvirisClassic => {
                let year = 2006 + pick(6, 14) as u32;
                let run = 1 + pick(7, 20);
                let pixel = [14.4, 15.2, 16.4][pick(8, 3) as usize];
                (
                    format!("f{:02}{month:02}{day:02}t01p00r{run:02}", year % 100),
                    year,
                    pixel,
                )
            }
            Sensor::AvirisNg => {
                let year = 2014 + pick(6, 10) as u32;
                (
                    format!("ang{year}{month:02}{day:02}t{hour:02}{minute:02}{second:02}"),
                    year,
                    5.2,
                )
            }
        };
        Layout {
            scene,
            datetime: format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"),
            zone: 10 + pick(9, 9) as u32,
            easting: 300_000.0 + pick(10, 400) as f64 * 1000.0,
            northing: 3_500_000.0 + pick(11, 1000) as f64 * 1000.0,
            pixel,
        }
    }
}

/// The STAC item of the scene: footprint, acquisition, projection and the two assets.
pub(crate) fn stac_item(
    opts: &SynthOptions,
    layout: &Layout,
    header: &Header,
    image: &Path,
    header_path: &Path,
    out_dir: &Path,
) -> Value {
    let map = header
        .map_info
        .as_ref()
        .expect("the synthesiser always writes a map info");
    let gt = map.geotransform();
    let (w, h) = (header.samples as f64, header.lines as f64);
    // Exterior ring counter-clockwise (RFC 7946): upper-left, lower-left, lower-right,
    // upper-right (the image axes keep their handedness under rotation).
    let ring: Vec<[f64; 2]> = [(0.0, 0.0), (0.0, h), (w, h), (w, 0.0), (0.0, 0.0)]
        .iter()
        .map(|&(s, l)| {
            let (e, n) = geo::apply(&gt, s, l);
            let (lon, lat) = geo::utm_to_lonlat(layout.zone, true, e, n);
            [round(lon, 1e7), round(lat, 1e7)]
        })
        .collect();
    let (lons, lats): (Vec<f64>, Vec<f64>) = ring.iter().map(|p| (p[0], p[1])).unzip();
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let bbox = [min(&lons), min(&lats), max(&lons), max(&lats)];
    let bbl = header.bbl.clone().unwrap_or_default();
    let bands = Bands(
        opts.sensor
            .bands()
            .iter()
            .enumerate()
            .map(|(i, &(centre, fwhm))| Band {
                name: format!("B{:03}", i + 1),
                center_nm: centre,
                fwhm_nm: Some(fwhm),
                good: bbl.get(i) != Some(&0.0),
            })
            .collect(),
    );
    let (lo, hi) = bands.range_nm();
    let platform = match opts.sensor {
        Sensor::AvirisClassic => "ER-2",
        Sensor::AvirisNg => "King Air B200",
    };
    let file_url = |path: &Path| {
        url::Url::from_file_path(path)
            .map(String::from)
            .unwrap_or_else(|()| path.display().to_string())
    };
    json!({
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
        ],
        "id": layout.scene,
        "collection": opts.sensor.name(),
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": bbox,
        "properties": {
            "datetime": layout.datetime,
            "platform": platform,
            "instruments": [opts.sensor.name()],
            "gsd": layout.pixel,
            "proj:epsg": geo::utm_epsg(layout.zone, true),
            "proj:shape": [header.lines, header.samples],
            "proj:transform": [gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]],
            "hsi:wavelength_min": lo / 1000.0,
            "hsi:wavelength_max": hi / 1000.0,
            "cirrus:synthetic": {
                "seed": opts.seed,
                "dtype": opts.dtype.name(),
                "interleave": opts.interleave.as_str(),
                "rotation": opts.rotation_deg,
                "target": opts.target.map(Target::name),
                "bbl": header.bbl.is_some(),
                "fill": (opts.dtype == SynthDtype::Float32).then_some(super::scene::FILL),
            }
        },
        "links": [
            {"rel": "self", "href": file_url(&out_dir.join("item.json")), "type": "application/geo+json"}
        ],
        "assets": {
            "data": {
                "href": file_url(image),
                "type": "application/octet-stream",
                "title": format!("ENVI {} image ({})", opts.dtype.name(), opts.interleave),
                "roles": ["data"],
                "eo:bands": bands.to_eo()
            },
            "header": {
                "href": file_url(header_path),
                "type": "text/plain",
                "title": "ENVI header",
                "roles": ["metadata"]
            }
        }
    })
}

/// `truth.json`: the target and its pixels, `[line, sample, amount]` (0-based; the amount is
/// an abundance for oil, ppm·m for methane).
pub(crate) fn truth_json(target: Option<Target>, pixels: &[(usize, usize, f64)]) -> Value {
    let unit = target.map(|t| match t {
        Target::Oil => "abundance",
        Target::Methane => "ppm·m",
    });
    json!({
        "target": target.map(Target::name),
        "unit": unit,
        "pixels": pixels
            .iter()
            .map(|&(l, s, a)| json!([l, s, round(a, 1e4)]))
            .collect::<Vec<_>>(),
    })
}

fn round(value: f64, scale: f64) -> f64 {
    (value * scale).round() / scale
}
