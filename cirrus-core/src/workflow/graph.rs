//! Drawings of a state machine: Graphviz DOT ([`to_dot`]) and Mermaid ([`to_mermaid`]).
//!
//! Both draw the same graph, built once by `Scope::of`:
//! - every state, labelled with its name and type, shaped by type (Choice a diamond, Wait a
//!   hexagon, Succeed and Fail terminal shapes, …);
//! - `Next` edges (solid), Choice rules (labelled with the condition, shortened) and `Default`
//!   (labelled `default`), `Catch` edges (dashed, labelled with the `ErrorEquals`);
//! - a start marker to `StartAt`, and an end marker from the states that end the machine
//!   (`End: true` and Succeed; a Fail state is a terminal shape of its own);
//! - each Parallel branch and each Map item processor as a nested cluster, entered by a bold
//!   edge from its Parallel or Map state, with its own end marker.
//!
//! Node ids are generated (`s0`, `s3_b1_s0`, …), so they are unique and need no escaping
//! whatever the state names hold; names are escaped in labels. The output follows the
//! definition order, so it is deterministic.

mod dot;
mod mermaid;
#[cfg(test)]
mod tests;

pub use dot::to_dot;
pub use mermaid::to_mermaid;

use super::model::{Catcher, StateKind, StateMachine, Transition};
use std::collections::HashMap;

/// The id of the whole machine's scope; its markers are `top_start` and `top_end`.
const TOP: &str = "top";

/// The longest edge label, in characters, before it is cut with `…`.
const MAX_LABEL_CHARS: usize = 60;

/// A state machine (or a branch, or an item processor) to draw: its nodes, nested clusters
/// and edges.
struct Scope {
    /// The scope's id: `top`, or `s3_b0` for the first branch of state `s3`.
    id: String,
    /// The cluster's title (`None` for the whole machine).
    title: Option<String>,
    /// The node id of the `StartAt` state.
    start: Option<String>,
    nodes: Vec<Node>,
    clusters: Vec<Scope>,
    edges: Vec<Edge>,
}

/// What a node stands for, which decides its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Start,
    End,
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

struct Node {
    id: String,
    /// The text, unescaped; lines separated by `\n`. Empty for markers.
    label: String,
    shape: Shape,
}

/// What an edge stands for, which decides its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `Next`, a Choice rule, `Default`, or to the end marker: solid.
    Solid,
    /// `Catch`: dashed.
    Catch,
    /// Into a Parallel branch or a Map item processor: bold.
    Enter,
}

struct Edge {
    from: String,
    to: String,
    /// The text, unescaped.
    label: Option<String>,
    style: Style,
}

impl Scope {
    /// The whole machine, with its start marker.
    fn top(machine: &StateMachine) -> Scope {
        let mut scope = Scope::of(machine, TOP.to_owned(), None);
        let marker = format!("{TOP}_start");
        if let Some(first) = &scope.start {
            scope
                .edges
                .insert(0, Edge::new(&marker, first, None, Style::Solid));
        }
        scope.nodes.insert(0, Node::marker(marker, Shape::Start));
        scope
    }

    /// The scope of `machine`, its states numbered in definition order.
    fn of(machine: &StateMachine, id: String, title: Option<String>) -> Scope {
        let targets = Targets {
            ids: machine
                .states
                .keys()
                .enumerate()
                .map(|(k, name)| (name.as_str(), state_id(&id, k)))
                .collect(),
            end: format!("{id}_end"),
        };
        let mut scope = Scope {
            start: targets.state(&machine.start_at),
            id,
            title,
            nodes: Vec::new(),
            clusters: Vec::new(),
            edges: Vec::new(),
        };
        for (name, state) in &machine.states {
            let from = &targets.ids[name.as_str()];
            scope.nodes.push(Node {
                id: from.clone(),
                label: format!("{name}\n{}", state.kind.type_name()),
                shape: Shape::of(&state.kind),
            });
            scope.add_clusters(name, &state.kind, from);
            scope.add_edges(&state.kind, from, &targets);
        }
        if scope.edges.iter().any(|edge| edge.to == targets.end) {
            scope.nodes.push(Node::marker(targets.end, Shape::End));
        }
        scope
    }

    /// The clusters of a Parallel state's branches or a Map state's item processor.
    fn add_clusters(&mut self, name: &str, kind: &StateKind, from: &str) {
        match kind {
            StateKind::Parallel(parallel) => {
                for (j, branch) in parallel.branches.iter().enumerate() {
                    let title = format!("{name}: branch {}", j + 1);
                    let label = format!("branch {}", j + 1);
                    self.enter(branch, format!("{from}_b{j}"), title, from, label);
                }
            }
            StateKind::Map(map) => {
                let title = format!("{name}: item processor");
                let label = "each item".to_owned();
                self.enter(&map.processor, format!("{from}_m"), title, from, label);
            }
            _ => {}
        }
    }

