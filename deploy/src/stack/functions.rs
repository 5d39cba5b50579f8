//! The Lambda functions (one code package, `CIRRUS_FUNCTION` picks the handler), their roles
//! and log groups, the process queue's event source, and the EventBridge rule that sends
//! Step Functions status changes to update-state.

use super::Context;
use super::core::{self, id as core_id};
use super::iam::{allow, role};
use super::names::{check_length, logical_id};
use super::template::{bucket_arns, get_att, reference, sub};
use crate::Result;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Logical IDs and parameters.
pub(crate) mod id {
    pub const CODE_BUCKET: &str = "CodeBucket";
    pub const CODE_KEY: &str = "CodeKey";
    pub const PROCESS: &str = "Process";
    pub const UPDATE_STATE: &str = "UpdateState";
    pub const PRE_BATCH: &str = "PreBatch";
    pub const POST_BATCH: &str = "PostBatch";
    pub const PROCESS_EVENTS: &str = "ProcessEventSourceMapping";
    pub const STATUS_RULE: &str = "StatusChangeRule";
    pub const STATUS_PERMISSION: &str = "UpdateStateInvokePermission";
}

/// The `Fn::Sub` reference to the ARN of the function whose logical ID starts with `base`.
pub(crate) fn arn_reference(base: &str) -> String {
    format!("${{{}.Arn}}", function_id(base))
}

/// The logical ID of the function `base`.
pub(crate) fn function_id(base: &str) -> String {
    format!("{base}Function")
}

/// The logical ID base of task `task`'s function.
pub(crate) fn task_base(task: &str) -> String {
    logical_id(&["task", task])
}

/// The Step Functions statuses update-state handles.
pub(crate) const TERMINAL_STATUSES: [&str; 4] = ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"];

/// One function of the package.
pub(crate) struct Function<'a> {
    /// Logical ID base (`Process`, `TaskCopyAssets`).
    pub base: String,
    /// The function's name.
    pub name: String,
    /// `CIRRUS_FUNCTION`.
    pub handler: String,
    pub description: String,
    pub memory: u32,
    pub timeout: u32,
    /// Its role's statements, beyond writing its own logs.
    pub statements: Vec<Value>,
    /// Variables beyond the deployment's.
    pub env: &'a BTreeMap<String, String>,
}

/// Adds the function, its role and its log group.
pub(crate) fn add_function(cx: &mut Context, function: Function) -> Result<()> {
    check_length(
        &format!("the Lambda function of {}", function.handler),
        &function.name,
        64,
    )?;
    let log_group = format!("{}LogGroup", function.base);
    let role_id = format!("{}Role", function.base);
    cx.template.add(
        &log_group,
        json!({
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": format!("/aws/lambda/{}", function.name),
                "RetentionInDays": cx.config.log_retention_days()
            }
        }),
        &function.name,
    )?;
    let mut statements = vec![allow(
        &["logs:CreateLogStream", "logs:PutLogEvents"],
        vec![get_att(&log_group, "Arn")],
    )];
    statements.extend(function.statements);
    cx.template.add(
        &role_id,
        role(
            "lambda.amazonaws.com",
            &format!("{}: {}", function.name, function.description),
            statements,
        ),
        &function.name,
    )?;
    let mut variables = Map::new();
    variables.insert("CIRRUS_FUNCTION".into(), json!(function.handler));
    for (name, value) in core::variables(cx) {
        variables.insert(name.into(), value);
    }
    for (name, value) in function.env {
        variables.insert(name.clone(), json!(value));
    }
    let logical = function_id(&function.base);
    cx.template.output(
        &format!("{logical}Arn"),
        &format!("The {} function", function.handler),
        get_att(&logical, "Arn"),
    );
    cx.template.add(
        &logical,
        json!({
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": function.name,
                "Description": function.description,
                "Runtime": "provided.al2023",
                "Handler": "bootstrap",
                "Architectures": [cx.config.architecture.as_str()],
                "Code": {"S3Bucket": reference(id::CODE_BUCKET), "S3Key": reference(id::CODE_KEY)},
                "MemorySize": function.memory,
                "Timeout": function.timeout,
                "Role": get_att(&role_id, "Arn"),
                "Environment": {"Variables": variables}
            }
        }),
        &function.name,
    )
}

/// Reading and writing the state and timeline tables.
fn state_db() -> Vec<Value> {
    vec![
        allow(
            &[
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
            ],
            vec![
                get_att(core_id::STATE_TABLE, "Arn"),
                sub(format!("${{{}.Arn}}/index/*", core_id::STATE_TABLE)),
            ],
        ),
        allow(
            &[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
                "dynamodb:BatchWriteItem",
            ],
            vec![get_att(core_id::TIMELINE_TABLE, "Arn")],
        ),
    ]
}

/// Reading (and with `write`, writing) the objects of the bucket `Ref`'d by `bucket`.
pub(crate) fn bucket_access(bucket: &str, write: bool) -> Vec<Value> {
    let [bucket_arn, objects] = bucket_arns(bucket);
    let actions: &[&str] = if write {
        &["s3:GetObject", "s3:PutObject"]
    } else {
        &["s3:GetObject"]
    };
    vec![
        allow(&["s3:ListBucket"], vec![bucket_arn]),
        allow(actions, vec![objects]),
    ]
}

