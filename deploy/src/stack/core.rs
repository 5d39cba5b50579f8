//! The deployment's data plane: the state tables, the queues, the topics and the buckets.

use super::Context;
use super::names::check_length;
use super::template::{get_att, reference, sub};
use crate::Result;
use serde_json::{Value, json};

/// Logical IDs of the core resources.
pub(crate) mod id {
    pub const STATE_TABLE: &str = "StateTable";
    pub const TIMELINE_TABLE: &str = "TimelineTable";
    pub const PROCESS_QUEUE: &str = "ProcessQueue";
    pub const PROCESS_DLQ: &str = "ProcessDeadLetterQueue";
    pub const UPDATE_STATE_DLQ: &str = "UpdateStateDeadLetterQueue";
    pub const UPDATE_STATE_DLQ_POLICY: &str = "UpdateStateDeadLetterQueuePolicy";
    pub const PUBLISH_TOPIC: &str = "PublishTopic";
    pub const WORKFLOW_EVENT_TOPIC: &str = "WorkflowEventTopic";
    pub const PAYLOAD_BUCKET: &str = "PayloadBucket";
    pub const DATA_BUCKET: &str = "DataBucket";
}

/// The process queue's visibility timeout: six times the `process` function's timeout, as
/// AWS advises for an SQS event source.
pub(crate) const PROCESS_VISIBILITY_TIMEOUT: u32 = 180;
/// Receives of a process message before it goes to the dead-letter queue.
pub(crate) const MAX_RECEIVE_COUNT: u32 = 5;
/// 14 days, SQS's longest retention, for the dead-letter queues.
const DLQ_RETENTION: u32 = 1_209_600;

/// Adds the tables, queues, topics and buckets.
pub(crate) fn add(cx: &mut Context) -> Result<()> {
    tables(cx)?;
    queues(cx)?;
    topics(cx)?;
    buckets(cx)
}

/// `DeletionPolicy`/`UpdateReplacePolicy` of what holds data: `Retain` unless
/// `retain_data = false`.
fn keep(cx: &Context, mut resource: Value) -> Value {
    let policy = if cx.config.retain_data() {
        "Retain"
    } else {
        "Delete"
    };
    resource["DeletionPolicy"] = json!(policy);
    resource["UpdateReplacePolicy"] = json!(policy);
    resource
}

fn tables(cx: &mut Context) -> Result<()> {
    let string = |name: &str| json!({"AttributeName": name, "AttributeType": "S"});
    let key = |hash: &str, range: &str| {
        json!([
            {"AttributeName": hash, "KeyType": "HASH"},
            {"AttributeName": range, "KeyType": "RANGE"}
        ])
    };
    let index = |name: &str| {
        json!({
            "IndexName": name,
            "KeySchema": key("collections_workflow", name),
            "Projection": {"ProjectionType": "ALL"}
        })
    };
    // cirrus-geo's schema (cloudformation/core/base.yaml, statedb-schema.json) and
    // cirrus_core's `DynamoStateStore::create_tables`: key (collections_workflow, itemids),
    // GSIs state_updated and updated, every attribute projected.
    let state = json!({
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": cx.names.state_table(),
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                string("collections_workflow"),
                string("itemids"),
                string("state_updated"),
                string("updated")
            ],
            "KeySchema": key("collections_workflow", "itemids"),
            "GlobalSecondaryIndexes": [index("state_updated"), index("updated")]
        }
    });
    let state = keep(cx, state);
    cx.template.add(id::STATE_TABLE, state, "the state table")?;
    let timeline = json!({
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": cx.names.timeline_table(),
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [string("payload_id"), string("seq")],
            "KeySchema": key("payload_id", "seq")
        }
    });
    let timeline = keep(cx, timeline);
    cx.template
        .add(id::TIMELINE_TABLE, timeline, "the timeline table")
}

fn queue(name: String, extra: Value) -> Result<Value> {
    check_length("an SQS queue", &name, 80)?;
    let mut properties = json!({"QueueName": name, "SqsManagedSseEnabled": true});
    if let (Some(properties), Value::Object(extra)) = (properties.as_object_mut(), extra) {
        properties.extend(extra);
    }
    Ok(json!({"Type": "AWS::SQS::Queue", "Properties": properties}))
}

