//! The Lambda event fixtures (`tests/fixtures/events/`) round-trip through our event types:
//! parse → serialize gives the same event (nulls and absent fields are the same), and
//! `process` finds the records it expects in each.

use cirrus_core::process::{Envelope, extract};
use cirrus_deploy::lambda::events::{SnsEvent, SqsEvent, StatusChangeEvent, strip_nulls};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;

fn fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the fixture folder exists")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "fixtures missing in {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            let value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
            (name, value)
        })
        .collect()
}

/// Parses `value` as `T`, serializes it back, and checks nothing was lost or added.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str, value: &Value) -> T {
    let parsed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(
        strip_nulls(&back),
        strip_nulls(value),
        "{name} does not round-trip"
    );
    let again: T = serde_json::from_value(back).unwrap();
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        serde_json::to_value(&parsed).unwrap()
    );
    parsed
}

#[test]
fn every_fixture_round_trips() {
    let mut seen = Vec::new();
    for (name, value) in fixtures() {
        if name.starts_with("sqs-") {
            let event: SqsEvent = round_trip(&name, &value);
            assert_eq!(SqsEvent::parse(&value).as_ref(), Some(&event), "{name}");
            seen.push("sqs");
        } else if name.starts_with("sns") {
            let _: SnsEvent = round_trip(&name, &value);
            assert!(
                SqsEvent::parse(&value).is_none(),
                "{name} is not an SQS batch"
            );
            seen.push("sns");
        } else if name.starts_with("status-") {
            let event: StatusChangeEvent = round_trip(&name, &value);
            assert_eq!(event.source, "aws.states");
            seen.push("status");
        } else {
            panic!("{name}: unknown fixture kind (name it sqs-*, sns* or status-*)");
        }
    }
    for kind in ["sqs", "sns", "status"] {
        assert!(seen.contains(&kind), "no {kind} fixture");
    }
}

#[test]
fn process_finds_the_payloads_in_each_envelope() {
    let fixtures = fixtures();
    let get = |name: &str| &fixtures.iter().find(|(n, _)| n == name).unwrap().1;

    // SQS: one payload per record body.
    let sqs = SqsEvent::parse(get("sqs-multiple.json")).unwrap();
    assert_eq!(sqs.records.len(), 2);
    assert_eq!(sqs.records[1].receive_count(), Some(3));
    for record in &sqs.records {
        let records = extract(&record.body);
        assert_eq!(records.len(), 1);
        assert!(records[0].outcome.is_ok());
    }

    // SNS inside SQS: the body is an SNS envelope whose message is a reference.
    let sns_in_sqs = SqsEvent::parse(get("sqs-sns.json")).unwrap();
    let records = extract(&sns_in_sqs.records[0].body);
    assert_eq!(records[0].envelope, Envelope::Sns);
    assert!(records[0].outcome.is_ok());

    // SNS invoking the function: the whole event is one message.
    let records = extract(&get("sns.json").to_string());
    assert_eq!(records[0].envelope, Envelope::LambdaSns);
    assert!(records[0].outcome.is_ok());
}

#[test]
fn status_events_say_what_was_dropped() {
    let fixtures = fixtures();
    let status = |name: &str| -> StatusChangeEvent {
        let value = &fixtures.iter().find(|(n, _)| n == name).unwrap().1;
        serde_json::from_value(value.clone()).unwrap()
    };
    let full = status("status-succeeded.json");
    assert!(full.detail.included_input().is_some());
    assert!(full.detail.included_output().is_some());
    let dropped = status("status-succeeded-dropped.json");
    assert_eq!(dropped.detail.included_input(), None);
    assert_eq!(dropped.detail.included_output(), None);
    let failed = status("status-failed.json");
    assert_eq!(failed.detail.error.as_deref(), Some("InvalidInput"));
}
