//! Batch tasks: a job definition and a job role per task; the Fargate compute environments
//! and job queues the stack creates (one per distinct subnets + security groups + max vCPUs);
//! one execution role for the Fargate jobs (pulling the images, writing their logs).
//!
//! A task with `job_queue` submits to that existing queue; its job definition is for the
//! queue's `platform` (EC2 unless told otherwise).

use super::Context;
use super::asl::Target;
use super::config::{BatchSettings, Platform};
use super::core;
use super::functions::task_statements;
use super::iam::{allow, role};
use super::names::{check_length, logical_id};
use super::template::{get_att, reference, sub};
use crate::Result;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const EXECUTION_ROLE: &str = "BatchExecutionRole";

/// One Batch task: what its state becomes, and what the state machine must be allowed to
/// submit to.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub target: Target,
    /// The job definition and queue, as IAM resources of `batch:SubmitJob`.
    pub submit: Vec<Value>,
}

/// One task to run on Batch.
pub(crate) struct JobSpec<'a> {
    pub task: &'a str,
    pub settings: &'a BatchSettings,
    pub env: &'a BTreeMap<String, String>,
}

/// Adds the Batch resources of `jobs`.
pub(crate) fn add(cx: &mut Context, jobs: &[JobSpec]) -> Result<BTreeMap<String, Job>> {
    let mut queues: Vec<(QueueKey, String)> = Vec::new();
    let mut repositories: Vec<Value> = Vec::new();
    let mut fargate = false;
    let mut out = BTreeMap::new();
    for spec in jobs {
        let settings = spec.settings;
        let queue = match &settings.job_queue {
            Some(arn) => json!(arn),
            None => {
                let key = QueueKey::of(settings);
                let id = match queues.iter().find(|(k, _)| *k == key) {
                    Some((_, id)) => id.clone(),
                    None => {
                        let id = format!("JobQueue{}", queues.len() + 1);
                        add_queue(cx, &key, &id, queues.len() + 1)?;
                        queues.push((key, id.clone()));
                        id
                    }
                };
                reference(&id)
            }
        };
        if settings.platform() == Platform::Fargate {
            fargate = true;
            if let Some(repository) = ecr_repository(&settings.image)
                && !repositories.contains(&repository)
            {
                repositories.push(repository);
            }
        }
        let job = add_job(cx, spec, &queue)?;
        out.insert(spec.task.to_string(), job);
    }
    if fargate {
        let mut statements = vec![allow(
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            vec![sub(
                "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/batch/job:*",
            )],
        )];
        if !repositories.is_empty() {
            statements.push(allow(&["ecr:GetAuthorizationToken"], vec![json!("*")]));
            statements.push(allow(
                &[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                repositories,
            ));
        }
        cx.template.add(
            EXECUTION_ROLE,
            role(
                "ecs-tasks.amazonaws.com",
                &format!(
                    "{}: Fargate jobs pull their image and write their logs",
                    cx.names.prefix()
                ),
                statements,
            ),
            "the Batch execution role",
        )?;
    }
    Ok(out)
}

/// The subnets, security groups and size of a compute environment the stack creates.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueueKey {
    subnets: Vec<String>,
    security_groups: Vec<String>,
    max_vcpus: u32,
}

impl QueueKey {
    fn of(settings: &BatchSettings) -> QueueKey {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v
        };
        QueueKey {
            subnets: sorted(&settings.subnets),
            security_groups: sorted(&settings.security_groups),
            max_vcpus: settings.max_vcpus.unwrap_or(256),
        }
    }
}

fn add_queue(cx: &mut Context, key: &QueueKey, queue_id: &str, n: usize) -> Result<()> {
    let environment = format!("ComputeEnvironment{n}");
    cx.template.add(
        &environment,
        json!({
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {
                "Type": "MANAGED",
                "State": "ENABLED",
                "ComputeResources": {
                    "Type": "FARGATE",
                    "MaxvCpus": key.max_vcpus,
                    "Subnets": key.subnets,
                    "SecurityGroupIds": key.security_groups
                }
            }
        }),
        "a Fargate compute environment",
    )?;
    cx.template.output(
        queue_id,
        "A job queue of the Batch tasks",
        reference(queue_id),
    );
    cx.template.add(
        queue_id,
        json!({
            "Type": "AWS::Batch::JobQueue",
            "Properties": {
                "Priority": 1,
                "State": "ENABLED",
                "ComputeEnvironmentOrder": [{"Order": 1, "ComputeEnvironment": reference(&environment)}]
            }
        }),
        "a job queue",
    )
}

