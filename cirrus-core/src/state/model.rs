//! State records, states, timestamps, transitions and timeline events.

use crate::payload::id::{PayloadId, check_workflow_name};
use crate::{Error, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The state of a payload in the state DB.
///
/// The names are cirrus-geo's `StateEnum`, and they are what `state_updated` starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// `process` has claimed the payload and is about to start its execution.
    Claimed,
    /// The workflow execution is running.
    Processing,
    /// The execution succeeded.
    Succeeded,
    /// The execution failed, timed out, or could not start; `last_error` says why.
    Failed,
    /// A task rejected the input (`InvalidInput`); re-running will not help.
    Invalid,
    /// The execution was aborted.
    Aborted,
}

impl State {
    /// Every state, in lifecycle order.
    pub const ALL: [State; 6] = [
        State::Claimed,
        State::Processing,
        State::Succeeded,
        State::Failed,
        State::Invalid,
        State::Aborted,
    ];

    /// The name as stored: `CLAIMED`, `PROCESSING`, …
    pub fn as_str(self) -> &'static str {
        match self {
            State::Claimed => "CLAIMED",
            State::Processing => "PROCESSING",
            State::Succeeded => "SUCCEEDED",
            State::Failed => "FAILED",
            State::Invalid => "INVALID",
            State::Aborted => "ABORTED",
        }
    }

    /// `true` for the states an execution is in while it owns the record: CLAIMED and
    /// PROCESSING.
    pub fn is_active(self) -> bool {
        matches!(self, State::Claimed | State::Processing)
    }

    /// Parses a stored name. `COMPLETED`, cirrus-geo's name for SUCCEEDED before v2, reads as
    /// [`State::Succeeded`].
    pub fn from_stored(name: &str) -> Option<State> {
        Some(match name {
            "CLAIMED" => State::Claimed,
            "PROCESSING" => State::Processing,
            "SUCCEEDED" | "COMPLETED" => State::Succeeded,
            "FAILED" => State::Failed,
            "INVALID" => State::Invalid,
            "ABORTED" => State::Aborted,
            _ => return None,
        })
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = Error;

    /// Parses a state name, ignoring case (`failed` and `FAILED` are the same).
    fn from_str(s: &str) -> Result<State> {
        State::from_stored(&s.to_ascii_uppercase()).ok_or_else(|| {
            Error::invalid_argument(
                "state",
                format!(
                    "{s:?} is not a state; expected one of {}",
                    State::ALL.map(State::as_str).join(", ")
                ),
            )
        })
    }
}

/// A point in time, UTC, with microsecond precision: what cirrus-geo stores.
///
/// It displays as Python's `datetime.isoformat()` does for an aware UTC datetime,
/// `2025-01-01T00:00:00.123456+00:00` (no fraction when the microseconds are zero), so the
/// strings sort in time order and match what cirrus-geo writes.
///
/// ```
/// use cirrus_core::state::Timestamp;
///
/// let t: Timestamp = "2025-01-01T00:00:00.123456Z".parse()?;
/// assert_eq!(t.to_string(), "2025-01-01T00:00:00.123456+00:00");
/// assert_eq!(Timestamp::from_micros(0).to_string(), "1970-01-01T00:00:00+00:00");
/// # Ok::<(), cirrus_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time, truncated to microseconds.
    pub fn now() -> Timestamp {
        Timestamp(Utc::now().timestamp_micros())
    }

    /// Microseconds since the Unix epoch.
    pub fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    /// Microseconds since the Unix epoch.
    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// This time as a chrono `DateTime`.
    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// This time minus `micros` microseconds, saturating.
    pub fn minus_micros(self, micros: i64) -> Timestamp {
        Timestamp(self.0.saturating_sub(micros))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Timestamp {
        Timestamp(t.timestamp_micros())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.to_datetime();
        if t.timestamp_subsec_micros() == 0 {
            write!(f, "{}+00:00", t.format("%Y-%m-%dT%H:%M:%S"))
        } else {
            write!(f, "{}+00:00", t.format("%Y-%m-%dT%H:%M:%S%.6f"))
        }
    }
}

impl FromStr for Timestamp {
    type Err = Error;

    /// Parses RFC 3339 (`2025-01-01T00:00:00Z`, any offset, any fraction), a date-time
    /// without offset (taken as UTC), or a bare date (midnight UTC).
    fn from_str(s: &str) -> Result<Timestamp> {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Timestamp::from(t.with_timezone(&Utc)));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                return Ok(Timestamp::from(t.and_utc()));
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(Timestamp::from(
                d.and_time(chrono::NaiveTime::MIN).and_utc(),
            ));
        }
        Err(Error::invalid_argument(
            "timestamp",
            format!("{s:?} is not a timestamp; expected RFC 3339, e.g. 2025-01-31T12:00:00Z"),
        ))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a record lives: the payload ID, split as the state DB keys it.
