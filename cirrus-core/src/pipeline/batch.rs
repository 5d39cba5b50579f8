//! `process` for one batch of queue messages: intake, claims, and the start of each
//! execution. The executions and `update-state` are in [`super::finish`].

use super::Pipeline;
use super::execution_name;
use super::stats::Counter;
use crate::payload::{PayloadInput, ProcessPayload};
use crate::process::{Rejected, Rejection, WorkflowEvent, WorkflowEventType, extract};
use crate::queue;
use crate::state::{Change, Outcome, State, StateKey, StateRecord, Timestamp, Transition};
use crate::store::PayloadBucket;
use crate::{Error, Result};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// A payload of the batch that may run.
pub(super) struct Candidate {
    /// Index of its message in the batch.
    pub message: usize,
    pub key: StateKey,
    /// The payload, with its `id` set.
    pub payload: Value,
    pub workflow: String,
    pub replace: bool,
    /// How many times its message was received, this time included.
    pub receive_count: u32,
}

/// A payload this worker claimed (or took over) and will run.
pub(super) struct Job {
    pub message: usize,
    pub key: StateKey,
    pub payload: Value,
    pub workflow: String,
    pub execution: String,
    /// Taken over from a worker that died: it may have published some items already.
    pub resumed: bool,
    /// Needs CLAIMED → PROCESSING.
    pub claimed_only: bool,
    pub input_url: String,
}

/// What `process` decided for a batch.
pub(super) struct Intake {
    pub jobs: Vec<Job>,
    /// Messages to leave on the queue rather than delete, with how long they stay hidden.
    pub keep: HashMap<usize, Duration>,
}

impl Pipeline {
    /// Runs `process` for a batch: returns the jobs to execute, with their inputs archived,
    /// their records PROCESSING, their leases held and their events emitted.
    ///
    /// `lease_until` is when the batch's messages become visible again unless renewed: the
    /// leases taken here end no later, so a message that comes back because its worker died
    /// always finds a lapsed lease and is taken over, never skipped.
    pub(super) async fn intake(
        &self,
        batch: &[queue::Message],
        lease_until: Instant,
    ) -> Result<Intake> {
        let mut events = Vec::new();
        let candidates = self.candidates(batch, &mut events).await?;
        let mut keep = HashMap::new();
        let jobs = self
            .claim(candidates, lease_until, &mut events, &mut keep)
            .await?;
        let jobs = self.start(jobs, &mut events).await;
        self.emit(&events).await?;
        Ok(Intake { jobs: jobs?, keep })
    }

    /// Every record of every message: the payloads that may run, once each. Rejections and
    /// duplicates become events.
    async fn candidates(
        &self,
        batch: &[queue::Message],
        events: &mut Vec<WorkflowEvent>,
    ) -> Result<Vec<Candidate>> {
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut seen = HashSet::new();
        for (index, message) in batch.iter().enumerate() {
            for record in extract(&message.body) {
                let payload = match record.outcome {
                    Err(rejected) => Err(Unresolved::Rejected(rejected)),
                    Ok(parsed) => resolve(&self.inner.bucket, parsed.value, &message.body).await,
                };
                let (payload, key) = match payload {
                    Ok(resolved) => resolved,
                    // Locally, an unreadable reference is rejected like a missing one.
                    Err(
                        Unresolved::Rejected(rejected) | Unresolved::Unreachable { rejected, .. },
                    ) => {
                        self.reject(&rejected, &rejected.raw, events).await?;
                        continue;
                    }
                };
                if !seen.insert(key.as_str().to_string()) {
                    tracing::info!(payload_id = %key, "duplicate payload in the batch dropped");
                    events.push(WorkflowEvent::new(
                        WorkflowEventType::DuplicateIdEncountered,
                        &key,
                        Timestamp::now(),
                    ));
                    self.inner.stats.add(Counter::Skipped, 1);
                    continue;
                }
                candidates.push(Candidate {
                    message: index,
                    workflow: payload.workflow().to_string(),
                    replace: payload.process_definition().replace.unwrap_or(false),
                    receive_count: message.receive_count,
                    payload: payload.to_value(),
                    key,
                });
            }
        }
        Ok(candidates)
    }

