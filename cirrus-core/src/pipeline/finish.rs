//! Running a job's execution, and `update-state`: recording its outcome, publishing its
//! output items and enqueuing the next workflows of its chain.

use super::Pipeline;
use super::batch::Job;
use super::publish_log::items_published_by;
use super::shutdown::Shutdown;
use super::stats::Counter;
use crate::Result;
use crate::payload::ProcessPayload;
use crate::process::{Message, MessageSink, WorkflowEvent, WorkflowEventType};
use crate::state::{Change, Outcome, StateKey, Timestamp, Transition};
use crate::store::{ItemPublisher, PayloadBucket};
use crate::workflow::Status;
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

/// How an execution ended, as `update-state` sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// SUCCEEDED with this output.
    Succeeded(Value),
    /// FAILED (`timed_out`: the state machine's own timeout) with `"{Error}: {Cause}"`.
    Failed {
        /// `"{Error}: {Cause}"`.
        error: String,
        /// The execution timed out.
        timed_out: bool,
    },
    /// A task raised `InvalidInput`.
    Invalid(String),
    /// Cancelled by a shutdown.
    Aborted,
}

impl Ending {
    /// The end of a failed (or, with `timed_out`, timed-out) execution whose error is
    /// `error` with `cause`, by cirrus-geo's rules: a timeout is FAILED with
    /// `TimedOutError`; an error named `InvalidInput` (also qualified, as
    /// `stactask.exceptions.InvalidInput`) is INVALID; anything else is FAILED, each with
    /// `"{Error}: {Cause}"`.
    pub fn from_failure(error: &str, cause: Option<&str>, timed_out: bool) -> Ending {
        let name = if timed_out { "TimedOutError" } else { error };
        let message = format!("{name}: {}", cause.unwrap_or_default());
        let invalid = name == INVALID_INPUT
            || name
                .strip_suffix(INVALID_INPUT)
                .is_some_and(|module| module.ends_with('.'));
        if invalid && !timed_out {
            Ending::Invalid(message)
        } else {
            Ending::Failed {
                error: message,
                timed_out,
            }
        }
    }
}

/// The error name that makes a payload INVALID.
const INVALID_INPUT: &str = "InvalidInput";

impl Pipeline {
    /// Runs the job's workflow to its end, or until the run is aborted.
    pub(super) async fn execute(&self, job: &Job, shutdown: &Shutdown) -> Ending {
        let Some(machine) = self.inner.workflows.get(&job.workflow) else {
            let (error, cause) = self.inner.workflows.not_found(&job.workflow);
            return Ending::Failed {
                error: format!("{error}: {cause}"),
                timed_out: false,
            };
        };
        tracing::info!(payload_id = %job.key, workflow = %job.workflow, execution = %job.execution, resumed = job.resumed, "execution started");
        let run =
            self.inner
                .engine
                .execute(machine.clone(), job.payload.clone(), job.execution.clone());
        let execution = tokio::select! {
            execution = run => execution,
            () = shutdown.aborted() => return Ending::Aborted,
        };
        match execution.status {
            Status::Succeeded => Ending::Succeeded(execution.output.unwrap_or(Value::Null)),
            Status::Failed | Status::TimedOut => {
                let timed_out = execution.status == Status::TimedOut;
                match &execution.failure {
                    Some(failure) => {
                        Ending::from_failure(&failure.error, failure.cause.as_deref(), timed_out)
                    }
                    None => Ending::from_failure("States.Runtime", None, timed_out),
                }
            }
        }
    }

