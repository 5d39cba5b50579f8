//! Unit tests of what holds expressions: Choice rules, templates, intrinsic calls and the
//! context object.

use super::{one_state, parse, problems, with_end};
use crate::workflow::choice::{Comparison, Condition, Operand, Test};
use crate::workflow::model::{StateKind, Template, TemplateValue, Text};
use serde_json::{Value, json};

#[test]
fn choice_rules() {
    let machine = parse(json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Default": "D", "Choices": [
                {"And": [
                    {"Variable": "$.a", "StringEquals": "x"},
                    {"Not": {"Variable": "$.b", "NumericGreaterThanPath": "$.c"}}
                ], "Next": "D"},
                {"Variable": "$.t", "IsTimestamp": true, "Next": "D", "Comment": "ok"}
            ]},
            "D": {"Type": "Succeed"}
        }
    }));
    let StateKind::Choice(choice) = &machine.states["C"].kind else {
        panic!("not a Choice");
    };
    assert_eq!(choice.default.as_deref(), Some("D"));
    let Condition::And(rules) = &choice.choices[0].condition else {
        panic!("not an And");
    };
    assert!(
        matches!(&rules[0], Condition::Test { variable, test: Test::Compare {
        op: Comparison::StringEquals, operand: Operand::Literal(Value::String(s)) } }
        if variable.as_str() == "$.a" && s == "x")
    );
    assert!(
        matches!(&rules[1], Condition::Not(inner) if matches!(**inner, Condition::Test {
        test: Test::Compare { op: Comparison::NumericGreaterThan, operand: Operand::Path(_) }, .. }))
    );
    assert!(matches!(
        choice.choices[1].condition,
        Condition::Test {
            test: Test::IsTimestamp(true),
            ..
        }
    ));

    assert_eq!(
        problems(with_end(json!({"Type": "Choice", "Choices": [
            {"Variable": "$.a", "Next": "B"},
            {"Variable": "$.a", "StringEquals": 1, "NumericEquals": 1, "Next": "B"},
            {"And": [], "Next": "B"},
            {"Or": [{"Variable": "$.a", "IsNull": "yes", "Next": "B"}], "Variable": "$.a", "Next": "B"},
            {"Not": {"Variable": "$.a", "TimestampEquals": "yesterday"}},
            {"Variable": "a", "BooleanEquals": true, "Next": "B"}
        ]}))),
        [
            "$.States.A.Choices[0]: a Choice rule needs a comparison operator (with `Variable`), \
             or `And`, `Or` or `Not`",
            "$.States.A.Choices[1].NumericEquals: a Choice rule has exactly one comparison \
             operator, and this one has `StringEquals`",
            "$.States.A.Choices[1].StringEquals: must be a string, got 1",
            "$.States.A.Choices[2].And: must not be empty",
            "$.States.A.Choices[3].Variable: cannot be used together with `Or`",
            "$.States.A.Choices[3].Or[0].Next: only a top-level Choice rule has `Next`",
            "$.States.A.Choices[3].Or[0].IsNull: must be a boolean, got \"yes\"",
            "$.States.A.Choices[4].Next: is required",
            "$.States.A.Choices[4].Not.TimestampEquals: must be an RFC 3339 timestamp such as \
             \"2016-03-14T01:59:00Z\", got \"yesterday\"",
            "$.States.A.Choices[5].Variable: invalid path \"a\": at character 0: a path starts \
             with '$'",
        ]
    );
    assert_eq!(
        problems(one_state(
            json!({"Type": "Choice", "Choices": [], "Next": "A"})
        )),
        [
            "$.States.A.Next: a Choice state has no `Next` or `End`: its rules and `Default` \
             choose the next state",
            "$.States.A.Choices: must not be empty",
        ]
    );
}

