//! The output item of one product: `<input id>_<product>`, in the output collection, with
//! the input's geometry, time and projection properties, the expression and the bands it
//! resolved to, the product's COG asset and provenance.

use super::TASK_NAME;
use super::params::Product;
use crate::provenance;
use crate::raster::{COG_MEDIA_TYPE, RASTER_EXTENSION};
use crate::spectral::Bands;
use cirrus_core::payload::Feature;
use serde_json::{Map, Value, json};

/// The format named in `processing:expression`.
pub const EXPRESSION_FORMAT: &str = "cirrus-hsi";

/// One wavelength of an expression and the band it resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The wavelength written in the expression, in nanometres.
    pub wavelength_nm: f64,
    /// The 0-based band index.
    pub band: usize,
}

/// The output item's ID: `<input id>_<product name>`.
pub fn item_id(input: &Feature, product: &str) -> String {
    format!("{}_{product}", input.id())
}

/// The output collection: the `collection` parameter, else `<input collection>-index`, else
/// `hsi-index`.
pub fn collection(input: &Feature, parameter: Option<&str>) -> String {
    match (parameter, input.collection()) {
        (Some(given), _) => given.to_string(),
        (None, Some(input)) => format!("{input}-index"),
        (None, None) => TASK_NAME.to_string(),
    }
}

/// Input properties that do not describe the product (spectral, raster and processing
/// metadata of the input).
fn inherited(key: &str) -> bool {
    !(key.starts_with("eo:")
        || key.starts_with("raster:")
        || key.starts_with("processing:")
        || key.starts_with("cirrus:")
        || key.starts_with("hsi:")
        || key == "created"
        || key == "updated")
}

/// The output item of `product`, without its asset: enough to know where it is published.
pub fn skeleton(
    input: &Feature,
    collection: &str,
    product: &Product,
    bands: &Bands,
    resolved: &[Resolved],
) -> Map<String, Value> {
    let source = input.as_value();
    let mut properties: Map<String, Value> = input
        .properties()
        .into_iter()
        .flatten()
        .filter(|(key, _)| inherited(key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    properties.insert(
        "processing:expression".into(),
        json!({"format": EXPRESSION_FORMAT, "expression": product.expression.text()}),
    );
    properties.insert(
        "hsi:resolved_bands".into(),
        Value::Array(
            resolved
                .iter()
                .map(|r| {
                    let band = &bands.0[r.band];
                    json!({
                        "wavelength": r.wavelength_nm,
                        "band": r.band + 1,
                        "name": band.name,
                        "center_wavelength": band.center_nm,
                    })
                })
                .collect(),
        ),
    );
    properties.insert("title".into(), json!(product.title));
    let mut extensions = vec![json!(RASTER_EXTENSION)];
    extensions.extend(
        source
            .get("stac_extensions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|url| url.as_str().is_some_and(|u| u.contains("/projection/")))
            .cloned(),
    );
    let mut item = Map::new();
    item.insert("type".into(), json!("Feature"));
    item.insert(
        "stac_version".into(),
        source
            .get("stac_version")
            .cloned()
            .unwrap_or(json!("1.0.0")),
    );
    item.insert("stac_extensions".into(), Value::Array(extensions));
    item.insert("id".into(), json!(item_id(input, &product.name)));
    item.insert("collection".into(), json!(collection));
    item.insert(
        "geometry".into(),
        source.get("geometry").cloned().unwrap_or(Value::Null),
    );
    if let Some(bbox) = source.get("bbox") {
        item.insert("bbox".into(), bbox.clone());
    }
    item.insert("properties".into(), Value::Object(properties));
    item.insert("links".into(), json!([]));
    item.insert("assets".into(), json!({}));
    item
}

/// Completes `item` with the product's asset and the provenance.
pub fn finish(
    item: &mut Map<String, Value>,
    input: &Feature,
    product: &Product,
    href: &str,
    raster_band: Value,
    parameters: Value,
) {
    let asset = json!({
        "href": href,
        "type": COG_MEDIA_TYPE,
        "title": product.title,
        "roles": ["data"],
        "raster:bands": [raster_band],
    });
    if let Some(assets) = item.get_mut("assets").and_then(Value::as_object_mut) {
        assets.insert(product.name.clone(), asset);
    }
    provenance::record(item, TASK_NAME, input, parameters);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::expr::Expression;
    use crate::spectral::Band;

    #[test]
    fn the_item_keeps_time_and_geometry_and_records_the_expression() {
        let input = Feature::from_map(
            json!({
                "type": "Feature", "id": "scene", "collection": "aviris",
                "stac_extensions": ["https://stac-extensions.github.io/projection/v1.1.0/schema.json",
                                    "https://stac-extensions.github.io/eo/v1.1.0/schema.json"],
                "geometry": {"type": "Point", "coordinates": [1, 2]},
                "properties": {"datetime": "2020-01-01T00:00:00Z", "eo:bands": [], "proj:epsg": 32611},
                "links": [{"rel": "self", "href": "file:///in/scene.json"}], "assets": {}
            })
            .as_object()
            .unwrap()
            .clone(),
        )
        .unwrap();
        let product = Product {
            name: "ndvi".into(),
            title: "NDVI".into(),
            expression: Expression::parse("(R860 - R670) / (R860 + R670)").unwrap(),
        };
        let bands = Bands(
            [670.3, 859.9]
                .iter()
                .enumerate()
                .map(|(i, c)| Band {
                    name: format!("B{i}"),
                    center_nm: *c,
                    fwhm_nm: None,
                    good: true,
                })
                .collect(),
        );
        let resolved = [
            Resolved {
                wavelength_nm: 860.0,
                band: 1,
            },
            Resolved {
                wavelength_nm: 670.0,
                band: 0,
            },
        ];
        assert_eq!(collection(&input, None), "aviris-index");
        assert_eq!(collection(&input, Some("x")), "x");
        let mut item = skeleton(&input, "aviris-index", &product, &bands, &resolved);
        finish(
            &mut item,
            &input,
            &product,
            "/out/scene_ndvi.tif",
            json!({"nodata": -9999.0}),
            json!({}),
        );
        let item = Value::Object(item);
        assert_eq!(item["id"], "scene_ndvi");
        assert_eq!(item["properties"]["datetime"], "2020-01-01T00:00:00Z");
        assert_eq!(item["properties"]["proj:epsg"], 32611);
        assert!(item["properties"].get("eo:bands").is_none());
        assert_eq!(
            item["properties"]["processing:expression"]["format"],
            "cirrus-hsi"
        );
        assert_eq!(item["properties"]["hsi:resolved_bands"][0]["band"], 2);
        assert_eq!(
            item["properties"]["hsi:resolved_bands"][0]["center_wavelength"],
            859.9
        );
        assert_eq!(item["assets"]["ndvi"]["roles"][0], "data");
        assert_eq!(item["links"][0]["rel"], "derived_from");
        let extensions = item["stac_extensions"].as_array().unwrap();
        assert_eq!(
            extensions.len(),
            3,
            "raster, projection, processing: {extensions:?}"
        );
    }
}
