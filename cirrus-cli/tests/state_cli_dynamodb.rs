//! `cirrus state --state-db dynamodb:TABLE …` end to end, against a `moto_server` on
//! 127.0.0.1: the binary finds the table through the standard AWS environment variables.

use assert_cmd::Command;
use cirrus_core::state::dynamodb::DynamoStateStore;
use cirrus_core::state::{Change, StateKey, StateStore, Timestamp, Transition};
use cirrus_core::testing::MotoServer;
use predicates::prelude::*;

fn cirrus(moto: &MotoServer) -> Command {
    let mut cmd = Command::cargo_bin("cirrus").expect("binary");
    cmd.env_remove("CIRRUS_STATE_DB").env_remove("AWS_PROFILE");
    for (name, value) in moto.env() {
        cmd.env(name, value);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_commands_read_a_dynamodb_table() {
    let moto = MotoServer::shared();
    let table = format!("cli-state-{}", std::process::id());
    let store = DynamoStateStore::new(
        moto.dynamodb_client().await,
        &table,
        DynamoStateStore::default_timeline_table(&table),
    );
    store.create_tables().await.expect("create tables");
    let now = Timestamp::now();
    let mut changes = Vec::new();
    for i in 0..6i64 {
        let key =
            StateKey::parse(&format!("aviris-ng/workflow-hsi-{}/ang2023{i}", i % 2)).expect("key");
        let execution = format!("exec-{i}");
        let at = now.minus_micros((6 - i) * 60_000_000);
        changes.push(Change {
            key: key.clone(),
            transition: Transition::Claim {
                execution: execution.clone(),
                replace: false,
            },
            at,
        });
        let end = if i % 3 == 0 {
            Transition::Failed {
                execution,
                error: "TaskFailed: band 214 is empty".into(),
            }
        } else {
            Transition::Succeeded { execution }
        };
        changes.push(Change {
            key,
            transition: end,
            at,
        });
    }
    assert!(
        store
            .apply(&changes)
            .await
            .expect("apply")
            .iter()
            .all(|o| o.is_applied())
    );

    let spec = format!("dynamodb:{table}");
    let out = cirrus(moto)
        .args([
            "state",
            "--state-db",
            &spec,
            "query",
            "--state",
            "FAILED",
            "--since",
            "1h",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let ids: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("JSON")["payload_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        ids,
        [
            "aviris-ng/workflow-hsi-1/ang20233",
            "aviris-ng/workflow-hsi-0/ang20230"
        ]
    );

    cirrus(moto)
        .env("CIRRUS_STATE_DB", &spec)
        .args(["state", "counts"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "hsi-0           0           0          2       1        0        0      3",
        ))
        .stdout(predicate::str::contains(
            "(all)           0           0          4       2        0        0      6",
        ));
    cirrus(moto)
        .args([
            "state",
            "--state-db",
            &spec,
            "timeline",
            "aviris-ng/workflow-hsi-1/ang20233",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("\"state\":\"CLAIMED\"")
                .and(predicate::str::contains("\"state\":\"FAILED\"")),
        );
    cirrus(moto)
        .args([
            "state",
            "--state-db",
            &spec,
            "get",
            "aviris-ng/workflow-hsi-1/ang2023x",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no state record for payload"));
    cirrus(moto)
        .args(["state", "--state-db", "dynamodb:no-such-table", "counts"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-table"));
}
