//! Applying a rendered stack: `cirrus deploy` and `cirrus deploy --delete`.
//!
//! [`Deployer::deploy`] uploads the Lambda package to the artifacts bucket (content-addressed,
//! so an unchanged package is not uploaded again), then creates the CloudFormation stack, or
//! updates it, and waits, passing each new stack event to a callback (the CLI prints them on
//! stderr). A second deploy of the same project changes nothing: when the stack's template and
//! parameters are already the ones asked for, no update is sent at all.
//!
//! Some emulators (moto) create only the resource types they implement and skip the others
//! without failing the stack. After the stack is complete, the deployer compares the
//! template's resources with the stack's, and creates the missing ones it knows through their
//! service APIs (see [`fill_in`](crate::fill_in)); any it does not know are reported. On AWS
//! nothing is missing, and this step does nothing.

use crate::aws::{self, Identity};
use crate::{Error, Result};
use aws_config::SdkConfig;
use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::types::{Capability, Parameter, Stack, StackStatus};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The template parameters that carry the Lambda package's location.
pub const CODE_BUCKET_PARAMETER: &str = "CodeBucket";
/// See [`CODE_BUCKET_PARAMETER`].
pub const CODE_KEY_PARAMETER: &str = "CodeKey";

/// The largest template CloudFormation takes inline (`TemplateBody`); a larger one is
/// uploaded to the artifacts bucket and passed as `TemplateURL`.
const TEMPLATE_BODY_LIMIT: usize = 51_200;

/// How often a waiting deploy polls the stack.
const POLL: Duration = Duration::from_secs(2);

/// What to deploy.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The stack name (the deployment's resource prefix).
    pub stack: String,
    /// The CloudFormation template (`stack::render`).
    pub template: Value,
    /// The Lambda package (a zip holding `bootstrap`), when the template takes one.
    pub code: Option<PathBuf>,
    /// The bucket the package is uploaded to; default `cirrus-artifacts-<account>-<region>`,
    /// created when missing.
    pub artifacts_bucket: Option<String>,
    /// The longest to wait for the stack.
    pub timeout: Duration,
    /// The stack's state machines (`stack::Stack::state_machines`), checked after the stack.
    pub state_machines: Vec<crate::stack::StateMachine>,
}

/// What a deploy did to the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The stack did not exist and was created.
    Created,
    /// The stack was updated.
    Updated,
    /// The stack already had this template and these parameters.
    Unchanged,
}

impl Applied {
    /// `created`, `updated` or `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Applied::Created => "created",
            Applied::Updated => "updated",
            Applied::Unchanged => "unchanged",
        }
    }
}

/// The result of [`Deployer::deploy`].
#[derive(Debug, Clone)]
pub struct Deployed {
    /// What happened to the stack.
    pub applied: Applied,
    /// The stack's outputs.
    pub outputs: BTreeMap<String, String>,
    /// `s3://bucket/key` of the Lambda package, when there is one.
    pub code: Option<String>,
    /// Resources the stack skipped that were created through their service APIs
    /// (`LogicalId (Type)`).
    pub filled_in: Vec<String>,
    /// Resources the stack skipped that could not be created (`LogicalId (Type)`).
    pub missing: Vec<String>,
}

/// One stack event, as the CLI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    /// The resource's logical ID (the stack's own name for stack-level events).
    pub logical_id: String,
    /// The resource type (`AWS::DynamoDB::Table`).
    pub resource_type: String,
    /// The status (`CREATE_COMPLETE`).
    pub status: String,
    /// Why, for failures.
    pub reason: Option<String>,
}

/// Deploys and deletes stacks.
#[derive(Debug, Clone)]
pub struct Deployer {
    config: SdkConfig,
    cfn: Cfn,
    identity: Identity,
}

impl Deployer {
    /// A deployer with the SDK configuration of the environment (`region` overrides it), after
    /// checking the credentials.
    ///
    /// # Errors
    ///
    /// [`Error::Credentials`] (one line) when the credentials are missing or rejected;
    /// [`Error::Config`] when there is no region.
    pub async fn connect(region: Option<&str>) -> Result<Deployer> {
        let config = aws::sdk_config(region).await?;
        Deployer::new(config).await
    }

    /// A deployer on `config`, after checking the credentials.
    ///
    /// # Errors
    ///
    /// As [`Deployer::connect`].
    pub async fn new(config: SdkConfig) -> Result<Deployer> {
        let identity = aws::identity(&config).await?;
        Ok(Deployer {
            cfn: Cfn::new(&config),
            config,
            identity,
        })
    }

    /// The SDK configuration.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// Whose credentials these are.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The region.
    pub fn region(&self) -> &str {
        self.config.region().map_or("", |r| r.as_ref())
    }

