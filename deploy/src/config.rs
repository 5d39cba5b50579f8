//! The deployment environment: the `CIRRUS_*` variables every Lambda function and Batch job
//! of a deployment gets, and that the SSM parameters `/deployment/<name>/<VAR>` hold for the
//! CLI (cirrus-geo's names, so cirrus-geo's own CLI reads our deployments too).
//!
//! [`DeploymentEnv`] reads them from the process environment ([`DeploymentEnv::from_env`])
//! or from any map of names to values ([`DeploymentEnv::from_map`], e.g. the parameters read
//! from SSM), and writes them back ([`DeploymentEnv::to_map`]). A missing or empty required
//! variable is an [`Error::Config`] naming it.
//!
//! ```
//! use cirrus_deploy::config::DeploymentEnv;
//! use std::collections::BTreeMap;
//!
//! let vars: BTreeMap<String, String> = [
//!     ("CIRRUS_PREFIX", "demo-dev-"),
//!     ("CIRRUS_STATE_DB", "demo-dev-state"),
//!     ("CIRRUS_PAYLOAD_BUCKET", "demo-dev-payloads"),
//!     ("CIRRUS_PROCESS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/demo-dev-process"),
//!     ("CIRRUS_BASE_WORKFLOW_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:demo-dev-"),
//! ]
//! .into_iter()
//! .map(|(k, v)| (k.to_string(), v.to_string()))
//! .collect();
//! let env = DeploymentEnv::from_map(&vars)?;
//! assert_eq!(env.timeline_db, "demo-dev-state-timeline");
//! assert_eq!(env.payload_root_prefix, "cirrus");
//! assert_eq!(
//!     env.state_machine_arn("cog"),
//!     "arn:aws:states:us-east-1:123456789012:stateMachine:demo-dev-cog"
//! );
//! assert!(DeploymentEnv::from_map(&BTreeMap::new()).unwrap_err().to_string().contains("CIRRUS_PREFIX"));
//! # Ok::<(), cirrus_deploy::Error>(())
//! ```

use crate::{Error, Result};
use cirrus_core::state::dynamodb::DynamoStateStore;
use cirrus_core::store::DEFAULT_ROOT;
use std::collections::BTreeMap;

/// `CIRRUS_PREFIX`: the resource prefix, `<project>-<stage>-` (with the trailing dash).
pub const PREFIX: &str = "CIRRUS_PREFIX";
/// `CIRRUS_STATE_DB`: the DynamoDB state table.
pub const STATE_DB: &str = "CIRRUS_STATE_DB";
/// `CIRRUS_TIMELINE_DB`: the DynamoDB timeline table (ours; default `<state table>-timeline`).
pub const TIMELINE_DB: &str = "CIRRUS_TIMELINE_DB";
/// `CIRRUS_PAYLOAD_BUCKET`: the payload bucket.
pub const PAYLOAD_BUCKET: &str = "CIRRUS_PAYLOAD_BUCKET";
/// `CIRRUS_PAYLOAD_ROOT_PREFIX`: the root prefix inside the payload bucket (default `cirrus`).
pub const PAYLOAD_ROOT_PREFIX: &str = "CIRRUS_PAYLOAD_ROOT_PREFIX";
/// `CIRRUS_DATA_BUCKET`: where tasks write output items and assets.
pub const DATA_BUCKET: &str = "CIRRUS_DATA_BUCKET";
/// `CIRRUS_PROCESS_QUEUE_URL`: the process queue.
pub const PROCESS_QUEUE_URL: &str = "CIRRUS_PROCESS_QUEUE_URL";
/// `CIRRUS_PUBLISH_TOPIC_ARN`: the topic output items are published to.
pub const PUBLISH_TOPIC_ARN: &str = "CIRRUS_PUBLISH_TOPIC_ARN";
/// `CIRRUS_WORKFLOW_EVENT_TOPIC_ARN`: the topic workflow events go to.
pub const WORKFLOW_EVENT_TOPIC_ARN: &str = "CIRRUS_WORKFLOW_EVENT_TOPIC_ARN";
/// `CIRRUS_BASE_WORKFLOW_ARN`: `arn:aws:states:<region>:<account>:stateMachine:<prefix>-`.
pub const BASE_WORKFLOW_ARN: &str = "CIRRUS_BASE_WORKFLOW_ARN";
/// `CIRRUS_LOG_LEVEL`: the log filter of the Lambda functions (`info` by default).
pub const LOG_LEVEL: &str = "CIRRUS_LOG_LEVEL";

