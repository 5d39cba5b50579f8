//! Interop with cirrus-geo's own `StateDB` (Python, installed by `scripts/install.sh`), on
//! one moto table: records cirrus-geo writes read correctly in the DynamoDB store, and
//! records the store writes read correctly in cirrus-geo (`get_dbitem`, `dbitem_to_item`,
//! `get_state`, queries and counts by state).
//!
//! The interpreters: `$CIRRUS_INTEROP_PYTHON`, else `<workspace>/.venv/bin/python`
//! (cirrus-geo 0.15.4, the newest that installs on the machine's Python 3.11), plus
//! `<workspace>/.venv-cirrus-geo2/bin/python` (cirrus-geo 2.x, Python ≥ 3.12) when
//! `install.sh` found such a Python.

use cirrus_core::state::Transition::{Aborted, Claim, Failed, Invalid, Processing, Succeeded};
use cirrus_core::state::dynamodb::DynamoStateStore;
use cirrus_core::state::{
    Change, CountsQuery, Outcome, Query, State, StateKey, StateRecord, StateStore, Timestamp,
};
use cirrus_core::testing::MotoServer;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// 2025-06-01T12:00:00Z plus `n` seconds and `n` microseconds: `at(0)` has no fraction.
fn at(n: i64) -> Timestamp {
    let t0: Timestamp = "2025-06-01T12:00:00Z".parse().expect("a time");
    Timestamp::from_micros(t0.as_micros() + n * 1_000_001)
}

fn arn(execution: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:execution:interop:{execution}")
}

fn workspace() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).to_path_buf()
}

/// The Python interpreters with cirrus-geo to test against.
fn interpreters() -> Vec<PathBuf> {
    let main = std::env::var_os("CIRRUS_INTEROP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        main.is_file(),
        "no Python with cirrus-geo at {}: run `bash scripts/install.sh`",
        main.display()
    );
    let mut all = vec![main];
    let v2 = workspace().join(".venv-cirrus-geo2/bin/python");
    if v2.is_file() {
        all.push(v2);
    } else {
        eprintln!(
            "note: no {} (cirrus-geo 2.x needs Python >= 3.12); testing 0.x only",
            v2.display()
        );
    }
    all
}

/// Runs the helper script in `mode` with `request` on stdin; returns its JSON answer.
fn cirrus_geo(python: &Path, mode: &str, request: &Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/cirrus_geo_statedb.py");
    let mut child = Command::new(python)
        .arg(&script)
        .arg(mode)
        .envs(MotoServer::shared().env())
        .env("CIRRUS_PAYLOAD_BUCKET", "interop-payloads")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write the request");
    let out = child.wait_with_output().expect("python");
    assert!(
        out.status.success(),
        "{} {mode} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from the helper")
}

fn key(id: &str) -> StateKey {
    StateKey::parse(id).expect("a payload ID")
}

async fn record(store: &DynamoStateStore, id: &str) -> StateRecord {
    store
        .get(&key(id))
        .await
        .expect("get")
        .unwrap_or_else(|| panic!("no record for {id}"))
}

