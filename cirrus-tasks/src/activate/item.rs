//! The activated item: the input's identity and properties that still hold, the WGS84
//! footprint of the scene, the projection extension of the north-up grid, and the `cog`
//! and `preview` assets with `eo:bands` in raster band order and per-band statistics.

use super::stats::BandStats;
use super::warp::{Grid, NODATA};
use crate::error::{Error, Result};
use crate::raster::{COG_MEDIA_TYPE, RASTER_EXTENSION};
use crate::spectral::Bands;
use cirrus_core::payload::Feature;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use serde_json::{Map, Value, json};

/// The EO extension's schema URL.
pub const EO_EXTENSION: &str = "https://stac-extensions.github.io/eo/v1.1.0/schema.json";
/// The HSI extension's schema URL.
pub const HSI_EXTENSION: &str = "https://stac-extensions.github.io/hsi/v1.0.0/schema.json";
/// The projection extension's schema URL.
pub const PROJECTION_EXTENSION: &str =
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json";

/// Property prefixes of the input that describe its raw file, not the activated one.
const REWRITTEN: &[&str] = &[
    "proj:",
    "raster:",
    "file:",
    "hsi:",
    "processing:",
    "cirrus:",
];

/// Points per footprint edge, so that the WGS84 polygon follows the projection's curvature.
const EDGE_POINTS: usize = 8;

/// The output item before any pixel work: the input's `id` (an activated scene is the same
/// scene, in another collection, as cirrus-geo's `-cog` collections do), `collection`,
/// and the input's properties except those the activation rewrites (projection, raster,
/// file, hsi, processing, and item-level `eo:bands`). Enough to find where it is published.
pub fn skeleton(input: &Feature, collection: &str) -> Result<Feature> {
    let properties: Map<String, Value> = input
        .properties()
        .into_iter()
        .flatten()
        .filter(|(key, _)| {
            key.as_str() != "eo:bands" && !REWRITTEN.iter().any(|p| key.starts_with(p))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let kept_extensions: Vec<Value> = input
        .as_value()
        .get("stac_extensions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|url| {
            url.as_str().is_some_and(|url| {
                ![
                    "/eo/",
                    "/hsi/",
                    "/projection/",
                    "/raster/",
                    "/file/",
                    "/processing/",
                ]
                .iter()
                .any(|part| url.contains(part))
            })
        })
        .cloned()
        .collect();
    let item = json!({
        "type": "Feature",
        "stac_version": input.as_value().get("stac_version").cloned().unwrap_or(json!("1.0.0")),
        "stac_extensions": kept_extensions,
        "id": input.id(),
        "collection": collection,
        "geometry": null,
        "properties": properties,
        "links": [],
        "assets": {},
    });
    let Value::Object(map) = item else {
        unreachable!("json! of an object literal is an object")
    };
    Ok(Feature::from_map(map)?)
}

/// What the pixel work produced, for the item.
#[derive(Debug)]
pub struct Products<'a> {
    /// The north-up grid of the COG.
    pub grid: &'a Grid,
    /// Its CRS, as WKT.
    pub wkt: &'a str,
    /// The four corners of the input's (rotated) grid, in the CRS: the data footprint.
    pub footprint: [(f64, f64); 4],
    /// The bands, in raster band order.
    pub bands: &'a Bands,
    /// Each band's statistics.
    pub stats: &'a [BandStats],
    /// The COG's href.
    pub cog: String,
    /// The preview's href.
    pub preview: String,
    /// Whether the pixels are at-sensor radiance (an L1 scene stored with gains) rather than
    /// reflectance: recorded as the COG's role and `processing:level`, so that processors
    /// (the detection targets) know what they read.
    pub radiance: bool,
}

