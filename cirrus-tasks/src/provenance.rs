//! Provenance of output items: the `derived_from` link to the input item, and the STAC
//! processing extension (the software and its version, the parameters used).

use cirrus_core::payload::Feature;
use serde_json::{Map, Value, json};

/// The processing extension's schema URL.
pub const PROCESSING_EXTENSION: &str =
    "https://stac-extensions.github.io/processing/v1.2.0/schema.json";

/// This crate's version, recorded in `processing:software`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A `derived_from` link to `source`: its `self` (or `canonical`) link when it has one.
/// `None` when the source item has neither, since a link needs an href.
pub fn derived_from(source: &Feature) -> Option<Value> {
    let links = source.as_value().get("links")?.as_array()?;
    let href = ["self", "canonical"].iter().find_map(|rel| {
        links
            .iter()
            .find(|link| link.get("rel").and_then(Value::as_str) == Some(rel))
            .and_then(|link| link.get("href").and_then(Value::as_str))
    })?;
    Some(json!({
        "rel": "derived_from",
        "href": href,
        "type": "application/geo+json",
        "title": source.id(),
    }))
}

/// Records that `task` made `item` from `source` with `parameters`:
/// - a `derived_from` link to the source (see [`derived_from`]);
/// - `processing:software` = `{"cirrus-tasks/<task>": VERSION}`, `processing:lineage`
///   naming the source, and `processing:datetime`;
/// - `cirrus:parameters` = the parameters.
pub fn record(item: &mut Map<String, Value>, task: &str, source: &Feature, parameters: Value) {
    if let Some(link) = derived_from(source) {
        let links = item.entry("links").or_insert_with(|| json!([]));
        if let Some(links) = links.as_array_mut() {
            links.push(link);
        }
    }
    let extensions = item.entry("stac_extensions").or_insert_with(|| json!([]));
    if let Some(extensions) = extensions.as_array_mut()
        && !extensions.iter().any(|e| e == PROCESSING_EXTENSION)
    {
        extensions.push(json!(PROCESSING_EXTENSION));
    }
    let properties = item.entry("properties").or_insert_with(|| json!({}));
    if let Some(properties) = properties.as_object_mut() {
        properties.insert(
            "processing:software".into(),
            json!({ format!("cirrus-tasks/{task}"): VERSION }),
        );
        properties.insert(
            "processing:lineage".into(),
            json!(format!("{task} of item {:?}", source.id())),
        );
        properties.insert(
            "processing:datetime".into(),
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        properties.insert("cirrus:parameters".into(), parameters);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_the_link_software_and_parameters() {
        let source = Feature::from_map(
            json!({"type": "Feature", "id": "src", "properties": {}, "geometry": null,
                   "links": [{"rel": "self", "href": "file:///data/src.json"}], "assets": {}})
            .as_object()
            .unwrap()
            .clone(),
        )
        .unwrap();
        let mut item = json!({"type": "Feature", "id": "out", "properties": {}})
            .as_object()
            .unwrap()
            .clone();
        record(
            &mut item,
            "hsi-index",
            &source,
            json!({"indices": ["ndvi"]}),
        );
        assert_eq!(item["links"][0]["rel"], "derived_from");
        assert_eq!(item["links"][0]["href"], "file:///data/src.json");
        assert_eq!(
            item["properties"]["processing:software"]["cirrus-tasks/hsi-index"],
            VERSION
        );
        assert_eq!(
            item["properties"]["cirrus:parameters"]["indices"][0],
            "ndvi"
        );
        assert_eq!(item["stac_extensions"][0], PROCESSING_EXTENSION);
    }
}
