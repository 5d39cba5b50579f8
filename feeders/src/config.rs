//! Feeder config files and the process template.
//!
//! A config file is TOML, YAML or JSON (by its extension) with these members, and no others:
//!
//! - `process`: the process definitions every payload gets (`process[0]` names the workflow);
//!   an object or an array, as in a payload. Required by the feeders that find items.
//! - `batch_size`: items per payload (default 1).
//! - `max_rate`: payloads a second at most.
//! - `source`: the feeder's own settings, also with unknown members refused.
//!
//! Errors name the file and the dotted path of the field.

use crate::{Error, Result};
use cirrus_core::payload::ProcessPayload;
use cirrus_core::payload::id;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::path::Path;

/// A parsed feeder config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig<C> {
    /// The process definitions of each payload (an object or an array).
    #[serde(default)]
    pub process: Option<Value>,
    /// Items per payload.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// Payloads a second at most.
    #[serde(default)]
    pub max_rate: Option<f64>,
    /// The feeder's own settings.
    pub source: C,
    /// A fingerprint of the whole file, stored in checkpoints: a checkpoint is only resumed
    /// with the config that wrote it.
    #[serde(skip)]
    pub fingerprint: String,
}

impl<C: DeserializeOwned> FeedConfig<C> {
    /// Reads and checks the config file at `path`.
    pub fn load(path: &Path) -> Result<FeedConfig<C>> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            file: file.clone(),
            message: format!("cannot read: {e}"),
        })?;
        FeedConfig::parse(&file, &text)
    }

    /// Parses config text; `file` names it in errors and picks the format by its extension
    /// (`.toml`, `.yaml`/`.yml`, anything else JSON).
    pub fn parse(file: &str, text: &str) -> Result<FeedConfig<C>> {
        let config_error = |message: String| Error::Config {
            file: file.to_string(),
            message,
        };
        let value: Value = if file.ends_with(".toml") {
            toml::from_str(text).map_err(|e| config_error(format!("not valid TOML: {e}")))?
        } else if file.ends_with(".yaml") || file.ends_with(".yml") {
            serde_saphyr::from_str(text)
                .map_err(|e| config_error(format!("not valid YAML: {e}")))?
        } else {
            serde_json::from_str(text).map_err(|e| config_error(format!("not valid JSON: {e}")))?
        };
        let fingerprint = fingerprint(&value.to_string());
        let mut config: FeedConfig<C> = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." {
                String::new()
            } else {
                format!("{path}: ")
            };
            config_error(format!("{path}{}", e.inner()))
        })?;
        if config.batch_size == Some(0) {
            return Err(config_error("batch_size: must be at least 1".into()));
        }
        if let Some(rate) = config.max_rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(config_error(format!(
                "max_rate: must be a positive number of payloads a second, got {rate}"
            )));
        }
        config.fingerprint = fingerprint;
        Ok(config)
    }

    /// The process template of `process`, checked; errors name the file.
    pub fn template(&self, file: &str) -> Result<Option<ProcessTemplate>> {
        self.process
            .clone()
            .map(|p| {
                ProcessTemplate::new(p).map_err(|e| Error::Config {
                    file: file.to_string(),
                    message: e.to_string(),
                })
            })
            .transpose()
    }
}

/// FNV-1a of `text`, in hex: stable across builds and platforms.
pub fn fingerprint(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The `process` array every payload of a feed gets, checked once.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessTemplate {
    process: Value,
    workflow: String,
    collections: Option<String>,
}

impl ProcessTemplate {
    /// Checks `process` (an array of process definitions, or one definition) as
    /// `cirrus process` would. Errors name the field (`process[0].workflow`, …).
    pub fn new(process: Value) -> Result<ProcessTemplate> {
        let process = match process {
            Value::Array(_) => process,
            Value::Object(_) => Value::Array(vec![process]),
            other => {
                return Err(Error::invalid_argument(
                    "process",
                    format!(
                        "must be a process definition (an object) or an array of them, got {other}"
                    ),
                ));
            }
        };
        let probe =
            json!({"type": "FeatureCollection", "features": [{"id": "probe"}], "process": process});
        let parsed = ProcessPayload::from_value(probe).map_err(|e| {
            Error::invalid_argument("process", e.to_string().replace("$.process", "process"))
        })?;
        let first = parsed.value.process_definition();
        Ok(ProcessTemplate {
            workflow: first.workflow.clone(),
            collections: first.collections.clone(),
            process,
        })
    }

    /// The workflow `process[0]` names.
    pub fn workflow(&self) -> &str {
        &self.workflow
    }

    /// The payload of `items` (each with a string `id`), or why there cannot be one (an ID
    /// over the length limit, …).
    pub fn payload(&self, items: Vec<Value>) -> std::result::Result<Value, String> {
        let pairs = items.iter().map(|item| {
            (
                item.get("id").and_then(Value::as_str).unwrap_or_default(),
                item.get("collection").and_then(Value::as_str),
            )
        });
        id::compute(self.collections.as_deref(), &self.workflow, pairs)
            .map_err(|problem| problem.to_string())?;
        Ok(json!({
            "type": "FeatureCollection",
            "features": items,
            "process": self.process,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Source {
        #[allow(dead_code)]
        url: String,
    }

    #[test]
    fn unknown_fields_name_the_file_and_path() {
        let err = FeedConfig::<Source>::parse("feed.toml", "[source]\nurl = \"x\"\nurll = 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("feed.toml: source.urll: unknown field `urll`"),
            "{err}"
        );
        let err = FeedConfig::<Source>::parse("feed.json", r#"{"source": {"url": 3}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("feed.json: source.url: invalid type"),
            "{err}"
        );
        let err = FeedConfig::<Source>::parse("feed.yaml", "sources: {}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `sources`"), "{err}");
    }

    #[test]
    fn templates_are_checked_and_build_payloads() {
        let template = ProcessTemplate::new(json!({"workflow": "activate"})).unwrap();
        let payload = template
            .payload(vec![
                json!({"id": "b", "collection": "c"}),
                json!({"id": "a", "collection": "c"}),
            ])
            .unwrap();
        assert_eq!(payload["process"][0]["workflow"], "activate");
        let parsed = ProcessPayload::from_value(payload).unwrap().value;
        assert_eq!(parsed.id().unwrap(), "c/workflow-activate/a/b");
        let err = ProcessTemplate::new(json!({"workflow": "bad_name"}))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("process: "), "{err}");
        assert!(err.contains("workflow"), "{err}");
        assert!(ProcessTemplate::new(json!("x")).is_err());
        let long = template
            .payload(vec![json!({"id": "x".repeat(2000)})])
            .unwrap_err();
        assert!(long.contains("1024"), "{long}");
    }
}