    /// Claims the candidates (one state DB transaction), following cirrus-geo's rules:
    /// absent, FAILED and ABORTED records are claimed; SUCCEEDED and INVALID ones only with
    /// `replace`; CLAIMED and PROCESSING ones are taken over only when their lease has lapsed
    /// (the worker running them died), under their recorded execution.
    async fn claim(
        &self,
        candidates: Vec<Candidate>,
        lease_until: Instant,
        events: &mut Vec<WorkflowEvent>,
        keep: &mut HashMap<usize, Duration>,
    ) -> Result<Vec<Job>> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<StateKey> = candidates.iter().map(|c| c.key.clone()).collect();
        let records = self.inner.state.get_many(&keys).await?;
        let now = Timestamp::now();
        let mut jobs = Vec::new();
        let mut changes = Vec::new();
        let mut claiming = Vec::new();
        for (candidate, record) in candidates.into_iter().zip(records) {
            match decide(record.as_ref(), candidate.replace) {
                // Another worker of this pipeline is claiming or running it (a duplicate
                // message in another batch): busy.
                Decision::Claim if !self.start_running(candidate.key.as_str()) => {
                    let event_type = WorkflowEventType::AlreadyProcessing;
                    self.skip(&candidate.key, event_type, record.as_ref(), events);
                }
                Decision::Claim => {
                    let executions = record.map(|r| r.executions).unwrap_or_default();
                    let execution = execution_name(candidate.key.as_str(), &executions);
                    changes.push(Change {
                        key: candidate.key.clone(),
                        transition: Transition::Claim {
                            execution: execution.clone(),
                            replace: candidate.replace,
                        },
                        at: now,
                    });
                    claiming.push((candidate, execution));
                }
                decision => {
                    let job = self
                        .not_claimed(candidate, record, decision, lease_until, events, keep)
                        .await?;
                    jobs.extend(job);
                }
            }
        }
        let outcomes = match self.inner.state.apply(&changes).await {
            Ok(outcomes) => outcomes,
            Err(e) => {
                self.stop_running(claiming.iter().map(|(c, _)| c.key.as_str()));
                return Err(e);
            }
        };
        // The claimed payloads' leases, in one go: a claim is authoritative, so they are
        // taken even from a lease left behind by an earlier run.
        let claimed: Vec<String> = claiming
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| outcome.is_applied())
            .map(|((candidate, _), _)| candidate.key.as_str().to_string())
            .collect();
        self.inner
            .leases
            .acquire_many(&claimed, &self.inner.owner, lease_left(lease_until), true)
            .await?;
        for ((candidate, execution), outcome) in claiming.into_iter().zip(outcomes) {
            if !outcome.is_applied() {
                self.stop_running([candidate.key.as_str()]);
            }
            match outcome {
                Outcome::Applied(_) => {
                    events.push(
                        WorkflowEvent::new(
                            WorkflowEventType::ClaimedProcessing,
                            &candidate.key,
                            Timestamp::now(),
                        )
                        .with_execution(&execution),
                    );
                    jobs.push(job(candidate, execution, false, true));
                }
                Outcome::Refused(record) => match decide(record.as_ref(), candidate.replace) {
                    decision @ (Decision::Skip(_) | Decision::TakeOver) => {
                        let job = self
                            .not_claimed(candidate, record, decision, lease_until, events, keep)
                            .await?;
                        jobs.extend(job);
                    }
                    // Another worker moved the record between our read and our claim (it
                    // finished, or failed): leave the message for a later delivery.
                    Decision::Claim => {
                        tracing::info!(payload_id = %candidate.key, "claim raced with another worker; the message will be redelivered");
                        keep.insert(candidate.message, Duration::ZERO);
                    }
                },
            }
        }
        Ok(jobs)
    }

    /// A payload that is not claimed: skipped with its `ALREADY_*` event, or taken over.
    async fn not_claimed(
        &self,
        candidate: Candidate,
        record: Option<StateRecord>,
        decision: Decision,
        lease_until: Instant,
        events: &mut Vec<WorkflowEvent>,
        keep: &mut HashMap<usize, Duration>,
    ) -> Result<Option<Job>> {
        match (decision, record) {
            (Decision::TakeOver, Some(record)) => {
                self.take_over(candidate, &record, lease_until, events, keep)
                    .await
            }
            (Decision::Skip(event_type), record) => {
                self.skip(&candidate.key, event_type, record.as_ref(), events);
                Ok(None)
            }
            (Decision::Claim | Decision::TakeOver, _) => {
                unreachable!("only a skip or a take-over of an existing record comes here")
            }
        }
    }

    /// A CLAIMED or PROCESSING record: run its execution again if its worker's lease has
    /// lapsed, else skip with `ALREADY_CLAIMED` / `ALREADY_PROCESSING`.
    async fn take_over(
        &self,
        candidate: Candidate,
        record: &StateRecord,
        lease_until: Instant,
        events: &mut Vec<WorkflowEvent>,
        keep: &mut HashMap<usize, Duration>,
    ) -> Result<Option<Job>> {
        let key = candidate.key.as_str();
        let execution = record.current_execution().map(str::to_string);
        // A payload this pipeline is running (a duplicate message, received by another of
        // its workers) is busy, whatever its lease says.
        let acquired = match &execution {
            Some(_) if self.start_running(key) => {
                let acquired = self
                    .inner
                    .leases
                    .acquire(key, &self.inner.owner, lease_left(lease_until), false)
                    .await;
                if !matches!(acquired, Ok(true)) {
                    self.stop_running([key]);
                }
                acquired?
            }
            _ => false,
        };
        let Some(execution) = execution.filter(|_| acquired) else {
            if candidate.receive_count > 1 {
                // A redelivered message whose payload is still leased: it may be the message
                // of a worker that died holding a lease longer than the message stayed
                // hidden. Deleting it could leave the payload CLAIMED or PROCESSING forever,
                // so it goes back on the queue until the lease has lapsed.
                tracing::info!(
                    payload_id = key,
                    "the payload is leased by another worker; its redelivered message waits for the lease"
                );
                keep.insert(candidate.message, lease_left(lease_until));
                return Ok(None);
            }
            let event_type = if record.state == State::Claimed {
                WorkflowEventType::AlreadyClaimed
            } else {
                WorkflowEventType::AlreadyProcessing
            };
            self.skip(&candidate.key, event_type, Some(record), events);
            return Ok(None);
        };
        tracing::warn!(
            payload_id = key,
            execution = %execution,
            state = %record.state,
            "the worker running this payload stopped; taking its execution over"
        );
        let claimed_only = record.state == State::Claimed;
        Ok(Some(job(candidate, execution, true, claimed_only)))
    }

    fn skip(
        &self,
        key: &StateKey,
        event_type: WorkflowEventType,
        record: Option<&StateRecord>,
        events: &mut Vec<WorkflowEvent>,
    ) {
        tracing::info!(payload_id = %key, event = %event_type, "payload skipped");
        let mut event = WorkflowEvent::new(event_type, key, Timestamp::now());
        if let Some(execution) = record.and_then(StateRecord::current_execution) {
            event = event.with_execution(execution);
        }
        events.push(event);
        self.inner.stats.add(Counter::Skipped, 1);
    }

    /// Archives each job's input and moves its record to PROCESSING (one transaction).
    async fn start(&self, mut jobs: Vec<Job>, events: &mut Vec<WorkflowEvent>) -> Result<Vec<Job>> {
        // The inputs are written concurrently: on a disk file system, creating their folders
        // and files is most of what `process` costs. They are flushed to disk together, once,
        // before any of their records says PROCESSING.
        let urls = futures_util::future::join_all(jobs.iter().map(|job| {
            self.inner
                .archive
                .put_input(job.key.as_str(), &job.execution, &job.payload)
        }))
        .await;
        if urls.iter().any(Result::is_ok) {
            self.inner.archive.store().sync().await?;
        }
        let mut changes = Vec::new();
        for (job, url) in jobs.iter_mut().zip(urls) {
            job.input_url = url?;
            if job.claimed_only {
                changes.push(Change::now(
                    job.key.clone(),
                    Transition::Processing {
                        execution: job.execution.clone(),
                    },
                ));
            }
        }
        let outcomes = self.inner.state.apply(&changes).await?;
        let mut outcomes = outcomes.into_iter();
        let mut started = Vec::with_capacity(jobs.len());
        for job in jobs {
            if job.claimed_only {
                let outcome = outcomes.next();
                if !outcome.as_ref().is_some_and(Outcome::is_applied) {
                    // Only the lease holder moves a CLAIMED record, so this is a record
                    // changed by hand (`cirrus state`): leave it alone.
                    tracing::warn!(payload_id = %job.key, execution = %job.execution, "the record left CLAIMED under us; not starting");
                    self.release(&job.key).await;
                    self.stop_running([job.key.as_str()]);
                    continue;
                }
            }
            events.push(
                WorkflowEvent::new(
                    WorkflowEventType::StartedProcessing,
                    &job.key,
                    Timestamp::now(),
                )
                .with_execution(&job.execution)
                .with_input_url(&job.input_url),
            );
            started.push(job);
        }
        Ok(started)
    }

    /// Drops this worker's lease on a payload; a failure only delays a take-over.
    pub(super) async fn release(&self, key: &StateKey) {
        if let Err(e) = self
            .inner
            .leases
            .release(key.as_str(), &self.inner.owner)
            .await
        {
            tracing::warn!(payload_id = %key, error = %e, "cannot release the lease; it lapses on its own");
        }
    }
}

