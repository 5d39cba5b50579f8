//! Format, JSON conversions, base64, hashes and StringSplit.

use super::*;
use serde_json::json;

#[test]
fn format() {
    let input = json!({
        "name": "Arnav", "template": "Hello, my name is {}.", "n": 3, "f": 1.5,
        "b": true, "z": null, "list": [1, "a", [true]], "object": {"Arg1": 1, "Arg2": []},
        "braces": "{x} {}"
    });
    assert_eq!(
        ok("States.Format('Hello, my name is {}.', $.name)", &input),
        json!("Hello, my name is Arnav.")
    );
    assert_eq!(
        ok("States.Format($.template, $.name)", &input),
        json!("Hello, my name is Arnav.")
    );
    assert_eq!(
        ok("States.Format('{}{}', $.braces, 1)", &input),
        json!("{x} {}1")
    );
    assert_eq!(ok("States.Format($.braces, 1)", &input), json!("{x} 1"));
    assert_eq!(
        ok("States.Format('{} {} {} {}', $.n, $.f, $.b, $.z)", &input),
        json!("3 1.5 true null")
    );
    assert_eq!(
        ok("States.Format('{} / {}', $.list, $.object)", &input),
        json!("[1, a, [true]] / {Arg1=1, Arg2=[]}")
    );
    assert_eq!(
        ok("States.Format('no placeholders')", &input),
        json!("no placeholders")
    );
    fails(
        "States.Format($.n)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 1 must be a string, not a number",
    );
    fails(
        "States.Format($.template)",
        &input,
        names::INTRINSIC_FAILURE,
        "States.Format: the template has 1 placeholder(s) {} but 0 value(s) follow",
    );
}

#[test]
fn json_conversions() {
    let input = json!({"escaped": "{\"foo\": \"bar\", \"n\": [1, 2.5]}", "bad": "{", "object": {"foo": "bar", "n": [1, 2.5, null]}});
    assert_eq!(
        ok("States.StringToJson($.escaped)", &input),
        json!({"foo": "bar", "n": [1, 2.5]})
    );
    assert_eq!(
        ok("States.StringToJson('[1, true]')", &input),
        json!([1, true])
    );
    fails(
        "States.StringToJson($.bad)",
        &input,
        names::INTRINSIC_FAILURE,
        "the string is not valid JSON",
    );
    fails(
        "States.StringToJson($.object)",
        &input,
        names::INTRINSIC_FAILURE,
        "must be a string, not an object",
    );
    assert_eq!(
        ok("States.JsonToString($.object)", &input),
        json!(r#"{"foo":"bar","n":[1,2.5,null]}"#)
    );
    assert_eq!(ok("States.JsonToString($.bad)", &input), json!(r#""{""#));
    let object = input["object"].clone();
    let round_trip = ok("States.StringToJson(States.JsonToString($.object))", &input);
    assert_eq!(round_trip, object);
}

#[test]
fn base64() {
    let input = json!({"text": "Data to encode", "encoded": "RGF0YSB0byBlbmNvZGU=", "unpadded": "RGF0YSB0byBlbmNvZGU", "n": 1, "latin1": "/w=="});
    assert_eq!(
        ok("States.Base64Encode($.text)", &input),
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    assert_eq!(ok("States.Base64Encode('é')", &input), json!("w6k="));
    assert_eq!(
        ok("States.Base64Decode($.encoded)", &input),
        json!("Data to encode")
    );
    assert_eq!(
        ok("States.Base64Decode($.unpadded)", &input),
        json!("Data to encode")
    );
    assert_eq!(
        ok("States.Base64Decode(States.Base64Encode('ü → x'))", &input),
        json!("ü → x")
    );
    fails(
        "States.Base64Decode('not base64!')",
        &input,
        names::INTRINSIC_FAILURE,
        "not valid base64",
    );
    fails(
        "States.Base64Decode($.latin1)",
        &input,
        names::INTRINSIC_FAILURE,
        "not UTF-8",
    );
    fails(
        "States.Base64Encode($.n)",
        &input,
        names::INTRINSIC_FAILURE,
        "must be a string, not a number",
    );
    let limit = json!({"ok": "é".repeat(10_000), "long": "a".repeat(10_001)});
    assert!(eval("States.Base64Encode($.ok)", &limit).is_ok());
    fails(
        "States.Base64Encode($.long)",
        &limit,
        names::INTRINSIC_FAILURE,
        "10001 characters; at most 10000",
    );
    fails(
        "States.Base64Decode($.long)",
        &limit,
        names::INTRINSIC_FAILURE,
        "at most 10000",
    );
}

#[test]
fn hash() {
    let input = json!({"data": "input data", "algorithm": "SHA-1", "n": 1});
    let hash = |algorithm: &str| ok(&format!("States.Hash($.data, '{algorithm}')"), &input);
    assert_eq!(hash("MD5"), json!("812f45842bc6d66ee14572ce20db8e86"));
    assert_eq!(
        hash("SHA-1"),
        json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
    );
    assert_eq!(
        hash("SHA-256"),
        json!("b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3")
    );
    assert_eq!(
        hash("SHA-384"),
        json!(
            "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562"
        )
    );
    assert_eq!(
        hash("SHA-512"),
        json!(
            "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4"
        )
    );
    assert_eq!(
        ok("States.Hash($.data, $.algorithm)", &input),
        hash("SHA-1")
    );
    assert_eq!(
        ok("States.Hash('', 'SHA-256')", &input),
        json!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    fails(
        "States.Hash($.data, $.n)",
        &input,
        names::INTRINSIC_FAILURE,
        "unknown hash algorithm 1",
    );
    fails(
        "States.Hash($.n, 'MD5')",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 1 must be a string",
    );
    let long = json!({"long": "a".repeat(10_001)});
    fails(
        "States.Hash($.long, 'MD5')",
        &long,
        names::INTRINSIC_FAILURE,
        "at most 10000",
    );
}

#[test]
fn string_split() {
    let input = json!({"inputString": "This.is+a,test=string", "splitter": ".+,=", "n": 1});
    assert_eq!(
        ok("States.StringSplit($.inputString, $.splitter)", &input),
        json!(["This", "is", "a", "test", "string"])
    );
    assert_eq!(
        ok("States.StringSplit('1,2,3,4,5', ',')", &input),
        json!(["1", "2", "3", "4", "5"])
    );
    assert_eq!(
        ok("States.StringSplit(',,a,,b,', ',')", &input),
        json!(["a", "b"])
    );
    assert_eq!(ok("States.StringSplit('a b', '')", &input), json!(["a b"]));
    assert_eq!(ok("States.StringSplit('', ',')", &input), json!([]));
    assert_eq!(
        ok("States.StringSplit('a→b', '→')", &input),
        json!(["a", "b"])
    );
    fails(
        "States.StringSplit($.n, ',')",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 1 must be a string, not a number",
    );
    fails(
        "States.StringSplit('a', $.n)",
        &input,
        names::INTRINSIC_FAILURE,
        "argument 2 must be a string",
    );
}
