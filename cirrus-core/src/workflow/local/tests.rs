//! The resolver: in-process tasks, Lambda mapping and `lambda:invoke`, unknown resources.

use super::lambda::{Function, Resource};
use super::*;
use crate::payload::ProcessPayload;
use crate::task::{TaskContext, TaskError};
use crate::workflow::Invocation;
use async_trait::async_trait;
use futures_util::FutureExt;
use serde_json::{Value, json};

/// Marks the payload, heartbeats once, or fails as asked by `process[0].tasks.mark`.
struct Mark;

#[async_trait]
impl Task for Mark {
    fn name(&self) -> &str {
        "mark"
    }

    async fn run(
        &self,
        mut payload: ProcessPayload,
        context: &TaskContext,
    ) -> Result<ProcessPayload, TaskError> {
        context.heartbeat();
        let fail = payload.extra.get("fail").and_then(Value::as_str);
        match fail {
            Some("invalid") => return Err(TaskError::invalid("no items to mark")),
            Some("named") => return Err(TaskError::failed("it broke").named("Mark.Broken")),
            Some("panic") => panic!("mark cannot go on"),
            _ => {}
        }
        payload
            .extra
            .insert("marked".into(), json!(context.execution()));
        Ok(payload)
    }
}

fn payload() -> Value {
    json!({"type": "FeatureCollection", "features": [{"id": "a"}], "process": [{"workflow": "w"}]})
}

fn resolver() -> LocalResolver {
    LocalResolver::builder()
        .task(Arc::new(Mark))
        .lambda_function("my-stack-mark", "mark")
        .build()
        .unwrap()
}

fn invocation(resource: &str) -> Invocation {
    Invocation::new("exec-1", "Mark", resource, "token")
}

async fn run(resource: &str, input: Value) -> Result<Value, Failure> {
    let invoker = resolver().resolve(resource)?;
    invoker.invoke(input, &invocation(resource)).await
}

#[tokio::test]
async fn an_in_process_task_gets_the_payload_and_a_heartbeat() {
    let resolver = resolver();
    let invocation = invocation("mark");
    let invoker = resolver.resolve("mark").unwrap();
    let output = invoker.invoke(payload(), &invocation).await.unwrap();
    assert_eq!(output["marked"], "exec-1");
    assert_eq!(output["features"], json!([{"id": "a"}]));
    assert!(invocation.heartbeat_received().now_or_never().is_some());
}

#[tokio::test]
async fn in_process_task_errors_are_failures() {
    let input = |fail: &str| {
        let mut p = payload();
        p["fail"] = json!(fail);
        p
    };
    let invalid = run("mark", input("invalid")).await.unwrap_err();
    assert_eq!(invalid, Failure::new("InvalidInput", "no items to mark"));
    let named = run("mark", input("named")).await.unwrap_err();
    assert_eq!(named, Failure::new("Mark.Broken", "it broke"));
    let panicked = run("mark", input("panic")).await.unwrap_err();
    assert_eq!(panicked.error, "TaskFailed");
    assert_eq!(
        panicked.cause.as_deref(),
        Some("task mark panicked: mark cannot go on")
    );
}

#[tokio::test]
async fn an_input_that_is_not_a_payload_is_invalid_input() {
    let failure = run("mark", json!({"features": "nope"})).await.unwrap_err();
    assert_eq!(failure.error, "InvalidInput");
    let cause = failure.cause.unwrap();
    assert!(
        cause.starts_with("task mark: the input is not a process payload: "),
        "{cause}"
    );
    assert!(cause.contains("$.features"), "{cause}");
}

#[tokio::test]
async fn a_function_arn_runs_its_mapped_task_and_returns_the_result_as_is() {
    let arn = "arn:aws:lambda:us-west-2:123456789012:function:my-stack-mark:prod";
    let output = run(arn, payload()).await.unwrap();
    assert_eq!(output["marked"], "exec-1");
    // An unmapped name falls back to the task of that name.
    let output = run(
        "arn:aws:lambda:us-west-2:123456789012:function:mark",
        payload(),
    )
    .await;
    assert_eq!(output.unwrap()["marked"], "exec-1");
}

