//! The CloudFormation stack of a project: [`render`] turns a project's workflows, tasks and
//! `[deploy]` settings into one template (JSON).
//!
//! - [`config`]: `[deploy]` of `cirrus.toml`, and where each task runs;
//! - [`names`]: the deployment name `<project>-<stage>` (= the resource prefix and the stack
//!   name) and every resource name derived from it (contract.md);
//! - `core`: the state and timeline tables (cirrus-geo's schema), the process queue with its
//!   dead-letter queue, the update-state dead-letter queue, the publish and workflow-event
//!   topics, the payload and data buckets;
//! - `functions`: process, update-state, pre-batch and post-batch, and a function per
//!   Lambda task, all from the one `bootstrap` package (`CodeBucket`/`CodeKey`), with their
//!   roles and log groups; the process queue's event source; the EventBridge rule on Step
//!   Functions status changes;
//! - `batch`: job definitions, job roles, Fargate compute environments and queues;
//! - `asl` and `machines`: each workflow's definition with its task names replaced by the
//!   deployment's functions and jobs, as a state machine `PREFIX-<workflow>`;
//! - `outputs`: the SSM parameters `/cirrus/deployments/PREFIX` and
//!   `/deployment/PREFIX/<VAR>`, and the stack outputs;
//! - [`sub`]: resolving a state machine's `Fn::Sub` definition with the stack's outputs.
//!
//! Where a task runs: `[deploy.tasks.NAME]` says `lambda = {…}` or `batch = {…}`. A task
//! without one runs on Lambda when it is a built-in task of the Lambda package
//! ([`LAMBDA_BUILTINS`]); a built-in that needs GDAL, or a project task (`[tasks.NAME]`, a
//! command), must be marked `batch`, and the error says so, naming the workflow, the state
//! and the task.

pub mod config;
pub mod names;
pub mod sub;

mod asl;
mod batch;
mod core;
mod functions;
mod iam;
mod machines;
mod outputs;
mod template;

pub use config::{DeployConfig, TaskRuntime};
pub use names::Names;

use crate::{Error, Result};
use asl::{BatchFunctions, Target};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use template::{Template, get_att};

/// The built-in tasks the Lambda package (`bootstrap`, built without GDAL) runs. The other
/// built-ins read rasters through GDAL and run on Batch.
pub const LAMBDA_BUILTINS: &[&str] = &["copy-assets"];

/// What a stack is rendered from.
#[derive(Debug, Clone)]
pub struct StackInput {
    /// The project name: `[deploy] name`, else the project folder's name.
    pub project: String,
    /// The stage (`--stage`).
    pub stage: String,
    /// `[deploy]`.
    pub config: DeployConfig,
    /// The project's workflows (`workflows/<name>/definition.*`), as JSON.
    pub workflows: Vec<Workflow>,
    /// Every task the project can run, by name.
    pub tasks: BTreeMap<String, TaskSource>,
}

/// A workflow: its name and its ASL definition.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The folder name under `workflows/`.
    pub name: String,
    /// The definition, parsed.
    pub definition: Value,
}

/// Where a task comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSource {
    /// A built-in task of `cirrus-tasks`.
    Builtin,
    /// A `[tasks.NAME]` of `cirrus.toml`: a command speaking the task CLI contract.
    Project,
}

/// A rendered stack.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The deployment's names (`stack.names.prefix()` is the stack name).
    pub names: Names,
    /// The CloudFormation template.
    pub template: Value,
    /// The state machines in it.
    pub state_machines: Vec<StateMachine>,
}

/// A state machine of the stack, for an apply step that creates it through the Step
/// Functions API (moto, see [`sub`]).
#[derive(Debug, Clone)]
pub struct StateMachine {
    /// The workflow.
    pub workflow: String,
    /// `PREFIX-<workflow>`.
    pub name: String,
    /// Its logical ID in the template.
    pub logical_id: String,
    /// The definition as an `Fn::Sub` string: [`sub::resolve`] it with the stack outputs.
    pub definition: String,
    /// The stack output holding its role's ARN.
    pub role_output: String,
}

