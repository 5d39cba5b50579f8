//! Unit tests of the `jsonpath` module.

//! Expected results were produced by jsonpath-ng 1.16.0 (`jsonpath_ng.ext.parse`),
//! running the same expressions on the same documents.

use serde_json::{Value, json};

use super::{Filter, JsonPath, MAX_NESTING};
use crate::Error;

fn features() -> Value {
    json!([
        {"id": "S2A_1", "collection": "sentinel-2-l2a",
         "properties": {"eo:cloud_cover": 5, "confidence": 90, "flag": true, "n": null,
                        "tags": ["a", "b"]},
         "assets": {"B01": {"href": "s3://bucket/B01.tif"}}},
        {"id": "S2B_2", "collection": "sentinel-2-l1c",
         "properties": {"eo:cloud_cover": 50.5, "confidence": 80, "flag": false, "tags": []}},
        {"id": "LC08_3", "collection": "landsat-c2-l2",
         "properties": {"eo:cloud_cover": "7", "confidence": 80.0, "flag": 1, "tags": ["b"]}},
        {"id": "S2C_4",
         "properties": {"eo:cloud_cover": null, "confidence": "90", "flag": "true"}},
        {"id": 5, "properties": {"confidence": true}},
        {"id": "x\n", "properties": {"confidence": 79.99, "big": 9_007_199_254_740_993_u64}},
    ])
}

fn payload() -> Value {
    json!({"id": "payload-1", "threshold": 80, "features": features()})
}

/// The indices of the features `$.features[?(<filter>)]` keeps.
fn kept(filter: &str) -> Vec<usize> {
    let filter = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let payload = payload();
    let features = payload["features"].as_array().cloned().unwrap_or_default();
    features
        .iter()
        .enumerate()
        .filter(|(_, feature)| filter.matches_with_root(feature, &payload))
        .map(|(index, _)| index)
        .collect()
}

fn check_filters(cases: &[(&str, &[usize])]) {
    for (filter, expected) in cases {
        assert_eq!(kept(filter), *expected, "filter {filter}");
    }
}

/// The error's position and message, for a syntax error.
fn syntax_error(result: crate::Result<impl std::fmt::Debug>) -> (usize, String) {
    match result {
        Err(Error::JsonPath {
            position, message, ..
        }) => (position, message),
        other => panic!("expected a JSONPath syntax error, got {other:?}"),
    }
}

#[test]
fn single_pipe_is_or_between_conditions() {
    let items = json!([{"id": 1}, {"id": 2}, {"id": 3}]);
    let pipe = Filter::parse("@.id == 1 | @.id == 3 & @.id > 2").unwrap();
    let oror = Filter::parse("@.id == 1 || @.id == 3 && @.id > 2").unwrap();
    for item in items.as_array().unwrap() {
        assert_eq!(pipe.matches(item), oror.matches(item), "{item}");
    }
    assert!(pipe.matches(&json!({"id": 3})) && !pipe.matches(&json!({"id": 2})));
    // After a bare path it is still jsonpath-ng's (unsupported) path union.
    assert!(Filter::parse("@.a | @.b").is_err());
}

#[test]
fn regex_match_and_no_match() {
    check_filters(&[
        (r"@.id =~ 'S2.*'", &[0, 1, 3]),
        (r"@.id =~ '^S2'", &[0, 1, 3]),
        (r"@.id =~ 'A_1$'", &[0]),
        // Python's `$` also matches before a final newline.
        (r"@.id =~ 'x$'", &[5]),
        (r"@.id =~ '(?i)s2b'", &[1]),
        (r"@.id =~ '\\d$'", &[0, 1, 2, 3]),
        (r"@.id =~ 'landsat'", &[]),
        (r"@.collection =~ 'sentinel-2-l2a|landsat'", &[0, 2]),
        (r"@.id =~ S2", &[0, 1, 3]),
        (r"@.id =~ null", &[]),
        // Only strings are searched: the int 90 is not, the string "90" is.
        (r"@.properties.confidence =~ '9'", &[3]),
        (r"@.assets.B01.href =~ '^s3://'", &[0]),
    ]);
}

#[test]
fn boolean_operators_and_precedence() {
    check_filters(&[
        (r"@.id =~ 'S2.*' & @.properties.confidence > 80", &[0]),
        (r"@.id =~ 'S2.*' && @.properties.confidence >= 80", &[0, 1]),
        (
            r"@.id =~ 'S2.*' || @.collection =~ 'landsat'",
            &[0, 1, 2, 3],
        ),
        (
            r"@.id == 'S2A_1' || @.id == 'S2B_2' && @.properties.flag == true",
            &[0],
        ),
        (
            r"(@.id == 'S2A_1' || @.id == 'S2B_2') && @.properties.flag == true",
            &[0],
        ),
        (
            r"@.id == 'S2A_1' || (@.id == 'S2B_2' && @.properties.flag == false)",
            &[0, 1],
        ),
    ]);
}

