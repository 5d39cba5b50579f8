//! Queue message extraction over the fixtures of `tests/fixtures/messages/`, extraction of
//! arbitrary text (never panics, always at least one record), and the sink conformance
//! suite on every embedded sink.
//!
//! Each fixture is `{"message": "<raw text>", "expected": [record, …]}`, one record per
//! payload the message carries, each either `{"envelope", "payload", "payload_id"?}` (the
//! payload or reference, serialized) or `{"envelope", "rejected", "reason_contains"}` (the
//! workflow event type, and a part of the reason).

use cirrus_core::payload::PayloadInput;
use cirrus_core::process::{
    MemorySink, MessageSink, NdjsonSink, conformance, extract, extract_bytes,
};
use cirrus_core::state::Timestamp;
use proptest::prelude::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messages");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable fixture dir").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// The raw text a rejected record must keep: the JSON of its `Records` entry, or the whole
/// message.
fn expected_raw(message: &str, index: usize) -> String {
    match serde_json::from_str::<Value>(message) {
        Ok(value) => match value.get("Records").and_then(Value::as_array) {
            Some(entries) if !entries.is_empty() => entries[index].to_string(),
            _ => message.to_string(),
        },
        Err(_) => message.to_string(),
    }
}

#[test]
fn every_fixture_extracts_as_expected() {
    let mut shapes = std::collections::BTreeSet::new();
    for path in fixtures() {
        let name = path.display();
        let fixture: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let message = fixture["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: message"));
        let expected = fixture["expected"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: expected"));
        let records = extract(message);
        assert_eq!(records.len(), expected.len(), "{name}: record count");
        for (i, (record, want)) in records.iter().zip(expected).enumerate() {
            let at = format!("{name} record {i}");
            assert_eq!(record.envelope.as_str(), want["envelope"], "{at}: envelope");
            shapes.insert(record.envelope.as_str());
            match (&record.outcome, want.get("rejected")) {
                (Ok(parsed), None) => {
                    let got = serde_json::to_value(&parsed.value).unwrap();
                    assert_eq!(got, want["payload"], "{at}: payload");
                    match (&parsed.value, want.get("payload_id")) {
                        (PayloadInput::Payload(payload), Some(id)) => {
                            assert_eq!(payload.id().unwrap(), id.as_str().unwrap(), "{at}: id");
                        }
                        (PayloadInput::Reference(_), None) => {}
                        (other, id) => panic!("{at}: got {other:?}, expected id {id:?}"),
                    }
                }
                (Err(rejected), Some(kind)) => {
                    assert_eq!(
                        rejected.rejection.event_type().as_str(),
                        kind,
                        "{at}: rejection"
                    );
                    let part = want["reason_contains"].as_str().unwrap();
                    assert!(
                        rejected.reason.contains(part),
                        "{at}: reason {:?} lacks {part:?}",
                        rejected.reason
                    );
                    assert_eq!(
                        rejected.raw,
                        expected_raw(message, i),
                        "{at}: raw text kept"
                    );
                    let event = rejected.event(Timestamp::from_micros(0)).to_message();
                    assert_eq!(event.body["event_type"], *kind, "{at}: event");
                    assert_eq!(
                        event.body["error"],
                        rejected.reason.as_str(),
                        "{at}: event error"
                    );
                    assert!(
                        event.body.get("payload_id").is_none(),
                        "{at}: no payload id"
                    );
                }
                (Ok(parsed), Some(kind)) => panic!("{at}: expected {kind}, got {parsed:?}"),
                (Err(rejected), None) => panic!("{at}: unexpected rejection {rejected}"),
            }
        }
    }
    assert_eq!(shapes.len(), 5, "every envelope has a fixture: {shapes:?}");
}

