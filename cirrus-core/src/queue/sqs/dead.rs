//! The dead letters of an [`SqsQueue`]: the dead-letter queue found from the `RedrivePolicy`,
//! listed without losing a message, and redriven without deleting before the send.
//!
//! SQS has no way to look at a message without receiving it, and `StartMessageMoveTask`
//! cannot pick messages (nor does moto, which the tests run against, implement it). So both
//! read the dead-letter queue with receives that hide each letter for [`HOLD`], then:
//!
//! - a listing makes every letter it read visible again (`ChangeMessageVisibilityBatch` to
//!   0); if that fails the letters come back on their own after [`HOLD`];
//! - a redrive sends the chosen letters to the queue and deletes each from the dead-letter
//!   queue only once its send succeeded; the others are made visible again.

use super::{BACKEND, MAX_ENTRIES, Outgoing, Received, SqsQueue, sqs_error};
use crate::queue::{DeadLetter, Redrive};
use crate::{Error, Result};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, QueueAttributeName};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// How long a listing or a redrive hides the letters it has read, so that a letter is not
/// read twice while it runs.
const HOLD: Duration = Duration::from_secs(60);

/// The dead-letter queue named by the `RedrivePolicy` of the queue at `url`.
pub(super) async fn discover(client: &Client, url: &str) -> Result<Option<String>> {
    let output = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .map_err(|e| sqs_error(&format!("GetQueueAttributes on queue {url}"), e))?;
    let Some(policy) = output
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
    else {
        tracing::debug!(
            queue = url,
            "the queue has no redrive policy: no dead letters"
        );
        return Ok(None);
    };
    let bad = |why: &str| Error::Queue {
        backend: BACKEND,
        message: format!("queue {url}: RedrivePolicy {policy:?}: {why}"),
        source: None,
    };
    let value: serde_json::Value = serde_json::from_str(policy).map_err(|_| bad("is not JSON"))?;
    let arn = value
        .get("deadLetterTargetArn")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| bad("has no deadLetterTargetArn"))?;
    // arn:aws:sqs:<region>:<account>:<name>
    let parts: Vec<&str> = arn.split(':').collect();
    let [_, _, "sqs", _, account, name] = parts.as_slice() else {
        return Err(bad("deadLetterTargetArn is not an SQS queue ARN"));
    };
    let dlq = client
        .get_queue_url()
        .queue_name(*name)
        .queue_owner_aws_account_id(*account)
        .send()
        .await
        .map_err(|e| sqs_error(&format!("GetQueueUrl of dead-letter queue {arn}"), e))?;
    let dlq_url = dlq
        .queue_url()
        .map(str::to_string)
        .ok_or_else(|| bad("SQS returned no URL for the dead-letter queue"))?;
    tracing::debug!(queue = url, dead_letter_queue = %dlq_url, "found the dead-letter queue");
    Ok(Some(dlq_url))
}