/// Every variable of a deployment's environment, required ones first.
pub const VARIABLES: [&str; 11] = [
    PREFIX,
    STATE_DB,
    PAYLOAD_BUCKET,
    PROCESS_QUEUE_URL,
    BASE_WORKFLOW_ARN,
    TIMELINE_DB,
    PAYLOAD_ROOT_PREFIX,
    DATA_BUCKET,
    PUBLISH_TOPIC_ARN,
    WORKFLOW_EVENT_TOPIC_ARN,
    LOG_LEVEL,
];

/// The variables without which no deployment can be operated (cirrus-geo's CLI requires the
/// same five).
pub const REQUIRED: [&str; 5] = [
    PREFIX,
    STATE_DB,
    PAYLOAD_BUCKET,
    PROCESS_QUEUE_URL,
    BASE_WORKFLOW_ARN,
];

/// A deployment's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentEnv {
    /// `CIRRUS_PREFIX`.
    pub prefix: String,
    /// `CIRRUS_STATE_DB`.
    pub state_db: String,
    /// `CIRRUS_TIMELINE_DB`, or `<state_db>-timeline`.
    pub timeline_db: String,
    /// `CIRRUS_PAYLOAD_BUCKET` (a bucket name, as cirrus-geo has it).
    pub payload_bucket: String,
    /// `CIRRUS_PAYLOAD_ROOT_PREFIX`, or `cirrus`.
    pub payload_root_prefix: String,
    /// `CIRRUS_DATA_BUCKET`.
    pub data_bucket: Option<String>,
    /// `CIRRUS_PROCESS_QUEUE_URL`.
    pub process_queue_url: String,
    /// `CIRRUS_PUBLISH_TOPIC_ARN`.
    pub publish_topic_arn: Option<String>,
    /// `CIRRUS_WORKFLOW_EVENT_TOPIC_ARN`.
    pub workflow_event_topic_arn: Option<String>,
    /// `CIRRUS_BASE_WORKFLOW_ARN`.
    pub base_workflow_arn: String,
    /// `CIRRUS_LOG_LEVEL`.
    pub log_level: Option<String>,
}

