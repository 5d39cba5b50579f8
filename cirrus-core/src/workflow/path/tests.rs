use super::*;
use serde_json::json;

fn store() -> Value {
    json!({
        "store": {
            "book": [
                {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
                {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
                {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick",
                 "isbn": "0-553-21311-3", "price": 8.99, "ok": true},
                {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord",
                 "isbn": "0-395-19395-8", "price": 22.99, "ok": false}
            ],
            "bicycle": {"color": "red", "price": 19.95}
        },
        "expensive": 10
    })
}

/// Selects `path` from [`store`] (and `context` for `$$`).
fn select(path: &str) -> Option<Value> {
    let context = json!({"Execution": {"Id": "arn:1"}, "Map": {"Item": {"Index": 2}}});
    let path = Path::parse(path).unwrap_or_else(|err| panic!("{path}: {err}"));
    path.select(&store(), &context).map(Cow::into_owned)
}

fn syntax_error(path: &str) -> SyntaxError {
    match Path::parse(path) {
        Ok(parsed) => panic!("{path} parsed as {parsed:?}"),
        Err(err) => err,
    }
}

#[test]
fn definite_paths_select_one_value_or_nothing() {
    assert_eq!(select("$"), Some(store()));
    assert_eq!(select("$.expensive"), Some(json!(10)));
    assert_eq!(select("$.store.bicycle.color"), Some(json!("red")));
    assert_eq!(
        select("$['store']['bicycle'][\"color\"]"),
        Some(json!("red"))
    );
    assert_eq!(select("$.store.book[1].title"), Some(json!("Sword")));
    assert_eq!(select("$.store.book[-1].title"), Some(json!("The Lord")));
    assert_eq!(select("$.store.book[-4].title"), Some(json!("Sayings")));
    assert_eq!(select("$$.Execution.Id"), Some(json!("arn:1")));
    assert_eq!(select("$$.Map.Item.Index"), Some(json!(2)));
    // Missing: a member, an index out of range either way, a name on a non-object, an
    // index on a non-array.
    for missing in [
        "$.nothing",
        "$.store.book[4]",
        "$.store.book[-5]",
        "$.expensive.x",
        "$.store.bicycle[0]",
        "$.store.book.title",
    ] {
        assert_eq!(select(missing), None, "{missing}");
    }
}

#[test]
fn definite_selection_borrows_the_input() {
    let input = store();
    let path = Path::parse("$.store.bicycle").expect("valid path");
    let selected = path.select(&input, &Value::Null);
    assert!(
        matches!(selected, Some(Cow::Borrowed(value)) if std::ptr::eq(value, &input["store"]["bicycle"]))
    );
    assert!(
        matches!(Path::root().select(&input, &Value::Null), Some(Cow::Borrowed(value)) if std::ptr::eq(value, &input))
    );
}

#[test]
fn indefinite_paths_select_an_array_in_document_order() {
    assert_eq!(
        select("$.store.book[*].author"),
        Some(json!([
            "Nigel Rees",
            "Evelyn Waugh",
            "Herman Melville",
            "J. R. R. Tolkien"
        ]))
    );
    assert_eq!(select("$.store.bicycle.*"), Some(json!(["red", 19.95])));
    assert_eq!(
        select("$.store.book[*].isbn"),
        Some(json!(["0-553-21311-3", "0-395-19395-8"]))
    );
    assert_eq!(select("$.store.book[*].nothing"), Some(json!([])));
    assert_eq!(select("$.expensive[*]"), Some(json!([])));
    assert_eq!(
        select("$..price"),
        Some(json!([8.95, 12.99, 8.99, 22.99, 19.95]))
    );
    assert_eq!(select("$.store..color"), Some(json!(["red"])));
    assert_eq!(select("$..book[2].title"), Some(json!(["Moby Dick"])));
    assert_eq!(select("$..[1].title"), Some(json!(["Sword"])));
    assert_eq!(select("$..['color','expensive']"), Some(json!([10, "red"])));
    let everything = select("$..*").expect("an array");
    assert_eq!(
        everything.as_array().map(Vec::len),
        Some(2 + 2 + 4 + 4 * 5 + 2)
    );
    assert_eq!(everything[0], store()["store"]);
    assert_eq!(everything[1], json!(10));
}

#[test]
fn slices_and_unions() {
    let titles = |path: &str| select(&format!("$.store.book{path}.title"));
    assert_eq!(titles("[0:2]"), Some(json!(["Sayings", "Sword"])));
    assert_eq!(titles("[2:]"), Some(json!(["Moby Dick", "The Lord"])));
    assert_eq!(titles("[:1]"), Some(json!(["Sayings"])));
    assert_eq!(titles("[-2:]"), Some(json!(["Moby Dick", "The Lord"])));
    assert_eq!(titles("[1:-2]"), Some(json!(["Sword"])));
    assert_eq!(titles("[3:1]"), Some(json!([])));
    assert_eq!(
        titles("[-10:10]").map(|v| v.as_array().map(Vec::len)),
        Some(Some(4))
    );
    assert_eq!(titles("[0, 2]"), Some(json!(["Sayings", "Moby Dick"])));
    assert_eq!(titles("[3,-4,9]"), Some(json!(["The Lord", "Sayings"])));
    assert_eq!(
        select("$.store.bicycle['price', 'color', 'nothing']"),
        Some(json!([19.95, "red"]))
    );
}

#[test]
fn filters() {
    let titles = |filter: &str| select(&format!("$.store.book[?({filter})].title"));
    assert_eq!(
        titles("@.price < 10"),
        Some(json!(["Sayings", "Moby Dick"]))
    );
    assert_eq!(
        titles("@.price<=8.99"),
        Some(json!(["Sayings", "Moby Dick"]))
    );
    assert_eq!(titles("@.price > 20"), Some(json!(["The Lord"])));
    assert_eq!(titles("@.price >= 22.99"), Some(json!(["The Lord"])));
    assert_eq!(
        titles("@.price > $.expensive"),
        Some(json!(["Sword", "The Lord"]))
    );
    assert_eq!(
        titles("@.category == 'reference'"),
        Some(json!(["Sayings"]))
    );
    assert_eq!(
        titles("@.category != \"fiction\""),
        Some(json!(["Sayings"]))
    );
    assert_eq!(titles("@.isbn"), Some(json!(["Moby Dick", "The Lord"])));
    assert_eq!(titles("!@.isbn"), Some(json!(["Sayings", "Sword"])));
    assert_eq!(titles("@.ok == true"), Some(json!(["Moby Dick"])));
    assert_eq!(titles("@.ok == false"), Some(json!(["The Lord"])));
    assert_eq!(
        titles("@.price < 10 && @.ok == true"),
        Some(json!(["Moby Dick"]))
    );
    assert_eq!(
        titles("@.price < 9 || @.price > 20"),
        Some(json!(["Sayings", "Moby Dick", "The Lord"]))
    );
    assert_eq!(
        titles("!(@.price < 9 || @.price > 20) && @.category == 'fiction'"),
        Some(json!(["Sword"]))
    );
    assert_eq!(
        titles("@.author =~ /.*Melville/"),
        Some(json!(["Moby Dick"]))
    );
    assert_eq!(
        titles("@.author =~ /melville/"),
        Some(json!([])),
        "the whole string must match"
    );
    assert_eq!(
        titles("@.author =~ /.*MELVILLE/i"),
        Some(json!(["Moby Dick"]))
    );
    assert_eq!(
        titles("@.price =~ /8.*/"),
        Some(json!([])),
        "only strings match a regex"
    );
    // Comparisons with a missing value, or between types, are false.
    assert_eq!(
        titles("@.isbn != 'x'"),
        Some(json!(["Moby Dick", "The Lord"]))
    );
    assert_eq!(titles("@.price < '10'"), Some(json!([])));
    assert_eq!(titles("@.price == 12.990"), Some(json!(["Sword"])));
    // A filter on an object tests the object itself.
    assert_eq!(
        select("$.store.bicycle[?(@.color == 'red')].price"),
        Some(json!([19.95]))
    );
    assert_eq!(
        select("$.store.bicycle[?(@.color == 'blue')]"),
        Some(json!([]))
    );
    // Descendants: every object tested once.
    assert_eq!(
        select("$..[?(@.price > 19)].price"),
        Some(json!([22.99, 19.95]))
    );
    assert_eq!(
        select("$..book[?(@.isbn)].price"),
        Some(json!([8.99, 22.99]))
    );
}

#[test]
fn filters_on_scalars_and_numbers() {
    let input = json!({"values": [1, 2.5, 3, "3", null, [3]], "n": 1e2});
    let path = |text: &str| {
        Path::parse(text)
            .expect("valid path")
            .select(&input, &Value::Null)
            .map(Cow::into_owned)
    };
    assert_eq!(path("$.values[?(@ > 2)]"), Some(json!([2.5, 3])));
    assert_eq!(path("$.values[?(@ == 3)]"), Some(json!([3])));
    assert_eq!(path("$.values[?(@ == 3.0)]"), Some(json!([3])));
    assert_eq!(path("$.values[?(@ == '3')]"), Some(json!(["3"])));
    assert_eq!(path("$.values[?(@ == null)]"), Some(json!([null])));
    assert_eq!(path("$.values[?(@ > -1e1)]"), Some(json!([1, 2.5, 3])));
    assert_eq!(path("$.values[?(@[0] == 3)]"), Some(json!([[3]])));
    assert_eq!(path("$.n"), Some(json!(100.0)));
}

#[test]
fn dot_names_take_any_character_but_dot_bracket_and_whitespace() {
    let input = json!({"a-b": {"c:d": {"@e": 1, "ü": 2}}, "x y": 3, "it's": 4, "a.b": 5});
    let path = |text: &str| {
        Path::parse(text)
            .expect("valid path")
            .select(&input, &Value::Null)
            .map(Cow::into_owned)
    };
    assert_eq!(path("$.a-b.c:d.@e"), Some(json!(1)));
    assert_eq!(path("$.a-b.c:d.ü"), Some(json!(2)));
    assert_eq!(path("$['x y']"), Some(json!(3)));
    assert_eq!(path("$['it\\'s']"), Some(json!(4)));
    assert_eq!(path("$[\"it's\"]"), Some(json!(4)));
    assert_eq!(path("$['a.b']"), Some(json!(5)));
    assert_eq!(
        Path::parse("$.a]").map(|path| path.steps),
        Ok(vec![Step::Name("a]".into())])
    );
}

#[test]
fn definiteness() {
    for definite in [
        "$",
        "$$",
        "$.a",
        "$.a[0].b",
        "$['a'][-1]",
        "$$.Execution.Input",
    ] {
        assert!(
            Path::parse(definite).expect("valid").is_definite(),
            "{definite}"
        );
    }
    for indefinite in [
        "$.*",
        "$[*]",
        "$..a",
        "$[0:1]",
        "$[0,1]",
        "$['a','b']",
        "$[?(@.a)]",
    ] {
        assert!(
            !Path::parse(indefinite).expect("valid").is_definite(),
            "{indefinite}"
        );
    }
}

#[test]
fn roots() {
    let root = Path::parse("$").expect("valid");
    assert!(root.is_root() && !root.is_context() && root.is_definite());
    assert!(Path::root().is_root());
    assert_eq!(Path::root().as_str(), "$");
    let context = Path::parse("$$").expect("valid");
    assert!(!context.is_root() && context.is_context());
    assert!(Path::parse("$$.Task.Token").expect("valid").is_context());
    assert!(!Path::parse("$.a").expect("valid").is_root());
    assert_eq!(Path::parse("$.a[0]").expect("valid").to_string(), "$.a[0]");
}

#[test]
fn syntax_errors_say_where_and_what() {
    let cases = [
        ("", 0, "empty"),
        ("a.b", 0, "starts with '$'"),
        (" $.a", 0, "starts with '$'"),
        ("$.", 2, "expected a name"),
        ("$.a.", 4, "expected a name"),
        ("$..", 3, "'..' must be followed"),
        ("$.a b", 3, "unexpected ' '"),
        ("$a", 1, "unexpected 'a'"),
        ("$[0]a", 4, "unexpected 'a'"),
        ("$[", 1, "unclosed '['"),
        ("$[0", 1, "unclosed '['"),
        ("$['a'", 1, "unclosed '['"),
        ("$['a]", 2, "unclosed quote"),
        ("$[a]", 2, "expected '*'"),
        ("$[0 1]", 4, "expected ']'"),
        ("$[-]", 3, "digits after '-'"),
        ("$[0,]", 4, "index after ','"),
        ("$[99999999999999999999]", 2, "too large"),
        ("$[1:2:3]", 5, "expected ']'"),
        ("$[?@.a]", 3, "expected '('"),
        ("$[?(@.a]", 7, "expected ')'"),
        ("$[?(@.a == )]", 11, "expected '@'"),
        ("$[?(1)]", 4, "literal alone"),
        ("$[?(@.a =~ 'x')]", 11, "/regex/"),
        ("$[?(@.a =~ /x)]", 11, "unclosed regex"),
        ("$[?(@.a =~ /(/)]", 11, "invalid regex"),
        ("$[?(@.a =~ /x/q)]", 14, "unknown regex flag"),
        ("$[?(@.a == 1e)]", 11, "not a number"),
        ("$.ü.", 4, "expected a name"),
    ];
    for (path, position, message) in cases {
        let err = syntax_error(path);
        assert_eq!(err.position, position, "{path}: {err}");
        assert!(err.message.contains(message), "{path}: {err}");
    }
}

#[test]
fn deeply_nested_filters_are_refused() {
    let nested = |depth: usize| format!("$[?({}@.a{})]", "(".repeat(depth), ")".repeat(depth));
    assert!(Path::parse(&nested(parse::MAX_NESTING - 1)).is_ok());
    assert!(
        syntax_error(&nested(10_000))
            .message
            .contains("nest more than")
    );
    let negations = format!("$[?({}@.a)]", "!".repeat(10_000));
    assert!(syntax_error(&negations).message.contains("nest more than"));
}

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