    /// The edges out of a state: Choice rules and `Default`, `Next` or to the end marker
    /// (`End`, Succeed), `Catch`.
    fn add_edges(&mut self, kind: &StateKind, from: &str, targets: &Targets) {
        let mut edges = Vec::new();
        if let StateKind::Choice(choice) = kind {
            for rule in &choice.choices {
                let label = shorten(rule.condition.to_string());
                edges.push((targets.state(&rule.next), Some(label), Style::Solid));
            }
            if let Some(default) = &choice.default {
                edges.push((targets.state(default), Some("default".into()), Style::Solid));
            }
        }
        match (transition(kind), kind) {
            (Some(Transition::Next(next)), _) => {
                edges.push((targets.state(next), None, Style::Solid))
            }
            (Some(Transition::End), _) | (None, StateKind::Succeed(_)) => {
                edges.push((Some(targets.end.clone()), None, Style::Solid));
            }
            (None, _) => {}
        }
        for catcher in catchers(kind) {
            let label = shorten(catcher.error_equals.join(", "));
            edges.push((targets.state(&catcher.next), Some(label), Style::Catch));
        }
        for (to, label, style) in edges {
            // Every name a state refers to exists (the parser checks it); should one not,
            // the edge is left out rather than drawn to a node that is not there.
            if let Some(to) = to {
                self.edges.push(Edge::new(from, &to, label, style));
            }
        }
    }

    /// Adds `machine` as a nested cluster, entered from `from` by an edge labelled `label`.
    fn enter(
        &mut self,
        machine: &StateMachine,
        cluster_id: String,
        title: String,
        from: &str,
        label: String,
    ) {
        let cluster = Scope::of(machine, cluster_id, Some(title));
        if let Some(first) = &cluster.start {
            self.edges
                .push(Edge::new(from, first, Some(label), Style::Enter));
        }
        self.clusters.push(cluster);
    }
}

/// The drawing language: how to write one node, one edge, and a cluster's start and end.
/// [`Scope::write`] walks the graph and calls these with the lines' indentation.
trait Syntax {
    fn node(&self, out: &mut String, indent: &str, node: &Node);
    fn edge(&self, out: &mut String, indent: &str, edge: &Edge);
    fn open_cluster(&self, out: &mut String, indent: &str, id: &str, title: &str);
    fn close_cluster(&self, out: &mut String, indent: &str);
}

impl Scope {
    /// Writes the scope's nodes, then its clusters, then its edges, indented by `depth`
    /// levels. Edges come after the clusters so that no node is declared first by an edge
    /// (DOT and Mermaid put a node in the cluster where it first appears).
    fn write(&self, syntax: &impl Syntax, out: &mut String, depth: usize) {
        let indent = "    ".repeat(depth);
        for node in &self.nodes {
            syntax.node(out, &indent, node);
        }
        for cluster in &self.clusters {
            let title = cluster.title.as_deref().unwrap_or_default();
            syntax.open_cluster(out, &indent, &cluster.id, title);
            cluster.write(syntax, out, depth + 1);
            syntax.close_cluster(out, &indent);
        }
        for edge in &self.edges {
            syntax.edge(out, &indent, edge);
        }
    }
}

/// The node ids a scope's edges can point at.
struct Targets<'a> {
    /// By state name.
    ids: HashMap<&'a str, String>,
    /// The scope's end marker.
    end: String,
}

impl Targets<'_> {
    fn state(&self, name: &str) -> Option<String> {
        self.ids.get(name).cloned()
    }
}

impl Node {
    fn marker(id: String, shape: Shape) -> Node {
        Node {
            id,
            label: String::new(),
            shape,
        }
    }
}

impl Edge {
    fn new(from: &str, to: &str, label: Option<String>, style: Style) -> Edge {
        Edge {
            from: from.to_owned(),
            to: to.to_owned(),
            label,
            style,
        }
    }
}

impl Shape {
    fn of(kind: &StateKind) -> Shape {
        match kind {
            StateKind::Pass(_) => Shape::Pass,
            StateKind::Task(_) => Shape::Task,
            StateKind::Choice(_) => Shape::Choice,
            StateKind::Wait(_) => Shape::Wait,
            StateKind::Succeed(_) => Shape::Succeed,
            StateKind::Fail(_) => Shape::Fail,
            StateKind::Parallel(_) => Shape::Parallel,
            StateKind::Map(_) => Shape::Map,
        }
    }
}

/// The id of a scope's state number `k` (from 0): `s2` at the top, `s3_b0_s2` in the first
/// branch of `s3`.
fn state_id(scope_id: &str, k: usize) -> String {
    if scope_id == TOP {
        format!("s{k}")
    } else {
        format!("{scope_id}_s{k}")
    }
}

/// A state's `Next`/`End`, for the types that have one.
fn transition(kind: &StateKind) -> Option<&Transition> {
    match kind {
        StateKind::Pass(state) => Some(&state.transition),
        StateKind::Task(state) => Some(&state.transition),
        StateKind::Wait(state) => Some(&state.transition),
        StateKind::Parallel(state) => Some(&state.transition),
        StateKind::Map(state) => Some(&state.transition),
        StateKind::Choice(_) | StateKind::Succeed(_) | StateKind::Fail(_) => None,
    }
}

/// A state's `Catch`, for the types that have one.
fn catchers(kind: &StateKind) -> &[Catcher] {
    match kind {
        StateKind::Task(state) => &state.result.catch,
        StateKind::Parallel(state) => &state.result.catch,
        StateKind::Map(state) => &state.result.catch,
        _ => &[],
    }
}

/// `text`, cut to [`MAX_LABEL_CHARS`] characters (and trailing spaces) with a trailing `…`
/// when it is longer.
fn shorten(text: String) -> String {
    match text.char_indices().nth(MAX_LABEL_CHARS) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text,
    }
}
