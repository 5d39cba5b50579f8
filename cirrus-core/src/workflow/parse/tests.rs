//! Unit tests of the parser: the model it builds and the exact problems it reports. The
//! fixture folders (`tests/asl/`) cover many more invalid definitions by path only.

use crate::Error;
use crate::workflow::model::{
    Amount, Jitter, StateKind, StateMachine, Template, Text, Transition, WaitFor,
};
use serde_json::{Value, json};

mod expressions;

/// The problems of an invalid definition, as `path: message`.
fn problems(definition: Value) -> Vec<String> {
    match StateMachine::from_value(&definition) {
        Ok(_) => panic!("the definition is valid: {definition:#}"),
        Err(Error::InvalidWorkflow(problems)) => problems.iter().map(|p| p.to_string()).collect(),
        Err(other) => panic!("not an InvalidWorkflow error: {other}"),
    }
}

/// A machine whose only state is `state`, named `A`.
fn one_state(state: Value) -> Value {
    json!({"StartAt": "A", "States": {"A": state}})
}

/// A machine whose first state is `state`, named `A`, followed by a Succeed state `B`.
fn with_end(state: Value) -> Value {
    json!({"StartAt": "A", "States": {"A": state, "B": {"Type": "Succeed"}}})
}

fn parse(definition: Value) -> StateMachine {
    StateMachine::from_value(&definition).unwrap_or_else(|err| panic!("{err}"))
}

#[test]
fn a_minimal_machine() {
    let machine = parse(json!({
        "Comment": "hi",
        "StartAt": "A",
        "TimeoutSeconds": 60,
        "Version": "1.0",
        "States": {"A": {"Type": "Succeed"}}
    }));
    assert_eq!(machine.comment.as_deref(), Some("hi"));
    assert_eq!(machine.start_at, "A");
    assert_eq!(machine.timeout_seconds, Some(60));
    assert_eq!(machine.version.as_deref(), Some("1.0"));
    assert!(matches!(machine.states["A"].kind, StateKind::Succeed(_)));
}

#[test]
fn top_level_problems_are_all_reported() {
    assert_eq!(
        problems(json!({
            "StartAt": 3,
            "States": {},
            "TimeoutSeconds": 0,
            "Version": "2.0",
            "QueryLanguage": "JSONata",
            "Extra": true
        })),
        [
            "$.Extra: field is not supported",
            "$.StartAt: must be a string, got 3",
            "$.TimeoutSeconds: must be an integer from 1 to 99999999, got 0",
            "$.Version: must be one of \"1.0\", got \"2.0\"",
            "$.QueryLanguage: JSONata is not supported by the local engine",
            "$.States: must have at least one state",
        ]
    );
    assert_eq!(problems(json!([])), ["$: must be an object, got an array"]);
    assert_eq!(
        problems(json!({})),
        ["$.StartAt: is required", "$.States: is required"]
    );
}

#[test]
fn malformed_json_is_one_problem_with_its_position() {
    let Err(Error::InvalidWorkflow(problems)) = StateMachine::from_json("{\n  \"StartAt\": ")
    else {
        panic!("malformed JSON was accepted");
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "$");
    assert!(
        problems[0].message.contains("line 2 column"),
        "{}",
        problems[0].message
    );
}