#[tokio::test]
async fn a_function_error_has_the_lambda_error_document_as_cause() {
    let mut input = payload();
    input["fail"] = json!("invalid");
    let arn = "arn:aws:lambda:us-west-2:123456789012:function:my-stack-mark";
    let failure = run(arn, input.clone()).await.unwrap_err();
    assert_eq!(failure.error, "InvalidInput");
    let document: Value = serde_json::from_str(failure.cause.as_deref().unwrap()).unwrap();
    assert_eq!(
        document,
        json!({"errorMessage": "no items to mark", "errorType": "InvalidInput"})
    );
    let invoke = json!({"FunctionName": "my-stack-mark", "Payload": input});
    let failure = run("arn:aws:states:::lambda:invoke", invoke)
        .await
        .unwrap_err();
    assert_eq!(failure.error, "InvalidInput");
    assert!(failure.cause.unwrap().starts_with("{\"errorMessage\":"));
}

#[tokio::test]
async fn lambda_invoke_wraps_the_result() {
    for name in [
        "my-stack-mark",
        "my-stack-mark:$LATEST",
        "123456789012:function:my-stack-mark",
        "arn:aws:lambda:eu-west-1:123456789012:function:my-stack-mark",
        "mark",
    ] {
        let input = json!({"FunctionName": name, "Payload": payload()});
        let output = run("arn:aws:states:::lambda:invoke", input).await.unwrap();
        assert_eq!(output["ExecutedVersion"], "$LATEST", "{name}");
        assert_eq!(output["StatusCode"], 200, "{name}");
        assert_eq!(output["Payload"]["marked"], "exec-1", "{name}");
        let keys: Vec<&String> = output.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["ExecutedVersion", "Payload", "StatusCode"]);
    }
    let input = json!({"FunctionName": "my-stack-mark:7", "Payload": payload()});
    let output = run("arn:aws:states:::lambda:invoke", input).await.unwrap();
    assert_eq!(output["ExecutedVersion"], "7");
}

#[tokio::test]
async fn lambda_invoke_parameter_errors() {
    let invoke = |input: Value| run("arn:aws:states:::lambda:invoke", input);
    let missing = invoke(json!({"Payload": {}})).await.unwrap_err();
    assert_eq!(missing.error, "States.Runtime");
    assert!(missing.cause.unwrap().contains("FunctionName"));
    let typed = invoke(json!({"FunctionName": 3})).await.unwrap_err();
    assert_eq!(typed.error, "States.Runtime");
    let malformed = invoke(json!({"FunctionName": "a b"})).await.unwrap_err();
    assert_eq!(malformed.error, "Lambda.InvalidParameterValueException");
    let event = invoke(json!({"FunctionName": "mark", "InvocationType": "Event"}));
    assert_eq!(
        event.await.unwrap_err().error,
        "Lambda.InvalidParameterValueException"
    );
    let clash = invoke(json!({"FunctionName": "mark:1", "Qualifier": "2"}));
    assert_eq!(
        clash.await.unwrap_err().error,
        "Lambda.InvalidParameterValueException"
    );
}

#[tokio::test]
async fn an_unknown_function_says_how_to_map_it() {
    let input = json!({"FunctionName": "other-fn", "Payload": {}});
    let failure = run("arn:aws:states:::lambda:invoke", input)
        .await
        .unwrap_err();
    assert_eq!(failure.error, "Lambda.ResourceNotFoundException");
    let cause = failure.cause.unwrap();
    assert!(
        cause.starts_with("Function not found: other-fn."),
        "{cause}"
    );
    assert!(
        cause.contains("[lambda.functions] \"other-fn\" = \"TASK\""),
        "{cause}"
    );
    assert!(cause.contains("mark (in-process)"), "{cause}");

    let arn = "arn:aws:lambda:us-west-2:123456789012:function:other-fn";
    let failure = resolver().resolve(arn).err().unwrap();
    assert_eq!(failure.error, "Lambda.ResourceNotFoundException");
    assert!(failure.cause.unwrap().contains(arn));
}

