//! The conformance suite every [`StateStore`] backend must pass (feature `conformance`).
//!
//! Each case is an `async fn` taking an empty store; [`state_conformance_tests!`] turns them
//! all into `#[tokio::test]`s for one backend:
//!
//! ```ignore
//! async fn make() -> MyStore { MyStore::new_empty().await }
//! cirrus_core::state_conformance_tests!(make);
//! ```
//!
//! The cases panic (assert) on a failure. They use fixed times, so they do not depend on the
//! clock, and they only create records in workflows whose names start with `cf-`.
//!
//! [`state_conformance_tests!`]: crate::state_conformance_tests

use super::{
    Change, CountsQuery, Outcome, PageToken, Query, SortKey, State, StateKey, StateRecord,
    StateStore, Timestamp, Transition,
};
use std::collections::{BTreeMap, HashSet};

/// Generates one `#[tokio::test]` per conformance case, each on a fresh store from `$make`
/// (an `async fn() -> impl StateStore`).
#[macro_export]
macro_rules! state_conformance_tests {
    ($make:path) => {
        $crate::state_conformance_tests!(@cases $make;
            claim_new_record,
            claim_refused_while_active,
            processing_rules,
            terminal_transitions,
            skip_and_rerun_rules,
            late_events_cannot_move_backwards,
            batch_applies_in_order,
            set_outputs,
            set_outputs_many,
            get_many_in_order,
            delete_removes_record_and_timeline,
            claim_race_has_one_winner,
            paging_10000_records,
            since_and_until_windows,
            error_prefix_filters,
            filters_and_order,
            counts_per_workflow_and_state,
            page_token_belongs_to_its_query,
            timeline_in_order,
            stream_honours_limit
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store = $make().await;
                $crate::state::conformance::$case(&store).await;
            }
        )*
    };
}

/// A fixed base time: 2025-06-01T00:00:00Z.
pub const T0: i64 = 1_748_736_000_000_000;

/// `T0` plus `seconds`.
pub fn t(seconds: i64) -> Timestamp {
    Timestamp::from_micros(T0 + seconds * 1_000_000)
}

/// The key of item `item` in workflow `cf-{workflow}` and collection `collections`.
pub fn key(collections: &str, workflow: &str, item: &str) -> StateKey {
    StateKey::parse(&format!("{collections}/workflow-cf-{workflow}/{item}"))
        .expect("a valid conformance key")
}

fn claim(execution: &str) -> Transition {
    Transition::Claim {
        execution: execution.to_string(),
        replace: false,
    }
}

fn rerun(execution: &str) -> Transition {
    Transition::Claim {
        execution: execution.to_string(),
        replace: true,
    }
}

fn processing(execution: &str) -> Transition {
    Transition::Processing {
        execution: execution.to_string(),
    }
}

fn succeeded(execution: &str) -> Transition {
    Transition::Succeeded {
        execution: execution.to_string(),
    }
}

fn failed(execution: &str, error: &str) -> Transition {
    Transition::Failed {
        execution: execution.to_string(),
        error: error.to_string(),
    }
}

fn invalid(execution: &str, error: &str) -> Transition {
    Transition::Invalid {
        execution: execution.to_string(),
        error: error.to_string(),
    }
}

fn aborted(execution: &str) -> Transition {
    Transition::Aborted {
        execution: execution.to_string(),
    }
}

async fn one<S: StateStore + ?Sized>(
    store: &S,
    key: &StateKey,
    transition: Transition,
    at: Timestamp,
) -> Outcome {
    let change = Change {
        key: key.clone(),
        transition: transition.clone(),
        at,
    };
    let mut outcomes = store.apply(&[change]).await.expect("apply");
    assert_eq!(outcomes.len(), 1, "one outcome per change");
    outcomes.pop().expect("one outcome")
}

async fn applied<S: StateStore + ?Sized>(
    store: &S,
    key: &StateKey,
    transition: Transition,
    at: Timestamp,
) -> StateRecord {
    match one(store, key, transition.clone(), at).await {
        Outcome::Applied(record) => record,
        Outcome::Refused(current) => {
            panic!("{transition:?} on {key} was refused; record: {current:?}")
        }
    }
}

async fn refused<S: StateStore + ?Sized>(
    store: &S,
    key: &StateKey,
    transition: Transition,
    at: Timestamp,
) -> Option<StateRecord> {
    match one(store, key, transition.clone(), at).await {
        Outcome::Refused(current) => current,
        Outcome::Applied(record) => {
            panic!("{transition:?} on {key} was applied; record: {record:?}")
        }
    }
}

