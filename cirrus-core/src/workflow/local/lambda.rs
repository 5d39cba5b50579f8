//! Lambda-shaped resources, run locally by the task their function name maps to.
//!
//! - `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`: the task's result is the
//!   state's result, as with a Lambda function ARN in Step Functions.
//! - `arn:aws:states:::lambda:invoke`: the input holds `FunctionName` (a name, `NAME:QUALIFIER`,
//!   a partial ARN `ACCOUNT:function:NAME` or a full ARN) and `Payload`; the result is
//!   `{"ExecutedVersion": "$LATEST", "Payload": <task result>, "StatusCode": 200}`.
//!
//! A function error fails the state as Step Functions does: the error is the function's
//! `errorType` and the cause is the Lambda error document,
//! `{"errorMessage": …, "errorType": …}` as a JSON string (which is what cirrus-geo's
//! update-state parses). `States.*` errors (a configured timeout) pass through unchanged.

use super::Registry;
use crate::workflow::error::Failure;
use crate::workflow::resolver::{Invocation, Invoker};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;

/// The error of a function that does not exist (or is not mapped to a task).
pub(super) const RESOURCE_NOT_FOUND: &str = "Lambda.ResourceNotFoundException";

/// The error of a `lambda:invoke` parameter the local engine cannot honour.
pub(super) const INVALID_PARAMETER: &str = "Lambda.InvalidParameterValueException";

/// A Task `Resource` that names Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Resource {
    /// `arn:aws:states:::lambda:invoke`.
    Invoke,
    /// `arn:aws:lambda:…:function:NAME[:QUALIFIER]`.
    Function(Function),
}

impl Resource {
    /// The Lambda resource `resource` names, if it names one.
    pub(super) fn parse(resource: &str) -> Option<Resource> {
        let rest = resource.strip_prefix("arn:")?;
        let (partition, rest) = rest.split_once(':')?;
        if !is_partition(partition) {
            return None;
        }
        if rest == "states:::lambda:invoke" {
            return Some(Resource::Invoke);
        }
        rest.starts_with("lambda:")
            .then(|| Function::parse(resource))
            .flatten()
            .map(Resource::Function)
    }
}

/// A Lambda function reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Function {
    /// The function name.
    pub(super) name: String,
    /// `:QUALIFIER`: a version or an alias.
    pub(super) qualifier: Option<String>,
    /// The reference as written, for messages.
    pub(super) written: String,
}

impl Function {
    /// Parses `NAME[:QUALIFIER]`, `ACCOUNT:function:NAME[:QUALIFIER]` or
    /// `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    pub(super) fn parse(text: &str) -> Option<Function> {
        let parts: Vec<&str> = text.split(':').collect();
        let (name, qualifier) = match parts.as_slice() {
            [name] => (*name, None),
            [name, qualifier] => (*name, Some(*qualifier)),
            [account, "function", name] if is_account(account) => (*name, None),
            [account, "function", name, qualifier] if is_account(account) => {
                (*name, Some(*qualifier))
            }
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "function",
                name,
                rest @ ..,
            ] if is_partition(partition) && !region.is_empty() && is_account(account) => match rest
            {
                [] => (*name, None),
                [qualifier] => (*name, Some(*qualifier)),
                _ => return None,
            },
            _ => return None,
        };
        if !is_function_name(name) || !qualifier.is_none_or(is_qualifier) {
            return None;
        }
        Some(Function {
            name: name.to_owned(),
            qualifier: qualifier.map(str::to_owned),
            written: text.to_owned(),
        })
    }

    /// `ExecutedVersion`: the version a numeric qualifier names, else `$LATEST` (an alias
    /// has no version locally).
    fn executed_version(&self) -> &str {
        match &self.qualifier {
            Some(q) if q.bytes().all(|b| b.is_ascii_digit()) => q,
            _ => "$LATEST",
        }
    }
}

/// Whether `name` is a valid Lambda function name: 1 to 64 of `A-Za-z0-9-_`.
pub(super) fn is_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_qualifier(qualifier: &str) -> bool {
    (1..=128).contains(&qualifier.len())
        && qualifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$'))
}