#[test]
fn numeric_comparisons_do_not_coerce() {
    check_filters(&[
        (r"@.properties.confidence == 80", &[1, 2]),
        (r"@.properties.confidence == 80.0", &[1, 2]),
        (r"@.properties.confidence = 80", &[1, 2]),
        (r"@.properties.confidence == '80'", &[]),
        (r"@.properties.confidence == '90'", &[3]),
        (r"@.properties.confidence > 79", &[0, 1, 2, 5]),
        (r"@.properties.confidence > 79.5", &[0, 1, 2, 5]),
        (r"@.properties.confidence < 80", &[5]),
        (r"@.properties.confidence <= 80", &[1, 2, 5]),
        (r"@.properties.confidence != 80", &[0, 3, 4, 5]),
        (r"@.properties.confidence == true", &[4]),
        (r"@.properties.confidence == 1", &[]),
        (r"@.properties.flag == 1", &[2]),
        (r"@.properties.flag == true", &[0]),
        (r"@.properties.flag != true", &[1, 2, 3, 4, 5]),
        (r"@.properties.flag < true", &[]),
        (r"@.properties.flag <= true", &[0]),
        (r"@.properties.flag == 'true'", &[3]),
        (r"@.properties.big == 9007199254740993", &[5]),
        (r"@.properties.big > 9007199254740992", &[5]),
        (r"@.properties.big == 9007199254740992.0", &[]),
        (r"@.properties.'eo:cloud_cover' > '5'", &[2]),
    ]);
}

