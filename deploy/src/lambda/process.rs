//! `process`: a batch of queue messages → claimed payloads and started executions.
//!
//! For each SQS message, each record it carries ([`extract`]: a payload, a `{"url"}`
//! reference, an SNS envelope, SNS inside SQS) is resolved (references are read from S3) and:
//!
//! - a record that is not a payload is kept under `<root>/tmp/invalid/` and announced
//!   (`RECORD_EXTRACT_FAILED` / `NOT_A_PROCESS_PAYLOAD`); its message is done;
//! - a second record with an ID already seen in the batch is dropped
//!   (`DUPLICATE_ID_ENCOUNTERED`);
//! - the others are claimed in the state DB with cirrus-geo's rules
//!   ([`decide`]): SUCCEEDED and INVALID are skipped unless `replace` (`ALREADY_*`), a
//!   PROCESSING record is never run again, and a CLAIMED one (a `process` that stopped
//!   between its claim and its start) is started again under its recorded execution, which
//!   Step Functions refuses to run twice;
//! - a claimed payload's input is archived (`executions/<id>/<name>/input.json`), its
//!   execution is started on `CIRRUS_BASE_WORKFLOW_ARN + workflow` with the deterministic
//!   name ([`execution_name`]) and the payload (or `{"url"}` when too large), and its record
//!   moves to PROCESSING. A state machine that does not exist makes the record FAILED.
//!
//! **Partial batch failure.** A message whose handling met a transient failure (an AWS call
//! or a store failed) is named in `batchItemFailures`, so SQS delivers it again, and after
//! `maxReceiveCount` receives moves it to the dead-letter queue: a poison message is retried
//! a bounded number of times and never lost. Everything else is done with, and deleted.
//! Handling a message again is harmless: its payloads are then PROCESSING or terminal.

use super::HandlerError;
use super::context::Context;
use super::events::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use super::sfn::{console_url, describe};
use cirrus_core::payload::ProcessPayload;
use cirrus_core::pipeline::{Decision, Unresolved, decide, execution_name, resolve};
use cirrus_core::process::{Message, Rejected, WorkflowEvent, WorkflowEventType, extract};
use cirrus_core::state::{Change, Outcome, State, StateKey, StateRecord, Timestamp, Transition};
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};

/// One queue message of the batch.
struct Received {
    /// Its SQS `messageId`; `None` when the function was invoked with a bare event.
    id: Option<String>,
    body: String,
}

/// A payload of the batch that may run.
struct Candidate {
    message: usize,
    key: StateKey,
    payload: ProcessPayload,
}

/// A payload to start, under `execution` (an ARN).
struct Job {
    message: usize,
    key: StateKey,
    payload: ProcessPayload,
    execution: String,
}

/// What handling a batch produced.
#[derive(Default)]
struct Batch {
    events: Vec<WorkflowEvent>,
    /// Messages to redeliver, by index.
    failed: BTreeSet<usize>,
}

/// Handles a `process` event: an SQS batch (the answer names the messages to redeliver), or
/// any other event, taken as one message (an error asks the invoker to retry it).
///
/// # Errors
///
/// Only for a bare event whose handling met a transient failure.
pub async fn handle(context: &Context, event: Value) -> Result<Value, HandlerError> {
    let (messages, sqs) = match SqsEvent::parse(&event) {
        Some(sqs) => {
            let messages = sqs
                .records
                .into_iter()
                .map(|r| Received {
                    id: Some(r.message_id),
                    body: r.body,
                })
                .collect();
            (messages, true)
        }
        None => (
            vec![Received {
                id: None,
                body: event.to_string(),
            }],
            false,
        ),
    };
    let batch = process(context, &messages).await;
    emit(context, &batch.events).await;
    if !sqs && !batch.failed.is_empty() {
        return Err(HandlerError::aws(
            "the event could not be processed (see the logs); retry it",
        ));
    }
    let response = SqsBatchResponse {
        batch_item_failures: batch
            .failed
            .iter()
            .filter_map(|&i| messages[i].id.clone())
            .map(|item_identifier| BatchItemFailure { item_identifier })
            .collect(),
    };
    Ok(serde_json::to_value(response).expect("a batch response serializes"))
}

async fn process(context: &Context, messages: &[Received]) -> Batch {
    let mut batch = Batch::default();
    let candidates = candidates(context, messages, &mut batch).await;
    let jobs = claim(context, candidates, &mut batch).await;
    for job in jobs {
        start(context, job, &mut batch).await;
    }
    batch
}

