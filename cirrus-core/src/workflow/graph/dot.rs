//! Graphviz DOT: `dot -Tsvg machine.dot > machine.svg`.

use super::{Edge, Node, Scope, Shape, Style, Syntax};
use crate::workflow::model::StateMachine;
use std::fmt::Write;

/// The state machine as a Graphviz `digraph` (see the [module](super) documentation for what
/// is drawn).
pub fn to_dot(machine: &StateMachine) -> String {
    let mut out = String::from(
        "digraph state_machine {\n    \
         fontname=\"Helvetica\";\n    \
         node [fontname=\"Helvetica\", fontsize=11];\n    \
         edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    Scope::top(machine).write(&Dot, &mut out, 1);
    out.push_str("}\n");
    out
}

struct Dot;

impl Syntax for Dot {
    fn node(&self, out: &mut String, indent: &str, node: &Node) {
        let attributes = match node.shape {
            Shape::Start => "shape=circle, style=filled, fillcolor=black, width=0.2",
            Shape::End => "shape=doublecircle, style=filled, fillcolor=black, width=0.15",
            Shape::Pass => "shape=box, style=rounded",
            Shape::Task => "shape=box",
            Shape::Choice => "shape=diamond",
            Shape::Wait => "shape=hexagon",
            Shape::Succeed => "shape=box, style=rounded, peripheries=2",
            Shape::Fail => "shape=octagon, peripheries=2",
            Shape::Parallel => "shape=parallelogram",
            Shape::Map => "shape=box3d",
        };
        let label = Quoted(&node.label);
        writeln!(out, "{indent}{} [label={label}, {attributes}];", node.id)
            .expect("writing to a String cannot fail");
    }

    fn edge(&self, out: &mut String, indent: &str, edge: &Edge) {
        let mut attributes = Vec::new();
        if let Some(label) = &edge.label {
            attributes.push(format!("label={}", Quoted(label)));
        }
        match edge.style {
            Style::Solid => {}
            Style::Catch => attributes.push("style=dashed".into()),
            Style::Enter => attributes.push("style=bold".into()),
        }
        write!(out, "{indent}{} -> {}", edge.from, edge.to)
            .expect("writing to a String cannot fail");
        if !attributes.is_empty() {
            write!(out, " [{}]", attributes.join(", ")).expect("writing to a String cannot fail");
        }
        out.push_str(";\n");
    }

    fn open_cluster(&self, out: &mut String, indent: &str, id: &str, title: &str) {
        let title = Quoted(title);
        writeln!(
            out,
            "{indent}subgraph cluster_{id} {{\n{indent}    label={title};\n{indent}    style=rounded;"
        )
        .expect("writing to a String cannot fail");
    }

    fn close_cluster(&self, out: &mut String, indent: &str) {
        writeln!(out, "{indent}}}").expect("writing to a String cannot fail");
    }
}

/// A DOT double-quoted string: `"` and `\` escaped, a line break as `\n` (centred), other
/// control characters as spaces.
struct Quoted<'a>(&'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c if c.is_control() => f.write_char(' ')?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}
