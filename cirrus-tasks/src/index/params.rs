//! The task's parameters (`process[0].tasks.hsi-index`) and the products they ask for.

use super::expr::Expression;
use super::named::{self, NAMED_INDICES};
use super::{MAX_PRODUCTS, TASK_NAME};
use crate::error::{Error, Result};
use cirrus_core::payload::ProcessDefinition;
use serde::Deserialize;
use serde_json::{Map, Value};

/// How a raw ENVI scene is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReaderKind {
    /// Memory-map a raw ENVI scene, GDAL for anything else.
    #[default]
    Auto,
    /// Always GDAL (its ENVI driver for raw scenes).
    Gdal,
    /// Memory-map the raw ENVI scene (an error for any other asset).
    Mmap,
}

/// The parameters of `hsi-index`.
///
/// `workflow_options` may hold options meant for other tasks: only the keys below are taken
/// from there. Any other key in `process[0].tasks.hsi-index` is an error.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// Named indices to compute (`ndvi`, `ndwi`, `mndwi`, `ndre`, `ndmi`, `pri`, `cai`,
    /// `hydrocarbon`).
    #[serde(default)]
    pub indices: Vec<String>,
    /// Custom products: name → expression (`"(R860-R670)/(R860+R670)"`).
    #[serde(default)]
    pub expressions: Map<String, Value>,
    /// The input asset; by default the first asset with `eo:bands`, preferring `cog` then
    /// `data`, or else a raw ENVI `data` asset.
    #[serde(default)]
    pub asset: Option<String>,
    /// The output items' collection; by default `<input collection>-index` (`hsi-index`
    /// when the input has no collection).
    #[serde(default)]
    pub collection: Option<String>,
    /// Lines per block; by default about 16 MB of input samples per block, and at least
    /// four blocks per thread.
    #[serde(default)]
    pub block_lines: Option<usize>,
    /// How a raw ENVI scene is read (`auto`, `gdal`, `mmap`): a tuning knob.
    #[serde(default)]
    pub reader: ReaderKind,
}

/// The keys of [`Parameters`].
const KEYS: &[&str] = &[
    "indices",
    "expressions",
    "asset",
    "collection",
    "block_lines",
    "reader",
];

/// One product to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// The product's name: the asset key and the suffix of the output item's ID.
    pub name: String,
    /// A title for the asset.
    pub title: String,
    /// The expression.
    pub expression: Expression,
}

