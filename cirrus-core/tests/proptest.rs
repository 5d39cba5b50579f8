//! Property tests of the payload model: IDs, round trips, the `fast_id` fast path and the
//! double-escaped size, on generated valid payloads.
//!
//! Generated payloads have 1–5 features (ids with non-ASCII characters, never `/` or a line
//! break), optional collections, optional later process steps (single or fan-out), an
//! optional given `id`, and random extra members — at the top level, in process
//! definitions, in `upload_options` and in items — holding random JSON values. Every object's
//! members come in a random order. Extra member names never start with a lowercase ASCII
//! letter, so they never collide with a known member.

use cirrus_core::payload::ProcessPayload;
use cirrus_core::payload::fast_id;
use cirrus_core::payload::size::{escaped_len, python_float_repr};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// Object members, in order.
type Members = Vec<(String, Value)>;

/// Any finite float (JSON has no NaN or infinity).
fn any_finite_f64() -> BoxedStrategy<f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        decimal_f64(),
    ]
    .boxed()
}

/// Floats that serde_json reads back exactly from their shortest representation.
///
/// Without its `float_roundtrip` feature, serde_json reads some floats one ULP off (even
/// `5e44`, see `floats_survive_a_round_trip`); the payload round trips use floats it reads
/// exactly, so that they test the payload model rather than the JSON reader.
fn decimal_f64() -> BoxedStrategy<f64> {
    prop_oneof![
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64 / 100.0),
        Just(0.0),
        Just(-0.0),
        Just(1e16),
        Just(1.5e300),
        Just(1e-5),
        Just(2.5e-7),
    ]
    .boxed()
}

/// Short text of any characters: control characters, `"`, `\`, DEL, non-ASCII and
/// characters beyond the BMP are all likely.
fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        "[\\x00-\\x1f\\x7f\"\\\\a-z é😀]{0,8}",
        "\\PC{0,8}",
        prop::collection::vec(any::<char>(), 0..8).prop_map(String::from_iter),
    ]
}

/// A JSON scalar with floats from `floats`.
fn json_leaf(floats: BoxedStrategy<f64>) -> impl Strategy<Value = Value> + Clone {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        floats.prop_map(Value::from),
        text().prop_map(Value::String),
    ]
}

/// A JSON value, a few levels deep, with floats from `floats` and strings of any characters
/// (control characters, DEL, non-ASCII and characters beyond the BMP included).
fn json_tree(floats: BoxedStrategy<f64>) -> impl Strategy<Value = Value> {
    json_leaf(floats).prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Any JSON value.
fn json_value() -> impl Strategy<Value = Value> {
    json_tree(any_finite_f64())
}

/// A JSON value for a payload member.
fn member_value() -> impl Strategy<Value = Value> {
    json_tree(decimal_f64())
}

/// The name of an extra (unknown) member: never starts with a lowercase ASCII letter, so it
/// is never one of the known names (`id`, `process`, `workflow`, …).
fn extra_key() -> impl Strategy<Value = String> {
    "[A-Z0-9:é😀 \"\\\\\\x01][a-zA-Z0-9:_é😀 -]{0,8}"
}

/// 0–2 extra members.
fn extras() -> impl Strategy<Value = Members> {
    prop::collection::vec((extra_key(), member_value()), 0..3)
}

/// 0–2 members with scalar values (for the many small objects of a definition, to keep
/// generation fast).
fn scalar_members() -> impl Strategy<Value = Members> {
    prop::collection::vec((extra_key(), json_leaf(decimal_f64())), 0..3)
}

/// An item id: plain, or with any characters but `/` and line breaks.
fn item_id() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z0-9_.:-]{1,12}", "[^/\\n]{1,6}", "[a-zé😀ü]{1,4}"]
}

/// A collection name.
fn collection() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9-]{1,10}", "[^/\\n]{1,4}", "[A-Zé😀]{1,3}"]
}

/// A workflow name: no `_`, `/`, whitespace or control character.
fn workflow() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9-]{1,12}", "[a-zA-Zé😀.-]{1,6}"]
}

