//! The conformance suite every [`Queue`] backend must pass (feature `conformance`).
//!
//! Each case is an `async fn` taking an empty queue, configured with
//! [`DEFAULT_MAX_RECEIVES`], and a way to let time pass ([`TimeTravel`]: a [`ManualClock`]
//! for the embedded backend; a backend on a real clock waits). [`queue_conformance_tests!`]
//! turns them all into `#[tokio::test]`s for one backend:
//!
//! ```ignore
//! async fn make() -> (MyQueue, ManualClock) { MyQueue::new_empty().await }
//! cirrus_core::queue_conformance_tests!(make);
//! ```
//!
//! The cases panic (assert) on a failure.
//!
//! A backend that guarantees less than the embedded one where the trait allows it (SQS's
//! standard queues) names what it lacks with [`Capabilities`], and the cases then check the
//! weaker promise instead:
//!
//! ```ignore
//! cirrus_core::queue_conformance_tests!(make, Capabilities::SQS);
//! ```
//!
//! [`queue_conformance_tests!`]: crate::queue_conformance_tests

use super::{
    DEFAULT_MAX_RECEIVES, MAX_BODY_BYTES, MAX_RECEIVE_BATCH, MAX_VISIBILITY_TIMEOUT, ManualClock,
    Message, Queue, QueueStats, Receipt, Redrive,
};
use async_trait::async_trait;
use std::collections::HashSet;
use std::time::Duration;

/// Lets time pass for a queue under test.
#[async_trait]
pub trait TimeTravel: Send + Sync {
    /// Returns once `by` has passed for the queue.
    async fn pass(&self, by: Duration);
}

#[async_trait]
impl TimeTravel for ManualClock {
    async fn pass(&self, by: Duration) {
        self.advance(by);
    }
}

/// What a backend guarantees beyond the trait's minimum. The cases check these only where
/// they are claimed; every other assertion holds for every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Messages are received in the order they were sent. An SQS standard queue orders on a
    /// best-effort basis only.
    pub ordered: bool,
    /// The receipt of an earlier receive is refused (`false`) and leaves the message alone,
    /// and so is a receipt used twice. SQS may honour such a receipt, or ignore it silently.
    pub stale_receipts_refused: bool,
    /// Dead letters record when they were last received and when they died. SQS records
    /// neither (its backend reports the first receive time for both).
    pub dead_letter_times: bool,
}

impl Capabilities {
    /// Everything: the embedded backend.
    pub const ALL: Capabilities = Capabilities {
        ordered: true,
        stale_receipts_refused: true,
        dead_letter_times: true,
    };

    /// An SQS standard queue with a dead-letter queue.
    pub const SQS: Capabilities = Capabilities {
        ordered: false,
        stale_receipts_refused: false,
        dead_letter_times: false,
    };
}

/// Generates one `#[tokio::test]` per conformance case, each on a fresh queue from `$make`
/// (an `async fn() -> (impl Queue, impl TimeTravel)`), checking the [`Capabilities`] given
/// (all of them when none are).
#[macro_export]
macro_rules! queue_conformance_tests {
    ($make:path) => {
        $crate::queue_conformance_tests!($make, $crate::queue::conformance::Capabilities::ALL);
    };
    ($make:path, $caps:expr) => {
        $crate::queue_conformance_tests!(@cases $make, $caps;
            receive_oldest_first,
            arguments_are_checked,
            empty_batches,
            visibility_timeout_hides_then_returns,
            fresh_receipt_per_receive,
            delete_is_final,
            change_visibility,
            zero_visibility_timeout,
            stats_count_each_kind,
            dead_letter_after_max_receives,
            dead_letters_do_not_shorten_a_batch,
            redrive_by_id,
            concurrent_receivers_get_distinct_messages
        );
    };
    (@cases $make:path, $caps:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let (queue, time) = $make().await;
                $crate::queue::conformance::$case(&queue, &time, &$caps).await;
            }
        )*
    };
}

const MINUTE: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);

fn bodies(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

fn body_list(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.body.as_str()).collect()
}

async fn receive(queue: &impl Queue, max: usize, timeout: Duration) -> Vec<Message> {
    queue.receive(max, timeout).await.expect("receive")
}

async fn stats(queue: &impl Queue) -> QueueStats {
    queue.stats().await.expect("stats")
}