/// cirrus-geo writes; the store reads, queries, counts, and takes transitions from there.
async fn cirrus_geo_writes(python: &Path, table: &str) {
    let client = MotoServer::shared().dynamodb_client().await;
    let store = DynamoStateStore::new(
        client,
        table,
        DynamoStateStore::default_timeline_table(table),
    );
    store.create_tables().await.expect("create tables");
    let id = |item: &str| format!("sentinel-2-l2a/workflow-interop/{item}");
    let op = |op: &str, item: &str, n: i64, extra: Value| {
        let mut op = json!({"op": op, "payload_id": id(item), "at": at(n).to_string(),
                            "execution": arn(&format!("x-{item}"))});
        if let (Some(op), Value::Object(extra)) = (op.as_object_mut(), extra) {
            op.extend(extra);
        }
        op
    };
    let mut ops = Vec::new();
    for item in ["ok", "failed", "invalid", "aborted", "claimed"] {
        ops.push(op("claim", item, 0, json!({})));
        if item != "claimed" {
            ops.push(op("processing", item, 1, json!({})));
        }
    }
    ops.push(op("succeeded", "ok", 2, json!({})));
    ops.push(op(
        "outputs",
        "ok",
        3,
        json!({"outputs": ["s3://out/ok.json"]}),
    ));
    ops.push(op(
        "failed",
        "failed",
        2,
        json!({"error": "TaskFailed: band 3 empty"}),
    ));
    ops.push(op(
        "invalid",
        "invalid",
        2,
        json!({"error": "InvalidInput: no assets"}),
    ));
    ops.push(op("aborted", "aborted", 2, json!({})));
    let answer = cirrus_geo(python, "write", &json!({"table": table, "ops": ops}));
    let v2 = answer["api"] == "v2";
    eprintln!(
        "cirrus-geo {} ({}) wrote {table}",
        answer["version"], answer["api"]
    );

    let ok = record(&store, &id("ok")).await;
    assert_eq!(
        (
            ok.state,
            ok.collections.as_str(),
            ok.workflow.as_str(),
            ok.item_ids.as_str()
        ),
        (State::Succeeded, "sentinel-2-l2a", "interop", "ok")
    );
    assert_eq!(
        ok.created.to_string(),
        "2025-06-01T12:00:00+00:00",
        "created without microseconds"
    );
    assert_eq!((ok.state_updated, ok.updated), (at(2), at(3)));
    assert_eq!(ok.executions, [arn("x-ok")]);
    assert_eq!(
        ok.outputs.as_deref(),
        Some(&["s3://out/ok.json".to_string()][..])
    );
    assert_eq!(ok.claimed_at, v2.then(|| at(0)));
    assert_eq!(ok.last_error, None);
    for (item, state, error) in [
        ("failed", State::Failed, Some("TaskFailed: band 3 empty")),
        ("invalid", State::Invalid, Some("InvalidInput: no assets")),
        ("aborted", State::Aborted, None),
    ] {
        let r = record(&store, &id(item)).await;
        assert_eq!(
            (r.state, r.last_error.as_deref(), r.state_updated, r.created),
            (state, error, at(2), at(0)),
            "{item}"
        );
        assert_eq!(r.executions, [arn(&format!("x-{item}"))], "{item}");
    }
    let claimed = record(&store, &id("claimed")).await;
    if v2 {
        assert_eq!(
            (claimed.state, claimed.executions.clone()),
            (State::Claimed, vec![arn("x-claimed")])
        );
    } else {
        // 0.x: a claim is PROCESSING, and the execution is only recorded when it starts.
        assert_eq!(
            (claimed.state, claimed.executions.len()),
            (State::Processing, 0)
        );
    }

    // Queries by state, in the partition and across partitions (0.x wrote COMPLETED).
    for query in [
        Query {
            state: Some(State::Succeeded),
            ..Query::default()
        },
        Query {
            state: Some(State::Succeeded),
            workflow: Some("interop".into()),
            collections: Some("sentinel-2-l2a".into()),
            ..Query::default()
        },
    ] {
        let page = store.query_page(&query, None, 10).await.expect("query");
        assert_eq!(page.records, std::slice::from_ref(&ok), "{query:?}");
    }
    let failed = Query {
        state: Some(State::Failed),
        error_prefix: Some("TaskFailed".into()),
        ..Query::default()
    };
    let page = store.query_page(&failed, None, 10).await.expect("query");
    assert_eq!(
        page.records
            .iter()
            .map(|r| r.item_ids.as_str())
            .collect::<Vec<_>>(),
        ["failed"]
    );
    let counts = store.counts(&CountsQuery::default()).await.expect("counts");
    assert_eq!(counts.total(), 5);
    assert_eq!(counts.get("interop", State::Succeeded), 1);
    let timeline = store.timeline(&key(&id("failed"))).await.expect("timeline");
    assert_eq!(
        timeline.len(),
        1,
        "a record Cirrus never wrote: its current state"
    );

    // Transitions continue from cirrus-geo's records.
    assert!(
        !store
            .claim(&key(&id("claimed")), "late", false)
            .await
            .expect("claim")
            .is_applied()
    );
    if v2 {
        assert!(
            store
                .set_processing(&key(&id("claimed")), &arn("x-claimed"))
                .await
                .expect("processing")
                .is_applied()
        );
    }
    match store
        .claim(&key(&id("failed")), &arn("rerun"), false)
        .await
        .expect("claim")
    {
        Outcome::Applied(r) => {
            assert_eq!(r.executions, [arn("x-failed"), arn("rerun")]);
            assert_eq!(
                (r.state, r.last_error, r.created),
                (State::Claimed, None, at(0))
            );
        }
        refused => panic!("a FAILED record is claimed again: {refused:?}"),
    }
}

