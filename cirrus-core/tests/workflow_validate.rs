//! ASL validation: the fixture folders `tests/asl/invalid/` (each a definition and the paths of
//! the problems it must give) and `tests/asl/valid/`, large and deeply nested definitions,
//! and random input.

use cirrus_core::Error;
use cirrus_core::workflow::StateMachine;
use cirrus_core::workflow::model::{State, StateKind, Transition};
use cirrus_core::workflow::parse::MAX_NESTING;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// The `*.json` files of `tests/asl/<folder>`, sorted.
fn fixtures(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/asl")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn invalid_fixtures_give_exactly_their_problems() {
    let mut failures = Vec::new();
    for file in fixtures("invalid") {
        let name = file
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .to_string();
        let fixture: Value = serde_json::from_str(&read(&file)).expect("a fixture is JSON");
        let mut expected: Vec<String> = fixture["problems"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: `problems` is not an array"))
            .iter()
            .map(|p| p.as_str().expect("a problem path is a string").to_owned())
            .collect();
        expected.sort();
        let definition = &fixture["definition"];
        let problems = match StateMachine::from_value(definition) {
            Ok(_) => {
                failures.push(format!("{name}: accepted"));
                continue;
            }
            Err(Error::InvalidWorkflow(problems)) => problems,
            Err(other) => panic!("{name}: not an InvalidWorkflow error: {other}"),
        };
        for problem in &problems {
            assert!(
                !problem.message.is_empty(),
                "{name}: {problem:?} has no message"
            );
        }
        let mut found: Vec<String> = problems.iter().map(|p| p.path.clone()).collect();
        found.sort();
        if found != expected {
            let listed: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
            failures.push(format!(
                "{name}: expected problems at {expected:?}, got\n{}",
                listed.join("\n")
            ));
        }
        // The JSON text gives the same problems.
        let text = serde_json::to_string(definition).expect("a definition serializes");
        match StateMachine::from_json(&text) {
            Err(Error::InvalidWorkflow(again)) => assert_eq!(again, problems, "{name}"),
            other => panic!("{name}: from_json disagrees with from_value: {other:?}"),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_fixtures_parse() {
    for file in fixtures("valid") {
        let machine = StateMachine::from_json(&read(&file))
            .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        check_invariants(&machine);
    }
}

#[test]
fn the_rich_fixture_uses_every_state_type() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/asl/valid/rich.json");
    let machine = StateMachine::from_json(&read(&file)).expect("rich.json is valid");
    let mut types = std::collections::BTreeSet::new();
    let mut stack = vec![&machine];
    while let Some(machine) = stack.pop() {
        for state in machine.states.values() {
            types.insert(state.kind.type_name());
            stack.extend(nested(state));
        }
    }
    let all = [
        "Choice", "Fail", "Map", "Parallel", "Pass", "Succeed", "Task", "Wait",
    ];
    assert_eq!(types.into_iter().collect::<Vec<_>>(), all);
}

/// The machines inside a Parallel or Map state.
fn nested(state: &State) -> Vec<&StateMachine> {
    match &state.kind {
        StateKind::Parallel(parallel) => parallel.branches.iter().map(|b| &**b).collect(),
        StateKind::Map(map) => vec![&*map.processor],
        _ => Vec::new(),
    }
}

/// What every accepted definition guarantees: `StartAt` and every transition name a state
/// of the same machine. Walks the nested machines without recursion.
fn check_invariants(machine: &StateMachine) {
    let mut stack = vec![machine];
    while let Some(machine) = stack.pop() {
        assert!(machine.states.contains_key(&machine.start_at));
        for state in machine.states.values() {
            let mut targets: Vec<&str> = Vec::new();
            let (transition, catchers) = match &state.kind {
                StateKind::Pass(s) => (Some(&s.transition), None),
                StateKind::Task(s) => (Some(&s.transition), Some(&s.result.catch)),
                StateKind::Wait(s) => (Some(&s.transition), None),
                StateKind::Parallel(s) => (Some(&s.transition), Some(&s.result.catch)),
                StateKind::Map(s) => (Some(&s.transition), Some(&s.result.catch)),
                StateKind::Choice(s) => {
                    targets.extend(s.choices.iter().map(|rule| rule.next.as_str()));
                    targets.extend(s.default.as_deref());
                    (None, None)
                }
                StateKind::Succeed(_) | StateKind::Fail(_) => (None, None),
            };
            if let Some(Transition::Next(next)) = transition {
                targets.push(next);
            }
            targets.extend(catchers.into_iter().flatten().map(|c| c.next.as_str()));
            for target in targets {
                assert!(
                    machine.states.contains_key(target),
                    "{target} is not a state"
                );
            }
            stack.extend(nested(state));
        }
    }
}

/// `count` states in a chain, every tenth a Choice that can skip ahead, every state with a
/// catcher to the last one.
fn large_machine(count: usize) -> Value {
    let mut states = Map::new();
    for i in 0..count {
        let next = format!("S{}", i + 1);
        let state = if i + 1 == count {
            json!({"Type": "Succeed"})
        } else if i % 10 == 0 {
            json!({"Type": "Choice", "Default": next, "Choices": [
                {"Variable": "$.skip", "BooleanEquals": true, "Next": format!("S{}", (i + 5).min(count - 1))}
            ]})
        } else {
            json!({"Type": "Task", "Resource": "work", "Next": next,
                   "Parameters": {"i": i, "input.$": "$.input"},
                   "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2}],
                   "Catch": [{"ErrorEquals": ["States.ALL"], "Next": format!("S{}", count - 1)}]})
        };
        states.insert(format!("S{i}"), state);
    }
    json!({"StartAt": "S0", "States": states})
}

#[test]
fn ten_thousand_states_parse() {
    let machine = StateMachine::from_value(&large_machine(10_000)).expect("the machine is valid");
    assert_eq!(machine.states.len(), 10_000);
    check_invariants(&machine);

    // The same machine with a loop that has no way out at its end.
    let mut looping = large_machine(10_000);
    looping["States"]["S9999"] = json!({"Type": "Pass", "Next": "S9998"});
    let Err(Error::InvalidWorkflow(problems)) = StateMachine::from_value(&looping) else {
        panic!("an endless loop was accepted");
    };
    // Every state leads into the loop: all 10,000 are reported.
    assert_eq!(problems.len(), 10_000);
    assert!(problems.iter().all(|p| p.message.contains("endless loop")));
}

/// `depth` Parallel states, each the only state of the branch of the one above. (Built by
/// hand: `json!` would serialize, which copies and recurses, the machine it wraps.)
fn nested_parallels(depth: usize) -> Value {
    let mut machine = json!({"StartAt": "Leaf", "States": {"Leaf": {"Type": "Succeed"}}});
    for level in 0..depth {
        let mut parallel = json!({"Type": "Parallel", "End": true});
        parallel["Branches"] = Value::Array(vec![machine]);
        let name = format!("P{level}");
        let mut states = Map::new();
        states.insert(name.clone(), parallel);
        machine = json!({"StartAt": name});
        machine["States"] = Value::Object(states);
    }
    machine
}

/// Drops a deeply nested value without recursion (serde_json's own drop recurses).
fn drop_deep(value: Value) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

#[test]
fn nesting_is_bounded() {
    let limit = StateMachine::from_value(&nested_parallels(MAX_NESTING));
    assert!(limit.is_ok(), "{MAX_NESTING} levels are allowed: {limit:?}");

    let Err(Error::InvalidWorkflow(problems)) =
        StateMachine::from_value(&nested_parallels(MAX_NESTING + 1))
    else {
        panic!("{} levels were accepted", MAX_NESTING + 1);
    };
    // The outermost state is P40; P0, 40 levels down, is the one whose branch is too deep.
    assert_eq!(problems.len(), 1, "{problems:?}");
    let outermost = format!(
        "$.States.P{MAX_NESTING}.Branches[0].States.P{}",
        MAX_NESTING - 1
    );
    assert!(problems[0].path.starts_with(&outermost), "{}", problems[0]);
    assert!(
        problems[0].path.ends_with(".States.P0.Branches"),
        "{}",
        problems[0]
    );
    assert!(
        problems[0].message.contains("nest at most 40 levels"),
        "{}",
        problems[0]
    );

    // Ten thousand levels: one clean problem, no stack overflow.
    let deep = nested_parallels(10_000);
    let result = StateMachine::from_value(&deep);
    let Err(Error::InvalidWorkflow(problems)) = result else {
        panic!("10,000 levels were accepted");
    };
    assert_eq!(problems.len(), 1);
    // As text, serde_json's recursion limit stops it first.
    let text = {
        let mut text = String::new();
        for level in (0..10_000).rev() {
            text.push_str(&format!(
                r#"{{"StartAt":"P{level}","States":{{"P{level}":{{"Type":"Parallel","End":true,"Branches":["#
            ));
        }
        text.push_str(r#"{"StartAt":"Leaf","States":{"Leaf":{"Type":"Succeed"}}}"#);
        text.push_str(&"]}}}".repeat(10_000));
        text
    };
    let Err(Error::InvalidWorkflow(problems)) = StateMachine::from_json(&text) else {
        panic!("10,000 levels of JSON text were accepted");
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "$");
    drop_deep(deep);
}

/// A Pass state with `Parameters` and `Result` 10,000 levels deep, and a Choice rule 10,000
/// `Not`s deep: each one clean problem, no stack overflow.
#[test]
fn deep_rules_and_templates_are_bounded() {
    let mut template = json!({"leaf.$": "$.x"});
    let mut result = json!(1);
    let mut rule = json!({"Variable": "$.x", "IsNull": true});
    for _ in 0..10_000 {
        let mut object = Map::new();
        object.insert("deeper".into(), template);
        template = Value::Object(object);
        result = Value::Array(vec![result]);
        let mut not = Map::new();
        not.insert("Not".into(), rule);
        rule = Value::Object(not);
    }
    let mut top_rule = rule;
    top_rule["Next"] = json!("End");
    let mut pass = json!({"Type": "Pass", "Next": "Choose"});
    pass["Parameters"] = template;
    pass["Result"] = result;
    let mut choice = json!({"Type": "Choice", "Default": "End"});
    choice["Choices"] = Value::Array(vec![top_rule]);
    let mut states = Map::new();
    states.insert("Deep".into(), pass);
    states.insert("Choose".into(), choice);
    states.insert("End".into(), json!({"Type": "Succeed"}));
    let mut definition = json!({"StartAt": "Deep"});
    definition["States"] = Value::Object(states);

    let Err(Error::InvalidWorkflow(problems)) = StateMachine::from_value(&definition) else {
        panic!("10,000 levels were accepted");
    };
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    let expected = [
        "a template may nest at most 128 levels deep",
        "may nest at most 128 levels deep",
        "Choice rules may nest at most 128 levels deep",
    ];
    assert_eq!(messages, expected);
    let deep_parameters = "$.States.Deep.Parameters.deeper.deeper";
    assert!(problems[0].path.starts_with(deep_parameters));
    assert_eq!(problems[1].path, "$.States.Deep.Result");
    assert!(
        problems[2]
            .path
            .starts_with("$.States.Choose.Choices[0].Not.Not")
    );
    drop_deep(definition);
}

/// Words and values definitions are made of, so that random input gets past the first checks.
fn asl_value() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "StartAt",
        "States",
        "Type",
        "Next",
        "End",
        "Pass",
        "Task",
        "Choice",
        "Wait",
        "Succeed",
        "Fail",
        "Parallel",
        "Map",
        "Resource",
        "Branches",
        "Choices",
        "Default",
        "Variable",
        "StringEquals",
        "NumericLessThanPath",
        "IsPresent",
        "And",
        "Or",
        "Not",
        "Retry",
        "Catch",
        "ErrorEquals",
        "Parameters",
        "a.$",
        "ResultPath",
        "InputPath",
        "ItemProcessor",
        "Iterator",
        "Seconds",
        "Timestamp",
        "A",
        "B",
        "Error",
        "CausePath",
        "ProcessorConfig",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![
            "A",
            "B",
            "Pass",
            "Task",
            "Choice",
            "Succeed",
            "Fail",
            "Parallel",
            "Map",
            "Wait",
            "$",
            "$.a",
            "$$.Execution.Id",
            "$.a[*]",
            "$..b",
            "States.ALL",
            "States.Format('{}', $.a)",
            "States.Array(",
            "2016-03-14T01:59:00Z",
            "",
            "1.0",
        ])
        .prop_map(Value::from),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #[test]
    fn random_text_never_panics(text in ".*") {
        let _ = StateMachine::from_json(&text);
    }

    #[test]
    fn random_definitions_never_panic(value in asl_value()) {
        match StateMachine::from_value(&value) {
            Ok(machine) => check_invariants(&machine),
            Err(Error::InvalidWorkflow(problems)) => prop_assert!(!problems.is_empty()),
            Err(other) => prop_assert!(false, "not an InvalidWorkflow error: {}", other),
        }
    }
}
