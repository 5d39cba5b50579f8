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
use crate::state::{Outcome, StateKey, Timestamp};
use crate::workflow::Status;
use serde_json::Value;

/// How an execution ended, as `update-state` sees it.
#[derive(Debug)]
pub(super) enum Ending {
    /// SUCCEEDED with this output.
    Succeeded(Value),
    /// FAILED (`timed_out`: the state machine's own timeout) with `"{Error}: {Cause}"`.
    Failed { error: String, timed_out: bool },
    /// A task raised `InvalidInput`.
    Invalid(String),
    /// Cancelled by a shutdown.
    Aborted,
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
                let (name, cause) = match &execution.failure {
                    Some(failure) => (failure.error.clone(), failure.cause.clone()),
                    None => ("States.Runtime".to_string(), None),
                };
                // cirrus-geo: a timed-out execution is FAILED with `TimedOutError`.
                let name = if timed_out {
                    "TimedOutError".to_string()
                } else {
                    name
                };
                let error = format!("{name}: {}", cause.unwrap_or_default());
                if name == INVALID_INPUT {
                    Ending::Invalid(error)
                } else {
                    Ending::Failed { error, timed_out }
                }
            }
        }
    }

    /// `update-state` for one job. Returns its events; they are emitted with the batch's.
    ///
    /// On success the order is: archive the output, publish the items, enqueue the chain,
    /// record the outputs, and only then the SUCCEEDED transition. A worker that dies before
    /// the transition leaves the payload PROCESSING, and the one that takes it over does it
    /// all again: items already in the publish log are not published twice, and a chain
    /// successor enqueued twice is skipped by its own claim.
    pub(super) async fn finish(&self, job: &Job, ending: Ending) -> Result<Vec<WorkflowEvent>> {
        let key = &job.key;
        let execution = job.execution.as_str();
        let ending = match ending {
            Ending::Succeeded(output) => match self.succeed(job, output).await {
                Ok(events) => return Ok(events),
                Err(Failure::Payload(error)) => {
                    tracing::warn!(payload_id = %key, %error, "the output cannot be published");
                    Ending::Failed {
                        error,
                        timed_out: false,
                    }
                }
                Err(Failure::Infrastructure(e)) => return Err(e),
            },
            other => other,
        };
        let (outcome, event_type, error, counter) = match &ending {
            Ending::Failed { error, timed_out } => (
                self.inner.state.set_failed(key, execution, error).await?,
                if *timed_out {
                    WorkflowEventType::TimedOut
                } else {
                    WorkflowEventType::Failed
                },
                Some(error.as_str()),
                Counter::Failed,
            ),
            Ending::Invalid(error) => (
                self.inner.state.set_invalid(key, execution, error).await?,
                WorkflowEventType::Invalid,
                Some(error.as_str()),
                Counter::Invalid,
            ),
            Ending::Aborted => (
                self.inner.state.set_aborted(key, execution).await?,
                WorkflowEventType::Aborted,
                None,
                Counter::Aborted,
            ),
            Ending::Succeeded(_) => unreachable!("success is handled above"),
        };
        if !self.recorded(key, execution, &outcome) {
            return Ok(Vec::new());
        }
        tracing::info!(payload_id = %key, execution, event = %event_type, error, "execution ended");
        self.inner.stats.add(counter, 1);
        let mut event = WorkflowEvent::new(event_type, key, Timestamp::now())
            .with_execution(execution)
            .with_input_url(&job.input_url);
        if let Some(error) = error {
            event = event.with_error(error);
        }
        Ok(vec![event])
    }

    async fn succeed(
        &self,
        job: &Job,
        output: Value,
    ) -> std::result::Result<Vec<WorkflowEvent>, Failure> {
        let key = &job.key;
        let execution = job.execution.as_str();
        let output =
            self.inner.bucket.resolve(output).await.map_err(|e| {
                Failure::Payload(format!("InvalidOutput: the output reference: {e}"))
            })?;
        let payload = ProcessPayload::from_value(output.clone())
            .map_err(|e| {
                Failure::Payload(format!(
                    "InvalidOutput: the workflow's output is not a process payload: {e}"
                ))
            })?
            .value;
        let next = payload
            .next_payloads()
            .map_err(|e| Failure::Payload(format!("ChainError: {e}")))?;
        let output_url = self
            .inner
            .bucket
            .put_output(key.as_str(), execution, &output)
            .await?;
        let now = Timestamp::now();
        let published = self
            .inner
            .publisher
            .publish(&payload, now)
            .await
            .map_err(|e| match e {
                crate::Error::Store { .. } => Failure::Infrastructure(e),
                other => Failure::Payload(format!("PublishError: {other}")),
            })?;
        let messages: Vec<Message> = published
            .iter()
            .map(|item| Message::item(item.item.clone()).with_origin(key.as_str(), execution))
            .collect();
        if let Some((path, log)) = &self.inner.publish_log {
            let done = if job.resumed {
                items_published_by(path, execution).await?
            } else {
                Default::default()
            };
            let fresh: Vec<Message> = messages
                .iter()
                .filter(|m| {
                    !m.body
                        .get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|id| done.contains(id))
                })
                .cloned()
                .collect();
            log.publish(&fresh).await?;
            log.flush().await?;
        }
        for sink in &self.inner.item_sinks {
            sink.publish(&messages).await?;
            sink.flush().await?;
        }
        if !next.is_empty() {
            let mut bodies = Vec::with_capacity(next.len());
            for payload in &next {
                let value = self.inner.bucket.maybe_offload(&payload.to_value()).await?;
                bodies.push(value.to_string());
            }
            self.inner.queue.send_batch(&bodies).await?;
            tracing::info!(payload_id = %key, successors = next.len(), "chain successors enqueued");
        }
        let urls: Vec<String> = published.iter().map(|item| item.url.clone()).collect();
        self.inner.state.set_outputs(key, &urls, now).await?;
        let outcome = self.inner.state.set_succeeded(key, execution).await?;
        if !self.recorded(key, execution, &outcome) {
            return Ok(Vec::new());
        }
        tracing::info!(payload_id = %key, execution, items = published.len(), "execution succeeded");
        self.inner.stats.add(Counter::Succeeded, 1);
        Ok(vec![
            WorkflowEvent::new(WorkflowEventType::Succeeded, key, Timestamp::now())
                .with_execution(execution)
                .with_input_url(&job.input_url)
                .with_output_url(output_url),
        ])
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

/// Why a successful execution could not be recorded as such.
enum Failure {
    /// The payload's fault (an output that is not a payload, an item without a
    /// `path_template`, a bad `chain_filter`): the payload is FAILED with this error.
    Payload(String),
    /// The machine's fault (a store or the state DB failed): the batch stops, and the
    /// payload is taken over later.
    Infrastructure(crate::Error),
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Failure {
        Failure::Infrastructure(e)
    }
}