/// What the resource builders share.
pub(crate) struct Context<'a> {
    pub names: Names,
    pub config: &'a DeployConfig,
    pub template: Template,
}

impl Context<'_> {
    /// The payload bucket's name.
    pub fn payload_bucket(&self) -> String {
        self.config
            .payload_bucket
            .clone()
            .unwrap_or_else(|| self.names.named("payloads"))
    }

    /// The data bucket's name.
    pub fn data_bucket(&self) -> String {
        self.config
            .data_bucket
            .clone()
            .unwrap_or_else(|| self.names.named("data"))
    }
}

/// The template of `input`.
pub fn render(input: &StackInput) -> Result<Value> {
    build(input).map(|stack| stack.template)
}

/// The template of `input`, with its names and state machines.
pub fn build(input: &StackInput) -> Result<Stack> {
    let config = &input.config;
    config.check()?;
    let project = config.name.as_deref().unwrap_or(&input.project);
    let names = Names::new(project, &input.stage)?;
    for task in config.tasks.keys() {
        if !input.tasks.contains_key(task) {
            return Err(Error::config(
                format!("deploy.tasks.{task}"),
                format!(
                    "there is no task {task:?} (neither a built-in task nor a [tasks.{task}] of cirrus.toml)"
                ),
            ));
        }
    }

    // First pass: which tasks each workflow runs, and where (every error, before any
    // resource is made).
    let placeholder = BatchFunctions {
        pre: String::new(),
        post: String::new(),
    };
    let mut runtimes: BTreeMap<String, TaskRuntime> = BTreeMap::new();
    let mut used: Vec<BTreeSet<String>> = Vec::new();
    for workflow in &input.workflows {
        let rewritten = asl::rewrite(
            &workflow.name,
            &workflow.definition,
            &|task| {
                runtime(input, task).map(|_| Target::Lambda {
                    function_arn: String::new(),
                })
            },
            &placeholder,
        )?;
        for task in &rewritten.tasks {
            let found =
                runtime(input, task).map_err(|reason| Error::config(task.clone(), reason))?;
            runtimes.insert(task.clone(), found);
        }
        used.push(rewritten.tasks);
    }
    for task in config.tasks.keys() {
        if !runtimes.contains_key(task) {
            tracing::warn!(
                task = %task,
                "[deploy.tasks.{task}] is not run by any workflow; nothing is deployed for it"
            );
        }
    }
    let any_batch = runtimes
        .values()
        .any(|r| matches!(r, TaskRuntime::Batch(_)));

    let mut cx = Context {
        names,
        config,
        template: Template::default(),
    };
    cx.template.parameter(
        functions::id::CODE_BUCKET,
        json!({"Type": "String", "Description": "The bucket holding the Lambda package (bootstrap.zip)", "MinLength": 3}),
    );
    cx.template.parameter(
        functions::id::CODE_KEY,
        json!({"Type": "String", "Description": "The Lambda package's key; a new key per build, so that an update deploys it", "MinLength": 1}),
    );
    core::add(&mut cx)?;
    functions::add(&mut cx, any_batch)?;

    let mut targets: BTreeMap<String, Target> = BTreeMap::new();
    let mut jobs_by_task = BTreeMap::new();
    let mut job_specs = Vec::new();
    let none = BTreeMap::new();
    for (task, runtime) in &runtimes {
        let env = config.tasks.get(task).map(|t| &t.env).unwrap_or(&none);
        match runtime {
            TaskRuntime::Lambda { memory, timeout } => {
                let base = functions::task_base(task);
                let function = functions::Function {
                    base: base.clone(),
                    name: cx.names.task_function(task),
                    handler: format!("task:{task}"),
                    description: format!("runs task {task}"),
                    memory: *memory,
                    timeout: *timeout,
                    statements: functions::task_statements(&cx),
                    env,
                };
                functions::add_function(&mut cx, function)?;
                targets.insert(
                    task.clone(),
                    Target::Lambda {
                        function_arn: functions::arn_reference(&base),
                    },
                );
            }
            TaskRuntime::Batch(settings) => job_specs.push(batch::JobSpec {
                task,
                settings,
                env,
            }),
        }
    }
    for (task, job) in batch::add(&mut cx, &job_specs)? {
        targets.insert(task.clone(), job.target.clone());
        jobs_by_task.insert(task, job);
    }

    let batch_functions = BatchFunctions {
        pre: functions::arn_reference(functions::id::PRE_BATCH),
        post: functions::arn_reference(functions::id::POST_BATCH),
    };
    let mut state_machines = Vec::new();
    for (workflow, tasks) in input.workflows.iter().zip(&used) {
        let rewritten = asl::rewrite(
            &workflow.name,
            &workflow.definition,
            &|task| {
                targets
                    .get(task)
                    .cloned()
                    .ok_or_else(|| "has no deployed function or job".to_string())
            },
            &batch_functions,
        )?;
        let mut runs = machines::Runs {
            functions: Vec::new(),
            jobs: Vec::new(),
        };
        for task in tasks {
            match jobs_by_task.get(task) {
                Some(job) => runs.jobs.push(job),
                None => runs.functions.push(get_att(
                    &functions::function_id(&functions::task_base(task)),
                    "Arn",
                )),
            }
        }
        if !runs.jobs.is_empty() {
            for base in [functions::id::PRE_BATCH, functions::id::POST_BATCH] {
                runs.functions
                    .push(get_att(&functions::function_id(base), "Arn"));
            }
        }
        state_machines.push(machines::add(
            &mut cx,
            &workflow.name,
            &rewritten.definition,
            runs,
        )?);
    }
    outputs::add(&mut cx)?;
    // Every reference of a definition is a stack output, so `sub::resolve` can fill it in.
    for machine in &state_machines {
        for reference in machines::references(&machine.definition) {
            let key = outputs::output_key(&reference);
            if !cx.template.has_output(&key) {
                return Err(Error::config(
                    format!("workflows/{}", machine.workflow),
                    format!("the definition refers to ${{{reference}}}, which is no stack output"),
                ));
            }
        }
    }

    let description = format!(
        "Cirrus deployment {} ({} workflow(s), {} task(s))",
        cx.names.prefix(),
        state_machines.len(),
        runtimes.len()
    );
    Ok(Stack {
        template: cx.template.into_value(description),
        names: cx.names,
        state_machines,
    })
}

