//! Feeds arbitrary bytes to the ASL parsers of `cirrus-core`: whole definitions
//! (`StateMachine::from_json`), paths (`Path::parse`, `ReferencePath::parse`) and intrinsic
//! function calls (`Intrinsic::parse`).
//!
//! Any panic is a bug. Beyond "does not panic", the target checks:
//!
//! - an invalid definition lists at least one problem, each at a JSON path (`$…`) and with a
//!   message; the same value given to `from_value` gives the same answer;
//! - in an accepted definition, `StartAt` and every transition name a state of the same
//!   machine (nested machines included), and no two states share a name;
//! - a parsed path or call keeps its text, and evaluating it on a small document does not
//!   panic.

#![no_main]

use cirrus_core::Error;
use cirrus_core::workflow::StateMachine;
use cirrus_core::workflow::intrinsic::Intrinsic;
use cirrus_core::workflow::model::{StateKind, Transition};
use cirrus_core::workflow::path::{Path, ReferencePath};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::LazyLock;

/// The state input that fuzzed paths and calls are evaluated on.
static INPUT: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "a": {"b": [1, 2.5, "three", null, true, {"c": "d"}]},
        "items": [{"name": "x", "size": 3}, {"name": "y", "size": 7}],
        "text": "It's {}",
        "n": 42,
        "odd key": {"é": []}
    })
});

/// The context object for `$$` paths.
static CONTEXT: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:m:e", "Input": {}},
        "State": {"Name": "S", "RetryCount": 0},
        "Map": {"Item": {"Index": 1, "Value": {"k": "v"}}}
    })
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    fuzz_definition(text);
    fuzz_expressions(text);
});

/// A whole definition.
fn fuzz_definition(text: &str) {
    let result = StateMachine::from_json(text);
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        let again = StateMachine::from_value(&value);
        match (&result, &again) {
            (Ok(_), Ok(_)) => {}
            (Err(Error::InvalidWorkflow(a)), Err(Error::InvalidWorkflow(b))) => assert_eq!(a, b),
            _ => panic!("from_json and from_value disagree: {result:?} / {again:?}"),
        }
    }
    match result {
        Ok(machine) => check_machine(&machine),
        Err(Error::InvalidWorkflow(problems)) => {
            assert!(!problems.is_empty(), "rejected without a problem");
            for problem in &problems {
                assert!(problem.path.starts_with('$'), "{problem}");
                assert!(!problem.message.is_empty(), "{problem:?}");
            }
        }
        Err(other) => panic!("not an InvalidWorkflow error: {other}"),
    }
}

/// The invariants of an accepted definition, checked without recursion.
fn check_machine(machine: &StateMachine) {
    let mut names = HashSet::new();
    let mut stack = vec![machine];
    while let Some(machine) = stack.pop() {
        assert!(machine.states.contains_key(&machine.start_at));
        for (name, state) in &machine.states {
            assert!(names.insert(name.clone()), "two states are named {name:?}");
            let mut targets: Vec<&str> = Vec::new();
            let transition = match &state.kind {
                StateKind::Pass(s) => Some(&s.transition),
                StateKind::Task(s) => {
                    targets.extend(s.result.catch.iter().map(|c| c.next.as_str()));
                    Some(&s.transition)
                }
                StateKind::Wait(s) => Some(&s.transition),
                StateKind::Parallel(s) => {
                    targets.extend(s.result.catch.iter().map(|c| c.next.as_str()));
                    stack.extend(s.branches.iter().map(|b| &**b));
                    Some(&s.transition)
                }
                StateKind::Map(s) => {
                    targets.extend(s.result.catch.iter().map(|c| c.next.as_str()));
                    stack.push(&s.processor);
                    Some(&s.transition)
                }
                StateKind::Choice(s) => {
                    assert!(!s.choices.is_empty());
                    targets.extend(s.choices.iter().map(|rule| rule.next.as_str()));
                    targets.extend(s.default.as_deref());
                    None
                }
                StateKind::Succeed(_) | StateKind::Fail(_) => None,
            };
            if let Some(Transition::Next(next)) = transition {
                targets.push(next);
            }
            for target in targets {
                assert!(
                    machine.states.contains_key(target),
                    "{target:?} is not a state"
                );
            }
        }
    }
}

/// Paths and intrinsic calls.
fn fuzz_expressions(text: &str) {
    if let Ok(path) = Path::parse(text) {
        assert_eq!(path.as_str(), text);
        let selected = path.select(&INPUT, &CONTEXT);
        if !path.is_definite() {
            assert!(
                selected.as_deref().is_some_and(Value::is_array),
                "an indefinite path selects an array: {selected:?}"
            );
        }
    }
    if let Ok(path) = ReferencePath::parse(text) {
        assert_eq!(path.as_str(), text);
        let _ = path.apply(INPUT.clone(), json!("result"));
    }
    if let Ok(call) = Intrinsic::parse(text) {
        let _ = call.uses_context();
        let _ = call.evaluate(&INPUT, &CONTEXT);
    }
}