    /// `update-state` for a batch's jobs, in the order that keeps a crash harmless: first
    /// every output is archived and its items written, flushed to disk together (one
    /// `syncfs`), appended to the publish log (one append) and sent to the other item
    /// sinks, and the chain successors are enqueued (one send); only then are the outputs
    /// and terminal states recorded (one transaction) and the leases released.
    ///
    /// A worker that dies before the transitions leaves its payloads PROCESSING, and the one
    /// that takes them over does it all again: items already in the publish log for the
    /// execution are not appended twice, and a chain successor enqueued twice is skipped by
    /// its own claim.
    ///
    /// Returns the events to emit and the messages of aborted jobs (they go back to the
    /// queue). A store or state DB error stops the batch; its payloads are taken over later.
    pub(super) async fn finish_batch(
        &self,
        jobs: &[Arc<Job>],
        endings: Vec<Ending>,
    ) -> Result<(Vec<WorkflowEvent>, Vec<usize>)> {
        let prepared = join_all(jobs.iter().zip(endings).map(|(job, ending)| async move {
            match ending {
                Ending::Succeeded(output) => match self.prepare(job, output).await {
                    Ok(success) => Ok(Done::Succeeded(success)),
                    Err(OutputFailure::Payload(error)) => {
                        tracing::warn!(payload_id = %job.key, %error, "the output cannot be published");
                        Ok(Done::Ended(Ending::Failed {
                            error,
                            timed_out: false,
                        }))
                    }
                    Err(OutputFailure::Infrastructure(e)) => Err(e),
                },
                other => Ok(Done::Ended(other)),
            }
        }))
        .await;
        let done: Vec<Done> = prepared.into_iter().collect::<Result<_>>()?;
        // The outputs and items are on disk before anything refers to them: one flush for
        // the batch instead of one per file and folder.
        if done.iter().any(|d| matches!(d, Done::Succeeded(_))) {
            self.inner.archive.store().sync().await?;
            self.inner.publisher.store().sync().await?;
        }

        self.publish_items(jobs, &done).await?;
        let successors: Vec<String> = done
            .iter()
            .filter_map(|d| match d {
                Done::Succeeded(success) => Some(success.successors.iter().cloned()),
                Done::Ended(_) => None,
            })
            .flatten()
            .collect();
        if !successors.is_empty() {
            self.inner.queue.send_batch(&successors).await?;
            tracing::debug!(successors = successors.len(), "chain successors enqueued");
        }

        let now = Timestamp::now();
        let mut outputs = Vec::new();
        let mut changes = Vec::with_capacity(jobs.len());
        for (job, done) in jobs.iter().zip(&done) {
            let execution = job.execution.clone();
            let transition = match done {
                Done::Succeeded(success) => {
                    outputs.push((job.key.clone(), success.urls.clone()));
                    Transition::Succeeded { execution }
                }
                Done::Ended(Ending::Failed { error, .. }) => Transition::Failed {
                    execution,
                    error: error.clone(),
                },
                Done::Ended(Ending::Invalid(error)) => Transition::Invalid {
                    execution,
                    error: error.clone(),
                },
                Done::Ended(Ending::Aborted) => Transition::Aborted { execution },
                Done::Ended(Ending::Succeeded(_)) => unreachable!("successes are prepared"),
            };
            changes.push(Change {
                key: job.key.clone(),
                transition,
                at: now,
            });
        }
        self.inner.state.set_outputs_many(&outputs, now).await?;
        let outcomes = self.inner.state.apply(&changes).await?;
        let keys: Vec<String> = jobs
            .iter()
            .map(|job| job.key.as_str().to_string())
            .collect();
        if let Err(e) = self
            .inner
            .leases
            .release_many(&keys, &self.inner.owner)
            .await
        {
            tracing::warn!(error = %e, "cannot release the batch's leases; they lapse on their own");
        }

        let mut events = Vec::new();
        let mut aborted = Vec::new();
        for ((job, done), outcome) in jobs.iter().zip(&done).zip(&outcomes) {
            if matches!(done, Done::Ended(Ending::Aborted)) {
                aborted.push(job.message);
            }
            if !self.recorded(&job.key, &job.execution, outcome) {
                continue;
            }
            events.push(self.ended(job, done));
        }
        Ok((events, aborted))
    }

    /// The event of a recorded outcome, counted in the stats.
    fn ended(&self, job: &Job, done: &Done) -> WorkflowEvent {
        let (event_type, error, counter) = match done {
            Done::Succeeded(_) => (WorkflowEventType::Succeeded, None, Counter::Succeeded),
            Done::Ended(Ending::Failed { error, timed_out }) => (
                if *timed_out {
                    WorkflowEventType::TimedOut
                } else {
                    WorkflowEventType::Failed
                },
                Some(error.as_str()),
                Counter::Failed,
            ),
            Done::Ended(Ending::Invalid(error)) => (
                WorkflowEventType::Invalid,
                Some(error.as_str()),
                Counter::Invalid,
            ),
            Done::Ended(Ending::Aborted) => (WorkflowEventType::Aborted, None, Counter::Aborted),
            Done::Ended(Ending::Succeeded(_)) => unreachable!("successes are prepared"),
        };
        tracing::info!(payload_id = %job.key, execution = %job.execution, event = %event_type, error, "execution ended");
        self.inner.stats.add(counter, 1);
        let mut event = WorkflowEvent::new(event_type, &job.key, Timestamp::now())
            .with_execution(&job.execution)
            .with_input_url(&job.input_url);
        if let Some(error) = error {
            event = event.with_error(error);
        }
        if let Done::Succeeded(success) = done {
            event = event.with_output_url(&success.output_url);
        }
        event
    }