/// The store writes; cirrus-geo reads, queries and counts.
async fn cirrus_geo_reads(python: &Path, table: &str) {
    // `connect` reads the endpoint, region and credentials from the environment.
    let store = DynamoStateStore::connect(table, None)
        .await
        .expect("connect");
    store.create_tables().await.expect("create tables");
    let collections = "landsat-c2l2_sr/sentinel-2-l2a";
    let id = |item: &str| format!("{collections}/workflow-interop/{item}");
    let items = [
        "rs-ok",
        "rs-failed",
        "rs-invalid",
        "rs-aborted",
        "rs-claimed",
        "rs-processing",
    ];
    for item in items {
        let k = key(&id(item));
        let exe = arn(item);
        let change = |n: i64, transition| Change {
            key: k.clone(),
            transition,
            at: at(n),
        };
        let mut changes = vec![change(
            10,
            Claim {
                execution: exe.clone(),
                replace: false,
            },
        )];
        if item != "rs-claimed" && item != "rs-failed" {
            changes.push(change(
                11,
                Processing {
                    execution: exe.clone(),
                },
            ));
        }
        let end = match item {
            "rs-ok" => Some(Succeeded {
                execution: exe.clone(),
            }),
            "rs-failed" => Some(Failed {
                execution: exe.clone(),
                error: "TaskFailed: band 3 empty".into(),
            }),
            "rs-invalid" => Some(Invalid {
                execution: exe.clone(),
                error: "InvalidInput: no assets".into(),
            }),
            "rs-aborted" => Some(Aborted {
                execution: exe.clone(),
            }),
            _ => None,
        };
        changes.extend(end.map(|t| change(12, t)));
        let outcomes = store.apply(&changes).await.expect("apply");
        assert!(
            outcomes.iter().all(Outcome::is_applied),
            "{item}: {outcomes:?}"
        );
    }
    store
        .set_outputs(
            &key(&id("rs-ok")),
            &["s3://out/rs-ok.json".to_string()],
            at(13),
        )
        .await
        .expect("set_outputs")
        .expect("a record");

    let cw = format!("{collections}_interop");
    let answer = cirrus_geo(
        python,
        "read",
        &json!({
            "table": table,
            "payload_ids": items.map(id),
            "queries": [
                {"collections_workflow": cw, "state": "FAILED"},
                {"collections_workflow": cw, "state": "PROCESSING"},
                {"collections_workflow": cw, "state": "SUCCEEDED"},
            ],
        }),
    );
    let v2 = answer["api"] == "v2";
    eprintln!(
        "cirrus-geo {} ({}) read {table}",
        answer["version"], answer["api"]
    );
    for (item, state, updated, error) in [
        ("rs-ok", "SUCCEEDED", 13, None),
        ("rs-failed", "FAILED", 12, Some("TaskFailed: band 3 empty")),
        ("rs-invalid", "INVALID", 12, Some("InvalidInput: no assets")),
        ("rs-aborted", "ABORTED", 12, None),
        ("rs-claimed", "CLAIMED", 10, None),
        ("rs-processing", "PROCESSING", 11, None),
    ] {
        let got = &answer["records"][id(item)];
        let converted = &got["item"];
        assert_eq!(converted["payload_id"], id(item), "{item}");
        assert_eq!(converted["collections"], collections, "{item}");
        assert_eq!(converted["workflow"], "interop", "{item}");
        assert_eq!(converted["items"], item, "{item}");
        assert_eq!(converted["state"], state, "{item}");
        assert_eq!(converted["created"], at(10).to_string(), "{item}");
        assert_eq!(converted["updated"], at(updated).to_string(), "{item}");
        assert_eq!(converted["last_error"].as_str(), error, "{item}");
        let executions = converted["executions"].as_array().expect("executions");
        assert_eq!(executions.len(), 1, "{item}");
        assert!(
            executions[0]
                .as_str()
                .is_some_and(|url| url.ends_with(&arn(item))),
            "{item}: {executions:?}"
        );
        assert_eq!(got["dbitem"]["claimed_at"], at(10).to_string(), "{item}");
        if v2 {
            assert_eq!(converted["claimed_at"], at(10).to_string(), "{item}");
        }
        let readable = v2 || !matches!(state, "SUCCEEDED" | "CLAIMED");
        if readable {
            assert_eq!(got["state"], state, "{item}: {got}");
        } else {
            // cirrus-geo 0.x predates both names (it wrote COMPLETED and had no claims).
            assert!(
                got["state_error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("ValueError")),
                "{item}: {got}"
            );
        }
    }
    let outputs = &answer["records"][id("rs-ok")]["item"]["outputs"];
    assert_eq!(outputs, &json!(["s3://out/rs-ok.json"]));
    assert_eq!(
        answer["queries"][0],
        json!({"payload_ids": [id("rs-failed")], "count": 1})
    );
    assert_eq!(
        answer["queries"][1],
        json!({"payload_ids": [id("rs-processing")], "count": 1})
    );
    assert_eq!(
        answer["queries"][2],
        json!({"payload_ids": [id("rs-ok")], "count": 1})
    );
}

#[test]
fn cirrus_geo_and_cirrus_share_the_state_table() {
    let moto = MotoServer::shared();
    for (name, value) in moto.env() {
        // SAFETY: this binary's only test sets the variables before it starts the runtime,
        // and no other thread of the process reads the environment.
        unsafe { std::env::set_var(name, value) };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    for (i, python) in interpreters().iter().enumerate() {
        runtime.block_on(cirrus_geo_writes(python, &format!("interop-geo-{i}")));
        runtime.block_on(cirrus_geo_reads(python, &format!("interop-rs-{i}")));
    }
}
