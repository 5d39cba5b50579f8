//! The array functions.

use super::*;
use serde_json::json;

#[test]
fn array_partition() {
    let input = json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9], "empty": [], "s": "x"});
    assert_eq!(
        ok("States.ArrayPartition($.a, 4)", &input),
        json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
    );
    assert_eq!(
        ok("States.ArrayPartition($.a, 20)", &input),
        json!([[1, 2, 3, 4, 5, 6, 7, 8, 9]])
    );
    assert_eq!(
        ok("States.ArrayPartition($.a, 4.5)", &input),
        json!([[1, 2, 3, 4, 5], [6, 7, 8, 9]])
    );
    assert_eq!(ok("States.ArrayPartition($.empty, 2)", &input), json!([]));
    fails(
        "States.ArrayPartition($.s, 2)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 1 must be an array, not a string",
    );
    fails(
        "States.ArrayPartition($.a, $.s)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 2 must be a number",
    );
    fails(
        "States.ArrayPartition($.a, States.MathAdd(0, 0))",
        &input,
        names::INTRINSIC_FAILURE,
        "greater than 0, not 0",
    );
}

#[test]
fn array_contains() {
    let input = json!({"a": [1, "two", {"k": [3]}, null], "n": 1.0});
    assert_eq!(ok("States.ArrayContains($.a, 'two')", &input), json!(true));
    assert_eq!(ok("States.ArrayContains($.a, $.n)", &input), json!(true));
    assert_eq!(ok("States.ArrayContains($.a, $.a[2])", &input), json!(true));
    assert_eq!(ok("States.ArrayContains($.a, null)", &input), json!(true));
    assert_eq!(
        ok("States.ArrayContains($.a, 'three')", &input),
        json!(false)
    );
    fails(
        "States.ArrayContains($.n, 1)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 1 must be an array",
    );
}

#[test]
fn array_range() {
    let input = json!({"end": 9});
    assert_eq!(
        ok("States.ArrayRange(1, 9, 2)", &input),
        json!([1, 3, 5, 7, 9])
    );
    assert_eq!(
        ok("States.ArrayRange(1, $.end, 3)", &input),
        json!([1, 4, 7])
    );
    assert_eq!(
        ok("States.ArrayRange(10, 1, -4)", &input),
        json!([10, 6, 2])
    );
    assert_eq!(ok("States.ArrayRange(5, 5, 1)", &input), json!([5]));
    assert_eq!(ok("States.ArrayRange(1, 9, -1)", &input), json!([]));
    assert_eq!(ok("States.ArrayRange(0.5, 2.4, 1)", &input), json!([1, 2]));
    assert_eq!(
        ok("States.ArrayRange(-2.5, -1, 1)", &input),
        json!([-2, -1])
    );
    let thousand = ok("States.ArrayRange(1, 1000, 1)", &input);
    assert_eq!(thousand.as_array().map(Vec::len), Some(1000));
    fails(
        "States.ArrayRange(0, 1000, 1)",
        &input,
        names::INTRINSIC_FAILURE,
        "1001 items; at most 1000",
    );
    fails(
        "States.ArrayRange(-9223372036854775808, 9223372036854775807, 1)",
        &input,
        names::INTRINSIC_FAILURE,
        "at most 1000",
    );
    fails(
        "States.ArrayRange(1, 2, States.MathAdd(0, 0))",
        &input,
        names::INTRINSIC_FAILURE,
        "the step must not be 0",
    );
    fails(
        "States.ArrayRange(1, $, 1)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 2 must be a number, not an object",
    );
}

#[test]
fn array_get_item() {
    let input = json!({"list": [1, 2, 3], "index": 1, "half": 1.5, "s": "x"});
    assert_eq!(ok("States.ArrayGetItem($.list, 0)", &input), json!(1));
    assert_eq!(ok("States.ArrayGetItem($.list, $.index)", &input), json!(2));
    assert_eq!(ok("States.ArrayGetItem($.list, 2.0)", &input), json!(3));
    fails(
        "States.ArrayGetItem($.list, -1)",
        &input,
        names::RUNTIME,
        "the index -1 is out of range for an array of 3 item(s)",
    );
    fails(
        "States.ArrayGetItem($.list, 3)",
        &input,
        names::RUNTIME,
        "the index 3 is out of range",
    );
    fails(
        "States.ArrayGetItem($.list, 1e30)",
        &input,
        names::RUNTIME,
        "out of range",
    );
    fails(
        "States.ArrayGetItem($.list, $.half)",
        &input,
        names::INTRINSIC_FAILURE,
        "the index 1.5 is not an integer",
    );
    fails(
        "States.ArrayGetItem($.list, $.s)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 2 must be a number, not a string",
    );
    fails(
        "States.ArrayGetItem($.s, 0)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 1 must be an array, not a string",
    );
}

#[test]
fn array_length_and_unique() {
    let input = json!({
        "a": [1, 2, 3, 3, 3, 1.0, "1", null, null, {"x": 1, "y": [2]}, {"y": [2.0], "x": 1}, [1], [1]],
        "o": {}
    });
    assert_eq!(ok("States.ArrayLength($.a)", &input), json!(13));
    assert_eq!(ok("States.ArrayLength(States.Array())", &input), json!(0));
    assert_eq!(
        ok("States.ArrayUnique($.a)", &input),
        json!([1, 2, 3, "1", null, {"x": 1, "y": [2]}, [1]])
    );
    fails(
        "States.ArrayLength($.o)",
        &input,
        names::INTRINSIC_FAILURE,
        "States.ArrayLength: argument 1 must be an array, not an object",
    );
    fails(
        "States.ArrayUnique($.o)",
        &input,
        names::INTRINSIC_FAILURE,
        "States.ArrayUnique: argument 1 must be an array",
    );
}
