//! `bootstrap`: the one Lambda binary of a Cirrus deployment (custom runtime
//! `provided.al2023`). `CIRRUS_FUNCTION` selects the handler; see `cirrus_deploy::lambda`.
//!
//! Logs are JSON lines on stderr (CloudWatch Logs), filtered by `CIRRUS_LOG_LEVEL`
//! (default `info`). A configuration error stops the function at start-up with one line.

use cirrus_deploy::config::DeploymentEnv;
use cirrus_deploy::lambda::{Context, Function, Handler, HandlerError};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::process::ExitCode;

fn main() -> ExitCode {
    init_logs();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "bootstrap stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), lambda_runtime::Error> {
    let handler = handler().await?;
    tracing::info!(function = %handler.function(), "ready");
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler
            .handle(event.payload, &event.context.request_id)
            .await
    }))
    .await
}

/// The function of this instance, on the deployment's backends.
async fn handler() -> Result<Handler, HandlerError> {
    let function = Function::from_env()?;
    let env = DeploymentEnv::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let context = Context::new(&sdk, env, &[])?;
    Handler::new(function, context)
}

/// JSON logs on stderr, `CIRRUS_LOG_LEVEL` as the filter.
fn init_logs() {
    let filter = std::env::var("CIRRUS_LOG_LEVEL").unwrap_or_else(|_| "info".to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(filter.to_lowercase())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_writer(std::io::stderr)
        .init();
}
