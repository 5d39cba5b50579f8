//! What a project's definitions and tasks refer to: every Task `Resource` (at any depth)
//! resolves through the project's resolver, and every task command's program exists.

use super::Problem;
use crate::project::Project;
use cirrus_core::payload::problem::{child, index};
use cirrus_core::workflow::TaskResolver;
use cirrus_core::workflow::local::LocalResolver;
use cirrus_core::workflow::model::{StateKind, TaskState, Template, TemplateValue};
use cirrus_core::workflow::{Failure, StateMachine};
use serde_json::Value;
use std::path::Path;

/// The extensions of a script an interpreter runs (`python3 tasks/x/task.py`): such an
/// argument of a task command must exist too.
const SCRIPT_EXTENSIONS: &[&str] = &["py", "sh", "js", "mjs", "rb", "pl", "r", "jl", "ts"];

/// Checks every Task state of `machine`, whose JSON path is `path` (`$` at the top), and of
/// its Parallel branches and Map processors.
pub(super) fn check_resources(
    machine: &StateMachine,
    resolver: &LocalResolver,
    file: &str,
    path: &str,
    out: &mut Vec<Problem>,
) {
    let states = child(path, "States");
    for (name, state) in &machine.states {
        let state_path = child(&states, name);
        match &state.kind {
            StateKind::Task(task) => check_task(task, resolver, file, &state_path, out),
            StateKind::Parallel(parallel) => {
                let branches = child(&state_path, "Branches");
                for (i, branch) in parallel.branches.iter().enumerate() {
                    check_resources(branch, resolver, file, &index(&branches, i), out);
                }
            }
            StateKind::Map(map) => {
                let processor = child(&state_path, "ItemProcessor");
                check_resources(&map.processor, resolver, file, &processor, out);
            }
            _ => {}
        }
    }
}

/// Checks one Task state: its `Resource`, and for `lambda:invoke` a literal `FunctionName`.
fn check_task(
    task: &TaskState,
    resolver: &LocalResolver,
    file: &str,
    path: &str,
    out: &mut Vec<Problem>,
) {
    if let Err(failure) = resolver.resolve(&task.resource) {
        out.push(Problem::new(
            file,
            child(path, "Resource"),
            explain(failure),
        ));
        return;
    }
    if !is_lambda_invoke(&task.resource) {
        return;
    }
    // A FunctionName given by a path is only known when the state runs.
    let Some(function) = task.parameters.as_ref().and_then(literal_function_name) else {
        return;
    };
    if let Err(failure) = resolver.resolve(&function_arn(function)) {
        out.push(Problem::new(
            file,
            child(&child(path, "Parameters"), "FunctionName"),
            format!("FunctionName {function:?}: {}", explain(failure)),
        ));
    }
}

/// The message of a resource that does not resolve.
fn explain(failure: Failure) -> String {
    failure.cause.unwrap_or(failure.error)
}

/// `arn:PARTITION:states:::lambda:invoke`.
fn is_lambda_invoke(resource: &str) -> bool {
    resource.starts_with("arn:aws") && resource.ends_with(":states:::lambda:invoke")
}

/// `Parameters.FunctionName` when it is a literal string.
fn literal_function_name(parameters: &Template) -> Option<&str> {
    match parameters {
        Template::Literal(value) => value.get("FunctionName").and_then(Value::as_str),
        Template::Object(members) => members.iter().find_map(|(name, value)| match value {
            TemplateValue::Template(Template::Literal(Value::String(function)))
                if name == "FunctionName" =>
            {
                Some(function.as_str())
            }
            _ => None,
        }),
        Template::Array(_) => None,
    }
}

/// A `FunctionName` (`NAME[:QUALIFIER]`, `ACCOUNT:function:NAME[:QUALIFIER]` or an ARN) as
/// a function ARN, which the resolver looks up as it does a Task `Resource`.
fn function_arn(function: &str) -> String {
    if function.starts_with("arn:") {
        return function.to_owned();
    }
    let parts: Vec<&str> = function.split(':').collect();
    if parts.len() >= 3 && parts[1] == "function" {
        return format!("arn:aws:lambda:local:{function}");
    }
    format!("arn:aws:lambda:local:000000000000:function:{function}")
}

/// Checks that each task's program (and a script it runs) exists: a bare name on `PATH`, a
/// path relative to the project folder.
pub(super) fn check_programs(project: &Project, file: &str, out: &mut Vec<Problem>) {
    let tasks = child("$", "tasks");
    for (name, task) in &project.tasks {
        let command = child(&child(&tasks, name), "command");
        for (i, argument) in task.command.iter().enumerate() {
            let path = Path::new(argument);
            let bare = path.components().count() == 1 && !path.is_absolute();
            let message = if i == 0 && bare {
                (!on_path(argument)).then(|| format!("program {argument:?} is not found on PATH"))
            } else if i == 0 || is_script(argument) {
                (!project.root.join(path).is_file()).then(|| {
                    format!(
                        "{argument} does not exist (relative paths are from the project folder)"
                    )
                })
            } else {
                None
            };
            if let Some(message) = message {
                out.push(Problem::new(file, index(&command, i), message));
            }
        }
    }
}

/// Whether an argument names a script file: no leading `-`, a script extension.
fn is_script(argument: &str) -> bool {
    let path = Path::new(argument);
    !argument.starts_with('-')
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| SCRIPT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Whether `program` is a file in a folder of `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_become_arns() {
        assert_eq!(
            function_arn("f"),
            "arn:aws:lambda:local:000000000000:function:f"
        );
        assert_eq!(
            function_arn("f:prod"),
            "arn:aws:lambda:local:000000000000:function:f:prod"
        );
        assert_eq!(
            function_arn("123456789012:function:f"),
            "arn:aws:lambda:local:123456789012:function:f"
        );
        let arn = "arn:aws:lambda:us-west-2:123456789012:function:f";
        assert_eq!(function_arn(arn), arn);
    }

    #[test]
    fn scripts() {
        assert!(is_script("tasks/a/task.py"));
        assert!(is_script("run.SH"));
        assert!(!is_script("--config=x.py"));
        assert!(!is_script("DEBUG"));
        assert!(is_lambda_invoke("arn:aws:states:::lambda:invoke"));
        assert!(!is_lambda_invoke("arn:aws:states:::sqs:sendMessage"));
    }
}
