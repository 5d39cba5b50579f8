//! What the handlers work with: the deployment's environment and a client for each backend.

use crate::Result;
use crate::config::DeploymentEnv;
use aws_config::SdkConfig;
use cirrus_core::process::MessageSink;
use cirrus_core::process::sns::SnsSink;
use cirrus_core::queue::Queue;
use cirrus_core::queue::sqs::SqsQueue;
use cirrus_core::state::StateStore;
use cirrus_core::state::dynamodb::DynamoStateStore;
use cirrus_core::store::{ItemPublisher, PayloadBucket, Store};
use std::sync::Arc;

/// The backends of a deployment, as the handlers see them. Built once per Lambda instance
/// (no network call is made while building it) and shared by every invocation.
///
/// Every backend is a trait object, so tests may swap one; [`Context::new`] builds the AWS
/// ones.
#[derive(Clone)]
pub struct Context {
    /// The deployment's environment.
    pub env: DeploymentEnv,
    /// The state DB (`CIRRUS_STATE_DB`, `CIRRUS_TIMELINE_DB`).
    pub state: Arc<dyn StateStore>,
    /// The process queue (`CIRRUS_PROCESS_QUEUE_URL`), where chain successors go.
    pub queue: Arc<dyn Queue>,
    /// Where workflow events go (`CIRRUS_WORKFLOW_EVENT_TOPIC_ARN`), if anywhere.
    pub workflow_events: Option<Arc<dyn MessageSink>>,
    /// Where output items are published (`CIRRUS_PUBLISH_TOPIC_ARN`), if anywhere.
    pub publish: Option<Arc<dyn MessageSink>>,
    /// The payload bucket (`CIRRUS_PAYLOAD_BUCKET` below `CIRRUS_PAYLOAD_ROOT_PREFIX`).
    pub bucket: PayloadBucket,
    /// Where tasks write, and relative `path_template`s are resolved against: the data
    /// bucket (`CIRRUS_DATA_BUCKET`), else the payload bucket's root.
    pub data: Store,
    /// Step Functions.
    pub sfn: aws_sdk_sfn::Client,
    /// CloudWatch Logs (post-batch reads Batch job logs).
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("env", &self.env)
            .field("bucket", &self.bucket.url())
            .field("data", &self.data.url())
            .finish_non_exhaustive()
    }
}

impl Context {
    /// The AWS backends of `env`, through `sdk`. `store_options` are `object_store` S3
    /// options for the buckets (see [`Store::open_with`]); with none, the buckets are
    /// configured from the environment like the SDK (see [`s3_options`]).
    ///
    /// # Errors
    ///
    /// When a bucket name does not make a valid store URL.
    pub fn new(
        sdk: &SdkConfig,
        env: DeploymentEnv,
        store_options: &[(String, String)],
    ) -> Result<Context> {
        let options = if store_options.is_empty() {
            s3_options(sdk)
        } else {
            store_options.to_vec()
        };
        let root = Store::open_with(&env.payload_bucket_url(), options.iter().cloned())?;
        let bucket = PayloadBucket::with_root(&root, &env.payload_root_prefix)?;
        let data = match env.data_bucket_url() {
            Some(url) => root.open_like(&url)?,
            None => bucket.store().clone(),
        };
        let state = DynamoStateStore::new(
            aws_sdk_dynamodb_client(sdk),
            env.state_db.clone(),
            env.timeline_db.clone(),
        );
        let sink = |arn: &Option<String>| {
            arn.as_ref()
                .map(|arn| Arc::new(SnsSink::from_config(sdk, arn.clone())) as Arc<dyn MessageSink>)
        };
        Ok(Context {
            state: Arc::new(state),
            queue: Arc::new(SqsQueue::from_config(sdk, env.process_queue_url.clone())),
            workflow_events: sink(&env.workflow_event_topic_arn),
            publish: sink(&env.publish_topic_arn),
            bucket,
            data,
            sfn: aws_sdk_sfn::Client::new(sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
            env,
        })
    }

    /// The publisher of output items, on [`Context::data`].
    pub fn publisher(&self) -> ItemPublisher {
        ItemPublisher::new(self.data.clone())
    }
}

fn aws_sdk_dynamodb_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

/// `object_store` S3 options matching `sdk`: its region, and its endpoint when one is set
/// (`AWS_ENDPOINT_URL`), addressed path-style, over plain HTTP when the endpoint is `http://`.
/// Credentials are read from the environment by `object_store` itself (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, as Lambda and Batch set them).
pub fn s3_options(sdk: &SdkConfig) -> Vec<(String, String)> {
    let mut options = Vec::new();
    if let Some(region) = sdk.region() {
        options.push(("aws_region".to_string(), region.to_string()));
    }
    if let Some(endpoint) = sdk.endpoint_url() {
        options.push(("aws_endpoint".to_string(), endpoint.to_string()));
        options.push((
            "aws_virtual_hosted_style_request".to_string(),
            "false".to_string(),
        ));
        if endpoint.starts_with("http://") {
            options.push(("aws_allow_http".to_string(), "true".to_string()));
        }
    }
    options
}
