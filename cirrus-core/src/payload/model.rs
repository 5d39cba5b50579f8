//! The typed process payload.
//!
//! Parsing ([`ProcessPayload::from_value`]) checks the whole payload and returns **every**
//! problem, each with its JSON path. Unknown keys at every level are kept in `extra` and
//! written back, in their original order, by serialization.

use super::extract::{
    Checker, KeyOrder, Known, array, boolean, kind, object, object_of_objects, optional,
    serialize_ordered, string, take,
};
use super::id::{self, PayloadId};
use super::jsonpath::{Filter, JsonPath};
use super::problem::{Problem, child, index};
use crate::{Error, Result};
use indexmap::IndexMap;
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
        let key = if map.contains_key("url") { "url" } else { "href" };
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
            ck.problem("$.type", format!("must be \"FeatureCollection\", got {value}"));
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
                    ck.problem("$.id", problem);
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
        if self.features.is_empty() {
            return Err(Problem::new(
                "$.features",
                "at least one feature is required to compute the payload id when `id` is absent",
            ));
        }
        id::compute(
            self.first.collections.as_deref(),
            &self.first.workflow,
            self.features.iter().map(|f| (f.id(), f.collection())),
        )
        .map_err(|message| Problem::new("$.features", message))
    }

    /// The payload ID: the `id` member when set, otherwise computed exactly as cirrus-geo
    /// computes it (see [`id`](super::id)).
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

fn parse_features(value: Value, path: &str, ck: &mut Checker) -> Option<Vec<Feature>> {
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
        ck.problem(
            "$.process",
            "must contain at least one process definition",
        );
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

/// One step of the workflow chain after `process[0]`.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum ProcessStep {
    /// One next workflow.
    Single(ProcessDefinition),
    /// Fan-out: one next payload per branch; each branch keeps the rest of the chain.
    FanOut(#[schemars(length(min = 1))] Vec<ProcessDefinition>),
}

impl ProcessStep {
    fn from_value(value: Value, path: &str, ck: &mut Checker) -> Option<ProcessStep> {
        match value {
            Value::Object(map) => ProcessDefinition::from_map(map, path, ck).map(ProcessStep::Single),
            Value::Array(branches) if branches.is_empty() => {
                ck.problem(path, "a fan-out must list at least one process definition");
                None
            }
            Value::Array(branches) => {
                let mut defs = Vec::with_capacity(branches.len());
                for (i, branch) in branches.into_iter().enumerate() {
                    let branch_path = index(path, i);
                    if let Some(map) = object(branch, &branch_path, ck)
                        && let Some(def) = ProcessDefinition::from_map(map, &branch_path, ck)
                    {
                        defs.push(def);
                    }
                }
                Some(ProcessStep::FanOut(defs))
            }
            other => {
                ck.problem(
                    path,
                    format!(
                        "must be a process definition object or an array of them (fan-out), got {}",
                        kind(&other)
                    ),
                );
                None
            }
        }
    }

    /// The definitions of this step: one, or one per fan-out branch.
    pub fn definitions(&self) -> &[ProcessDefinition] {
        match self {
            ProcessStep::Single(def) => std::slice::from_ref(def),
            ProcessStep::FanOut(defs) => defs,
        }
    }
}

impl Serialize for ProcessStep {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ProcessStep::Single(def) => def.serialize(serializer),
            ProcessStep::FanOut(defs) => defs.serialize(serializer),
        }
    }
}

/// A process definition: the workflow to run and its options (`process[i]`).
#[derive(Debug, Clone, Default, PartialEq, JsonSchema)]
pub struct ProcessDefinition {
    /// The workflow name. It may not contain `_` (the state DB key is split on it), `/`, or
    /// whitespace.
    #[schemars(regex(pattern = r"^[^_/\s]+$"))]
    pub workflow: String,
    /// Run again even if the state DB has a record for this payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<bool>,
    /// Overrides the collections part of the payload ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collections: Option<String>,
    /// A jsonpath-ng filter on features, applied when this definition becomes the next link
    /// of a chain, e.g. `@.id =~ 'S2.*' & @.properties.x > 80`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_filter: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where and how output items and assets are uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_options: Option<UploadOptions>,
    /// Task name → parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<IndexMap<String, Map<String, Value>>>,
    /// Parameters common to all tasks; a task's own parameters override them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_options: Option<Map<String, Value>>,
    /// Ordered rules that assign output items to collections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_matchers: Option<Vec<CollectionMatcher>>,
    /// Per-collection options, consulted before the global `upload_options`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_options: Option<IndexMap<String, CollectionOptions>>,
    /// Every other member, kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(skip)]
    order: KeyOrder,
}

impl ProcessDefinition {
    /// A definition for `workflow` with nothing else set.
    pub fn new(workflow: impl Into<String>) -> ProcessDefinition {
        ProcessDefinition {
            workflow: workflow.into(),
            ..ProcessDefinition::default()
        }
    }