/// Messages come out oldest first, in batches of at most `max`, with the ids `send` gave.
pub async fn receive_oldest_first(
    queue: &impl Queue,
    _time: &impl TimeTravel,
    caps: &Capabilities,
) {
    let mut ids = queue.send_batch(&bodies("m", 4)).await.expect("send_batch");
    ids.push(queue.send("m-4").await.expect("send"));
    let first = receive(queue, 3, MINUTE).await;
    let rest = receive(queue, 10, MINUTE).await;
    if caps.ordered {
        assert_eq!(body_list(&first), ["m-0", "m-1", "m-2"]);
        assert_eq!(body_list(&rest), ["m-3", "m-4"]);
        let got: Vec<&String> = first.iter().chain(&rest).map(|m| &m.id).collect();
        assert_eq!(got, ids.iter().collect::<Vec<_>>());
    } else {
        assert_eq!(
            (first.len(), rest.len()),
            (3, 2),
            "batches of at most `max`"
        );
        // Each message once, with the id `send` gave its body.
        let got: HashSet<(&str, &str)> = first
            .iter()
            .chain(&rest)
            .map(|m| (m.id.as_str(), m.body.as_str()))
            .collect();
        let sent = bodies("m", 5);
        let want: HashSet<(&str, &str)> = ids
            .iter()
            .map(String::as_str)
            .zip(sent.iter().map(String::as_str))
            .collect();
        assert_eq!(got, want);
    }
    assert!(first.iter().chain(&rest).all(|m| m.receive_count == 1));
    assert!(receive(queue, 10, MINUTE).await.is_empty());
}

/// Batch sizes, timeouts and bodies out of range are refused, and nothing is sent.
pub async fn arguments_are_checked(
    queue: &impl Queue,
    _time: &impl TimeTravel,
    _caps: &Capabilities,
) {
    assert!(queue.receive(0, MINUTE).await.is_err());
    assert!(queue.receive(MAX_RECEIVE_BATCH + 1, MINUTE).await.is_err());
    let too_long = MAX_VISIBILITY_TIMEOUT + SECOND;
    assert!(queue.receive(1, too_long).await.is_err());
    let batch = vec!["ok".to_string(), String::new()];
    assert!(queue.send_batch(&batch).await.is_err());
    assert!(queue.send(&"x".repeat(MAX_BODY_BYTES + 1)).await.is_err());
    assert_eq!(
        stats(queue).await.total(),
        0,
        "a refused batch sends nothing"
    );
    queue.send("m").await.expect("send");
    let message = receive(queue, MAX_RECEIVE_BATCH, MAX_VISIBILITY_TIMEOUT).await;
    assert!(
        queue
            .change_visibility(&message[0].receipt, too_long)
            .await
            .is_err()
    );
}

/// Empty batches are no-ops.
pub async fn empty_batches(queue: &impl Queue, _time: &impl TimeTravel, _caps: &Capabilities) {
    assert!(queue.send_batch(&[]).await.expect("send").is_empty());
    assert!(queue.delete_batch(&[]).await.expect("delete").is_empty());
    assert_eq!(stats(queue).await, QueueStats::default());
}

/// A received message is hidden for its visibility timeout, then comes back with its receive
/// count up by one (what a receiver that dies before `delete` leaves behind).
pub async fn visibility_timeout_hides_then_returns(
    queue: &impl Queue,
    time: &impl TimeTravel,
    _caps: &Capabilities,
) {
    let id = queue.send("m").await.expect("send");
    let first = receive(queue, 1, 30 * SECOND).await;
    assert_eq!(
        (first[0].id.as_str(), first[0].receive_count),
        (id.as_str(), 1)
    );
    time.pass(29 * SECOND).await;
    assert!(
        receive(queue, 1, 30 * SECOND).await.is_empty(),
        "still hidden"
    );
    time.pass(2 * SECOND).await;
    let second = receive(queue, 1, 30 * SECOND).await;
    assert_eq!(
        (second[0].id.as_str(), second[0].receive_count),
        (id.as_str(), 2)
    );
    assert_eq!(second[0].body, "m");
    assert_eq!(second[0].first_received, first[0].first_received);
    assert_eq!(second[0].sent, first[0].sent);
}

