//! Process definitions (`process[i]`): the workflow to run, its tasks, and how output items
//! are assigned to collections; and the steps of a workflow chain.

use super::extract::{
    Checker, KeyOrder, Known, array, boolean, kind, object, object_of_objects, optional,
    serialize_ordered, string, take,
};
use super::id;
use super::jsonpath::{Filter, JsonPath};
use super::problem::{child, index};
use super::upload::UploadOptions;
use crate::Result;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// One step of the workflow chain after `process[0]`.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum ProcessStep {
    /// One next workflow.
    Single(Box<ProcessDefinition>),
    /// Fan-out: one next payload per branch; each branch keeps the rest of the chain.
    FanOut(#[schemars(length(min = 1))] Vec<ProcessDefinition>),
}

impl ProcessStep {
    pub(crate) fn from_value(value: Value, path: &str, ck: &mut Checker) -> Option<ProcessStep> {
        match value {
            Value::Object(map) => ProcessDefinition::from_map(map, path, ck)
                .map(|def| ProcessStep::Single(Box::new(def))),
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
            ProcessStep::Single(def) => std::slice::from_ref(def.as_ref()),
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

    pub(crate) fn from_map(
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
        let collection_options = optional(
            &mut map,
            "collection_options",
            path,
            ck,
            parse_collection_options,
        );
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
            (
                "upload_options",
                self.upload_options.as_ref().map(|v| v as _),
            ),
            ("tasks", self.tasks.as_ref().map(|v| v as _)),
            (
                "workflow_options",
                self.workflow_options.as_ref().map(|v| v as _),
            ),
            (
                "collection_matchers",
                self.collection_matchers.as_ref().map(|v| v as _),
            ),
            (
                "collection_options",
                self.collection_options.as_ref().map(|v| v as _),
            ),
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
                let parameters =
                    take(&mut entry, "parameters").unwrap_or(Value::Object(Map::new()));
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
    fn from_map(
        mut map: Map<String, Value>,
        path: &str,
        ck: &mut Checker,
    ) -> Option<CollectionMatcher> {
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
                ck.problem(
                    child(path, "type"),
                    "is required (\"jsonpath\" or \"catch_all\")",
                );
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
        if matcher_type == Some(MatcherType::Jsonpath)
            && pattern.is_none()
            && !ck.problems.iter().any(|p| p.path == child(path, "pattern"))
        {
            ck.problem(
                child(path, "pattern"),
                "is required when type is \"jsonpath\"",
            );
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