///
/// Made from a [`PayloadId`]; the workflow name must not contain `_`, because the DynamoDB
/// key `{collections}_{workflow}` is split on the last `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateKey {
    id: PayloadId,
}

impl StateKey {
    /// The key of a payload ID.
    pub fn new(id: PayloadId) -> Result<StateKey> {
        check_workflow_name(id.workflow())
            .map_err(|m| Error::invalid_argument("payload_id", format!("{id}: {m}")))?;
        Ok(StateKey { id })
    }

    /// Parses a payload ID string into a key.
    pub fn parse(id: &str) -> Result<StateKey> {
        let id =
            PayloadId::parse(id).map_err(|p| Error::invalid_argument("payload_id", p.message))?;
        StateKey::new(id)
    }

    /// The key that DynamoDB's `collections_workflow` / `itemids` pair names.
    pub fn from_dynamodb(collections_workflow: &str, itemids: &str) -> Result<StateKey> {
        let Some((collections, workflow)) = collections_workflow.rsplit_once('_') else {
            return Err(Error::invalid_argument(
                "collections_workflow",
                format!("{collections_workflow:?} has no '_' between collections and workflow"),
            ));
        };
        StateKey::parse(&format!("{collections}/workflow-{workflow}/{itemids}"))
    }

    /// The payload ID.
    pub fn payload_id(&self) -> &PayloadId {
        &self.id
    }

    /// The payload ID as a string.
    pub fn as_str(&self) -> &str {
        self.id.as_str()
    }

    /// The collections part.
    pub fn collections(&self) -> &str {
        self.id.collections()
    }

    /// The workflow name.
    pub fn workflow(&self) -> &str {
        self.id.workflow()
    }

    /// The item part (DynamoDB's `itemids`).
    pub fn item_ids(&self) -> &str {
        self.id.item_ids()
    }

    /// DynamoDB's partition key, `{collections}_{workflow}`.
    pub fn collections_workflow(&self) -> String {
        self.id.collections_workflow()
    }
}

impl fmt::Display for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One payload's record in the state DB.
///
/// Serialized (for `cirrus state` output) with cirrus-geo's field names (`items` is the item
/// part of the ID), plus `state_updated`, the time the record entered its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateRecord {
    /// The payload ID.
    pub payload_id: String,
    /// The collections part of the ID.
    pub collections: String,
    /// The workflow.
    pub workflow: String,
    /// The item part of the ID.
    #[serde(rename = "items")]
    pub item_ids: String,
    /// The current state.
    pub state: State,
    /// When the record was first written.
    pub created: Timestamp,
    /// When the record was last written.
    pub updated: Timestamp,
    /// When the record entered its current state.
    pub state_updated: Timestamp,
    /// When the current (or last) execution claimed the payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<Timestamp>,
    /// Every execution that claimed the payload, oldest first; the last one owns the record.
    pub executions: Vec<String>,
    /// The error of the last FAILED or INVALID transition, `"{Error}: {Cause}"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Output item URLs, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<String>>,
}

impl StateRecord {
    /// The execution that owns the record: the last one to claim it.
    pub fn current_execution(&self) -> Option<&str> {
        self.executions.last().map(String::as_str)
    }

    /// The record's key.
    pub fn key(&self) -> Result<StateKey> {
        StateKey::parse(&self.payload_id)
    }
}

/// A state change requested of the store. Every one is conditional; see
/// [`Transition::allowed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Claim the payload for a new execution (appended to `executions`); clears `last_error`
    /// and `outputs`.
    Claim {
        /// The execution (ARN or local execution ID) that will run the payload.
        execution: String,
        /// Run again even if the payload already SUCCEEDED or is INVALID.
        replace: bool,
    },
    /// The claimed execution has started.
    Processing {
        /// The execution that claimed the payload.
        execution: String,
    },
    /// The execution succeeded.
    Succeeded {
        /// The execution that owns the record.
        execution: String,
    },
    /// The execution failed (or timed out).
    Failed {
        /// The execution that owns the record.
        execution: String,
        /// `"{Error}: {Cause}"`.
        error: String,
    },
    /// A task found the input invalid.
    Invalid {
        /// The execution that owns the record.
        execution: String,
        /// `"{Error}: {Cause}"`.
        error: String,
    },
    /// The execution was aborted.
    Aborted {
        /// The execution that owns the record.
        execution: String,
    },
}

