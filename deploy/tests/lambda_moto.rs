//! The Lambda handlers, called in-process against `moto_server` (moto 5.2.5 with Step
//! Functions execution on): real SQS messages in, real moto executions, their real
//! `DescribeExecution` results as the status events, DynamoDB, SNS (read through SQS
//! subscriptions), S3 and CloudWatch Logs.
//!
//! Each test makes its own resources under a random prefix, so the tests share one server.

use aws_sdk_sqs::types::QueueAttributeName;
use cirrus_core::state::dynamodb::DynamoStateStore;
use cirrus_core::state::{State, StateKey, StateStore};
use cirrus_core::testing::MotoServer;
use cirrus_deploy::config::DeploymentEnv;
use cirrus_deploy::lambda::{Context, Function, Handler, HandlerError};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// One deployment's resources on moto.
struct Deployment {
    prefix: String,
    sdk: aws_config::SdkConfig,
    env: DeploymentEnv,
    sqs: aws_sdk_sqs::Client,
    sfn: aws_sdk_sfn::Client,
    /// Receives what is published to the publish topic (raw delivery).
    published: String,
    /// Receives what is published to the workflow-event topic (raw delivery).
    workflow_events: String,
    state: DynamoStateStore,
}

/// Sends one HTTP request to moto; returns the status code.
fn http(server: &MotoServer, method: &str, path: &str, body: &str) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.port(),
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn store_options(server: &MotoServer) -> Vec<(String, String)> {
    [
        ("aws_endpoint", server.endpoint()),
        ("aws_allow_http", "true".into()),
        ("aws_access_key_id", "testing".into()),
        ("aws_secret_access_key", "testing".into()),
        ("aws_region", REGION.into()),
        ("aws_virtual_hosted_style_request", "false".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl Deployment {
    async fn new() -> Deployment {
        let server = MotoServer::shared();
        // Execution must be on before any state machine is created.
        let config = r#"{"stepfunctions":{"execute_state_machine":true},"lambda":{"use_docker":false},"batch":{"use_docker":false}}"#;
        assert!((200..300).contains(&http(server, "POST", "/moto-api/config", config)));
        let prefix = format!("t{}-", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let sdk = server.sdk_config().await;
        for bucket in ["payloads", "data"] {
            let status = http(server, "PUT", &format!("/{prefix}{bucket}"), "");
            assert!((200..300).contains(&status), "create bucket: {status}");
        }
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let sns = aws_sdk_sns::Client::new(&sdk);
        let queue = create_queue(&sqs, &format!("{prefix}process")).await;
        let mut topics = Vec::new();
        let mut receivers = Vec::new();
        for name in ["publish", "workflow-event"] {
            let topic = sns
                .create_topic()
                .name(format!("{prefix}{name}"))
                .send()
                .await
                .unwrap()
                .topic_arn()
                .unwrap()
                .to_string();
            let receiver = create_queue(&sqs, &format!("{prefix}{name}-check")).await;
            let receiver_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{prefix}{name}-check");
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(receiver_arn)
                .attributes("RawMessageDelivery", "true")
                .send()
                .await
                .unwrap();
            topics.push(topic);
            receivers.push(receiver);
        }
        let state_db = format!("{prefix}state");
        let state = DynamoStateStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            state_db.clone(),
            DynamoStateStore::default_timeline_table(&state_db),
        );
        state.create_tables().await.unwrap();
        let vars: BTreeMap<String, String> = [
            ("CIRRUS_PREFIX", prefix.clone()),
            ("CIRRUS_STATE_DB", state_db),
            ("CIRRUS_PAYLOAD_BUCKET", format!("{prefix}payloads")),
            ("CIRRUS_DATA_BUCKET", format!("{prefix}data")),
            ("CIRRUS_PROCESS_QUEUE_URL", queue),
            ("CIRRUS_PUBLISH_TOPIC_ARN", topics[0].clone()),
            ("CIRRUS_WORKFLOW_EVENT_TOPIC_ARN", topics[1].clone()),
            (
                "CIRRUS_BASE_WORKFLOW_ARN",
                format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{prefix}"),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Deployment {
            env: DeploymentEnv::from_map(&vars).unwrap(),
            sfn: aws_sdk_sfn::Client::new(&sdk),
            published: receivers[0].clone(),
            workflow_events: receivers[1].clone(),
            prefix,
            sdk,
            sqs,
            state,
        }
    }

    fn context(&self) -> Context {
        Context::new(
            &self.sdk,
            self.env.clone(),
            &store_options(MotoServer::shared()),
        )
        .unwrap()
    }

    fn handler(&self, function: &str) -> Handler {
        Handler::new(Function::parse(function).unwrap(), self.context()).unwrap()
    }

    /// Creates the state machine of `workflow`: a Pass state, so the output is the input.
    async fn create_workflow(&self, workflow: &str) {
        let pass = r#"{"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": true}}}"#;
        self.create_machine(workflow, pass).await;
    }

    /// Creates the state machine of `workflow` with `definition`.
    async fn create_machine(&self, workflow: &str, definition: &str) {
        self.sfn
            .create_state_machine()
            .name(format!("{}{workflow}", self.prefix))
            .definition(definition)
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/cirrus-test"))
            .send()
            .await
            .unwrap();
    }

    /// Receives up to 10 messages of `queue` as the SQS event source mapping hands them to
    /// Lambda.
    async fn sqs_event(&self, queue: &str) -> Value {
        cirrus_deploy::testing::sqs_event(&self.sqs, queue, REGION, ACCOUNT).await
    }

    /// What the event source mapping does after an invocation: deletes the messages of
    /// `event` that `response` does not name as failed.
    async fn acknowledge(&self, queue: &str, event: &Value, response: &Value) {
        cirrus_deploy::testing::acknowledge(&self.sqs, queue, event, response).await;
    }

    /// Every body waiting in `queue`.
    async fn drain(&self, queue: &str) -> Vec<Value> {
        cirrus_deploy::testing::drain(&self.sqs, queue)
            .await
            .into_iter()
            .map(|(body, _)| body)
            .collect()
    }

    /// Waits for an execution to stop, and returns its status change event, built from its
    /// real `DescribeExecution` result as EventBridge would send it; with `drop_io`, as
    /// EventBridge sends it when the input and output are too large.
    async fn status_event(&self, execution: &str, drop_io: bool) -> Value {
        cirrus_deploy::testing::status_event(&self.sfn, execution, drop_io).await
    }
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string()
}

fn payload(workflow: &str, item: &str, next: Option<&str>) -> Value {
    let mut process = vec![json!({
        "workflow": workflow,
        "upload_options": {"path_template": "/items/${collection}"}
    })];
    if let Some(next) = next {
        process.push(json!({"workflow": next}));
    }
    json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature", "id": item, "collection": "lambda-test",
            "bbox": [1.0, 2.0, 3.0, 4.0],
            "geometry": null,
            "properties": {"datetime": "2024-01-01T00:00:00Z", "eo:cloud_cover": 12.5}
        }],
        "process": process
    })
}

