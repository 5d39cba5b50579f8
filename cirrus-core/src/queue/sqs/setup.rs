//! Creating an SQS process queue and its dead-letter queue with cirrus-geo's settings.

use super::{BACKEND, SqsQueue, sqs_error};
use crate::{Error, Result};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use std::time::Duration;

/// The settings [`SqsQueue::create`] gives a queue; the defaults are those of cirrus-geo's
/// process queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsQueueSettings {
    /// The queue's default visibility timeout (180 s).
    pub visibility_timeout: Duration,
    /// Receives after which SQS moves a message to the dead-letter queue (5).
    pub max_receives: u32,
    /// How long the dead-letter queue keeps a message (14 days, SQS's longest).
    pub dead_letter_retention: Duration,
}

impl Default for SqsQueueSettings {
    fn default() -> SqsQueueSettings {
        SqsQueueSettings {
            visibility_timeout: super::super::DEFAULT_VISIBILITY_TIMEOUT,
            max_receives: super::super::DEFAULT_MAX_RECEIVES,
            dead_letter_retention: Duration::from_secs(14 * 24 * 3600),
        }
    }
}

impl SqsQueue {
    /// The name of the dead-letter queue [`create`](Self::create) makes for queue `name`:
    /// `{name}-dlq`, as cirrus-geo names it.
    pub fn dead_letter_queue_name(name: &str) -> String {
        format!("{name}-dlq")
    }

    /// Creates the queue `name` and its dead-letter queue `{name}-dlq` with `settings`
    /// (`RedrivePolicy` on the queue), or finds them when they exist with the same
    /// settings. SQS refuses to change an existing queue's attributes this way.
    pub async fn create(
        client: Client,
        name: &str,
        settings: &SqsQueueSettings,
    ) -> Result<SqsQueue> {
        check_name(name)?;
        if settings.max_receives == 0 {
            return Err(Error::invalid_argument(
                "max_receives",
                "must be at least 1",
            ));
        }
        let dlq_name = SqsQueue::dead_letter_queue_name(name);
        let dlq_url = create_queue(
            &client,
            &dlq_name,
            &[(
                QueueAttributeName::MessageRetentionPeriod,
                settings.dead_letter_retention.as_secs().to_string(),
            )],
        )
        .await?;
        let arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| sqs_error(&format!("GetQueueAttributes on queue {dlq_url}"), e))?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| Error::Queue {
                backend: BACKEND,
                message: format!("queue {dlq_url} has no QueueArn attribute"),
                source: None,
            })?;
        let policy = serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": settings.max_receives,
        });
        let url = create_queue(
            &client,
            name,
            &[
                (
                    QueueAttributeName::VisibilityTimeout,
                    settings.visibility_timeout.as_secs().to_string(),
                ),
                (QueueAttributeName::RedrivePolicy, policy.to_string()),
            ],
        )
        .await?;
        tracing::debug!(queue = %url, dead_letter_queue = %dlq_url, "created the queue");
        Ok(SqsQueue::new(client, url).with_dead_letter_queue(dlq_url))
    }
}

async fn create_queue(
    client: &Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> Result<String> {
    let mut request = client.create_queue().queue_name(name);
    for (attribute, value) in attributes {
        request = request.attributes(attribute.clone(), value);
    }
    let output = request
        .send()
        .await
        .map_err(|e| sqs_error(&format!("CreateQueue {name}"), e))?;
    output
        .queue_url()
        .map(str::to_string)
        .ok_or_else(|| Error::Queue {
            backend: BACKEND,
            message: format!("CreateQueue {name}: SQS returned no queue URL"),
            source: None,
        })
}

/// A standard queue name: 1 to 76 characters (80 with `-dlq`), letters, digits, `-`, `_`.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 76
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "queue_name",
            format!(
                "{name:?} is not a valid SQS queue name: 1 to 76 letters, digits, '-' or '_' (the dead-letter queue adds \"-dlq\")"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn queue_names_are_checked() {
        assert!(check_name("demo-dev_process").is_ok());
        assert!(check_name(&"a".repeat(76)).is_ok());
        for bad in ["", "a.b", "a b", &"a".repeat(77)] {
            let e = check_name(bad).unwrap_err();
            assert!(e.to_string().starts_with("queue_name:"), "{e}");
        }
    }
}
