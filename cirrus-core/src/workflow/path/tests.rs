use super::*;
use serde_json::json;

mod filters;
mod reference;

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