/// At most `limit` dead letters, oldest sent first among those read.
pub(super) async fn list(queue: &SqsQueue, limit: usize) -> Result<Vec<DeadLetter>> {
    let Some(url) = queue.dead_letter_queue().await? else {
        return Ok(Vec::new());
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut letters: HashMap<String, Received> = HashMap::new();
    let mut receipts = Vec::new();
    let read = async {
        while letters.len() < limit {
            let wait = if letters.is_empty() {
                queue.receive_wait
            } else {
                Duration::ZERO
            };
            let batch = queue
                .receive_once(url, limit - letters.len(), hold_seconds(), wait)
                .await?;
            if batch.is_empty() {
                break;
            }
            for letter in batch {
                receipts.push(letter.receipt.clone());
                letters.insert(letter.sqs_id.clone(), letter);
            }
        }
        Ok::<(), Error>(())
    }
    .await;
    release(queue, url, &receipts).await;
    read?;
    let mut letters: Vec<DeadLetter> = letters.into_values().map(dead_letter).collect();
    letters.sort_by(|a, b| (a.sent, &a.id).cmp(&(b.sent, &b.id)));
    Ok(letters)
}

/// Sends the dead letters `which` names back to the queue; returns how many.
pub(super) async fn redrive(queue: &SqsQueue, which: &Redrive) -> Result<usize> {
    let Some(url) = queue.dead_letter_queue().await? else {
        return Ok(0);
    };
    let wanted: Option<HashSet<&str>> = match which {
        Redrive::All => None,
        Redrive::Ids(ids) if ids.is_empty() => return Ok(0),
        Redrive::Ids(ids) => Some(ids.iter().map(String::as_str).collect()),
    };
    let mut kept = Vec::new();
    let result = move_letters(queue, url, wanted.as_ref(), &mut kept).await;
    release(queue, url, &kept).await;
    if let Ok(moved) = result {
        tracing::info!(queue = %queue.url, dead_letter_queue = url, moved, "redrove dead letters");
    }
    result
}

/// The loop of [`redrive`]; the receipts of letters read but not moved go to `kept`.
async fn move_letters(
    queue: &SqsQueue,
    url: &str,
    wanted: Option<&HashSet<&str>>,
    kept: &mut Vec<String>,
) -> Result<usize> {
    let mut moved = 0;
    let mut found: HashSet<String> = HashSet::new();
    loop {
        if wanted.is_some_and(|w| w.iter().all(|id| found.contains(*id))) {
            return Ok(moved);
        }
        let wait = if moved == 0 && kept.is_empty() {
            queue.receive_wait
        } else {
            Duration::ZERO
        };
        let batch = queue
            .receive_once(url, MAX_ENTRIES, hold_seconds(), wait)
            .await?;
        if batch.is_empty() {
            return Ok(moved);
        }
        let (chosen, others): (Vec<Received>, Vec<Received>) = batch
            .into_iter()
            .partition(|r| wanted.is_none_or(|w| w.contains(r.id.as_str())));
        kept.extend(others.into_iter().map(|r| r.receipt));
        if chosen.is_empty() {
            continue;
        }
        found.extend(chosen.iter().map(|r| r.id.clone()));
        let outgoing: Vec<Outgoing> = chosen
            .iter()
            .map(|r| Outgoing {
                body: &r.body,
                original_id: Some(&r.id),
            })
            .collect();
        let sent = match queue.send_to(&queue.url, &outgoing).await {
            Ok(sent) => sent,
            Err(e) => {
                kept.extend(chosen.into_iter().map(|r| r.receipt));
                return Err(e);
            }
        };
        let mut delete = Vec::new();
        let mut refused = None;
        for (letter, result) in chosen.iter().zip(sent) {
            match result {
                Ok(_) => delete.push(letter.receipt.as_str()),
                Err(reason) => {
                    kept.push(letter.receipt.clone());
                    refused.get_or_insert((letter.id.clone(), reason));
                }
            }
        }
        let deleted = queue.delete_from(url, &delete).await?;
        for (receipt, ok) in delete.iter().zip(&deleted) {
            if !ok {
                tracing::warn!(
                    dead_letter_queue = url,
                    receipt,
                    "a redriven letter could not be deleted from the dead-letter queue: it is now in both"
                );
            }
        }
        moved += delete.len();
        if let Some((id, reason)) = refused {
            return Err(Error::Queue {
                backend: BACKEND,
                message: format!(
                    "redrive from {url}: SQS refused to send dead letter {id} back ({reason}); {moved} were sent back, the rest stay dead letters"
                ),
                source: None,
            });
        }
    }
}

/// Makes the letters of `receipts` visible again in the dead-letter queue at `url`. A
/// failure is only logged: the letters come back on their own after [`HOLD`].
async fn release(queue: &SqsQueue, url: &str, receipts: &[String]) {
    for (n, chunk) in receipts.chunks(MAX_ENTRIES).enumerate() {
        let entries: std::result::Result<Vec<_>, _> = chunk
            .iter()
            .enumerate()
            .map(|(i, receipt)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .build()
            })
            .collect();
        let sent = match entries {
            Ok(entries) => queue
                .client
                .change_message_visibility_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    sqs_error(&format!("ChangeMessageVisibilityBatch on queue {url}"), e)
                        .to_string()
                })
                .map(|output| output.failed().len()),
            Err(e) => Err(e.to_string()),
        };
        match sent {
            Ok(0) => {}
            Ok(failed) => tracing::warn!(
                dead_letter_queue = url,
                failed,
                "dead letters stay hidden until their visibility timeout ends"
            ),
            Err(e) => tracing::warn!(
                dead_letter_queue = url,
                batch = n,
                error = %e,
                "dead letters stay hidden until their visibility timeout ends"
            ),
        }
    }
}

fn hold_seconds() -> i32 {
    super::whole_seconds(HOLD)
}

/// A letter as read: its receive count less the receive that read it; SQS keeps no later
/// receive or move time, so both are its first receive time.
fn dead_letter(letter: Received) -> DeadLetter {
    DeadLetter {
        id: letter.id,
        body: letter.body,
        receive_count: letter.receive_count.saturating_sub(1),
        sent: letter.sent,
        first_received: letter.first_received,
        last_received: letter.first_received,
        dead_at: letter.first_received,
    }
}