/// Every record of every message, resolved: the payloads that may run, once each.
async fn candidates(context: &Context, messages: &[Received], batch: &mut Batch) -> Vec<Candidate> {
    let mut candidates = Vec::new();
    let mut seen = HashSet::new();
    for (index, message) in messages.iter().enumerate() {
        for record in extract(&message.body) {
            let resolved = match record.outcome {
                Err(rejected) => Err(Unresolved::Rejected(rejected)),
                Ok(parsed) => resolve(&context.bucket, parsed.value, &message.body).await,
            };
            let (payload, key) = match resolved {
                Ok(resolved) => resolved,
                Err(Unresolved::Rejected(rejected)) => {
                    reject(context, index, &rejected, batch).await;
                    continue;
                }
                Err(Unresolved::Unreachable { error, .. }) => {
                    tracing::warn!(message = message.id.as_deref(), %error, "the payload reference cannot be read now; the message will be redelivered");
                    batch.failed.insert(index);
                    continue;
                }
            };
            if !seen.insert(key.as_str().to_string()) {
                tracing::info!(payload_id = %key, "duplicate payload in the batch dropped");
                batch.events.push(WorkflowEvent::new(
                    WorkflowEventType::DuplicateIdEncountered,
                    &key,
                    Timestamp::now(),
                ));
                continue;
            }
            candidates.push(Candidate {
                message: index,
                key,
                payload,
            });
        }
    }
    candidates
}

/// Keeps a record that is not a payload under `tmp/invalid/` and announces it; when it
/// cannot be kept, its message is redelivered instead.
async fn reject(context: &Context, message: usize, rejected: &Rejected, batch: &mut Batch) {
    match context.bucket.put_invalid(&rejected.raw).await {
        Ok(url) => {
            tracing::warn!(reason = %rejected.reason, %url, "record rejected");
            batch.events.push(rejected.event(Timestamp::now()));
        }
        Err(error) => {
            tracing::error!(reason = %rejected.reason, %error, "a rejected record cannot be kept; its message will be redelivered");
            batch.failed.insert(message);
        }
    }
}

/// Claims the candidates with cirrus-geo's rules; returns the payloads to start.
async fn claim(context: &Context, candidates: Vec<Candidate>, batch: &mut Batch) -> Vec<Job> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let keys: Vec<StateKey> = candidates.iter().map(|c| c.key.clone()).collect();
    let records = match context.state.get_many(&keys).await {
        Ok(records) => records,
        Err(error) => {
            tracing::error!(%error, "the state DB cannot be read; the batch's payloads will be redelivered");
            batch.failed.extend(candidates.iter().map(|c| c.message));
            return Vec::new();
        }
    };
    let mut jobs = Vec::new();
    let mut claiming = Vec::new();
    for (candidate, record) in candidates.into_iter().zip(records) {
        let replace = candidate
            .payload
            .process_definition()
            .replace
            .unwrap_or(false);
        match decide(record.as_ref(), replace) {
            Decision::Claim => {
                let executions: Vec<String> = record
                    .map(|r| r.executions.iter().map(|e| console_url(e)).collect())
                    .unwrap_or_default();
                let name = execution_name(candidate.key.as_str(), &executions);
                let execution = context
                    .env
                    .execution_arn(candidate.payload.workflow(), &name);
                let change = Change::now(
                    candidate.key.clone(),
                    Transition::Claim {
                        execution: execution.clone(),
                        replace,
                    },
                );
                claiming.push((candidate, change, execution));
            }
            decision => jobs.extend(not_claimed(candidate, record.as_ref(), decision, batch)),
        }
    }
    let changes: Vec<Change> = claiming.iter().map(|(_, c, _)| c.clone()).collect();
    let outcomes = match context.state.apply(&changes).await {
        Ok(outcomes) => outcomes,
        Err(error) => {
            tracing::error!(%error, "the state DB refused the claims; their messages will be redelivered");
            batch
                .failed
                .extend(claiming.iter().map(|(c, _, _)| c.message));
            return jobs;
        }
    };
    for ((candidate, _, execution), outcome) in claiming.into_iter().zip(outcomes) {
        match outcome {
            Outcome::Applied(_) => {
                tracing::info!(payload_id = %candidate.key, %execution, "payload claimed");
                batch.events.push(
                    WorkflowEvent::new(
                        WorkflowEventType::ClaimedProcessing,
                        &candidate.key,
                        Timestamp::now(),
                    )
                    .with_execution(&execution),
                );
                jobs.push(Job {
                    message: candidate.message,
                    key: candidate.key,
                    payload: candidate.payload,
                    execution,
                });
            }
            Outcome::Refused(record) => {
                let replace = candidate
                    .payload
                    .process_definition()
                    .replace
                    .unwrap_or(false);
                match decide(record.as_ref(), replace) {
                    // Someone moved the record between our read and our claim: try again
                    // on the next delivery.
                    Decision::Claim => {
                        tracing::info!(payload_id = %candidate.key, "the claim raced with another process; the message will be redelivered");
                        batch.failed.insert(candidate.message);
                    }
                    decision => {
                        jobs.extend(not_claimed(candidate, record.as_ref(), decision, batch));
                    }
                }
            }
        }
    }
    jobs
}