/// A `chain_filter` in the jsonpath-ng dialect (from the documentation), or none.
fn chain_filter() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some("@.properties.q > 50".to_string())),
        1 => Just(Some("@.id =~ 'S2.*' & @.properties.x > 80".to_string())),
    ]
}

/// Shuffles `list` with a small deterministic generator seeded by `seed` (proptest draws the
/// seed, so every order is reachable and a failing case replays).
fn shuffle<T>(list: &mut [T], seed: u64) {
    let mut state = seed | 1;
    for i in (1..list.len()).rev() {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % (i as u64 + 1)) as usize;
        list.swap(i, j);
    }
}

/// A JSON object with `members` in the order given by `seed` (a later duplicate name
/// replaces the value of an earlier one, in the earlier one's place).
fn object(mut members: Vec<(String, Value)>, seed: u64) -> Value {
    shuffle(&mut members, seed);
    Value::Object(members.into_iter().collect())
}

/// An item: `id`, maybe `collection`, and extra members.
fn feature() -> impl Strategy<Value = Value> {
    (
        item_id(),
        prop::option::of(collection()),
        extras(),
        any::<u64>(),
    )
        .prop_map(|(id, coll, extra, seed)| {
            let mut members = vec![("id".to_string(), Value::String(id))];
            if let Some(coll) = coll {
                members.push(("collection".to_string(), Value::String(coll)));
            }
            members.extend(extra);
            object(members, seed)
        })
}

/// `upload_options`: a path template, maybe other known members, and extra members.
fn upload_options() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("/${collection}/${id}"),
            Just("/${collection}/${year}/${month}/${day}/${id}"),
            Just("s3://bucket/${id}"),
        ],
        prop::option::of(prop_oneof![
            Just(Value::from("ALL")),
            prop::collection::vec("[a-zA-Z0-9]{1,5}", 0..3).prop_map(Value::from),
        ]),
        prop::option::of(scalar_members()),
        prop::option::of(any::<bool>()),
        extras(),
        any::<u64>(),
    )
        .prop_map(|(template, public, headers, s3_urls, extra, seed)| {
            let mut members = vec![("path_template".to_string(), Value::from(template))];
            if let Some(public) = public {
                members.push(("public_assets".to_string(), public));
            }
            if let Some(headers) = headers {
                let headers: Map<String, Value> = headers.into_iter().collect();
                members.push(("headers".to_string(), Value::Object(headers)));
            }
            if let Some(s3_urls) = s3_urls {
                members.push(("s3_urls".to_string(), Value::Bool(s3_urls)));
            }
            members.extend(extra);
            object(members, seed)
        })
}

/// The members of a process definition.
#[derive(Debug, Clone)]
struct Definition {
    workflow: String,
    collections: Option<String>,
    chain_filter: Option<String>,
    replace: Option<bool>,
    description: Option<String>,
    upload_options: Option<Value>,
    tasks: Option<Vec<(String, Members)>>,
    workflow_options: Option<Members>,
    catch_all: bool,
    extra: Members,
    seed: u64,
}

impl Definition {
    fn into_value(self) -> Value {
        let mut members = vec![("workflow".to_string(), Value::String(self.workflow))];
        if let Some(collections) = self.collections {
            members.push(("collections".to_string(), Value::String(collections)));
        }
        if let Some(filter) = self.chain_filter {
            members.push(("chain_filter".to_string(), Value::String(filter)));
        }
        if let Some(replace) = self.replace {
            members.push(("replace".to_string(), Value::Bool(replace)));
        }
        if let Some(description) = self.description {
            members.push(("description".to_string(), Value::String(description)));
        }
        // A catch_all matcher needs upload options for its collection.
        if self.catch_all && self.upload_options.is_some() {
            members.push((
                "collection_matchers".to_string(),
                serde_json::json!([{"type": "catch_all", "collection_name": "everything"}]),
            ));
        }
        if let Some(upload_options) = self.upload_options {
            members.push(("upload_options".to_string(), upload_options));
        }
        if let Some(tasks) = self.tasks {
            let tasks: Map<String, Value> = tasks
                .into_iter()
                .map(|(name, params)| (name, Value::Object(params.into_iter().collect())))
                .collect();
            members.push(("tasks".to_string(), Value::Object(tasks)));
        }
        if let Some(options) = self.workflow_options {
            let options: Map<String, Value> = options.into_iter().collect();
            members.push(("workflow_options".to_string(), Value::Object(options)));
        }
        members.extend(self.extra);
        object(members, self.seed)
    }
}

