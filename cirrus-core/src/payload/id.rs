//! Payload IDs: `{collections}/workflow-{workflow}/{item ids}`.
//!
//! The ID is computed exactly as cirrus-geo's `set_id` computes it:
//!
//! - `collections` is `process[0].collections` when set; otherwise the **sorted unique**
//!   `collection` values of the features joined by `/`; otherwise `none`;
//! - the item ids are **sorted** and joined by `/`.
//!
//! Sorting is by Unicode code point, as Python's `sorted` does on `str` (for UTF-8 that is
//! byte order). An existing `id` is kept as it is.
//!
//! Beyond cirrus-geo, an ID whose item part is longer than [`MAX_ITEM_IDS_BYTES`] is rejected
//! (the state DB's sort key cannot hold it), and so is a workflow name containing `_` (the
//! state DB key `{collections}_{workflow}` is split on the last `_`).
//!
//! ```
//! use cirrus_core::payload::id::{compute, PayloadId};
//!
//! let id = compute(None, "cog-archive", [("b", Some("s2")), ("a", Some("l8")), ("c", Some("s2"))])?;
//! assert_eq!(id, "l8/s2/workflow-cog-archive/a/b/c");
//! let parsed = PayloadId::parse(&id)?;
//! assert_eq!(parsed.workflow(), "cog-archive");
//! assert_eq!(parsed.collections_workflow(), "l8/s2_cog-archive");
//! # Ok::<(), cirrus_core::payload::Problem>(())
//! ```

use super::Problem;
use regex::Regex;
use std::fmt;
use std::sync::LazyLock;

/// The longest item part (`{item ids}`) an ID may have, in bytes: DynamoDB's sort key limit.
pub const MAX_ITEM_IDS_BYTES: usize = 1024;

/// cirrus-geo's `PAYLOAD_ID_REGEX`, applied with Python `re.match` semantics (anchored at the
/// start only).
static PAYLOAD_ID_REGEX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<collections>.+)/workflow-(?P<workflow>[^/]+)/(?P<itemids>.+)")
        .expect("the payload ID regex is a valid literal")
});

/// A parsed payload ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PayloadId {
    id: String,
    collections: std::ops::Range<usize>,
    workflow: std::ops::Range<usize>,
    item_ids: std::ops::Range<usize>,
}

impl PayloadId {
    /// Parses an ID, checking it against cirrus-geo's regex and the item-part length guard.
    pub fn parse(id: &str) -> Result<PayloadId, Problem> {
        let Some(caps) = PAYLOAD_ID_REGEX.captures(id) else {
            return Err(Problem::new(
                "$.id",
                format!(
                    "{id:?} is not a payload ID: expected {{collections}}/workflow-{{workflow}}/{{item ids}}"
                ),
            ));
        };
        let range = |name: &str| caps.name(name).map(|m| m.range()).unwrap_or_default();
        let parsed = PayloadId {
            collections: range("collections"),
            workflow: range("workflow"),
            item_ids: range("itemids"),
            id: id.to_string(),
        };
        check_item_ids_len(parsed.item_ids().len()).map_err(|m| Problem::new("$.id", m))?;
        Ok(parsed)
    }

    /// The whole ID.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The collections part, e.g. `sentinel-2-l2a` or `l8/s2`.
    pub fn collections(&self) -> &str {
        &self.id[self.collections.clone()]
    }

    /// The workflow name.
    pub fn workflow(&self) -> &str {
        &self.id[self.workflow.clone()]
    }

    /// The item part: the item ids joined by `/`.
    pub fn item_ids(&self) -> &str {
        &self.id[self.item_ids.clone()]
    }

    /// The state DB partition key, `{collections}_{workflow}`.
    pub fn collections_workflow(&self) -> String {
        format!("{}_{}", self.collections(), self.workflow())
    }
}

impl fmt::Display for PayloadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

/// Checks a workflow name: not empty, and no `_`, `/` or whitespace.
pub fn check_workflow_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".to_string());
    }
    if name.contains('_') {
        return Err(format!(
            "workflow name {name:?} contains '_', which is not allowed: the state DB key {{collections}}_{{workflow}} is split on the last '_' (use '-' instead)"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| *c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "workflow name {name:?} contains {c:?}, which is not allowed in a workflow name"
        ));
    }
    Ok(())
}

fn check_item_ids_len(len: usize) -> Result<(), String> {
    if len > MAX_ITEM_IDS_BYTES {
        return Err(format!(
            "the item part of the payload ID is {len} bytes, more than the {MAX_ITEM_IDS_BYTES} bytes the state DB allows; split the payload into smaller ones"
        ));
    }
    Ok(())
}

