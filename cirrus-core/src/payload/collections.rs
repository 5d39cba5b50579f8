//! Which collection an output item belongs to, and which upload options apply to it.
//!
//! As in stac-task:
//!
//! - `process[0].collection_matchers` are tried in order. A `jsonpath` rule matches when its
//!   pattern, applied to the one-element list `[item]`, finds exactly one value; a
//!   `catch_all` rule always matches. The first match names the collection.
//! - Otherwise the deprecated `upload_options.collections` map (collection → pattern) is
//!   tried in order, with the same matching rule.
//! - An item that nothing matches keeps the collection it has.
//!
//! ```
//! use cirrus_core::payload::ProcessPayload;
//!
//! let mut payload = ProcessPayload::from_json(r#"{
//!   "features": [{"id": "S2B_1"}, {"id": "LC08_1"}],
//!   "process": [{
//!     "workflow": "copy",
//!     "upload_options": {"path_template": "/${collection}/${id}"},
//!     "collection_matchers": [
//!       {"type": "jsonpath", "pattern": "$[?(@.id =~ '^S2')]", "collection_name": "sentinel-2"},
//!       {"type": "catch_all", "collection_name": "other"}
//!     ]
//!   }]
//! }"#)?;
//! payload.assign_collections()?;
//! assert_eq!(payload.features[0].collection(), Some("sentinel-2"));
//! assert_eq!(payload.features[1].collection(), Some("other"));
//! # Ok::<(), cirrus_core::Error>(())
//! ```

use super::jsonpath::JsonPath;
use super::{Feature, MatcherType, ProcessDefinition, ProcessPayload, UploadOptions};
use crate::Result;
use serde_json::Value;

/// Whether a jsonpath-ng `pattern` matches `item` the way stac-task's
/// `stac_jsonpath_match` decides it: `find([item])` returns exactly one value.
pub fn jsonpath_matches(pattern: &JsonPath, item: &Feature) -> bool {
    let list = Value::Array(vec![item.as_value().clone()]);
    pattern.find(&list).len() == 1
}

/// A compiled collection rule: the pattern (none for `catch_all`) and the collection it names.
type Rule<'a> = (Option<JsonPath>, &'a str);

impl ProcessDefinition {
    /// The collection rules in order: `collection_matchers`, or else the legacy
    /// `upload_options.collections`, with their patterns compiled.
    fn collection_rules(&self) -> Result<Vec<Rule<'_>>> {
        if let Some(matchers) = &self.collection_matchers {
            let mut rules = Vec::with_capacity(matchers.len());
            for matcher in matchers {
                let pattern = match (matcher.matcher_type, &matcher.pattern) {
                    (MatcherType::CatchAll, _) => None,
                    (MatcherType::Jsonpath, Some(pattern)) => Some(JsonPath::parse(pattern)?),
                    // Validation rejects a jsonpath rule without a pattern; it never matches.
                    (MatcherType::Jsonpath, None) => continue,
                };
                rules.push((pattern, matcher.collection_name.as_str()));
            }
            return Ok(rules);
        }
        let legacy = self
            .upload_options
            .as_ref()
            .and_then(|options| options.collections.as_ref());
        legacy
            .into_iter()
            .flatten()
            .map(|(name, pattern)| Ok((Some(JsonPath::parse(pattern)?), name.as_str())))
            .collect()
    }

    /// The collection that `collection_matchers` (or the legacy `upload_options.collections`)
    /// assigns to `item`, if any rule matches.
    pub fn find_collection(&self, item: &Feature) -> Result<Option<String>> {
        Ok(first_match(&self.collection_rules()?, item))
    }

    /// The upload options for items of `collection`: `collection_options[collection]
    /// .upload_options` when set, otherwise the global `upload_options`.
    pub fn upload_options_for(&self, collection: &str) -> Option<&UploadOptions> {
        self.collection_options
            .as_ref()
            .and_then(|options| options.get(collection))
            .and_then(|options| options.upload_options.as_ref())
            .or(self.upload_options.as_ref())
    }
}

/// The collection of the first rule that matches `item`.
fn first_match(rules: &[Rule<'_>], item: &Feature) -> Option<String> {
    rules
        .iter()
        .find(|(pattern, _)| pattern.as_ref().is_none_or(|p| jsonpath_matches(p, item)))
        .map(|(_, name)| name.to_string())
}

impl ProcessPayload {
    /// Sets each feature's `collection` from `process[0]`'s matchers (stac-task's
    /// `assign_collections`). Features that no rule matches are left as they are.
    pub fn assign_collections(&mut self) -> Result<()> {
        // Compiled once for all the features.
        let definition = self.process_definition().clone();
        let rules = definition.collection_rules()?;
        for feature in &mut self.features {
            if let Some(collection) = first_match(&rules, feature) {
                feature.set_collection(collection);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_map_and_per_collection_upload_options() {
        let payload = ProcessPayload::from_json(
            r#"{"features": [{"id": "a-1", "collection": "x"}, {"id": "b-1"}],
                "process": [{"workflow": "w",
                  "upload_options": {"path_template": "/g/${id}", "collections": {"aaa": "$[?(@.id =~ '^a')]"}},
                  "collection_options": {"aaa": {"upload_options": {"path_template": "/a/${id}"}}}}]}"#,
        )
        .unwrap();
        let def = payload.process_definition();
        assert_eq!(
            def.find_collection(&payload.features[0])
                .unwrap()
                .as_deref(),
            Some("aaa")
        );
        assert_eq!(def.find_collection(&payload.features[1]).unwrap(), None);
        let for_a = def.upload_options_for("aaa").unwrap();
        assert_eq!(for_a.path_template.as_deref(), Some("/a/${id}"));
        let other = def.upload_options_for("zzz").unwrap();
        assert_eq!(other.path_template.as_deref(), Some("/g/${id}"));
    }
}