    /// Creates or updates the stack of `plan` and waits for it; see the module docs.
    ///
    /// # Errors
    ///
    /// When the package cannot be read or uploaded, when CloudFormation refuses the template,
    /// or when the stack ends in a failed or rolled-back state ([`Error::Stack`], with the
    /// failed resources' reasons), or is still in progress after `plan.timeout`.
    pub async fn deploy(
        &self,
        plan: &Plan,
        on_event: &mut (dyn FnMut(&StackEvent) + Send),
    ) -> Result<Deployed> {
        let bucket = self.artifacts_bucket(plan);
        let (parameters, code) = self.parameters(plan, &bucket).await?;
        let body = serde_json::to_string(&plan.template).map_err(|e| {
            Error::config(format!("template of stack {}", plan.stack), e.to_string())
        })?;
        let (template_body, template_url) = if body.len() > TEMPLATE_BODY_LIMIT {
            let key = crate::package::upload_bytes(
                &self.config,
                &bucket,
                &plan.stack,
                "template",
                "json",
                body.as_bytes(),
            )
            .await?;
            (
                None,
                Some(format!("https://{bucket}.s3.amazonaws.com/{key}")),
            )
        } else {
            (Some(body), None)
        };
        let existing = self.describe(&plan.stack).await?;
        let started = self.latest_event(&plan.stack, existing.is_some()).await?;
        let applied = match existing {
            None => {
                self.cfn
                    .create_stack()
                    .stack_name(&plan.stack)
                    .set_template_body(template_body.clone())
                    .set_template_url(template_url.clone())
                    .set_parameters(Some(parameters))
                    .capabilities(Capability::CapabilityNamedIam)
                    .capabilities(Capability::CapabilityIam)
                    .send()
                    .await
                    .map_err(|e| aws::error("cloudformation:CreateStack", e))?;
                Applied::Created
            }
            Some(current) => {
                if let Some(status) = current.stack_status() {
                    check_updatable(&plan.stack, status)?;
                }
                if self.is_current(plan, &current, &parameters).await? {
                    Applied::Unchanged
                } else {
                    match self
                        .cfn
                        .update_stack()
                        .stack_name(&plan.stack)
                        .set_template_body(template_body.clone())
                        .set_template_url(template_url.clone())
                        .set_parameters(Some(parameters))
                        .capabilities(Capability::CapabilityNamedIam)
                        .capabilities(Capability::CapabilityIam)
                        .send()
                        .await
                    {
                        Ok(_) => Applied::Updated,
                        Err(e) if no_updates(&e) => Applied::Unchanged,
                        Err(e) => return Err(aws::error("cloudformation:UpdateStack", e)),
                    }
                }
            }
        };
        if applied != Applied::Unchanged {
            self.wait(&plan.stack, started, plan.timeout, on_event, Goal::Ready)
                .await?;
        }
        let (mut filled_in, missing) =
            crate::fill_in::missing_resources(self, &plan.stack, &plan.template).await?;
        let outputs = self.outputs(&plan.stack).await?;
        filled_in
            .extend(crate::fill_in::state_machines(self, &plan.state_machines, &outputs).await?);
        Ok(Deployed {
            applied,
            outputs,
            code,
            filled_in,
            missing,
        })
    }

