//! The SNS sink against moto: a topic with an SQS subscription, raw delivery off (the SNS
//! envelope) and on (the bare body, attributes as SQS message attributes); published
//! items and workflow events arrive whole, with their attributes.

use cirrus_core::process::{
    Attribute, Attributes, DataType, Message, MessageSink, SnsSink, WorkflowEvent,
    WorkflowEventType,
};
use cirrus_core::state::{StateKey, Timestamp};
use cirrus_core::testing::MotoServer;
use serde_json::{Value, json};

/// A topic and a queue subscribed to it, with raw delivery `raw`.
struct Subscribed {
    sink: SnsSink,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

async fn subscribed(raw: bool) -> Subscribed {
    let moto = MotoServer::shared();
    let name = format!("sink-{}", uuid::Uuid::new_v4().simple());
    let sns = moto.sns_client().await;
    let sqs = moto.sqs_client().await;
    let topic_arn = sns
        .create_topic()
        .name(&name)
        .send()
        .await
        .expect("create topic")
        .topic_arn()
        .expect("topic arn")
        .to_string();
    let queue_url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_string();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .expect("queue arn")
        .clone();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", raw.to_string())
        .send()
        .await
        .expect("subscribe");
    Subscribed {
        sink: SnsSink::new(sns, topic_arn),
        sqs,
        queue_url,
    }
}

impl Subscribed {
    /// Every message delivered to the queue, read back as the sink's messages.
    async fn delivered(&self, raw: bool) -> Vec<Message> {
        let mut messages = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .expect("receive");
            if output.messages().is_empty() {
                return messages;
            }
            for m in output.messages() {
                let body = m.body().expect("body");
                messages.push(if raw {
                    from_raw(body, m.message_attributes())
                } else {
                    from_envelope(body)
                });
            }
        }
    }
}

/// A raw delivery: the body as published, the attributes as SQS message attributes.
fn from_raw(
    body: &str,
    attributes: Option<
        &std::collections::HashMap<String, aws_sdk_sqs::types::MessageAttributeValue>,
    >,
) -> Message {
    let attributes: Attributes = attributes
        .into_iter()
        .flatten()
        .map(|(name, value)| {
            let data_type = match value.data_type() {
                "String" => DataType::String,
                "Number" => DataType::Number,
                other => panic!("unexpected data type {other}"),
            };
            let value = value.string_value().expect("string value").to_string();
            (name.clone(), Attribute { data_type, value })
        })
        .collect();
    Message {
        body: serde_json::from_str(body).expect("a JSON body"),
        attributes,
        origin: None,
    }
}

/// An SNS envelope: `Message` is the body's text, `MessageAttributes` the attributes as
/// `{"Type", "Value"}`.
fn from_envelope(body: &str) -> Message {
    let envelope: Value = serde_json::from_str(body).expect("an SNS envelope");
    assert_eq!(envelope["Type"], "Notification");
    let text = envelope["Message"].as_str().expect("Message");
    let attributes: Attributes = envelope
        .get("MessageAttributes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, value)| {
            let data_type = match value["Type"].as_str() {
                Some("String") => DataType::String,
                Some("Number") => DataType::Number,
                other => panic!("unexpected type {other:?}"),
            };
            let value = value["Value"].as_str().expect("Value").to_string();
            (name.clone(), Attribute { data_type, value })
        })
        .collect();
    Message {
        body: serde_json::from_str(text).expect("a JSON message"),
        attributes,
        origin: None,
    }
}

/// Published items, a workflow event and 25 more messages (three requests of 10).
fn sample() -> Vec<Message> {
    let key = StateKey::parse("sentinel-2-l2a/workflow-cog-archive/S2B_1").unwrap();
    let event = WorkflowEvent::new(
        WorkflowEventType::Failed,
        &key,
        Timestamp::from_micros(1_735_689_600_123_456),
    )
    .with_execution("exec-1")
    .with_error("TaskFailed: boom ✗ \"quoted\"");
    let item = Message::item(json!({
        "type": "Feature", "id": "S2B_1", "collection": "sentinel-2-l2a",
        "bbox": [-70.5, 40.25, -69.0, 41.0],
        "properties": {
            "datetime": "2020-11-03T15:22:26Z", "eo:cloud_cover": 12.5,
            "created": "2025-01-01T00:00:00Z", "updated": "2025-02-01T00:00:00Z"
        }
    }));
    let mut messages = vec![event.to_message(), item];
    messages.extend((0..25).map(|i| Message {
        body: json!({"i": i, "text": "ünïcode"}),
        attributes: Attributes::from([("n".to_string(), Attribute::number(&i.into()))]),
        origin: None,
    }));
    messages
}

fn sorted(mut messages: Vec<Message>) -> Vec<Message> {
    messages.sort_by_key(|m| m.body.to_string());
    messages
}

async fn round_trip(raw: bool) {
    let topic = subscribed(raw).await;
    let sent = sample();
    assert!(sent[0].attributes.contains_key("error"));
    assert_eq!(sent[1].attributes.len(), 8, "the item's attributes");
    topic.sink.publish(&[]).await.expect("empty batch");
    topic.sink.publish(&sent[..2]).await.expect("publish");
    topic.sink.publish(&sent[2..]).await.expect("publish");
    topic.sink.flush().await.expect("flush");
    let got = topic.delivered(raw).await;
    assert_eq!(got.len(), sent.len());
    assert_eq!(
        sorted(got),
        sorted(sent),
        "bodies and attributes arrive whole"
    );
}

#[tokio::test]
async fn messages_arrive_in_the_sns_envelope() {
    round_trip(false).await;
}

#[tokio::test]
async fn messages_arrive_raw() {
    round_trip(true).await;
}

#[tokio::test]
async fn bad_messages_are_refused_before_anything_is_sent() {
    let topic = subscribed(true).await;
    let ok = Message {
        body: json!({"ok": true}),
        attributes: Attributes::new(),
        origin: None,
    };
    let big = Message {
        body: json!({"big": "x".repeat(300 * 1024)}),
        ..ok.clone()
    };
    let error = topic
        .sink
        .publish(&[ok.clone(), big])
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("message 1 of the batch is"), "{error}");
    assert!(error.contains("262144-byte SNS limit"), "{error}");
    let crowded = Message {
        attributes: (0..11)
            .map(|i| (format!("a{i}"), Attribute::string("v")))
            .collect(),
        ..ok.clone()
    };
    let error = topic
        .sink
        .publish(&[crowded])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("message 0 of the batch has 11 attributes"),
        "{error}"
    );
    assert!(topic.delivered(true).await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_missing_topic_is_a_clear_error() {
    let moto = MotoServer::shared();
    let sink = SnsSink::new(
        moto.sns_client().await,
        "arn:aws:sns:us-east-1:123456789012:no-such-topic",
    );
    let message = Message {
        body: json!({}),
        attributes: Attributes::new(),
        origin: None,
    };
    let error = sink.publish_one(&message).await.unwrap_err().to_string();
    assert!(
        error.starts_with(
            "message sink (sns arn:aws:sns:us-east-1:123456789012:no-such-topic): PublishBatch"
        ),
        "{error}"
    );
    assert!(error.contains("the topic does not exist"), "{error}");
}