    /// Whether `replace` is set (absent means `false`).
    pub fn replace(&self) -> bool {
        self.replace.unwrap_or(false)
    }

    /// The parameters of task `name`: `workflow_options` overridden by `tasks[name]`.
    pub fn task_parameters(&self, name: &str) -> Map<String, Value> {
        let mut parameters = self.workflow_options.clone().unwrap_or_default();
        if let Some(own) = self.tasks.as_ref().and_then(|tasks| tasks.get(name)) {
            for (key, value) in own {
                parameters.insert(key.clone(), value.clone());
            }
        }
        parameters
    }

    /// The compiled `chain_filter`, if any.
    pub fn chain_filter(&self) -> Result<Option<Filter>> {
        self.chain_filter.as_deref().map(Filter::parse).transpose()
    }

    fn from_map(
        mut map: Map<String, Value>,
        path: &str,
        ck: &mut Checker,
    ) -> Option<ProcessDefinition> {
        let order = KeyOrder::of(&map);
        let workflow = match take(&mut map, "workflow") {
            Some(value) => {
                let workflow_path = child(path, "workflow");
                string(value, &workflow_path, ck).and_then(|name| {
                    match id::check_workflow_name(&name) {
                        Ok(()) => Some(name),
                        Err(message) => {
                            ck.problem(workflow_path, message);
                            None
                        }
                    }
                })
            }
            None => {
                ck.problem(child(path, "workflow"), "is required");
                None
            }
        };
        let replace = optional(&mut map, "replace", path, ck, boolean);
        let collections = optional(&mut map, "collections", path, ck, string);
        let chain_filter = optional(&mut map, "chain_filter", path, ck, |v, p, ck| {
            let text = string(v, p, ck)?;
            if let Err(err) = Filter::parse(&text) {
                ck.problem(p, err.to_string());
            }
            Some(text)
        });
        let description = optional(&mut map, "description", path, ck, string);
        let upload_options = optional(&mut map, "upload_options", path, ck, |v, p, ck| {
            UploadOptions::from_map(object(v, p, ck)?, p, ck)
        });
        let tasks = optional(&mut map, "tasks", path, ck, parse_tasks);
        let workflow_options = optional(&mut map, "workflow_options", path, ck, object);
        let collection_matchers =
            optional(&mut map, "collection_matchers", path, ck, parse_matchers);
        let collection_options =
            optional(&mut map, "collection_options", path, ck, parse_collection_options);
        if collection_matchers.is_some()
            && upload_options
                .as_ref()
                .is_some_and(|u: &UploadOptions| u.collections.is_some())
        {
            ck.problem(
                child(path, "collection_matchers"),
                "cannot be combined with the deprecated upload_options.collections; use collection_matchers only",
            );
        }
        let definition = ProcessDefinition {
            workflow: workflow?,
            replace,
            collections,
            chain_filter,
            description,
            upload_options,
            tasks,
            workflow_options,
            collection_matchers,
            collection_options,
            extra: map,
            order,
        };
        for (i, matcher) in definition.collection_matchers.iter().flatten().enumerate() {
            let name = &matcher.collection_name;
            if definition
                .upload_options_for(name)
                .is_none_or(UploadOptions::is_empty)
            {
                ck.problem(
                    child(&index(&child(path, "collection_matchers"), i), "collection_name"),
                    format!("collection {name:?} has no upload options: set collection_options.{name}.upload_options or upload_options"),
                );
            }
        }
        Some(definition)
    }
}

impl Serialize for ProcessDefinition {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let known: [Known<'_>; 10] = [
            ("workflow", Some(&self.workflow)),
            ("replace", self.replace.as_ref().map(|v| v as _)),
            ("collections", self.collections.as_ref().map(|v| v as _)),
            ("chain_filter", self.chain_filter.as_ref().map(|v| v as _)),
            ("description", self.description.as_ref().map(|v| v as _)),
            ("upload_options", self.upload_options.as_ref().map(|v| v as _)),
            ("tasks", self.tasks.as_ref().map(|v| v as _)),
            ("workflow_options", self.workflow_options.as_ref().map(|v| v as _)),
            ("collection_matchers", self.collection_matchers.as_ref().map(|v| v as _)),
            ("collection_options", self.collection_options.as_ref().map(|v| v as _)),
        ];
        serialize_ordered(serializer, &self.order, &known, &self.extra)
    }
}