impl Transition {
    /// The state the record moves to.
    pub fn target(&self) -> State {
        match self {
            Transition::Claim { .. } => State::Claimed,
            Transition::Processing { .. } => State::Processing,
            Transition::Succeeded { .. } => State::Succeeded,
            Transition::Failed { .. } => State::Failed,
            Transition::Invalid { .. } => State::Invalid,
            Transition::Aborted { .. } => State::Aborted,
        }
    }

    /// The execution named by the transition.
    pub fn execution(&self) -> &str {
        match self {
            Transition::Claim { execution, .. }
            | Transition::Processing { execution }
            | Transition::Succeeded { execution }
            | Transition::Failed { execution, .. }
            | Transition::Invalid { execution, .. }
            | Transition::Aborted { execution } => execution,
        }
    }

    /// The error a FAILED or INVALID transition records.
    pub fn error(&self) -> Option<&str> {
        match self {
            Transition::Failed { error, .. } | Transition::Invalid { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The rules every backend enforces, atomically:
    ///
    /// - **claim**: allowed when there is no record, or it is FAILED or ABORTED; also when it is
    ///   SUCCEEDED or INVALID and `replace` is set. Never when it is CLAIMED or PROCESSING, so
    ///   a payload never runs twice at once (cirrus-geo's claim condition, plus its skip rule
    ///   made atomic).
    /// - **processing**: only from CLAIMED, by the execution that claimed it.
    /// - **succeeded / failed / invalid / aborted**: only from CLAIMED or PROCESSING, by the
    ///   execution that owns the record, so a late or duplicated status event cannot move a
    ///   record backwards or finish someone else's run.
    pub fn allowed(&self, current: Option<&StateRecord>) -> bool {
        let Some(record) = current else {
            return matches!(self, Transition::Claim { .. });
        };
        let owner = record.current_execution() == Some(self.execution());
        match self {
            Transition::Claim { replace, .. } => match record.state {
                State::Claimed | State::Processing => false,
                State::Failed | State::Aborted => true,
                State::Succeeded | State::Invalid => *replace,
            },
            Transition::Processing { .. } => record.state == State::Claimed && owner,
            _ => record.state.is_active() && owner,
        }
    }

    /// The record after this transition, at time `at`. `current` must be the record the
    /// transition was [allowed](Transition::allowed) on.
    pub fn apply(
        &self,
        key: &StateKey,
        current: Option<&StateRecord>,
        at: Timestamp,
    ) -> StateRecord {
        let mut record = match current {
            Some(record) => record.clone(),
            None => StateRecord {
                payload_id: key.as_str().to_string(),
                collections: key.collections().to_string(),
                workflow: key.workflow().to_string(),
                item_ids: key.item_ids().to_string(),
                state: State::Claimed,
                created: at,
                updated: at,
                state_updated: at,
                claimed_at: None,
                executions: Vec::new(),
                last_error: None,
                outputs: None,
            },
        };
        record.state = self.target();
        record.updated = at;
        record.state_updated = at;
        match self {
            Transition::Claim { execution, .. } => {
                record.claimed_at = Some(at);
                record.executions.push(execution.clone());
                record.last_error = None;
                record.outputs = None;
            }
            Transition::Failed { error, .. } | Transition::Invalid { error, .. } => {
                record.last_error = Some(error.clone());
            }
            _ => {}
        }
        record
    }
}

/// A transition of one payload, at a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The payload.
    pub key: StateKey,
    /// What should happen to it.
    pub transition: Transition,
    /// When it happens (usually [`Timestamp::now`]).
    pub at: Timestamp,
}

impl Change {
    /// A change happening now.
    pub fn now(key: StateKey, transition: Transition) -> Change {
        Change {
            key,
            transition,
            at: Timestamp::now(),
        }
    }
}

/// What the store did with a [`Change`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The transition was allowed; this is the record as written.
    Applied(StateRecord),
    /// The transition was not allowed; this is the record that refused it (`None` when there
    /// is no record).
    Refused(Option<StateRecord>),
}

impl Outcome {
    /// `true` when the transition was applied.
    pub fn is_applied(&self) -> bool {
        matches!(self, Outcome::Applied(_))
    }

    /// The record after the change (applied) or as it stands (refused).
    pub fn record(&self) -> Option<&StateRecord> {
        match self {
            Outcome::Applied(record) => Some(record),
            Outcome::Refused(record) => record.as_ref(),
        }
    }
}

/// One entry of a payload's timeline: a transition that was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEvent {
    /// The state entered.
    pub state: State,
    /// When.
    pub at: Timestamp,
    /// The execution that made the transition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// The error, for FAILED and INVALID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TimelineEvent {
    /// The event a change writes.
    pub fn of(change: &Change) -> TimelineEvent {
        TimelineEvent {
            state: change.transition.target(),
            at: change.at,
            execution: Some(change.transition.execution().to_string()),
            error: change.transition.error().map(str::to_string),
        }
    }
}
