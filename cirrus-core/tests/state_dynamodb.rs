//! The state DB conformance suite on the DynamoDB backend, against a `moto_server` on
//! 127.0.0.1 (one per test process), plus what only DynamoDB has: the exact table schema,
//! records written by other programs, and clear errors for missing tables.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use cirrus_core::state::conformance::{key, t};
use cirrus_core::state::dynamodb::DynamoStateStore;
use cirrus_core::state::{
    Change, CountsQuery, Outcome, Query, SortKey, State, StateKey, StateRecord, StateStore,
    Transition,
};
use cirrus_core::testing::MotoServer;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh, uniquely named pair of tables on the shared server.
async fn make() -> DynamoStateStore {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let table = format!(
        "state-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let client = MotoServer::shared().dynamodb_client().await;
    let store = DynamoStateStore::new(
        client,
        &table,
        DynamoStateStore::default_timeline_table(&table),
    );
    store.create_tables().await.expect("create tables");
    store
}

cirrus_core::state_conformance_tests!(make);

/// `create_tables` makes exactly cirrus-geo's table (its `statedb-schema.json`): the keys,
/// both GSIs with every attribute projected, and on-demand billing.
#[tokio::test]
async fn the_state_table_is_cirrus_geos() {
    let store = make().await;
    let table = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .expect("describe")
        .table
        .expect("a table");
    let keys = |schema: &[KeySchemaElement]| -> Vec<(String, String)> {
        schema
            .iter()
            .map(|k| (k.attribute_name.clone(), k.key_type.as_str().to_string()))
            .collect()
    };
    let pair = |a: &str, b: &str| {
        vec![
            (a.to_string(), "HASH".to_string()),
            (b.to_string(), "RANGE".to_string()),
        ]
    };
    assert_eq!(
        keys(table.key_schema()),
        pair("collections_workflow", "itemids")
    );
    let mut definitions: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|d| {
            (
                d.attribute_name.clone(),
                d.attribute_type.as_str().to_string(),
            )
        })
        .collect();
    definitions.sort();
    assert_eq!(
        definitions,
        [
            "collections_workflow",
            "itemids",
            "state_updated",
            "updated"
        ]
        .map(|a| (a.to_string(), "S".to_string()))
    );
    /// (name, key schema, projection) of a GSI.
    type Index = (String, Vec<(String, String)>, String);
    let mut indexes: Vec<Index> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_string(),
                keys(i.key_schema()),
                i.projection()
                    .and_then(|p| p.projection_type())
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    indexes.sort();
    assert_eq!(
        indexes,
        [
            (
                "state_updated".to_string(),
                pair("collections_workflow", "state_updated"),
                "ALL".to_string()
            ),
            (
                "updated".to_string(),
                pair("collections_workflow", "updated"),
                "ALL".to_string()
            ),
        ]
    );
    let billing = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map(|b| b.as_str().to_string());
    assert_eq!(billing.as_deref(), Some("PAY_PER_REQUEST"));
}

/// `create_tables` keeps tables that are right and refuses one with another schema.
#[tokio::test]
async fn create_tables_is_idempotent_and_checks_what_exists() {
    let store = make().await;
    store.create_tables().await.expect("again");
    let client = store.client().clone();
    let odd = DynamoStateStore::new(
        client.clone(),
        "odd-state-table",
        "odd-state-table-timeline",
    );
    client
        .create_table()
        .table_name("odd-state-table")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("a table with another schema");
    let error = odd
        .create_tables()
        .await
        .expect_err("wrong schema")
        .to_string();
    assert!(
        error.contains("odd-state-table exists with another schema"),
        "{error}"
    );
}

