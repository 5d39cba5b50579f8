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
    /// The variables, checked.
    #[cfg(feature = "aws")]
    pub env: cirrus_deploy::config::DeploymentEnv,
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
        let env = cirrus_deploy::config::DeploymentEnv::from_map(&vars)?;
        Ok(Deployment {
            name: name.to_string(),
            vars,
            env,
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
                anyhow::anyhow!("deployment {}: its SSM parameters lack {name}", self.name)
            })
    }

    /// The deployment's backends, as its Lambda functions see them: the state table, the
    /// process queue, the topics and the buckets.
    #[cfg(feature = "aws")]
    pub fn backends(&self) -> anyhow::Result<cirrus_deploy::lambda::Context> {
        Ok(cirrus_deploy::lambda::Context::new(
            &self.sdk,
            self.env.clone(),
            &[],
        )?)
    }

    /// The state table's name.
    pub fn state_table(&self) -> anyhow::Result<&str> {
        self.var("CIRRUS_STATE_DB")
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