fn failures(response: &Value) -> Vec<String> {
    cirrus_deploy::testing::failures(response)
}

fn event_types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// process → the moto execution → its status event → update-state: SUCCEEDED, the item
/// published with its attributes, the chain successor on the process queue, the workflow
/// events, the output archived. The same again with the input and output dropped from the
/// event (update-state reads them back with DescribeExecution).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_then_update_state_records_success() {
    let d = Deployment::new().await;
    d.create_workflow("wf").await;
    let process = d.handler("process");
    let update_state = d.handler("update-state");

    for (item, drop_io) in [("item-a", false), ("item-b", true)] {
        let body = payload("wf", item, Some("next"));
        d.sqs
            .send_message()
            .queue_url(&d.env.process_queue_url)
            .message_body(body.to_string())
            .send()
            .await
            .unwrap();
        let event = d.sqs_event(&d.env.process_queue_url).await;
        assert_eq!(event["Records"].as_array().unwrap().len(), 1);
        let response = process.handle(event.clone(), "req-1").await.unwrap();
        assert!(failures(&response).is_empty(), "{response}");
        d.acknowledge(&d.env.process_queue_url, &event, &response)
            .await;

        let key = StateKey::parse(&format!("lambda-test/workflow-wf/{item}")).unwrap();
        let record = d.state.get(&key).await.unwrap().expect("a record");
        assert_eq!(record.state, State::Processing);
        let execution = record.current_execution().unwrap().to_string();
        assert!(
            execution.starts_with(&format!(
                "arn:aws:states:{REGION}:{ACCOUNT}:execution:{}wf:",
                d.prefix
            )),
            "{execution}"
        );

        let status = d.status_event(&execution, drop_io).await;
        assert_eq!(status["detail"]["status"], "SUCCEEDED");
        let recorded = update_state.handle(status, "req-2").await.unwrap();
        assert_eq!(recorded["state"], "SUCCEEDED", "{recorded}");

        let record = d.state.get(&key).await.unwrap().unwrap();
        assert_eq!(record.state, State::Succeeded);
        let outputs = record.outputs.clone().unwrap_or_default();
        assert_eq!(
            outputs,
            vec![format!(
                "s3://{}data/items/lambda-test/{item}.json",
                d.prefix
            )]
        );
        let context = d.context();
        let name = execution.rsplit(':').next().unwrap();
        assert_eq!(
            context
                .bucket
                .get_output(key.as_str(), Some(name))
                .await
                .unwrap()["features"][0]["id"],
            item
        );

        // The chain successor: the next workflow, on the process queue.
        let successors = d.drain(&d.env.process_queue_url).await;
        assert_eq!(successors.len(), 1, "{successors:?}");
        assert_eq!(successors[0]["process"][0]["workflow"], "next");
        assert!(successors[0].get("id").is_none());

        // The item, published on its own, with its attributes.
        let received = d
            .sqs
            .receive_message()
            .queue_url(&d.published)
            .message_attribute_names("All")
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let message = &received.messages()[0];
        let item_body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
        assert_eq!(item_body["id"], item);
        let attributes = message.message_attributes().unwrap();
        assert_eq!(attributes["collection"].string_value(), Some("lambda-test"));
        assert_eq!(attributes["bbox.ll_lon"].string_value(), Some("1.0"));
        assert_eq!(attributes["cloud_cover"].data_type(), "Number");
        assert!(attributes.len() <= 10);
        d.sqs
            .delete_message()
            .queue_url(&d.published)
            .receipt_handle(message.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();

        let events = d.drain(&d.workflow_events).await;
        assert_eq!(
            event_types(&events),
            ["CLAIMED_PROCESSING", "STARTED_PROCESSING", "SUCCEEDED"]
        );
        assert!(
            events[2]["output_payload_url"]
                .as_str()
                .unwrap()
                .ends_with("/output.json")
        );

        // A duplicate status event changes nothing and publishes nothing.
        let again = d.status_event(&execution, drop_io).await;
        let ignored = update_state.handle(again, "req-3").await.unwrap();
        assert_eq!(ignored["ignored"], "SUCCEEDED");
    }
    assert!(d.drain(&d.published).await.is_empty());
}

