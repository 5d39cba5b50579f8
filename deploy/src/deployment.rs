//! Finding a deployment by name through SSM Parameter Store, as cirrus-geo's CLI does.
//!
//! The stack writes `/cirrus/deployments/<name>` =
//! `{"type": "parameter_store", "value": "/deployment/<name>/"}`, and one parameter per
//! variable under that prefix (`CIRRUS_STATE_DB`, `CIRRUS_PROCESS_QUEUE_URL`, …). [`lookup`]
//! reads them back, so `--deployment NAME` works for any deployment cirrus-geo's CLI can see,
//! and cirrus-geo's CLI sees ours.

use crate::aws;
use crate::{Error, Result};
use aws_config::SdkConfig;
use std::collections::BTreeMap;

/// Where deployment pointers live.
pub const POINTER_PREFIX: &str = "/cirrus/deployments/";

/// The variables a deployment must define.
pub const REQUIRED: [&str; 5] = [
    "CIRRUS_PAYLOAD_BUCKET",
    "CIRRUS_BASE_WORKFLOW_ARN",
    "CIRRUS_PROCESS_QUEUE_URL",
    "CIRRUS_STATE_DB",
    "CIRRUS_PREFIX",
];

/// The pointer parameter's value.
#[derive(Debug, serde::Deserialize)]
struct Pointer {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

/// The variables of deployment `name`, by variable name.
///
/// # Errors
///
/// [`Error::Config`] when there is no such deployment, its pointer is not a
/// `parameter_store` pointer, or a required variable is missing; [`Error::Credentials`] or
/// [`Error::Aws`] when SSM cannot be read.
pub async fn lookup(config: &SdkConfig, name: &str) -> Result<BTreeMap<String, String>> {
    let what = format!("deployment {name:?}");
    if name.is_empty() || name.contains('/') {
        return Err(Error::config(
            what,
            "a deployment name is not empty and has no '/'",
        ));
    }
    let ssm = aws_sdk_ssm::Client::new(config);
    let pointer_name = format!("{POINTER_PREFIX}{name}");
    let pointer = match ssm.get_parameter().name(&pointer_name).send().await {
        Ok(output) => output
            .parameter()
            .and_then(|p| p.value())
            .unwrap_or_default()
            .to_string(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            let known = list(config).await.unwrap_or_default();
            let known = if known.is_empty() {
                "there are none in this account and region".to_string()
            } else {
                format!("known: {}", known.join(", "))
            };
            return Err(Error::config(
                what,
                format!("not found: no SSM parameter {pointer_name} ({known})"),
            ));
        }
        Err(e) => return Err(aws::error("ssm:GetParameter", e)),
    };
    let pointer: Pointer = serde_json::from_str(&pointer).map_err(|e| {
        Error::config(
            format!("SSM parameter {pointer_name}"),
            format!("expected {{\"type\": \"parameter_store\", \"value\": \"/deployment/{name}/\"}}: {e}"),
        )
    })?;
    if pointer.kind != "parameter_store" {
        return Err(Error::config(
            format!("SSM parameter {pointer_name}"),
            format!(
                "type {:?} is not supported (only parameter_store)",
                pointer.kind
            ),
        ));
    }
    let prefix = if pointer.value.ends_with('/') {
        pointer.value.clone()
    } else {
        format!("{}/", pointer.value)
    };
    let mut vars = BTreeMap::new();
    let mut token = None;
    loop {
        let output = ssm
            .get_parameters_by_path()
            .path(&prefix)
            .recursive(true)
            .with_decryption(true)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws::error("ssm:GetParametersByPath", e))?;
        for parameter in output.parameters() {
            if let (Some(full), Some(value)) = (parameter.name(), parameter.value()) {
                let var = full.strip_prefix(&prefix).unwrap_or(full);
                vars.insert(var.to_string(), value.to_string());
            }
        }
        match output.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|var| !vars.contains_key(*var))
        .collect();
    if !missing.is_empty() {
        return Err(Error::config(
            what,
            format!("SSM parameters under {prefix} lack {}", missing.join(", ")),
        ));
    }
    Ok(vars)
}

/// The names of the deployments in this account and region.
///
/// # Errors
///
/// When SSM cannot be read.
pub async fn list(config: &SdkConfig) -> Result<Vec<String>> {
    let ssm = aws_sdk_ssm::Client::new(config);
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let output = ssm
            .get_parameters_by_path()
            .path(POINTER_PREFIX)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws::error("ssm:GetParametersByPath", e))?;
        names.extend(
            output
                .parameters()
                .iter()
                .filter_map(|p| p.name()?.strip_prefix(POINTER_PREFIX).map(str::to_string)),
        );
        match output.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    names.sort();
    Ok(names)
}