/// A missing table is named in a clear error, not a bare SDK message.
#[tokio::test]
async fn a_missing_table_is_a_clear_error() {
    let client = MotoServer::shared().dynamodb_client().await;
    let store = DynamoStateStore::new(client, "no-such-state", "no-such-state-timeline");
    let key = StateKey::parse("c/workflow-w/a").expect("key");
    for error in [
        store.get(&key).await.expect_err("get").to_string(),
        store
            .claim(&key, "e", false)
            .await
            .expect_err("claim")
            .to_string(),
        store
            .counts(&CountsQuery::default())
            .await
            .expect_err("counts")
            .to_string(),
    ] {
        assert!(error.contains("state DB (dynamodb)"), "{error}");
        assert!(error.contains("no-such-state"), "{error}");
        assert!(error.contains("does not exist"), "{error}");
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

/// Records as other cirrus-geo versions leave them read correctly, take transitions, and
/// keep attributes Cirrus does not know.
#[tokio::test]
async fn records_written_by_other_programs() {
    let store = make().await;
    let client = store.client();
    let items: [&[(&str, AttributeValue)]; 3] = [
        // cirrus-geo 0.x: COMPLETED, no executions list, no fractions of a second.
        &[
            ("collections_workflow", s("sentinel-2-l2a_cog-archive")),
            ("itemids", s("S2A_OLD")),
            ("created", s("2024-03-01T10:00:00+00:00")),
            ("updated", s("2024-03-01T10:05:00.250000+00:00")),
            (
                "state_updated",
                s("COMPLETED_2024-03-01T10:05:00.250000+00:00"),
            ),
            (
                "outputs",
                AttributeValue::L(vec![s("s3://bucket/out.json")]),
            ),
            ("note", s("kept")),
        ],
        // cirrus-geo 2.x: FAILED after a claim.
        &[
            ("collections_workflow", s("sentinel-2-l2a_cog-archive")),
            ("itemids", s("S2A_NEW")),
            ("created", s("2025-05-01T00:00:00.000001+00:00")),
            ("updated", s("2025-05-01T00:00:09+00:00")),
            ("state_updated", s("FAILED_2025-05-01T00:00:09+00:00")),
            ("claimed_at", s("2025-05-01T00:00:01+00:00")),
            (
                "executions",
                AttributeValue::L(vec![s("arn:aws:states:us-east-1:1:execution:sm:x1")]),
            ),
            ("last_error", s("TaskFailed: boom")),
        ],
        // cirrus-geo's set_outputs on an unknown payload: an item without a state.
        &[
            ("collections_workflow", s("sentinel-2-l2a_cog-archive")),
            ("itemids", s("S2A_OUTPUTS_ONLY")),
            ("created", s("2025-05-02T00:00:00+00:00")),
            ("updated", s("2025-05-02T00:00:00+00:00")),
            ("outputs", AttributeValue::L(vec![])),
        ],
    ];
    for item in items {
        client
            .put_item()
            .table_name(store.table())
            .set_item(Some(
                item.iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ))
            .send()
            .await
            .expect("put");
    }
    let old = StateKey::parse("sentinel-2-l2a/workflow-cog-archive/S2A_OLD").expect("key");
    let new = StateKey::parse("sentinel-2-l2a/workflow-cog-archive/S2A_NEW").expect("key");
    let bare =
        StateKey::parse("sentinel-2-l2a/workflow-cog-archive/S2A_OUTPUTS_ONLY").expect("key");
    let record = store.get(&old).await.expect("get").expect("a record");
    assert_eq!(record.state, State::Succeeded);
    assert_eq!(record.created.to_string(), "2024-03-01T10:00:00+00:00");
    assert_eq!(
        record.state_updated.to_string(),
        "2024-03-01T10:05:00.250000+00:00"
    );
    assert!(record.executions.is_empty());
    assert_eq!(
        record.outputs.as_deref(),
        Some(&["s3://bucket/out.json".to_string()][..])
    );
    let record = store.get(&new).await.expect("get").expect("a record");
    assert_eq!(
        (
            record.state,
            record.last_error.as_deref(),
            record.current_execution()
        ),
        (
            State::Failed,
            Some("TaskFailed: boom"),
            Some("arn:aws:states:us-east-1:1:execution:sm:x1")
        )
    );
    assert_eq!(
        store.get(&bare).await.expect("get"),
        None,
        "no state, no record"
    );

    // The timeline of a record Cirrus never wrote is its current state.
    let timeline = store.timeline(&new).await.expect("timeline");
    assert_eq!(timeline.len(), 1);
    assert_eq!(
        (timeline[0].state, timeline[0].error.as_deref()),
        (State::Failed, Some("TaskFailed: boom"))
    );

    // Transitions work on them, and leave unknown attributes and `created` alone.
    assert!(
        !store
            .claim(&old, "x2", false)
            .await
            .expect("claim")
            .is_applied()
    );
    let record = match store.claim(&old, "x2", true).await.expect("claim") {
        Outcome::Applied(record) => record,
        refused => panic!("refused: {refused:?}"),
    };
    assert_eq!(
        (record.executions.clone(), record.outputs.clone()),
        (vec!["x2".to_string()], None)
    );
    assert_eq!(record.created.to_string(), "2024-03-01T10:00:00+00:00");
    let raw = client
        .get_item()
        .table_name(store.table())
        .key("collections_workflow", s("sentinel-2-l2a_cog-archive"))
        .key("itemids", s("S2A_OLD"))
        .send()
        .await
        .expect("get_item")
        .item
        .expect("item");
    assert_eq!(raw.get("note"), Some(&s("kept")));
    assert_eq!(raw.get("created"), Some(&s("2024-03-01T10:00:00+00:00")));
    assert!(
        store
            .claim(&new, "x3", false)
            .await
            .expect("claim")
            .is_applied()
    );
    assert_eq!(
        store
            .get(&new)
            .await
            .expect("get")
            .expect("record")
            .executions,
        ["arn:aws:states:us-east-1:1:execution:sm:x1", "x3"]
    );
    assert!(
        store
            .claim(&bare, "x4", false)
            .await
            .expect("claim")
            .is_applied()
    );
    assert_eq!(store.timeline(&bare).await.expect("timeline").len(), 1);

    // Queries and counts see them.
    let counts = store.counts(&CountsQuery::default()).await.expect("counts");
    assert_eq!(counts.get("cog-archive", State::Claimed), 3);
}

/// Pages read from a token alone (another store, so nothing was read ahead) continue
/// exactly where the previous page stopped, with many records sharing a time.
#[tokio::test]
async fn pages_continue_from_the_token_alone() {
    let store = make().await;
    let fresh = DynamoStateStore::new(
        store.client().clone(),
        store.table(),
        store.timeline_table(),
    );
    let mut changes = Vec::new();
    for i in 0..120i64 {
        let k = key(
            ["a", "b", "c"][(i % 3) as usize],
            &format!("tie{}", i % 2),
            &format!("i{i:03}"),
        );
        changes.push(Change {
            key: k.clone(),
            transition: Transition::Claim {
                execution: "e".into(),
                replace: false,
            },
            at: t(i / 10),
        });
        if i % 4 == 0 {
            changes.push(Change {
                key: k,
                transition: Transition::Failed {
                    execution: "e".into(),
                    error: "X: y".into(),
                },
                at: t(i / 40),
            });
        }
    }
    assert!(
        store
            .apply(&changes)
            .await
            .expect("apply")
            .iter()
            .all(Outcome::is_applied)
    );
    let everything: Vec<StateRecord> = store
        .get_many(&changes.iter().map(|c| c.key.clone()).collect::<Vec<_>>())
        .await
        .expect("get_many")
        .into_iter()
        .flatten()
        .collect();
    for (sort, ascending, state) in [
        (SortKey::Updated, false, None),
        (SortKey::StateUpdated, true, None),
        (SortKey::StateUpdated, false, Some(State::Claimed)),
        (SortKey::Updated, true, Some(State::Claimed)),
    ] {
        let query = Query {
            sort: Some(sort),
            ascending,
            state,
            ..Query::default()
        };
        let mut expected: Vec<&StateRecord> =
            everything.iter().filter(|r| query.matches(r)).collect();
        expected.sort_by(|a, b| (sort.of(a), &a.payload_id).cmp(&(sort.of(b), &b.payload_id)));
        expected.dedup_by(|a, b| a.payload_id == b.payload_id);
        if !ascending {
            expected.reverse();
        }
        let expected: Vec<&str> = expected.iter().map(|r| r.payload_id.as_str()).collect();
        let mut got = Vec::new();
        let mut token = None;
        for page in 0.. {
            let from = if page % 2 == 0 { &store } else { &fresh };
            let page = from
                .query_page(&query, token.as_ref(), 9)
                .await
                .expect("page");
            got.extend(page.records.into_iter().map(|r| r.payload_id));
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(got, expected, "{query:?}");
    }
}