/// A redelivered message does not start a second execution; a SUCCEEDED payload is skipped
/// unless `replace`; two copies in one batch run once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_and_reruns_follow_cirrus_geo() {
    let d = Deployment::new().await;
    d.create_workflow("wf").await;
    let process = d.handler("process");
    let body = payload("wf", "dup", None).to_string();
    let batch = |bodies: Vec<String>| {
        let records: Vec<Value> = bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| json!({"messageId": format!("m{i}"), "body": body, "eventSource": "aws:sqs"}))
            .collect();
        json!({ "Records": records })
    };
    let response = process
        .handle(batch(vec![body.clone(), body.clone()]), "r")
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    let events = d.drain(&d.workflow_events).await;
    assert_eq!(
        event_types(&events),
        [
            "DUPLICATE_ID_ENCOUNTERED",
            "CLAIMED_PROCESSING",
            "STARTED_PROCESSING"
        ]
    );
    // Redelivered while PROCESSING: skipped.
    process
        .handle(batch(vec![body.clone()]), "r")
        .await
        .unwrap();
    assert_eq!(
        event_types(&d.drain(&d.workflow_events).await),
        ["ALREADY_PROCESSING"]
    );

    let key = StateKey::parse("lambda-test/workflow-wf/dup").unwrap();
    let execution = d.state.get(&key).await.unwrap().unwrap().executions[0].clone();
    let status = d.status_event(&execution, false).await;
    d.handler("update-state").handle(status, "r").await.unwrap();
    d.drain(&d.workflow_events).await;

    process
        .handle(batch(vec![body.clone()]), "r")
        .await
        .unwrap();
    assert_eq!(
        event_types(&d.drain(&d.workflow_events).await),
        ["ALREADY_SUCCEEDED"]
    );

    let mut rerun = payload("wf", "dup", None);
    rerun["process"][0]["replace"] = json!(true);
    process
        .handle(batch(vec![rerun.to_string()]), "r")
        .await
        .unwrap();
    let record = d.state.get(&key).await.unwrap().unwrap();
    assert_eq!(record.executions.len(), 2);
    assert_ne!(record.executions[0], record.executions[1]);
    assert_eq!(record.state, State::Processing);
}

