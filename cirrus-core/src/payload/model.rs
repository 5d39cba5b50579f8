//! The typed process payload.
//!
//! Parsing ([`ProcessPayload::from_value`]) checks the whole payload and returns **every**
//! problem, each with its JSON path. Unknown keys at every level are kept in `extra` and
//! written back, in their original order, by serialization.

use super::definition::{ProcessDefinition, ProcessStep};
use super::extract::{Checker, KeyOrder, Known, kind, optional, serialize_ordered, string, take};
use super::feature::{Feature, parse_features};
use super::id::{self, PayloadId};
use super::problem::{Problem, child, index};
use crate::{Error, Result};
use schemars::JsonSchema;
use serde::de::Error as _;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A parsed value, with the warnings raised while parsing it (deprecated forms that were
/// normalised). Warnings are also logged with `tracing`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    /// The parsed value.
    pub value: T,
    /// Deprecated forms that were accepted and normalised.
    pub warnings: Vec<Problem>,
}

/// What a queue message or file may hold: a payload, or a reference to one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PayloadInput {
    /// A process payload.
    Payload(Box<ProcessPayload>),
    /// A `{"url": …}` or `{"href": …}` reference to a payload stored elsewhere.
    Reference(PayloadRef),
}

impl PayloadInput {
    /// Parses a payload or a payload reference.
    ///
    /// An object is a reference when it has a `url` or `href` member and no `process`.
    pub fn from_value(value: Value) -> Result<Parsed<PayloadInput>> {
        if let Value::Object(map) = &value
            && !map.contains_key("process")
            && (map.contains_key("url") || map.contains_key("href"))
        {
            return PayloadRef::from_map(map).map(|reference| Parsed {
                value: PayloadInput::Reference(reference),
                warnings: Vec::new(),
            });
        }
        let parsed = ProcessPayload::from_value(value)?;
        Ok(Parsed {
            value: PayloadInput::Payload(Box::new(parsed.value)),
            warnings: parsed.warnings,
        })
    }
}

/// A reference to a payload stored elsewhere: `{"url": "s3://…"}` (cirrus-geo) or
/// `{"href": …}` (stac-task).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadRef {
    /// The URL of the payload.
    pub url: String,
    /// Which key held it: `"url"` or `"href"`.
    pub key: &'static str,
}

impl PayloadRef {
    fn from_map(map: &Map<String, Value>) -> Result<PayloadRef> {
        let key = if map.contains_key("url") {
            "url"
        } else {
            "href"
        };
        match map.get(key) {
            Some(Value::String(url)) if !url.is_empty() => Ok(PayloadRef {
                url: url.clone(),
                key,
            }),
            Some(other) => Err(Error::InvalidPayload(vec![Problem::new(
                child("$", key),
                format!("must be a non-empty URL string, got {}", describe(other)),
            )])),
            None => unreachable!("from_map is only called when the map has url or href"),
        }
    }
}

impl Serialize for PayloadRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = Map::new();
        map.insert(self.key.to_string(), Value::String(self.url.clone()));
        map.serialize(serializer)
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "an empty string",
        other => kind(other),
    }
}

/// A Cirrus process payload: STAC items plus the process definitions that say what to do
/// with them.
///
/// The `process` array always has a first definition ([`ProcessPayload::process_definition`]);
/// later steps may fan out ([`ProcessStep`]). A payload written with a single `process`
/// object (the legacy form) is normalised to an array, with a warning.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(
    title = "Cirrus process payload",
    description = "A FeatureCollection-like object: STAC items in `features` and the `process` definitions that name the workflow and its options. Unknown top-level keys are allowed and kept."
)]
pub struct ProcessPayload {
    /// The payload ID, `{collections}/workflow-{workflow}/{item ids}`. Computed when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^.+/workflow-[^/]+/.+"))]
    pub id: Option<String>,
    /// The input STAC items. Only `id` is required on each.
    #[serde(default)]
    pub features: Vec<Feature>,
    /// The first process definition (`process[0]`): the workflow to run now.
    #[serde(skip)]
    first: ProcessDefinition,
    /// The rest of the chain (`process[1..]`).
    #[serde(skip)]
    rest: Vec<ProcessStep>,
    /// `process`: the first definition, then the rest of the chain. Nested arrays fan out.
    #[serde(rename = "process")]
    #[schemars(length(min = 1))]
    #[allow(dead_code)]
    process_schema: SchemaOnly<Vec<ProcessStep>>,
    /// Every other top-level member (`type`, `stac_version`, `links`, …), kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(skip)]
    order: KeyOrder,
}