/// Completes `item` (from [`skeleton`]) with the geometry, projection, hsi and asset
/// metadata of `products`.
pub fn complete(item: &mut Feature, products: &Products<'_>) -> Result<()> {
    let mut srs = SpatialRef::from_wkt(products.wkt)
        .map_err(|err| Error::gdal("reading the scene's CRS", err))?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let (geometry, bbox) = footprint(&srs, &products.footprint)?;
    let grid = products.grid;
    let gt = grid.geo_transform;
    let (min_nm, max_nm) = products.bands.range_nm();
    let pixels = (grid.width * grid.height) as u64;
    let raster_bands: Vec<Value> = products
        .stats
        .iter()
        .map(|s| s.raster_band(pixels, NODATA))
        .collect();
    let map = item.as_map_mut();
    map.insert("geometry".into(), geometry);
    map.insert("bbox".into(), json!(bbox));
    if let Some(Value::Array(extensions)) = map.get_mut("stac_extensions") {
        for url in [
            EO_EXTENSION,
            HSI_EXTENSION,
            PROJECTION_EXTENSION,
            RASTER_EXTENSION,
        ] {
            extensions.push(json!(url));
        }
    }
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        properties.insert(
            "proj:code".into(),
            epsg_code(&srs).map_or(Value::Null, Value::from),
        );
        if epsg_code(&srs).is_none() {
            properties.insert("proj:wkt2".into(), json!(products.wkt));
        }
        properties.insert("proj:shape".into(), json!([grid.height, grid.width]));
        properties.insert(
            "proj:transform".into(),
            json!([gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]]),
        );
        properties.insert("proj:bbox".into(), json!(grid.bounds()));
        properties.insert("hsi:wavelength_min".into(), json!(um(min_nm)));
        properties.insert("hsi:wavelength_max".into(), json!(um(max_nm)));
        if products.radiance && !properties.contains_key("processing:level") {
            properties.insert("processing:level".into(), json!("L1B"));
        }
    }
    if let Some(Value::Object(assets)) = map.get_mut("assets") {
        assets.insert(
            "cog".into(),
            json!({
                "href": products.cog,
                "type": COG_MEDIA_TYPE,
                "title": "Activated scene: north-up, gains and fill applied (float32, nodata -9999)",
                "roles": ["data", if products.radiance { "radiance" } else { "reflectance" }],
                "eo:bands": products.bands.to_eo(),
                "raster:bands": raster_bands,
            }),
        );
        assets.insert(
            "preview".into(),
            json!({
                "href": products.preview,
                "type": "image/png",
                "title": "True-colour preview (640, 550, 470 nm)",
                "roles": ["overview"],
            }),
        );
    }
    Ok(())
}

/// Nanometres to micrometres, to 0.01 nm (the precision of `eo:bands`).
fn um(nm: f64) -> f64 {
    (nm * 100.0).round() / 100_000.0
}

/// `EPSG:<code>` of `srs`, when it has one (identified if GDAL did not record it).
fn epsg_code(srs: &SpatialRef) -> Option<String> {
    let code = |srs: &SpatialRef| {
        (srs.auth_name().as_deref() == Some("EPSG"))
            .then(|| srs.auth_code().ok())
            .flatten()
    };
    code(srs)
        .or_else(|| {
            let mut identified = srs.clone();
            identified.auto_identify_epsg().ok()?;
            code(&identified)
        })
        .map(|c| format!("EPSG:{c}"))
}

/// The WGS84 polygon (and its bbox) of the quadrilateral `corners` in `srs`, each edge
/// densified with `EDGE_POINTS` points.
pub fn footprint(srs: &SpatialRef, corners: &[(f64, f64); 4]) -> Result<(Value, Vec<f64>)> {
    let mut wgs84 = SpatialRef::from_epsg(4326).map_err(|err| Error::gdal("the WGS84 CRS", err))?;
    wgs84.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let transform = CoordTransform::new(srs, &wgs84)
        .map_err(|err| Error::gdal("transforming the footprint to WGS84", err))?;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for i in 0..4 {
        let (a, b) = (corners[i], corners[(i + 1) % 4]);
        for step in 0..EDGE_POINTS {
            let t = step as f64 / EDGE_POINTS as f64;
            xs.push(a.0 + (b.0 - a.0) * t);
            ys.push(a.1 + (b.1 - a.1) * t);
        }
    }
    transform
        .transform_coords(&mut xs, &mut ys, &mut [])
        .map_err(|err| Error::gdal("transforming the footprint to WGS84", err))?;
    let mut ring: Vec<[f64; 2]> = xs.iter().zip(&ys).map(|(x, y)| [*x, *y]).collect();
    // GeoJSON rings are counter-clockwise (RFC 7946): reverse a clockwise one.
    let area: f64 = ring
        .iter()
        .zip(ring.iter().cycle().skip(1))
        .map(|(p, q)| p[0] * q[1] - q[0] * p[1])
        .sum();
    if area < 0.0 {
        ring.reverse();
    }
    ring.push(ring[0]);
    let bbox = ring.iter().fold(
        vec![
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |b, p| {
            vec![
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ]
        },
    );
    Ok((json!({"type": "Polygon", "coordinates": [ring]}), bbox))
}
