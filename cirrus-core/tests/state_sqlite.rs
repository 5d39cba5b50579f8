//! The state DB conformance suite on the SQLite backend, plus what only SQLite has: query
//! plans, migrations, and several processes sharing one file.

use cirrus_core::state::sqlite::SqliteStateStore;

async fn make() -> SqliteStateStore {
    // The directory lives as long as the test process; each store gets its own.
    let dir = tempfile::tempdir().expect("temp dir").keep();
    SqliteStateStore::create(dir.join("state.db"))
        .await
        .expect("create")
}

cirrus_core::state_conformance_tests!(make);
