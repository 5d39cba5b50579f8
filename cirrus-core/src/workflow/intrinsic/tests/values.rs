//! JsonMerge, the math functions and UUID.

use super::*;
use serde_json::json;

#[test]
fn json_merge() {
    let input = json!({
        "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
        "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
        "deep": true, "s": "x"
    });
    let merged = ok("States.JsonMerge($.json1, $.json2, false)", &input);
    assert_eq!(merged, json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}));
    let keys: Vec<&String> = merged
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["a", "b", "c"]);
    fails(
        "States.JsonMerge($.json1, $.json2, $.deep)",
        &input,
        names::INTRINSIC_FAILURE,
        "deep merging is not supported",
    );
    fails(
        "States.JsonMerge($.s, $.json2, false)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 1 must be an object, not a string",
    );
    fails(
        "States.JsonMerge($.json1, $.s, false)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 2 must be an object",
    );
    fails(
        "States.JsonMerge($.json1, $.json2, $.s)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 3 must be a boolean",
    );
}

#[test]
fn math_add() {
    let input = json!({"value1": 111, "step": -1, "big": 2147483648_i64, "s": "1"});
    assert_eq!(ok("States.MathAdd($.value1, $.step)", &input), json!(110));
    assert_eq!(ok("States.MathAdd(1, 2)", &input), json!(3));
    assert_eq!(
        ok("States.MathAdd(1.5, 0)", &input),
        json!(2),
        "halves round up"
    );
    assert_eq!(
        ok("States.MathAdd(-1.5, 0)", &input),
        json!(-1),
        "halves round up"
    );
    assert_eq!(ok("States.MathAdd(2.4, 0.6)", &input), json!(3));
    assert_eq!(
        ok("States.MathAdd(2147483647, 2147483647)", &input),
        json!(4294967294_i64)
    );
    assert_eq!(
        ok("States.MathAdd(-2147483648, 0)", &input),
        json!(-2147483648_i64)
    );
    let sum = ok("States.MathAdd(1, 2)", &input);
    assert_eq!(serde_json::to_string(&sum).ok().as_deref(), Some("3"));
    fails(
        "States.MathAdd($.big, 1)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 1 (2147483648) is outside",
    );
    fails(
        "States.MathAdd(1, $.s)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 2 must be a number, not a string",
    );
}

#[test]
fn math_random() {
    let input = json!({"start": 1, "end": 999});
    for _ in 0..200 {
        let value = ok("States.MathRandom($.start, $.end)", &input);
        assert!(
            value.as_i64().is_some_and(|n| (1..999).contains(&n)),
            "{value}"
        );
        let narrow = ok("States.MathRandom(5, 6)", &input);
        assert_eq!(narrow, json!(5), "the end is exclusive");
    }
    let seeded = ok("States.MathRandom(0, 1000000, 42)", &input);
    assert_eq!(ok("States.MathRandom(0, 1000000, 42)", &input), seeded);
    assert_eq!(ok("States.MathRandom(0, 1000000, 42.2)", &input), seeded);
    fails(
        "States.MathRandom(5, 5)",
        &input,
        names::INTRINSIC_FAILURE,
        "the start (5) must be less than the end (5)",
    );
    fails(
        "States.MathRandom(1, 3000000000)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 2 (3000000000) is outside",
    );
    fails(
        "States.MathRandom(1, 3, $.start.x)",
        &input,
        names::RUNTIME,
        "matches nothing",
    );
    fails(
        "States.MathRandom(1, 3, $)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 3 must be a number, not an object",
    );
}

#[test]
fn uuid_is_a_random_v4() {
    let first = ok("States.UUID()", &Value::Null);
    let text = first.as_str().unwrap_or_default();
    assert_eq!(text.len(), 36);
    assert_eq!(text.chars().nth(14), Some('4'));
    assert!(
        text.chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_ne!(ok("States.UUID()", &Value::Null), first);
}