#[test]
fn nested_and_quoted_paths() {
    check_filters(&[
        (r"@.properties.'eo:cloud_cover' < 10", &[0]),
        (r"@.properties['eo:cloud_cover'] < 10", &[0]),
        (r"@.properties.'eo:cloud_cover' < 10.5", &[0]),
        (r"@.assets.B01.href", &[0]),
        (r"@..B01", &[0]),
        (r#"@.id == "S2A_1""#, &[0]),
        (r"@.id == S2A_1", &[0]),
        (r"@.id == True", &[]),
        (r"id =~ '^S2'", &[0, 1, 3]),
        (r"@.properties.tags[*] == 'b'", &[0, 2]),
        (r"@.properties.tags[0] == 'b'", &[2]),
        (r"@.properties.tags[-1] == 'b'", &[0, 2]),
        (r"@.properties.tags == 'b'", &[]),
        (r"@.properties[?(@ == 90)]", &[0]),
        (r"@.properties.tags[?(@ == 'a')]", &[0]),
    ]);
}

#[test]
fn missing_fields_null_and_existence() {
    check_filters(&[
        (r"@.missing == 1", &[]),
        // A missing field is "not equal" to everything, null included.
        (r"@.missing != 1", &[0, 1, 2, 3, 4, 5]),
        (r"@.missing != null", &[0, 1, 2, 3, 4, 5]),
        (r"@.missing == null", &[]),
        (r"@.properties.'eo:cloud_cover' == null", &[3]),
        (r"@.properties.'eo:cloud_cover' != null", &[0, 1, 2, 4, 5]),
        (r"@.properties.'eo:cloud_cover' <= null", &[3]),
        // Existence holds for a null value.
        (r"@.properties.n", &[0]),
        (r"@.properties.n == null", &[0]),
        (r"!@.properties.n", &[1, 2, 3, 4, 5]),
        (r"!@.assets", &[1, 2, 3, 4, 5]),
    ]);
}

#[test]
fn query_operands_and_root() {
    check_filters(&[
        (r"@.properties.confidence == $.threshold", &[1, 2]),
        (r"@.properties.confidence > $.threshold", &[0]),
        // Two empty node lists are equal.
        (
            r"@.properties.missing == @.properties.other",
            &[0, 1, 2, 3, 4, 5],
        ),
        (r"@.properties.missing < @.properties.other", &[]),
        (r"@.properties.missing != $.threshold", &[0, 1, 2, 3, 4, 5]),
        (r"$.id == 'payload-1'", &[0, 1, 2, 3, 4, 5]),
    ]);
}

#[test]
fn chain_filter_selects_features() -> crate::Result<()> {
    let payload = payload();
    let filter = Filter::parse("@.id =~ 'S2.*' & @.properties.confidence > 80")?;
    let selected = filter.select(&payload["features"], &payload);
    assert_eq!(selected, vec![&payload["features"][0]]);
    // On an object, a filter keeps values.
    let object = json!({"a": {"v": 1}, "b": {"v": 2}});
    let filter = Filter::parse("@.v >= 2")?;
    assert_eq!(filter.select(&object, &object), vec![&json!({"v": 2})]);
    assert!(filter.select(&json!("text"), &object).is_empty());
    assert_eq!(filter.as_str(), "@.v >= 2");
    assert_eq!(filter.to_string(), "@.v >= 2");
    Ok(())
}

#[test]
fn collection_matchers_on_one_item_list() -> crate::Result<()> {
    let cases: &[(&str, [bool; 6])] = &[
        (
            r"$[?(@.collection == 'sentinel-2-l2a')]",
            [true, false, false, false, false, false],
        ),
        (
            r"$[?(@.collection =~ 'sentinel-2')]",
            [true, true, false, false, false, false],
        ),
        (
            r"$[?(@.id =~ 'S2.*')]",
            [true, true, false, true, false, false],
        ),
        (
            r"$[?(@.properties.flag)]",
            [true, true, true, true, false, false],
        ),
        (
            r"$[?(@.collection != 'landsat-c2-l2')]",
            [true, true, false, true, true, true],
        ),
        (
            r"$[?(@.properties.tags[*] == 'b')].id",
            [true, false, true, false, false, false],
        ),
        (r"$[0]", [true; 6]),
        (
            r"$[?(@.id =~ '^S2[AB]')]",
            [true, true, false, false, false, false],
        ),
    ];
    let features = features();
    for (pattern, expected) in cases {
        let path = JsonPath::parse(pattern)?;
        for (index, feature) in features.as_array().into_iter().flatten().enumerate() {
            let list = json!([feature]);
            assert_eq!(path.matches(&list), expected[index], "{pattern} on {index}");
        }
    }
    let item = json!({"id": "S2A_1", "collection": "a"});
    let path = JsonPath::parse("$[?(@.collection == 'a')]")?;
    assert_eq!(path.find(&json!([item.clone()])), vec![&item]);
    assert_eq!(path.as_str(), "$[?(@.collection == 'a')]");
    Ok(())
}

#[test]
fn path_selectors() -> crate::Result<()> {
    let doc = json!({
        "a": {"b": [1, {"c": 2}, [3]], "c": 4}, "list": [10, 20, 30, 40, 50],
        "0": "zero", "null": "n", "a-b": "dash", "@id": "at", "eo:x": 1,
        "items": {"x": {"v": 1}, "y": {"v": 2}, "z": {"w": 3}}
    });
    let cases = [
        (r"$.a.b", r#"[[1, {"c": 2}, [3]]]"#),
        (r"$.a.b[1].c", r"[2]"),
        (r"$..c", r"[4, 2]"),
        (r"$..[0]", r"[1, 3, 10]"),
        (r"$.list[1:3]", r"[20, 30]"),
        (r"$.list[-2:]", r"[40, 50]"),
        (r"$.list[::-2]", r"[50, 30, 10]"),
        (r"$.list[5:0:-2]", r"[50, 30]"),
        (r"$.list[::0]", r"[]"),
        (r"$.list[-1]", r"[50]"),
        (r"$.list[0,0,-5]", r"[10, 10, 10]"),
        (r"$.list[9]", r"[]"),
        (r"$.list.0", r"[]"),
        (r"$.0", r#"["zero"]"#),
        (r"$['0']", r#"["zero"]"#),
        (r"$.null", r#"["n"]"#),
        (r"$.a-b", r#"["dash"]"#),
        (r"$.@id", r#"["at"]"#),
        (r"$['eo:x']", r"[1]"),
        (r#"$."eo:x""#, r"[1]"),
        (
            r"$.a,list",
            r#"[{"b": [1, {"c": 2}, [3]], "c": 4}, [10, 20, 30, 40, 50]]"#,
        ),
        (r"$.a.*", r#"[[1, {"c": 2}, [3]], 4]"#),
        (r"$.items[?(@.v)]", r#"[{"v": 1}, {"v": 2}]"#),
        (r"$.items[?(@.v >= 2)].v", r"[2]"),
        (r"$.items.*.v", r"[1, 2]"),
        (r"$..v", r"[1, 2]"),
        (r"$.list[?(@ > 25)]", r"[30, 40, 50]"),
        (r"$.a.b[*]", r#"[1, {"c": 2}, [3]]"#),
        (r"a.c", r"[4]"),
        (r"@.a.c", r"[4]"),
        (r"$.a.b.c", r"[]"),
        (r"$[*][0]", r"[10]"),
        (r"$.missing", r"[]"),
    ];
    for (expression, expected) in cases {
        let found: Vec<Value> = JsonPath::parse(expression)?
            .find(&doc)
            .into_iter()
            .cloned()
            .collect();
        let expected: Vec<Value> = serde_json::from_str(expected)?;
        assert_eq!(found, expected, "{expression}");
    }
    assert_eq!(JsonPath::parse("$")?.find(&doc), vec![&doc]);
    Ok(())
}

#[test]
fn syntax_errors_have_positions_and_messages() {
    // Every expression here is rejected by jsonpath-ng too.
    let filters = [
        ("@.id ==", 7, "expected a value after `==`"),
        ("@.id == 'S2", 8, "unterminated string"),
        ("(@.id == 'a'", 12, "expected `)`, found the end"),
        (
            "@.id == 'a')",
            11,
            "expected the end of the expression, found `)`",
        ),
        ("@.id === 1", 7, "found `=`"),
        ("@.properties.eo:cloud_cover < 10", 15, "found `:`"),
        ("@.a & @.b", 4, "intersection"),
        ("!(@.a == 1)", 6, "`!` negates a path"),
        ("@.a =~ @.b", 7, "literal pattern"),
        ("@.a == 1e5", 8, "found `e5`"),
        ("@.a == .5", 7, "found `.`"),
        ("@.where == 1", 2, "reserved word"),
        ("", 0, "found the end of the expression"),
        ("@.a == 'x' 'y'", 11, "expected the end of the expression"),
        ("@.a[?(@.b]", 9, "expected `)`"),
        ("@.\u{e9} == 1", 2, "non-ASCII"),
    ];
    for (filter, position, message) in filters {
        let (at, text) = syntax_error(Filter::parse(filter));
        assert_eq!(at, position, "{filter}: {text}");
        assert!(text.contains(message), "{filter}: {text}");
    }
    let paths = [
        ("$.", 2, "expected a field name, `*` or `[` after `.`"),
        ("$..", 3, "after `..`"),
        ("$[", 2, "after `[`"),
        ("$[]", 2, "found `]`"),
        ("$['a'", 5, "expected `]`"),
        ("$.a[?(@.b)", 10, "expected `]`"),
        ("$[?(@.a)]]", 9, "expected the end"),
        ("[?(@.a)]", 1, "must directly follow a path"),
        ("$.[?(@.a)]", 3, "must directly follow a path"),
        ("$a", 1, "found `a`"),
        ("$.a[1.5]", 4, "found `1.5`"),
        ("$[0:1:2:3]", 7, "expected `]`"),
        ("$[*,0]", 3, "expected `]`"),
    ];
    for (path, position, message) in paths {
        let (at, text) = syntax_error(JsonPath::parse(path));
        assert_eq!(at, position, "{path}: {text}");
        assert!(text.contains(message), "{path}: {text}");
    }
    // Positions count characters, not bytes.
    let (at, _) = syntax_error(Filter::parse("@.a == '\u{e9}\u{e9}' )"));
    assert_eq!(at, 12);
}

#[test]
fn unsupported_syntax_is_rejected() {
    // jsonpath-ng accepts these; this module rejects them with an explanation.
    let cases = [
        ("@.a | @.b", "union"),
        ("`len` == 1", "backquotes"),
        ("@.a + 1 == 2", "arithmetic"),
        ("@.a =~ 5", "quoted regular expression"),
        ("(@.a) == 1", "parenthesized path"),
        ("@.a == 1) || (@.b == 2", "expected the end"),
        (
            "@.a == 1000000000000000000000000000000000000000",
            "out of range",
        ),
    ];
    for (filter, message) in cases {
        let (_, text) = syntax_error(Filter::parse(filter));
        assert!(text.contains(message), "{filter}: {text}");
    }
    for path in ["$.a where b", "$.a[/x]", "$.a.$", "$.a|b"] {
        syntax_error(JsonPath::parse(path));
    }
}

#[test]
fn regex_errors() {
    for pattern in [
        r"(?=x)",
        r"(?<=x)a",
        r"(a)\\1",
        r"(?P<n>a)(?P=n)",
        r"(?x)a b",
        r"a**",
        r"a++",
        r"[a",
        r"(a",
        r"\\p{L}",
        r"{2}",
    ] {
        match Filter::parse(&format!("@ =~ '{pattern}'")) {
            Err(Error::Regex { .. }) => {}
            other => panic!("{pattern}: expected a regex error, got {other:?}"),
        }
    }
}

#[test]
fn python_regex_translation() -> crate::Result<()> {
    let strings = json!(["", "a", "ab", "a\n", "a{", "{2}", "x", "ABC", "b\na", "aa"]);
    let cases: &[(&str, &[&str])] = &[
        (r"\\B", &["ab", "a\n", "a{", "{2}", "ABC", "aa"]),
        (r"a$", &["a", "a\n", "b\na", "aa"]),
        (r"a\\Z", &["a", "b\na", "aa"]),
        (r"a{", &["a{"]),
        (r"a{}", &[]),
        (r"a{2}", &["aa"]),
        (r"^\\{2}", &["{2}"]),
        (r"^a{,1}$", &["", "a", "a\n"]),
        (r"(?i)abc(?#comment)", &["ABC"]),
        (r"^[]a]", &["a", "ab", "a\n", "a{", "aa"]),
        (r"(?m)^a$", &["a", "a\n", "b\na"]),
        (
            r"[^\\n]$",
            &["a", "ab", "a\n", "a{", "{2}", "x", "ABC", "b\na", "aa"],
        ),
    ];
    for (pattern, expected) in cases {
        let path = JsonPath::parse(&format!("$[?(@ =~ '{pattern}')]"))?;
        let found = path.find(&strings);
        let expected: Vec<Value> = expected.iter().map(|s| json!(s)).collect();
        assert_eq!(found, expected.iter().collect::<Vec<_>>(), "{pattern}");
    }
    Ok(())
}

#[test]
fn nesting_is_limited() -> crate::Result<()> {
    let deep = |levels: usize| format!("{}@.a{}", "(".repeat(levels), ")".repeat(levels));
    assert!(Filter::parse(&deep(MAX_NESTING))?.matches(&json!({"a": 1})));
    let (_, message) = syntax_error(Filter::parse(&deep(MAX_NESTING + 1)));
    assert!(message.contains("deeper than 64"), "{message}");
    let filters = |levels: usize| format!("${}{}", "[?(@".repeat(levels), ")]".repeat(levels));
    JsonPath::parse(&filters(MAX_NESTING))?;
    syntax_error(JsonPath::parse(&filters(MAX_NESTING + 1)));
    Ok(())
}

#[test]
fn no_input_panics() {
    let mut inputs: Vec<String> = [
        "",
        " ",
        "$",
        "@",
        "[",
        "]",
        "(",
        ")",
        "'",
        "\"",
        "`",
        "\\",
        "'\\",
        "$[",
        "$[?",
        "$[?(",
        "$[?(@",
        "$[?(@.a ==",
        "$[?(@.a == 'x",
        "$..",
        "$...",
        "$[::",
        "$[-",
        "$[1:-",
        "!",
        "!!",
        "!(",
        "&&",
        "||",
        "@ =~ '(?",
        "@ =~ '\\\\x4'",
        "@ =~ '[[:alpha:'",
        "@ =~ '{,'",
        "@ =~ '\\\\'",
        "@.\u{1F600}",
        "'\u{1F600}'",
        "$.\u{4E2D}",
        "\u{0}",
        "\r\n",
        "\t$\t",
        "$[99999999999999999999999999]",
        "$[-99999999999999999999999:99999999999999999999]",
        "@.a == -99999999999999999999999999999999999999999",
        "@.a == 1.7976931348623157e308",
        "@.a == 99999999999999999999999999999999999999999999999999999999.5",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    inputs.push("(".repeat(10_000));
    inputs.push("[?(".repeat(10_000));
    inputs.push(format!("$.a{}", "[?(@.b".repeat(500)));
    inputs.push("!".repeat(1_000) + "@");
    inputs.push("$".to_owned() + &".a".repeat(10_000));
    let doc = json!({"a": [1, "x", {"b": null}], "b": {"c": [[[]]]}});
    for input in &inputs {
        for candidate in [
            input.clone(),
            format!("$[?({input})]"),
            format!("@.a == {input}"),
        ] {
            if let Ok(path) = JsonPath::parse(&candidate) {
                path.find(&doc);
            }
            if let Ok(filter) = Filter::parse(&candidate) {
                filter.matches(&doc);
            }
        }
    }
    // Deep documents do not overflow the stack either.
    let mut deep = json!(1);
    for _ in 0..10_000 {
        deep = Value::Array(vec![deep]);
    }
    let found = JsonPath::parse("$..[?(@ == 1)]").map(|path| path.find(&deep).len());
    assert_eq!(found.ok(), Some(1));
    // Dropping a 10 000-deep value recursively would overflow; leak it instead.
    std::mem::forget(deep);
}