async fn stored<S: StateStore + ?Sized>(store: &S, key: &StateKey) -> StateRecord {
    store
        .get(key)
        .await
        .expect("get")
        .unwrap_or_else(|| panic!("no record for {key}"))
}

async fn all<S: StateStore + ?Sized>(
    store: &S,
    query: &Query,
    page_size: usize,
) -> Vec<StateRecord> {
    let mut records = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let page = store
            .query_page(query, token.as_ref(), page_size)
            .await
            .expect("query_page");
        assert!(
            page.records.len() <= page_size,
            "a page holds at most page_size records"
        );
        records.extend(page.records);
        match page.next {
            Some(next) => token = Some(next),
            None => return records,
        }
    }
}

fn ids(records: &[StateRecord]) -> Vec<&str> {
    records.iter().map(|r| r.payload_id.as_str()).collect()
}

/// A first claim creates the record, CLAIMED, with every field set as cirrus-geo sets it.
pub async fn claim_new_record<S: StateStore + ?Sized>(store: &S) {
    let k = key("sentinel-2-l2a", "claim", "S2B_1");
    assert_eq!(store.get(&k).await.expect("get"), None);
    let record = applied(store, &k, claim("exec-1"), t(10)).await;
    assert_eq!(record.payload_id, "sentinel-2-l2a/workflow-cf-claim/S2B_1");
    assert_eq!(record.collections, "sentinel-2-l2a");
    assert_eq!(record.workflow, "cf-claim");
    assert_eq!(record.item_ids, "S2B_1");
    assert_eq!(record.state, State::Claimed);
    assert_eq!(record.executions, ["exec-1"]);
    assert_eq!(
        (record.created, record.updated, record.state_updated),
        (t(10), t(10), t(10))
    );
    assert_eq!(record.claimed_at, Some(t(10)));
    assert_eq!(record.last_error, None);
    assert_eq!(
        stored(store, &k).await,
        record,
        "get returns what apply returned"
    );
}

/// CLAIMED and PROCESSING refuse every claim, even with `replace`, and report the record.
pub async fn claim_refused_while_active<S: StateStore + ?Sized>(store: &S) {
    let k = key("c", "active", "a");
    applied(store, &k, claim("e1"), t(1)).await;
    let current = refused(store, &k, claim("e2"), t(2))
        .await
        .expect("the refusing record");
    assert_eq!(
        (current.state, current.executions.clone()),
        (State::Claimed, vec!["e1".to_string()])
    );
    refused(store, &k, rerun("e2"), t(2)).await;
    applied(store, &k, processing("e1"), t(3)).await;
    let current = refused(store, &k, rerun("e3"), t(4))
        .await
        .expect("the refusing record");
    assert_eq!(current.state, State::Processing);
    let record = stored(store, &k).await;
    assert_eq!(
        record.executions,
        ["e1"],
        "refused claims leave executions alone"
    );
    assert_eq!(record.state_updated, t(3));
}

/// PROCESSING only from CLAIMED, by the claiming execution.
pub async fn processing_rules<S: StateStore + ?Sized>(store: &S) {
    let k = key("c", "proc", "a");
    assert_eq!(
        refused(store, &k, processing("e1"), t(1)).await,
        None,
        "no record, nothing to process"
    );
    assert_eq!(
        store.get(&k).await.expect("get"),
        None,
        "a refused transition writes nothing"
    );
    applied(store, &k, claim("e1"), t(2)).await;
    refused(store, &k, processing("other"), t(3)).await;
    let record = applied(store, &k, processing("e1"), t(4)).await;
    assert_eq!(
        (record.state, record.state_updated, record.claimed_at),
        (State::Processing, t(4), Some(t(2)))
    );
    refused(store, &k, processing("e1"), t(5)).await;
    applied(store, &k, succeeded("e1"), t(6)).await;
    refused(store, &k, processing("e1"), t(7)).await;
}

