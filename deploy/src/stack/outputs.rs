//! The SSM parameters cirrus-geo's CLI (and ours) find a deployment by, and the stack's
//! outputs.
//!
//! - `/cirrus/deployments/PREFIX` = `{"type":"parameter_store","value":"/deployment/PREFIX/"}`;
//! - `/deployment/PREFIX/<VAR>`: one String parameter per deployment variable.

use super::Context;
use super::core::{self, id as core_id};
use super::names::logical_id;
use super::template::{get_att, reference, sub};
use crate::Result;
use serde_json::json;

/// The output key of a reference `${Logical.Attribute}` / `${Logical}`: what
/// [`super::sub::resolve`] looks it up by.
pub(crate) fn output_key(reference: &str) -> String {
    reference.chars().filter(|c| *c != '.').collect()
}

/// Adds the SSM parameters and the outputs that do not belong to one function, job or state
/// machine.
pub(crate) fn add(cx: &mut Context) -> Result<()> {
    let pointer = json!({"type": "parameter_store", "value": cx.names.variables_path()});
    cx.template.add(
        "DeploymentParameter",
        json!({
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": cx.names.deployment_parameter(),
                "Type": "String",
                "Description": "Where the deployment's variables are (cirrus-geo's deployment pointer)",
                "Value": pointer.to_string()
            }
        }),
        "the deployment parameter",
    )?;
    for (variable, value) in core::variables(cx) {
        cx.template.add(
            &logical_id(&["variable", &variable.to_ascii_lowercase()]),
            json!({
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": format!("{}{variable}", cx.names.variables_path()),
                    "Type": "String",
                    "Value": value
                }
            }),
            &format!("the SSM parameter of {variable}"),
        )?;
    }

    let outputs = [
        (
            "Prefix",
            "The deployment name and resource prefix",
            json!(cx.names.prefix()),
        ),
        (
            "DeploymentParameter",
            "The SSM parameter the deployment is looked up by",
            json!(cx.names.deployment_parameter()),
        ),
        (
            "StateTable",
            "The state table",
            reference(core_id::STATE_TABLE),
        ),
        (
            "TimelineTable",
            "The timeline table",
            reference(core_id::TIMELINE_TABLE),
        ),
        (
            "ProcessQueueUrl",
            "The process queue",
            reference(core_id::PROCESS_QUEUE),
        ),
        (
            "ProcessQueueArn",
            "The process queue's ARN",
            get_att(core_id::PROCESS_QUEUE, "Arn"),
        ),
        (
            "ProcessDeadLetterQueueUrl",
            "Payloads that failed process 5 times",
            reference(core_id::PROCESS_DLQ),
        ),
        (
            "UpdateStateDeadLetterQueueUrl",
            "Status events EventBridge could not deliver to update-state",
            reference(core_id::UPDATE_STATE_DLQ),
        ),
        (
            "PublishTopicArn",
            "Published items",
            reference(core_id::PUBLISH_TOPIC),
        ),
        (
            "WorkflowEventTopicArn",
            "Workflow events",
            reference(core_id::WORKFLOW_EVENT_TOPIC),
        ),
        (
            "PayloadBucket",
            "The payload bucket",
            reference(core_id::PAYLOAD_BUCKET),
        ),
        (
            "DataBucket",
            "The data bucket",
            reference(core_id::DATA_BUCKET),
        ),
        (
            "BaseWorkflowArn",
            "The state machine ARN prefix (CIRRUS_BASE_WORKFLOW_ARN)",
            sub(cx.names.base_workflow_arn_sub()),
        ),
    ];
    for (key, description, value) in outputs {
        cx.template.output(key, description, value);
    }
    Ok(())
}