    /// [`prepare_output`] on this pipeline's archive and publisher.
    async fn prepare(
        &self,
        job: &Job,
        output: Value,
    ) -> std::result::Result<PreparedOutput, OutputFailure> {
        prepare_output(
            &self.inner.archive,
            &self.inner.publisher,
            &job.key,
            &job.execution,
            output,
        )
        .await
    }

    /// Appends the batch's items to the publish log (once each per execution, even after a
    /// take-over) and sends them to the other item sinks.
    async fn publish_items(&self, jobs: &[Arc<Job>], done: &[Done]) -> Result<()> {
        let succeeded: Vec<(&Job, &PreparedOutput)> = jobs
            .iter()
            .zip(done)
            .filter_map(|(job, done)| match done {
                Done::Succeeded(success) => Some((job.as_ref(), success)),
                Done::Ended(_) => None,
            })
            .collect();
        let messages = || succeeded.iter().flat_map(|(_, success)| &success.messages);
        if let Some((path, log)) = &self.inner.publish_log {
            let resumed: HashSet<&str> = succeeded
                .iter()
                .filter(|(job, _)| job.resumed)
                .map(|(job, _)| job.execution.as_str())
                .collect();
            let published = items_published_by(path, &resumed).await?;
            let fresh: Vec<Message> = messages()
                .filter(|m| !published.contains(&published_key(m)))
                .cloned()
                .collect();
            log.publish(&fresh).await?;
            log.flush().await?;
        }
        if !self.inner.item_sinks.is_empty() {
            let all: Vec<Message> = messages().cloned().collect();
            for sink in &self.inner.item_sinks {
                sink.publish(&all).await?;
                sink.flush().await?;
            }
        }
        Ok(())
    }

    /// Whether a terminal transition was applied; a refused one is logged (another worker
    /// or an operator changed the record meanwhile).
    fn recorded(&self, key: &StateKey, execution: &str, outcome: &Outcome) -> bool {
        if outcome.is_applied() {
            return true;
        }
        let state = outcome.record().map(|r| r.state.to_string());
        tracing::warn!(payload_id = %key, execution, state, "the record no longer belongs to this execution; outcome not recorded");
        false
    }
}

/// `update-state`'s work on a successful execution's output, before anything is recorded:
/// resolves the output (a `{"url"}` reference is fetched) and checks it is a process
/// payload, archives it as `executions/<payload_id>/<execution>/output.json` in `bucket`,
/// writes its items under their `path_template` with `publisher` (when any item has one),
/// and builds the chain successors' message bodies (offloaded to `tmp/oversized/` when too
/// large). The item messages carry `key` and `execution` as their origin.
///
/// A [`OutputFailure::Payload`] is the output's fault (the payload is FAILED with it); a
/// [`OutputFailure::Infrastructure`] is a store's.
pub async fn prepare_output(
    bucket: &PayloadBucket,
    publisher: &ItemPublisher,
    key: &StateKey,
    execution: &str,
    output: Value,
) -> std::result::Result<PreparedOutput, OutputFailure> {
    let output = bucket
        .resolve(output)
        .await
        .map_err(|e| OutputFailure::Payload(format!("InvalidOutput: the output reference: {e}")))?;
    let payload = ProcessPayload::from_value(output.clone())
        .map_err(|e| {
            OutputFailure::Payload(format!(
                "InvalidOutput: the workflow's output is not a process payload: {e}"
            ))
        })?
        .value;
    let next = payload
        .next_payloads()
        .map_err(|e| OutputFailure::Payload(format!("ChainError: {e}")))?;
    let output_url = bucket.put_output(key.as_str(), execution, &output).await?;
    let mut successors = Vec::with_capacity(next.len());
    for payload in &next {
        let value = bucket.maybe_offload(&payload.to_value()).await?;
        successors.push(value.to_string());
    }
    if !writes_items(&payload) {
        // No `path_template` anywhere: nothing is written to the data store, and the
        // items are published (to the log and the sinks) as the workflow output them,
        // as cirrus-geo's update-state publishes them to SNS.
        let messages = payload
            .features
            .iter()
            .map(|item| {
                Message::item(Value::Object(item.as_map().clone()))
                    .with_origin(key.as_str(), execution)
            })
            .collect();
        return Ok(PreparedOutput {
            output_url,
            urls: Vec::new(),
            messages,
            successors,
        });
    }
    let published = publisher
        .publish(&payload, Timestamp::now())
        .await
        .map_err(|e| match e {
            crate::Error::Store { .. } => OutputFailure::Infrastructure(e),
            other => OutputFailure::Payload(format!("PublishError: {other}")),
        })?;
    Ok(PreparedOutput {
        output_url,
        urls: published.iter().map(|item| item.url.clone()).collect(),
        messages: published
            .into_iter()
            .map(|item| Message::item(item.item).with_origin(key.as_str(), execution))
            .collect(),
        successors,
    })
}

