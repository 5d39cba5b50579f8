//! Message attributes, and those of a published STAC item.
//!
//! Each published item is its own message, with at most 10 attributes that subscribers can
//! filter on (the SNS → SQS raw-delivery limit), as cirrus-geo's `build_item_sns_attributes`
//! builds them:
//!
//! | attribute | from | type |
//! |---|---|---|
//! | `collection` | `collection` | String |
//! | `bbox.ll_lon`, `bbox.ll_lat`, `bbox.ur_lon`, `bbox.ur_lat` | `bbox` | Number |
//! | `start_datetime`, `end_datetime`, `datetime` | `properties` | String |
//! | `cloud_cover` | `properties["eo:cloud_cover"]` | Number |
//! | `status` | `properties.created` / `properties.updated` | String |
//!
//! An absent (or null, or mistyped) input gives an absent attribute. `status` is always set:
//! `updated` when the item has both `created` and `updated` and they differ, `created`
//! otherwise. A 3D `bbox` (6 numbers) takes its corners from positions 0, 1, 3 and 4; a
//! `bbox` of any other length gives no bbox attributes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The most attributes one message may carry.
pub const MAX_ATTRIBUTES: usize = 10;

/// The SNS data type of a message attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    /// Any text.
    String,
    /// A number, written as its JSON text.
    Number,
}

/// One message attribute, serialized as SNS's `Publish` API writes it:
/// `{"DataType": "String", "StringValue": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attribute {
    /// Its data type.
    #[serde(rename = "DataType")]
    pub data_type: DataType,
    /// Its value, as text (numbers too).
    #[serde(rename = "StringValue")]
    pub value: String,
}

impl Attribute {
    /// A `String` attribute.
    pub fn string(value: impl Into<String>) -> Attribute {
        Attribute {
            data_type: DataType::String,
            value: value.into(),
        }
    }

    /// A `Number` attribute holding a JSON number's text.
    pub fn number(value: &serde_json::Number) -> Attribute {
        Attribute {
            data_type: DataType::Number,
            value: value.to_string(),
        }
    }
}

/// Message attributes by name.
pub type Attributes = BTreeMap<String, Attribute>;

/// The message attributes of a published STAC item (see the module documentation).
pub fn item_attributes(item: &Value) -> Attributes {
    let empty = Map::new();
    let properties = item
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut attributes = Attributes::new();
    if let Some(collection) = item.get("collection").and_then(Value::as_str) {
        attributes.insert("collection".to_string(), Attribute::string(collection));
    }
    if let Some(corners) = item.get("bbox").and_then(bbox_corners) {
        let names = ["bbox.ll_lon", "bbox.ll_lat", "bbox.ur_lon", "bbox.ur_lat"];
        for (name, value) in names.into_iter().zip(corners) {
            attributes.insert(name.to_string(), Attribute::number(value));
        }
    }
    for name in ["start_datetime", "end_datetime", "datetime"] {
        if let Some(value) = properties.get(name).and_then(Value::as_str) {
            attributes.insert(name.to_string(), Attribute::string(value));
        }
    }
    if let Some(Value::Number(cover)) = properties.get("eo:cloud_cover") {
        attributes.insert("cloud_cover".to_string(), Attribute::number(cover));
    }
    attributes.insert(
        "status".to_string(),
        Attribute::string(status(properties.get("created"), properties.get("updated"))),
    );
    attributes
}

