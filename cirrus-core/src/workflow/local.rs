//! Local task resolution: what a Task state's `Resource` runs on this machine.
//!
//! [`LocalResolver`] resolves a `Resource` to one of:
//!
//! 1. an **in-process task**: a [`Task`] registered under its name. The input is parsed as a
//!    [`ProcessPayload`](crate::payload::ProcessPayload) and the task's output payload is the
//!    result (`inprocess.rs`);
//! 2. a **subprocess** speaking the task CLI contract,
//!    `COMMAND… run INPUT --output OUT --workdir DIR` ([`SubprocessTask`], `subprocess.rs`);
//! 3. a **Lambda-shaped resource**, `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`
//!    or `arn:aws:states:::lambda:invoke`, whose function name is mapped to one of the above
//!    (`lambda.rs`).
//!
//! A resource that names none of these is a [`Failure`] of the task, whose cause lists what
//! is registered.
//!
//! ```
//! use cirrus_core::workflow::TaskResolver;
//! use cirrus_core::workflow::local::{LocalResolver, SubprocessTask};
//!
//! let resolver = LocalResolver::builder()
//!     .subprocess(SubprocessTask::new("copy-assets", ["python3", "tasks/copy_assets.py"])?)
//!     .lambda_function("my-stack-copy-assets", "copy-assets")
//!     .build()?;
//! assert!(resolver.resolve("copy-assets").is_ok());
//! assert!(resolver.resolve("arn:aws:lambda:us-west-2:123456789012:function:my-stack-copy-assets").is_ok());
//! let unknown = resolver.resolve("publish").err().expect("nothing is registered as publish");
//! assert!(unknown.cause.unwrap().contains("copy-assets (subprocess)"));
//! # Ok::<(), cirrus_core::Error>(())
//! ```

mod inprocess;
mod lambda;
mod stderr;
mod subprocess;

pub use subprocess::SubprocessTask;

use super::error::{Failure, names};
use super::resolver::{Invoker, TaskResolver};
use crate::task::Task;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// Resolves Task resources to in-process tasks, subprocesses and mapped Lambda functions.
/// Built with [`LocalResolver::builder`].
#[derive(Clone, Default)]
pub struct LocalResolver {
    registry: Arc<Registry>,
}

impl LocalResolver {
    /// A builder with nothing registered.
    pub fn builder() -> LocalResolverBuilder {
        LocalResolverBuilder::default()
    }

    /// A resolver with nothing registered: every Task state fails with the unknown-resource
    /// failure (handy for definitions made only of Pass, Choice, Wait, … states).
    pub fn empty() -> LocalResolver {
        LocalResolver::default()
    }

    /// The names of the registered tasks, sorted.
    pub fn task_names(&self) -> impl Iterator<Item = &str> {
        self.registry.tasks.keys().map(String::as_str)
    }
}

impl std::fmt::Debug for LocalResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalResolver")
            .field("registered", &self.registry.describe())
            .finish()
    }
}

impl TaskResolver for LocalResolver {
    fn resolve(&self, resource: &str) -> Result<Arc<dyn Invoker>, Failure> {
        if let Some(entry) = self.registry.tasks.get(resource) {
            return Ok(entry.invoker.clone());
        }
        match lambda::Resource::parse(resource) {
            Some(lambda::Resource::Invoke) => {
                Ok(Arc::new(lambda::LambdaInvoke::new(self.registry.clone())))
            }
            Some(lambda::Resource::Function(function)) => {
                lambda::function_invoker(&self.registry, &function)
            }
            None => Err(self.registry.unknown_resource(resource)),
        }
    }
}

/// Registers tasks and Lambda function mappings, then [`build`](Self::build)s a
/// [`LocalResolver`].
#[derive(Default)]
pub struct LocalResolverBuilder {
    tasks: Vec<(String, Entry)>,
    functions: Vec<(String, String)>,
}

impl LocalResolverBuilder {
    /// Registers an in-process task under its [`name`](Task::name).
    pub fn task(mut self, task: Arc<dyn Task>) -> LocalResolverBuilder {
        let name = task.name().to_owned();
        let entry = Entry {
            kind: Kind::InProcess,
            invoker: Arc::new(inprocess::InProcess::new(task)),
        };
        self.tasks.push((name, entry));
        self
    }

    /// Registers a subprocess task under its name.
    pub fn subprocess(mut self, task: SubprocessTask) -> LocalResolverBuilder {
        let name = task.name().to_owned();
        let entry = Entry {
            kind: Kind::Subprocess,
            invoker: Arc::new(task),
        };
        self.tasks.push((name, entry));
        self
    }