/// Each terminal transition is allowed from CLAIMED and from PROCESSING, by the owner only,
/// once.
pub async fn terminal_transitions<S: StateStore + ?Sized>(store: &S) {
    type Make = fn(&str) -> Transition;
    let cases: [(State, Make, Option<&str>); 4] = [
        (State::Succeeded, |e| succeeded(e), None),
        (
            State::Failed,
            |e| failed(e, "TaskFailed: boom"),
            Some("TaskFailed: boom"),
        ),
        (
            State::Invalid,
            |e| invalid(e, "InvalidInput: no assets"),
            Some("InvalidInput: no assets"),
        ),
        (State::Aborted, |e| aborted(e), None),
    ];
    for (state, make, error) in cases {
        for from_processing in [false, true] {
            let k = key("c", "terminal", &format!("{state}-{from_processing}"));
            refused(store, &k, make("e1"), t(1)).await;
            applied(store, &k, claim("e1"), t(2)).await;
            if from_processing {
                applied(store, &k, processing("e1"), t(3)).await;
            }
            refused(store, &k, make("intruder"), t(4)).await;
            let record = applied(store, &k, make("e1"), t(5)).await;
            assert_eq!(record.state, state);
            assert_eq!(record.last_error.as_deref(), error);
            assert_eq!((record.updated, record.state_updated), (t(5), t(5)));
            assert_eq!(record.created, t(2));
            let again = refused(store, &k, make("e1"), t(6)).await.expect("record");
            assert_eq!(again, record, "a duplicate event changes nothing");
            for other in [
                succeeded("e1"),
                failed("e1", "X: y"),
                invalid("e1", "X: y"),
                aborted("e1"),
            ] {
                refused(store, &k, other, t(7)).await;
            }
            assert_eq!(stored(store, &k).await, record);
        }
    }
}

/// DESIGN §4: FAILED, ABORTED or absent run; SUCCEEDED and INVALID are skipped unless
/// `replace`; a rerun appends its execution and clears `last_error` and `outputs`.
pub async fn skip_and_rerun_rules<S: StateStore + ?Sized>(store: &S) {
    type Finish = fn(&str) -> Transition;
    let finish: [(&str, Finish, bool); 4] = [
        ("succeeded", |e| succeeded(e), false),
        ("invalid", |e| invalid(e, "InvalidInput: bad"), false),
        ("failed", |e| failed(e, "TaskFailed: bad"), true),
        ("aborted", |e| aborted(e), true),
    ];
    for (name, finish, runs_again) in finish {
        let k = key("c", "rerun", name);
        applied(store, &k, claim("e1"), t(1)).await;
        applied(store, &k, processing("e1"), t(2)).await;
        applied(store, &k, finish("e1"), t(3)).await;
        store
            .set_outputs(&k, &["s3://bucket/out.json".to_string()], t(4))
            .await
            .expect("set_outputs");
        if runs_again {
            let record = applied(store, &k, claim("e2"), t(5)).await;
            assert_eq!(record.executions, ["e1", "e2"]);
        } else {
            let current = refused(store, &k, claim("e2"), t(5)).await.expect("record");
            assert_eq!(current.executions, ["e1"]);
            let record = applied(store, &k, rerun("e2"), t(6)).await;
            assert_eq!(record.executions, ["e1", "e2"]);
        }
        let record = stored(store, &k).await;
        assert_eq!(record.state, State::Claimed);
        assert_eq!(record.last_error, None, "{name}: a rerun clears last_error");
        assert_eq!(record.outputs, None, "{name}: a rerun clears outputs");
        assert_eq!(record.created, t(1), "{name}: created survives reruns");
        assert_eq!(record.current_execution(), Some("e2"));
    }
}

/// A status event from an execution that no longer owns the record is refused.
pub async fn late_events_cannot_move_backwards<S: StateStore + ?Sized>(store: &S) {
    let k = key("c", "late", "a");
    applied(store, &k, claim("e1"), t(1)).await;
    applied(store, &k, failed("e1", "TaskFailed: first"), t(2)).await;
    applied(store, &k, claim("e2"), t(3)).await;
    applied(store, &k, processing("e2"), t(4)).await;
    for late in [
        succeeded("e1"),
        failed("e1", "TaskFailed: late"),
        aborted("e1"),
        processing("e1"),
    ] {
        refused(store, &k, late, t(5)).await;
    }
    applied(store, &k, succeeded("e2"), t(6)).await;
    refused(store, &k, failed("e2", "TaskFailed: after success"), t(7)).await;
    let record = stored(store, &k).await;
    assert_eq!((record.state, record.last_error), (State::Succeeded, None));
}

