//! Rendered templates pass cfn-lint (no errors, no warnings) and every state machine in them
//! passes asl-validator: the shipped `workflows/` with the HSI tasks on Batch (a new Fargate
//! queue and an existing queue), and a workflow mixing Lambda and Batch tasks in Parallel
//! and Map states with every ResultPath/OutputPath form the Batch wrapper handles.

mod stack_common;

use cirrus_deploy::stack::{self, DeployConfig, StackInput, TaskSource, Workflow};
use serde_json::{Value, json};
use stack_common::{
    asl_validate, cfn_lint, definitions, resolved, shipped_workflows, workspace_root,
};
use std::collections::BTreeMap;

const IMAGE: &str = "123456789012.dkr.ecr.us-west-2.amazonaws.com/cirrus-hsi:1.0";

fn tasks() -> BTreeMap<String, TaskSource> {
    [
        "copy-assets",
        "aviris-activate",
        "hsi-index",
        "hsi-detect",
        "preview",
    ]
    .into_iter()
    .map(|t| (t.to_string(), TaskSource::Builtin))
    .chain([("my-script".to_string(), TaskSource::Project)])
    .collect()
}

fn input(config: Value, workflows: Vec<(String, Value)>) -> StackInput {
    StackInput {
        project: "hsi".into(),
        stage: "dev".into(),
        config: DeployConfig::from_deserializer(config).expect("a valid [deploy]"),
        workflows: workflows
            .into_iter()
            .map(|(name, definition)| Workflow { name, definition })
            .collect(),
        tasks: tasks(),
    }
}

fn fargate(vcpus: f64, memory: u32) -> Value {
    json!({"image": IMAGE, "vcpus": vcpus, "memory": memory,
           "subnets": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
           "security_groups": ["sg-0123456789abcdef0"]})
}

fn shipped() -> Value {
    let workflows = shipped_workflows(&workspace_root());
    assert!(workflows.len() >= 5, "the shipped workflows are found");
    let config = json!({
        "architecture": "arm64",
        "read_buckets": ["aviris-raw-scenes"],
        "tasks": {
            "aviris-activate": {"batch": fargate(4.0, 16384), "env": {"GDAL_CACHEMAX": "1024"}},
            "hsi-index": {"batch": fargate(2.0, 8192)},
            "hsi-detect": {"batch": {"image": IMAGE, "vcpus": 8, "memory": 30000,
                "job_queue": "arn:aws:batch:us-west-2:123456789012:job-queue/hsi-large"}}
        }
    });
    stack::render(&input(config, workflows)).expect("the shipped workflows render")
}

fn mixed() -> Value {
    let definition = json!({
        "Comment": "Lambda and Batch tasks, nested, with the output forms the wrapper handles",
        "StartAt": "copy",
        "States": {
            "copy": {"Type": "Task", "Resource": "copy-assets", "Next": "fan out",
                     "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}]},
            "fan out": {"Type": "Parallel", "Next": "each", "ResultPath": "$.branches", "Branches": [
                {"StartAt": "script", "States": {
                    "script": {"Type": "Task", "Resource": "my-script", "ResultPath": "$.script",
                               "OutputPath": "$.script", "TimeoutSeconds": 600, "End": true}}},
                {"StartAt": "keep", "States": {
                    "keep": {"Type": "Task", "Resource": "aviris-activate", "ResultPath": null, "End": true}}}
            ]},
            "each": {"Type": "Map", "ItemsPath": "$.features", "MaxConcurrency": 2, "Next": "note",
                     "ItemProcessor": {"StartAt": "index", "States": {
                         "index": {"Type": "Task", "Resource": "hsi-index",
                                   "ResultSelector": {"features.$": "$.features"},
                                   "Catch": [{"ErrorEquals": ["InvalidInput"], "Next": "skip"}], "End": true},
                         "skip": {"Type": "Pass", "Result": {"features": []}, "End": true}}}},
            "note": {"Type": "Pass", "Result": {"path_template": "${collection}/${id}"},
                     "ResultPath": "$.note", "End": true}
        }
    });
    let config = json!({
        "name": "mixed",
        "retain_data": false,
        "log_level": "debug",
        "tasks": {
            "copy-assets": {"lambda": {"memory": 512, "timeout": 120}},
            "my-script": {"batch": fargate(0.5, 2048)},
            "aviris-activate": {"batch": fargate(4.0, 16384)},
            "hsi-index": {"batch": {"image": IMAGE, "vcpus": 2, "memory": 8192,
                "job_queue": "arn:aws:batch:us-west-2:123456789012:job-queue/ec2", "attempts": 2}}
        }
    });
    stack::render(&input(config, vec![("mixed".to_string(), definition)]))
        .expect("the mixed workflow renders")
}

#[test]
fn templates_pass_cfn_lint() {
    let shipped = shipped();
    let mixed = mixed();
    cfn_lint(&[
        ("shipped", &shipped),
        ("shipped-resolved", &resolved(&shipped)),
        ("mixed", &mixed),
        ("mixed-resolved", &resolved(&mixed)),
    ]);
}

#[test]
fn state_machines_pass_asl_validator() {
    let mut all = definitions(&resolved(&shipped()));
    assert_eq!(all.len(), shipped_workflows(&workspace_root()).len());
    let mixed = definitions(&resolved(&mixed()));
    assert_eq!(mixed.len(), 1);
    all.extend(mixed);
    asl_validate(&all);
}

#[test]
fn the_literal_template_text_survives_fn_sub() {
    let template = resolved(&mixed());
    let definition = &definitions(&template)[0].1;
    assert_eq!(
        definition["States"]["note"]["Result"]["path_template"],
        "${collection}/${id}"
    );
}