/// A payload that is not claimed: skipped with its `ALREADY_*` event, or, when its record
/// is CLAIMED, started again under the recorded execution.
fn not_claimed(
    candidate: Candidate,
    record: Option<&StateRecord>,
    decision: Decision,
    batch: &mut Batch,
) -> Option<Job> {
    let execution = record.and_then(StateRecord::current_execution);
    let event_type = match (decision, record) {
        (Decision::Skip(event_type), _) => event_type,
        (Decision::TakeOver, Some(record)) if record.state == State::Claimed => {
            if let Some(execution) = execution {
                tracing::warn!(payload_id = %candidate.key, execution, "the payload was claimed but maybe not started; starting its execution again");
                return Some(Job {
                    message: candidate.message,
                    execution: execution.to_string(),
                    key: candidate.key,
                    payload: candidate.payload,
                });
            }
            WorkflowEventType::AlreadyClaimed
        }
        _ => WorkflowEventType::AlreadyProcessing,
    };
    tracing::info!(payload_id = %candidate.key, event = %event_type, "payload skipped");
    let mut event = WorkflowEvent::new(event_type, &candidate.key, Timestamp::now());
    if let Some(execution) = execution {
        event = event.with_execution(execution);
    }
    batch.events.push(event);
    None
}

/// Archives a job's input, starts its execution and moves its record to PROCESSING.
async fn start(context: &Context, job: Job, batch: &mut Batch) {
    let workflow = job.payload.workflow().to_string();
    let name = job
        .execution
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let payload = job.payload.to_value();
    let input_url = match context
        .bucket
        .put_input(job.key.as_str(), &name, &payload)
        .await
    {
        Ok(url) => url,
        Err(error) => {
            tracing::error!(payload_id = %job.key, %error, "the input cannot be archived; the message will be redelivered");
            batch.failed.insert(job.message);
            return;
        }
    };
    let input = match context.bucket.maybe_offload(&payload).await {
        Ok(input) => input,
        Err(error) => {
            tracing::error!(payload_id = %job.key, %error, "the oversized input cannot be stored; the message will be redelivered");
            batch.failed.insert(job.message);
            return;
        }
    };
    let machine = context.env.state_machine_arn(&workflow);
    let started = context
        .sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name(&name)
        .input(input.to_string())
        .send()
        .await;
    if let Err(error) = started {
        let service = error.as_service_error();
        if service.is_some_and(|e| e.is_execution_already_exists()) {
            tracing::info!(payload_id = %job.key, execution = %job.execution, "the execution was already started");
        } else if service.is_some_and(|e| e.is_state_machine_does_not_exist()) {
            let message = format!(
                "StateMachineDoesNotExist: there is no state machine {machine} for workflow {workflow:?} (is the workflow deployed?)"
            );
            fail(context, &job, &input_url, &message, batch).await;
            return;
        } else {
            tracing::error!(payload_id = %job.key, execution = %job.execution, error = %describe(&error), "the execution cannot be started; the message will be redelivered");
            batch.failed.insert(job.message);
            return;
        }
    }
    match context.state.set_processing(&job.key, &job.execution).await {
        Ok(outcome) => {
            if !outcome.is_applied() {
                let state = outcome.record().map(|r| r.state.to_string());
                tracing::info!(payload_id = %job.key, execution = %job.execution, state, "the record had already left CLAIMED");
            }
            tracing::info!(payload_id = %job.key, execution = %job.execution, "execution started");
            batch.events.push(
                WorkflowEvent::new(
                    WorkflowEventType::StartedProcessing,
                    &job.key,
                    Timestamp::now(),
                )
                .with_execution(&job.execution)
                .with_input_url(&input_url),
            );
        }
        Err(error) => {
            tracing::error!(payload_id = %job.key, %error, "the record cannot be set PROCESSING; the message will be redelivered");
            batch.failed.insert(job.message);
        }
    }
}

/// Records a payload whose execution cannot start (and never will) as FAILED.
async fn fail(context: &Context, job: &Job, input_url: &str, message: &str, batch: &mut Batch) {
    tracing::error!(payload_id = %job.key, execution = %job.execution, error = message, "payload FAILED");
    match context
        .state
        .set_failed(&job.key, &job.execution, message)
        .await
    {
        Ok(_) => batch.events.push(
            WorkflowEvent::new(WorkflowEventType::Failed, &job.key, Timestamp::now())
                .with_execution(&job.execution)
                .with_input_url(input_url)
                .with_error(message),
        ),
        Err(error) => {
            tracing::error!(payload_id = %job.key, %error, "the record cannot be set FAILED; the message will be redelivered");
            batch.failed.insert(job.message);
        }
    }
}

/// Sends the workflow events to the workflow-event topic. A failure is logged, not raised:
/// the state DB already holds the outcome, and redelivering the messages would only
/// announce `ALREADY_*` instead.
pub(super) async fn emit(context: &Context, events: &[WorkflowEvent]) {
    let Some(sink) = &context.workflow_events else {
        return;
    };
    if events.is_empty() {
        return;
    }
    let messages: Vec<Message> = events.iter().map(WorkflowEvent::to_message).collect();
    let sent = match sink.publish(&messages).await {
        Ok(()) => sink.flush().await,
        Err(e) => Err(e),
    };
    if let Err(error) = sent {
        tracing::error!(%error, events = events.len(), "workflow events not published");
    }
}
