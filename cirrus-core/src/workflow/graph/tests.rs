//! Golden drawings of small machines, escaping, nested clusters, and (when Graphviz is
//! installed) that `dot` renders the output.

mod corpus;
mod machines;

use super::{to_dot, to_mermaid};
use crate::workflow::choice::{Condition, Test};
use crate::workflow::model::StateMachine;
use machines::*;
use std::io::Write;
use std::process::{Command, Stdio};

/// Every shape and edge kind once.
fn small() -> StateMachine {
    machine(
        "Check",
        vec![
            (
                "Check",
                choice(
                    vec![
                        (string_equals("$.x", "a"), "Work"),
                        (condition("$.y", Test::IsPresent(true)), "Pause"),
                    ],
                    Some("Oops"),
                ),
            ),
            (
                "Work",
                task(Some("Done"), vec![catch(&["States.ALL"], "Oops")]),
            ),
            ("Pause", wait(Some("Copy"))),
            ("Copy", pass(None)),
            ("Done", succeed()),
            ("Oops", fail()),
        ],
    )
}

#[test]
fn dot_golden() {
    let expected = r#"digraph state_machine {
    fontname="Helvetica";
    node [fontname="Helvetica", fontsize=11];
    edge [fontname="Helvetica", fontsize=9];
    top_start [label="", shape=circle, style=filled, fillcolor=black, width=0.2];
    s0 [label="Check\nChoice", shape=diamond];
    s1 [label="Work\nTask", shape=box];
    s2 [label="Pause\nWait", shape=hexagon];
    s3 [label="Copy\nPass", shape=box, style=rounded];
    s4 [label="Done\nSucceed", shape=box, style=rounded, peripheries=2];
    s5 [label="Oops\nFail", shape=octagon, peripheries=2];
    top_end [label="", shape=doublecircle, style=filled, fillcolor=black, width=0.15];
    top_start -> s0;
    s0 -> s1 [label="$.x == \"a\""];
    s0 -> s2 [label="IsPresent($.y)"];
    s0 -> s5 [label="default"];
    s1 -> s4;
    s1 -> s5 [label="States.ALL", style=dashed];
    s2 -> s3;
    s3 -> top_end;
    s4 -> top_end;
}
"#;
    let dot = to_dot(&small());
    assert_eq!(dot, expected);
    renders_with_graphviz(&dot);
}

#[test]
fn mermaid_golden() {
    let expected = r#"flowchart TD
    top_start(("start"))
    s0{"Check<br/>Choice"}
    s1["Work<br/>Task"]
    s2{{"Pause<br/>Wait"}}
    s3("Copy<br/>Pass")
    s4(["Done<br/>Succeed"])
    s5>"Oops<br/>Fail"]
    top_end((("end")))
    top_start --> s0
    s0 -->|"$.x == #34;a#34;"| s1
    s0 -->|"IsPresent($.y)"| s2
    s0 -->|"default"| s5
    s1 --> s4
    s1 -.->|"States.ALL"| s5
    s2 --> s3
    s3 --> top_end
    s4 --> top_end
"#;
    assert_eq!(to_mermaid(&small()), expected);
}

/// A Parallel state with two branches, one of them holding a Map state, caught by a state
/// outside.
fn nested() -> StateMachine {
    let item = machine("Each", vec![("Each", pass(None))]);
    let left = machine("Left", vec![("Left", pass(None))]);
    let right = machine(
        "Items",
        vec![
            ("Items", map(item, Some("After"), Vec::new())),
            ("After", succeed()),
        ],
    );
    machine(
        "Fan",
        vec![
            ("Fan", parallel(vec![left, right], None)),
            ("Unused", pass(None)),
        ],
    )
}

#[test]
fn dot_nested_clusters() {
    let expected = r#"digraph state_machine {
    fontname="Helvetica";
    node [fontname="Helvetica", fontsize=11];
    edge [fontname="Helvetica", fontsize=9];
    top_start [label="", shape=circle, style=filled, fillcolor=black, width=0.2];
    s0 [label="Fan\nParallel", shape=parallelogram];
    s1 [label="Unused\nPass", shape=box, style=rounded];
    top_end [label="", shape=doublecircle, style=filled, fillcolor=black, width=0.15];
    subgraph cluster_s0_b0 {
        label="Fan: branch 1";
        style=rounded;
        s0_b0_s0 [label="Left\nPass", shape=box, style=rounded];
        s0_b0_end [label="", shape=doublecircle, style=filled, fillcolor=black, width=0.15];
        s0_b0_s0 -> s0_b0_end;
    }
    subgraph cluster_s0_b1 {
        label="Fan: branch 2";
        style=rounded;
        s0_b1_s0 [label="Items\nMap", shape=box3d];
        s0_b1_s1 [label="After\nSucceed", shape=box, style=rounded, peripheries=2];
        s0_b1_end [label="", shape=doublecircle, style=filled, fillcolor=black, width=0.15];
        subgraph cluster_s0_b1_s0_m {
            label="Items: item processor";
            style=rounded;
            s0_b1_s0_m_s0 [label="Each\nPass", shape=box, style=rounded];
            s0_b1_s0_m_end [label="", shape=doublecircle, style=filled, fillcolor=black, width=0.15];
            s0_b1_s0_m_s0 -> s0_b1_s0_m_end;
        }
        s0_b1_s0 -> s0_b1_s0_m_s0 [label="each item", style=bold];
        s0_b1_s0 -> s0_b1_s1;
        s0_b1_s1 -> s0_b1_end;
    }
    top_start -> s0;
    s0 -> s0_b0_s0 [label="branch 1", style=bold];
    s0 -> s0_b1_s0 [label="branch 2", style=bold];
    s0 -> top_end;
    s1 -> top_end;
}
"#;
    let dot = to_dot(&nested());
    assert_eq!(dot, expected);
    renders_with_graphviz(&dot);
}

