//! Workflow chaining: the payloads that follow a successful workflow.
//!
//! As cirrus-geo's `next_payloads`, applied to the **output** payload of a workflow:
//!
//! - the output loses its `id` and `process[0]`;
//! - if nothing is left, there is no next payload;
//! - a single next definition gives one payload; a nested array (fan-out) gives one payload
//!   per branch, in order, and each branch keeps the rest of the chain;
//! - the next definition's `chain_filter` (jsonpath-ng dialect) selects the features that go
//!   on.
//!
//! Beyond cirrus-geo: a branch whose `chain_filter` keeps no feature yields no payload (with
//! a log line), since a payload without features has no ID and cannot be processed.
//!
//! ```
//! use cirrus_core::payload::ProcessPayload;
//!
//! let output = ProcessPayload::from_json(r#"{
//!   "id": "c/workflow-a/x/y",
//!   "features": [{"id": "x", "properties": {"q": 90}}, {"id": "y", "properties": {"q": 10}}],
//!   "process": [
//!     {"workflow": "a"},
//!     [{"workflow": "b", "chain_filter": "@.properties.q > 50"}, {"workflow": "c"}],
//!     {"workflow": "d"}
//!   ]
//! }"#)?;
//! let next = output.next_payloads()?;
//! assert_eq!(next.len(), 2);
//! assert_eq!(next[0].workflow(), "b");
//! assert_eq!(next[0].features.len(), 1);
//! assert_eq!(next[1].workflow(), "c");
//! assert_eq!(next[1].chain()[0].definitions()[0].workflow, "d");
//! assert!(next[0].id.is_none());
//! # Ok::<(), cirrus_core::Error>(())
//! ```

use super::ProcessPayload;
use crate::Result;

impl ProcessPayload {
    /// The payloads to enqueue after this (output) payload's workflow succeeded, in order.
    pub fn next_payloads(&self) -> Result<Vec<ProcessPayload>> {
        let Some((step, tail)) = self.chain().split_first() else {
            return Ok(Vec::new());
        };
        let branches = step.definitions();
        // `$` in a chain_filter is the payload, as in cirrus-geo's `$.features[?(…)]`.
        let root = if branches.iter().any(|d| d.chain_filter.is_some()) {
            self.to_value()
        } else {
            serde_json::Value::Null
        };
        let mut next = Vec::with_capacity(branches.len());
        for definition in branches {
            let features = match definition.chain_filter()? {
                Some(filter) => self
                    .features
                    .iter()
                    .filter(|f| filter.matches_with_root(f.as_value(), &root))
                    .cloned()
                    .collect(),
                None => self.features.clone(),
            };
            if features.is_empty() {
                tracing::info!(
                    workflow = %definition.workflow,
                    chain_filter = definition.chain_filter.as_deref().unwrap_or_default(),
                    "chain_filter kept no feature; no payload for this branch"
                );
                continue;
            }
            next.push(self.with_process(definition.clone(), tail.to_vec(), features));
        }
        Ok(next)
    }
}
