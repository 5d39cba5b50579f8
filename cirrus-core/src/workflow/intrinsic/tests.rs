use super::*;
use crate::workflow::error::names;
use serde_json::json;

mod arrays;
mod strings;
mod values;

fn context() -> Value {
    json!({"Execution": {"Name": "run-1"}, "Map": {"Item": {"Index": 3}}})
}

fn parse(text: &str) -> Intrinsic {
    Intrinsic::parse(text).unwrap_or_else(|err| panic!("{text}: {err}"))
}

fn eval(text: &str, input: &Value) -> Result<Value, Failure> {
    parse(text).evaluate(input, &context())
}

fn ok(text: &str, input: &Value) -> Value {
    eval(text, input).unwrap_or_else(|failure| panic!("{text}: {failure}"))
}

/// Evaluates `text`, expecting a failure named `error` whose cause contains `cause`.
fn fails(text: &str, input: &Value, error: &str, cause: &str) {
    match eval(text, input) {
        Ok(value) => panic!("{text} gave {value}"),
        Err(failure) => {
            assert_eq!(failure.error, error, "{text}: {failure}");
            let got = failure.cause.unwrap_or_default();
            assert!(got.contains(cause), "{text}: cause {got:?} lacks {cause:?}");
        }
    }
}

/// Parses `text`, expecting an error at `position` whose message contains `message`.
fn syntax_error(text: &str, position: usize, message: &str) {
    match Intrinsic::parse(text) {
        Ok(parsed) => panic!("{text} parsed as {parsed:?}"),
        Err(err) => {
            assert!(err.message.contains(message), "{text}: {err}");
            assert_eq!(err.position, position, "{text}: {err}");
        }
    }
}

#[test]
fn looks_like_and_display() {
    assert!(Intrinsic::looks_like("States.Format('x')"));
    assert!(Intrinsic::looks_like("  States.UUID()"));
    assert!(!Intrinsic::looks_like("$.States"));
    let call = parse(" States.Array( 1 , $.a ) ");
    assert_eq!(call.as_str(), " States.Array( 1 , $.a ) ");
    assert_eq!(call.to_string(), call.as_str());
}

#[test]
fn arguments_literals_paths_and_nested_calls() {
    let input = json!({"a": [1, 2], "s": "x"});
    assert_eq!(
        ok(
            "States.Array('str', 1, -2.5, 1e2, true, false, null)",
            &input
        ),
        json!(["str", 1, -2.5, 100.0, true, false, null])
    );
    assert_eq!(ok("States.Array()", &input), json!([]));
    assert_eq!(ok("States.Array($.a,$.s)", &input), json!([[1, 2], "x"]));
    assert_eq!(ok("States.Array($)", &input), json!([input]));
    assert_eq!(ok("States.Array($.a[*])", &input), json!([[1, 2]]));
    assert_eq!(
        ok("States.Array($.a[?(@ > 1)], $['s'])", &input),
        json!([[2], "x"])
    );
    assert_eq!(
        ok("States.Array($$.Execution.Name)", &input),
        json!(["run-1"])
    );
    assert_eq!(
        ok(
            "States.Array(States.ArrayLength($.a), States.Array())",
            &input
        ),
        json!([2, []])
    );
}

#[test]
fn uses_context_looks_at_every_depth() {
    assert!(!parse("States.Array($.a, 'x')").uses_context());
    assert!(parse("States.Array($$.Map.Item.Index)").uses_context());
    assert!(parse("States.Format('{}', States.Array(States.Array($$)))").uses_context());
}

