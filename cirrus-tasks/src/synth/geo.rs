//! Georeferencing of synthetic scenes: UTM on WGS 84, its WKT, and the inverse
//! transverse Mercator projection (Snyder 1987, eqs. 8-12 to 8-25, ~mm accuracy within a
//! zone) to put the footprint in the STAC item in longitude/latitude.

/// WGS 84 semi-major axis (m).
const A: f64 = 6_378_137.0;
/// WGS 84 flattening.
const F: f64 = 1.0 / 298.257_223_563;
/// UTM scale factor on the central meridian.
const K0: f64 = 0.9996;

/// The EPSG code of WGS 84 / UTM `zone` (north or south).
pub(crate) fn utm_epsg(zone: u32, north: bool) -> u32 {
    if north { 32600 + zone } else { 32700 + zone }
}

/// The central meridian of UTM `zone`, in degrees.
fn central_meridian(zone: u32) -> f64 {
    f64::from(zone) * 6.0 - 183.0
}

/// The WKT (GDAL's WKT1 flavour, with EPSG authorities) of WGS 84 / UTM `zone`.
pub(crate) fn utm_wkt(zone: u32, north: bool) -> String {
    let hemisphere = if north { 'N' } else { 'S' };
    let false_northing = if north { 0 } else { 10_000_000 };
    format!(
        concat!(
            "PROJCS[\"WGS 84 / UTM zone {zone}{h}\",GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",",
            "SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],",
            "AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],",
            "UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],",
            "AUTHORITY[\"EPSG\",\"4326\"]],PROJECTION[\"Transverse_Mercator\"],",
            "PARAMETER[\"latitude_of_origin\",0],PARAMETER[\"central_meridian\",{cm}],",
            "PARAMETER[\"scale_factor\",0.9996],PARAMETER[\"false_easting\",500000],",
            "PARAMETER[\"false_northing\",{fnorth}],UNIT[\"metre\",1,AUTHORITY[\"EPSG\",\"9001\"]],",
            "AXIS[\"Easting\",EAST],AXIS[\"Northing\",NORTH],AUTHORITY[\"EPSG\",\"{epsg}\"]]"
        ),
        zone = zone,
        h = hemisphere,
        cm = central_meridian(zone),
        fnorth = false_northing,
        epsg = utm_epsg(zone, north)
    )
}

/// `(longitude, latitude)` in degrees of UTM `(easting, northing)` in `zone`.
pub(crate) fn utm_to_lonlat(zone: u32, north: bool, easting: f64, northing: f64) -> (f64, f64) {
    let e2 = F * (2.0 - F);
    let ep2 = e2 / (1.0 - e2);
    let x = easting - 500_000.0;
    let y = if north {
        northing
    } else {
        northing - 10_000_000.0
    };
    let m = y / K0;
    let mu = m / (A * (1.0 - e2 / 4.0 - 3.0 * e2 * e2 / 64.0 - 5.0 * e2.powi(3) / 256.0));
    let e1 = (1.0 - (1.0 - e2).sqrt()) / (1.0 + (1.0 - e2).sqrt());
    let phi1 = mu
        + (3.0 * e1 / 2.0 - 27.0 * e1.powi(3) / 32.0) * (2.0 * mu).sin()
        + (21.0 * e1 * e1 / 16.0 - 55.0 * e1.powi(4) / 32.0) * (4.0 * mu).sin()
        + (151.0 * e1.powi(3) / 96.0) * (6.0 * mu).sin()
        + (1097.0 * e1.powi(4) / 512.0) * (8.0 * mu).sin();
    let (sin1, cos1) = phi1.sin_cos();
    let tan1 = sin1 / cos1;
    let c1 = ep2 * cos1 * cos1;
    let t1 = tan1 * tan1;
    let n1 = A / (1.0 - e2 * sin1 * sin1).sqrt();
    let r1 = A * (1.0 - e2) / (1.0 - e2 * sin1 * sin1).powf(1.5);
    let d = x / (n1 * K0);
    let lat = phi1
        - (n1 * tan1 / r1)
            * (d * d / 2.0
                - (5.0 + 3.0 * t1 + 10.0 * c1 - 4.0 * c1 * c1 - 9.0 * ep2) * d.powi(4) / 24.0
                + (61.0 + 90.0 * t1 + 298.0 * c1 + 45.0 * t1 * t1 - 252.0 * ep2 - 3.0 * c1 * c1)
                    * d.powi(6)
                    / 720.0);
    let lon = (d - (1.0 + 2.0 * t1 + c1) * d.powi(3) / 6.0
        + (5.0 - 2.0 * c1 + 28.0 * t1 - 3.0 * c1 * c1 + 8.0 * ep2 + 24.0 * t1 * t1) * d.powi(5)
            / 120.0)
        / cos1;
    (central_meridian(zone) + lon.to_degrees(), lat.to_degrees())
}

/// The map position of pixel corner `(sample, line)` under geotransform `gt`.
pub(crate) fn apply(gt: &[f64; 6], sample: f64, line: f64) -> (f64, f64) {
    (
        gt[0] + sample * gt[1] + line * gt[2],
        gt[3] + sample * gt[4] + line * gt[5],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_utm_points_invert() {
        // The central meridian on the equator.
        let (lon, lat) = utm_to_lonlat(31, true, 500_000.0, 0.0);
        assert!((lon - 3.0).abs() < 1e-9 && lat.abs() < 1e-9);
        // 34°N 117°W is E 500000, N 3762155.98 in zone 11 (gdaltransform).
        let (lon, lat) = utm_to_lonlat(11, true, 500_000.0, 3_762_155.977_6);
        assert!(
            (lon + 117.0).abs() < 1e-7 && (lat - 34.0).abs() < 1e-7,
            "{lon} {lat}"
        );
        // 34°N 116°W, off the central meridian: E 592349.60, N 3762606.66 (gdaltransform).
        let (lon, lat) = utm_to_lonlat(11, true, 592_349.603_3, 3_762_606.659_9);
        assert!(
            (lon + 116.0).abs() < 1e-6 && (lat - 34.0).abs() < 1e-6,
            "{lon} {lat}"
        );
        assert!(utm_wkt(11, true).contains("AUTHORITY[\"EPSG\",\"32611\"]]"));
    }
}
