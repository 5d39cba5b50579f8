//! AWS mode end to end, against `moto_server` on 127.0.0.1 (moto 5.2.5, Step Functions
//! execution on, Lambda without Docker), through the real AWS SDK and the `cirrus` binary:
//!
//! 1. `cirrus deploy` creates the stack through moto's CloudFormation. moto skips the
//!    resource types it does not implement (`AWS::SNS::Subscription`,
//!    `AWS::SQS::QueuePolicy`, `AWS::SNS::TopicPolicy`) and the deploy creates those through
//!    their service APIs: the test checks the report says so. A second deploy changes nothing.
//! 2. `cirrus process --deployment` sends a payload to the stack's SQS queue.
//! 3. The `process` handler, called in-process with the SQS event made of the real received
//!    message, claims the payload in DynamoDB and starts the moto execution of the stack's
//!    state machine.
//! 4. moto does not emit EventBridge status events, so the test builds the execution's status
//!    change event from its real `DescribeExecution` result, as EventBridge sends it, and puts
//!    it on the default bus; the stack's rule matches it with its own pattern (moto cannot
//!    deliver to the rule's Lambda target, so the test swaps that target for an SQS queue),
//!    and
//!    `update-state`, called in-process with that event, sets SUCCEEDED in DynamoDB,
//!    publishes the item to SNS (checked through an SQS subscription) and enqueues the chain
//!    successor.
//! 5. `cirrus state query --deployment` and `cirrus execution get` show the result.
//!
//! Also: a workflow the stack does not have gives a FAILED record, which `cirrus feed rerun
//! --deployment` puts back on the queue; missing credentials give one clear error line, and
//! so do refused ones (a second server that checks credentials); `cirrus deploy --delete`
//! removes the stack.
//!
//! moto does not run Lambda code (`use_docker: false`), so the package the stack deploys is a
//! stand-in zip; the handlers themselves run in this process.

#![cfg(feature = "aws")]

use assert_cmd::Command;
use cirrus_core::state::{State, StateKey};
use cirrus_core::testing::MotoServer;
use cirrus_deploy::config::DeploymentEnv;
use cirrus_deploy::lambda::{Context, Function, Handler};
use cirrus_deploy::testing::{acknowledge, drain, status_event};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

/// Turns on moto's Step Functions execution (before any state machine exists).
fn configure(server: &MotoServer) {
    let body = r#"{"stepfunctions":{"execute_state_machine":true},"lambda":{"use_docker":false},"batch":{"use_docker":false}}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    let request = format!(
        "POST /moto-api/config HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.port(),
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 20"), "{response}");
}

/// The `cirrus` binary, in `dir`, pointed at moto.
fn cirrus(server: &MotoServer, dir: &Path) -> Command {
    let mut command = Command::cargo_bin("cirrus").unwrap();
    command.current_dir(dir).env_remove("CIRRUS_DEPLOYMENT");
    for (name, value) in server.env() {
        command.env(name, value);
    }
    // object_store (the payload bucket) talks plain HTTP to moto.
    command.env("AWS_ALLOW_HTTP", "true");
    command
}

fn json_out(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A project with two workflows: `mirror` (its output is its input) chained to `second`.
fn project(dir: &Path, name: &str) {
    std::fs::write(
        dir.join("cirrus.toml"),
        format!("[deploy]\nname = \"{name}\"\nregion = \"{REGION}\"\n"),
    )
    .unwrap();
    for workflow in ["mirror", "second"] {
        let folder = dir.join("workflows").join(workflow);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join("definition.json"),
            r#"{"Comment": "output = input", "StartAt": "Mirror", "States": {"Mirror": {"Type": "Pass", "End": true}}}"#,
        )
        .unwrap();
    }
    // The stand-in package (see the module docs).
    let stand_in = dir.join("stand-in");
    std::fs::write(&stand_in, "#!/bin/sh\necho stand-in\n").unwrap();
    cirrus_deploy::package::zip_bootstrap(&stand_in, &dir.join("bootstrap.zip")).unwrap();
}

