//! Property tests: definite paths built from real locations find them; rendered paths
//! parse back to the same steps.

use super::parse::{Parser, Step};
use super::*;
use proptest::prelude::*;

/// Member names with the characters that need brackets or escapes.
fn key() -> impl Strategy<Value = String> {
    "[a-z0-9.\\[\\] '\"*\\\\é:@-]{0,6}"
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z ]{0,5}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Every location in `value`: the steps to it (indexes as written: maybe from the end).
fn locations(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>, from_end: bool) {
    out.push(prefix.clone());
    match value {
        Value::Object(object) => {
            for (name, child) in object {
                prefix.push(Step::Name(name.clone()));
                locations(child, prefix, out, !from_end);
                prefix.pop();
            }
        }
        Value::Array(array) => {
            for (at, child) in array.iter().enumerate() {
                let index = i64::try_from(at).expect("small test arrays");
                let len = i64::try_from(array.len()).expect("small test arrays");
                prefix.push(Step::Index(if from_end { index - len } else { index }));
                locations(child, prefix, out, !from_end);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// `'name'`, with `\` and `'` escaped.
fn quote(name: &str) -> String {
    format!("'{}'", name.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Writes `steps` as path text: in dot notation where a name allows it if `dots`, else
/// always in brackets.
fn render(steps: &[Step], dots: bool) -> String {
    let mut text = String::from("$");
    for step in steps {
        render_step(step, dots, &mut text);
    }
    text
}

fn render_step(step: &Step, dots: bool, text: &mut String) {
    let dot_safe = |name: &str| {
        dots && !name.is_empty()
            && !name.starts_with('*')
            && !name.contains(|c: char| c == '.' || c == '[' || c.is_whitespace())
    };
    match step {
        Step::Name(name) if dot_safe(name) => text.push_str(&format!(".{name}")),
        Step::Name(name) => text.push_str(&format!("[{}]", quote(name))),
        Step::Index(index) => text.push_str(&format!("[{index}]")),
        Step::Wildcard if dots => text.push_str(".*"),
        Step::Wildcard => text.push_str("[*]"),
        Step::Names(names) => {
            let quoted: Vec<String> = names.iter().map(|name| quote(name)).collect();
            text.push_str(&format!("[{}]", quoted.join(",")));
        }
        Step::Indexes(indexes) => {
            let listed: Vec<String> = indexes.iter().map(i64::to_string).collect();
            text.push_str(&format!("[{}]", listed.join(", ")));
        }
        Step::Slice { start, end } => {
            let bound = |bound: &Option<i64>| bound.map(|b| b.to_string()).unwrap_or_default();
            text.push_str(&format!("[{}:{}]", bound(start), bound(end)));
        }
        Step::Filter(_) => unreachable!("the strategy makes no filters"),
        Step::Descendant(inner) => {
            // `..name`, `..*` or `..[...]`.
            let mut rest = String::new();
            render_step(inner, dots, &mut rest);
            text.push('.');
            if !rest.starts_with('.') {
                text.push('.');
            }
            text.push_str(&rest);
        }
    }
}

fn simple_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        key().prop_map(Step::Name),
        (-9i64..9).prop_map(Step::Index),
        Just(Step::Wildcard),
        prop::collection::vec(key(), 2..4).prop_map(Step::Names),
        prop::collection::vec(-9i64..9, 2..4).prop_map(Step::Indexes),
        (prop::option::of(-9i64..9), prop::option::of(-9i64..9))
            .prop_map(|(start, end)| Step::Slice { start, end }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => simple_step(),
        1 => simple_step().prop_map(|step| Step::Descendant(Box::new(step))),
    ]
}

proptest! {
    #[test]
    fn definite_paths_find_their_location(value in json(), dots in any::<bool>()) {
        let mut all = Vec::new();
        locations(&value, &mut Vec::new(), &mut all, false);
        for steps in all {
            let expected = super::select::definite(&steps, &value).expect("a real location");
            let text = render(&steps, dots);
            let path = Path::parse(&text).map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
            prop_assert!(path.is_definite());
            let selected = path.select(&value, &Value::Null);
            prop_assert!(
                matches!(selected, Some(Cow::Borrowed(found)) if std::ptr::eq(found, expected)),
                "{} did not find its location", text
            );
        }
    }

    #[test]
    fn rendered_paths_parse_back(steps in prop::collection::vec(step(), 0..6), dots in any::<bool>()) {
        let text = render(&steps, dots);
        let parsed = Parser::new(&text).path().map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
        let parsed: Vec<Step> = parsed.steps.into_iter().map(|(_, step)| step).collect();
        prop_assert_eq!(&parsed, &steps, "{}", text);
        let path = Path::parse(&text).expect("parsed above");
        prop_assert_eq!(Path::parse(&path.to_string()).map(|p| p.steps), Ok(steps));
    }

    #[test]
    fn parsing_never_panics(text in "\\$[\\[\\]().*?@'\"a-c0-9:,=<>!&|~/ $-]{0,24}") {
        let _ = Path::parse(&text);
        let _ = ReferencePath::parse(&text);
    }

    #[test]
    fn selecting_never_panics(value in json(), steps in prop::collection::vec(step(), 0..5)) {
        let path = Path::parse(&render(&steps, true)).expect("rendered paths parse");
        let selected = path.select(&value, &Value::Null);
        prop_assert!(path.is_definite() || matches!(selected, Some(Cow::Owned(Value::Array(_)))));
    }
}