/// A field that only exists to describe a shape in the JSON Schema; it never holds data.
#[derive(Debug, Clone, Default, PartialEq)]
struct SchemaOnly<T>(std::marker::PhantomData<T>);

impl<T: JsonSchema> JsonSchema for SchemaOnly<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl ProcessPayload {
    /// A payload for `features`, to be processed by `definition`.
    pub fn new(features: Vec<Feature>, definition: ProcessDefinition) -> ProcessPayload {
        ProcessPayload {
            id: None,
            features,
            first: definition,
            rest: Vec::new(),
            process_schema: SchemaOnly(std::marker::PhantomData),
            extra: Map::new(),
            order: KeyOrder::default(),
        }
    }

    /// Parses and validates a payload from JSON text.
    ///
    /// Warnings (deprecated forms) are logged; use [`ProcessPayload::from_value`] to get them.
    pub fn from_json(text: &str) -> Result<ProcessPayload> {
        let value: Value = serde_json::from_str(text)?;
        Ok(ProcessPayload::from_value(value)?.value)
    }

    /// Parses and validates a payload, returning every problem found if it is invalid.
    pub fn from_value(value: Value) -> Result<Parsed<ProcessPayload>> {
        let mut ck = Checker::default();
        let payload = match value {
            Value::Object(map) => ProcessPayload::from_map(map, &mut ck),
            other => {
                ck.problem(
                    "$",
                    format!("a payload must be a JSON object, got {}", kind(&other)),
                );
                None
            }
        };
        for warning in &ck.warnings {
            tracing::warn!(path = %warning.path, "{}", warning.message);
        }
        match payload {
            Some(value) if ck.problems.is_empty() => Ok(Parsed {
                value,
                warnings: ck.warnings,
            }),
            _ => Err(Error::InvalidPayload(ck.problems)),
        }
    }

    fn from_map(mut map: Map<String, Value>, ck: &mut Checker) -> Option<ProcessPayload> {
        let order = KeyOrder::of(&map);
        let id = optional(&mut map, "id", "$", ck, string);
        let features = optional(&mut map, "features", "$", ck, parse_features).unwrap_or_default();
        let process = match take(&mut map, "process") {
            Some(value) => parse_process(value, ck),
            None => {
                let hint = if map.contains_key("url") || map.contains_key("href") {
                    " (an object with `url`/`href` and no `process` is a payload reference)"
                } else {
                    ""
                };
                ck.problem(
                    "$.process",
                    format!("is required: an array of process definitions{hint}"),
                );
                None
            }
        };
        if let Some(value) = map.get("type")
            && value.as_str() != Some("FeatureCollection")
        {
            ck.problem(
                "$.type",
                format!("must be \"FeatureCollection\", got {value}"),
            );
        }
        let (first, rest) = process?;
        let mut payload = ProcessPayload {
            id,
            features,
            first,
            rest,
            process_schema: SchemaOnly(std::marker::PhantomData),
            extra: map,
            order,
        };
        payload.check_id(ck);
        Some(payload)
    }

    /// Checks the given ID, or that one can be computed.
    fn check_id(&mut self, ck: &mut Checker) {
        match &self.id {
            Some(given) => {
                if let Err(problem) = PayloadId::parse(given) {
                    ck.problems.push(problem);
                }
            }
            // Only when everything else is right: a rejected feature would otherwise also
            // be reported as a missing one.
            None if ck.problems.is_empty() => {
                if let Err(problem) = self.compute_id() {
                    ck.problems.push(problem);
                }
            }
            None => {}
        }
    }

    fn compute_id(&self) -> std::result::Result<String, Problem> {
        id::compute(
            self.first.collections.as_deref(),
            &self.first.workflow,
            self.features.iter().map(|f| (f.id(), f.collection())),
        )
    }

