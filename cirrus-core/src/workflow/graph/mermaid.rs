//! Mermaid flowcharts: paste into a Markdown ```` ```mermaid ```` block.

use super::{Edge, Node, Scope, Shape, Style, Syntax};
use crate::workflow::model::StateMachine;
use std::fmt::{self, Write};

/// The state machine as a Mermaid `flowchart` (see the [module](super) documentation for what
/// is drawn).
pub fn to_mermaid(machine: &StateMachine) -> String {
    let mut out = String::from("flowchart TD\n");
    Scope::top(machine).write(&Mermaid, &mut out, 1);
    out
}

struct Mermaid;

impl Syntax for Mermaid {
    fn node(&self, out: &mut String, indent: &str, node: &Node) {
        let (open, close) = match node.shape {
            Shape::Start => ("((", "))"),
            Shape::End => ("(((", ")))"),
            Shape::Pass => ("(", ")"),
            Shape::Task => ("[", "]"),
            Shape::Choice => ("{", "}"),
            Shape::Wait => ("{{", "}}"),
            Shape::Succeed => ("([", "])"),
            Shape::Fail => (">", "]"),
            Shape::Parallel => ("[/", "/]"),
            Shape::Map => ("[[", "]]"),
        };
        let label = match node.shape {
            Shape::Start => Quoted("start"),
            Shape::End => Quoted("end"),
            _ => Quoted(&node.label),
        };
        writeln!(out, "{indent}{}{open}{label}{close}", node.id)
            .expect("writing to a String cannot fail");
    }

    fn edge(&self, out: &mut String, indent: &str, edge: &Edge) {
        let arrow = match edge.style {
            Style::Solid => "-->",
            Style::Catch => "-.->",
            Style::Enter => "==>",
        };
        write!(out, "{indent}{} {arrow}", edge.from).expect("writing to a String cannot fail");
        if let Some(label) = &edge.label {
            write!(out, "|{}|", Quoted(label)).expect("writing to a String cannot fail");
        }
        writeln!(out, " {}", edge.to).expect("writing to a String cannot fail");
    }

    fn open_cluster(&self, out: &mut String, indent: &str, id: &str, title: &str) {
        writeln!(out, "{indent}subgraph {id} [{}]", Quoted(title))
            .expect("writing to a String cannot fail");
    }

    fn close_cluster(&self, out: &mut String, indent: &str) {
        writeln!(out, "{indent}end").expect("writing to a String cannot fail");
    }
}

/// A Mermaid double-quoted label. Characters Mermaid or its HTML rendering would read are
/// written as entity codes (`#34;` for `"`, …), a line break as `<br/>`, other control
/// characters as spaces.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' | '#' | '&' | '<' | '>' | '`' | '|' => write!(f, "#{};", u32::from(c))?,
                '\n' => f.write_str("<br/>")?,
                c if c.is_control() => f.write_char(' ')?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}
