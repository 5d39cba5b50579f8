//! Reference paths (`ResultPath`).

use super::*;
use serde_json::json;

fn result_path_failure(path: &str, input: Value) -> Failure {
    let path = ReferencePath::parse(path).expect("valid reference path");
    match path.apply(input, json!("R")) {
        Ok(value) => panic!("{path} applied: {value}"),
        Err(failure) => failure,
    }
}

#[test]
fn reference_paths_put_the_result_in_place() {
    let apply = |path: &str, input: Value| {
        ReferencePath::parse(path)
            .expect("valid reference path")
            .apply(input, json!("R"))
            .expect("applies")
    };
    assert_eq!(apply("$", json!({"a": 1})), json!("R"));
    assert_eq!(apply("$", json!("anything")), json!("R"));
    assert_eq!(
        apply("$.a", json!({"a": 1, "b": 2})),
        json!({"a": "R", "b": 2})
    );
    assert_eq!(apply("$.c", json!({"a": 1})), json!({"a": 1, "c": "R"}));
    assert_eq!(apply("$.x.y.z", json!({})), json!({"x": {"y": {"z": "R"}}}));
    assert_eq!(
        apply("$['x y'].z", json!({"x y": {"k": 1}})),
        json!({"x y": {"k": 1, "z": "R"}})
    );
    assert_eq!(
        apply("$.a[1]", json!({"a": [1, 2, 3]})),
        json!({"a": [1, "R", 3]})
    );
    assert_eq!(
        apply("$.a[0].b", json!({"a": [{"c": 1}]})),
        json!({"a": [{"c": 1, "b": "R"}]})
    );
    assert_eq!(apply("$[1]", json!([0, 0])), json!([0, "R"]));
    // Member order is kept; an existing member is overwritten in place.
    let applied = apply("$.a", json!({"z": 1, "a": 2, "b": 3}));
    assert_eq!(
        applied
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["z".into(), "a".into(), "b".into()])
    );
}

#[test]
fn reference_paths_fail_on_values_they_cannot_step_through() {
    let failure = result_path_failure("$.a.b", json!({"a": "a string"}));
    assert_eq!(failure.error, names::RESULT_PATH_MATCH_FAILURE);
    assert_eq!(
        failure.cause.as_deref(),
        Some(r#"Unable to apply ResultPath "$.a.b" to input "{"a":"a string"}""#)
    );
    for (path, input) in [
        ("$.a", json!("not an object")),
        ("$.a", json!([1])),
        ("$[0]", json!({"a": 1})),
        ("$.a[3]", json!({"a": [1, 2]})),
        ("$.a[0]", json!({"a": {"0": 1}})),
        ("$.a[0]", json!({})),
        ("$.a.b[0]", json!({"a": {}})),
        ("$.a.b", json!({"a": [1]})),
        ("$.a.b", json!({"a": null})),
    ] {
        let failure = result_path_failure(path, input);
        assert_eq!(failure.error, names::RESULT_PATH_MATCH_FAILURE, "{path}");
    }
}

#[test]
fn reference_paths_allow_only_names_and_indexes() {
    assert!(ReferencePath::root().is_root());
    assert_eq!(ReferencePath::root().as_str(), "$");
    let parsed = ReferencePath::parse("$.a['b'][0]").expect("valid");
    assert!(!parsed.is_root());
    assert_eq!(parsed.to_string(), "$.a['b'][0]");
    for (path, position) in [
        ("$$.a", 0),
        ("$.a[*]", 3),
        ("$.*", 1),
        ("$..a", 1),
        ("$.a[-1]", 3),
        ("$[0:1]", 1),
        ("$[0,1]", 1),
        ("$['a','b']", 1),
        ("$[?(@.a)]", 1),
    ] {
        let err = ReferencePath::parse(path).expect_err(path);
        assert_eq!(err.position, position, "{path}: {err}");
        assert!(
            err.message
                .contains("reference paths allow only names and indexes"),
            "{path}: {err}"
        );
    }
    assert!(ReferencePath::parse("$.").is_err());
    assert!(ReferencePath::parse("").is_err());
}
