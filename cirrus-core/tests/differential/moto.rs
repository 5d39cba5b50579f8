//! Running definitions on moto's Step Functions (moto 5.2.5, `MotoServer::shared`).
//!
//! moto only interprets ASL when its `stepfunctions.execute_state_machine` setting is on, and
//! state machines created before it was turned on never run: [`enable_execution`] must come
//! first. Lambda tasks go to moto's "lambda-simple" backend (`lambda.use_docker` off), which
//! runs no code: see [`super::ours::MotoLikeLambda`] for what it answers.

use super::corpus::Outcome;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::types::ExecutionStatus;
use cirrus_core::testing::MotoServer;
use serde_json::Value;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The role every state machine is created with; moto does not check it.
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/cirrus-differential";

/// The settings posted to `/moto-api/config`.
const CONFIG: &str = r#"{"stepfunctions":{"execute_state_machine":true},"lambda":{"use_docker":false},"batch":{"use_docker":false}}"#;

/// Turns on moto's ASL interpreter, and Lambda and Batch without Docker.
pub fn enable_execution(server: &MotoServer) -> io::Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port()))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let request = format!(
        "POST /moto-api/config HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{CONFIG}",
        server.port(),
        CONFIG.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status_line = response.lines().next().unwrap_or_default();
    // moto answers `201 CREATED`.
    let code = status_line.split(' ').nth(1).unwrap_or_default();
    if status_line.starts_with("HTTP/1.") && code.starts_with('2') {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "POST /moto-api/config answered `{status_line}`: {response}"
        )))
    }
}

/// A Step Functions client for the shared moto server.
#[derive(Clone)]
pub struct Sfn {
    client: Client,
}

impl Sfn {
    /// A client for `server`.
    pub async fn new(server: &MotoServer) -> Sfn {
        Sfn {
            client: Client::new(&server.sdk_config().await),
        }
    }

    /// Creates a state machine named `name`; the error is moto's message when it rejects
    /// the definition.
    pub async fn create(&self, name: &str, definition: &Value) -> Result<String, String> {
        let created = self
            .client
            .create_state_machine()
            .name(name)
            .definition(definition.to_string())
            .role_arn(ROLE_ARN)
            .send()
            .await
            .map_err(|e| format!("CreateStateMachine: {}", describe(&e)))?;
        Ok(created.state_machine_arn().to_string())
    }

    /// Starts an execution named `name` (moto needs a name: it does not make one up).
    pub async fn start(&self, machine: &str, name: &str, input: &Value) -> Result<String, String> {
        let started = self
            .client
            .start_execution()
            .state_machine_arn(machine)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| format!("StartExecution: {}", describe(&e)))?;
        Ok(started.execution_arn().to_string())
    }

    /// Polls `DescribeExecution` every `every` until the execution stops or `limit` passes.
    pub async fn wait(&self, execution: &str, every: Duration, limit: Duration) -> Outcome {
        let deadline = Instant::now() + limit;
        loop {
            let described = match self
                .client
                .describe_execution()
                .execution_arn(execution)
                .send()
                .await
            {
                Ok(described) => described,
                Err(e) => {
                    let message = format!("DescribeExecution: {}", describe(&e));
                    return Outcome::other("ERROR", message);
                }
            };
            let status = described.status();
            if *status != ExecutionStatus::Running {
                let mut outcome = Outcome {
                    status: status.as_str().to_string(),
                    error: described.error().map(str::to_string),
                    cause: described.cause().map(str::to_string),
                    ..Outcome::default()
                };
                if let Some(text) = described.output() {
                    match serde_json::from_str(text) {
                        Ok(output) => outcome.output = Some(output),
                        Err(_) => outcome.raw_output = Some(text.to_string()),
                    }
                }
                return outcome;
            }
            if Instant::now() > deadline {
                let message = format!("still running after {} s", limit.as_secs());
                return Outcome::other("RUNNING", message);
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Runs the state machine `machine` once on `input`, as an execution named `name`, and
    /// waits for the end.
    pub async fn run_on(
        &self,
        machine: &str,
        name: &str,
        input: &Value,
        every: Duration,
        limit: Duration,
    ) -> Outcome {
        match self.start(machine, name, input).await {
            Ok(execution) => self.wait(&execution, every, limit).await,
            Err(message) => Outcome::other("ERROR", message),
        }
    }
}

/// The service's error code and message, or the whole error chain when the call failed
/// before the service answered.
fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.message() {
        Some(message) => format!("{}: {message}", error.code().unwrap_or("error")),
        None => DisplayErrorContext(error).to_string(),
    }
}
