//! Helpers shared by the feeder tests.
#![allow(dead_code)]

use async_trait::async_trait;
use cirrus_feeders::{Error, Result, Sink};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A sink keeping every payload, that can be told to fail from its Nth send on.
#[derive(Default)]
pub struct Collect {
    pub payloads: Mutex<Vec<Value>>,
    pub sends: AtomicUsize,
    /// Fail every send from this one (0-based) on; 0 = never.
    pub fail_from: AtomicUsize,
}

impl Collect {
    pub fn failing_from(n: usize) -> Collect {
        let sink = Collect::default();
        sink.fail_from.store(n, Ordering::SeqCst);
        sink
    }

    /// Every item id in every payload, in order.
    pub fn item_ids(&self) -> Vec<String> {
        self.payloads
            .lock()
            .unwrap()
            .iter()
            .flat_map(|p| p["features"].as_array().cloned().unwrap_or_default())
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    }
}

#[async_trait]
impl Sink for Collect {
    fn name(&self) -> &'static str {
        "collect"
    }

    async fn send(&self, payloads: &[Value]) -> Result<()> {
        let n = self.sends.fetch_add(1, Ordering::SeqCst);
        let from = self.fail_from.load(Ordering::SeqCst);
        if from > 0 && n >= from {
            return Err(Error::Sink {
                sink: "collect",
                message: "injected failure".into(),
            });
        }
        self.payloads.lock().unwrap().extend_from_slice(payloads);
        Ok(())
    }
}

/// How many times each id occurs.
pub fn counts(ids: &[String]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for id in ids {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    counts
}

/// Asserts that `ids` are exactly `expected`, each once.
pub fn assert_exactly_once(ids: &[String], expected: &[String]) {
    let counts = counts(ids);
    let dups: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(
        dups.is_empty(),
        "duplicates: {dups:?} (of {} ids)",
        ids.len()
    );
    let mut got: Vec<&str> = counts.keys().copied().collect();
    got.sort_unstable();
    let mut want: Vec<&str> = expected.iter().map(String::as_str).collect();
    want.sort_unstable();
    if got != want {
        let missing: Vec<_> = want
            .iter()
            .filter(|w| !counts.contains_key(*w))
            .take(5)
            .collect();
        panic!(
            "got {} ids, want {}; missing e.g. {missing:?}",
            got.len(),
            want.len()
        );
    }
}

/// A future that never completes (no interruption).
pub async fn never() {
    std::future::pending::<()>().await
}
