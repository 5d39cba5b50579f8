//! A workflow definition as the deployed state machine runs it: task-name Resources become
//! the deployment's Lambda functions and Batch jobs.
//!
//! - A **Lambda task** keeps its state; its `Resource` becomes the function's ARN (the
//!   *direct* ARN form, not `arn:aws:states:::lambda:invoke`). The state's result is then the
//!   function's return value, exactly as the local engine gives a task's output payload, so
//!   `Parameters`, `ResultSelector`, `ResultPath` and `OutputPath` keep their meaning; with
//!   `lambda:invoke` the result would be wrapped (`{"Payload": …, "StatusCode": …}`) and
//!   every such path would need rewriting. A retrier for Lambda's transient errors
//!   (throttling, service errors) is put before the state's own.
//! - A **Batch task** becomes cirrus-geo's single-branch Parallel: `<S> pre-batch` (uploads
//!   the payload, returns `{url, url_out}`) → `<S> batch job` (`batch:submitJob.sync`, the
//!   container runs `cirrus task run TASK Ref::url --output Ref::url_out`) → `<S> post-batch`
//!   (returns the output payload; after a failed job, raises the task's error from the job's
//!   last log line). The wrapper keeps the state's `Comment`, `InputPath`, `Parameters`,
//!   `Retry` and `Catch`; the timeouts move to the job state; `ResultSelector` moves to
//!   post-batch; `ResultPath`, `OutputPath`, `Next` and `End` keep their meaning: the branch
//!   result `[output]` is unwrapped by `OutputPath: "$[0]"`, or, when the state had its own
//!   `ResultPath` or `OutputPath`, by a Pass state `<S> unwrap` after it.
//!
//! Resources that are ARNs already (`arn:aws:states:::sns:publish`, a function ARN) are
//! left as they are. Every other string is escaped for `Fn::Sub` (`${` → `${!`), so a
//! definition may contain `${collection}` in a `path_template`; the substituted ARNs are
//! `${Logical.Arn}` / `${Logical}` references ([`super::sub`]).

use crate::{Error, Result};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// What a task-name Resource becomes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// A Lambda function: its ARN (an `Fn::Sub` reference).
    Lambda {
        /// `${TaskXFunction.Arn}`.
        function_arn: String,
    },
    /// A Batch job.
    Batch {
        /// The job name (the task name, as Batch accepts it).
        job_name: String,
        /// The job definition (`${JobDefinitionX}`).
        job_definition: String,
        /// The job queue (an ARN, or `${JobQueueX}`).
        job_queue: String,
    },
}

/// The pre-batch and post-batch functions' ARNs (`Fn::Sub` references).
#[derive(Debug, Clone)]
pub(crate) struct BatchFunctions {
    pub pre: String,
    pub post: String,
}

/// Retries of Lambda's transient errors, before a Lambda task's own.
pub(crate) fn lambda_retry() -> Value {
    json!({
        "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException"
        ],
        "IntervalSeconds": 2,
        "MaxAttempts": 6,
        "BackoffRate": 2,
        "JitterStrategy": "FULL"
    })
}

/// Retries of a refused `SubmitJob` (Batch's 50 TPS limit).
fn batch_retry() -> Value {
    json!({
        "ErrorEquals": ["Batch.AWSBatchException"],
        "IntervalSeconds": 5,
        "MaxAttempts": 20,
        "BackoffRate": 2,
        "MaxDelaySeconds": 300,
        "JitterStrategy": "FULL"
    })
}

/// Fields of a Task state that move to, or stay on, the Batch wrapper (see the module doc).
const WRAPPER_FIELDS: [&str; 5] = ["Comment", "InputPath", "Parameters", "Retry", "Catch"];
const JOB_FIELDS: [&str; 4] = [
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
];
const HANDLED_FIELDS: [&str; 6] = [
    "Type",
    "Resource",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "Next",
];

/// The rewritten definition, and the task names it uses.
#[derive(Debug)]
pub(crate) struct Rewritten {
    pub definition: Value,
    pub tasks: BTreeSet<String>,
}

/// Rewrites `definition` of `workflow`; `targets` says what each task name becomes, or why
/// it cannot be deployed.
pub(crate) fn rewrite(
    workflow: &str,
    definition: &Value,
    targets: &dyn Fn(&str) -> std::result::Result<Target, String>,
    batch: &BatchFunctions,
) -> Result<Rewritten> {
    let mut definition = escape(definition);
    let mut names = BTreeSet::new();
    collect_names(&definition, &mut names);
    let mut rewriter = Rewriter {
        workflow,
        targets,
        batch,
        names,
        used: BTreeSet::new(),
    };
    let machine = definition.as_object_mut().ok_or_else(|| {
        Error::config(
            format!("workflows/{workflow}"),
            "the definition is not a JSON object",
        )
    })?;
    rewriter.machine(machine)?;
    Ok(Rewritten {
        definition,
        tasks: rewriter.used,
    })
}

