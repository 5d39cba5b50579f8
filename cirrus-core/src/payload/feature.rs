//! A STAC item in a payload's `features`.

use super::extract::{Checker, array, kind, object};
use super::problem::{child, index};
use crate::{Error, Result};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

pub(crate) fn parse_features(value: Value, path: &str, ck: &mut Checker) -> Option<Vec<Feature>> {
    let items = array(value, path, ck)?;
    let mut features = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let item_path = index(path, i);
        let Some(map) = object(item, &item_path, ck) else {
            continue;
        };
        let mut ok = true;
        match map.get("id") {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(Value::String(_)) => {
                ck.problem(child(&item_path, "id"), "must not be empty");
                ok = false;
            }
            Some(other) => {
                ck.problem(
                    child(&item_path, "id"),
                    format!("must be a string, got {}", kind(other)),
                );
                ok = false;
            }
            None => {
                ck.problem(child(&item_path, "id"), "is required on every feature");
                ok = false;
            }
        }
        if let Some(collection) = map.get("collection")
            && !collection.is_string()
        {
            ck.problem(
                child(&item_path, "collection"),
                format!("must be a string, got {}", kind(collection)),
            );
            ok = false;
        }
        if ok {
            features.push(Feature(Value::Object(map)));
        }
    }
    Some(features)
}

/// A STAC item (or partial item) in `features`. Only `id` is required; everything else is
/// kept exactly as given, in its original order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Feature(Value);

/// The documented shape of a [`Feature`], for the JSON Schema.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct FeatureShape {
    /// The item ID.
    #[schemars(length(min = 1))]
    id: String,
    /// The item's collection.
    #[serde(default)]
    collection: Option<String>,
    /// Every other STAC item member.
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl JsonSchema for Feature {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Feature".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        FeatureShape::json_schema(generator)
    }
}

impl Feature {
    /// A feature from a JSON object that has a non-empty string `id`.
    pub fn from_map(map: Map<String, Value>) -> Result<Feature> {
        let mut ck = Checker::default();
        let features = parse_features(Value::Array(vec![Value::Object(map)]), "$", &mut ck);
        match features {
            Some(mut features) if ck.problems.is_empty() && features.len() == 1 => {
                Ok(features.remove(0))
            }
            _ => Err(Error::InvalidPayload(ck.problems)),
        }
    }

    /// The item ID.
    pub fn id(&self) -> &str {
        self.as_map()
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The item's collection, if it has one.
    pub fn collection(&self) -> Option<&str> {
        self.as_map().get("collection").and_then(Value::as_str)
    }

    /// Sets the item's collection.
    pub fn set_collection(&mut self, collection: impl Into<String>) {
        self.as_map_mut()
            .insert("collection".to_string(), Value::String(collection.into()));
    }

    /// The item's `properties`, if it has them.
    pub fn properties(&self) -> Option<&Map<String, Value>> {
        self.as_map().get("properties").and_then(Value::as_object)
    }

    /// The item as a JSON value (always an object).
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// The item as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        match &self.0 {
            Value::Object(map) => map,
            _ => unreachable!("a Feature always holds a JSON object"),
        }
    }

    /// The item as a JSON object, mutably.
    pub fn as_map_mut(&mut self) -> &mut Map<String, Value> {
        match &mut self.0 {
            Value::Object(map) => map,
            _ => unreachable!("a Feature always holds a JSON object"),
        }
    }

    /// The item's JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        match self.0 {
            Value::Object(map) => map,
            _ => unreachable!("a Feature always holds a JSON object"),
        }
    }
}
