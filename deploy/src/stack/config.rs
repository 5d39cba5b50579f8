//! `[deploy]` in `cirrus.toml`: how a project is deployed to AWS.
//!
//! ```toml
//! [deploy]
//! name = "hsi"                 # the project part of the deployment name; default: the folder name
//! region = "us-west-2"         # default: the AWS environment (AWS_REGION, the profile)
//! architecture = "arm64"       # or "x86_64": the Lambda functions' architecture
//! log_level = "info"           # CIRRUS_LOG_LEVEL of every function and job
//! log_retention_days = 30      # the Lambda log groups
//! payload_root = "cirrus"      # CIRRUS_PAYLOAD_ROOT_PREFIX
//! tmp_expiry_days = 10         # objects under <payload_root>/tmp/ expire after this
//! lambda_memory = 1024         # MB, for task functions without their own
//! lambda_timeout = 300         # seconds, for task functions without their own
//! process_concurrency = 16     # most concurrent `process` invocations (SQS scaling)
//! retain_data = true           # keep the data bucket and the state tables on teardown
//! read_buckets = ["raw-scenes"] # buckets the tasks may read their input from
//! # payload_bucket = "…", data_bucket = "…": other names than PREFIX-payloads / PREFIX-data
//!
//! [deploy.tasks.copy-assets]
//! lambda = { memory = 512, timeout = 120 }
//!
//! [deploy.tasks.aviris-activate]
//! batch = { image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/cirrus:1.0", vcpus = 4, memory = 16384, subnets = ["subnet-0abc"], security_groups = ["sg-0abc"] }
//! env = { GDAL_CACHEMAX = "512" }
//! ```
//!
//! Parsing ([`DeployConfig::from_deserializer`]) refuses unknown keys and wrong types, naming
//! the field (`deploy.tasks.x.batch.vcpus: …`); [`DeployConfig::check`] then checks the values
//! against what AWS accepts.

use crate::{Error, Result};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// The Lambda memory sizes AWS accepts, in MB.
const LAMBDA_MEMORY: std::ops::RangeInclusive<u32> = 128..=10_240;

/// The longest a Lambda function may run, in seconds.
pub const LAMBDA_MAX_TIMEOUT: u32 = 900;

/// The retention periods CloudWatch Logs accepts, in days.
const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// `[deploy]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// The project part of the deployment name (`<name>-<stage>`); default: the project
    /// folder's name.
    pub name: Option<String>,
    /// The AWS region to deploy to; default: the AWS environment.
    pub region: Option<String>,
    /// The Lambda functions' architecture.
    #[serde(default)]
    pub architecture: Architecture,
    /// `CIRRUS_LOG_LEVEL`: `error`, `warn`, `info`, `debug` or `trace`. Default `info`.
    pub log_level: Option<String>,
    /// Days the Lambda log groups keep their events. Default 30.
    pub log_retention_days: Option<u32>,
    /// `CIRRUS_PAYLOAD_ROOT_PREFIX`. Default `cirrus`.
    pub payload_root: Option<String>,
    /// Days before objects under `<payload_root>/tmp/` expire. Default 10.
    pub tmp_expiry_days: Option<u32>,
    /// Memory of a task function without its own, in MB. Default 1024.
    pub lambda_memory: Option<u32>,
    /// Timeout of a task function without its own, in seconds. Default 300.
    pub lambda_timeout: Option<u32>,
    /// The most concurrent `process` invocations the SQS event source starts. Default 16.
    pub process_concurrency: Option<u32>,
    /// Keep the data bucket and the state tables when the stack is deleted. Default true.
    pub retain_data: Option<bool>,
    /// Buckets the tasks may read (their input assets), beyond the payload and data buckets.
    #[serde(default)]
    pub read_buckets: Vec<String>,
    /// The payload bucket's name, instead of `PREFIX-payloads`.
    pub payload_bucket: Option<String>,
    /// The data bucket's name, instead of `PREFIX-data`.
    pub data_bucket: Option<String>,
    /// `[deploy.tasks.NAME]`: where each task runs.
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskDeploy>,
}