/// `value` with `${` escaped as `${!` in every string and key (`Fn::Sub` literal syntax).
pub(crate) fn escape(value: &Value) -> Value {
    let text = |s: &str| s.replace("${", "${!");
    match value {
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) => Value::Array(items.iter().map(escape).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, value)| (text(key), escape(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every state name of a state machine, at any depth.
fn collect_names(machine: &Value, names: &mut BTreeSet<String>) {
    let Some(states) = machine.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, state) in states {
        names.insert(name.clone());
        for child in children(state) {
            collect_names(child, names);
        }
    }
}

/// The state machines inside a Parallel (its branches) or a Map (its processor).
fn children(state: &Value) -> Vec<&Value> {
    let mut found: Vec<&Value> = Vec::new();
    if let Some(branches) = state.get("Branches").and_then(Value::as_array) {
        found.extend(branches);
    }
    for key in ["ItemProcessor", "Iterator"] {
        if let Some(processor) = state.get(key) {
            found.push(processor);
        }
    }
    found
}

struct Rewriter<'a> {
    workflow: &'a str,
    targets: &'a dyn Fn(&str) -> std::result::Result<Target, String>,
    batch: &'a BatchFunctions,
    names: BTreeSet<String>,
    used: BTreeSet<String>,
}

impl Rewriter<'_> {
    fn error(&self, state: &str, reason: impl Into<String>) -> Error {
        Error::config(
            format!("workflows/{}: state {state:?}", self.workflow),
            reason,
        )
    }

    fn machine(&mut self, machine: &mut Map<String, Value>) -> Result<()> {
        let Some(Value::Object(states)) = machine.get_mut("States") else {
            return Err(Error::config(
                format!("workflows/{}", self.workflow),
                "a state machine has no States object",
            ));
        };
        let old = std::mem::take(states);
        let mut new = Map::new();
        for (name, mut state) in old {
            self.nested(&mut state)?;
            let task = match (state.get("Type"), state.get("Resource")) {
                (Some(Value::String(kind)), Some(Value::String(resource)))
                    if kind == "Task" && !resource.starts_with("arn:") =>
                {
                    resource.clone()
                }
                _ => {
                    new.insert(name, state);
                    continue;
                }
            };
            let target = (self.targets)(&task)
                .map_err(|reason| self.error(&name, format!("task {task:?}: {reason}")))?;
            self.used.insert(task.clone());
            match target {
                Target::Lambda { function_arn } => {
                    lambda_state(&mut state, function_arn);
                    new.insert(name, state);
                }
                Target::Batch {
                    job_name,
                    job_definition,
                    job_queue,
                } => {
                    let job = json!({
                        "JobName": job_name,
                        "JobDefinition": job_definition,
                        "JobQueue": job_queue,
                        "Parameters": { "url.$": "$.url", "url_out.$": "$.url_out" }
                    });
                    for (name, state) in self.batch_states(&name, state, job)? {
                        new.insert(name, state);
                    }
                }
            }
        }
        machine.insert("States".to_string(), Value::Object(new));
        Ok(())
    }

    /// Rewrites the state machines inside a Parallel or Map state.
    fn nested(&mut self, state: &mut Value) -> Result<()> {
        if let Some(branches) = state.get_mut("Branches").and_then(Value::as_array_mut) {
            for branch in branches.iter_mut().filter_map(Value::as_object_mut) {
                self.machine(branch)?;
            }
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(processor) = state.get_mut(key).and_then(Value::as_object_mut) {
                self.machine(processor)?;
            }
        }
        Ok(())
    }

    /// A new state name derived from `state`, unused anywhere in the machine.
    fn fresh(&mut self, state: &str, suffix: &str) -> Result<String> {
        let name = format!("{state} {suffix}");
        if name.chars().count() > 80 {
            return Err(self.error(
                state,
                format!("the state name is too long to derive {name:?} (Step Functions allows 80 characters)"),
            ));
        }
        if !self.names.insert(name.clone()) {
            return Err(self.error(
                state,
                format!(
                    "the Batch wrapper needs a state named {name:?}, which the workflow already has"
                ),
            ));
        }
        Ok(name)
    }

    /// The states replacing Batch task state `name`: the wrapper, and maybe its unwrap.
    fn batch_states(
        &mut self,
        name: &str,
        state: Value,
        job_parameters: Value,
    ) -> Result<Vec<(String, Value)>> {
        let Value::Object(mut task) = state else {
            return Err(self.error(name, "the state is not an object"));
        };
        if let Some(field) = task.keys().find(|key| {
            !WRAPPER_FIELDS.contains(&key.as_str())
                && !JOB_FIELDS.contains(&key.as_str())
                && !HANDLED_FIELDS.contains(&key.as_str())
                && key.as_str() != "End"
        }) {
            return Err(self.error(
                name,
                format!("a Batch task cannot carry {field} into its pre-batch/job/post-batch wrapper; use a JSONPath Task state without it"),
            ));
        }
        let pre = self.fresh(name, "pre-batch")?;
        let job_state = self.fresh(name, "batch job")?;
        let post = self.fresh(name, "post-batch")?;

        let mut job = json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::batch:submitJob.sync",
            "Parameters": job_parameters,
            "Retry": [batch_retry()],
            "Catch": [{ "ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": post }],
            "Next": post
        });
        for field in JOB_FIELDS {
            if let Some(value) = task.remove(field) {
                job[field] = value;
            }
        }
        let mut post_state = json!({
            "Type": "Task",
            "Resource": self.batch.post,
            "Retry": [lambda_retry()],
            "End": true
        });
        if let Some(selector) = task.remove("ResultSelector") {
            post_state["ResultSelector"] = selector;
        }
        let branch = json!({
            "StartAt": pre,
            "States": {
                pre.clone(): {
                    "Type": "Task",
                    "Resource": self.batch.pre,
                    "Retry": [lambda_retry()],
                    "Next": job_state
                },
                job_state.clone(): job,
                post.clone(): post_state
            }
        });

        let mut wrapper = Map::new();
        wrapper.insert("Type".into(), json!("Parallel"));
        for field in WRAPPER_FIELDS {
            if let Some(value) = task.remove(field) {
                wrapper.insert(field.into(), value);
            }
        }
        wrapper.insert("Branches".into(), json!([branch]));
        let result_path = task.remove("ResultPath");
        let output_path = task.remove("OutputPath");
        let next = task.remove("Next");
        let end = task.remove("End");
        let continuation = |state: &mut Map<String, Value>| {
            if let Some(next) = &next {
                state.insert("Next".into(), next.clone());
            }
            if let Some(end) = &end {
                state.insert("End".into(), end.clone());
            }
        };
        let is_root = |path: &Option<Value>| path.as_ref().is_none_or(|p| p == "$");
        match (&result_path, &output_path) {
            // The result is discarded: nothing to unwrap.
            (Some(Value::Null), _) => {
                wrapper.insert("ResultPath".into(), Value::Null);
                if let Some(output) = output_path {
                    wrapper.insert("OutputPath".into(), output);
                }
                continuation(&mut wrapper);
                Ok(vec![(name.to_string(), Value::Object(wrapper))])
            }
            // The default: the task's output is the state's output.
            _ if is_root(&result_path) && is_root(&output_path) => {
                wrapper.insert("OutputPath".into(), json!("$[0]"));
                continuation(&mut wrapper);
                Ok(vec![(name.to_string(), Value::Object(wrapper))])
            }
            _ => {
                let path = match &result_path {
                    None => "$".to_string(),
                    Some(Value::String(path)) => path.clone(),
                    Some(other) => {
                        return Err(self.error(name, format!("ResultPath {other} is not a path")));
                    }
                };
                let unwrap_name = self.fresh(name, "unwrap")?;
                wrapper.insert("ResultPath".into(), json!(path));
                wrapper.insert("Next".into(), json!(unwrap_name));
                let mut unwrap = Map::new();
                unwrap.insert("Type".into(), json!("Pass"));
                unwrap.insert(
                    "Comment".into(),
                    json!("The Batch wrapper's result [output] becomes output, at the task state's ResultPath"),
                );
                unwrap.insert("InputPath".into(), json!(format!("{path}[0]")));
                unwrap.insert("ResultPath".into(), json!(path));
                if let Some(output) = output_path {
                    unwrap.insert("OutputPath".into(), output);
                }
                continuation(&mut unwrap);
                Ok(vec![
                    (name.to_string(), Value::Object(wrapper)),
                    (unwrap_name, Value::Object(unwrap)),
                ])
            }
        }
    }
}

/// A Lambda task state: the function's ARN as Resource, and the transient-error retrier.
fn lambda_state(state: &mut Value, function_arn: String) {
    state["Resource"] = Value::String(function_arn);
    let mut retry = vec![lambda_retry()];
    if let Some(Value::Array(own)) = state.get("Retry") {
        retry.extend(own.iter().cloned());
    }
    state["Retry"] = Value::Array(retry);
}

#[cfg(test)]
mod tests;