/// What a task (function or job) may do: read and write the payload and data buckets, and
/// read `[deploy] read_buckets`.
pub(crate) fn task_statements(cx: &Context) -> Vec<Value> {
    let mut statements = bucket_access(core_id::PAYLOAD_BUCKET, true);
    statements.extend(bucket_access(core_id::DATA_BUCKET, true));
    if !cx.config.read_buckets.is_empty() {
        let arns = |suffix: &str| -> Vec<Value> {
            cx.config
                .read_buckets
                .iter()
                .map(|b| sub(format!("arn:${{AWS::Partition}}:s3:::{b}{suffix}")))
                .collect()
        };
        statements.push(allow(&["s3:ListBucket"], arns("")));
        statements.push(allow(&["s3:GetObject"], arns("/*")));
    }
    statements
}

/// The deployment's state machines (`kind` `stateMachine`) or executions (`execution`), as an
/// IAM resource pattern.
fn workflows(prefix: &str, kind: &str) -> Value {
    let suffix = if kind == "execution" { ":*" } else { "" };
    sub(format!(
        "arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:{kind}:{prefix}-*{suffix}"
    ))
}

/// Adds process, update-state, (with `batch`) pre-batch and post-batch, the event source
/// and the status-change rule.
pub(crate) fn add(cx: &mut Context, batch: bool) -> Result<()> {
    let prefix = cx.names.prefix().to_string();
    let none = BTreeMap::new();
    let queue_arn = get_att(core_id::PROCESS_QUEUE, "Arn");
    let mut process = state_db();
    process.push(allow(
        &[
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
        ],
        vec![queue_arn.clone()],
    ));
    process.push(allow(
        &["states:StartExecution"],
        vec![workflows(&prefix, "stateMachine")],
    ));
    process.push(allow(
        &["states:DescribeExecution"],
        vec![workflows(&prefix, "execution")],
    ));
    process.extend(bucket_access(core_id::PAYLOAD_BUCKET, true));
    process.push(allow(
        &["sns:Publish"],
        vec![reference(core_id::WORKFLOW_EVENT_TOPIC)],
    ));
    add_function(
        cx,
        Function {
            base: id::PROCESS.into(),
            name: cx.names.named("process"),
            handler: "process".into(),
            description: "claims queued payloads and starts their workflows".into(),
            memory: 256,
            timeout: core::PROCESS_VISIBILITY_TIMEOUT / 6,
            statements: process,
            env: &none,
        },
    )?;

    let mut update = state_db();
    update.push(allow(
        &["states:DescribeExecution", "states:GetExecutionHistory"],
        vec![workflows(&prefix, "execution")],
    ));
    update.extend(bucket_access(core_id::PAYLOAD_BUCKET, true));
    update.push(allow(
        &["sns:Publish"],
        vec![
            reference(core_id::PUBLISH_TOPIC),
            reference(core_id::WORKFLOW_EVENT_TOPIC),
        ],
    ));
    update.push(allow(&["sqs:SendMessage"], vec![queue_arn.clone()]));
    add_function(
        cx,
        Function {
            base: id::UPDATE_STATE.into(),
            name: cx.names.named("update-state"),
            handler: "update-state".into(),
            description: "records finished executions, publishes their items, chains".into(),
            memory: 256,
            timeout: 60,
            statements: update,
            env: &none,
        },
    )?;

    if batch {
        add_function(
            cx,
            Function {
                base: id::PRE_BATCH.into(),
                name: cx.names.named("pre-batch"),
                handler: "pre-batch".into(),
                description: "hands a payload to a Batch job (url, url_out)".into(),
                memory: 256,
                timeout: 60,
                statements: bucket_access(core_id::PAYLOAD_BUCKET, true),
                env: &none,
            },
        )?;
        let mut post = bucket_access(core_id::PAYLOAD_BUCKET, true);
        post.push(allow(
            &["logs:GetLogEvents"],
            vec![sub(
                "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/batch/job:log-stream:*",
            )],
        ));
        add_function(
            cx,
            Function {
                base: id::POST_BATCH.into(),
                name: cx.names.named("post-batch"),
                handler: "post-batch".into(),
                description: "returns a Batch job's output payload, or raises its error".into(),
                memory: 256,
                timeout: 60,
                statements: post,
                env: &none,
            },
        )?;
    }

    cx.template.add(
        id::PROCESS_EVENTS,
        json!({
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": queue_arn,
                "FunctionName": reference(&function_id(id::PROCESS)),
                "BatchSize": 10,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "ScalingConfig": {"MaximumConcurrency": cx.config.process_concurrency()}
            }
        }),
        "the process queue's event source",
    )?;

    let update_arn = get_att(&function_id(id::UPDATE_STATE), "Arn");
    cx.template.add(
        id::STATUS_RULE,
        json!({
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": cx.names.named("workflow-status"),
                "Description": "Step Functions status changes of the deployment's state machines, to update-state",
                "State": "ENABLED",
                "EventPattern": {
                    "source": ["aws.states"],
                    "detail-type": ["Step Functions Execution Status Change"],
                    "detail": {
                        "status": TERMINAL_STATUSES,
                        "stateMachineArn": [{"prefix": sub(cx.names.base_workflow_arn_sub())}]
                    }
                },
                "Targets": [{
                    "Id": "update-state",
                    "Arn": update_arn,
                    "DeadLetterConfig": {"Arn": get_att(core_id::UPDATE_STATE_DLQ, "Arn")},
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 1800, "MaximumRetryAttempts": 185}
                }]
            }
        }),
        "the status-change rule",
    )?;
    cx.template.add(
        id::STATUS_PERMISSION,
        json!({
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": reference(&function_id(id::UPDATE_STATE)),
                "Principal": "events.amazonaws.com",
                "SourceArn": get_att(id::STATUS_RULE, "Arn")
            }
        }),
        "update-state's invoke permission",
    )
}