/// A batch is applied in order: later changes see earlier ones.
pub async fn batch_applies_in_order<S: StateStore + ?Sized>(store: &S) {
    let a = key("c", "batch", "a");
    let b = key("c", "batch", "b");
    let change = |key: &StateKey, transition, s| Change {
        key: key.clone(),
        transition,
        at: t(s),
    };
    let outcomes = store
        .apply(&[
            change(&a, claim("e1"), 1),
            change(&a, claim("e2"), 2),
            change(&b, claim("e3"), 3),
            change(&a, processing("e1"), 4),
            change(&b, succeeded("e9"), 5),
            change(&b, succeeded("e3"), 6),
        ])
        .await
        .expect("apply");
    let applied: Vec<bool> = outcomes.iter().map(Outcome::is_applied).collect();
    assert_eq!(applied, [true, false, true, true, false, true]);
    assert_eq!(stored(store, &a).await.state, State::Processing);
    assert_eq!(stored(store, &b).await.state, State::Succeeded);
    assert_eq!(store.apply(&[]).await.expect("empty apply"), []);
}

/// `set_outputs_many` is `set_outputs` for each pair: missing records are left missing.
pub async fn set_outputs_many<S: StateStore + ?Sized>(store: &S) {
    let (a, b, missing) = (
        key("c", "many", "a"),
        key("c", "many", "b"),
        key("c", "many", "x"),
    );
    for k in [&a, &b] {
        applied(store, k, claim("e1"), t(1)).await;
    }
    let outputs = vec![
        (a.clone(), vec!["s3://b/a.json".to_string()]),
        (missing.clone(), vec!["s3://b/x.json".to_string()]),
        (
            b.clone(),
            vec!["s3://b/b1.json".to_string(), "s3://b/b2.json".to_string()],
        ),
    ];
    store
        .set_outputs_many(&outputs, t(2))
        .await
        .expect("set_outputs_many");
    for (k, urls) in [&outputs[0], &outputs[2]] {
        let record = stored(store, k).await;
        assert_eq!(record.outputs.as_ref(), Some(urls));
        assert_eq!((record.state, record.updated), (State::Claimed, t(2)));
    }
    assert_eq!(store.get(&missing).await.expect("get"), None);
    store
        .set_outputs_many(&[], t(3))
        .await
        .expect("an empty batch");
}

/// `set_outputs` records outputs and bumps `updated` only.
pub async fn set_outputs<S: StateStore + ?Sized>(store: &S) {
    let k = key("c", "outputs", "a");
    let outputs = vec!["s3://b/a.json".to_string(), "s3://b/b.json".to_string()];
    assert_eq!(
        store
            .set_outputs(&k, &outputs, t(1))
            .await
            .expect("set_outputs"),
        None
    );
    assert_eq!(
        store.get(&k).await.expect("get"),
        None,
        "set_outputs creates nothing"
    );
    applied(store, &k, claim("e1"), t(2)).await;
    applied(store, &k, succeeded("e1"), t(3)).await;
    let record = store
        .set_outputs(&k, &outputs, t(4))
        .await
        .expect("set_outputs")
        .expect("record");
    assert_eq!(record.outputs.as_deref(), Some(&outputs[..]));
    assert_eq!(
        (record.state, record.updated, record.state_updated),
        (State::Succeeded, t(4), t(3))
    );
    assert_eq!(stored(store, &k).await, record);
    assert_eq!(
        store.timeline(&k).await.expect("timeline").len(),
        2,
        "outputs are not a transition"
    );
}

/// `get_many` answers in the order asked, with `None` for unknown payloads.
pub async fn get_many_in_order<S: StateStore + ?Sized>(store: &S) {
    let keys: Vec<StateKey> = (0..5)
        .map(|i| key("c", "many", &format!("item-{i}")))
        .collect();
    for k in [&keys[1], &keys[3], &keys[4]] {
        applied(store, k, claim("e"), t(1)).await;
    }
    let order = [
        keys[4].clone(),
        keys[0].clone(),
        keys[1].clone(),
        keys[2].clone(),
        keys[3].clone(),
        keys[4].clone(),
    ];
    let records = store.get_many(&order).await.expect("get_many");
    let found: Vec<Option<&str>> = records
        .iter()
        .map(|r| r.as_ref().map(|r| r.item_ids.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            Some("item-4"),
            None,
            Some("item-1"),
            None,
            Some("item-3"),
            Some("item-4")
        ]
    );
    assert!(
        store
            .get_many(&[])
            .await
            .expect("empty get_many")
            .is_empty()
    );
}