/// A workflow without a state machine: the record is FAILED with a clear error, the message
/// is done with (not redelivered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_state_machine_fails_the_record() {
    let d = Deployment::new().await;
    let event = json!({"Records": [{
        "messageId": "m1", "body": payload("nowhere", "lost", None).to_string(), "eventSource": "aws:sqs"
    }]});
    let response = d.handler("process").handle(event, "r").await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    let key = StateKey::parse("lambda-test/workflow-nowhere/lost").unwrap();
    let record = d.state.get(&key).await.unwrap().unwrap();
    assert_eq!(record.state, State::Failed);
    let error = record.last_error.unwrap();
    assert!(error.starts_with("StateMachineDoesNotExist: "), "{error}");
    assert!(error.contains(&format!("{}nowhere", d.prefix)), "{error}");
    let events = d.drain(&d.workflow_events).await;
    assert_eq!(event_types(&events), ["CLAIMED_PROCESSING", "FAILED"]);
}

/// A poison message (here: the state DB is unavailable, so no payload can be claimed) is
/// reported in `batchItemFailures` on every delivery and reaches the dead-letter queue after
/// `maxReceiveCount` receives, body intact. A garbage record of the same batch is kept under
/// `tmp/invalid/` and acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_reaches_the_dead_letter_queue() {
    let d = Deployment::new().await;
    let dlq = create_queue(&d.sqs, &format!("{}process-dlq", d.prefix)).await;
    let dlq_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{}process-dlq", d.prefix);
    let queue = d
        .sqs
        .create_queue()
        .queue_name(format!("{}poison", d.prefix))
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let mut env = d.env.clone();
    env.state_db = format!("{}no-such-table", d.prefix);
    let context = Context::new(&d.sdk, env, &store_options(MotoServer::shared())).unwrap();
    let process = Handler::new(Function::Process, context).unwrap();

    let poison = payload("wf", "poison", None).to_string();
    for body in [poison.as_str(), "this is not JSON"] {
        d.sqs
            .send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let mut deliveries = 0;
    loop {
        let event = d.sqs_event(&queue).await;
        let records = event["Records"].as_array().unwrap().clone();
        if records.is_empty() {
            break;
        }
        deliveries += 1;
        assert!(deliveries <= 5, "the poison message never left the queue");
        let response = process.handle(event, "r").await.unwrap();
        let failed = failures(&response);
        for record in &records {
            let id = record["messageId"].as_str().unwrap();
            let body = record["body"].as_str().unwrap();
            assert_eq!(failed.iter().any(|f| f == id), body == poison, "{body}");
        }
        d.acknowledge(&queue, &json!({ "Records": records }), &response)
            .await;
    }
    assert_eq!(deliveries, 2);
    let dead = d.drain(&dlq).await;
    assert_eq!(dead, vec![serde_json::from_str::<Value>(&poison).unwrap()]);
    let events = d.drain(&d.workflow_events).await;
    assert_eq!(event_types(&events), ["RECORD_EXTRACT_FAILED"]);
}

