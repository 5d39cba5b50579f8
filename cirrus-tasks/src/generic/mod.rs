//! Generic tasks, for any STAC item, HSI or not: what cirrus-geo's old built-ins gave.
//!
//! - [`copy_assets`]: `copy-assets` copies an item's asset files to where its
//!   `upload_options.path_template` says and rewrites their hrefs (no GDAL);
//! - [`preview`] (feature `gdal`): `preview` renders a stretched PNG preview (and a
//!   thumbnail) of an item's raster asset.
//!
//! Both read their parameters from `process[0].tasks.<name>` (over `workflow_options`),
//! refusing unknown ones, and keep every other part of the items as they are.

pub mod copy_assets;
#[cfg(feature = "gdal")]
pub mod preview;

use crate::error::{Error, Result};
use crate::provenance::PROCESSING_EXTENSION;
use cirrus_core::payload::ProcessPayload;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The parameters of task `task` in `payload`, parsed as `P`: its own
/// `process[0].tasks.<task>`, where an unknown key is an error, over the `keys` of
/// `process[0].workflow_options` (which may hold options meant for other tasks). A wrong or
/// unknown parameter is an [`Error::Parameter`] naming it.
pub(crate) fn parameters<P: DeserializeOwned>(
    payload: &ProcessPayload,
    task: &str,
    keys: &[&str],
) -> Result<P> {
    let definition = payload.process_definition();
    let mut map: serde_json::Map<String, Value> = definition
        .workflow_options
        .iter()
        .flatten()
        .filter(|(key, _)| keys.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if let Some(own) = definition.tasks.as_ref().and_then(|tasks| tasks.get(task)) {
        map.extend(own.iter().map(|(key, value)| (key.clone(), value.clone())));
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|err| Error::parameter(format!("tasks.{task}"), err.to_string()))
}

/// Adds `{"cirrus-tasks/<task>": VERSION}` to the item's `processing:software`, keeping
/// the software already listed there (the tasks that made the item before), and the
/// processing extension to `stac_extensions`.
pub(crate) fn add_software(item: &mut serde_json::Map<String, Value>, task: &str) {
    let extensions = item.entry("stac_extensions").or_insert_with(|| json!([]));
    if let Some(extensions) = extensions.as_array_mut()
        && !extensions.iter().any(|e| e == PROCESSING_EXTENSION)
    {
        extensions.push(json!(PROCESSING_EXTENSION));
    }
    let properties = item.entry("properties").or_insert_with(|| json!({}));
    let Some(properties) = properties.as_object_mut() else {
        return;
    };
    let software = properties
        .entry("processing:software")
        .or_insert_with(|| json!({}));
    if !software.is_object() {
        *software = json!({});
    }
    if let Some(software) = software.as_object_mut() {
        software.insert(
            format!("cirrus-tasks/{task}"),
            json!(crate::provenance::VERSION),
        );
    }
}