    /// Maps the Lambda function `function` (a bare name such as `my-stack-copy-assets`) to
    /// the registered task `task`. An unmapped function name falls back to the task
    /// registered under that same name.
    pub fn lambda_function(
        mut self,
        function: impl Into<String>,
        task: impl Into<String>,
    ) -> LocalResolverBuilder {
        self.functions.push((function.into(), task.into()));
        self
    }

    /// The resolver. Fails when a name is registered twice, a function name is not a valid
    /// Lambda function name, or a function maps to a task that is not registered.
    pub fn build(self) -> Result<LocalResolver> {
        let mut tasks = BTreeMap::new();
        for (name, entry) in self.tasks {
            if name.is_empty() {
                return Err(Error::invalid_argument(
                    "tasks",
                    "a task name cannot be empty",
                ));
            }
            let kind = entry.kind;
            if let Some(previous) = tasks.insert(name.clone(), entry) {
                return Err(Error::invalid_argument(
                    "tasks",
                    format!(
                        "task {name:?} is registered twice ({} and {})",
                        previous.kind.as_str(),
                        kind.as_str()
                    ),
                ));
            }
        }
        let mut functions = BTreeMap::new();
        for (function, task) in self.functions {
            if !lambda::is_function_name(&function) {
                return Err(Error::invalid_argument(
                    "lambda.functions",
                    format!(
                        "{function:?} is not a Lambda function name (1 to 64 letters, digits, '-' or '_'; give the bare name, not an ARN)"
                    ),
                ));
            }
            if !tasks.contains_key(&task) {
                let registered = Registry::list(&tasks);
                return Err(Error::invalid_argument(
                    "lambda.functions",
                    format!(
                        "function {function:?} maps to task {task:?}, which is not registered ({registered})"
                    ),
                ));
            }
            if functions.insert(function.clone(), task).is_some() {
                return Err(Error::invalid_argument(
                    "lambda.functions",
                    format!("function {function:?} is mapped twice"),
                ));
            }
        }
        Ok(LocalResolver {
            registry: Arc::new(Registry { tasks, functions }),
        })
    }
}

/// How a registered task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    InProcess,
    Subprocess,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::InProcess => "in-process",
            Kind::Subprocess => "subprocess",
        }
    }
}

/// A registered task.
struct Entry {
    kind: Kind,
    invoker: Arc<dyn Invoker>,
}

/// The registered tasks and the Lambda function mapping, shared with `lambda:invoke`
/// invokers, which look the function up at invocation time.
#[derive(Default)]
struct Registry {
    tasks: BTreeMap<String, Entry>,
    /// Lambda function name → task name.
    functions: BTreeMap<String, String>,
}

impl Registry {
    /// The task that runs Lambda function `name`: its mapping, else the task of that name.
    fn function(&self, name: &str) -> Option<Arc<dyn Invoker>> {
        let task = self.functions.get(name).map_or(name, String::as_str);
        self.tasks.get(task).map(|entry| entry.invoker.clone())
    }

    /// The failure of a resource that resolves to nothing.
    fn unknown_resource(&self, resource: &str) -> Failure {
        let mut cause = format!("no task is registered for resource {resource:?}");
        if resource.starts_with("arn:") {
            cause.push_str(
                "; the local engine runs task names, Lambda function ARNs and arn:aws:states:::lambda:invoke",
            );
        }
        let _ = write!(cause, " ({})", self.describe());
        Failure::new(names::TASK_FAILED, cause)
    }

    /// What is registered, for error messages.
    fn describe(&self) -> String {
        let mut text = Registry::list(&self.tasks);
        if !self.functions.is_empty() {
            text.push_str("; Lambda functions: ");
            let mapped: Vec<String> = self
                .functions
                .iter()
                .map(|(function, task)| format!("{function} -> {task}"))
                .collect();
            text.push_str(&mapped.join(", "));
        }
        text
    }

    fn list(tasks: &BTreeMap<String, Entry>) -> String {
        if tasks.is_empty() {
            return "no tasks are registered".to_owned();
        }
        let listed: Vec<String> = tasks
            .iter()
            .map(|(name, entry)| format!("{name} ({})", entry.kind.as_str()))
            .collect();
        format!("registered tasks: {}", listed.join(", "))
    }
}

#[cfg(test)]
mod tests;
