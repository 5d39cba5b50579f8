//! The workflows a pipeline can start, by name.

use crate::workflow::StateMachine;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The state machines a pipeline runs, by workflow name (`process[0].workflow`).
///
/// A project's are its `workflows/<name>/definition.json` (the CLI loads them). A payload
/// naming a workflow that is not here fails with `WorkflowNotFound`, as cirrus-geo fails a
/// payload whose state machine does not exist.
#[derive(Debug, Clone, Default)]
pub struct Workflows {
    machines: BTreeMap<String, Arc<StateMachine>>,
}

impl Workflows {
    /// No workflows.
    pub fn new() -> Workflows {
        Workflows::default()
    }

    /// Adds (or replaces) the workflow `name`.
    pub fn insert(&mut self, name: impl Into<String>, machine: StateMachine) -> &mut Workflows {
        self.machines.insert(name.into(), Arc::new(machine));
        self
    }

    /// The state machine of `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<StateMachine>> {
        self.machines.get(name)
    }

    /// The workflow names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.machines.keys().map(String::as_str)
    }

    /// How many workflows there are.
    pub fn len(&self) -> usize {
        self.machines.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.machines.is_empty()
    }

    /// The error of a payload naming a workflow that is not here.
    pub(crate) fn not_found(&self, name: &str) -> (String, String) {
        let known = if self.machines.is_empty() {
            "there are none".to_string()
        } else {
            format!("known: {}", self.names().collect::<Vec<_>>().join(", "))
        };
        (
            "WorkflowNotFound".to_string(),
            format!(
                "no workflow named {name:?} ({known}); a project's workflows are workflows/<name>/definition.json"
            ),
        )
    }
}