#[test]
fn state_types_and_members() {
    assert_eq!(
        problems(one_state(json!({"Type": "Sleep", "End": true}))),
        [
            "$.States.A.Type: must be one of \"Pass\", \"Task\", \"Choice\", \"Wait\", \
             \"Succeed\", \"Fail\", \"Parallel\", \"Map\", got \"Sleep\""
        ]
    );
    assert_eq!(
        problems(one_state(json!({"End": true}))),
        ["$.States.A.Type: is required"]
    );
    assert_eq!(
        problems(one_state(json!({
            "Type": "Pass", "End": true, "Retry": [], "Resource": "x", "Foo": 1,
            "Assign": {}, "ItemReader": {}
        }))),
        [
            "$.States.A.Retry: is not allowed in a Pass state",
            "$.States.A.Resource: is not allowed in a Pass state",
            "$.States.A.Foo: field is not supported",
            "$.States.A.Assign: variables (`Assign`) are not supported by the local engine",
            "$.States.A.ItemReader: is not allowed in a Pass state",
        ]
    );
    assert_eq!(
        problems(one_state(json!({"Type": "Succeed", "Next": "A"}))),
        ["$.States.A.Next: a Succeed state ends its state machine: it has no `Next` or `End`"]
    );
    assert_eq!(
        problems(one_state(
            json!({"Type": "Pass", "End": true, "QueryLanguage": "JSONata"})
        )),
        ["$.States.A.QueryLanguage: JSONata is not supported by the local engine"]
    );
}

#[test]
fn transitions() {
    assert_eq!(
        problems(one_state(json!({"Type": "Pass"}))),
        ["$.States.A: one of `Next` or `End` is required"]
    );
    assert_eq!(
        problems(one_state(json!({"Type": "Pass", "Next": "A", "End": true}))),
        ["$.States.A.End: cannot be used together with `Next`"]
    );
    assert_eq!(
        problems(one_state(json!({"Type": "Pass", "End": false}))),
        ["$.States.A.End: must be true (a state that goes on has `Next` instead)"]
    );
    assert_eq!(
        problems(json!({
            "StartAt": "Nowhere",
            "States": {"A": {"Type": "Pass", "Next": "B"}, "C": {"Type": "Succeed"}}
        })),
        [
            "$.States.A.Next: there is no state \"B\" in this state machine",
            "$.StartAt: there is no state \"Nowhere\" in this state machine",
        ]
    );
}

#[test]
fn unreachable_states_and_endless_loops() {
    assert_eq!(
        problems(json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "B"},
                "B": {"Type": "Pass", "Next": "A"},
                "Lost": {"Type": "Succeed"}
            }
        })),
        [
            "$.States.A: no `End`, Succeed or Fail state can be reached from this state \
             (an endless loop)",
            "$.States.B: no `End`, Succeed or Fail state can be reached from this state \
             (an endless loop)",
            "$.States.Lost: the state cannot be reached from `StartAt` (\"A\")",
        ]
    );
    // A loop with a way out is fine, through a Choice or a catcher.
    parse(json!({
        "StartAt": "Poll",
        "States": {
            "Poll": {"Type": "Task", "Resource": "poll", "Next": "Done?",
                     "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]},
            "Done?": {"Type": "Choice",
                      "Choices": [{"Variable": "$.done", "BooleanEquals": true, "Next": "Wait"}],
                      "Default": "Poll"},
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Poll"},
            "Failed": {"Type": "Fail"}
        }
    }));
}

#[test]
fn state_names() {
    let long = "n".repeat(81);
    let problems = problems(json!({
        "StartAt": long,
        "States": {long.clone(): {"Type": "Succeed"}}
    }));
    assert_eq!(
        problems,
        [format!(
            "$.States.{long}: a state name must have 1 to 80 characters, this one has 81"
        )]
    );
    let problems = self::problems(json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}
            ]}
        }
    }));
    assert_eq!(
        problems,
        [
            "$.States.P.Branches[0].States.P: state names must be unique in the whole definition; \
          $.States.P has this name too"
        ]
    );
}

