//! The SQS queue against moto: batches, receive counts, receipts, the dead-letter queue
//! (poison messages, listing without loss, redrive), stats and errors.

use async_trait::async_trait;
use cirrus_core::queue::conformance::{Capabilities, TimeTravel};
use cirrus_core::queue::sqs::{SqsQueue, SqsQueueSettings};
use cirrus_core::queue::{Queue, QueueStats, Receipt, Redrive};
use cirrus_core::testing::MotoServer;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

/// The moto server of the conformance cases: its clock moves, so one case at a time uses
/// it (the other tests use the shared server, whose clock stays put).
fn clocked() -> &'static MotoServer {
    static SERVER: OnceLock<MotoServer> = OnceLock::new();
    SERVER.get_or_init(|| match MotoServer::start_with_clock() {
        Ok(server) => server,
        Err(e) => panic!("cannot start moto_server: {e}"),
    })
}

/// The turn of one conformance case on the clocked server.
static TURN: LazyLock<Arc<tokio::sync::Mutex<()>>> = LazyLock::new(Arc::default);

/// Time on the clocked server, held by one case until it ends.
struct MotoTime {
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

#[async_trait]
impl TimeTravel for MotoTime {
    async fn pass(&self, by: Duration) {
        clocked().advance(by).expect("move moto's clock");
    }
}

/// A fresh queue with cirrus-geo's settings on the clocked server, and its time.
async fn conformance_queue() -> (SqsQueue, MotoTime) {
    let turn = TURN.clone().lock_owned().await;
    let name = format!("conformance-{}", uuid::Uuid::new_v4().simple());
    let client = aws_sdk_sqs::Client::new(&clocked().sdk_config().await);
    let queue = SqsQueue::create(client, &name, &SqsQueueSettings::default())
        .await
        .expect("create the queue")
        // moto answers at once: no long polling needed.
        .with_receive_wait(Duration::ZERO);
    (queue, MotoTime { _turn: turn })
}

cirrus_core::queue_conformance_tests!(conformance_queue, Capabilities::SQS);

/// A fresh queue and dead-letter queue with a unique name, on the shared moto server.
async fn fresh(settings: &SqsQueueSettings) -> SqsQueue {
    let name = format!("test-{}", uuid::Uuid::new_v4().simple());
    let client = MotoServer::shared().sqs_client().await;
    SqsQueue::create(client, &name, settings)
        .await
        .expect("create the queue")
}

fn bodies(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{{\"n\": {i}}}")).collect()
}

#[tokio::test]
async fn batches_of_any_size_are_sent_received_and_deleted() {
    let queue = fresh(&SqsQueueSettings::default()).await;
    let sent = bodies(25);
    let ids = queue.send_batch(&sent).await.expect("send");
    assert_eq!(ids.len(), 25);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 25, "distinct ids");

    let got = queue
        .receive(100, Duration::from_secs(60))
        .await
        .expect("receive");
    assert_eq!(got.len(), 25, "receive loops over ReceiveMessage's 10");
    let by_id: HashSet<(&str, &str)> = got
        .iter()
        .map(|m| (m.id.as_str(), m.body.as_str()))
        .collect();
    let want: HashSet<(&str, &str)> = ids
        .iter()
        .map(String::as_str)
        .zip(sent.iter().map(String::as_str))
        .collect();
    assert_eq!(by_id, want, "each id with its body");
    assert!(got.iter().all(|m| m.receive_count == 1));
    assert!(got.iter().all(|m| m.sent <= m.first_received));
    let stats = queue.stats().await.expect("stats");
    assert_eq!(
        stats,
        QueueStats {
            visible: 0,
            in_flight: 25,
            dead: 0
        }
    );

    let receipts: Vec<Receipt> = got.iter().map(|m| m.receipt.clone()).collect();
    let deleted = queue.delete_batch(&receipts).await.expect("delete");
    assert_eq!(deleted, vec![true; 25]);
    assert_eq!(queue.stats().await.expect("stats").total(), 0);
}