/// An item message's `(execution, item ID)`, as [`items_published_by`] reports them.
fn published_key(message: &Message) -> (String, String) {
    let execution = message.origin.as_ref().map(|o| o.execution.clone());
    let id = message.body.get("id").and_then(Value::as_str);
    (
        execution.unwrap_or_default(),
        id.unwrap_or_default().to_string(),
    )
}

/// Whether any item of `payload` has a `path_template` to be written under. When some do and
/// others do not, the publisher reports the ones that do not.
fn writes_items(payload: &ProcessPayload) -> bool {
    let definition = payload.process_definition();
    payload.features.iter().any(|item| {
        let options = match item.collection() {
            Some(collection) => definition.upload_options_for(collection),
            None => definition.upload_options.as_ref(),
        };
        options.is_some_and(|o| o.path_template.is_some())
    })
}

/// A job after its execution, ready for `update-state`.
enum Done {
    /// Succeeded, with its output archived and its items written.
    Succeeded(PreparedOutput),
    /// Any other end (a success whose output could not be published becomes FAILED).
    Ended(Ending),
}

/// A success, prepared by [`prepare_output`].
#[derive(Debug, Clone)]
pub struct PreparedOutput {
    /// Where the output was archived.
    pub output_url: String,
    /// The published item URLs: the record's outputs.
    pub urls: Vec<String>,
    /// The item messages, with their origin.
    pub messages: Vec<Message>,
    /// The chain successors' message bodies.
    pub successors: Vec<String>,
}

/// Why a successful execution could not be recorded as such.
#[derive(Debug)]
pub enum OutputFailure {
    /// The payload's fault (an output that is not a payload, an item without a
    /// `path_template`, a bad `chain_filter`): the payload is FAILED with this error.
    Payload(String),
    /// The machine's fault (a store or the state DB failed): the batch stops, and the
    /// payload is taken over later.
    Infrastructure(crate::Error),
}

impl From<crate::Error> for OutputFailure {
    fn from(e: crate::Error) -> OutputFailure {
        OutputFailure::Infrastructure(e)
    }
}

#[cfg(test)]
mod tests {
    use super::Ending;

    #[test]
    fn failures_are_classified_as_cirrus_geo_does() {
        assert_eq!(
            Ending::from_failure("InvalidInput", Some("no band"), false),
            Ending::Invalid("InvalidInput: no band".into())
        );
        assert_eq!(
            Ending::from_failure("stactask.exceptions.InvalidInput", Some("x"), false),
            Ending::Invalid("stactask.exceptions.InvalidInput: x".into())
        );
        assert!(matches!(
            Ending::from_failure("NotInvalidInput", None, false),
            Ending::Failed {
                timed_out: false,
                ..
            }
        ));
        assert_eq!(
            Ending::from_failure("States.Timeout", Some("late"), true),
            Ending::Failed {
                error: "TimedOutError: late".into(),
                timed_out: true
            }
        );
    }
}