#[test]
fn task_fields() {
    let machine = parse(with_end(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "TimeoutSeconds": 30,
        "HeartbeatSecondsPath": "$.heartbeat",
        "Credentials": {"RoleArn": "arn:aws:iam::123456789012:role/x"},
        "Retry": [
            {"ErrorEquals": ["Oops"], "MaxDelaySeconds": 5, "JitterStrategy": "FULL"},
            {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 0, "BackoffRate": 1}
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "B"}],
        "Next": "B"
    })));
    let StateKind::Task(task) = &machine.states["A"].kind else {
        panic!("not a Task");
    };
    assert_eq!(task.resource, "arn:aws:states:::lambda:invoke");
    assert!(matches!(task.timeout, Some(Amount::Literal(30))));
    assert!(matches!(&task.heartbeat, Some(Amount::Path(p)) if p.as_str() == "$.heartbeat"));
    assert!(task.credentials.is_some());
    assert_eq!(task.transition, Transition::Next("B".into()));
    let retry = &task.result.retry;
    assert_eq!(
        (
            retry[0].interval_seconds,
            retry[0].max_attempts,
            retry[0].backoff_rate
        ),
        (1, 3, 2.0)
    );
    assert_eq!(
        (retry[0].max_delay_seconds, retry[0].jitter),
        (Some(5), Jitter::Full)
    );
    assert_eq!(
        (
            retry[1].interval_seconds,
            retry[1].max_attempts,
            retry[1].backoff_rate
        ),
        (2, 0, 1.0)
    );
    assert_eq!(task.result.catch[0].next, "B");
    assert!(task.result.catch[0].result_path.is_none());
    assert!(
        task.result
            .result_path
            .as_ref()
            .is_some_and(|p| p.is_root())
    );
}

#[test]
fn task_problems() {
    assert_eq!(
        problems(one_state(json!({
            "Type": "Task",
            "TimeoutSeconds": 10,
            "TimeoutSecondsPath": "$.t",
            "HeartbeatSeconds": 10,
            "End": true
        }))),
        [
            "$.States.A.Resource: is required",
            "$.States.A.TimeoutSecondsPath: cannot be used together with `TimeoutSeconds`",
            "$.States.A.HeartbeatSeconds: must be smaller than `TimeoutSeconds` (10), got 10",
        ]
    );
    assert_eq!(
        problems(one_state(json!({
            "Type": "Task", "Resource": "x", "End": true,
            "Retry": [
                {"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5, "IntervalSeconds": 0},
                {"ErrorEquals": [], "MaxAttempts": -1, "JitterStrategy": "SOME", "Foo": 1},
                {"ErrorEquals": ["States.ALL", "X"], "MaxDelaySeconds": 0},
                {"ErrorEquals": ["States.Oops", 3]}
            ],
            "Catch": [{"ErrorEquals": ["X"]}]
        }))),
        [
            "$.States.A.Retry[0].ErrorEquals[0]: the retrier with `States.ALL` must be the last one",
            "$.States.A.Retry[0].IntervalSeconds: must be an integer from 1 to 99999999, got 0",
            "$.States.A.Retry[0].BackoffRate: must be a number >= 1.0, got 0.5",
            "$.States.A.Retry[1].Foo: field is not supported",
            "$.States.A.Retry[1].ErrorEquals: must not be empty",
            "$.States.A.Retry[1].MaxAttempts: must be an integer from 0 to 99999999, got -1",
            "$.States.A.Retry[1].JitterStrategy: must be one of \"FULL\", \"NONE\", got \"SOME\"",
            "$.States.A.Retry[2].ErrorEquals[0]: `States.ALL` must be the only error name in its \
             `ErrorEquals`",
            "$.States.A.Retry[2].MaxDelaySeconds: must be an integer from 1 to 31622400, got 0",
            "$.States.A.Retry[3].ErrorEquals[0]: \"States.Oops\" is not a predefined error name \
             (the `States.` prefix is reserved)",
            "$.States.A.Retry[3].ErrorEquals[1]: must be a string, got 3",
            "$.States.A.Catch[0].Next: is required",
        ]
    );
}

#[test]
fn wait_and_fail() {
    let machine = parse(json!({
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00.123+01:00", "Next": "X"},
            "X": {"Type": "Wait", "SecondsPath": "$.s", "Next": "F"},
            "F": {"Type": "Fail", "Error": "Boom", "CausePath": "$.why"}
        }
    }));
    assert!(matches!(machine.states["W"].kind, StateKind::Wait(ref w)
        if matches!(w.wait, WaitFor::Timestamp(t) if t.timestamp() == 1_457_917_140)));
    assert!(matches!(machine.states["X"].kind, StateKind::Wait(ref w)
        if matches!(w.wait, WaitFor::Seconds(Amount::Path(_)))));
    let StateKind::Fail(fail) = &machine.states["F"].kind else {
        panic!("not a Fail");
    };
    assert!(matches!(&fail.error, Some(Text::Literal(e)) if e == "Boom"));
    assert!(matches!(&fail.cause, Some(Text::Path(p)) if p.as_str() == "$.why"));

    assert_eq!(
        problems(one_state(json!({"Type": "Wait", "End": true}))),
        ["$.States.A: one of `Seconds`, `SecondsPath`, `Timestamp` or `TimestampPath` is required"]
    );
    assert_eq!(
        problems(one_state(
            json!({"Type": "Wait", "Seconds": 1, "Timestamp": "2016-03-14t01:59:00Z", "End": true})
        )),
        [
            "$.States.A.Timestamp: cannot be used together with `Seconds`",
            "$.States.A.Timestamp: must be an RFC 3339 timestamp such as \
             \"2016-03-14T01:59:00Z\", got \"2016-03-14t01:59:00Z\"",
        ]
    );
    assert_eq!(
        problems(one_state(
            json!({"Type": "Wait", "SecondsPath": "$.a[*]", "End": true})
        )),
        [
            "$.States.A.SecondsPath: must be a reference path, which selects a single value \
             (no wildcard, slice, filter, union or `..`), got \"$.a[*]\""
        ]
    );
    assert_eq!(
        problems(one_state(
            json!({"Type": "Fail", "Error": "E", "ErrorPath": "$.e", "Cause": 1})
        )),
        [
            "$.States.A.ErrorPath: cannot be used together with `Error`",
            "$.States.A.Cause: must be a string, got 1",
        ]
    );
}