    /// Deletes the stack and waits until it is gone. `Ok(false)` when there was no stack.
    ///
    /// # Errors
    ///
    /// When CloudFormation refuses, or the deletion fails (a bucket that is not empty, …)
    /// or takes longer than `timeout`.
    pub async fn delete(
        &self,
        stack: &str,
        timeout: Duration,
        on_event: &mut (dyn FnMut(&StackEvent) + Send),
    ) -> Result<bool> {
        if self.describe(stack).await?.is_none() {
            return Ok(false);
        }
        let started = self.latest_event(stack, true).await?;
        self.cfn
            .delete_stack()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| aws::error("cloudformation:DeleteStack", e))?;
        self.wait(stack, started, timeout, on_event, Goal::Gone)
            .await?;
        Ok(true)
    }

    /// The outputs of `stack`, by key.
    ///
    /// # Errors
    ///
    /// When the stack does not exist or the call fails.
    pub async fn outputs(&self, stack: &str) -> Result<BTreeMap<String, String>> {
        let output = self
            .cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| aws::error("cloudformation:DescribeStacks", e))?;
        Ok(output
            .stacks()
            .first()
            .map(|s| {
                s.outputs()
                    .iter()
                    .filter_map(|o| {
                        Some((o.output_key()?.to_string(), o.output_value()?.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The logical ID → (type, physical ID) of the stack's resources.
    ///
    /// # Errors
    ///
    /// When the call fails.
    pub async fn resources(&self, stack: &str) -> Result<BTreeMap<String, (String, String)>> {
        let output = self
            .cfn
            .describe_stack_resources()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| aws::error("cloudformation:DescribeStackResources", e))?;
        Ok(output
            .stack_resources()
            .iter()
            .filter_map(|r| {
                Some((
                    r.logical_resource_id()?.to_string(),
                    (
                        r.resource_type()?.to_string(),
                        r.physical_resource_id().unwrap_or_default().to_string(),
                    ),
                ))
            })
            .collect())
    }

    /// The stack's description (status, parameters, …), `None` when there is no such stack
    /// (or it was deleted).
    async fn describe(&self, stack: &str) -> Result<Option<Stack>> {
        match self.cfn.describe_stacks().stack_name(stack).send().await {
            Ok(output) => Ok(output.stacks().first().cloned().filter(|s| {
                s.stack_status()
                    .is_some_and(|status| *status != StackStatus::DeleteComplete)
            })),
            Err(e)
                if aws::code(&e) == Some("ValidationError")
                    && e.as_service_error()
                        .and_then(|s| s.meta().message())
                        .is_some_and(|m| m.contains("does not exist")) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws::error("cloudformation:DescribeStacks", e)),
        }
    }

    /// The artifacts bucket of `plan`: its own, else `cirrus-artifacts-<account>-<region>`.
    fn artifacts_bucket(&self, plan: &Plan) -> String {
        match &plan.artifacts_bucket {
            Some(bucket) => bucket.clone(),
            None => format!(
                "cirrus-artifacts-{}-{}",
                self.identity.account,
                self.region()
            ),
        }
    }

    /// The template parameters for the package, uploading it when needed.
    async fn parameters(
        &self,
        plan: &Plan,
        bucket: &str,
    ) -> Result<(Vec<Parameter>, Option<String>)> {
        let declared = plan.template.get("Parameters").and_then(Value::as_object);
        let takes_code = declared.is_some_and(|p| {
            p.contains_key(CODE_BUCKET_PARAMETER) && p.contains_key(CODE_KEY_PARAMETER)
        });
        if !takes_code {
            return Ok((Vec::new(), None));
        }
        let Some(zip) = &plan.code else {
            return Err(Error::config(
                "Lambda package",
                format!(
                    "stack {} has Lambda functions: build the package with --package, or pass one with --code ZIP",
                    plan.stack
                ),
            ));
        };
        let bytes = std::fs::read(zip).map_err(|e| Error::io(zip, e))?;
        let key = crate::package::upload_bytes(
            &self.config,
            bucket,
            &plan.stack,
            crate::package::BOOTSTRAP,
            "zip",
            &bytes,
        )
        .await?;
        let parameters = vec![
            parameter(CODE_BUCKET_PARAMETER, bucket),
            parameter(CODE_KEY_PARAMETER, &key),
        ];
        Ok((parameters, Some(format!("s3://{bucket}/{key}"))))
    }

    /// Whether the stack (`current`, its description) already has this template and these
    /// parameters.
    async fn is_current(
        &self,
        plan: &Plan,
        current: &Stack,
        parameters: &[Parameter],
    ) -> Result<bool> {
        let template = self
            .cfn
            .get_template()
            .stack_name(&plan.stack)
            .send()
            .await
            .map_err(|e| aws::error("cloudformation:GetTemplate", e))?;
        let deployed: Option<Value> = template
            .template_body()
            .and_then(|body| serde_json::from_str(body).ok());
        if deployed.as_ref() != Some(&plan.template) {
            return Ok(false);
        }
        let have: BTreeMap<&str, &str> = current
            .parameters()
            .iter()
            .filter_map(|p| Some((p.parameter_key()?, p.parameter_value()?)))
            .collect();
        let want: BTreeMap<&str, &str> = parameters
            .iter()
            .filter_map(|p| Some((p.parameter_key()?, p.parameter_value()?)))
            .collect();
        Ok(want.iter().all(|(k, v)| have.get(k) == Some(v)))
    }

    /// The newest event ID of the stack, so [`Deployer::wait`] shows only newer ones.
    async fn latest_event(&self, stack: &str, exists: bool) -> Result<Option<String>> {
        if !exists {
            return Ok(None);
        }
        let output = self
            .cfn
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| aws::error("cloudformation:DescribeStackEvents", e))?;
        Ok(output
            .stack_events()
            .first()
            .and_then(|e| e.event_id())
            .map(str::to_string))
    }

    /// Polls until the stack reaches `goal`, passing new events to `on_event`, oldest first.
    async fn wait(
        &self,
        stack: &str,
        after: Option<String>,
        timeout: Duration,
        on_event: &mut (dyn FnMut(&StackEvent) + Send),
        goal: Goal,
    ) -> Result<()> {
        let start = Instant::now();
        let mut seen: HashSet<String> = HashSet::new();
        let mut failures: Vec<String> = Vec::new();
        loop {
            let status = self
                .describe(stack)
                .await?
                .and_then(|s| s.stack_status().cloned());
            for event in self.events_since(stack, after.as_deref()).await? {
                let (id, event) = event;
                if seen.insert(id) {
                    if event.status.ends_with("_FAILED")
                        && let Some(reason) = &event.reason
                    {
                        failures.push(format!("{}: {reason}", event.logical_id));
                    }
                    on_event(&event);
                }
            }
            match (goal, status) {
                (Goal::Gone, None) => return Ok(()),
                (Goal::Ready, None) => {
                    return Err(Error::Stack {
                        stack: stack.to_string(),
                        reason: failed_reason("the stack disappeared", &failures),
                    });
                }
                (_, Some(status)) => {
                    let text = status.as_str();
                    let done_ok = match goal {
                        Goal::Ready => {
                            matches!(
                                status,
                                StackStatus::CreateComplete | StackStatus::UpdateComplete
                            )
                        }
                        Goal::Gone => false,
                    };
                    if done_ok {
                        return Ok(());
                    }
                    if !text.ends_with("_IN_PROGRESS") {
                        return Err(Error::Stack {
                            stack: stack.to_string(),
                            reason: failed_reason(text, &failures),
                        });
                    }
                }
            }
            if start.elapsed() > timeout {
                return Err(Error::Stack {
                    stack: stack.to_string(),
                    reason: format!(
                        "still in progress after {} s; it goes on in CloudFormation (check it with `aws cloudformation describe-stacks --stack-name {stack}`)",
                        timeout.as_secs()
                    ),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The stack's events newer than `after`, oldest first, with their IDs.
    async fn events_since(
        &self,
        stack: &str,
        after: Option<&str>,
    ) -> Result<Vec<(String, StackEvent)>> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        'pages: loop {
            let output = match self
                .cfn
                .describe_stack_events()
                .stack_name(stack)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(output) => output,
                // A deleted stack has no events to show any more.
                Err(e) if aws::code(&e) == Some("ValidationError") => break,
                Err(e) => return Err(aws::error("cloudformation:DescribeStackEvents", e)),
            };
            for event in output.stack_events() {
                let id = event.event_id().unwrap_or_default().to_string();
                if after == Some(id.as_str()) {
                    break 'pages;
                }
                events.push((
                    id,
                    StackEvent {
                        logical_id: event.logical_resource_id().unwrap_or_default().to_string(),
                        resource_type: event.resource_type().unwrap_or_default().to_string(),
                        status: event
                            .resource_status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        reason: event.resource_status_reason().map(str::to_string),
                    },
                ));
            }
            match output.next_token() {
                Some(next) => token = Some(next.to_string()),
                None => break,
            }
        }
        events.reverse();
        Ok(events)
    }
}

/// What [`Deployer::wait`] waits for.
#[derive(Debug, Clone, Copy)]
enum Goal {
    /// CREATE_COMPLETE or UPDATE_COMPLETE.
    Ready,
    /// No stack any more.
    Gone,
}

/// A stack that cannot be updated as it is says what to do.
fn check_updatable(stack: &str, status: &StackStatus) -> Result<()> {
    let text = status.as_str();
    if text.ends_with("_IN_PROGRESS") {
        return Err(Error::Stack {
            stack: stack.to_string(),
            reason: format!("it is {text}; wait for it to finish, then deploy again"),
        });
    }
    if matches!(
        status,
        StackStatus::RollbackComplete | StackStatus::RollbackFailed | StackStatus::CreateFailed
    ) {
        return Err(Error::Stack {
            stack: stack.to_string(),
            reason: format!(
                "it is {text} (its creation failed) and cannot be updated: remove it with `cirrus deploy --delete`, then deploy again"
            ),
        });
    }
    Ok(())
}

/// Whether an UpdateStack error is CloudFormation's "No updates are to be performed".
fn no_updates<E, R>(error: &aws_sdk_cloudformation::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(|e| e.message())
        .is_some_and(|m| m.contains("No updates are to be performed"))
}

fn failed_reason(status: &str, failures: &[String]) -> String {
    if failures.is_empty() {
        format!("ended {status}")
    } else {
        format!("ended {status}: {}", failures.join("; "))
    }
}

fn parameter(key: &str, value: &str) -> Parameter {
    Parameter::builder()
        .parameter_key(key)
        .parameter_value(value)
        .build()
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