#[tokio::test]
async fn large_bodies_are_split_by_size() {
    let queue = fresh(&SqsQueueSettings::default()).await;
    // Five 200 KiB bodies: one per request under the 256 KiB request limit.
    let sent: Vec<String> = (0..5)
        .map(|i| format!("{i}{}", "x".repeat(200 * 1024)))
        .collect();
    assert_eq!(queue.send_batch(&sent).await.expect("send").len(), 5);
    let got = queue
        .receive(10, Duration::from_secs(60))
        .await
        .expect("receive");
    let mut bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, sent.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn made_up_receipts_are_false_not_errors() {
    let queue = fresh(&SqsQueueSettings::default()).await;
    queue.send("m").await.expect("send");
    let message = queue
        .receive(1, Duration::from_secs(60))
        .await
        .expect("receive")
        .remove(0);
    let made_up = Receipt::new("not-a-receipt");
    let deleted = queue
        .delete_batch(&[made_up.clone(), message.receipt.clone()])
        .await
        .expect("delete");
    assert_eq!(deleted, [false, true]);
    assert!(
        !queue
            .change_visibility(&made_up, Duration::ZERO)
            .await
            .expect("change")
    );
    assert!(
        !queue
            .change_visibility(&message.receipt, Duration::ZERO)
            .await
            .expect("change after delete"),
        "the message is gone"
    );
}

/// A message received `maxReceiveCount` times lands in the dead-letter queue on the next
/// receive, is listed (again and again: listing loses nothing), and is redriven with its id.
#[tokio::test]
async fn a_poison_message_lands_in_the_dead_letter_queue_and_is_never_lost() {
    let settings = SqsQueueSettings::default();
    let queue = fresh(&settings).await;
    let id = queue.send("poison").await.expect("send");
    queue.send("healthy").await.expect("send");
    // A zero visibility timeout makes each message visible again at once: a receiver that
    // fails on it every time.
    let mut poison_receives = 0;
    for _ in 0..settings.max_receives {
        let got = queue.receive(10, Duration::ZERO).await.expect("receive");
        let poison: Vec<_> = got.iter().filter(|m| m.body == "poison").collect();
        assert_eq!(poison.len(), 1);
        poison_receives += 1;
        assert_eq!(poison[0].receive_count, poison_receives);
        for m in got.iter().filter(|m| m.body == "healthy") {
            assert!(queue.delete(&m.receipt).await.expect("delete"));
        }
    }
    assert!(
        queue
            .receive(10, Duration::ZERO)
            .await
            .expect("receive")
            .is_empty(),
        "never received a 6th time"
    );
    let want = QueueStats {
        visible: 0,
        in_flight: 0,
        dead: 1,
    };
    assert_eq!(queue.stats().await.expect("stats"), want);
    for listing in 0..3 {
        let dead = queue.dead_letters(10).await.expect("dead letters");
        assert_eq!(dead.len(), 1, "listing does not lose the letter");
        // Each listing is a receive on the dead-letter queue: SQS counts it.
        assert_eq!(dead[0].receive_count, settings.max_receives + listing);
        assert_eq!(
            (dead[0].id.as_str(), dead[0].body.as_str()),
            (id.as_str(), "poison")
        );
        assert_eq!(queue.stats().await.expect("stats"), want, "visible again");
    }

    assert_eq!(
        queue
            .redrive(&Redrive::Ids(vec!["nope".into()]))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        queue.dead_letter_count().await.unwrap(),
        1,
        "unknown ids move nothing"
    );
    assert_eq!(queue.redrive(&Redrive::All).await.expect("redrive"), 1);
    let back = queue.receive(10, Duration::ZERO).await.expect("receive");
    assert_eq!(back.len(), 1);
    assert_eq!(
        (
            back[0].id.as_str(),
            back[0].body.as_str(),
            back[0].receive_count
        ),
        (id.as_str(), "poison", 1),
        "the id survives the redrive; the count starts again"
    );
    assert_eq!(queue.dead_letter_count().await.unwrap(), 0);
}

#[tokio::test]
async fn the_dead_letter_queue_is_found_from_the_redrive_policy() {
    let created = fresh(&SqsQueueSettings::default()).await;
    let client = MotoServer::shared().sqs_client().await;
    let found = SqsQueue::new(client.clone(), created.url());
    let want = created
        .dead_letter_queue()
        .await
        .unwrap()
        .map(str::to_string);
    assert!(want.as_deref().is_some_and(|u| u.ends_with("-dlq")));
    assert_eq!(
        found.dead_letter_queue().await.unwrap().map(str::to_string),
        want
    );

    // A queue without a redrive policy has no dead letters.
    let name = format!("plain-{}", uuid::Uuid::new_v4().simple());
    let url = client
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let plain = SqsQueue::new(client, url);
    assert_eq!(plain.dead_letter_queue().await.unwrap(), None);
    assert!(plain.dead_letters(10).await.unwrap().is_empty());
    assert_eq!(plain.redrive(&Redrive::All).await.unwrap(), 0);
    assert_eq!(plain.stats().await.unwrap().dead, 0);
}

#[tokio::test]
async fn a_missing_queue_is_a_clear_error() {
    let moto = MotoServer::shared();
    let url = format!("{}/123456789012/no-such-queue", moto.endpoint());
    let queue = SqsQueue::new(moto.sqs_client().await, &url);
    let error = queue.send("m").await.unwrap_err().to_string();
    assert!(
        error.starts_with("queue (sqs): SendMessageBatch on queue"),
        "{error}"
    );
    assert!(error.contains("the queue does not exist"), "{error}");
    let error = queue.stats().await.unwrap_err().to_string();
    assert!(error.contains("the queue does not exist"), "{error}");
}

#[tokio::test]
async fn missing_credentials_are_one_clear_line() {
    let moto = MotoServer::shared();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("credentials");
    std::fs::write(&empty, "").unwrap();
    // aws-config's own names for these (aws-runtime's are not reachable without adding it).
    #[allow(deprecated)]
    let files = aws_config::profile::profile_file::ProfileFiles::builder()
        .with_file(
            aws_config::profile::profile_file::ProfileFileKind::Credentials,
            &empty,
        )
        .build();
    let provider = aws_config::profile::ProfileFileCredentialsProvider::builder()
        .profile_files(files)
        .profile_name("cirrus-test-absent")
        .build();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto.endpoint())
        .credentials_provider(provider)
        .load()
        .await;
    let url = format!("{}/123456789012/any", moto.endpoint());
    let queue = SqsQueue::from_config(&config, url);
    let error = queue.send("m").await.unwrap_err();
    let text = format!("{:#}", anyhow_like(&error));
    assert!(
        text.contains("AWS credentials are missing or invalid"),
        "{text}"
    );
    assert!(text.contains("AWS_PROFILE"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
}

/// The error and its sources, joined as `anyhow`'s `{:#}` prints them.
fn anyhow_like(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