/// `delete` forgets the record and its timeline; a new claim starts afresh.
pub async fn delete_removes_record_and_timeline<S: StateStore + ?Sized>(store: &S) {
    let k = key("c", "delete", "a");
    assert!(!store.delete(&k).await.expect("delete"));
    applied(store, &k, claim("e1"), t(1)).await;
    applied(store, &k, failed("e1", "TaskFailed: x"), t(2)).await;
    assert!(store.delete(&k).await.expect("delete"));
    assert_eq!(store.get(&k).await.expect("get"), None);
    assert!(store.timeline(&k).await.expect("timeline").is_empty());
    let counts = store
        .counts(&CountsQuery {
            workflow: Some("cf-delete".into()),
            since: None,
        })
        .await
        .expect("counts");
    assert_eq!(counts.total(), 0, "deleted records are not counted");
    let record = applied(store, &k, claim("e2"), t(3)).await;
    assert_eq!(
        (record.created, record.executions.clone()),
        (t(3), vec!["e2".to_string()])
    );
    assert_eq!(store.timeline(&k).await.expect("timeline").len(), 1);
}

/// Many claimers race for each payload; exactly one wins, and every loser sees the winner.
pub async fn claim_race_has_one_winner<S: StateStore + ?Sized>(store: &S) {
    let store: &S = store;
    for round in 0..10 {
        let k = key("c", "race", &format!("item-{round}"));
        let claims = (0..12).map(|i| {
            let k = k.clone();
            async move {
                let execution = format!("exec-{round}-{i}");
                let outcome = one(store, &k, claim(&execution), t(i)).await;
                (execution, outcome)
            }
        });
        let results = futures_util::future::join_all(claims).await;
        let winners: Vec<&String> = results
            .iter()
            .filter(|(_, o)| o.is_applied())
            .map(|(e, _)| e)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one claim wins, got {winners:?}"
        );
        let record = stored(store, &k).await;
        assert_eq!(record.executions, [winners[0].clone()]);
        for (_, outcome) in &results {
            if let Outcome::Refused(current) = outcome {
                let current = current
                    .as_ref()
                    .expect("a refused claim reports the record");
                assert_eq!(current.state, State::Claimed);
                assert_eq!(current.current_execution(), Some(winners[0].as_str()));
            }
        }
    }
}

/// 10,000 records over several workflows and collections, paged with a size that does not
/// divide the total, in both orders and on both sort keys: no duplicates, no gaps, in order.
pub async fn paging_10000_records<S: StateStore + ?Sized>(store: &S) {
    const N: usize = 10_000;
    let mut changes = Vec::with_capacity(N + N / 5);
    for i in 0..N {
        let k = key(
            if i % 2 == 0 { "l8" } else { "s2" },
            &format!("page{}", i % 4),
            &format!("item-{i:05}"),
        );
        // Many records share a time, so paging must break ties.
        let at = t((i / 7) as i64);
        changes.push(Change {
            key: k.clone(),
            transition: claim(&format!("e{i}")),
            at,
        });
        if i % 5 == 0 {
            changes.push(Change {
                key: k,
                transition: failed(&format!("e{i}"), "TaskFailed: x"),
                at: t((i / 7) as i64 + 1),
            });
        }
    }
    for chunk in changes.chunks(2_500) {
        let outcomes = store.apply(chunk).await.expect("apply");
        assert!(outcomes.iter().all(Outcome::is_applied));
    }
    let check = |query: &Query, records: &[StateRecord], expected: usize| {
        let unique: HashSet<&str> = ids(records).into_iter().collect();
        assert_eq!(
            unique.len(),
            records.len(),
            "{query:?}: duplicates across pages"
        );
        assert_eq!(records.len(), expected, "{query:?}: gaps across pages");
        let key = query.sort_key();
        for pair in records.windows(2) {
            let (a, b) = (key.of(&pair[0]), key.of(&pair[1]));
            assert!(
                if query.ascending { a <= b } else { a >= b },
                "{query:?}: out of order"
            );
        }
        assert!(
            records.iter().all(|r| query.matches(r)),
            "{query:?}: a record does not match"
        );
    };
    for ascending in [false, true] {
        for sort in [SortKey::Updated, SortKey::StateUpdated] {
            let query = Query {
                sort: Some(sort),
                ascending,
                ..Query::default()
            };
            let records = all(store, &query, 997).await;
            check(&query, &records, N);
        }
        let query = Query {
            workflow: Some("cf-page1".into()),
            ascending,
            ..Query::default()
        };
        check(&query, &all(store, &query, 333).await, N / 4);
        let query = Query {
            state: Some(State::Failed),
            ascending,
            ..Query::default()
        };
        check(&query, &all(store, &query, 101).await, N / 5);
        let query = Query {
            collections: Some("l8".into()),
            workflow: Some("cf-page2".into()),
            ascending,
            ..Query::default()
        };
        check(&query, &all(store, &query, 250).await, N / 4);
    }
}

