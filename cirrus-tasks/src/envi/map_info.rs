//! The header's `map info`: the scene's georeferencing, and how GDAL reads it.

use super::header::{list_items, truncate};

/// The georeferencing of a scene: the header's `map info`.
///
/// `ref_x`, `ref_y` is a (1-based) pixel position, `(1, 1)` being the upper-left corner of the
/// upper-left pixel; `easting`, `northing` are its map coordinates; `pixel_x`, `pixel_y` the
/// pixel size in map units. `rotation_deg` is the `rotation=` entry, counter-clockwise (see
/// [`MapInfo::geotransform`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MapInfo {
    /// The projection name (`UTM`, `Geographic Lat/Lon`, …).
    pub projection: String,
    /// The reference pixel's sample (1-based; 1 is the left edge of the first pixel).
    pub ref_x: f64,
    /// The reference pixel's line (1-based; 1 is the top edge of the first line).
    pub ref_y: f64,
    /// The reference pixel's easting (or longitude).
    pub easting: f64,
    /// The reference pixel's northing (or latitude).
    pub northing: f64,
    /// The pixel width, in map units.
    pub pixel_x: f64,
    /// The pixel height, in map units.
    pub pixel_y: f64,
    /// The UTM zone, for `UTM`.
    pub zone: Option<u32>,
    /// The UTM hemisphere (`North` true, `South` false), for `UTM`.
    pub north: Option<bool>,
    /// The datum (`WGS-84`, …).
    pub datum: Option<String>,
    /// The `units=` entry (`Meters`, …).
    pub units: Option<String>,
    /// The `rotation=` entry, in degrees (0 when absent).
    pub rotation_deg: f64,
}

impl MapInfo {
    /// The GDAL geotransform this `map info` stands for, exactly as GDAL 3.6 reads it:
    /// `[E − (rx−1)·px, px·cos θ, py·sin θ, N + (ry−1)·py, px·sin θ, −py·cos θ]`, where θ is
    /// `rotation_deg` and `(rx, ry)` the reference pixel. A positive angle turns the image
    /// counter-clockwise on the map (the sample axis points θ north of east). GDAL applies
    /// the reference offset unrotated, so with a rotation only the usual reference `(1, 1)`
    /// (the upper-left corner of the first pixel) puts that corner at (`easting`, `northing`).
    pub fn geotransform(&self) -> [f64; 6] {
        let (sin, cos) = self.rotation_deg.to_radians().sin_cos();
        let (px, py) = (self.pixel_x, self.pixel_y);
        [
            self.easting - (self.ref_x - 1.0) * px,
            px * cos,
            py * sin,
            self.northing + (self.ref_y - 1.0) * py,
            px * sin,
            -py * cos,
        ]
    }
}

pub(super) fn parse(value: &str) -> std::result::Result<MapInfo, String> {
    let items = list_items(value);
    if items.len() < 7 {
        return Err(format!(
            "{} entries; it needs at least 7 (projection, reference x and y, easting, northing, pixel width and height)",
            items.len()
        ));
    }
    let number = |i: usize, what: &str| {
        items[i]
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("the {what} ({:?}) is not a number", truncate(items[i])))
    };
    let mut info = MapInfo {
        projection: items[0].to_string(),
        ref_x: number(1, "reference x")?,
        ref_y: number(2, "reference y")?,
        easting: number(3, "easting")?,
        northing: number(4, "northing")?,
        pixel_x: number(5, "pixel width")?,
        pixel_y: number(6, "pixel height")?,
        zone: None,
        north: None,
        datum: None,
        units: None,
        rotation_deg: 0.0,
    };
    let mut rest: Vec<&str> = Vec::new();
    for item in &items[7..] {
        match item.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("units") => {
                info.units = Some(v.trim().to_string());
            }
            Some((k, v)) if k.trim().eq_ignore_ascii_case("rotation") => {
                info.rotation_deg = v.trim().parse::<f64>().map_err(|_| {
                    format!("rotation={:?} is not a number of degrees", truncate(v))
                })?;
            }
            Some(_) => {}
            None => rest.push(item),
        }
    }
    let mut rest = rest.into_iter();
    if info.projection.eq_ignore_ascii_case("UTM") {
        let zone = rest.next().ok_or("UTM without a zone")?;
        info.zone = Some(
            zone.parse::<u32>()
                .ok()
                .filter(|z| (1..=60).contains(z))
                .ok_or_else(|| format!("the UTM zone {:?} is not 1 to 60", truncate(zone)))?,
        );
        let hemisphere = rest.next().ok_or("UTM without North or South")?;
        info.north = match hemisphere.to_ascii_lowercase().as_str() {
            "north" => Some(true),
            "south" => Some(false),
            _ => {
                return Err(format!(
                    "the UTM hemisphere {:?} is not North or South",
                    truncate(hemisphere)
                ));
            }
        };
    }
    info.datum = rest.next().map(str::to_string);
    Ok(info)
}

pub(super) fn to_text(map: &MapInfo) -> String {
    let mut items = vec![
        map.projection.clone(),
        format!("{}", map.ref_x),
        format!("{}", map.ref_y),
        format!("{:.3}", map.easting),
        format!("{:.3}", map.northing),
        format!("{}", map.pixel_x),
        format!("{}", map.pixel_y),
    ];
    if let Some(zone) = map.zone {
        items.push(zone.to_string());
    }
    if let Some(north) = map.north {
        items.push(if north { "North" } else { "South" }.into());
    }
    if let Some(datum) = &map.datum {
        items.push(datum.clone());
    }
    if let Some(units) = &map.units {
        items.push(format!("units={units}"));
    }
    if map.rotation_deg != 0.0 {
        items.push(format!("rotation={}", map.rotation_deg));
    }
    format!("{{{}}}", items.join(", "))
}