fn parse_tasks(
    value: Value,
    path: &str,
    ck: &mut Checker,
) -> Option<IndexMap<String, Map<String, Value>>> {
    let map = match value {
        Value::Array(list) => {
            ck.warning(
                path,
                "a list of {name, parameters} tasks is deprecated; it was normalised to a map of task name → parameters",
            );
            let mut map = Map::new();
            for (i, entry) in list.into_iter().enumerate() {
                let entry_path = index(path, i);
                let Some(mut entry) = object(entry, &entry_path, ck) else {
                    continue;
                };
                let name = optional(&mut entry, "name", &entry_path, ck, string);
                let parameters = take(&mut entry, "parameters").unwrap_or(Value::Object(Map::new()));
                match name {
                    Some(name) => {
                        map.insert(name, parameters);
                    }
                    None if !entry.contains_key("name") => {
                        ck.problem(child(&entry_path, "name"), "is required");
                    }
                    None => {}
                }
            }
            Value::Object(map)
        }
        other => other,
    };
    let map = object_of_objects(map, path, ck)?;
    Some(
        map.into_iter()
            .filter_map(|(name, params)| match params {
                Value::Object(params) => Some((name, params)),
                _ => None,
            })
            .collect(),
    )
}

fn parse_matchers(value: Value, path: &str, ck: &mut Checker) -> Option<Vec<CollectionMatcher>> {
    let list = array(value, path, ck)?;
    let mut matchers = Vec::with_capacity(list.len());
    for (i, entry) in list.into_iter().enumerate() {
        let entry_path = index(path, i);
        if let Some(map) = object(entry, &entry_path, ck)
            && let Some(matcher) = CollectionMatcher::from_map(map, &entry_path, ck)
        {
            matchers.push(matcher);
        }
    }
    Some(matchers)
}

fn parse_collection_options(
    value: Value,
    path: &str,
    ck: &mut Checker,
) -> Option<IndexMap<String, CollectionOptions>> {
    let map = object_of_objects(value, path, ck)?;
    let mut options = IndexMap::with_capacity(map.len());
    for (collection, entry) in map {
        let entry_path = child(path, &collection);
        let Value::Object(mut entry) = entry else {
            continue;
        };
        let upload_options = optional(&mut entry, "upload_options", &entry_path, ck, |v, p, ck| {
            UploadOptions::from_map(object(v, p, ck)?, p, ck)
        });
        options.insert(
            collection,
            CollectionOptions {
                upload_options,
                extra: entry,
            },
        );
    }
    Some(options)
}

/// How output items and assets are uploaded (`process[i].upload_options`).
#[derive(Debug, Clone, Default, PartialEq, JsonSchema)]
pub struct UploadOptions {
    /// Where items go, e.g. `/${collection}/${year}/${month}/${id}`. See
    /// [`path_template`](super::path_template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_template: Option<String>,
    /// Assets made public: a list of asset keys, or `"ALL"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_assets: Option<PublicAssets>,
    /// Extra arguments for uploads (e.g. `CacheControl`, `StorageClass`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Map<String, Value>>,
    /// Write `s3://` asset URLs instead of `https://` ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_urls: Option<bool>,
    /// Deprecated: collection name → JSONPath pattern; the first match wins. Use
    /// `collection_matchers` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collections: Option<IndexMap<String, String>>,
    /// Every other member, kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(skip)]
    order: KeyOrder,
}

impl UploadOptions {
    /// Whether nothing is set (stac-task treats empty upload options as none).
    pub fn is_empty(&self) -> bool {
        self.path_template.is_none()
            && self.public_assets.is_none()
            && self.headers.is_none()
            && self.s3_urls.is_none()
            && self.collections.is_none()
            && self.extra.is_empty()
    }

    /// Whether `s3_urls` is set (absent means `false`).
    pub fn s3_urls(&self) -> bool {
        self.s3_urls.unwrap_or(false)
    }

    fn from_map(mut map: Map<String, Value>, path: &str, ck: &mut Checker) -> Option<UploadOptions> {
        let order = KeyOrder::of(&map);
        let path_template = optional(&mut map, "path_template", path, ck, string);
        let public_assets = optional(&mut map, "public_assets", path, ck, PublicAssets::from_value);
        let headers = optional(&mut map, "headers", path, ck, object);
        let s3_urls = optional(&mut map, "s3_urls", path, ck, boolean);
        let collections = optional(&mut map, "collections", path, ck, |v, p, ck| {
            let map = object(v, p, ck)?;
            let mut out = IndexMap::with_capacity(map.len());
            for (name, pattern) in map {
                let pattern_path = child(p, &name);
                let Some(pattern) = string(pattern, &pattern_path, ck) else {
                    continue;
                };
                if let Err(err) = JsonPath::parse(&pattern) {
                    ck.problem(pattern_path, err.to_string());
                }
                out.insert(name, pattern);
            }
            Some(out)
        });
        if collections.is_some() {
            ck.warning(
                child(path, "collections"),
                "upload_options.collections is deprecated; use process collection_matchers",
            );
        }
        Some(UploadOptions {
            path_template,
            public_assets,
            headers,
            s3_urls,
            collections,
            extra: map,
            order,
        })
    }
}

