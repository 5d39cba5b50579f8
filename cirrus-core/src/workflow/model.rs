//! The ASL model: a parsed, validated state machine.
//!
//! Values of these types only come out of [`StateMachine::from_value`] (see `parse.rs`), which
//! checks everything Step Functions checks, so the interpreter can trust them: every `Next`
//! names a state, every path parsed, every intrinsic parsed.

use super::choice::Condition;
use super::intrinsic::Intrinsic;
use super::path::{Path, ReferencePath};
use indexmap::IndexMap;
use serde_json::Value;
use std::sync::Arc;

/// A state machine, or one branch of a Parallel state, or a Map state's item processor.
#[derive(Debug, Clone)]
pub struct StateMachine {
    /// `Comment`.
    pub comment: Option<String>,
    /// `StartAt`: the name of the first state.
    pub start_at: String,
    /// `States`, in definition order.
    pub states: IndexMap<String, State>,
    /// `TimeoutSeconds` of the whole execution (top level only).
    pub timeout_seconds: Option<u64>,
    /// `Version` (top level only).
    pub version: Option<String>,
}

/// One state: its `Comment` and what it does.
#[derive(Debug, Clone)]
pub struct State {
    /// `Comment`.
    pub comment: Option<String>,
    /// The state's type and type-specific fields.
    pub kind: StateKind,
    /// Whether any path, template or intrinsic of this state reads the context object (`$$`),
    /// so the interpreter only builds it when it is needed.
    pub uses_context: bool,
}

/// The eight state types.
#[derive(Debug, Clone)]
pub enum StateKind {
    /// `"Type": "Pass"`.
    Pass(PassState),
    /// `"Type": "Task"`.
    Task(TaskState),
    /// `"Type": "Choice"`.
    Choice(ChoiceState),
    /// `"Type": "Wait"`.
    Wait(WaitState),
    /// `"Type": "Succeed"`.
    Succeed(SucceedState),
    /// `"Type": "Fail"`.
    Fail(FailState),
    /// `"Type": "Parallel"`.
    Parallel(ParallelState),
    /// `"Type": "Map"` (inline).
    Map(MapState),
}

impl StateKind {
    /// The `Type` name: `Pass`, `Task`, …
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed(_) => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

/// Where a state goes when it is done: `Next` or `End`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// `"Next": name`.
    Next(String),
    /// `"End": true`.
    End,
}

/// `InputPath` and `OutputPath`. `None` is JSON `null` (the state sees, or passes on, `{}`);
/// an absent field is the root path `$`.
#[derive(Debug, Clone)]
pub struct IoPaths {
    /// `InputPath`.
    pub input_path: Option<Path>,
    /// `OutputPath`.
    pub output_path: Option<Path>,
}

/// `Parameters`, `ResultSelector`, `ItemSelector`: a JSON value whose object members with a
/// name ending in `.$` take their value from a path or an intrinsic function.
#[derive(Debug, Clone)]
pub enum Template {
    /// A value copied as is (it contains no `.$` member at any depth).
    Literal(Value),
    /// An object with at least one dynamic member somewhere below it. Names are without their
    /// `.$` suffix.
    Object(Vec<(String, TemplateValue)>),
    /// An array with at least one dynamic member somewhere below it.
    Array(Vec<Template>),
}

/// The value of one member of a [`Template`] object.
#[derive(Debug, Clone)]
pub enum TemplateValue {
    /// A static member, or a nested template.
    Template(Template),
    /// `"name.$": "$.path"` or `"name.$": "$$.context.path"`.
    Path(Path),
    /// `"name.$": "States.Format(…)"`.
    Intrinsic(Intrinsic),
}

/// `Retry` entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: u64,
    /// `MaxAttempts` (default 3; 0 never retries).
    pub max_attempts: u32,
    /// `BackoffRate` (default 2.0, at least 1.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`: the cap on one delay.
    pub max_delay_seconds: Option<u64>,
    /// `JitterStrategy`.
    pub jitter: Jitter,
}

/// `JitterStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// `NONE` (default): wait exactly the computed delay.
    #[default]
    None,
    /// `FULL`: wait a random time between 0 and the computed delay.
    Full,
}

/// `Catch` entries.
#[derive(Debug, Clone)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `Next`.
    pub next: String,
    /// `ResultPath` for the error output (default `$`; `None` is `null`).
    pub result_path: Option<ReferencePath>,
}

/// A non-negative integer given literally or by a path (`TimeoutSeconds`/`TimeoutSecondsPath`,
/// `HeartbeatSeconds`/`HeartbeatSecondsPath`, `Seconds`/`SecondsPath`, `MaxConcurrency`/
/// `MaxConcurrencyPath`).
#[derive(Debug, Clone)]
pub enum Amount {
    /// A literal number.
    Literal(u64),
    /// A reference path into the state's effective input.
    Path(Path),
}

