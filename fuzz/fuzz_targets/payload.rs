//! Feeds arbitrary bytes through every parser of untrusted input in `cirrus-core`.
//!
//! Any panic is a bug. Beyond "does not panic", the target checks invariants that hold for
//! every input the library accepts:
//!
//! - a valid payload has an ID, and that ID parses as a payload ID;
//! - serialize → parse again gives an equal payload, and a payload parsed without warnings
//!   (no deprecated form normalised) serializes back to exactly the input value;
//! - the fast path (the [`fast_id`] scanner) agrees with the full model on
//!   every valid payload, and the scanner agrees with serde_json on what is well-formed JSON;
//! - the checks done at parse time (`chain_filter`, matcher patterns) make chaining and
//!   collection assignment infallible.

#![no_main]

use cirrus_core::payload::fast_id;
use cirrus_core::payload::id::PayloadId;
use cirrus_core::payload::jsonpath::{Filter, JsonPath};
use cirrus_core::payload::path_template::PathTemplate;
use cirrus_core::payload::{Parsed, PayloadInput, ProcessPayload, size};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use serde_json::error::Category;
use std::sync::LazyLock;

/// The document that fuzzed JSONPath expressions and filters are evaluated on.
static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    serde_json::json!({
        "id": "S2B_17HQD_20201103_0_L2A",
        "collection": "sentinel-2-l2a",
        "properties": {
            "datetime": "2020-11-03T15:22:26Z",
            "eo:cloud_cover": 12.5,
            "platform": "sentinel-2b",
            "mgrs:utm_zone": 17,
            "tags": ["a", "b", "é"],
            "nested": {"deep": [1, 2.5, null, true, {"x": "y"}]}
        },
        "assets": {"B01": {"href": "s3://bucket/B01.tif", "roles": ["data"]}},
        "links": []
    })
});

fuzz_target!(|data: &[u8]| {
    fuzz_payload(data);
    fuzz_fast_id(data);
    if let Ok(text) = std::str::from_utf8(data) {
        fuzz_jsonpath(text);
    }
});

/// The full model: parse, ID, round trip, chaining, collections, size.
fn fuzz_payload(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = size::escaped_len(&value);
    let _ = size::must_travel_as_url(&value);
    let Ok(parsed) = PayloadInput::from_value(value.clone()) else {
        return;
    };
    let payload = match parsed.value {
        PayloadInput::Payload(payload) => payload,
        PayloadInput::Reference(reference) => {
            let back = serde_json::to_value(&reference).expect("a reference serializes");
            let again = PayloadInput::from_value(back).expect("a serialized reference parses");
            assert_eq!(again.value, PayloadInput::Reference(reference));
            return;
        }
    };

    // A valid payload always has an ID, and it is a well-formed payload ID.
    let id = payload.id().expect("a valid payload has an ID");
    if let Err(message) = PayloadId::parse(&id) {
        panic!("the ID {id:?} of a valid payload does not parse: {message}");
    }

    // Round trip: serialize, parse again, compare.
    let text = serde_json::to_string(&payload).expect("a payload serializes");
    let reparsed = ProcessPayload::from_value(
        serde_json::from_str::<Value>(&text).expect("a serialized payload is JSON"),
    )
    .expect("a serialized payload parses again");
    assert_eq!(reparsed.value, *payload, "round trip changed the payload");
    assert!(
        reparsed.warnings.is_empty(),
        "a serialized payload still has deprecated forms: {:?}",
        reparsed.warnings
    );
    assert_eq!(reparsed.value.id().ok().as_deref(), Some(id.as_str()));
    if parsed.warnings.is_empty() {
        assert_eq!(
            payload.to_value(),
            value,
            "serialization lost or changed members"
        );
    }

    // The fast path agrees on the serialized payload.
    assert_eq!(
        fast_id::payload_id(text.as_bytes()).as_deref(),
        Ok(id.as_str()),
        "fast_id disagrees"
    );

    // Chaining: filters were checked at parse time, so this cannot fail.
    let next = payload
        .next_payloads()
        .expect("chain filters of a valid payload compile");
    for next_payload in &next {
        assert!(next_payload.id.is_none());
        assert!(!next_payload.features.is_empty());
        let _ = next_payload.id();
        let _ = serde_json::to_string(next_payload).expect("a next payload serializes");
    }

    // Collections: matcher patterns were checked at parse time.
    let mut assigned = (*payload).clone();
    assigned
        .assign_collections()
        .expect("matcher patterns of a valid payload compile");

    // Path templates, on every feature.
    let definition = payload.process_definition();
    let templates = definition
        .upload_options
        .iter()
        .chain(definition.collection_options.iter().flat_map(|options| {
            options
                .values()
                .filter_map(|option| option.upload_options.as_ref())
        }))
        .filter_map(|options| options.path_template.as_deref());
    for template in templates {
        let template = PathTemplate::new(template);
        for feature in &assigned.features {
            let _ = template.render(feature);
        }
    }
}

/// The hand-written scanner of `cirrus payload get-id`, checked against serde_json and the
/// full model.
fn fuzz_fast_id(data: &[u8]) {
    let fast = fast_id::payload_id(data);
    if let Ok(id) = &fast
        && let Err(message) = PayloadId::parse(id)
    {
        panic!("fast_id produced {id:?}, which does not parse: {message}");
    }
    match serde_json::from_slice::<Value>(data) {
        Ok(value) => {
            if let Err(err) = &fast {
                assert!(
                    !err.syntax,
                    "fast_id calls well-formed JSON malformed: {err:?}"
                );
            }
            if let Ok(Parsed {
                value: PayloadInput::Payload(payload),
                ..
            }) = PayloadInput::from_value(value)
            {
                let id = payload.id().expect("a valid payload has an ID");
                assert_eq!(fast, Ok(id), "fast_id disagrees with the model");
            }
        }
        // The scanner does not check that skipped strings are UTF-8, that their `\u`
        // escapes pair surrogates, nor that numbers fit an f64 (Python's `json` accepts lone
        // surrogates and reads 1e400 as infinity; serde_json rejects both). Every other
        // syntax error must be one for both.
        Err(err) if err.classify() == Category::Syntax || err.classify() == Category::Eof => {
            let lenient = std::str::from_utf8(data).is_err()
                || has_surrogate_escape(data)
                || err.to_string().starts_with("number out of range");
            if !lenient {
                assert!(
                    fast.as_ref().is_err_and(|e| e.syntax),
                    "fast_id accepts malformed JSON ({err}): {fast:?}"
                );
            }
        }
        Err(_) => {}
    }
}

/// Whether `data` holds a `\uD800`–`\uDFFF` escape.
fn has_surrogate_escape(data: &[u8]) -> bool {
    data.windows(4).any(|w| {
        w[0] == b'\\'
            && w[1] == b'u'
            && matches!(w[2], b'd' | b'D')
            && matches!(w[3], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
    })
}

/// JSONPath expressions and filters, evaluated on a small document.
fn fuzz_jsonpath(text: &str) {
    if let Ok(path) = JsonPath::parse(text) {
        let _ = path.find(&DOCUMENT);
        let _ = path.find(&Value::Array(vec![DOCUMENT.clone()]));
    }
    if let Ok(filter) = Filter::parse(text) {
        let _ = filter.matches(&DOCUMENT);
        let _ = filter.matches(&Value::Null);
    }
    let _ = PathTemplate::new(text).variables().count();
}
