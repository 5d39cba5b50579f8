//! The transitions of one state machine: every target names a state of the same machine,
//! every state can be reached from `StartAt`, and from every state an end can be reached.
//!
//! Both walks are breadth-first with an explicit queue, linear in states plus transitions.

use super::Ctx;
use std::collections::{HashMap, VecDeque};

/// Where a state can go next, as far as its definition could be read.
#[derive(Debug, Default)]
pub(super) struct Links {
    /// `Next`, `Default`, each Choice rule's `Next` and each catcher's `Next`.
    pub edges: Vec<Edge>,
    /// Whether the state can end its machine: `"End": true`, Succeed and Fail. A state whose
    /// type or transition could not be read counts as one too, so that one problem does not
    /// cause a cascade of "no end can be reached" problems.
    pub ends: bool,
}

/// One transition.
#[derive(Debug)]
pub(super) struct Edge {
    /// The state it names.
    pub target: String,
    /// The path of the member that names it.
    pub path: String,
}

impl Links {
    /// Adds a transition to `target`, named by the member at `path`.
    pub fn add(&mut self, target: &str, path: String) {
        self.edges.push(Edge {
            target: target.to_owned(),
            path,
        });
    }
}

/// One state of the machine being checked.
#[derive(Debug)]
pub(super) struct Node<'a> {
    /// The state's name.
    pub name: &'a str,
    /// The state's path.
    pub path: String,
    /// Its transitions.
    pub links: Links,
}

/// Checks the transitions of the machine made of `nodes` (in definition order), whose
/// `StartAt` is `start_at` (with the path of that member) when it could be read. `scope`
/// names the machine in messages ("branch", …).
pub(super) fn check(start_at: Option<(&str, String)>, nodes: &[Node], scope: &str, ctx: &mut Ctx) {
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (node.name, i))
        .collect();
    let resolve = |target: &str, path: &str, ctx: &mut Ctx| {
        let found = index.get(target).copied();
        if found.is_none() {
            ctx.problem(
                path,
                format!("there is no state {target:?} in this {scope}"),
            );
        }
        found
    };

    // Resolved transitions, forwards and backwards.
    // A state with a transition that names no state counts as an end: its problem is
    // reported once, not again as an endless loop.
    let mut forward: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut backward: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut ends: Vec<bool> = nodes.iter().map(|node| node.links.ends).collect();
    for (from, node) in nodes.iter().enumerate() {
        for edge in &node.links.edges {
            match resolve(&edge.target, &edge.path, ctx) {
                Some(to) => {
                    forward[from].push(to);
                    backward[to].push(from);
                }
                None => ends[from] = true,
            }
        }
    }
    let Some((start_name, start_path)) = start_at else {
        return;
    };
    let Some(start) = resolve(start_name, &start_path, ctx) else {
        return;
    };

    let reachable = walk([start], &forward);
    let ends = ends
        .iter()
        .enumerate()
        .filter(|(_, end)| **end)
        .map(|(i, _)| i);
    let can_end = walk(ends, &backward);
    for (i, node) in nodes.iter().enumerate() {
        if !reachable[i] {
            ctx.problem(
                &node.path,
                format!("the state cannot be reached from `StartAt` ({start_name:?})"),
            );
        } else if !can_end[i] {
            ctx.problem(
                &node.path,
                "no `End`, Succeed or Fail state can be reached from this state (an endless loop)",
            );
        }
    }
}

/// Which states the walk from `starts` along `edges` visits.
fn walk(starts: impl IntoIterator<Item = usize>, edges: &[Vec<usize>]) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut queue = VecDeque::new();
    for start in starts {
        if !seen[start] {
            seen[start] = true;
            queue.push_back(start);
        }
    }
    while let Some(i) = queue.pop_front() {
        for &j in &edges[i] {
            if !seen[j] {
                seen[j] = true;
                queue.push_back(j);
            }
        }
    }
    seen
}