/// Each receive gives a fresh receipt; the older one no longer deletes or changes the message
/// (where stale receipts are refused).
pub async fn fresh_receipt_per_receive(
    queue: &impl Queue,
    time: &impl TimeTravel,
    caps: &Capabilities,
) {
    queue.send("m").await.expect("send");
    let old = receive(queue, 1, 10 * SECOND).await.remove(0).receipt;
    time.pass(11 * SECOND).await;
    let new = receive(queue, 1, 10 * SECOND).await.remove(0).receipt;
    assert_ne!(old, new);
    if caps.stale_receipts_refused {
        assert!(
            !queue
                .change_visibility(&old, Duration::ZERO)
                .await
                .expect("change")
        );
        assert!(
            !queue.delete(&old).await.expect("delete"),
            "a stale receipt"
        );
    }
    assert_eq!(stats(queue).await.in_flight, 1);
    assert!(queue.delete(&new).await.expect("delete"));
    assert_eq!(stats(queue).await.total(), 0);
}

/// A deleted message never comes back; deleting with a made-up receipt is `false`, and so is
/// deleting twice (where stale receipts are refused).
pub async fn delete_is_final(queue: &impl Queue, time: &impl TimeTravel, caps: &Capabilities) {
    queue.send_batch(&bodies("m", 3)).await.expect("send");
    let messages = receive(queue, 3, MINUTE).await;
    let mut receipts: Vec<Receipt> = messages.iter().map(|m| m.receipt.clone()).collect();
    receipts.insert(1, Receipt::new("not-a-receipt"));
    receipts.truncate(3);
    let deleted = queue.delete_batch(&receipts).await.expect("delete_batch");
    assert_eq!(deleted, [true, false, true]);
    let again = queue.delete(&messages[0].receipt).await.expect("delete");
    if caps.stale_receipts_refused {
        assert!(!again, "deleted twice");
    }
    time.pass(2 * MINUTE).await;
    let back = receive(queue, 10, MINUTE).await;
    assert_eq!(body_list(&back), ["m-2"], "only the undeleted one returns");
}

/// `change_visibility` extends or ends the hiding, counted from now.
pub async fn change_visibility(queue: &impl Queue, time: &impl TimeTravel, _caps: &Capabilities) {
    queue.send("m").await.expect("send");
    let receipt = receive(queue, 1, 10 * SECOND).await.remove(0).receipt;
    time.pass(5 * SECOND).await;
    assert!(
        queue
            .change_visibility(&receipt, MINUTE)
            .await
            .expect("extend")
    );
    time.pass(30 * SECOND).await;
    assert!(receive(queue, 1, MINUTE).await.is_empty(), "extended");
    assert!(
        queue
            .change_visibility(&receipt, Duration::ZERO)
            .await
            .expect("release")
    );
    let again = receive(queue, 1, MINUTE).await;
    assert_eq!(
        again[0].receive_count, 2,
        "visible at once after a zero timeout"
    );
}

/// A zero visibility timeout leaves the message visible.
pub async fn zero_visibility_timeout(
    queue: &impl Queue,
    _time: &impl TimeTravel,
    _caps: &Capabilities,
) {
    queue.send("m").await.expect("send");
    assert_eq!(receive(queue, 1, Duration::ZERO).await[0].receive_count, 1);
    assert_eq!(receive(queue, 1, Duration::ZERO).await[0].receive_count, 2);
}

/// `stats` counts visible, in-flight and dead messages.
pub async fn stats_count_each_kind(
    queue: &impl Queue,
    time: &impl TimeTravel,
    _caps: &Capabilities,
) {
    queue.send_batch(&bodies("m", 3)).await.expect("send");
    receive(queue, 1, MINUTE).await;
    let want = QueueStats {
        visible: 2,
        in_flight: 1,
        dead: 0,
    };
    assert_eq!(stats(queue).await, want);
    time.pass(2 * MINUTE).await;
    assert_eq!(stats(queue).await.visible, 3);
    assert_eq!(queue.dead_letter_count().await.expect("count"), 0);
}

/// Receives `queue`'s oldest message `DEFAULT_MAX_RECEIVES` times without deleting it.
async fn exhaust(queue: &impl Queue, time: &impl TimeTravel, body: &str) {
    for n in 1..=DEFAULT_MAX_RECEIVES {
        let messages = receive(queue, 1, SECOND).await;
        assert_eq!(
            (messages[0].body.as_str(), messages[0].receive_count),
            (body, n)
        );
        time.pass(2 * SECOND).await;
    }
}

