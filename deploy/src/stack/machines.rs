//! One state machine per workflow, `PREFIX-<workflow>`, each with its own role.
//!
//! The definition is a `DefinitionString` with `Fn::Sub`: moto's CloudFormation reads only
//! `DefinitionString` (it ignores `Definition` and `DefinitionSubstitutions`), and the
//! substitutions are ordinary `${Logical.Arn}` references, so CloudFormation also orders the
//! state machine after the functions and jobs it runs. cfn-lint checks the ASL of a plain
//! definition only, so the test suite lints a copy with the references resolved, and runs
//! every definition through asl-validator.

use super::batch::Job;
use super::iam::{allow, role};
use super::names::{check_length, logical_id};
use super::template::{get_att, sub};
use super::{Context, StateMachine};
use crate::{Error, Result};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// What the state machine of one workflow runs.
pub(crate) struct Runs<'a> {
    /// ARN references (`Fn::GetAtt`) of the Lambda functions it invokes.
    pub functions: Vec<Value>,
    /// The Batch jobs it submits.
    pub jobs: Vec<&'a Job>,
}

/// Adds the state machine of `workflow` with its rewritten `definition`.
pub(crate) fn add(
    cx: &mut Context,
    workflow: &str,
    definition: &Value,
    runs: Runs,
) -> Result<StateMachine> {
    let name = cx.names.state_machine(workflow);
    check_length(&format!("workflows/{workflow}"), &name, 80)?;
    let id = logical_id(&["state-machine", workflow]);
    let role_id = format!("{id}Role");
    let mut statements = Vec::new();
    if !runs.functions.is_empty() {
        let mut arns = Vec::new();
        for arn in runs.functions {
            // The function, and its versions and aliases.
            arns.push(sub(format!("{}:*", function_arn_sub(&arn))));
            arns.push(arn);
        }
        statements.push(allow(&["lambda:InvokeFunction"], arns));
    }
    if !runs.jobs.is_empty() {
        let mut submit: Vec<Value> = Vec::new();
        for job in &runs.jobs {
            for resource in &job.submit {
                if !submit.contains(resource) {
                    submit.push(resource.clone());
                }
            }
        }
        statements.push(allow(&["batch:SubmitJob"], submit));
        // DescribeJobs and TerminateJob take no resource-level permissions.
        statements.push(allow(
            &["batch:DescribeJobs", "batch:TerminateJob"],
            vec![json!("*")],
        ));
        // `.sync` watches the job through this managed rule.
        statements.push(allow(
            &["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            vec![sub(
                "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForBatchJobsRule",
            )],
        ));
    }
    if statements.is_empty() {
        // A workflow of Pass/Choice/… states only: a role that may do nothing.
        statements.push(json!({
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*"
        }));
    }
    cx.template.add(
        &role_id,
        role(
            "states.amazonaws.com",
            &format!("{name}: runs the tasks of workflow {workflow}"),
            statements,
        ),
        &format!("workflows/{workflow}"),
    )?;
    let text = serde_json::to_string(definition).map_err(|e| {
        Error::config(
            format!("workflows/{workflow}"),
            format!("the definition cannot be written as JSON: {e}"),
        )
    })?;
    cx.template.add(
        &id,
        json!({
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": name,
                "StateMachineType": "STANDARD",
                "RoleArn": get_att(&role_id, "Arn"),
                "DefinitionString": sub(text.clone())
            }
        }),
        &format!("workflows/{workflow}"),
    )?;
    cx.template.output(
        &format!("{id}Arn"),
        &format!("The state machine of workflow {workflow}"),
        super::template::reference(&id),
    );
    cx.template.output(
        &format!("{role_id}Arn"),
        &format!("The role of the state machine of workflow {workflow}"),
        get_att(&role_id, "Arn"),
    );
    Ok(StateMachine {
        workflow: workflow.to_string(),
        name,
        logical_id: id.clone(),
        definition: text,
        role_output: format!("{role_id}Arn"),
    })
}

/// `${Logical.Arn}` of a `Fn::GetAtt [Logical, Arn]`.
fn function_arn_sub(get_att: &Value) -> String {
    let id = get_att
        .get("Fn::GetAtt")
        .and_then(|v| v.get(0))
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("${{{id}.Arn}}")
}

/// The `${…}` references of a rewritten definition (its `Fn::Sub` variables).
pub(crate) fn references(definition: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = definition;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        if after.starts_with('!') {
            rest = after;
            continue;
        }
        match after.find('}') {
            Some(end) => {
                found.insert(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    found
}