/// `since` and `until` bound the sort-key time, inclusively, with and without other filters.
pub async fn since_and_until_windows<S: StateStore + ?Sized>(store: &S) {
    for i in 0..10i64 {
        let k = key("c", &format!("window{}", i % 2), &format!("item-{i}"));
        applied(store, &k, claim("e"), t(i * 100)).await;
        if i % 3 == 0 {
            applied(store, &k, failed("e", "TaskFailed: w"), t(i * 100 + 50)).await;
        }
    }
    let items = |records: Vec<StateRecord>| -> Vec<String> {
        let mut items: Vec<String> = records.into_iter().map(|r| r.item_ids).collect();
        items.sort();
        items
    };
    let query = Query {
        since: Some(t(300)),
        until: Some(t(600)),
        sort: Some(SortKey::StateUpdated),
        ..Query::default()
    };
    assert_eq!(
        items(all(store, &query, 100).await),
        ["item-3", "item-4", "item-5"]
    );
    let query = Query {
        since: Some(t(350)),
        ..Query::default()
    };
    assert_eq!(
        items(all(store, &query, 3).await),
        [
            "item-3", "item-4", "item-5", "item-6", "item-7", "item-8", "item-9"
        ]
    );
    let query = Query {
        until: Some(t(100)),
        ..Query::default()
    };
    assert_eq!(items(all(store, &query, 100).await), ["item-0", "item-1"]);
    let query = Query {
        state: Some(State::Failed),
        since: Some(t(350)),
        ..Query::default()
    };
    assert_eq!(
        items(all(store, &query, 100).await),
        ["item-3", "item-6", "item-9"]
    );
    let query = Query {
        state: Some(State::Failed),
        since: Some(t(350)),
        workflow: Some("cf-window0".into()),
        ..Query::default()
    };
    assert_eq!(items(all(store, &query, 100).await), ["item-6"]);
    let query = Query {
        since: Some(t(2000)),
        ..Query::default()
    };
    assert!(all(store, &query, 100).await.is_empty());
    let counts = store
        .counts(&CountsQuery {
            workflow: None,
            since: Some(t(350)),
        })
        .await
        .expect("counts");
    assert_eq!(counts.get("cf-window0", State::Failed), 1);
    assert_eq!(counts.get("cf-window1", State::Failed), 2);
    assert_eq!(counts.get("cf-window0", State::Claimed), 2);
    assert_eq!(counts.get("cf-window1", State::Claimed), 2);
    assert_eq!(counts.total(), 7);
}

/// `error_prefix` matches the start of `last_error`, case-sensitively, alone or with other
/// filters.
pub async fn error_prefix_filters<S: StateStore + ?Sized>(store: &S) {
    let errors = [
        ("a", "TaskFailed: band 3 empty"),
        ("b", "TaskFailed: no assets"),
        ("c", "TimedOutError: 3600 s"),
        ("d", "taskfailed: lowercase"),
    ];
    for (i, (item, error)) in errors.iter().enumerate() {
        let k = key("c", if i % 2 == 0 { "err0" } else { "err1" }, item);
        applied(store, &k, claim("e"), t(i as i64)).await;
        applied(store, &k, failed("e", error), t(i as i64 + 10)).await;
    }
    let k = key("c", "err0", "inv");
    applied(store, &k, claim("e"), t(20)).await;
    applied(store, &k, invalid("e", "InvalidInput: TaskFailed"), t(21)).await;
    let k = key("c", "err1", "ok");
    applied(store, &k, claim("e"), t(30)).await;
    applied(store, &k, succeeded("e"), t(31)).await;

    let items = |records: Vec<StateRecord>| -> Vec<String> {
        let mut items: Vec<String> = records.into_iter().map(|r| r.item_ids).collect();
        items.sort();
        items
    };
    let prefix = |p: &str| Query {
        error_prefix: Some(p.to_string()),
        ..Query::default()
    };
    assert_eq!(
        items(all(store, &prefix("TaskFailed"), 1).await),
        ["a", "b"]
    );
    assert_eq!(
        items(all(store, &prefix("TaskFailed: no"), 10).await),
        ["b"]
    );
    assert_eq!(items(all(store, &prefix("Ti"), 10).await), ["c"]);
    assert_eq!(
        items(all(store, &prefix("InvalidInput"), 10).await),
        ["inv"]
    );
    assert!(all(store, &prefix("Nothing"), 10).await.is_empty());
    assert_eq!(
        all(store, &prefix(""), 10).await.len(),
        5,
        "the empty prefix matches every error"
    );
    let query = Query {
        state: Some(State::Invalid),
        ..prefix("TaskFailed")
    };
    assert!(all(store, &query, 10).await.is_empty());
    let query = Query {
        workflow: Some("cf-err1".into()),
        ..prefix("TaskFailed")
    };
    assert_eq!(items(all(store, &query, 10).await), ["b"]);
    let query = Query {
        state: Some(State::Failed),
        since: Some(t(12)),
        ..prefix("T")
    };
    assert_eq!(items(all(store, &query, 10).await), ["c"]);
}