fn queues(cx: &mut Context) -> Result<()> {
    let dlq = queue(
        cx.names.named("process-dlq"),
        json!({"MessageRetentionPeriod": DLQ_RETENTION}),
    )?;
    cx.template
        .add(id::PROCESS_DLQ, dlq, "the process dead-letter queue")?;
    let process = queue(
        cx.names.named("process"),
        json!({
            "VisibilityTimeout": PROCESS_VISIBILITY_TIMEOUT,
            "RedrivePolicy": {
                "deadLetterTargetArn": get_att(id::PROCESS_DLQ, "Arn"),
                "maxReceiveCount": MAX_RECEIVE_COUNT
            }
        }),
    )?;
    cx.template
        .add(id::PROCESS_QUEUE, process, "the process queue")?;
    let update_dlq = queue(
        cx.names.named("update-state-dlq"),
        json!({"MessageRetentionPeriod": DLQ_RETENTION}),
    )?;
    cx.template.add(
        id::UPDATE_STATE_DLQ,
        update_dlq,
        "the update-state dead-letter queue",
    )?;
    // EventBridge sends the events it could not deliver to update-state here.
    let policy = json!({
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [reference(id::UPDATE_STATE_DLQ)],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": get_att(id::UPDATE_STATE_DLQ, "Arn"),
                    "Condition": {"ArnEquals": {"aws:SourceArn": get_att(super::functions::id::STATUS_RULE, "Arn")}}
                }]
            }
        }
    });
    cx.template.add(
        id::UPDATE_STATE_DLQ_POLICY,
        policy,
        "the update-state dead-letter queue policy",
    )
}

fn topics(cx: &mut Context) -> Result<()> {
    for (logical, suffix) in [
        (id::PUBLISH_TOPIC, "publish"),
        (id::WORKFLOW_EVENT_TOPIC, "workflow-event"),
    ] {
        let name = cx.names.named(suffix);
        check_length("an SNS topic", &name, 256)?;
        cx.template.add(
            logical,
            json!({"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}}),
            &format!("the {suffix} topic"),
        )?;
    }
    Ok(())
}

fn bucket(name: &str, lifecycle: Option<Value>) -> Value {
    let mut properties = json!({
        "BucketName": name,
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": true,
            "BlockPublicPolicy": true,
            "IgnorePublicAcls": true,
            "RestrictPublicBuckets": true
        },
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        }
    });
    if let Some(rules) = lifecycle {
        properties["LifecycleConfiguration"] = json!({ "Rules": rules });
    }
    json!({"Type": "AWS::S3::Bucket", "Properties": properties})
}

fn buckets(cx: &mut Context) -> Result<()> {
    let payload_name = cx.payload_bucket();
    let data_name = cx.data_bucket();
    super::config::check_bucket("the payload bucket (deploy.payload_bucket)", &payload_name)?;
    super::config::check_bucket("the data bucket (deploy.data_bucket)", &data_name)?;
    // `<root>/tmp/` holds oversized payloads, Batch hand-overs and unreadable messages;
    // `<root>/executions/` (every execution's input and output) is kept.
    let rules = json!([
        {
            "Id": "expire-tmp",
            "Status": "Enabled",
            "Prefix": format!("{}/tmp/", cx.config.payload_root()),
            "ExpirationInDays": cx.config.tmp_expiry_days()
        },
        {
            "Id": "abort-incomplete-uploads",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}
        }
    ]);
    cx.template.add(
        id::PAYLOAD_BUCKET,
        bucket(&payload_name, Some(rules)),
        "the payload bucket",
    )?;
    let data = keep(cx, bucket(&data_name, None));
    cx.template.add(id::DATA_BUCKET, data, "the data bucket")
}

/// The deployment's variables (contract.md), the same for every function, job and SSM.
pub(crate) fn variables(cx: &Context) -> Vec<(&'static str, Value)> {
    vec![
        ("CIRRUS_PREFIX", json!(cx.names.cirrus_prefix())),
        ("CIRRUS_STATE_DB", reference(id::STATE_TABLE)),
        ("CIRRUS_TIMELINE_DB", reference(id::TIMELINE_TABLE)),
        ("CIRRUS_PAYLOAD_BUCKET", reference(id::PAYLOAD_BUCKET)),
        (
            "CIRRUS_PAYLOAD_ROOT_PREFIX",
            json!(cx.config.payload_root()),
        ),
        ("CIRRUS_DATA_BUCKET", reference(id::DATA_BUCKET)),
        ("CIRRUS_PROCESS_QUEUE_URL", reference(id::PROCESS_QUEUE)),
        ("CIRRUS_PUBLISH_TOPIC_ARN", reference(id::PUBLISH_TOPIC)),
        (
            "CIRRUS_WORKFLOW_EVENT_TOPIC_ARN",
            reference(id::WORKFLOW_EVENT_TOPIC),
        ),
        (
            "CIRRUS_BASE_WORKFLOW_ARN",
            sub(cx.names.base_workflow_arn_sub()),
        ),
        ("CIRRUS_LOG_LEVEL", json!(cx.config.log_level())),
    ]
}