#[test]
fn mermaid_nested_clusters() {
    let expected = r#"flowchart TD
    top_start(("start"))
    s0[/"Fan<br/>Parallel"/]
    s1("Unused<br/>Pass")
    top_end((("end")))
    subgraph s0_b0 ["Fan: branch 1"]
        s0_b0_s0("Left<br/>Pass")
        s0_b0_end((("end")))
        s0_b0_s0 --> s0_b0_end
    end
    subgraph s0_b1 ["Fan: branch 2"]
        s0_b1_s0[["Items<br/>Map"]]
        s0_b1_s1(["After<br/>Succeed"])
        s0_b1_end((("end")))
        subgraph s0_b1_s0_m ["Items: item processor"]
            s0_b1_s0_m_s0("Each<br/>Pass")
            s0_b1_s0_m_end((("end")))
            s0_b1_s0_m_s0 --> s0_b1_s0_m_end
        end
        s0_b1_s0 ==>|"each item"| s0_b1_s0_m_s0
        s0_b1_s0 --> s0_b1_s1
        s0_b1_s1 --> s0_b1_end
    end
    top_start --> s0
    s0 ==>|"branch 1"| s0_b0_s0
    s0 ==>|"branch 2"| s0_b1_s0
    s0 --> top_end
    s1 --> top_end
"#;
    assert_eq!(to_mermaid(&nested()), expected);
}

/// Names with quotes, backslashes, line breaks, markup and non-ASCII characters.
fn awkward() -> StateMachine {
    let name = "Say \"hi\"\\ <b>#1</b> | `x` & Grüße 🦀\nline";
    machine(
        name,
        vec![
            (
                name,
                task(
                    Some("end"),
                    vec![catch(&["My.Error", "States.Timeout"], "subgraph")],
                ),
            ),
            ("end", pass(None)),
            ("subgraph", fail()),
        ],
    )
}

#[test]
fn dot_escaping() {
    let dot = to_dot(&awkward());
    assert!(
        dot.contains(
            r#"s0 [label="Say \"hi\"\\ <b>#1</b> | `x` & Grüße 🦀\nline\nTask", shape=box];"#
        ),
        "{dot}"
    );
    // Keywords of either language as state names are harmless: ids are generated.
    assert!(dot.contains(r#"s1 [label="end\nPass""#), "{dot}");
    assert!(
        dot.contains(r#"s0 -> s2 [label="My.Error, States.Timeout", style=dashed];"#),
        "{dot}"
    );
    renders_with_graphviz(&dot);
}

#[test]
fn mermaid_escaping() {
    let mermaid = to_mermaid(&awkward());
    let label = "Say #34;hi#34;\\ #60;b#62;#35;1#60;/b#62; #124; #96;x#96; #38; Grüße 🦀<br/>line";
    assert!(
        mermaid.contains(&format!("    s0[\"{label}<br/>Task\"]\n")),
        "{mermaid}"
    );
    assert!(mermaid.contains("    s1(\"end<br/>Pass\")\n"), "{mermaid}");
    assert!(
        mermaid.contains("    s2>\"subgraph<br/>Fail\"]\n"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("    s0 -.->|\"My.Error, States.Timeout\"| s2\n"),
        "{mermaid}"
    );
}

#[test]
fn long_conditions_are_shortened() {
    let long = Condition::And(
        (0..10)
            .map(|i| string_equals(&format!("$.field{i}"), "value"))
            .collect(),
    );
    let machine = machine(
        "Check",
        vec![
            ("Check", choice(vec![(long, "Done")], None)),
            ("Done", succeed()),
        ],
    );
    let dot = to_dot(&machine);
    let label = r#"$.field0 == \"value\" and $.field1 == \"value\" and $.field2 ==…"#;
    assert!(
        dot.contains(&format!("s0 -> s1 [label=\"{label}\"];")),
        "{dot}"
    );
}

#[test]
fn output_is_deterministic() {
    assert_eq!(to_dot(&nested()), to_dot(&nested()));
    assert_eq!(to_mermaid(&small()), to_mermaid(&small()));
}

/// Checks that Graphviz's `dot` renders `source` to SVG, when `dot` is installed. Rendering is
/// an extra check, not the contract, so without `dot` it is skipped with a note.
fn renders_with_graphviz(source: &str) {
    let spawned = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = spawned else {
        eprintln!("note: Graphviz `dot` is not installed; the DOT output was not rendered");
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(source.as_bytes())
        .expect("dot reads its input");
    let output = child.wait_with_output().expect("dot runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "dot failed: {stderr}\n{source}");
    assert!(stderr.trim().is_empty(), "dot warned: {stderr}\n{source}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("<svg"));
}