#[test]
fn string_literal_escapes() {
    let input = json!({"x": "ok", "value": "test123"});
    assert_eq!(
        ok(r"States.Format('It\'s {}', $.x)", &input),
        json!("It's ok")
    );
    assert_eq!(
        ok(r#"States.Format('\{"key":"{}"\}', $.value)"#, &input),
        json!(r#"{"key":"test123"}"#)
    );
    assert_eq!(
        ok(r"States.Format('back\\slash {}', $.x)", &input),
        json!(r"back\slash ok")
    );
    assert_eq!(ok(r"States.Format('\{\}{}', 1)", &input), json!("{}1"));
    syntax_error(
        r"States.Format('\{}', 1)",
        14,
        "unescaped brace at character 17",
    );
    assert_eq!(
        ok(r"States.Array('\{\}', '{}', 'a,b)')", &input),
        json!(["{}", "{}", "a,b)"])
    );
    syntax_error(r"States.Array('\n')", 14, r"unknown escape '\n'");
    syntax_error(r"States.Array('abc)", 13, "unclosed string");
    syntax_error(r"States.Array('abc\", 13, "unclosed string");
}

#[test]
fn syntax_errors() {
    syntax_error("", 0, "expected an intrinsic function");
    syntax_error("Format('x')", 0, "expected an intrinsic function");
    syntax_error(
        "States.Nope(1)",
        0,
        "unknown intrinsic function 'States.Nope'",
    );
    syntax_error(
        "States.format('x')",
        0,
        "States.Format, States.StringToJson",
    );
    syntax_error("States.Array", 12, "expected '(' after States.Array");
    syntax_error("States.Array(1", 0, "unclosed '(' of States.Array");
    syntax_error("States.Array(1 2)", 15, "expected ',' or ')'");
    syntax_error("States.Array(1,)", 15, "expected an argument");
    syntax_error("States.Array(,1)", 13, "expected an argument");
    syntax_error("States.Array(1) x", 16, "after the call");
    syntax_error("States.Array(nothing)", 13, "expected an argument");
    syntax_error("States.Array(1e)", 13, "not a number");
    syntax_error("States.Array($.a b)", 17, "expected ',' or ')'");
    syntax_error("States.Array($.)", 15, "expected a name");
    syntax_error("States.Array( $[ )", 17, "expected '*'");
    syntax_error("States.Array( $[0 ", 15, "unclosed '['");
}

#[test]
fn argument_counts_are_checked() {
    for (text, message) in [
        (
            "States.Format()",
            "States.Format takes at least 1 argument(s), not 0",
        ),
        ("States.UUID(1)", "States.UUID takes 0 argument(s), not 1"),
        ("States.MathRandom(1)", "takes 2 to 3 argument(s), not 1"),
        (
            "States.MathRandom(1, 2, 3, 4)",
            "takes 2 to 3 argument(s), not 4",
        ),
        ("States.ArrayRange(1, 2)", "takes 3 argument(s), not 2"),
        ("States.JsonMerge($.a, $.b)", "takes 3 argument(s), not 2"),
        ("States.StringSplit('a')", "takes 2 argument(s), not 1"),
        ("States.Hash('a')", "takes 2 argument(s), not 1"),
    ] {
        syntax_error(text, 0, message);
    }
}

#[test]
fn literal_argument_types_are_checked() {
    for (text, position, message) in [
        (
            "States.Format(1)",
            14,
            "argument 1: expected a string, found 1",
        ),
        ("States.StringToJson(true)", 20, "expected a string"),
        (
            "States.JsonToString('x')",
            20,
            "expected a path, not a literal",
        ),
        ("States.ArrayLength('x')", 19, "expected an array"),
        (
            "States.ArrayGetItem($.a, 'x')",
            25,
            "argument 2: expected a number",
        ),
        ("States.ArrayContains(1, 1)", 21, "expected an array"),
        ("States.ArrayRange(1, '9', 1)", 21, "expected a number"),
        ("States.ArrayRange(1, 9, 0)", 24, "the step must not be 0"),
        ("States.ArrayPartition($.a, 0)", 27, "greater than 0"),
        ("States.ArrayPartition($.a, -1.4)", 27, "greater than 0"),
        ("States.Base64Encode(null)", 20, "expected a string"),
        (
            "States.Hash('x', 'SHA-3')",
            17,
            "unknown hash algorithm \"SHA-3\"",
        ),
        ("States.Hash('x', 256)", 17, "expected a string"),
        (
            "States.JsonMerge($.a, {}, false)",
            22,
            "expected an argument",
        ),
        (
            "States.JsonMerge($.a, $.b, true)",
            27,
            "deep merging is not supported",
        ),
        ("States.JsonMerge($.a, $.b, 0)", 27, "expected a boolean"),
        ("States.MathAdd(1, 'x')", 18, "expected a number"),
        ("States.StringSplit('a', 1)", 24, "expected a string"),
        (
            "States.Format('{} {}', 1)",
            14,
            "2 placeholder(s) {} but 1 value(s)",
        ),
        (
            "States.Format('x', 1)",
            14,
            "0 placeholder(s) {} but 1 value(s)",
        ),
        (
            "States.Format('a { b', 1)",
            14,
            "unescaped brace at character 17",
        ),
        ("States.Format('a } {}', 1)", 14, "unescaped brace"),
    ] {
        syntax_error(text, position, message);
    }
}

#[test]
fn nesting_is_limited() {
    let nested = |depth: usize| format!("{}1{}", "States.Array(".repeat(depth), ")".repeat(depth));
    assert!(Intrinsic::parse(&nested(MAX_NESTING)).is_ok());
    syntax_error(&nested(MAX_NESTING + 1), 130, "nest more than 10 deep");
    assert!(Intrinsic::parse(&nested(100_000)).is_err());
}

#[test]
fn a_path_that_matches_nothing_is_a_runtime_error() {
    let input = json!({"a": 1});
    fails(
        "States.Array($.missing)",
        &input,
        names::RUNTIME,
        "States.Array: the path $.missing matches nothing in the input",
    );
    fails(
        "States.Format('{}', States.Array($$.Nope))",
        &input,
        names::RUNTIME,
        "the path $$.Nope matches nothing in the context object",
    );
}

#[test]
fn nested_functions_as_in_the_aws_example() {
    let input = json!({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123:image-recipe/my-recipe.v1/1.0.2"}});
    let text = "States.Format('{}.{}.{}', \
        States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), \
        States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1), \
        States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 2))";
    assert_eq!(ok(text, &input), json!("1.0.2"));
}