/// Workflow, collections and state filters; sort keys and directions.
pub async fn filters_and_order<S: StateStore + ?Sized>(store: &S) {
    let a = key("l8/s2", "order", "a");
    let b = key("s2", "order", "b");
    let c = key("s2", "other", "c");
    applied(store, &a, claim("e"), t(1)).await;
    applied(store, &b, claim("e"), t(2)).await;
    applied(store, &c, claim("e"), t(3)).await;
    applied(store, &a, succeeded("e"), t(4)).await;
    // b's last write is after a's, but it entered its state before.
    store
        .set_outputs(&b, &["s3://x".to_string()], t(5))
        .await
        .expect("set_outputs");

    let order = |q: Query| async move {
        all(store, &q, 2)
            .await
            .into_iter()
            .map(|r| r.payload_id)
            .collect::<Vec<_>>()
    };
    let (ia, ib, ic) = (a.as_str(), b.as_str(), c.as_str());
    assert_eq!(order(Query::default()).await, [ib, ia, ic]);
    assert_eq!(
        order(Query {
            ascending: true,
            ..Query::default()
        })
        .await,
        [ic, ia, ib]
    );
    assert_eq!(
        order(Query {
            sort: Some(SortKey::StateUpdated),
            ..Query::default()
        })
        .await,
        [ia, ic, ib]
    );
    assert_eq!(
        order(Query {
            workflow: Some("cf-order".into()),
            ..Query::default()
        })
        .await,
        [ib, ia]
    );
    assert_eq!(
        order(Query {
            collections: Some("s2".into()),
            ..Query::default()
        })
        .await,
        [ib, ic]
    );
    assert_eq!(
        order(Query {
            collections: Some("l8/s2".into()),
            ..Query::default()
        })
        .await,
        [ia]
    );
    assert_eq!(
        order(Query {
            state: Some(State::Claimed),
            ..Query::default()
        })
        .await,
        [ic, ib]
    );
    assert_eq!(
        order(Query {
            state: Some(State::Claimed),
            sort: Some(SortKey::Updated),
            ..Query::default()
        })
        .await,
        [ib, ic]
    );
    assert!(
        order(Query {
            workflow: Some("cf-none".into()),
            ..Query::default()
        })
        .await
        .is_empty()
    );
    assert!(
        order(Query {
            state: Some(State::Aborted),
            ..Query::default()
        })
        .await
        .is_empty()
    );
}

/// Exact counts per workflow and state, overall or for one workflow.
pub async fn counts_per_workflow_and_state<S: StateStore + ?Sized>(store: &S) {
    let mut expected: BTreeMap<(String, State), u64> = BTreeMap::new();
    for i in 0..60 {
        let workflow = format!("count{}", i % 3);
        let k = key("c", &workflow, &format!("item-{i}"));
        let e = format!("e{i}");
        applied(store, &k, claim(&e), t(i)).await;
        let state = match i % 5 {
            0 => State::Claimed,
            1 => {
                applied(store, &k, processing(&e), t(i)).await;
                State::Processing
            }
            2 => {
                applied(store, &k, failed(&e, "X: y"), t(i)).await;
                State::Failed
            }
            3 => {
                applied(store, &k, invalid(&e, "InvalidInput: y"), t(i)).await;
                State::Invalid
            }
            _ => {
                applied(store, &k, succeeded(&e), t(i)).await;
                State::Succeeded
            }
        };
        *expected
            .entry((format!("cf-{workflow}"), state))
            .or_default() += 1;
    }
    let counts = store.counts(&CountsQuery::default()).await.expect("counts");
    for ((workflow, state), n) in &expected {
        assert_eq!(counts.get(workflow, *state), *n, "{workflow} {state}");
    }
    assert_eq!(counts.total(), 60);
    assert_eq!(counts.totals()[&State::Failed], 12);
    let one = store
        .counts(&CountsQuery {
            workflow: Some("cf-count1".into()),
            since: None,
        })
        .await
        .expect("counts");
    assert_eq!(one.workflows.keys().collect::<Vec<_>>(), ["cf-count1"]);
    assert_eq!(one.total(), 20);
    let none = store
        .counts(&CountsQuery {
            workflow: Some("cf-none".into()),
            since: None,
        })
        .await
        .expect("counts");
    assert_eq!(none.total(), 0);
}

