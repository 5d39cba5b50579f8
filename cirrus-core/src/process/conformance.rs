//! The test suite every [`MessageSink`] must pass.
//!
//! [`run`] publishes to a sink and checks, through `read_back` (which returns every message
//! the sink has kept, oldest first), that nothing is lost, reordered or altered: batches,
//! single messages, an empty batch, attributes of every data type, and non-ASCII text.

use super::attributes::Attribute;
use super::event::{WorkflowEvent, WorkflowEventType};
use super::sink::{Message, MessageSink};
use crate::Result;
use crate::state::{StateKey, Timestamp};
use serde_json::json;

/// Runs the suite on an empty `sink`. Panics (this is a test helper) on the first failure,
/// naming what differed.
pub async fn run<S, F, Fut>(sink: &S, read_back: F) -> Result<()>
where
    S: MessageSink + ?Sized,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Vec<Message>>>,
{
    assert!(read_back().await?.is_empty(), "the sink must start empty");

    sink.publish(&[]).await?;
    sink.flush().await?;
    assert!(
        read_back().await?.is_empty(),
        "an empty batch publishes nothing"
    );

    let key = StateKey::parse("sentinel-2-l2a/workflow-cog-archive/S2B_1")?;
    let at = Timestamp::from_micros(1_735_689_600_123_456);
    let event = WorkflowEvent::new(WorkflowEventType::Failed, &key, at)
        .with_execution("exec-1")
        .with_error("TaskFailed: boom ✗ \"quoted\"\nsecond line");
    let item = Message::item(json!({
        "type": "Feature", "id": "S2B_1", "collection": "sentinel-2-l2a",
        "bbox": [-70.5, 40.25, -69.0, 41.0],
        "properties": {"datetime": "2020-11-03T15:22:26Z", "eo:cloud_cover": 12.5}
    }));
    let mut plain = Message {
        body: json!({"n": 1, "nested": {"list": [1, 2.5, null, true]}}),
        attributes: Default::default(),
        origin: None,
    };
    plain
        .attributes
        .insert("name".to_string(), Attribute::string("ünïcode"));
    let first = vec![event.to_message(), item.clone()];

    sink.publish(&first).await?;
    sink.publish_one(&plain).await?;
    sink.flush().await?;
    sink.flush().await?;
    let kept = read_back().await?;
    let expected = vec![first[0].clone(), first[1].clone(), plain.clone()];
    assert_eq!(kept, expected, "messages are kept whole and in order");

    let many: Vec<Message> = (0..25)
        .map(|i| Message {
            body: json!({"i": i}),
            attributes: Default::default(),
            origin: Some(super::sink::Origin {
                payload_id: "c/workflow-w/i".into(),
                execution: format!("e{i}"),
            }),
        })
        .collect();
    sink.publish(&many).await?;
    sink.flush().await?;
    let kept = read_back().await?;
    assert_eq!(kept.len(), 28, "a batch larger than 10 is kept whole");
    assert_eq!(&kept[3..], many.as_slice(), "a large batch keeps its order");
    Ok(())
}