#[test]
fn an_unknown_resource_lists_what_is_registered() {
    let failure = resolver().resolve("publish").err().unwrap();
    assert_eq!(failure.error, "States.TaskFailed");
    assert_eq!(
        failure.cause.as_deref(),
        Some(
            "no task is registered for resource \"publish\" (registered tasks: mark (in-process); Lambda functions: my-stack-mark -> mark)"
        )
    );
    let failure = LocalResolver::empty()
        .resolve("arn:aws:states:::sqs:sendMessage")
        .err()
        .unwrap();
    let cause = failure.cause.unwrap();
    assert!(
        cause.contains("the local engine runs task names"),
        "{cause}"
    );
    assert!(cause.ends_with("(no tasks are registered)"), "{cause}");
}

#[test]
fn builder_errors_name_the_key() {
    let twice = LocalResolver::builder()
        .task(Arc::new(Mark))
        .subprocess(SubprocessTask::new("mark", ["true"]).unwrap())
        .build()
        .unwrap_err()
        .to_string();
    assert_eq!(
        twice,
        "tasks: task \"mark\" is registered twice (in-process and subprocess)"
    );
    let unknown = LocalResolver::builder()
        .lambda_function("fn", "nope")
        .build()
        .unwrap_err()
        .to_string();
    assert_eq!(
        unknown,
        "lambda.functions: function \"fn\" maps to task \"nope\", which is not registered (no tasks are registered)"
    );
    let arn = LocalResolver::builder()
        .task(Arc::new(Mark))
        .lambda_function("arn:aws:lambda:us-west-2:123456789012:function:x", "mark")
        .build()
        .unwrap_err()
        .to_string();
    assert!(arn.contains("is not a Lambda function name"), "{arn}");
    assert!(SubprocessTask::new("t", Vec::<String>::new()).is_err());
}

#[test]
fn lambda_resources_parse() {
    assert_eq!(
        Resource::parse("arn:aws:states:::lambda:invoke"),
        Some(Resource::Invoke)
    );
    assert_eq!(
        Resource::parse("arn:aws-us-gov:states:::lambda:invoke"),
        Some(Resource::Invoke)
    );
    assert_eq!(
        Resource::parse("arn:aws:states:::lambda:invoke.waitForTaskToken"),
        None
    );
    assert_eq!(
        Resource::parse("arn:aws:states:::batch:submitJob.sync"),
        None
    );
    assert_eq!(Resource::parse("copy-assets"), None);
    let Some(Resource::Function(function)) =
        Resource::parse("arn:aws:lambda:us-east-1:123456789012:function:f-1:live")
    else {
        panic!("a function ARN with a qualifier parses");
    };
    assert_eq!(function.name, "f-1");
    assert_eq!(function.qualifier.as_deref(), Some("live"));
    for bad in [
        "arn:aws:lambda:us-east-1:123456789012:function:",
        "arn:aws:lambda:us-east-1:12345:function:f",
        "arn:aws:lambda:us-east-1:123456789012:layer:f",
        "arn:aws:lambda:us-east-1:123456789012:function:f:1:2",
        "arn:other:lambda:us-east-1:123456789012:function:f",
    ] {
        assert_eq!(Resource::parse(bad), None, "{bad}");
    }
    assert_eq!(
        Function::parse("f:$LATEST").unwrap().qualifier.as_deref(),
        Some("$LATEST")
    );
    assert!(Function::parse(&"f".repeat(65)).is_none());
    assert!(Function::parse("f:").is_none());
}
