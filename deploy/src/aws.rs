//! The AWS SDK configuration and the one place SDK errors become [`Error`]s.
//!
//! Region, credentials and endpoint come from the standard AWS environment (`AWS_REGION`,
//! `AWS_PROFILE`, `AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, …), so the same code talks to AWS
//! or, in the tests, to a `moto_server` on 127.0.0.1.

use crate::{Error, Result};
use aws_config::{BehaviorVersion, Region};

pub use aws_config::SdkConfig;
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

/// Loads the SDK configuration from the environment; `region` overrides `AWS_REGION`.
///
/// # Errors
///
/// [`Error::Config`] when no region is set anywhere.
pub async fn sdk_config(region: Option<&str>) -> Result<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(Error::config(
            "AWS region",
            "none is set: pass --region, set AWS_REGION, or use a profile with a region",
        ));
    }
    Ok(config)
}

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The AWS account ID.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
}

/// Checks the credentials with one `sts:GetCallerIdentity` call.
///
/// # Errors
///
/// [`Error::Credentials`], one line with the fix, when they are missing or rejected.
pub async fn identity(config: &SdkConfig) -> Result<Identity> {
    let output = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| error("sts:GetCallerIdentity", e))?;
    Ok(Identity {
        account: output.account().unwrap_or_default().to_string(),
        arn: output.arn().unwrap_or_default().to_string(),
    })
}

/// An SDK error as an [`Error`] naming `operation` (`service:Operation`), described by
/// [`cirrus_core::aws::describe`]: missing or refused credentials become
/// [`Error::Credentials`], one line that says what to set; anything else is [`Error::Aws`].
pub fn error<E>(operation: &str, error: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (line, _) = cirrus_core::aws::describe(operation, error, &[]);
    if cirrus_core::aws::is_credentials_problem(&line) {
        return Error::Credentials(line);
    }
    let message = line
        .strip_prefix(operation)
        .and_then(|rest| rest.strip_prefix(": "))
        .unwrap_or(&line)
        .to_string();
    Error::Aws {
        operation: operation.to_string(),
        message,
    }
}

/// The service error code of an SDK error, if the service answered.
pub fn code<E, R>(error: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
}
