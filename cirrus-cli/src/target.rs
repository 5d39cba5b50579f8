//! Which Cirrus a command operates on: the local project (the default) or an AWS deployment.
//!
//! `--deployment NAME` (or `CIRRUS_DEPLOYMENT`) finds the deployment through SSM Parameter
//! Store, as cirrus-geo's CLI does (`/cirrus/deployments/NAME`), and the command then uses its
//! DynamoDB state table, SQS process queue, S3 payload bucket, SNS topics and Step Functions
//! state machines. `--local` forces the local project even when `CIRRUS_DEPLOYMENT` is set.
//! Region, credentials and endpoint come from the standard AWS environment.

use std::collections::BTreeMap;

/// `--deployment NAME | --local`, flattened into the commands that can target either.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TargetArgs {
    /// Operate on this AWS deployment (found through the SSM parameter
    /// /cirrus/deployments/NAME) instead of the local project.
    #[arg(long, global = true, env = "CIRRUS_DEPLOYMENT", value_name = "NAME")]
    pub deployment: Option<String>,
    /// Operate on the local project (the default; wins over CIRRUS_DEPLOYMENT).
    #[arg(long, global = true)]
    pub local: bool,
}

impl TargetArgs {
    /// The deployment asked for, unless `--local` was given.
    pub fn deployment(&self) -> Option<&str> {
        if self.local {
            None
        } else {
            self.deployment.as_deref()
        }
    }
}

/// A deployment found through SSM: its name and variables (`CIRRUS_STATE_DB`, …).
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The deployment's name.
    pub name: String,
    /// Its variables, by name.
    pub vars: BTreeMap<String, String>,
    /// The SDK configuration the lookup used.
    #[cfg(feature = "aws")]
    pub sdk: cirrus_deploy::aws::SdkConfig,
}

impl Deployment {
    /// Looks the deployment up in SSM.
    #[cfg(feature = "aws")]
    pub async fn find(name: &str) -> anyhow::Result<Deployment> {
        let sdk = cirrus_deploy::aws::sdk_config(None).await?;
        let vars = cirrus_deploy::deployment::lookup(&sdk, name).await?;
        Ok(Deployment {
            name: name.to_string(),
            vars,
            sdk,
        })
    }

    /// Looks the deployment up in SSM.
    #[cfg(not(feature = "aws"))]
    pub async fn find(name: &str) -> anyhow::Result<Deployment> {
        anyhow::bail!(
            "--deployment {name}: this cirrus was built without the `aws` feature, so it cannot reach a deployment"
        )
    }

    /// The variable `name`, or an error naming it and the deployment.
    pub fn var(&self, name: &str) -> anyhow::Result<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "deployment {}: its SSM parameters lack {name}",
                    self.name
                )
            })
    }

    /// The payload bucket as a URL: `s3://<CIRRUS_PAYLOAD_BUCKET>/<CIRRUS_PAYLOAD_ROOT_PREFIX>`.
    pub fn payload_bucket_url(&self) -> anyhow::Result<String> {
        let bucket = self.var("CIRRUS_PAYLOAD_BUCKET")?;
        let root = self
            .vars
            .get("CIRRUS_PAYLOAD_ROOT_PREFIX")
            .map_or("cirrus", String::as_str)
            .trim_matches('/');
        Ok(if root.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{root}")
        })
    }

    /// The state table and its timeline table.
    pub fn state_tables(&self) -> anyhow::Result<(String, Option<String>)> {
        Ok((
            self.var("CIRRUS_STATE_DB")?.to_string(),
            self.vars.get("CIRRUS_TIMELINE_DB").cloned(),
        ))
    }

    /// Opens the state DB.
    #[cfg(feature = "aws")]
    pub async fn state_store(
        &self,
    ) -> anyhow::Result<cirrus_core::state::dynamodb::DynamoStateStore> {
        let (table, timeline) = self.state_tables()?;
        Ok(cirrus_core::state::dynamodb::DynamoStateStore::connect(table, timeline).await?)
    }

    /// Opens the payload bucket.
    pub fn payload_bucket(&self) -> anyhow::Result<cirrus_core::store::PayloadBucket> {
        let url = self.payload_bucket_url()?;
        Ok(cirrus_core::store::PayloadBucket::open(&url)?)
    }

    /// The ARN of an execution of `workflow` named `name` (cirrus-geo's derivation from
    /// `CIRRUS_BASE_WORKFLOW_ARN`).
    pub fn execution_arn(&self, workflow: &str, name: &str) -> anyhow::Result<String> {
        let base = self.var("CIRRUS_BASE_WORKFLOW_ARN")?;
        Ok(format!(
            "{}{workflow}:{name}",
            base.replace(":stateMachine:", ":execution:")
        ))
    }
}