/// A Lambda architecture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Architecture {
    /// Graviton: cheaper per GB-second.
    #[default]
    #[serde(rename = "arm64")]
    Arm64,
    /// Intel/AMD.
    #[serde(rename = "x86_64")]
    X86_64,
}

impl Architecture {
    /// The name CloudFormation and Lambda use.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::Arm64 => "arm64",
            Architecture::X86_64 => "x86_64",
        }
    }
}

/// `[deploy.tasks.NAME]`: exactly one of `lambda` and `batch`, and optional `env`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDeploy {
    /// Run the task as a Lambda function of the one code package.
    pub lambda: Option<LambdaSettings>,
    /// Run the task as a Batch job in a container.
    pub batch: Option<BatchSettings>,
    /// Environment variables of the function or job, on top of the deployment's.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// `lambda = { memory, timeout }`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSettings {
    /// MB; default `[deploy] lambda_memory`.
    pub memory: Option<u32>,
    /// Seconds; default `[deploy] lambda_timeout`.
    pub timeout: Option<u32>,
}

/// `batch = { image, vcpus, memory, job_queue | subnets + security_groups, … }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSettings {
    /// The container image; it runs `cirrus task run NAME URL --output URL_OUT`.
    pub image: String,
    /// vCPUs of the job (Fargate: 0.25, 0.5, 1, 2, 4, 8 or 16).
    pub vcpus: f64,
    /// Memory of the job, in MiB.
    pub memory: u32,
    /// An existing job queue (ARN) to submit to.
    pub job_queue: Option<String>,
    /// The platform of the compute environment behind `job_queue`: `EC2` (default) or
    /// `FARGATE`. With `subnets`, the stack makes a Fargate environment and this must be
    /// unset or `FARGATE`.
    pub platform: Option<Platform>,
    /// Subnets of a Fargate compute environment the stack creates.
    #[serde(default)]
    pub subnets: Vec<String>,
    /// Security groups of that compute environment.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Give Fargate tasks a public IP (needed in a public subnet without a NAT gateway to
    /// pull the image). Default false.
    #[serde(default)]
    pub assign_public_ip: bool,
    /// The most vCPUs the created compute environment runs at once. Default 256.
    pub max_vcpus: Option<u32>,
    /// Attempts of the job (Batch's own retry on a host failure). Default 1.
    pub attempts: Option<u32>,
}

/// A Batch platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Platform {
    /// EC2 instances (managed or not).
    #[serde(rename = "EC2")]
    Ec2,
    /// Fargate.
    #[serde(rename = "FARGATE")]
    Fargate,
}

/// Where a task runs, once its settings are resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskRuntime {
    /// A Lambda function with this memory (MB) and timeout (s).
    Lambda {
        /// MB.
        memory: u32,
        /// Seconds.
        timeout: u32,
    },
    /// A Batch job.
    Batch(BatchSettings),
}

