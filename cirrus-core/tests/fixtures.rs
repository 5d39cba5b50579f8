//! Every payload fixture round-trips unchanged, has the expected ID and next payloads, and
//! every invalid fixture yields exactly the expected error paths.

use cirrus_core::Error;
use cirrus_core::payload::fast_id;
use cirrus_core::payload::{PayloadInput, ProcessPayload};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/payloads")
        .join(folder);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable fixture dir").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.ends_with(".json") && !name.ends_with(".normalized.json")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("fixture name");
    path.with_file_name(format!("{stem}{suffix}"))
}

fn read_value(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).expect("fixture readable"))
        .expect("fixture is JSON")
}

#[test]
fn valid_fixtures_round_trip_with_expected_ids_and_next_payloads() {
    for path in fixtures("valid") {
        let name = path.display();
        let text = fs::read_to_string(&path).unwrap();
        let original: Value = serde_json::from_str(&text).unwrap();
        let parsed =
            ProcessPayload::from_value(original.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let payload = parsed.value;

        // Round trip: exactly the input (or its normalised form), key order included.
        let normalized = sibling(&path, ".normalized.json");
        let expected = if normalized.exists() {
            assert!(!parsed.warnings.is_empty(), "{name}: normalising must warn");
            read_value(&normalized)
        } else {
            assert!(
                parsed.warnings.is_empty(),
                "{name}: unexpected warnings {:?}",
                parsed.warnings
            );
            original
        };
        assert_eq!(
            serde_json::to_string(&payload).unwrap(),
            serde_json::to_string(&expected).unwrap(),
            "{name}: serialization differs from the input"
        );
        let again = ProcessPayload::from_value(payload.to_value())
            .unwrap()
            .value;
        assert_eq!(again, payload, "{name}: parse → serialize → parse differs");

        // ID, by the full model and by the fast get-id path.
        let id_file = sibling(&path, ".id");
        let want_id =
            fs::read_to_string(&id_file).unwrap_or_else(|e| panic!("{}: {e}", id_file.display()));
        let want_id = want_id.trim_end();
        assert_eq!(payload.id().unwrap(), want_id, "{name}: id");
        assert_eq!(
            fast_id::payload_id(text.as_bytes()).unwrap(),
            want_id,
            "{name}: fast-path id"
        );

        // Next payloads of the chain.
        let next_file = sibling(&path, ".next.ndjson");
        let want_next: Vec<String> = if next_file.exists() {
            fs::read_to_string(&next_file)
                .unwrap()
                .lines()
                .map(|line| {
                    serde_json::to_string(&serde_json::from_str::<Value>(line).unwrap()).unwrap()
                })
                .collect()
        } else {
            Vec::new()
        };
        let got_next: Vec<String> = payload
            .next_payloads()
            .unwrap()
            .iter()
            .map(|p| serde_json::to_string(p).unwrap())
            .collect();
        assert_eq!(got_next, want_next, "{name}: next payloads");
    }
}

#[test]
fn invalid_fixtures_report_exactly_the_expected_paths() {
    for path in fixtures("invalid") {
        let name = path.display();
        let want: BTreeSet<String> = fs::read_to_string(sibling(&path, ".paths"))
            .unwrap_or_else(|e| panic!("{name}: .paths file: {e}"))
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        let problems = match PayloadInput::from_value(read_value(&path)) {
            Err(Error::InvalidPayload(problems)) => problems,
            other => panic!("{name}: expected InvalidPayload, got {other:?}"),
        };
        for problem in &problems {
            assert!(
                !problem.message.is_empty(),
                "{name}: empty message at {}",
                problem.path
            );
        }
        let got: BTreeSet<String> = problems.iter().map(|p| p.path.clone()).collect();
        assert_eq!(got, want, "{name}: problems were {problems:#?}");
    }
}

#[test]
fn reference_fixtures_are_recognised() {
    for path in fixtures("reference") {
        let value = read_value(&path);
        let parsed = PayloadInput::from_value(value.clone()).unwrap();
        match &parsed.value {
            PayloadInput::Reference(reference) => {
                let key = if value.get("url").is_some() {
                    "url"
                } else {
                    "href"
                };
                assert_eq!(reference.key, key);
                assert_eq!(Some(reference.url.as_str()), value[key].as_str());
            }
            other => panic!("{}: not a reference: {other:?}", path.display()),
        }
        assert_eq!(
            serde_json::to_value(&parsed.value).unwrap(),
            value,
            "reference round trip"
        );
    }
}
