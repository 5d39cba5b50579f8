//! Step Functions helpers: reading an execution back, and describing SDK errors.

use super::HandlerError;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::types::HistoryEvent;

/// What `DescribeExecution` (and, for the error, `GetExecutionHistory`) says of an execution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Described {
    /// The input, as JSON text.
    pub input: Option<String>,
    /// The output, as JSON text.
    pub output: Option<String>,
    /// The error name.
    pub error: Option<String>,
    /// The cause.
    pub cause: Option<String>,
}

/// `DescribeExecution` of `arn`.
///
/// # Errors
///
/// A retryable [`HandlerError`] when the call fails.
pub async fn describe_execution(client: &Client, arn: &str) -> Result<Described, HandlerError> {
    let output = client
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| {
            HandlerError::aws(format!("states:DescribeExecution {arn}: {}", describe(&e)))
        })?;
    Ok(Described {
        input: output.input().map(str::to_string),
        output: output.output().map(str::to_string),
        error: output.error().map(str::to_string),
        cause: output.cause().map(str::to_string),
    })
}

/// The error and cause of the last failure event in the history of `arn` (the execution's
/// own failure first, else the last task, Lambda, activity or state failure), read newest
/// first.
///
/// # Errors
///
/// A retryable [`HandlerError`] when the call fails.
pub async fn last_failure(
    client: &Client,
    arn: &str,
) -> Result<Option<(String, Option<String>)>, HandlerError> {
    let history = client
        .get_execution_history()
        .execution_arn(arn)
        .reverse_order(true)
        .max_results(100)
        .send()
        .await
        .map_err(|e| {
            HandlerError::aws(format!(
                "states:GetExecutionHistory {arn}: {}",
                describe(&e)
            ))
        })?;
    Ok(history.events().iter().find_map(failure_of))
}

/// The error and cause of a failure event.
fn failure_of(event: &HistoryEvent) -> Option<(String, Option<String>)> {
    macro_rules! from {
        ($($details:ident),*) => {
            $(
                if let Some(d) = event.$details() {
                    if let Some(error) = d.error() {
                        return Some((error.to_string(), d.cause().map(str::to_string)));
                    }
                }
            )*
        };
    }
    from!(
        execution_failed_event_details,
        execution_timed_out_event_details,
        task_failed_event_details,
        task_timed_out_event_details,
        lambda_function_failed_event_details,
        lambda_function_timed_out_event_details,
        activity_failed_event_details,
        activity_timed_out_event_details,
        map_run_failed_event_details,
        evaluation_failed_event_details
    );
    None
}

/// The console URL cirrus-geo shows for an execution ARN (and hashes into execution names:
/// see [`execution_name`](cirrus_core::pipeline::execution_name)). Text that is not an
/// execution ARN is returned as it is.
pub fn console_url(arn: &str) -> String {
    match arn.split(':').nth(3).filter(|_| arn.starts_with("arn:")) {
        Some(region) if !region.is_empty() => format!(
            "https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}"
        ),
        _ => arn.to_string(),
    }
}

/// One line for an SDK error: the service's code and message, or the whole error chain when
/// the call failed before the service answered (no credentials, no network).
pub fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.message() {
        Some(message) => format!("{}: {message}", error.code().unwrap_or("error")),
        None => DisplayErrorContext(error).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_urls_match_cirrus_geo() {
        let arn = "arn:aws:states:us-west-2:123456789012:execution:p-wf:abc";
        assert_eq!(
            console_url(arn),
            "https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/arn:aws:states:us-west-2:123456789012:execution:p-wf:abc"
        );
        assert_eq!(console_url("local-exec-1"), "local-exec-1");
    }
}