impl DeploymentEnv {
    /// The environment of this process.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first required variable that is missing or empty, or a
    /// variable that is not UTF-8 or is malformed.
    pub fn from_env() -> Result<DeploymentEnv> {
        let mut vars = BTreeMap::new();
        for name in VARIABLES {
            match std::env::var(name) {
                Ok(value) => {
                    vars.insert(name.to_string(), value);
                }
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(Error::config(name, "the value is not UTF-8"));
                }
            }
        }
        DeploymentEnv::from_map(&vars)
    }

    /// The environment in `vars` (variable name → value); other names are ignored.
    ///
    /// # Errors
    ///
    /// As [`DeploymentEnv::from_env`].
    pub fn from_map(vars: &BTreeMap<String, String>) -> Result<DeploymentEnv> {
        let optional = |name: &str| {
            vars.get(name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let required = |name: &str| {
            optional(name).ok_or_else(|| {
                Error::config(
                    name,
                    "missing: every Cirrus function needs it (set by `cirrus deploy`)",
                )
            })
        };
        let prefix = required(PREFIX)?;
        let state_db = required(STATE_DB)?;
        let payload_bucket = required(PAYLOAD_BUCKET)?;
        let process_queue_url = required(PROCESS_QUEUE_URL)?;
        let base_workflow_arn = required(BASE_WORKFLOW_ARN)?;
        if !base_workflow_arn.starts_with("arn:") || !base_workflow_arn.contains(":stateMachine:") {
            return Err(Error::config(
                BASE_WORKFLOW_ARN,
                format!(
                    "{base_workflow_arn:?} is not a state machine ARN prefix (arn:aws:states:<region>:<account>:stateMachine:<prefix>-)"
                ),
            ));
        }
        if payload_bucket.contains('/') {
            return Err(Error::config(
                PAYLOAD_BUCKET,
                format!("{payload_bucket:?} must be a bucket name, without s3:// or a path"),
            ));
        }
        Ok(DeploymentEnv {
            timeline_db: optional(TIMELINE_DB)
                .unwrap_or_else(|| DynamoStateStore::default_timeline_table(&state_db)),
            payload_root_prefix: optional(PAYLOAD_ROOT_PREFIX)
                .unwrap_or_else(|| DEFAULT_ROOT.to_string()),
            data_bucket: optional(DATA_BUCKET),
            publish_topic_arn: optional(PUBLISH_TOPIC_ARN),
            workflow_event_topic_arn: optional(WORKFLOW_EVENT_TOPIC_ARN),
            log_level: optional(LOG_LEVEL),
            prefix,
            state_db,
            payload_bucket,
            process_queue_url,
            base_workflow_arn,
        })
    }

    /// The variables, by name; unset optional ones are left out.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let pairs = [
            (PREFIX, Some(&self.prefix)),
            (STATE_DB, Some(&self.state_db)),
            (TIMELINE_DB, Some(&self.timeline_db)),
            (PAYLOAD_BUCKET, Some(&self.payload_bucket)),
            (PAYLOAD_ROOT_PREFIX, Some(&self.payload_root_prefix)),
            (DATA_BUCKET, self.data_bucket.as_ref()),
            (PROCESS_QUEUE_URL, Some(&self.process_queue_url)),
            (PUBLISH_TOPIC_ARN, self.publish_topic_arn.as_ref()),
            (
                WORKFLOW_EVENT_TOPIC_ARN,
                self.workflow_event_topic_arn.as_ref(),
            ),
            (BASE_WORKFLOW_ARN, Some(&self.base_workflow_arn)),
            (LOG_LEVEL, self.log_level.as_ref()),
        ];
        pairs
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name.to_string(), v.clone())))
            .collect()
    }

    /// The ARN of the state machine of `workflow`: `CIRRUS_BASE_WORKFLOW_ARN + workflow`.
    pub fn state_machine_arn(&self, workflow: &str) -> String {
        format!("{}{workflow}", self.base_workflow_arn)
    }

    /// The ARN of execution `name` of `workflow`'s state machine (cirrus-geo's
    /// `Deployment.exec_arn`).
    pub fn execution_arn(&self, workflow: &str, name: &str) -> String {
        let base = self
            .base_workflow_arn
            .replacen(":stateMachine:", ":execution:", 1);
        format!("{base}{workflow}:{name}")
    }

    /// The payload bucket's URL, `s3://<bucket>` (the root prefix is applied by
    /// [`PayloadBucket::with_root`](cirrus_core::store::PayloadBucket::with_root)).
    pub fn payload_bucket_url(&self) -> String {
        format!("s3://{}", self.payload_bucket)
    }

    /// The data bucket's URL, `s3://<bucket>`, when there is one.
    pub fn data_bucket_url(&self) -> Option<String> {
        self.data_bucket.as_ref().map(|b| format!("s3://{b}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> BTreeMap<String, String> {
        VARIABLES
            .iter()
            .map(|name| {
                let value = match *name {
                    BASE_WORKFLOW_ARN => "arn:aws:states:us-east-1:1:stateMachine:p-".to_string(),
                    other => format!("value-of-{other}"),
                };
                (name.to_string(), value)
            })
            .collect()
    }

    #[test]
    fn round_trips_through_a_map() {
        let vars = full();
        let env = DeploymentEnv::from_map(&vars).unwrap();
        assert_eq!(env.to_map(), vars);
    }

    #[test]
    fn each_missing_required_variable_is_named() {
        for name in REQUIRED {
            let mut vars = full();
            vars.insert(name.to_string(), "  ".to_string());
            let error = DeploymentEnv::from_map(&vars).unwrap_err().to_string();
            assert!(error.starts_with(name), "{error}");
        }
    }

    #[test]
    fn execution_arns_follow_cirrus_geo() {
        let env = DeploymentEnv::from_map(&full()).unwrap();
        assert_eq!(
            env.execution_arn("wf", "abc"),
            "arn:aws:states:us-east-1:1:execution:p-wf:abc"
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        let mut vars = full();
        vars.insert(BASE_WORKFLOW_ARN.into(), "p-".into());
        let error = DeploymentEnv::from_map(&vars).unwrap_err().to_string();
        assert!(error.contains(BASE_WORKFLOW_ARN), "{error}");
        let mut vars = full();
        vars.insert(PAYLOAD_BUCKET.into(), "s3://b/x".into());
        assert!(DeploymentEnv::from_map(&vars).is_err());
    }
}