fn payload(workflow: &str, item: &str) -> Value {
    json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature", "id": item, "collection": "e2e",
            "bbox": [10.0, 20.0, 11.0, 21.0],
            "geometry": {"type": "Polygon", "coordinates": [[[10.0, 20.0], [11.0, 20.0], [11.0, 21.0], [10.0, 21.0], [10.0, 20.0]]]},
            "properties": {"datetime": "2024-05-01T00:00:00Z", "eo:cloud_cover": 3.5},
            "assets": {}, "links": []
        }],
        "process": [
            {"workflow": workflow, "upload_options": {"path_template": "/items/${collection}/${id}"}},
            {"workflow": "second"}
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_then_process_update_state_and_query() {
    let server = MotoServer::shared();
    configure(server);
    let sdk = server.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let events = aws_sdk_eventbridge::Client::new(&sdk);

    let dir = tempfile::tempdir().unwrap();
    let name = format!("e2e{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    project(dir.path(), &name);
    let deployment = format!("{name}-test");

    // 1. Deploy through moto's CloudFormation; then again, which changes nothing.
    let deployed = json_out(
        &cirrus(server, dir.path())
            .args([
                "--format",
                "json",
                "deploy",
                "--stage",
                "test",
                "--code",
                "bootstrap.zip",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(deployed["applied"], "created", "{deployed}");
    assert_eq!(deployed["stack"], deployment.as_str());
    let filled: Vec<&str> = deployed["filled_in"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // moto's CloudFormation has no AWS::SQS::QueuePolicy: the deploy set it through SQS.
    assert!(
        filled.iter().any(|r| r.contains("AWS::SQS::QueuePolicy")),
        "{deployed}"
    );
    assert_eq!(deployed["missing"], json!([]), "{deployed}");
    let again = json_out(
        &cirrus(server, dir.path())
            .args([
                "--format",
                "json",
                "deploy",
                "--stage",
                "test",
                "--code",
                "bootstrap.zip",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(again["applied"], "unchanged", "{again}");

    // The deployment, found through SSM as the CLI finds it.
    let vars = cirrus_deploy::deployment::lookup(&sdk, &deployment)
        .await
        .unwrap();
    let env = DeploymentEnv::from_map(&vars).unwrap();
    assert_eq!(env.state_db, format!("{deployment}-state"));
    let store_options: Vec<(String, String)> = [
        ("aws_endpoint", server.endpoint()),
        ("aws_allow_http", "true".into()),
        ("aws_access_key_id", "testing".into()),
        ("aws_secret_access_key", "testing".into()),
        ("aws_region", REGION.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let context = Context::new(&sdk, env.clone(), &store_options).unwrap();
    let process = Handler::new(Function::Process, context.clone()).unwrap();
    let update_state = Handler::new(Function::UpdateState, context.clone()).unwrap();
    let queue = env.process_queue_url.clone();

    // What the publish topic and the status rule deliver, caught through SQS.
    let published = sqs
        .create_queue()
        .queue_name(format!("{name}-published"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    sns.subscribe()
        .topic_arn(env.publish_topic_arn.clone().unwrap())
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-published"))
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let caught = sqs
        .create_queue()
        .queue_name(format!("{name}-status"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let rule = format!("{deployment}-workflow-status");
    let targets = events
        .list_targets_by_rule()
        .rule(&rule)
        .send()
        .await
        .unwrap();
    assert!(
        targets.targets().iter().any(|t| t
            .arn()
            .ends_with(&format!("function:{deployment}-update-state"))),
        "the stack's rule targets update-state: {targets:?}"
    );
    // moto's EventBridge cannot deliver to a Lambda target (NotImplementedError), and would
    // not run the code: the test swaps the rule's target for an SQS queue, and calls
    // update-state with what the rule delivers there. The rule's pattern is the stack's.
    let update_state_target = targets
        .targets()
        .iter()
        .find(|t| t.arn().ends_with("-update-state"))
        .map(|t| t.id().to_string())
        .unwrap();
    events
        .remove_targets()
        .rule(&rule)
        .ids(update_state_target)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("test-catch")
                .arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-status"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // moto would hand the queue's messages to the process function through the stack's
    // event source mapping and only fake running it (no Lambda code runs without Docker), so
    // the test turns the mapping off and plays its part, calling the handler itself.
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let mappings = lambda
        .list_event_source_mappings()
        .function_name(format!("{deployment}-process"))
        .send()
        .await
        .unwrap();
    assert_eq!(mappings.event_source_mappings().len(), 1, "{mappings:?}");
    let mapping = &mappings.event_source_mappings()[0];
    assert_eq!(mapping.batch_size(), Some(10));
    assert!(
        mapping
            .function_response_types()
            .iter()
            .any(|t| t.as_str() == "ReportBatchItemFailures"),
        "{mapping:?}"
    );
    lambda
        .update_event_source_mapping()
        .uuid(mapping.uuid().unwrap())
        .enabled(false)
        .send()
        .await
        .unwrap();

    // 2. A payload to the deployment's queue, through the CLI.
    let payload_file = dir.path().join("payload.json");
    std::fs::write(&payload_file, payload("mirror", "scene-1").to_string()).unwrap();
    let sent = cirrus(server, dir.path())
        .args(["process", "payload.json", "--deployment", &deployment])
        .output()
        .unwrap();
    assert!(sent.status.success(), "{sent:?}");
    let key = StateKey::parse("e2e/workflow-mirror/scene-1").unwrap();

    // 3. process, in-process, with the real SQS event.
    let event = cirrus_deploy::testing::sqs_event(&sqs, &queue, REGION, ACCOUNT).await;
    assert_eq!(event["Records"].as_array().unwrap().len(), 1, "{event}");
    let response = process.handle(event.clone(), "e2e-1").await.unwrap();
    acknowledge(&sqs, &queue, &event, &response).await;
    let record = context.state.get(&key).await.unwrap().expect("claimed");
    assert_eq!(record.state, State::Processing);
    let execution = record.current_execution().unwrap().to_string();
    assert!(
        execution.contains(&format!(":execution:{deployment}-mirror:")),
        "{execution}"
    );

    // 4. The execution's status event, through EventBridge and the stack's rule.
    let status = status_event(&sfn, &execution, false).await;
    assert_eq!(status["detail"]["status"], "SUCCEEDED");
    let detail = &status["detail"];
    events
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source("aws.states")
                .detail_type("Step Functions Execution Status Change")
                .resources(&execution)
                .detail(detail.to_string())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let delivered = drain(&sqs, &caught).await;
    assert_eq!(
        delivered.len(),
        1,
        "the rule delivers the event once: {delivered:?}"
    );
    let recorded = update_state
        .handle(delivered[0].0.clone(), "e2e-2")
        .await
        .unwrap();
    assert_eq!(recorded["state"], "SUCCEEDED", "{recorded}");

    let record = context.state.get(&key).await.unwrap().unwrap();
    assert_eq!(record.state, State::Succeeded);
    let items = drain(&sqs, &published).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].0["id"], "scene-1");
    assert_eq!(items[0].1["collection"], "e2e");
    assert_eq!(items[0].1["status"], "created");
    let successors = drain(&sqs, &queue).await;
    assert_eq!(successors.len(), 1, "{successors:?}");
    assert_eq!(successors[0].0["process"][0]["workflow"], "second");

    // 5. The CLI sees it.
    let query = cirrus(server, dir.path())
        .args([
            "--format",
            "json",
            "state",
            "query",
            "--deployment",
            &deployment,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&query.stdout).to_string();
    assert!(query.status.success(), "{query:?}");
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = rows
        .iter()
        .find(|r| r["payload_id"] == key.as_str())
        .unwrap_or_else(|| panic!("no record of {key}: {text}"));
    assert_eq!(row["state"], "SUCCEEDED", "{row}");
    let shown = json_out(
        &cirrus(server, dir.path())
            .args([
                "--format",
                "json",
                "execution",
                "get",
                key.as_str(),
                "--deployment",
                &deployment,
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(shown["status"], "SUCCEEDED", "{shown}");
    assert_eq!(shown["executionArn"], execution.as_str());
    let output = json_out(
        &cirrus(server, dir.path())
            .args([
                "payload",
                "get-output",
                key.as_str(),
                "--deployment",
                &deployment,
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(output["features"][0]["id"], "scene-1");

    // A workflow the stack does not have: a FAILED record, not a crash.
    std::fs::write(&payload_file, payload("ghost", "scene-2").to_string()).unwrap();
    let sent = cirrus(server, dir.path())
        .args(["process", "payload.json", "--deployment", &deployment])
        .output()
        .unwrap();
    assert!(sent.status.success(), "{sent:?}");
    let event = cirrus_deploy::testing::sqs_event(&sqs, &queue, REGION, ACCOUNT).await;
    let response = process.handle(event.clone(), "e2e-3").await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    acknowledge(&sqs, &queue, &event, &response).await;
    let ghost = StateKey::parse("e2e/workflow-ghost/scene-2").unwrap();
    let record = context.state.get(&ghost).await.unwrap().unwrap();
    assert_eq!(record.state, State::Failed);
    assert!(
        record
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains(&format!("{deployment}-ghost")),
        "{record:?}"
    );

    // `cirrus feed rerun --deployment`: the FAILED payload, read from the deployment's state
    // table and payload bucket, back on its SQS queue with `replace` set.
    std::fs::write(
        dir.path().join("rerun.toml"),
        "[source]\nworkflows = [\"ghost\"]\nstates = [\"FAILED\"]\n",
    )
    .unwrap();
    let fed = cirrus(server, dir.path())
        .args([
            "feed",
            "rerun",
            "--config",
            "rerun.toml",
            "--deployment",
            &deployment,
        ])
        .output()
        .unwrap();
    assert!(fed.status.success(), "{fed:?}");
    let rerun = drain(&sqs, &queue).await;
    assert_eq!(
        rerun.len(),
        1,
        "{rerun:?} {}",
        String::from_utf8_lossy(&fed.stderr)
    );
    assert_eq!(rerun[0].0["features"][0]["id"], "scene-2");
    assert_eq!(rerun[0].0["process"][0]["replace"], true, "{}", rerun[0].0);

    // Missing credentials: one clear line.
    let denied = cirrus(server, dir.path())
        .args(["state", "query", "--deployment", &deployment])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(!denied.status.success());
    assert!(
        stderr.contains("AWS credentials are missing or invalid"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // Teardown.
    let deleted = json_out(
        &cirrus(server, dir.path())
            .args(["--format", "json", "deploy", "--stage", "test", "--delete"])
            .output()
            .unwrap(),
    );
    assert_eq!(deleted["deleted"], true, "{deleted}");
    assert!(
        cirrus_deploy::deployment::lookup(&sdk, &deployment)
            .await
            .is_err()
    );
}

/// Credentials the service refuses (moto checking every request against its IAM users, which
/// know no `testing` key): one clear line, from `cirrus deploy` and from a `--deployment`
/// command alike.
#[test]
fn refused_credentials_are_one_line() {
    let server = MotoServer::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), "refused");
    for args in [
        vec!["deploy", "--stage", "test", "--code", "bootstrap.zip"],
        vec!["state", "query", "--deployment", "refused-test"],
    ] {
        let output = cirrus(&server, dir.path()).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("AWS credentials are missing or invalid"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
}