/// The repository ARN of an ECR image (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME[:TAG|@DIGEST]`).
fn ecr_repository(image: &str) -> Option<Value> {
    let (host, path) = image.split_once('/')?;
    let mut parts = host.split('.');
    let account = parts.next()?;
    if parts.next()? != "dkr" || parts.next()? != "ecr" {
        return None;
    }
    let region = parts.next()?;
    let name = path.split(['@', ':']).next()?;
    Some(sub(format!(
        "arn:${{AWS::Partition}}:ecr:{region}:{account}:repository/{name}"
    )))
}

/// A vCPU count as Batch wants it: `"0.25"`, `"4"`.
fn vcpus(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        value.to_string()
    }
}

/// The job name of `task`: letters, digits, `-` and `_`, at most 128.
fn job_name(task: &str) -> String {
    task.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect()
}

fn add_job(cx: &mut Context, spec: &JobSpec, queue: &Value) -> Result<Job> {
    let settings = spec.settings;
    let base = logical_id(&["job", spec.task]);
    let definition_id = format!("{base}Definition");
    let role_id = format!("{base}Role");
    let name = cx.names.named(spec.task);
    check_length(
        &format!("the job definition of task {}", spec.task),
        &name,
        128,
    )?;
    cx.template.add(
        &role_id,
        role(
            "ecs-tasks.amazonaws.com",
            &format!("{name}: the Batch job of task {}", spec.task),
            task_statements(cx),
        ),
        &format!("the job role of task {}", spec.task),
    )?;
    let mut environment: Vec<Value> = core::variables(cx)
        .into_iter()
        .map(|(name, value)| json!({"Name": name, "Value": value}))
        .collect();
    environment.extend(
        spec.env
            .iter()
            .map(|(name, value)| json!({"Name": name, "Value": value})),
    );
    let platform = settings.platform();
    let mut container = json!({
        "Image": settings.image,
        "Command": ["cirrus", "task", "run", spec.task, "Ref::url", "--output", "Ref::url_out"],
        "ResourceRequirements": [
            {"Type": "VCPU", "Value": vcpus(settings.vcpus)},
            {"Type": "MEMORY", "Value": settings.memory.to_string()}
        ],
        "Environment": environment,
        "JobRoleArn": get_att(&role_id, "Arn")
    });
    if platform == Platform::Fargate {
        container["ExecutionRoleArn"] = get_att(EXECUTION_ROLE, "Arn");
        container["NetworkConfiguration"] = json!({
            "AssignPublicIp": if settings.assign_public_ip { "ENABLED" } else { "DISABLED" }
        });
        container["FargatePlatformConfiguration"] = json!({"PlatformVersion": "LATEST"});
    }
    cx.template.output(
        &definition_id,
        &format!("The job definition of task {}", spec.task),
        reference(&definition_id),
    );
    cx.template.add(
        &definition_id,
        json!({
            "Type": "AWS::Batch::JobDefinition",
            "Properties": {
                "JobDefinitionName": name,
                "Type": "container",
                "PlatformCapabilities": [match platform { Platform::Fargate => "FARGATE", Platform::Ec2 => "EC2" }],
                "Parameters": {"url": "", "url_out": ""},
                "RetryStrategy": {"Attempts": settings.attempts.unwrap_or(1)},
                "ContainerProperties": container
            }
        }),
        &format!("the job definition of task {}", spec.task),
    )?;
    let queue_reference = match queue {
        Value::String(arn) => arn.clone(),
        other => format!(
            "${{{}}}",
            other.get("Ref").and_then(Value::as_str).unwrap_or_default()
        ),
    };
    Ok(Job {
        target: Target::Batch {
            job_name: job_name(spec.task),
            job_definition: format!("${{{definition_id}}}"),
            job_queue: queue_reference,
        },
        submit: vec![
            sub(format!(
                "arn:${{AWS::Partition}}:batch:${{AWS::Region}}:${{AWS::AccountId}}:job-definition/{name}"
            )),
            sub(format!(
                "arn:${{AWS::Partition}}:batch:${{AWS::Region}}:${{AWS::AccountId}}:job-definition/{name}:*"
            )),
            queue.clone(),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_images_and_sizes() {
        assert_eq!(
            ecr_repository("123456789012.dkr.ecr.us-west-2.amazonaws.com/cirrus/hsi:1.0"),
            Some(sub(
                "arn:${AWS::Partition}:ecr:us-west-2:123456789012:repository/cirrus/hsi"
            ))
        );
        assert_eq!(ecr_repository("ghcr.io/org/cirrus:1"), None);
        assert_eq!(ecr_repository("debian"), None);
        assert_eq!(vcpus(4.0), "4");
        assert_eq!(vcpus(0.25), "0.25");
        assert_eq!(job_name("a.b/c"), "a-b-c");
    }
}