#[test]
fn map_fields() {
    let machine = parse(one_state(json!({
        "Type": "Map",
        "ItemsPath": "$.items",
        "Parameters": {"v.$": "$$.Map.Item.Value"},
        "MaxConcurrency": 0,
        "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
        "End": true
    })));
    let StateKind::Map(map) = &machine.states["A"].kind else {
        panic!("not a Map");
    };
    assert_eq!(map.items_path.as_str(), "$.items");
    assert!(matches!(map.item_selector, Some(Template::Object(_))));
    assert!(matches!(map.max_concurrency, Some(Amount::Literal(0))));
    assert_eq!(map.processor.start_at, "I");
    assert_eq!(map.transition, Transition::End);

    assert_eq!(
        problems(one_state(json!({
            "Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}},
                              "ProcessorConfig": {"Mode": "DISTRIBUTED"}},
            "ToleratedFailureCount": 1
        }))),
        [
            "$.States.A.ToleratedFailureCount: distributed Map only, not supported by the local \
             engine",
            "$.States.A.ItemProcessor.ProcessorConfig.Mode: distributed Map is not supported by \
             the local engine",
        ]
    );
    assert_eq!(
        problems(one_state(json!({
            "Type": "Map", "End": true,
            "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}},
                         "ProcessorConfig": {"Mode": "INLINE"}}
        }))),
        [
            "$.States.A.Iterator.ProcessorConfig: is not allowed in an `Iterator` (an \
             `ItemProcessor` has it)"
        ]
    );
}

#[test]
fn branches_stay_in_their_branch() {
    assert_eq!(
        problems(json!({
            "StartAt": "P",
            "States": {
                "P": {"Type": "Parallel", "Next": "After", "Branches": [
                    {"StartAt": "In", "States": {"In": {"Type": "Pass", "Next": "After"}},
                     "Version": "1.0"}
                ]},
                "After": {"Type": "Succeed"}
            }
        })),
        [
            "$.States.P.Branches[0].Version: is not allowed in a branch (only `StartAt`, \
             `States` and `Comment` are)",
            "$.States.P.Branches[0].States.In.Next: there is no state \"After\" in this branch",
        ]
    );
}