/// Computes the payload ID from `process[0].collections`, the workflow name, and each
/// feature's `(id, collection)`.
///
/// The error is at `$.process[0].workflow` (the workflow name rule) or `$.features` (no
/// features, the length guard).
pub fn compute<'a>(
    collections: Option<&str>,
    workflow: &str,
    features: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<String, Problem> {
    check_workflow_name(workflow).map_err(|m| Problem::new("$.process[0].workflow", m))?;
    let mut ids: Vec<&str> = Vec::new();
    let mut cols: Vec<&str> = Vec::new();
    for (id, collection) in features {
        ids.push(id);
        cols.extend(collection);
    }
    let features_problem = |message: String| Problem::new("$.features", message);
    if ids.is_empty() {
        return Err(features_problem(
            "at least one feature is required to compute the payload id when `id` is absent"
                .to_string(),
        ));
    }
    ids.sort_unstable();
    let item_len = ids.iter().map(|s| s.len()).sum::<usize>() + ids.len() - 1;
    check_item_ids_len(item_len).map_err(features_problem)?;
    let mut out = String::with_capacity(item_len + workflow.len() + 64);
    match collections {
        Some(c) => out.push_str(c),
        None if cols.is_empty() => out.push_str("none"),
        None => {
            cols.sort_unstable();
            cols.dedup();
            join_into(&mut out, &cols);
        }
    }
    out.push_str("/workflow-");
    out.push_str(workflow);
    out.push('/');
    join_into(&mut out, &ids);
    if !PAYLOAD_ID_REGEX.is_match(&out) {
        return Err(features_problem(format!(
            "the computed ID {out:?} does not match {{collections}}/workflow-{{workflow}}/{{item ids}} (empty collections override, or a line break in an id?)"
        )));
    }
    Ok(out)
}

fn join_into(out: &mut String, parts: &[&str]) {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(part);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_like_cirrus_geo() {
        let id = compute(
            None,
            "cog-archive",
            [("S2B_17HQD_20201103_0_L2A", Some("sentinel-2-l2a"))],
        );
        assert_eq!(
            id.unwrap(),
            "sentinel-2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A"
        );
        // no collections → "none"; duplicates collapse; ids sorted
        assert_eq!(
            compute(None, "w", [("b", None), ("a", None)]).unwrap(),
            "none/workflow-w/a/b"
        );
        assert_eq!(
            compute(
                None,
                "w",
                [("x", Some("c2")), ("y", Some("c1")), ("z", Some("c2"))]
            )
            .unwrap(),
            "c1/c2/workflow-w/x/y/z"
        );
        // override
        assert_eq!(
            compute(Some("mine"), "w", [("x", Some("c2"))]).unwrap(),
            "mine/workflow-w/x"
        );
        // code-point order: uppercase before lowercase, 'é' after 'z'
        assert_eq!(
            compute(None, "w", [("é", None), ("z", None), ("Z", None)]).unwrap(),
            "none/workflow-w/Z/z/é"
        );
    }

    #[test]
    fn guards() {
        let underscore = compute(None, "my_flow", [("a", None)]).unwrap_err();
        assert_eq!(underscore.path, "$.process[0].workflow");
        assert!(underscore.message.contains("'_'"));
        assert!(compute(None, "a/b", [("a", None)]).is_err());
        assert!(compute(None, "w", []).is_err());
        let long = "x".repeat(1025);
        let too_long = compute(None, "w", [(long.as_str(), None)]).unwrap_err();
        assert_eq!(too_long.path, "$.features");
        assert!(too_long.message.contains("1025 bytes"));
        let ok = "x".repeat(1024);
        assert!(compute(None, "w", [(ok.as_str(), None)]).is_ok());
        // 2 × 512 + separator = 1025
        let half = "y".repeat(512);
        assert!(compute(None, "w", [(half.as_str(), None), (half.as_str(), None)]).is_err());
    }

    #[test]
    fn parse_is_greedy_like_python() {
        let id = PayloadId::parse("a/workflow-w/b/workflow-v/c").unwrap();
        assert_eq!(id.collections(), "a/workflow-w/b");
        assert_eq!(id.workflow(), "v");
        assert_eq!(id.item_ids(), "c");
        assert!(PayloadId::parse("no-workflow-here").is_err());
        assert!(PayloadId::parse("c/workflow-/x").is_err());
    }
}
