//! [`SnsSink`] (feature `aws`): messages published to an SNS topic, as cirrus-geo's
//! `update-state` publishes items (`${prefix}-publish`) and workflow events
//! (`${prefix}-workflow-event`).
//!
//! - One SNS message per [`Message`]: the body is the message's JSON text, and each
//!   [`Attribute`](super::Attribute) becomes a message attribute of SNS data type `String` or
//!   `Number`, so subscribers can filter on them. An attribute with an empty value is left
//!   out (SNS refuses empty values); [`Message::origin`] is not carried.
//! - `PublishBatch`, 10 messages and at most 256 KiB per request. A message over 256 KiB or
//!   with more than [`MAX_ATTRIBUTES`] attributes (the SNS → SQS raw delivery limit) is
//!   refused before anything is sent, naming its index in the batch; so is an entry SNS
//!   refuses (earlier requests have then been published: the error says how many).
//! - [`flush`](MessageSink::flush) does nothing: a message is kept once `PublishBatch` has
//!   returned.
//!
//! ```no_run
//! use cirrus_core::process::{Message, MessageSink, SnsSink};
//! use serde_json::json;
//!
//! # async fn demo() -> cirrus_core::Result<()> {
//! let sink = SnsSink::connect("arn:aws:sns:us-east-1:123456789012:demo-dev-publish").await?;
//! sink.publish(&[Message::item(json!({"id": "S2B_1", "collection": "sentinel-2-l2a"}))]).await?;
//! # Ok(())
//! # }
//! ```

use super::attributes::{DataType, MAX_ATTRIBUTES};
use super::sink::{Message, MessageSink};
use crate::aws::{batches, describe};
use crate::{Error, Result};
use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::config::http::HttpResponse;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

/// The most messages of one `PublishBatch`.
const MAX_ENTRIES: usize = 10;

/// The most bytes of one SNS message, and of one `PublishBatch` (bodies and attributes).
pub const MAX_MESSAGE_BYTES: usize = 262_144;

/// SNS's error codes for a topic that does not exist.
const NO_TOPIC: &[(&str, &str)] = &[
    (
        "NotFound",
        "the topic does not exist (deploy it with `cirrus deploy`)",
    ),
    (
        "NotFoundException",
        "the topic does not exist (deploy it with `cirrus deploy`)",
    ),
];

/// A [`MessageSink`] publishing to an SNS topic. Cheap to clone (the SDK client is shared).
#[derive(Debug, Clone)]
pub struct SnsSink {
    client: Client,
    topic_arn: String,
}

impl SnsSink {
    /// A sink publishing to `topic_arn` through `client`. Nothing is sent yet.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> SnsSink {
        SnsSink {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// A sink publishing to `topic_arn` with an SDK configuration.
    pub fn from_config(config: &aws_config::SdkConfig, topic_arn: impl Into<String>) -> SnsSink {
        SnsSink::new(Client::new(config), topic_arn)
    }

    /// A sink publishing to `topic_arn` with the SDK's default configuration: region,
    /// credentials and endpoint from the environment (`AWS_REGION`, `AWS_PROFILE`,
    /// `AWS_ENDPOINT_URL`, …). A missing topic shows on the first publish.
    pub async fn connect(topic_arn: impl Into<String>) -> Result<SnsSink> {
        let topic_arn = topic_arn.into();
        if !topic_arn.starts_with("arn:") {
            return Err(Error::invalid_argument(
                "topic_arn",
                format!(
                    "{topic_arn:?} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)"
                ),
            ));
        }
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        if config.region().is_none() {
            return Err(Error::Sink {
                sink: format!("sns {topic_arn}"),
                message: "no AWS region: set AWS_REGION (or a profile with a region)".to_string(),
                source: None,
            });
        }
        Ok(SnsSink::from_config(&config, topic_arn))
    }

    /// The topic's ARN.
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn error(&self, message: String) -> Error {
        Error::Sink {
            sink: format!("sns {}", self.topic_arn),
            message,
            source: None,
        }
    }

    fn sdk_error<E>(&self, error: SdkError<E, HttpResponse>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (message, source) = describe("PublishBatch", error, NO_TOPIC);
        Error::Sink {
            sink: format!("sns {}", self.topic_arn),
            message,
            source,
        }
    }

    /// The `PublishBatch` entry of message `i`, and its size as SNS counts it.
    fn entry(&self, i: usize, message: &Message) -> Result<(PublishBatchRequestEntry, usize)> {
        let body = serde_json::to_string(&message.body)?;
        let mut size = body.len();
        let mut builder = PublishBatchRequestEntry::builder()
            .id(i.to_string())
            .message(body);
        let attributes: Vec<_> = message
            .attributes
            .iter()
            .filter(|(name, attribute)| {
                let keep = !attribute.value.is_empty();
                if !keep {
                    tracing::debug!(topic = %self.topic_arn, attribute = %name, "left out an empty attribute");
                }
                keep
            })
            .collect();
        if attributes.len() > MAX_ATTRIBUTES {
            return Err(self.error(format!(
                "message {i} of the batch has {} attributes, over the limit of {MAX_ATTRIBUTES}",
                attributes.len()
            )));
        }
        for (name, attribute) in attributes {
            let data_type = match attribute.data_type {
                DataType::String => "String",
                DataType::Number => "Number",
            };
            size += name.len() + data_type.len() + attribute.value.len();
            let value = MessageAttributeValue::builder()
                .data_type(data_type)
                .string_value(&attribute.value)
                .build()
                .map_err(|e| self.error(format!("message {i}: attribute {name}: {e}")))?;
            builder = builder.message_attributes(name, value);
        }
        if size > MAX_MESSAGE_BYTES {
            return Err(self.error(format!(
                "message {i} of the batch is {size} bytes with its attributes, over the {MAX_MESSAGE_BYTES}-byte SNS limit"
            )));
        }
        let entry = builder
            .build()
            .map_err(|e| self.error(format!("message {i}: {e}")))?;
        Ok((entry, size))
    }
}

#[async_trait]
impl MessageSink for SnsSink {
    async fn publish(&self, messages: &[Message]) -> Result<()> {
        let mut entries = Vec::with_capacity(messages.len());
        let mut sizes = Vec::with_capacity(messages.len());
        for (i, message) in messages.iter().enumerate() {
            let (entry, size) = self.entry(i, message)?;
            entries.push(Some(entry));
            sizes.push(size);
        }
        let mut published = 0;
        for range in batches(&sizes, MAX_ENTRIES, MAX_MESSAGE_BYTES) {
            let batch: Vec<PublishBatchRequestEntry> =
                range.clone().filter_map(|i| entries[i].take()).collect();
            let output = self
                .client
                .publish_batch()
                .topic_arn(&self.topic_arn)
                .set_publish_batch_request_entries(Some(batch))
                .send()
                .await
                .map_err(|e| self.sdk_error(e))?;
            if let Some(failed) = output
                .failed()
                .iter()
                .min_by_key(|f| f.id().parse::<usize>().unwrap_or(usize::MAX))
            {
                let ok = output.successful().len();
                return Err(self.error(format!(
                    "SNS refused message {} of the batch ({}: {}); {} of the {} messages were published",
                    failed.id(),
                    failed.code(),
                    failed.message().unwrap_or("no message"),
                    published + ok,
                    messages.len()
                )));
            }
            published += range.len();
        }
        if published > 0 {
            tracing::debug!(topic = %self.topic_arn, messages = published, "published messages");
        }
        Ok(())
    }

    /// Nothing to do: SNS has kept each message once `PublishBatch` returned.
    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}
