//! Tests of `Condition::evaluate` and of the conditions' rendering.

use super::*;
use crate::workflow::error::names;
use serde_json::json;

mod display;

fn path(text: &str) -> Path {
    Path::parse(text).expect("a valid path in the test")
}

fn test(variable: &str, test: Test) -> Condition {
    Condition::Test {
        variable: path(variable),
        test,
    }
}

fn literal(variable: &str, op: Comparison, value: Value) -> Condition {
    test(
        variable,
        Test::Compare {
            op,
            operand: Operand::Literal(value),
        },
    )
}

fn against_path(variable: &str, op: Comparison, other: &str) -> Condition {
    test(
        variable,
        Test::Compare {
            op,
            operand: Operand::Path(path(other)),
        },
    )
}

fn eval(condition: &Condition, input: &Value) -> bool {
    condition
        .evaluate(input, &json!({}))
        .expect("the condition evaluates")
}

/// Every operator of one type, given as (operator, operand, expected) against one variable.
fn check(input: &Value, variable: &str, cases: &[(Comparison, Value, bool)]) {
    for (op, operand, expected) in cases {
        let condition = literal(variable, *op, operand.clone());
        assert_eq!(eval(&condition, input), *expected, "{op:?} {operand}");
    }
}

#[test]
fn string_comparisons() {
    use Comparison::*;
    let input = json!({"s": "b"});
    check(
        &input,
        "$.s",
        &[
            (StringEquals, json!("b"), true),
            (StringEquals, json!("B"), false),
            (StringLessThan, json!("c"), true),
            (StringLessThan, json!("b"), false),
            (StringGreaterThan, json!("a"), true),
            (StringGreaterThan, json!("ba"), false),
            (StringLessThanEquals, json!("b"), true),
            (StringLessThanEquals, json!("a"), false),
            (StringGreaterThanEquals, json!("b"), true),
            (StringGreaterThanEquals, json!("bb"), false),
        ],
    );
}

#[test]
fn strings_compare_by_code_point() {
    let input = json!({"s": "\u{e9}", "t": "\u{1F980}"});
    // U+00E9 > U+007A, and U+1F980 > U+FFFD (the UTF-16 order would differ here).
    assert!(eval(
        &literal("$.s", Comparison::StringGreaterThan, json!("z")),
        &input
    ));
    assert!(eval(
        &literal("$.t", Comparison::StringGreaterThan, json!("\u{FFFD}")),
        &input
    ));
}

#[test]
fn numeric_comparisons() {
    use Comparison::*;
    let input = json!({"n": 5, "f": 2.5});
    check(
        &input,
        "$.n",
        &[
            (NumericEquals, json!(5), true),
            (NumericEquals, json!(5.0), true),
            (NumericEquals, json!(6), false),
            (NumericLessThan, json!(5.5), true),
            (NumericLessThan, json!(5), false),
            (NumericGreaterThan, json!(-3), true),
            (NumericGreaterThan, json!(5), false),
            (NumericLessThanEquals, json!(5), true),
            (NumericLessThanEquals, json!(4.99), false),
            (NumericGreaterThanEquals, json!(5), true),
            (NumericGreaterThanEquals, json!(5.01), false),
        ],
    );
    check(
        &input,
        "$.f",
        &[
            (NumericEquals, json!(2.5), true),
            (NumericLessThan, json!(3), true),
        ],
    );
}

#[test]
fn boolean_equals() {
    let input = json!({"yes": true, "no": false});
    check(
        &input,
        "$.yes",
        &[
            (Comparison::BooleanEquals, json!(true), true),
            (Comparison::BooleanEquals, json!(false), false),
        ],
    );
    check(
        &input,
        "$.no",
        &[(Comparison::BooleanEquals, json!(false), true)],
    );
}

#[test]
fn timestamp_comparisons() {
    use Comparison::*;
    let input = json!({"t": "2016-03-14T01:59:00Z"});
    check(
        &input,
        "$.t",
        &[
            (TimestampEquals, json!("2016-03-14T01:59:00Z"), true),
            (TimestampEquals, json!("2016-03-14T01:59:00.000Z"), true),
            (TimestampEquals, json!("2016-03-14T02:59:00+01:00"), true),
            (TimestampEquals, json!("2016-03-14T01:59:01Z"), false),
            (TimestampLessThan, json!("2016-03-14T01:59:00.001Z"), true),
            (TimestampLessThan, json!("2016-03-14T01:59:00Z"), false),
            (
                TimestampGreaterThan,
                json!("2016-03-14T01:59:00-01:00"),
                false,
            ),
            (
                TimestampGreaterThan,
                json!("2016-03-14T01:59:00+01:00"),
                true,
            ),
            (TimestampLessThanEquals, json!("2016-03-14T01:59:00Z"), true),
            (
                TimestampLessThanEquals,
                json!("2016-03-13T23:59:59Z"),
                false,
            ),
            (
                TimestampGreaterThanEquals,
                json!("2016-03-14T01:59:00Z"),
                true,
            ),
            (
                TimestampGreaterThanEquals,
                json!("2017-01-01T00:00:00Z"),
                false,
            ),
        ],
    );
}