    /// The payload ID: the `id` member when set, otherwise computed exactly as cirrus-geo
    /// computes it (see [`super::id`]).
    pub fn id(&self) -> Result<String> {
        match &self.id {
            Some(id) => Ok(id.clone()),
            None => self
                .compute_id()
                .map_err(|problem| Error::InvalidPayload(vec![problem])),
        }
    }

    /// Sets `id` to the computed ID unless it is already set, and returns it.
    pub fn set_id(&mut self) -> Result<&str> {
        if self.id.is_none() {
            self.id = Some(self.id()?);
        }
        Ok(self.id.as_deref().unwrap_or_default())
    }

    /// `process[0]`: the definition of the workflow to run now.
    pub fn process_definition(&self) -> &ProcessDefinition {
        &self.first
    }

    /// Mutable access to `process[0]`.
    pub fn process_definition_mut(&mut self) -> &mut ProcessDefinition {
        &mut self.first
    }

    /// `process[1..]`: the rest of the workflow chain.
    pub fn chain(&self) -> &[ProcessStep] {
        &self.rest
    }

    /// Replaces the rest of the workflow chain.
    pub fn set_chain(&mut self, rest: Vec<ProcessStep>) {
        self.rest = rest;
    }

    /// The workflow named by `process[0]`.
    pub fn workflow(&self) -> &str {
        &self.first.workflow
    }

    /// Serializes the payload to a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a payload is a tree of JSON values with string keys")
    }

    /// Builds the payload whose process is `first` followed by `rest` (used by chaining).
    pub(crate) fn with_process(
        &self,
        first: ProcessDefinition,
        rest: Vec<ProcessStep>,
        features: Vec<Feature>,
    ) -> ProcessPayload {
        ProcessPayload {
            id: None,
            features,
            first,
            rest,
            process_schema: SchemaOnly(std::marker::PhantomData),
            extra: self.extra.clone(),
            order: self.order.clone(),
        }
    }
}

type Process = (ProcessDefinition, Vec<ProcessStep>);

fn parse_process(value: Value, ck: &mut Checker) -> Option<Process> {
    let items = match value {
        Value::Object(map) => {
            ck.warning(
                "$.process",
                "a single process definition object is deprecated; it was normalised to an array",
            );
            vec![Value::Object(map)]
        }
        Value::Array(items) => items,
        other => {
            ck.problem(
                "$.process",
                format!(
                    "must be an array of process definitions, got {}",
                    kind(&other)
                ),
            );
            return None;
        }
    };
    let mut items = items.into_iter();
    let Some(first) = items.next() else {
        ck.problem("$.process", "must contain at least one process definition");
        return None;
    };
    let first = match first {
        Value::Object(map) => ProcessDefinition::from_map(map, "$.process[0]", ck),
        Value::Array(_) => {
            ck.problem(
                "$.process[0]",
                "the first process definition cannot fan out (a nested array is only allowed from process[1] on)",
            );
            None
        }
        other => {
            ck.problem(
                "$.process[0]",
                format!("must be an object, got {}", kind(&other)),
            );
            None
        }
    };
    let mut rest = Vec::new();
    for (i, step) in items.enumerate() {
        let path = index("$.process", i + 1);
        if let Some(step) = ProcessStep::from_value(step, &path, ck) {
            rest.push(step);
        }
    }
    Some((first?, rest))
}

impl Serialize for ProcessPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let process = ProcessView(self);
        let features_present =
            !self.features.is_empty() || self.order.0.iter().any(|k| k == "features");
        let known: [Known<'_>; 3] = [
            ("id", self.id.as_ref().map(|v| v as _)),
            ("features", features_present.then_some(&self.features as _)),
            ("process", Some(&process)),
        ];
        serialize_ordered(serializer, &self.order, &known, &self.extra)
    }
}

/// Serializes `process` as `[first, ...rest]`.
struct ProcessView<'a>(&'a ProcessPayload);

impl Serialize for ProcessView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(1 + self.0.rest.len()))?;
        seq.serialize_element(&self.0.first)?;
        for step in &self.0.rest {
            seq.serialize_element(step)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for ProcessPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        ProcessPayload::from_value(value)
            .map(|parsed| parsed.value)
            .map_err(D::Error::custom)
    }
}
