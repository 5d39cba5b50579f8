//! Running definitions on our engine, with Lambda tasks answered the way moto answers them.
//!
//! moto 5.2.5 with `lambda.use_docker` off ("lambda-simple") runs no function code and does
//! not check that the function exists:
//!
//! - a Task whose `Resource` is a Lambda function ARN
//!   (`arn:aws:lambda:us-east-1:123456789012:function:echo`) returns its effective input;
//! - a Task on `arn:aws:states:::lambda:invoke` returns `{"StatusCode": 200, "Payload": P}`,
//!   where `P` is the `Payload` parameter, or the string `"Simple Lambda happy path OK"`
//!   when there is none. That is all: AWS adds `ExecutedVersion`, `SdkHttpMetadata` and
//!   `SdkResponseMetadata`, which moto leaves out, so corpus cases read only `Payload` and
//!   `StatusCode`.
//!
//! [`MotoLikeLambda`] answers the same, so both engines see the same task results.

use super::corpus::Outcome;
use async_trait::async_trait;
use cirrus_core::workflow::{
    Engine, Failure, Invocation, Invoker, StateMachine, Status, TaskResolver,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The optimised Lambda integration.
const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// What lambda-simple returns as `Payload` when the call has none.
const NO_PAYLOAD_ANSWER: &str = "Simple Lambda happy path OK";

/// A [`TaskResolver`] for Lambda resources that answers like moto's lambda-simple backend.
pub struct MotoLikeLambda;

impl TaskResolver for MotoLikeLambda {
    fn resolve(&self, resource: &str) -> Result<Arc<dyn Invoker>, Failure> {
        if resource == LAMBDA_INVOKE {
            Ok(Arc::new(LambdaInvoke))
        } else if resource.starts_with("arn:aws:lambda:") && resource.contains(":function:") {
            Ok(Arc::new(Echo))
        } else {
            Err(Failure::new(
                "Differential.UnknownResource",
                format!("the differential test has no task for `{resource}`"),
            ))
        }
    }
}

/// A Lambda function ARN: returns its input.
struct Echo;

#[async_trait]
impl Invoker for Echo {
    async fn invoke(&self, input: Value, _invocation: &Invocation) -> Result<Value, Failure> {
        Ok(input)
    }
}

/// `arn:aws:states:::lambda:invoke`: the function's answer (its `Payload`) wrapped the way
/// moto wraps it.
struct LambdaInvoke;

#[async_trait]
impl Invoker for LambdaInvoke {
    async fn invoke(&self, input: Value, _invocation: &Invocation) -> Result<Value, Failure> {
        let payload = input
            .get("Payload")
            .cloned()
            .unwrap_or_else(|| json!(NO_PAYLOAD_ANSWER));
        Ok(json!({"StatusCode": 200, "Payload": payload}))
    }
}

/// Parses `definition` and runs it on `input`, giving up after `limit`.
pub async fn run(definition: &Value, input: &Value, name: &str, limit: Duration) -> Outcome {
    let machine = match StateMachine::from_value(definition) {
        Ok(machine) => Arc::new(machine),
        Err(e) => return Outcome::other("REJECTED", e.to_string()),
    };
    let engine = Engine::new(Arc::new(MotoLikeLambda));
    let execution = engine.execute(machine, input.clone(), name);
    let Ok(execution) = tokio::time::timeout(limit, execution).await else {
        return Outcome::other(
            "RUNNING",
            format!("still running after {} s", limit.as_secs()),
        );
    };
    let status = match execution.status {
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMED_OUT",
    };
    Outcome {
        status: status.to_string(),
        output: execution.output,
        raw_output: None,
        error: execution.failure.as_ref().map(|f| f.error.clone()),
        cause: execution.failure.and_then(|f| f.cause),
    }
}