/// After `max_receives` receives, a message moves to the dead letters with its body, receive
/// count and receive times; a redrive sends it back with a fresh count.
pub async fn dead_letter_after_max_receives(
    queue: &impl Queue,
    time: &impl TimeTravel,
    caps: &Capabilities,
) {
    let id = queue.send("poison").await.expect("send");
    exhaust(queue, time, "poison").await;
    assert!(
        receive(queue, 10, SECOND).await.is_empty(),
        "never a 6th time"
    );
    let want = QueueStats {
        visible: 0,
        in_flight: 0,
        dead: 1,
    };
    assert_eq!(stats(queue).await, want);
    let dead = queue.dead_letters(10).await.expect("dead_letters");
    assert_eq!(dead.len(), 1);
    let letter = &dead[0];
    assert_eq!(
        (letter.id.as_str(), letter.body.as_str()),
        (id.as_str(), "poison")
    );
    assert_eq!(letter.receive_count, DEFAULT_MAX_RECEIVES);
    assert!(letter.sent <= letter.first_received);
    if caps.dead_letter_times {
        assert!(letter.first_received < letter.last_received);
    } else {
        assert!(letter.first_received <= letter.last_received);
    }
    assert!(letter.last_received <= letter.dead_at);

    assert_eq!(queue.redrive(&Redrive::All).await.expect("redrive"), 1);
    assert_eq!(queue.dead_letter_count().await.expect("count"), 0);
    let back = receive(queue, 10, SECOND).await;
    assert_eq!(
        (back[0].id.as_str(), back[0].receive_count),
        (id.as_str(), 1)
    );
}

/// Dead letters found during a receive do not count against its batch.
pub async fn dead_letters_do_not_shorten_a_batch(
    queue: &impl Queue,
    time: &impl TimeTravel,
    caps: &Capabilities,
) {
    queue.send("poison").await.expect("send");
    exhaust(queue, time, "poison").await;
    queue.send_batch(&bodies("m", 2)).await.expect("send");
    let received = receive(queue, 2, MINUTE).await;
    let mut messages = body_list(&received);
    if !caps.ordered {
        messages.sort_unstable();
    }
    assert_eq!(messages, ["m-0", "m-1"]);
    assert_eq!(queue.dead_letter_count().await.expect("count"), 1);
}

/// `redrive` by id sends back only those ids, and skips unknown ones.
pub async fn redrive_by_id(queue: &impl Queue, time: &impl TimeTravel, _caps: &Capabilities) {
    let a = queue.send("a").await.expect("send");
    exhaust(queue, time, "a").await;
    queue.send("b").await.expect("send");
    exhaust(queue, time, "b").await;
    assert!(receive(queue, 10, SECOND).await.is_empty());
    let dead = queue.dead_letters(10).await.expect("dead_letters");
    assert_eq!(body_list_dead(&dead), ["a", "b"], "oldest first");
    assert_eq!(queue.dead_letters(1).await.expect("limit").len(), 1);
    let which = Redrive::Ids(vec![a.clone(), "no-such-id".to_string()]);
    assert_eq!(queue.redrive(&which).await.expect("redrive"), 1);
    let left = queue.dead_letters(10).await.expect("dead_letters");
    assert_eq!(body_list_dead(&left), ["b"]);
    let back = receive(queue, 10, SECOND).await;
    assert_eq!((back.len(), back[0].id.as_str()), (1, a.as_str()));
}

fn body_list_dead(dead: &[super::DeadLetter]) -> Vec<&str> {
    dead.iter().map(|d| d.body.as_str()).collect()
}

/// Eight receivers drain 400 messages at once: each message goes to exactly one of them.
pub async fn concurrent_receivers_get_distinct_messages(
    queue: &impl Queue,
    _time: &impl TimeTravel,
    _caps: &Capabilities,
) {
    let sent: HashSet<String> = queue
        .send_batch(&bodies("m", 400))
        .await
        .expect("send")
        .into_iter()
        .collect();
    let receivers = (0..8).map(|_| async {
        let mut got = Vec::new();
        loop {
            let batch = receive(queue, 7, MAX_VISIBILITY_TIMEOUT).await;
            if batch.is_empty() {
                return got;
            }
            got.extend(batch.into_iter().map(|m| m.id));
        }
    });
    let all: Vec<String> = futures_util::future::join_all(receivers)
        .await
        .into_iter()
        .flatten()
        .collect();
    let unique: HashSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), unique.len(), "a message went to two receivers");
    assert_eq!(unique, sent);
}