/// A page token only continues the query that made it; garbage is a clear error.
pub async fn page_token_belongs_to_its_query<S: StateStore + ?Sized>(store: &S) {
    for i in 0..5 {
        applied(
            store,
            &key("c", "token", &format!("i{i}")),
            claim("e"),
            t(i),
        )
        .await;
    }
    let query = Query {
        workflow: Some("cf-token".into()),
        ..Query::default()
    };
    let page = store.query_page(&query, None, 2).await.expect("page");
    let token = page.next.expect("a next page");
    let other = Query {
        state: Some(State::Failed),
        ..Query::default()
    };
    let error = store
        .query_page(&other, Some(&token), 2)
        .await
        .expect_err("token of another query");
    assert!(error.to_string().contains("page"), "{error}");
    let error = store
        .query_page(&query, Some(&PageToken::new("not a token")), 2)
        .await
        .expect_err("garbage");
    assert!(error.to_string().contains("page token"), "{error}");
    // Moving the time window (as `--since 24h` does between runs) keeps the token usable.
    let moved = Query {
        since: Some(t(-100)),
        ..query.clone()
    };
    let rest = store
        .query_page(&moved, Some(&token), 10)
        .await
        .expect("continued");
    assert_eq!(rest.records.len(), 3);
}

/// Every applied transition is in the timeline, in order; refused ones are not.
pub async fn timeline_in_order<S: StateStore + ?Sized>(store: &S) {
    let k = key("c", "timeline", "a");
    assert!(store.timeline(&k).await.expect("timeline").is_empty());
    applied(store, &k, claim("e1"), t(1)).await;
    refused(store, &k, claim("e9"), t(2)).await;
    applied(store, &k, processing("e1"), t(3)).await;
    applied(store, &k, failed("e1", "TaskFailed: one"), t(3)).await;
    applied(store, &k, claim("e2"), t(4)).await;
    applied(store, &k, processing("e2"), t(5)).await;
    refused(store, &k, succeeded("e1"), t(6)).await;
    applied(store, &k, succeeded("e2"), t(7)).await;
    let timeline = store.timeline(&k).await.expect("timeline");
    let got: Vec<(State, Timestamp, Option<&str>, Option<&str>)> = timeline
        .iter()
        .map(|e| (e.state, e.at, e.execution.as_deref(), e.error.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (State::Claimed, t(1), Some("e1"), None),
            (State::Processing, t(3), Some("e1"), None),
            (State::Failed, t(3), Some("e1"), Some("TaskFailed: one")),
            (State::Claimed, t(4), Some("e2"), None),
            (State::Processing, t(5), Some("e2"), None),
            (State::Succeeded, t(7), Some("e2"), None),
        ]
    );
}

/// The streaming `query` yields every match, or at most `limit`.
pub async fn stream_honours_limit<S: StateStore + ?Sized>(store: &S) {
    use futures_util::TryStreamExt;
    let changes: Vec<Change> = (0..2_100)
        .map(|i| Change {
            key: key("c", "stream", &format!("i{i:04}")),
            transition: claim("e"),
            at: t(i),
        })
        .collect();
    store.apply(&changes).await.expect("apply");
    let query = Query {
        workflow: Some("cf-stream".into()),
        ..Query::default()
    };
    let everything: Vec<StateRecord> = store
        .query(query.clone())
        .try_collect()
        .await
        .expect("stream");
    assert_eq!(everything.len(), 2_100);
    assert_eq!(everything[0].item_ids, "i2099");
    let limited: Vec<StateRecord> = store
        .query(Query {
            limit: Some(1_500),
            ..query
        })
        .try_collect()
        .await
        .expect("stream");
    assert_eq!(limited.len(), 1_500);
    assert_eq!(ids(&limited), ids(&everything[..1_500]));
}