/// The moto difference `timestamp-fractional-seconds-and-offset`: what AWS answers.
#[test]
fn timestamps_with_fractions_and_offsets() {
    let input = json!({"frac": "2016-03-14T01:59:00.123Z", "offset": "2016-03-14T01:59:00+01:00"});
    assert!(eval(&test("$.frac", Test::IsTimestamp(true)), &input));
    assert!(eval(&test("$.offset", Test::IsTimestamp(true)), &input));
    let equals = literal(
        "$.offset",
        Comparison::TimestampEquals,
        json!("2016-03-14T00:59:00Z"),
    );
    assert!(eval(&equals, &input));
}

#[test]
fn type_mismatches_are_false() {
    use Comparison::*;
    let input = json!({"n": 1, "s": "1", "b": true, "z": null, "o": {"a": 1}, "a": [1]});
    let cases = [
        ("$.n", StringEquals, json!("1")),
        ("$.s", NumericEquals, json!(1)),
        ("$.s", NumericLessThan, json!(2)),
        ("$.b", StringEquals, json!("true")),
        ("$.n", BooleanEquals, json!(true)),
        ("$.z", StringEquals, json!("null")),
        ("$.z", NumericEquals, json!(0)),
        ("$.o", StringEquals, json!("x")),
        ("$.a", NumericEquals, json!(1)),
        ("$.s", TimestampEquals, json!("2016-03-14T01:59:00Z")),
        ("$.n", TimestampLessThan, json!("2016-03-14T01:59:00Z")),
    ];
    for (variable, op, operand) in cases {
        let condition = literal(variable, op, operand.clone());
        assert!(!eval(&condition, &input), "{variable} {op:?} {operand}");
        // Not even the negation of an error: the comparison is simply false.
        let negated = Condition::Not(Box::new(condition));
        assert!(eval(&negated, &input), "not {variable} {op:?} {operand}");
    }
}

#[test]
fn path_operands() {
    use Comparison::*;
    let input = json!({
        "a": "x", "b": "x", "c": "y", "one": 1, "two": 2.0, "yes": true,
        "t0": "2016-03-14T01:59:00Z", "t1": "2016-03-14T02:00:00+00:30"
    });
    let cases = [
        ("$.a", StringEquals, "$.b", true),
        ("$.a", StringEquals, "$.c", false),
        ("$.a", StringLessThan, "$.c", true),
        ("$.c", StringGreaterThanEquals, "$.a", true),
        ("$.one", NumericLessThan, "$.two", true),
        ("$.two", NumericGreaterThan, "$.one", true),
        ("$.one", NumericEquals, "$.one", true),
        ("$.yes", BooleanEquals, "$.yes", true),
        ("$.t0", TimestampGreaterThan, "$.t1", true),
        ("$.t1", TimestampLessThanEquals, "$.t0", true),
        // A type mismatch through a path is false too.
        ("$.one", StringEquals, "$.a", false),
        ("$.a", TimestampEquals, "$.t0", false),
    ];
    for (variable, op, other, expected) in cases {
        let condition = against_path(variable, op, other);
        assert_eq!(
            eval(&condition, &input),
            expected,
            "{variable} {op:?} {other}"
        );
    }
}

#[test]
fn context_paths() {
    let context = json!({"Execution": {"Name": "run-1"}});
    let condition = literal(
        "$$.Execution.Name",
        Comparison::StringEquals,
        json!("run-1"),
    );
    assert_eq!(condition.evaluate(&json!({}), &context), Ok(true));
    let condition = against_path("$.name", Comparison::StringEquals, "$$.Execution.Name");
    assert_eq!(
        condition.evaluate(&json!({"name": "run-1"}), &context),
        Ok(true)
    );
}

#[test]
fn a_missing_variable_is_a_runtime_error() {
    let condition = literal("$.foo", Comparison::NumericEquals, json!(1));
    let failure = condition
        .evaluate(&json!({}), &json!({}))
        .expect_err("a missing variable fails");
    assert_eq!(failure.error, names::RUNTIME);
    let cause = failure.cause.expect("a cause");
    assert!(cause.contains("'$.foo'"), "{cause}");
    // Under `Not`, and under `Is…` tests other than `IsPresent`, it fails too.
    let negated = Condition::Not(Box::new(condition));
    assert!(negated.evaluate(&json!({}), &json!({})).is_err());
    let is_null = test("$.foo", Test::IsNull(false));
    assert!(is_null.evaluate(&json!({}), &json!({})).is_err());
    let matches = test("$.foo", Test::StringMatches("*".into()));
    assert!(matches.evaluate(&json!({}), &json!({})).is_err());
}