/// pre-batch writes the payload under tmp/batch and names the output; post-batch returns
/// the output, or raises the job's last log line as the error (InvalidInput stays
/// InvalidInput), or says the container never ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_and_post_batch_follow_the_url_contract() {
    let d = Deployment::new().await;
    let input = payload("wf", "batch-item", None);
    let urls = d
        .handler("pre-batch")
        .handle(input.clone(), "r")
        .await
        .unwrap();
    let url = urls["url"].as_str().unwrap();
    let url_out = urls["url_out"].as_str().unwrap();
    let expected = format!(
        "s3://{}payloads/cirrus/tmp/batch/lambda-test/workflow-wf/batch-item/",
        d.prefix
    );
    assert!(
        url.starts_with(&expected) && url.ends_with(".json"),
        "{url}"
    );
    assert_eq!(url_out, url.replace(".json", "_out.json"));
    let context = d.context();
    assert_eq!(
        context.bucket.fetch(url).await.unwrap()["features"],
        input["features"]
    );
    // A reference is kept as it is.
    let again = d
        .handler("pre-batch")
        .handle(json!({"url": url}), "r")
        .await
        .unwrap();
    assert_eq!(again, urls);

    // The job wrote its output: post-batch returns it.
    let mut output = input.clone();
    output["features"][0]["properties"]["processed"] = json!(true);
    let root = format!("{}/", context.bucket.url());
    let key = url_out
        .strip_prefix(&root)
        .expect("url_out is in the payload bucket");
    context.bucket.store().put_json(key, &output).await.unwrap();
    let job = json!({"JobName": "j", "Status": "SUCCEEDED", "Parameters": {"url": url, "url_out": url_out}});
    let post_batch = d.handler("post-batch");
    assert_eq!(post_batch.handle(job, "r").await.unwrap(), output);

    // The job failed: its last log line is the error.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&d.sdk);
    let group = cirrus_deploy::lambda::batch::BATCH_LOG_GROUP;
    let _ = logs.create_log_group().log_group_name(group).send().await;
    let stream = format!("{}job/default/abc", d.prefix);
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(&stream)
        .send()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for (i, line) in ["reading the scene", "InvalidInput: no band near 860 nm", ""]
        .iter()
        .enumerate()
    {
        logs.put_log_events()
            .log_group_name(group)
            .log_stream_name(&stream)
            .log_events(
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now + i as i64)
                    .message(*line)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let cause = json!({"Attempts": [{"Container": {"LogStreamName": "old"}}, {"Container": {"LogStreamName": stream}}], "StatusReason": "Essential container in task exited"});
    let failed = json!({"url": url, "url_out": url_out, "error": {"Error": "States.TaskFailed", "Cause": cause.to_string()}});
    let error = post_batch.handle(failed, "r").await.unwrap_err();
    assert_eq!(
        error,
        HandlerError::new("InvalidInput", "no band near 860 nm")
    );

    // The container never ran: no log stream.
    let cause = json!({"Container": {"Reason": "CannotPullContainerError: no image"}, "StatusReason": "Task failed to start"});
    let failed = json!({"error": {"Error": "States.TaskFailed", "Cause": cause.to_string()}});
    let error = post_batch.handle(failed, "r").await.unwrap_err();
    assert_eq!(error.error_type, "States.TaskFailed");
    assert!(
        error.message.contains("container likely never ran"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("CannotPullContainerError: no image"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("Task failed to start"),
        "{}",
        error.message
    );
}

/// `task:<name>` runs a built-in task; a GDAL task in a build without GDAL fails at
/// start-up with a line saying to run it on Batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_functions_name_what_they_can_run() {
    let d = Deployment::new().await;
    let gdal_built = cirrus_tasks_has("hsi-index", &d);
    match Handler::new(Function::parse("task:hsi-index").unwrap(), d.context()) {
        Ok(_) => assert!(gdal_built, "hsi-index found without GDAL"),
        Err(error) => {
            assert!(!gdal_built);
            assert_eq!(error.error_type, "TaskUnavailable");
            assert!(
                error.message.contains("GDAL") && error.message.contains("Batch"),
                "{}",
                error.message
            );
        }
    }
    let error = Handler::new(Function::parse("task:nope").unwrap(), d.context()).unwrap_err();
    assert!(error.message.contains("copy-assets"), "{}", error.message);
    assert!(Function::parse("task:").is_err());
    assert!(
        Function::parse("proces")
            .unwrap_err()
            .message
            .contains("CIRRUS_FUNCTION")
    );

    // copy-assets on an item without assets: the payload comes back, inline.
    let copy = d.handler("task:copy-assets");
    let input = payload("wf", "no-assets", None);
    let output = copy.handle(input.clone(), "r").await.unwrap();
    assert_eq!(output["features"][0]["id"], "no-assets");
    assert_eq!(output["process"], input["process"]);
    // A reference that does not exist is the caller's mistake, not a transient failure.
    let missing = json!({"url": format!("s3://{}payloads/nothing.json", d.prefix)});
    let error = copy.handle(missing, "r").await.unwrap_err();
    assert_eq!(error.error_type, "InvalidInput", "{error}");
}

fn cirrus_tasks_has(name: &str, d: &Deployment) -> bool {
    let env = cirrus_tasks::TaskEnv::new(d.context().data.clone());
    cirrus_tasks::builtin_tasks(&env)
        .iter()
        .any(|t| t.name() == name)
}

/// A workflow that fails with `InvalidInput` makes the record INVALID, with the error read
/// from the real moto execution (also when the event carries no error, and from the
/// execution's history).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_execution_is_invalid_or_failed() {
    let d = Deployment::new().await;
    let fail = |error: &str| {
        json!({"StartAt": "Check", "States": {"Check": {"Type": "Fail", "Error": error, "Cause": "no band near 860 nm"}}})
            .to_string()
    };
    d.create_machine("bad", &fail("InvalidInput")).await;
    d.create_machine("broken", &fail("TaskFailed")).await;
    let process = d.handler("process");
    let update_state = d.handler("update-state");
    for (workflow, state, error) in [
        ("bad", State::Invalid, "InvalidInput: no band near 860 nm"),
        ("broken", State::Failed, "TaskFailed: no band near 860 nm"),
    ] {
        let event = json!({"Records": [{"messageId": "m", "body": payload(workflow, "x", None).to_string(), "eventSource": "aws:sqs"}]});
        process.handle(event, "r").await.unwrap();
        let key = StateKey::parse(&format!("lambda-test/workflow-{workflow}/x")).unwrap();
        let execution = d.state.get(&key).await.unwrap().unwrap().executions[0].clone();
        let mut status = d.status_event(&execution, false).await;
        assert_eq!(status["detail"]["status"], "FAILED");
        // Without the error in the event, update-state reads it back.
        status["detail"]["error"] = Value::Null;
        status["detail"]["cause"] = Value::Null;
        update_state.handle(status, "r").await.unwrap();
        let record = d.state.get(&key).await.unwrap().unwrap();
        assert_eq!(record.state, state);
        assert_eq!(record.last_error.as_deref(), Some(error));
        let failure = cirrus_deploy::lambda::sfn::last_failure(&d.sfn, &execution)
            .await
            .unwrap();
        assert_eq!(
            failure,
            Some((
                error.split(':').next().unwrap().to_string(),
                Some("no band near 860 nm".to_string())
            ))
        );
    }
    let events = event_types(&d.drain(&d.workflow_events).await);
    assert!(
        events.contains(&"INVALID".to_string()) && events.contains(&"FAILED".to_string()),
        "{events:?}"
    );
}