/// The fields shared by states that produce a result (Task, Parallel, Map).
#[derive(Debug, Clone)]
pub struct ResultHandling {
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// `ResultPath` (default `$`; `None` is `null`: keep the input, drop the result).
    pub result_path: Option<ReferencePath>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
}

/// A Pass state.
#[derive(Debug, Clone)]
pub struct PassState {
    /// `InputPath` / `OutputPath`.
    pub io: IoPaths,
    /// `Parameters`.
    pub parameters: Option<Template>,
    /// `Result`.
    pub result: Option<Value>,
    /// `ResultPath` (default `$`; `None` is `null`).
    pub result_path: Option<ReferencePath>,
    /// `Next` / `End`.
    pub transition: Transition,
}

/// A Task state.
#[derive(Debug, Clone)]
pub struct TaskState {
    /// `InputPath` / `OutputPath`.
    pub io: IoPaths,
    /// `Resource`: a task name, a Lambda ARN, `arn:aws:states:::lambda:invoke`, …
    pub resource: String,
    /// `Parameters`.
    pub parameters: Option<Template>,
    /// `ResultSelector`, `ResultPath`, `Retry`, `Catch`.
    pub result: ResultHandling,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`. Step Functions' default is 99999999.
    pub timeout: Option<Amount>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
    pub heartbeat: Option<Amount>,
    /// `Credentials`, kept for the AWS mode; the local engine ignores it.
    pub credentials: Option<Value>,
    /// `Next` / `End`.
    pub transition: Transition,
}

/// A Choice state.
#[derive(Debug, Clone)]
pub struct ChoiceState {
    /// `InputPath` / `OutputPath`.
    pub io: IoPaths,
    /// `Choices`: the first rule that matches decides `Next`.
    pub choices: Vec<ChoiceRule>,
    /// `Default`.
    pub default: Option<String>,
}

/// A top-level Choice rule: a condition and the state to go to when it holds.
#[derive(Debug, Clone)]
pub struct ChoiceRule {
    /// The comparison, or `And`/`Or`/`Not` of comparisons.
    pub condition: Condition,
    /// `Next`.
    pub next: String,
}

/// A Wait state.
#[derive(Debug, Clone)]
pub struct WaitState {
    /// `InputPath` / `OutputPath`.
    pub io: IoPaths,
    /// How long, or until when.
    pub wait: WaitFor,
    /// `Next` / `End`.
    pub transition: Transition,
}

/// The four ways a Wait state says how long to wait.
#[derive(Debug, Clone)]
pub enum WaitFor {
    /// `Seconds` or `SecondsPath`.
    Seconds(Amount),
    /// `Timestamp`: an RFC 3339 timestamp.
    Timestamp(chrono::DateTime<chrono::FixedOffset>),
    /// `TimestampPath`.
    TimestampPath(Path),
}

/// A Succeed state.
#[derive(Debug, Clone)]
pub struct SucceedState {
    /// `InputPath` / `OutputPath`.
    pub io: IoPaths,
}

/// A Fail state.
#[derive(Debug, Clone)]
pub struct FailState {
    /// `Error` or `ErrorPath`.
    pub error: Option<Text>,
    /// `Cause` or `CausePath`.
    pub cause: Option<Text>,
}

/// A string given literally, by a path, or by an intrinsic function (`ErrorPath`/`CausePath`
/// accept both).
#[derive(Debug, Clone)]
pub enum Text {
    /// A literal string.
    Literal(String),
    /// A reference path into the state input.
    Path(Path),
    /// An intrinsic function.
    Intrinsic(Intrinsic),
}

/// A Parallel state.
#[derive(Debug, Clone)]
pub struct ParallelState {
    /// `InputPath` / `OutputPath`.
    pub io: IoPaths,
    /// `Branches`: each a state machine of its own, run concurrently on the same input.
    pub branches: Vec<Arc<StateMachine>>,
    /// `Parameters`.
    pub parameters: Option<Template>,
    /// `ResultSelector`, `ResultPath`, `Retry`, `Catch`.
    pub result: ResultHandling,
    /// `Next` / `End`.
    pub transition: Transition,
}

/// An inline Map state.
#[derive(Debug, Clone)]
pub struct MapState {
    /// `InputPath` / `OutputPath`.
    pub io: IoPaths,
    /// `ItemProcessor` (or the legacy `Iterator`).
    pub processor: Arc<StateMachine>,
    /// `ItemsPath` (default `$`).
    pub items_path: Path,
    /// `ItemSelector` (or the legacy `Parameters`).
    pub item_selector: Option<Template>,
    /// `MaxConcurrency` / `MaxConcurrencyPath` (0 or absent: no limit of its own).
    pub max_concurrency: Option<Amount>,
    /// `ResultSelector`, `ResultPath`, `Retry`, `Catch`.
    pub result: ResultHandling,
    /// `Next` / `End`.
    pub transition: Transition,
}