#[test]
fn bytes_that_are_not_utf8_are_one_rejected_record() {
    let records = extract_bytes(b"{\"url\": \"\xff\"}");
    assert_eq!(records.len(), 1);
    let rejected = records[0].outcome.as_ref().unwrap_err();
    assert!(rejected.reason.contains("not UTF-8"), "{}", rejected.reason);
    assert_eq!(rejected.raw, "{\"url\": \"\u{fffd}\"}");
    assert!(extract_bytes(br#"{"url": "s3://b/k"}"#)[0].outcome.is_ok());
}

/// JSON text built from envelopes around random content, and random near-JSON text.
fn message_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String("{\"url\": \"s3://b/k\"}".to_string())),
    ];
    let keys = prop_oneof![
        Just("Records"),
        Just("body"),
        Just("Sns"),
        Just("Message"),
        Just("Type"),
        Just("Parameters"),
        Just("url_out"),
        Just("url"),
        Just("href"),
        Just("process"),
        Just("features"),
        Just("id"),
        Just("workflow"),
        Just("x"),
    ];
    let value = leaf.prop_recursive(5, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner.clone()), 0..5).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                )
            }),
            // A nested JSON document in a string, as `body` and `Message` hold them.
            inner.prop_map(|v| Value::String(v.to_string())),
        ]
    });
    prop_oneof![
        value.clone().prop_map(|v| v.to_string()),
        // Truncated or corrupted JSON.
        (value, any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string();
            let at = cut.index(text.len() + 1);
            text.char_indices()
                .map(|(i, _)| i)
                .take_while(|&i| i <= at)
                .last()
                .map_or(text.clone(), |i| text[..i].to_string())
        }),
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn extraction_never_panics_and_keeps_what_it_rejects(text in message_text()) {
        let records = extract(&text);
        prop_assert!(!records.is_empty());
        for record in &records {
            if let Err(rejected) = &record.outcome {
                prop_assert!(!rejected.reason.is_empty());
                prop_assert!(!rejected.raw.is_empty() || text.is_empty());
            }
        }
    }

    #[test]
    fn extraction_of_any_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        prop_assert!(!extract_bytes(&bytes).is_empty());
    }
}

#[tokio::test]
async fn memory_sink_passes_the_conformance_suite() {
    let sink = MemorySink::new();
    conformance::run(&sink, || async { Ok(sink.flushed()) })
        .await
        .unwrap();
}

#[tokio::test]
async fn ndjson_sink_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events/workflow-events.ndjson");
    let sink = NdjsonSink::open(&path).await.unwrap();
    conformance::run(&sink, || NdjsonSink::read(&path))
        .await
        .unwrap();
}

#[tokio::test]
async fn ndjson_sink_appends_to_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("publish.ndjson");
    let item =
        cirrus_core::process::Message::item(serde_json::json!({"id": "a", "collection": "c"}));
    for _ in 0..2 {
        let sink = NdjsonSink::open(&path).await.unwrap();
        sink.publish_one(&item).await.unwrap();
        sink.flush().await.unwrap();
    }
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 2);
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        line,
        serde_json::json!({
            "body": {"id": "a", "collection": "c"},
            "attributes": {
                "collection": {"DataType": "String", "StringValue": "c"},
                "status": {"DataType": "String", "StringValue": "created"}
            }
        })
    );
}

#[tokio::test]
async fn ndjson_sink_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    fs::write(&blocker, "").unwrap();
    let err = NdjsonSink::open(blocker.join("events.ndjson"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("a-file"), "{err}");

    let bad = dir.path().join("bad.ndjson");
    fs::write(&bad, "{\"body\": 1}\nnot json\n").unwrap();
    let err = NdjsonSink::read(&bad).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("bad.ndjson") && text.contains("line 2"),
        "{text}"
    );
}

#[tokio::test]
async fn a_torn_last_line_stays_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.ndjson");
    fs::write(
        &path,
        "{\"body\": 1, \"attributes\": {}}\n{\"body\": 2, \"attri",
    )
    .unwrap();
    let sink = NdjsonSink::open(&path).await.unwrap();
    let message = cirrus_core::process::Message::item(serde_json::json!({"id": "a"}));
    sink.publish_one(&message).await.unwrap();
    sink.flush().await.unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1], "{\"body\": 2, \"attri");
    let last: cirrus_core::process::Message = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(last, message);
    let err = NdjsonSink::read(&path).await.unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}
