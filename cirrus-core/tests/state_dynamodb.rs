//! The state DB conformance suite on the DynamoDB backend, against a `moto_server` on
//! 127.0.0.1 (one per test process), plus what only DynamoDB has: the exact table schema,
//! records written by other programs, and clear errors for missing tables.

use cirrus_core::state::dynamodb::DynamoStateStore;
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