impl DeployConfig {
    /// Parses `[deploy]` from any serde source (a `toml::Value`, JSON, …). The error names the
    /// field at fault: `deploy.tasks.x.batch: missing field `image``.
    pub fn from_deserializer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DeployConfig> {
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let what = if path == "." || path.is_empty() {
                "deploy".to_string()
            } else {
                format!("deploy.{path}")
            };
            // The first line: some sources (toml) add a line naming the key, which `what`
            // already does.
            let reason = e.into_inner().to_string();
            let reason = reason.lines().next().unwrap_or_default().trim().to_string();
            Error::config(what, reason)
        })
    }

    /// `log_level`, default `info`.
    pub fn log_level(&self) -> &str {
        self.log_level.as_deref().unwrap_or("info")
    }

    /// `log_retention_days`, default 30.
    pub fn log_retention_days(&self) -> u32 {
        self.log_retention_days.unwrap_or(30)
    }

    /// `payload_root`, default `cirrus`.
    pub fn payload_root(&self) -> &str {
        self.payload_root.as_deref().unwrap_or("cirrus")
    }

    /// `tmp_expiry_days`, default 10.
    pub fn tmp_expiry_days(&self) -> u32 {
        self.tmp_expiry_days.unwrap_or(10)
    }

    /// `process_concurrency`, default 16.
    pub fn process_concurrency(&self) -> u32 {
        self.process_concurrency.unwrap_or(16)
    }

    /// `retain_data`, default true.
    pub fn retain_data(&self) -> bool {
        self.retain_data.unwrap_or(true)
    }

    /// Where `task` runs when `[deploy.tasks.<task>]` marks it; `None` when it is not marked.
    pub fn runtime(&self, task: &str) -> Option<TaskRuntime> {
        let entry = self.tasks.get(task)?;
        if let Some(batch) = &entry.batch {
            return Some(TaskRuntime::Batch(batch.clone()));
        }
        let lambda = entry.lambda.as_ref()?;
        Some(self.lambda_runtime(Some(lambda)))
    }

    /// A Lambda runtime with `settings`, else the `[deploy]` defaults (1024 MB, 300 s).
    pub fn lambda_runtime(&self, settings: Option<&LambdaSettings>) -> TaskRuntime {
        TaskRuntime::Lambda {
            memory: settings
                .and_then(|s| s.memory)
                .or(self.lambda_memory)
                .unwrap_or(1024),
            timeout: settings
                .and_then(|s| s.timeout)
                .or(self.lambda_timeout)
                .unwrap_or(300),
        }
    }

    /// Checks the values against what AWS accepts; the error names the field.
    pub fn check(&self) -> Result<()> {
        if let Some(level) = &self.log_level
            && !["error", "warn", "info", "debug", "trace"].contains(&level.as_str())
        {
            return Err(Error::config(
                "deploy.log_level",
                format!("{level:?} is not one of error, warn, info, debug, trace"),
            ));
        }
        if let Some(days) = self.log_retention_days
            && !RETENTION_DAYS.contains(&days)
        {
            return Err(Error::config(
                "deploy.log_retention_days",
                format!("{days} is not a retention CloudWatch Logs accepts ({RETENTION_DAYS:?})"),
            ));
        }
        if let Some(root) = &self.payload_root {
            let ok = !root.is_empty()
                && !root.starts_with('/')
                && !root.ends_with('/')
                && root
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
            if !ok {
                return Err(Error::config(
                    "deploy.payload_root",
                    format!(
                        "{root:?} is not a key prefix such as \"cirrus\" (letters, digits, - _ . /, no leading or trailing /)"
                    ),
                ));
            }
        }
        if self.tmp_expiry_days == Some(0) {
            return Err(Error::config(
                "deploy.tmp_expiry_days",
                "must be at least 1",
            ));
        }
        check_memory("deploy.lambda_memory", self.lambda_memory)?;
        check_timeout("deploy.lambda_timeout", self.lambda_timeout)?;
        if let Some(n) = self.process_concurrency
            && !(2..=1000).contains(&n)
        {
            return Err(Error::config(
                "deploy.process_concurrency",
                format!("{n} is outside 2..=1000, the SQS event source's maximum concurrency"),
            ));
        }
        for (field, bucket) in [
            ("deploy.payload_bucket", &self.payload_bucket),
            ("deploy.data_bucket", &self.data_bucket),
        ] {
            if let Some(bucket) = bucket {
                check_bucket(field, bucket)?;
            }
        }
        for bucket in &self.read_buckets {
            check_bucket("deploy.read_buckets", bucket)?;
        }
        for (name, task) in &self.tasks {
            task.check(&format!("deploy.tasks.{name}"))?;
        }
        Ok(())
    }
}