#[test]
fn a_missing_path_operand_is_a_runtime_error() {
    let condition = against_path("$.a", Comparison::StringEquals, "$.b");
    let failure = condition
        .evaluate(&json!({"a": "x"}), &json!({}))
        .expect_err("a missing operand path fails");
    assert_eq!(failure.error, names::RUNTIME);
    assert!(failure.cause.expect("a cause").contains("'$.b'"));
}

#[test]
fn is_present() {
    let input = json!({"a": null, "b": {"c": 0}});
    assert!(eval(&test("$.a", Test::IsPresent(true)), &input));
    assert!(eval(&test("$.b.c", Test::IsPresent(true)), &input));
    assert!(!eval(&test("$.x", Test::IsPresent(true)), &input));
    assert!(!eval(&test("$.b.x", Test::IsPresent(true)), &input));
    assert!(eval(&test("$.x", Test::IsPresent(false)), &input));
    assert!(!eval(&test("$.a", Test::IsPresent(false)), &input));
    let not_present = Condition::Not(Box::new(test("$.x", Test::IsPresent(true))));
    assert!(eval(&not_present, &input));
}

#[test]
fn type_tests() {
    let input = json!({
        "null": null, "int": 1, "float": 1.5, "string": "s", "bool": false,
        "time": "2016-03-14T01:59:00Z", "lowercase": "2016-03-14t01:59:00z",
        "object": {}, "array": []
    });
    /// A test's name, its constructor, and the members it holds for.
    type Row = (&'static str, fn(bool) -> Test, &'static [&'static str]);
    let table: [Row; 5] = [
        ("IsNull", Test::IsNull, &["$.null"]),
        ("IsNumeric", Test::IsNumeric, &["$.int", "$.float"]),
        (
            "IsString",
            Test::IsString,
            &["$.string", "$.time", "$.lowercase"],
        ),
        ("IsBoolean", Test::IsBoolean, &["$.bool"]),
        ("IsTimestamp", Test::IsTimestamp, &["$.time"]),
    ];
    let Value::Object(members) = &input else {
        unreachable!("the input is an object literal")
    };
    for (name, make, holds_for) in table {
        for member in members.keys() {
            let variable = format!("$.{member}");
            let is = holds_for.contains(&variable.as_str());
            assert_eq!(
                eval(&test(&variable, make(true)), &input),
                is,
                "{name} {variable}"
            );
            assert_eq!(
                eval(&test(&variable, make(false)), &input),
                !is,
                "{name}: false {variable}"
            );
        }
    }
}

#[test]
fn string_matches() {
    let input = json!({"v": "log-*.txt", "w": "log-2024.txt", "q": "file1.txt", "n": 1});
    let matches = |variable: &str, pattern: &str| {
        eval(&test(variable, Test::StringMatches(pattern.into())), &input)
    };
    assert!(matches("$.v", r"log-\*.txt"));
    assert!(!matches("$.w", r"log-\*.txt"));
    assert!(matches("$.w", "log-*.txt"));
    assert!(matches("$.v", "log-*.txt"));
    assert!(!matches("$.q", "file?.txt"));
    assert!(!matches("$.n", "*"));
}

#[test]
fn and_or_not() {
    let input = json!({"a": 1, "b": "x"});
    let yes = || literal("$.a", Comparison::NumericEquals, json!(1));
    let no = || literal("$.b", Comparison::StringEquals, json!("y"));
    assert!(eval(&Condition::And(vec![yes(), yes()]), &input));
    assert!(!eval(&Condition::And(vec![yes(), no()]), &input));
    assert!(eval(&Condition::Or(vec![no(), yes()]), &input));
    assert!(!eval(&Condition::Or(vec![no(), no()]), &input));
    assert!(eval(&Condition::Not(Box::new(no())), &input));
    assert!(!eval(&Condition::Not(Box::new(yes())), &input));
    let nested = Condition::And(vec![
        Condition::Or(vec![no(), yes()]),
        Condition::Not(Box::new(no())),
    ]);
    assert!(eval(&nested, &input));
}

#[test]
fn and_or_short_circuit() {
    let input = json!({"a": 1});
    let missing = || literal("$.missing", Comparison::NumericEquals, json!(1));
    let yes = || literal("$.a", Comparison::NumericEquals, json!(1));
    let no = || literal("$.a", Comparison::NumericEquals, json!(2));
    // The missing path is never looked at once the outcome is known…
    assert!(!eval(&Condition::And(vec![no(), missing()]), &input));
    assert!(eval(&Condition::Or(vec![yes(), missing()]), &input));
    // …and fails when it is.
    let and = Condition::And(vec![yes(), missing()]);
    assert!(and.evaluate(&input, &json!({})).is_err());
    let or = Condition::Or(vec![no(), missing()]);
    assert!(or.evaluate(&input, &json!({})).is_err());
}
