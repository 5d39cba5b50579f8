//! Every state machine of the ASL test corpus (`tests/asl/corpus`), parsed by the real
//! parser, draws in both languages with one node per state, and (when Graphviz is installed)
//! its DOT renders.

use super::renders_with_graphviz;
use crate::workflow::graph::{to_dot, to_mermaid};
use crate::workflow::model::{StateKind, StateMachine};
use serde_json::Value;
use std::path::PathBuf;

/// The number of states in `machine`, nested branches and item processors included, and the
/// number of clusters.
fn count(machine: &StateMachine) -> (usize, usize) {
    let mut states = machine.states.len();
    let mut clusters = 0;
    for state in machine.states.values() {
        let nested: Vec<&StateMachine> = match &state.kind {
            StateKind::Parallel(parallel) => parallel.branches.iter().map(|b| &**b).collect(),
            StateKind::Map(map) => vec![&map.processor],
            _ => Vec::new(),
        };
        for machine in nested {
            let (s, c) = count(machine);
            states += s;
            clusters += c + 1;
        }
    }
    (states, clusters)
}

#[test]
fn every_corpus_machine_draws() {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/asl/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("the corpus folder is readable")
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus file in {}", folder.display());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a corpus file is readable");
        let case: Value = serde_json::from_str(&text).expect("a corpus file is JSON");
        let name = file.display();
        let Ok(machine) = StateMachine::from_value(&case["definition"]) else {
            // Definitions the parser rejects are the validation tests' business.
            continue;
        };
        let (states, clusters) = count(&machine);

        let dot = to_dot(&machine);
        let nodes: Vec<&str> = dot
            .lines()
            .filter(|l| l.contains(" [label=\"") && !l.contains(" -> "))
            .collect();
        let markers = nodes.iter().filter(|l| l.contains("[label=\"\"")).count();
        assert_eq!(nodes.len() - markers, states, "{name}\n{dot}");
        let dot_clusters = dot.matches("subgraph cluster_").count();
        assert_eq!(dot_clusters, clusters, "{name}\n{dot}");
        renders_with_graphviz(&dot);

        let mermaid = to_mermaid(&machine);
        let opened = mermaid
            .lines()
            .filter(|l| l.trim_start().starts_with("subgraph "))
            .count();
        let closed = mermaid.lines().filter(|l| l.trim() == "end").count();
        assert_eq!((opened, closed), (clusters, clusters), "{name}\n{mermaid}");
    }
}