#[test]
fn templates() {
    let machine = parse(one_state(json!({
        "Type": "Pass",
        "Parameters": {
            "static": {"a": [1, 2]},
            "input.$": "$.x",
            "nested": {"list": [1, {"ctx.$": "$$.Execution.Id"}]}
        },
        "End": true
    })));
    let state = &machine.states["A"];
    assert!(state.uses_context);
    let StateKind::Pass(pass) = &state.kind else {
        panic!("not a Pass");
    };
    let Some(Template::Object(members)) = &pass.parameters else {
        panic!("not a dynamic object: {:?}", pass.parameters);
    };
    let names: Vec<&str> = members.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["static", "input", "nested"]);
    assert!(matches!(&members[0].1,
        TemplateValue::Template(Template::Literal(v)) if *v == json!({"a": [1, 2]})));
    assert!(matches!(&members[1].1, TemplateValue::Path(p) if p.as_str() == "$.x"));
    let TemplateValue::Template(Template::Object(nested)) = &members[2].1 else {
        panic!("nested is not dynamic");
    };
    let TemplateValue::Template(Template::Array(list)) = &nested[0].1 else {
        panic!("list is not dynamic");
    };
    assert!(matches!(&list[0], Template::Literal(v) if *v == json!(1)));
    assert!(matches!(&list[1], Template::Object(_)));

    let machine = parse(one_state(
        json!({"Type": "Pass", "Parameters": [1, "$.x"], "End": true}),
    ));
    let StateKind::Pass(pass) = &machine.states["A"].kind else {
        panic!("not a Pass");
    };
    assert!(matches!(&pass.parameters, Some(Template::Literal(v)) if *v == json!([1, "$.x"])));
    assert!(!machine.states["A"].uses_context);

    let bad_path = "$..[?(";
    let path_error = crate::workflow::path::Path::parse(bad_path).expect_err("the path is invalid");
    assert_eq!(
        problems(one_state(json!({
            "Type": "Task", "Resource": "x", "End": true,
            "Parameters": {"a": 1, "a.$": "$.a", "b": [{"c.$": 5}], "d.$": bad_path},
            "ResultSelector": [1]
        }))),
        [
            "$.States.A.Parameters['a.$']: the member \"a\" is defined twice (once with `.$`)"
                .to_string(),
            "$.States.A.Parameters.b[0]['c.$']: must be a string (a path or an intrinsic \
             function call: the name ends in `.$`), got 5"
                .to_string(),
            format!("$.States.A.Parameters['d.$']: invalid path {bad_path:?}: {path_error}"),
            "$.States.A.ResultSelector: must be an object, got an array".to_string(),
        ]
    );
}

#[test]
fn uses_context_is_per_state() {
    let machine = parse(json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Next": "M", "Branches": [{
                "StartAt": "Inner",
                "States": {"Inner": {"Type": "Pass", "InputPath": "$$.Execution.Input", "End": true}}
            }]},
            "M": {"Type": "Map", "Next": "C",
                  "ItemSelector": {"value.$": "$$.Map.Item.Value"},
                  "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Succeed"}}}},
            "C": {"Type": "Choice", "Default": "F", "Choices": [
                {"Not": {"Variable": "$$.State.Name", "StringEquals": "x"}, "Next": "F"}
            ]},
            "F": {"Type": "Fail", "CausePath": "States.Format('{}', $$.Execution.Id)"}
        }
    }));
    let uses = |name: &str| machine.states[name].uses_context;
    assert!(
        !uses("P"),
        "a branch's use of `$$` is not its Parallel state's"
    );
    let StateKind::Parallel(parallel) = &machine.states["P"].kind else {
        panic!("not a Parallel");
    };
    let branch = &parallel.branches[0];
    assert!(branch.states["Inner"].uses_context);
    assert_eq!(
        (branch.timeout_seconds, branch.version.as_deref()),
        (None, None)
    );
    assert!(uses("M") && uses("C") && uses("F"));
    let StateKind::Fail(fail) = &machine.states["F"].kind else {
        panic!("not a Fail");
    };
    assert!(matches!(fail.cause, Some(Text::Intrinsic(_))));
}

#[test]
fn intrinsic_problems_name_the_member() {
    let problems = problems(one_state(json!({
        "Type": "Pass", "End": true, "Parameters": {"x.$": "States.Format("}
    })));
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with(
            "$.States.A.Parameters['x.$']: invalid intrinsic function \"States.Format(\": "
        ),
        "{}",
        problems[0]
    );
}