/// A process definition with random members; `chain_filter` only when `filtered`.
fn definition(filtered: bool) -> impl Strategy<Value = Value> {
    let filter = if filtered {
        chain_filter().boxed()
    } else {
        Just(None).boxed()
    };
    (
        (
            workflow(),
            prop::option::of(collection()),
            filter,
            prop::option::of(any::<bool>()),
            prop::option::of(text()),
            prop::option::of(upload_options()),
        ),
        (
            prop::option::of(prop::collection::vec(
                ("[a-z-]{1,8}", scalar_members()),
                0..3,
            )),
            prop::option::of(scalar_members()),
            any::<bool>(),
            extras(),
            any::<u64>(),
        ),
    )
        .prop_map(
            |(
                (workflow, collections, chain_filter, replace, description, upload_options),
                (tasks, workflow_options, catch_all, extra, seed),
            )| {
                Definition {
                    workflow,
                    collections,
                    chain_filter,
                    replace,
                    description,
                    upload_options,
                    tasks,
                    workflow_options,
                    catch_all,
                    extra,
                    seed,
                }
                .into_value()
            },
        )
}

/// A later process step: one definition, or a fan-out of 1–3.
fn step() -> impl Strategy<Value = Value> {
    prop_oneof![
        definition(true),
        prop::collection::vec(definition(true), 1..4).prop_map(Value::Array),
    ]
}

/// A given payload ID: `{collections}/workflow-{workflow}/{item ids}`.
fn given_id() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(collection(), 1..3),
        workflow(),
        prop::collection::vec(item_id(), 1..4),
    )
        .prop_map(|(collections, workflow, ids)| {
            format!(
                "{}/workflow-{workflow}/{}",
                collections.join("/"),
                ids.join("/")
            )
        })
}

/// A valid process payload as a JSON value.
fn payload() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(feature(), 1..6),
        definition(false),
        prop::collection::vec(step(), 0..3),
        prop::option::of(given_id()),
        any::<bool>(),
        extras(),
        any::<u64>(),
    )
        .prop_map(|(features, first, steps, id, typed, extra, seed)| {
            let mut process = vec![first];
            process.extend(steps);
            let mut members = vec![
                ("features".to_string(), Value::Array(features)),
                ("process".to_string(), Value::Array(process)),
            ];
            if let Some(id) = id {
                members.push(("id".to_string(), Value::String(id)));
            }
            if typed {
                members.push(("type".to_string(), Value::from("FeatureCollection")));
            }
            members.extend(extra);
            object(members, seed)
        })
}

/// A payload and the same payload with its features in another order.
fn payload_and_shuffled() -> impl Strategy<Value = (Value, Value)> {
    (payload(), any::<u64>()).prop_map(|(value, seed)| {
        let mut shuffled = value.clone();
        if let Some(features) = shuffled["features"].as_array_mut() {
            shuffle(features, seed);
        }
        (value, shuffled)
    })
}

// ---------------------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------------------

/// Code-point order, as Python's `sorted` on `str` (written without relying on UTF-8 byte
/// order).
fn code_point_sort(list: &mut [String]) {
    list.sort_by(|a, b| a.chars().cmp(b.chars()));
}

