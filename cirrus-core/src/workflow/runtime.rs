//! What every state of one execution shares: the resolver, the limits, the history and the
//! context object's execution-wide members.

use super::engine::EngineOptions;
use super::error::Failure;
use super::history::{EventKind, HistoryEvent};
use super::resolver::TaskResolver;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One execution's shared runtime.
pub(crate) struct Runtime {
    pub(crate) resolver: Arc<dyn TaskResolver>,
    pub(crate) options: EngineOptions,
    pub(crate) name: String,
    execution_id: String,
    state_machine_id: String,
    start_time: String,
    input: Value,
    tokens: AtomicU64,
    history: Mutex<Vec<HistoryEvent>>,
}

/// What a state contributes to `$$` beyond the execution-wide members.
#[derive(Debug, Default)]
pub(crate) struct StateContext<'a> {
    pub(crate) entered: Option<DateTime<Utc>>,
    pub(crate) retry_count: u32,
    pub(crate) task_token: Option<&'a str>,
    /// `$$.Map.Item.Index` and `$$.Map.Item.Value`, in a Map state's `ItemSelector`.
    pub(crate) map_item: Option<(usize, &'a Value)>,
}

/// The name Step Functions would give the state machine; the local engine runs definitions,
/// not deployed machines, so there is one name for all.
const STATE_MACHINE_NAME: &str = "local";
const ARN_PREFIX: &str = "arn:aws:states:local:000000000000";

impl Runtime {
    pub(crate) fn new(
        resolver: Arc<dyn TaskResolver>,
        options: EngineOptions,
        name: String,
        start: DateTime<Utc>,
        input: Value,
    ) -> Runtime {
        Runtime {
            resolver,
            options,
            execution_id: format!("{ARN_PREFIX}:execution:{STATE_MACHINE_NAME}:{name}"),
            state_machine_id: format!("{ARN_PREFIX}:stateMachine:{STATE_MACHINE_NAME}"),
            name,
            start_time: iso(start),
            input,
            tokens: AtomicU64::new(0),
            history: Mutex::new(Vec::new()),
        }
    }

    /// Appends an event. Fails with `States.Runtime` once the history is over its limit, which
    /// is also what stops a runaway loop.
    pub(crate) fn record(
        &self,
        kind: EventKind,
        state: Option<&str>,
        details: Option<Value>,
    ) -> Result<(), Failure> {
        let mut history = self.history();
        let limit = self.options.max_history_events;
        if limit != 0 && history.len() >= limit {
            return Err(Failure::runtime(format!(
                "the execution history reached {limit} events, the most one execution may \
                 record (max_history_events)"
            )));
        }
        push(&mut history, kind, state, details);
        Ok(())
    }

    /// Appends an event even past the limit (the execution's closing event).
    pub(crate) fn record_final(&self, kind: EventKind, details: Value) {
        let mut history = self.history();
        push(&mut history, kind, None, Some(details));
    }

    /// The history, locked. A panic elsewhere while it was held leaves it usable: every
    /// push is a single `Vec::push`, so it is never half-written.
    fn history(&self) -> MutexGuard<'_, Vec<HistoryEvent>> {
        self.history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the recorded history.
    pub(crate) fn take_history(&self) -> Vec<HistoryEvent> {
        let mut history = self.history();
        std::mem::take(&mut *history)
    }

    /// A new task token for `$$.Task.Token`.
    pub(crate) fn task_token(&self) -> String {
        let n = self.tokens.fetch_add(1, Ordering::Relaxed);
        format!("{}:{n}", self.name)
    }

    /// The context object `$$` as a state named `state` sees it.
    pub(crate) fn context(&self, state: &str, extra: &StateContext<'_>) -> Value {
        let entered = extra.entered.map(iso).unwrap_or_else(|| iso(Utc::now()));
        let object = |members: Vec<(&str, Value)>| {
            Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        };
        // Built by hand rather than with `json!`, which would serialize the execution input
        // instead of cloning it.
        let mut context = Map::with_capacity(5);
        let execution = object(vec![
            ("Id", self.execution_id.as_str().into()),
            ("Input", self.input.clone()),
            ("Name", self.name.as_str().into()),
            ("RoleArn", format!("{ARN_PREFIX}:role/local").into()),
            ("StartTime", self.start_time.as_str().into()),
            ("RedriveCount", 0.into()),
        ]);
        context.insert("Execution".into(), execution);
        let state = object(vec![
            ("EnteredTime", entered.into()),
            ("Name", state.into()),
            ("RetryCount", extra.retry_count.into()),
        ]);
        context.insert("State".into(), state);
        let machine = object(vec![
            ("Id", self.state_machine_id.as_str().into()),
            ("Name", STATE_MACHINE_NAME.into()),
        ]);
        context.insert("StateMachine".into(), machine);
        if let Some(token) = extra.task_token {
            context.insert("Task".into(), object(vec![("Token", token.into())]));
        }
        if let Some((index, value)) = extra.map_item {
            let item = object(vec![("Index", index.into()), ("Value", value.clone())]);
            context.insert("Map".into(), object(vec![("Item", item)]));
        }
        Value::Object(context)
    }
}

/// Appends the next event, numbered from 1, stamped now.
fn push(
    history: &mut Vec<HistoryEvent>,
    kind: EventKind,
    state: Option<&str>,
    details: Option<Value>,
) {
    let id = history.len() as u64 + 1;
    history.push(HistoryEvent {
        id,
        timestamp: Utc::now(),
        kind,
        state: state.map(str::to_owned),
        details,
    });
}

/// History details with one member (built without `json!`, which serializes its values: this
/// is on the hot path).
pub(crate) fn detail(key: &str, value: Value) -> Option<Value> {
    let mut object = Map::with_capacity(1);
    object.insert(key.to_owned(), value);
    Some(Value::Object(object))
}

/// A timestamp as Step Functions writes them: `2026-11-21T10:00:00.123Z`.
pub(crate) fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}