impl Parameters {
    /// The parameters of `hsi-index` in `definition`: `workflow_options` (only this task's
    /// keys) overridden by `tasks.hsi-index`.
    pub fn from_definition(definition: &ProcessDefinition) -> Result<Parameters> {
        let mut merged: Map<String, Value> = definition
            .workflow_options
            .iter()
            .flatten()
            .filter(|(key, _)| KEYS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if let Some(own) = definition.tasks.as_ref().and_then(|t| t.get(TASK_NAME)) {
            merged.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Parameters::from_map(merged)
    }

    /// Parses the parameters from a JSON object.
    pub fn from_map(map: Map<String, Value>) -> Result<Parameters> {
        let parameters: Parameters = serde_json::from_value(Value::Object(map))
            .map_err(|err| Error::parameter(format!("tasks.{TASK_NAME}"), err.to_string()))?;
        if parameters.block_lines == Some(0) {
            return Err(Error::parameter("block_lines", "must be at least 1"));
        }
        Ok(parameters)
    }

    /// The products asked for: the named indices, then the custom expressions, each
    /// parsed. At least one; names unique and usable as asset keys and file names.
    pub fn products(&self) -> Result<Vec<Product>> {
        let mut products: Vec<Product> = Vec::new();
        for name in &self.indices {
            let index = named::named(name).ok_or_else(|| {
                Error::parameter(
                    "indices",
                    format!(
                        "unknown index {name:?}: the named indices are {}",
                        named::names()
                    ),
                )
            })?;
            let expression = Expression::parse(index.expression)
                .expect("the named indices are valid expressions (unit-tested)");
            push_unique(
                &mut products,
                "indices",
                index.name,
                index.title.to_string(),
                expression,
            )?;
        }
        for (name, text) in &self.expressions {
            let text = text.as_str().ok_or_else(|| {
                Error::parameter(
                    format!("expressions.{name}"),
                    format!("must be a string expression, got {text}"),
                )
            })?;
            check_name(name)?;
            if NAMED_INDICES.iter().any(|index| index.name == name) {
                return Err(Error::parameter(
                    format!("expressions.{name}"),
                    format!(
                        "{name:?} is a named index: list it in `indices`, or give the custom expression another name"
                    ),
                ));
            }
            let expression = Expression::parse(text)
                .map_err(|err| Error::parameter(format!("expressions.{name}"), err.to_string()))?;
            push_unique(
                &mut products,
                "expressions",
                name,
                format!("{name} = {text}"),
                expression,
            )?;
        }
        if products.is_empty() {
            return Err(Error::parameter(
                "indices",
                format!(
                    "nothing to compute: give `indices` (any of {}) and/or `expressions` ({{\"name\": \"(R860-R670)/(R860+R670)\"}})",
                    named::names()
                ),
            ));
        }
        if products.len() > MAX_PRODUCTS {
            return Err(Error::parameter(
                "indices",
                format!(
                    "{} products asked for; at most {MAX_PRODUCTS} per run",
                    products.len()
                ),
            ));
        }
        Ok(products)
    }
}

fn push_unique(
    products: &mut Vec<Product>,
    field: &str,
    name: &str,
    title: String,
    expression: Expression,
) -> Result<()> {
    if products.iter().any(|p| p.name == name) {
        return Err(Error::parameter(
            field,
            format!("{name:?} is asked for twice"),
        ));
    }
    products.push(Product {
        name: name.to_string(),
        title,
        expression,
    });
    Ok(())
}

/// A product name becomes an asset key, an item ID suffix and a file name.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::parameter(
            format!("expressions.{name}"),
            "a product name must be 1–64 characters among A–Z, a–z, 0–9, '_' and '-'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parameters(value: Value) -> Result<Parameters> {
        Parameters::from_map(value.as_object().unwrap().clone())
    }

    #[test]
    fn named_and_custom_products_in_order() {
        let p = parameters(json!({
            "indices": ["ndvi", "cai"],
            "expressions": {"red_nir": "R860 / R670", "blue": "R470"}
        }))
        .unwrap();
        let names: Vec<String> = p.products().unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["ndvi", "cai", "red_nir", "blue"]);
        assert_eq!(p.reader, ReaderKind::Auto);
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let err = |v: Value| {
            parameters(v)
                .and_then(|p| p.products())
                .unwrap_err()
                .to_string()
        };
        assert!(err(json!({"indices": ["ndvi"], "colour": 1})).contains("unknown field `colour`"));
        assert!(err(json!({"indices": ["evi"]})).contains("unknown index \"evi\""));
        assert!(err(json!({})).contains("nothing to compute"));
        assert!(err(json!({"indices": ["ndvi", "ndvi"]})).contains("asked for twice"));
        assert!(err(json!({"expressions": {"a b": "R1"}})).contains("expressions.a b"));
        assert!(err(json!({"expressions": {"ndvi": "R1"}})).contains("is a named index"));
        assert!(err(json!({"expressions": {"x": 3}})).contains("must be a string"));
        let e = err(json!({"expressions": {"x": "R860 +"}}));
        assert!(e.contains("expressions.x") && e.contains("column 7"), "{e}");
        assert!(err(json!({"indices": ["ndvi"], "block_lines": 0})).contains("block_lines"));
        assert!(err(json!({"indices": ["ndvi"], "reader": "fast"})).contains("unknown variant"));
    }

    #[test]
    fn only_this_tasks_keys_are_taken_from_workflow_options() {
        let mut definition = ProcessDefinition::new("w");
        definition.workflow_options = Some(
            json!({"indices": ["ndvi"], "preview_bands": [1, 2, 3]})
                .as_object()
                .unwrap()
                .clone(),
        );
        let p = Parameters::from_definition(&definition).unwrap();
        assert_eq!(p.indices, ["ndvi"]);
        let mut tasks = definition.tasks.take().unwrap_or_default();
        tasks.insert(
            TASK_NAME.to_string(),
            json!({"indices": ["ndmi"], "bogus": 1})
                .as_object()
                .unwrap()
                .clone(),
        );
        definition.tasks = Some(tasks);
        assert!(Parameters::from_definition(&definition).is_err());
    }
}