/// The payload ID as cirrus-geo's `set_id` computes it, read straight from the JSON.
fn reference_id(value: &Value) -> String {
    if let Some(id) = value.get("id").and_then(Value::as_str) {
        return id.to_string();
    }
    let first = &value["process"][0];
    let features = value["features"].as_array().cloned().unwrap_or_default();
    let collections = match first.get("collections").and_then(Value::as_str) {
        Some(given) => given.to_string(),
        None => {
            let mut collections: Vec<String> = features
                .iter()
                .filter_map(|f| f.get("collection").and_then(Value::as_str))
                .map(str::to_string)
                .collect();
            code_point_sort(&mut collections);
            collections.dedup();
            if collections.is_empty() {
                "none".to_string()
            } else {
                collections.join("/")
            }
        }
    };
    let mut ids: Vec<String> = features
        .iter()
        .filter_map(|f| f.get("id").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    code_point_sort(&mut ids);
    let workflow = first["workflow"].as_str().unwrap_or_default();
    format!("{collections}/workflow-{workflow}/{}", ids.join("/"))
}

/// Keeps only the known members: drops every extra member of the payload, of each item, of
/// each process definition and of its `upload_options`.
fn strip_extras(value: &Value) -> Value {
    fn keep(value: &Value, known: &[&str]) -> Map<String, Value> {
        value
            .as_object()
            .map(|map| {
                map.iter()
                    .filter(|(k, _)| known.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
    fn definition(value: &Value) -> Value {
        let mut map = keep(
            value,
            &[
                "workflow",
                "replace",
                "collections",
                "chain_filter",
                "description",
                "upload_options",
                "tasks",
                "workflow_options",
                "collection_matchers",
            ],
        );
        if let Some(options) = map.get("upload_options") {
            let options = keep(
                options,
                &["path_template", "public_assets", "headers", "s3_urls"],
            );
            map.insert("upload_options".to_string(), Value::Object(options));
        }
        Value::Object(map)
    }
    let mut map = keep(value, &["id", "features", "process", "type"]);
    if let Some(Value::Array(features)) = map.get_mut("features") {
        for feature in features.iter_mut() {
            *feature = Value::Object(keep(feature, &["id", "collection"]));
        }
    }
    if let Some(Value::Array(steps)) = map.get_mut("process") {
        for step in steps.iter_mut() {
            let stripped = match &*step {
                Value::Array(branches) => Value::Array(branches.iter().map(definition).collect()),
                other => definition(other),
            };
            *step = stripped;
        }
    }
    Value::Object(map)
}

/// `json.dumps(value)` as Python writes it: `", "` and `": "` separators, `ensure_ascii`.
fn python_dumps(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => out.push_str(&python_float_repr(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => python_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                python_dumps(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                python_string(key, out);
                out.push_str(": ");
                python_dumps(item, out);
            }
            out.push('}');
        }
    }
}

/// A string as Python's `json` writes it with `ensure_ascii=True`.
fn python_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// `len(json.dumps(json.dumps(value)).encode())`, by building both strings.
fn python_double_dumps_len(value: &Value) -> usize {
    let mut inner = String::new();
    python_dumps(value, &mut inner);
    assert!(inner.is_ascii(), "ensure_ascii output is ASCII: {inner:?}");
    let mut outer = String::new();
    python_string(&inner, &mut outer);
    outer.len()
}

fn parse(value: &Value) -> ProcessPayload {
    match ProcessPayload::from_value(value.clone()) {
        Ok(parsed) => {
            assert_eq!(
                parsed.warnings,
                Vec::new(),
                "no deprecated form was generated"
            );
            parsed.value
        }
        Err(err) => panic!("a generated payload is invalid: {err}\n{value:#}"),
    }
}

fn id_of(payload: &ProcessPayload) -> String {
    match payload.id() {
        Ok(id) => id,
        Err(err) => panic!("a valid payload has no id: {err}"),
    }
}

fn to_string(value: &impl serde::Serialize) -> String {
    match serde_json::to_string(value) {
        Ok(text) => text,
        Err(err) => panic!("cannot serialize: {err}"),
    }
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn id_does_not_depend_on_feature_order((value, shuffled) in payload_and_shuffled()) {
        let id = id_of(&parse(&value));
        prop_assert_eq!(id_of(&parse(&shuffled)), id);
    }

    #[test]
    fn id_does_not_depend_on_unknown_members(value in payload()) {
        let stripped = strip_extras(&value);
        prop_assert_eq!(id_of(&parse(&stripped)), id_of(&parse(&value)));
    }

    #[test]
    fn id_matches_the_reference(value in payload()) {
        prop_assert_eq!(id_of(&parse(&value)), reference_id(&value));
    }

    #[test]
    fn round_trip_is_lossless(value in payload()) {
        let payload = parse(&value);
        let text = to_string(&payload);
        // Same members, same values, same key order at every level.
        prop_assert_eq!(&text, &to_string(&value));
        let again: Value = serde_json::from_str(&text)?;
        prop_assert_eq!(parse(&again), payload);
    }

    #[test]
    fn fast_id_agrees_with_the_model(value in payload()) {
        let text = to_string(&value);
        let fast = fast_id::payload_id(text.as_bytes()).map_err(|e| e.message);
        prop_assert_eq!(fast, Ok(id_of(&parse(&value))));
    }

    #[test]
    fn next_payloads_follow_the_chain(value in payload()) {
        let payload = parse(&value);
        let next = payload.next_payloads()?;
        let Some(step) = payload.chain().first() else {
            prop_assert!(next.is_empty());
            return Ok(());
        };
        let definitions = step.definitions();
        // Without chain filters, every branch gets a payload with every feature.
        if definitions.iter().all(|d| d.chain_filter.is_none()) {
            prop_assert_eq!(next.len(), definitions.len());
            for (next, definition) in next.iter().zip(definitions) {
                prop_assert_eq!(next.workflow(), definition.workflow.as_str());
                prop_assert_eq!(&next.features, &payload.features);
                prop_assert_eq!(next.id.as_deref(), None);
                prop_assert_eq!(next.chain(), &payload.chain()[1..]);
            }
        }
    }

    #[test]
    fn escaped_len_matches_python_on_any_json(value in json_value()) {
        prop_assert_eq!(escaped_len(&value), python_double_dumps_len(&value));
    }

    #[test]
    fn escaped_len_matches_python_on_payloads(value in payload()) {
        let serialized = parse(&value).to_value();
        prop_assert_eq!(escaped_len(&serialized), python_double_dumps_len(&value));
    }
}

// ---------------------------------------------------------------------------------------
// The references themselves, on values checked against Python 3.11
// ---------------------------------------------------------------------------------------

#[test]
fn python_reference_matches_known_values() {
    let value = serde_json::json!({"a": "é", "b": [1, 2.5, null, true], "c": "\u{7f}😀\"\n"});
    let mut text = String::new();
    python_dumps(&value, &mut text);
    // json.dumps({"a": "é", "b": [1, 2.5, None, True], "c": "\x7f😀\"\n"})
    assert_eq!(
        text,
        r#"{"a": "\u00e9", "b": [1, 2.5, null, true], "c": "\u007f\ud83d\ude00\"\n"}"#
    );
    // len(json.dumps(json.dumps({"a": "é"}))) == 22
    assert_eq!(python_double_dumps_len(&serde_json::json!({"a": "é"})), 22);
    // len(json.dumps(json.dumps({"x": 1e-7, "y": 1e16}))) == 30
    assert_eq!(
        python_double_dumps_len(&serde_json::json!({"x": 1e-7, "y": 1e16})),
        30
    );
}

#[test]
fn reference_id_matches_known_values() {
    let value = serde_json::json!({
        "features": [
            {"id": "é", "collection": "s2"},
            {"id": "Z", "collection": "l8"},
            {"id": "z", "collection": "s2"}
        ],
        "process": [{"workflow": "w"}]
    });
    assert_eq!(reference_id(&value), "l8/s2/workflow-w/Z/z/é");
    assert_eq!(id_of(&parse(&value)), "l8/s2/workflow-w/Z/z/é");
}

/// serde_json without `float_roundtrip` reads `5e44` as `5.0000000000000004e44`, so a payload
/// that goes through `cirrus payload next` comes out with a different number (Python's
/// `json` reads it exactly). Enable the feature in the workspace to fix.
#[test]
fn floats_survive_a_round_trip() {
    let text = r#"{"features":[{"id":"a","properties":{"v":5e44}}],"process":[{"workflow":"w"}]}"#;
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(err) => panic!("{err}"),
    };
    let payload = parse(&value);
    assert_eq!(
        payload.features[0].as_value()["properties"]["v"].as_f64(),
        Some(5e44)
    );
}