impl TaskDeploy {
    fn check(&self, field: &str) -> Result<()> {
        match (&self.lambda, &self.batch) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    field,
                    "has both lambda and batch; a task runs in one place",
                ));
            }
            (None, None) => {
                return Err(Error::config(
                    field,
                    "needs lambda = { … } or batch = { image = …, vcpus = …, memory = … }",
                ));
            }
            (Some(lambda), None) => {
                check_memory(&format!("{field}.lambda.memory"), lambda.memory)?;
                check_timeout(&format!("{field}.lambda.timeout"), lambda.timeout)?;
            }
            (None, Some(batch)) => batch.check(&format!("{field}.batch"))?,
        }
        for key in self.env.keys() {
            let ok = key
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok || key.starts_with("AWS_") {
                return Err(Error::config(
                    format!("{field}.env"),
                    format!(
                        "{key:?} is not a variable name Lambda and Batch accept (letters, digits, _; not AWS_…)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl BatchSettings {
    /// Whether the stack creates the compute environment and queue (subnets given).
    pub fn creates_queue(&self) -> bool {
        self.job_queue.is_none()
    }

    /// The platform of the job definition.
    pub fn platform(&self) -> Platform {
        match (self.creates_queue(), self.platform) {
            (true, _) => Platform::Fargate,
            (false, platform) => platform.unwrap_or(Platform::Ec2),
        }
    }

    fn check(&self, field: &str) -> Result<()> {
        if self.image.trim().is_empty() {
            return Err(Error::config(
                format!("{field}.image"),
                "is empty; give the container image (an ECR URI such as 123456789012.dkr.ecr.us-west-2.amazonaws.com/cirrus:1.0)",
            ));
        }
        match (&self.job_queue, self.subnets.is_empty()) {
            (Some(_), false) => {
                return Err(Error::config(
                    field,
                    "has both job_queue and subnets: submit to an existing queue, or give subnets and security_groups for a new Fargate queue",
                ));
            }
            (None, true) => {
                return Err(Error::config(
                    field,
                    "needs job_queue (an existing queue's ARN), or subnets and security_groups (the stack creates a Fargate queue)",
                ));
            }
            (Some(queue), true) => {
                if !queue.starts_with("arn:") || !queue.contains(":job-queue/") {
                    return Err(Error::config(
                        format!("{field}.job_queue"),
                        format!(
                            "{queue:?} is not a job queue ARN (arn:aws:batch:REGION:ACCOUNT:job-queue/NAME)"
                        ),
                    ));
                }
                if !self.security_groups.is_empty() || self.max_vcpus.is_some() {
                    return Err(Error::config(
                        field,
                        "security_groups and max_vcpus configure a queue the stack creates; with job_queue they do nothing",
                    ));
                }
            }
            (None, false) => {
                for subnet in &self.subnets {
                    check_id(&format!("{field}.subnets"), "subnet", subnet)?;
                }
                for group in &self.security_groups {
                    check_id(&format!("{field}.security_groups"), "sg", group)?;
                }
                if self.security_groups.is_empty() {
                    return Err(Error::config(
                        format!("{field}.security_groups"),
                        "is empty; a Fargate compute environment needs at least one security group",
                    ));
                }
                if self.platform == Some(Platform::Ec2) {
                    return Err(Error::config(
                        format!("{field}.platform"),
                        "the queue the stack creates is Fargate; set platform = \"FARGATE\" or leave it out",
                    ));
                }
            }
        }
        if self.platform() == Platform::Fargate {
            check_fargate(field, self.vcpus, self.memory)?;
        } else if !(self.vcpus > 0.0 && self.vcpus.fract() == 0.0) {
            return Err(Error::config(
                format!("{field}.vcpus"),
                format!("{} is not a whole number of vCPUs (EC2 jobs)", self.vcpus),
            ));
        } else if self.memory < 4 {
            return Err(Error::config(
                format!("{field}.memory"),
                "must be at least 4 MiB",
            ));
        }
        if let Some(n) = self.max_vcpus
            && n == 0
        {
            return Err(Error::config(
                format!("{field}.max_vcpus"),
                "must be at least 1",
            ));
        }
        if let Some(n) = self.attempts
            && !(1..=10).contains(&n)
        {
            return Err(Error::config(
                format!("{field}.attempts"),
                format!("{n} is outside 1..=10"),
            ));
        }
        Ok(())
    }
}

/// An EC2 ID: `<kind>-` and 8 or 17 hexadecimal digits.
fn check_id(field: &str, kind: &str, id: &str) -> Result<()> {
    let digits = id
        .strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix('-'))
        .unwrap_or_default();
    if matches!(digits.len(), 8 | 17) && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::config(
            field,
            format!("{id:?} is not an ID such as {kind}-0123456789abcdef0"),
        ))
    }
}

/// Fargate's vCPU / memory combinations.
fn check_fargate(field: &str, vcpus: f64, memory: u32) -> Result<()> {
    // (vCPUs, lowest MiB, highest MiB, step MiB)
    const TABLE: [(f64, u32, u32, u32); 7] = [
        (0.25, 512, 2048, 512),
        (0.5, 1024, 4096, 1024),
        (1.0, 2048, 8192, 1024),
        (2.0, 4096, 16384, 1024),
        (4.0, 8192, 30720, 1024),
        (8.0, 16384, 61440, 4096),
        (16.0, 32768, 122880, 8192),
    ];
    let Some(&(_, low, high, step)) = TABLE.iter().find(|row| row.0 == vcpus) else {
        return Err(Error::config(
            format!("{field}.vcpus"),
            format!("{vcpus} is not a Fargate size (0.25, 0.5, 1, 2, 4, 8 or 16)"),
        ));
    };
    if memory < low || memory > high || !(memory - low).is_multiple_of(step) {
        return Err(Error::config(
            format!("{field}.memory"),
            format!(
                "{memory} MiB does not go with {vcpus} vCPU on Fargate: {low} to {high} in steps of {step}"
            ),
        ));
    }
    Ok(())
}

fn check_memory(field: &str, memory: Option<u32>) -> Result<()> {
    match memory {
        Some(mb) if !LAMBDA_MEMORY.contains(&mb) => Err(Error::config(
            field,
            format!("{mb} MB is outside Lambda's 128..=10240"),
        )),
        _ => Ok(()),
    }
}

fn check_timeout(field: &str, timeout: Option<u32>) -> Result<()> {
    match timeout {
        Some(s) if !(1..=LAMBDA_MAX_TIMEOUT).contains(&s) => Err(Error::config(
            field,
            format!(
                "{s} s is outside Lambda's 1..={LAMBDA_MAX_TIMEOUT}; run longer tasks on Batch"
            ),
        )),
        _ => Ok(()),
    }
}

/// S3's bucket naming rules (the common ones).
pub(crate) fn check_bucket(field: &str, bucket: &str) -> Result<()> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && bucket
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && bucket
            .bytes()
            .next_back()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && !bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            field,
            format!(
                "{bucket:?} is not an S3 bucket name (3 to 63 lowercase letters, digits, - and .)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<DeployConfig> {
        DeployConfig::from_deserializer(value)
    }

    fn error(value: serde_json::Value) -> String {
        match parse(value).and_then(|c| c.check().map(|()| c)) {
            Ok(config) => panic!("accepted: {config:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults() {
        let config = parse(json!({})).unwrap();
        config.check().unwrap();
        assert_eq!(config.architecture, Architecture::Arm64);
        assert_eq!(config.log_level(), "info");
        assert_eq!(config.payload_root(), "cirrus");
        assert_eq!(config.tmp_expiry_days(), 10);
        assert!(config.retain_data());
        assert_eq!(config.runtime("x"), None);
        assert_eq!(
            config.lambda_runtime(None),
            TaskRuntime::Lambda {
                memory: 1024,
                timeout: 300
            }
        );
    }

    #[test]
    fn task_marks() {
        let config = parse(json!({
            "architecture": "x86_64",
            "lambda_memory": 2048,
            "tasks": {
                "a": {"lambda": {"timeout": 60}},
                "b": {"batch": {"image": "img", "vcpus": 0.5, "memory": 2048,
                                 "subnets": ["subnet-0123456789abcdef0"], "security_groups": ["sg-01234567"]}},
                "c": {"batch": {"image": "img", "vcpus": 2, "memory": 8000,
                                 "job_queue": "arn:aws:batch:us-west-2:1:job-queue/q"}}
            }
        }))
        .unwrap();
        config.check().unwrap();
        assert_eq!(config.architecture.as_str(), "x86_64");
        assert_eq!(
            config.runtime("a"),
            Some(TaskRuntime::Lambda {
                memory: 2048,
                timeout: 60
            })
        );
        let Some(TaskRuntime::Batch(b)) = config.runtime("b") else {
            panic!("b is batch")
        };
        assert!(b.creates_queue());
        assert_eq!(b.platform(), Platform::Fargate);
        let Some(TaskRuntime::Batch(c)) = config.runtime("c") else {
            panic!("c is batch")
        };
        assert_eq!(c.platform(), Platform::Ec2);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (json!({"nmae": "x"}), "deploy.nmae: unknown field `nmae`"),
            (
                json!({"architecture": "arm"}),
                "deploy.architecture: unknown variant `arm`",
            ),
            (
                json!({"tasks": {"a": {"lambda": {"memory": "big"}}}}),
                "deploy.tasks.a.lambda.memory: invalid type: string \"big\"",
            ),
            (
                json!({"tasks": {"a": {"batch": {"vcpus": 1, "memory": 2048}}}}),
                "deploy.tasks.a.batch: missing field `image`",
            ),
            (
                json!({"tasks": {"a": {}}}),
                "deploy.tasks.a: needs lambda = { … } or batch",
            ),
            (
                json!({"tasks": {"a": {"lambda": {}, "batch": {"image": "i", "vcpus": 1, "memory": 2048, "job_queue": "arn:aws:batch:r:1:job-queue/q"}}}}),
                "deploy.tasks.a: has both lambda and batch",
            ),
            (
                json!({"tasks": {"a": {"lambda": {"timeout": 3600}}}}),
                "deploy.tasks.a.lambda.timeout: 3600 s is outside Lambda's 1..=900",
            ),
            (
                json!({"tasks": {"a": {"batch": {"image": "i", "vcpus": 1, "memory": 2048}}}}),
                "deploy.tasks.a.batch: needs job_queue",
            ),
            (
                json!({"tasks": {"a": {"batch": {"image": "i", "vcpus": 3, "memory": 2048, "subnets": ["subnet-01234567"], "security_groups": ["sg-01234567"]}}}}),
                "deploy.tasks.a.batch.vcpus: 3 is not a Fargate size",
            ),
            (
                json!({"tasks": {"a": {"batch": {"image": "i", "vcpus": 1, "memory": 1000, "subnets": ["subnet-01234567"], "security_groups": ["sg-01234567"]}}}}),
                "deploy.tasks.a.batch.memory: 1000 MiB does not go with 1 vCPU on Fargate",
            ),
            (
                json!({"tasks": {"a": {"batch": {"image": "i", "vcpus": 1, "memory": 2048, "subnets": ["subnet-01234567"]}}}}),
                "deploy.tasks.a.batch.security_groups: is empty",
            ),
            (
                json!({"tasks": {"a": {"batch": {"image": "i", "vcpus": 1, "memory": 2048, "job_queue": "q"}}}}),
                "deploy.tasks.a.batch.job_queue: \"q\" is not a job queue ARN",
            ),
            (
                json!({"tasks": {"a": {"lambda": {}, "env": {"AWS_REGION": "x"}}}}),
                "deploy.tasks.a.env: \"AWS_REGION\" is not a variable name",
            ),
            (
                json!({"tasks": {"a": {"batch": {"image": "i", "vcpus": 1, "memory": 2048, "subnets": ["subnet-1"], "security_groups": ["sg-01234567"]}}}}),
                "deploy.tasks.a.batch.subnets: \"subnet-1\" is not an ID such as subnet-0123456789abcdef0",
            ),
            (json!({"log_level": "loud"}), "deploy.log_level: \"loud\""),
            (
                json!({"log_retention_days": 31}),
                "deploy.log_retention_days: 31 is not a retention",
            ),
            (
                json!({"payload_root": "/cirrus"}),
                "deploy.payload_root: \"/cirrus\" is not a key prefix",
            ),
            (
                json!({"data_bucket": "My_Bucket"}),
                "deploy.data_bucket: \"My_Bucket\" is not an S3 bucket name",
            ),
            (
                json!({"process_concurrency": 1}),
                "deploy.process_concurrency: 1 is outside 2..=1000",
            ),
        ];
        for (value, expected) in cases {
            let message = error(value.clone());
            assert!(
                message.starts_with(expected),
                "{value}: {message:?} does not start with {expected:?}"
            );
        }
    }
}