/// Why [`resolve`] found no payload in a record.
#[derive(Debug)]
pub enum Unresolved {
    /// The record is not a process payload: the reference is missing or holds something
    /// else, or the ID cannot be computed. Retrying cannot help.
    Rejected(Rejected),
    /// The reference could not be read because its store failed (not because it is
    /// missing): `rejected` is what to report if the record is given up on, `error` the
    /// store's error. Retrying may help.
    Unreachable {
        /// The record, rejected as not a process payload.
        rejected: Rejected,
        /// The store's error.
        error: Error,
    },
}

/// The payload a record carries, fetched from `bucket`'s store when it is a reference,
/// with its `id` set, and its state DB key. `raw` is the record's raw text, kept in a
/// rejection.
pub async fn resolve(
    bucket: &PayloadBucket,
    input: PayloadInput,
    raw: &str,
) -> std::result::Result<(ProcessPayload, StateKey), Unresolved> {
    let not_a_payload = |reason: String, problems| Rejected {
        rejection: Rejection::NotAProcessPayload,
        reason,
        problems,
        raw: raw.to_string(),
    };
    let mut payload = match input {
        PayloadInput::Payload(payload) => *payload,
        PayloadInput::Reference(reference) => {
            let value = bucket.fetch(&reference.url).await.map_err(|e| {
                let rejected = not_a_payload(format!("{}: {e}", reference.key), Vec::new());
                if store_failed(&e) {
                    Unresolved::Unreachable { rejected, error: e }
                } else {
                    Unresolved::Rejected(rejected)
                }
            })?;
            match ProcessPayload::from_value(value) {
                Ok(parsed) => parsed.value,
                Err(Error::InvalidPayload(problems)) => {
                    let first = problems.first().map(ToString::to_string);
                    return Err(Unresolved::Rejected(not_a_payload(
                        format!(
                            "{} {}: not a process payload: {}",
                            reference.key,
                            reference.url,
                            first.unwrap_or_default()
                        ),
                        problems,
                    )));
                }
                Err(e) => {
                    return Err(Unresolved::Rejected(not_a_payload(
                        format!("{} {}: {e}", reference.key, reference.url),
                        Vec::new(),
                    )));
                }
            }
        }
    };
    let key = payload
        .set_id()
        .and_then(StateKey::parse)
        .map_err(|e| Unresolved::Rejected(not_a_payload(format!("id: {e}"), Vec::new())))?;
    Ok((payload, key))
}