/// Where `task` runs, or why it cannot be deployed.
fn runtime(input: &StackInput, task: &str) -> std::result::Result<TaskRuntime, String> {
    let Some(source) = input.tasks.get(task) else {
        return Err(
            "there is no such task (neither a built-in task nor a [tasks.NAME] of cirrus.toml)"
                .to_string(),
        );
    };
    let in_package = *source == TaskSource::Builtin && LAMBDA_BUILTINS.contains(&task);
    let mark = input.config.tasks.get(task);
    match mark.map(|m| (&m.lambda, &m.batch)) {
        Some((_, Some(batch))) => Ok(TaskRuntime::Batch(batch.clone())),
        Some((Some(lambda), None)) if in_package => Ok(input.config.lambda_runtime(Some(lambda))),
        Some((Some(_), None)) => Err(format!(
            "[deploy.tasks.{task}] says lambda, but the Lambda package runs only the built-in tasks that need no GDAL ({}); run it on Batch: batch = {{ image = …, vcpus = …, memory = … }}",
            LAMBDA_BUILTINS.join(", ")
        )),
        _ if in_package => Ok(input.config.lambda_runtime(None)),
        _ if *source == TaskSource::Builtin => Err(format!(
            "the built-in task needs GDAL, which the Lambda package does not have; run it on Batch with [deploy.tasks.{task}] batch = {{ image = …, vcpus = …, memory = … }}"
        )),
        _ => Err(format!(
            "[tasks.{task}] runs a command; say where it runs on AWS with [deploy.tasks.{task}] batch = {{ image = …, vcpus = …, memory = … }} (an image holding `cirrus` and the command)"
        )),
    }
}

#[cfg(test)]
mod tests;