fn is_account(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

fn is_partition(partition: &str) -> bool {
    partition == "aws" || partition.starts_with("aws-")
}

/// The invoker of a Lambda function ARN resource, or the `ResourceNotFoundException` failure.
pub(super) fn function_invoker(
    registry: &Registry,
    function: &Function,
) -> Result<Arc<dyn Invoker>, Failure> {
    let task = registry
        .function(&function.name)
        .ok_or_else(|| not_found(registry, function))?;
    Ok(Arc::new(LambdaFunction { task }))
}

/// Why a function does not resolve, and how to map it.
fn not_found(registry: &Registry, function: &Function) -> Failure {
    Failure::new(
        RESOURCE_NOT_FOUND,
        format!(
            "Function not found: {}. Locally, a Lambda function runs the task it is mapped to in cirrus.toml ([lambda.functions] \"{}\" = \"TASK\") or the task registered under its name ({})",
            function.written,
            function.name,
            registry.describe()
        ),
    )
}

/// The failure of the state when the function fails: a function error carries the Lambda
/// error document as its cause; `States.*` and `Lambda.*` errors are not function errors.
fn function_error(failure: Failure) -> Failure {
    if failure.error.starts_with("States.") || failure.error.starts_with("Lambda.") {
        return failure;
    }
    let document = json!({
        "errorMessage": failure.cause.as_deref().unwrap_or_default(),
        "errorType": failure.error,
    });
    Failure::new(failure.error, document.to_string())
}

/// A Lambda function ARN resource: the mapped task, with Lambda's error shape.
struct LambdaFunction {
    task: Arc<dyn Invoker>,
}

#[async_trait]
impl Invoker for LambdaFunction {
    async fn invoke(&self, input: Value, invocation: &Invocation) -> Result<Value, Failure> {
        self.task
            .invoke(input, invocation)
            .await
            .map_err(function_error)
    }
}

/// `arn:aws:states:::lambda:invoke`: the function is named in the input, so it is looked
/// up at each invocation.
pub(super) struct LambdaInvoke {
    registry: Arc<Registry>,
}

impl LambdaInvoke {
    pub(super) fn new(registry: Arc<Registry>) -> LambdaInvoke {
        LambdaInvoke { registry }
    }
}

#[async_trait]
impl Invoker for LambdaInvoke {
    async fn invoke(&self, input: Value, invocation: &Invocation) -> Result<Value, Failure> {
        let Value::Object(mut parameters) = input else {
            return Err(Failure::runtime(format!(
                "{}: the parameters of lambda:invoke must be an object with FunctionName and Payload",
                invocation.state
            )));
        };
        let function = match parameters.get("FunctionName") {
            Some(Value::String(name)) => Function::parse(name).ok_or_else(|| {
                Failure::new(
                    INVALID_PARAMETER,
                    format!(
                        "FunctionName {name:?} is not a function name, NAME:QUALIFIER, a partial ARN (ACCOUNT:function:NAME) or a function ARN"
                    ),
                )
            })?,
            Some(other) => {
                return Err(Failure::runtime(format!(
                    "{}: lambda:invoke FunctionName must be a string, not {other}",
                    invocation.state
                )));
            }
            None => {
                return Err(Failure::runtime(format!(
                    "{}: lambda:invoke needs a FunctionName parameter",
                    invocation.state
                )));
            }
        };
        let function = with_qualifier_parameter(function, parameters.get("Qualifier"))?;
        if let Some(kind) = parameters.get("InvocationType")
            && kind != "RequestResponse"
        {
            return Err(Failure::new(
                INVALID_PARAMETER,
                format!(
                    "InvocationType {kind} is not supported by the local engine, which runs functions synchronously (RequestResponse)"
                ),
            ));
        }
        let payload = parameters.remove("Payload").unwrap_or_else(|| json!({}));
        let task = self
            .registry
            .function(&function.name)
            .ok_or_else(|| not_found(&self.registry, &function))?;
        tracing::debug!(function = %function.name, execution = %invocation.execution, state = %invocation.state, "lambda:invoke");
        let result = task
            .invoke(payload, invocation)
            .await
            .map_err(function_error)?;
        Ok(json!({
            "ExecutedVersion": function.executed_version(),
            "Payload": result,
            "StatusCode": 200,
        }))
    }
}

/// Applies a `Qualifier` parameter; it must agree with a qualifier in `FunctionName`.
fn with_qualifier_parameter(
    mut function: Function,
    qualifier: Option<&Value>,
) -> Result<Function, Failure> {
    match qualifier {
        None => Ok(function),
        Some(Value::String(q)) if is_qualifier(q) => match &function.qualifier {
            Some(existing) if existing != q => Err(Failure::new(
                INVALID_PARAMETER,
                format!(
                    "the Qualifier {q:?} differs from the qualifier {existing:?} in FunctionName {:?}",
                    function.written
                ),
            )),
            _ => {
                function.qualifier = Some(q.clone());
                Ok(function)
            }
        },
        Some(other) => Err(Failure::new(
            INVALID_PARAMETER,
            format!("Qualifier {other} is not a version or alias name"),
        )),
    }
}