/// Whether `error` is a store's failure to answer (a read that failed), rather than a bad
/// URL, a missing object or an object that is not JSON.
fn store_failed(error: &Error) -> bool {
    matches!(error, Error::Store { source: Some(source), .. } if source.downcast_ref::<object_store::Error>().is_some())
}

/// The lease a payload of the batch gets: until its message would come back.
fn lease_left(until: Instant) -> Duration {
    let left = until.saturating_duration_since(Instant::now());
    if left.is_zero() {
        tracing::warn!(
            "the batch took longer than the visibility timeout to claim; its leases lapse at once"
        );
    }
    left
}

fn job(candidate: Candidate, execution: String, resumed: bool, claimed_only: bool) -> Job {
    Job {
        message: candidate.message,
        key: candidate.key,
        payload: candidate.payload,
        workflow: candidate.workflow,
        execution,
        resumed,
        claimed_only,
        input_url: String::new(),
    }
}

/// What `process` does with a payload, given its record (cirrus-geo's skip and rerun
/// rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Claim it for a new execution: no record, FAILED or ABORTED, or SUCCEEDED or INVALID
    /// with `replace`.
    Claim,
    /// Skip it with this `ALREADY_*` event: SUCCEEDED or INVALID without `replace`.
    Skip(WorkflowEventType),
    /// CLAIMED or PROCESSING: someone runs it, or did and stopped. Never claimed again; the
    /// caller decides whether its recorded execution may be resumed.
    TakeOver,
}

/// What `process` does with a payload whose record is `record`.
pub fn decide(record: Option<&StateRecord>, replace: bool) -> Decision {
    let Some(record) = record else {
        return Decision::Claim;
    };
    match record.state {
        State::Failed | State::Aborted => Decision::Claim,
        State::Succeeded | State::Invalid if replace => Decision::Claim,
        State::Succeeded => Decision::Skip(WorkflowEventType::AlreadySucceeded),
        State::Invalid => Decision::Skip(WorkflowEventType::AlreadyInvalid),
        State::Claimed | State::Processing => Decision::TakeOver,
    }
}