impl Serialize for UploadOptions {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let known: [Known<'_>; 5] = [
            ("path_template", self.path_template.as_ref().map(|v| v as _)),
            ("public_assets", self.public_assets.as_ref().map(|v| v as _)),
            ("headers", self.headers.as_ref().map(|v| v as _)),
            ("s3_urls", self.s3_urls.as_ref().map(|v| v as _)),
            ("collections", self.collections.as_ref().map(|v| v as _)),
        ];
        serialize_ordered(serializer, &self.order, &known, &self.extra)
    }
}

/// `upload_options.public_assets`: the asset keys to make public, or all of them.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(untagged)]
pub enum PublicAssets {
    /// `"ALL"`: every asset.
    All(AllAssets),
    /// These asset keys.
    Keys(Vec<String>),
}

/// The literal string `"ALL"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
pub enum AllAssets {
    /// `"ALL"`.
    #[serde(rename = "ALL")]
    All,
}

impl PublicAssets {
    /// Whether asset `key` is public.
    pub fn contains(&self, key: &str) -> bool {
        match self {
            PublicAssets::All(_) => true,
            PublicAssets::Keys(keys) => keys.iter().any(|k| k == key),
        }
    }

    fn from_value(value: Value, path: &str, ck: &mut Checker) -> Option<PublicAssets> {
        match value {
            Value::String(s) if s == "ALL" => Some(PublicAssets::All(AllAssets::All)),
            Value::Array(list) => {
                let mut keys = Vec::with_capacity(list.len());
                for (i, key) in list.into_iter().enumerate() {
                    keys.extend(string(key, &index(path, i), ck));
                }
                Some(PublicAssets::Keys(keys))
            }
            other => {
                ck.problem(
                    path,
                    format!(
                        "must be a list of asset keys or the string \"ALL\", got {}",
                        match &other {
                            Value::String(s) => format!("{s:?}"),
                            v => kind(v).to_string(),
                        }
                    ),
                );
                None
            }
        }
    }
}

impl Serialize for PublicAssets {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            PublicAssets::All(_) => serializer.serialize_str("ALL"),
            PublicAssets::Keys(keys) => keys.serialize(serializer),
        }
    }
}

/// One rule of `collection_matchers`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CollectionMatcher {
    /// How the rule matches.
    #[serde(rename = "type")]
    pub matcher_type: MatcherType,
    /// The JSONPath (jsonpath-ng dialect) applied to `[item]` when `type` is `jsonpath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The collection assigned when the rule matches.
    pub collection_name: String,
    /// Every other member, kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The kind of a [`CollectionMatcher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatcherType {
    /// Matches when `pattern` finds anything in `[item]`.
    Jsonpath,
    /// Always matches.
    CatchAll,
}

impl CollectionMatcher {
    fn from_map(mut map: Map<String, Value>, path: &str, ck: &mut Checker) -> Option<CollectionMatcher> {
        let matcher_type = match take(&mut map, "type") {
            Some(Value::String(s)) if s == "jsonpath" => Some(MatcherType::Jsonpath),
            Some(Value::String(s)) if s == "catch_all" => Some(MatcherType::CatchAll),
            Some(other) => {
                ck.problem(
                    child(path, "type"),
                    format!("must be \"jsonpath\" or \"catch_all\", got {other}"),
                );
                None
            }
            None => {
                ck.problem(child(path, "type"), "is required (\"jsonpath\" or \"catch_all\")");
                None
            }
        };
        let pattern = optional(&mut map, "pattern", path, ck, |v, p, ck| {
            let text = string(v, p, ck)?;
            if let Err(err) = JsonPath::parse(&text) {
                ck.problem(p, err.to_string());
            }
            Some(text)
        });
        if matcher_type == Some(MatcherType::Jsonpath) && pattern.is_none() && !ck.problems.iter().any(|p| p.path == child(path, "pattern")) {
            ck.problem(child(path, "pattern"), "is required when type is \"jsonpath\"");
        }
        let collection_name = match take(&mut map, "collection_name") {
            Some(v) => string(v, &child(path, "collection_name"), ck),
            None => {
                ck.problem(child(path, "collection_name"), "is required");
                None
            }
        };
        Some(CollectionMatcher {
            matcher_type: matcher_type?,
            pattern,
            collection_name: collection_name?,
            extra: map,
        })
    }
}

/// `collection_options[collection]`: options for items of one collection.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CollectionOptions {
    /// Upload options for this collection, used instead of the global ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_options: Option<UploadOptions>,
    /// Every other member, kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
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

impl Serialize for ProcessPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let process = ProcessView(self);
        let features_present = !self.features.is_empty() || self.order.0.iter().any(|k| k == "features");
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