/// `[ll_lon, ll_lat, ur_lon, ur_lat]` of a 2D or 3D bbox of numbers.
fn bbox_corners(bbox: &Value) -> Option<[&serde_json::Number; 4]> {
    let numbers: Vec<&serde_json::Number> = bbox
        .as_array()?
        .iter()
        .map(|v| match v {
            Value::Number(n) => Some(n),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match numbers.as_slice() {
        [a, b, c, d] => Some([a, b, c, d]),
        [a, b, _, d, e, _] => Some([a, b, d, e]),
        _ => None,
    }
}

fn status(created: Option<&Value>, updated: Option<&Value>) -> &'static str {
    match (created, updated) {
        (Some(created), Some(updated)) if !created.is_null() && created != updated => "updated",
        _ => "created",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(attributes: &Attributes) -> BTreeMap<&str, (DataType, &str)> {
        attributes
            .iter()
            .map(|(k, a)| (k.as_str(), (a.data_type, a.value.as_str())))
            .collect()
    }

    #[test]
    fn a_full_item_has_all_ten_attributes() {
        let item = json!({
            "id": "S2B_1", "collection": "sentinel-2-l2a",
            "bbox": [-70.5, 40.25, -69, 41],
            "properties": {
                "datetime": "2020-11-03T15:22:26Z",
                "start_datetime": "2020-11-03T15:22:00Z",
                "end_datetime": "2020-11-03T15:23:00Z",
                "eo:cloud_cover": 12.5,
                "created": "2025-01-01T00:00:00Z",
                "updated": "2025-02-01T00:00:00Z"
            }
        });
        let attributes = item_attributes(&item);
        assert_eq!(attributes.len(), MAX_ATTRIBUTES);
        let got = values(&attributes);
        assert_eq!(got["collection"], (DataType::String, "sentinel-2-l2a"));
        assert_eq!(got["bbox.ll_lon"], (DataType::Number, "-70.5"));
        assert_eq!(got["bbox.ll_lat"], (DataType::Number, "40.25"));
        assert_eq!(got["bbox.ur_lon"], (DataType::Number, "-69"));
        assert_eq!(got["bbox.ur_lat"], (DataType::Number, "41"));
        assert_eq!(got["datetime"], (DataType::String, "2020-11-03T15:22:26Z"));
        assert_eq!(got["cloud_cover"], (DataType::Number, "12.5"));
        assert_eq!(got["status"], (DataType::String, "updated"));
    }

    #[test]
    fn absent_inputs_give_absent_attributes() {
        let attributes = item_attributes(&json!({"id": "a"}));
        assert_eq!(
            values(&attributes),
            BTreeMap::from([("status", (DataType::String, "created"))])
        );
        let attributes = item_attributes(&json!({
            "id": "a", "collection": 3, "bbox": [0, "1", 2, 3],
            "properties": {"datetime": null, "eo:cloud_cover": "5"}
        }));
        assert_eq!(attributes.keys().collect::<Vec<_>>(), ["status"]);
        assert_eq!(item_attributes(&json!("not an item")).len(), 1);
    }

    #[test]
    fn status_compares_created_and_updated() {
        let status_of = |properties: Value| {
            item_attributes(&json!({"id": "a", "properties": properties}))["status"]
                .value
                .clone()
        };
        let t1 = "2025-01-01T00:00:00Z";
        let t2 = "2025-01-02T00:00:00Z";
        assert_eq!(status_of(json!({"created": t1, "updated": t1})), "created");
        assert_eq!(status_of(json!({"created": t1, "updated": t2})), "updated");
        assert_eq!(status_of(json!({"created": t1})), "created");
        assert_eq!(status_of(json!({"updated": t2})), "created");
    }

    #[test]
    fn a_3d_bbox_takes_its_horizontal_corners() {
        let attributes = item_attributes(&json!({"id": "a", "bbox": [1, 2, -5, 3, 4, 50]}));
        let got = values(&attributes);
        assert_eq!(got["bbox.ll_lon"].1, "1");
        assert_eq!(got["bbox.ll_lat"].1, "2");
        assert_eq!(got["bbox.ur_lon"].1, "3");
        assert_eq!(got["bbox.ur_lat"].1, "4");
        let odd = item_attributes(&json!({"id": "a", "bbox": [1, 2, 3]}));
        assert!(!odd.contains_key("bbox.ll_lon"));
    }

    #[test]
    fn attributes_serialize_as_sns_publish_writes_them() {
        let text = serde_json::to_string(&Attribute::string("x")).unwrap();
        assert_eq!(text, r#"{"DataType":"String","StringValue":"x"}"#);
        let back: Attribute = serde_json::from_str(&text).unwrap();
        assert_eq!(back, Attribute::string("x"));
    }
}
