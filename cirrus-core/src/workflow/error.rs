//! Runtime errors of an execution: the ASL error name and its cause.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The predefined ASL error names (`States.*`).
pub mod names {
    /// Matches every error name except `States.Runtime` (and `States.DataLimitExceeded`).
    pub const ALL: &str = "States.ALL";
    /// A task failed; in `ErrorEquals`, matches every error except `States.Timeout`.
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// A Task ran longer than `TimeoutSeconds`, or the execution ran longer than its own.
    pub const TIMEOUT: &str = "States.Timeout";
    /// A Task sent no heartbeat for longer than `HeartbeatSeconds`.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// The execution hit an error it cannot process (bad path, bad data). Never retried or
    /// caught, not even by `States.ALL`.
    pub const RUNTIME: &str = "States.Runtime";
    /// No Choice rule matched and the Choice state has no `Default`.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// An intrinsic function failed at run time.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// `ResultPath` cannot be applied to the state's input.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// A `Parameters`/`ResultSelector`/`ItemSelector` field with a `.$` name refers to a
    /// path that does not exist.
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    /// A branch of a Parallel state failed.
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    /// The task has no permission to run (not raised by the local engine).
    pub const PERMISSIONS: &str = "States.Permissions";
    /// An input or output exceeded the payload size quota (not raised by the local engine).
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    /// A Map state's items tolerated-failure threshold was crossed (distributed Map only).
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    /// `ItemReader` failed (distributed Map only).
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    /// `ResultWriter` failed (distributed Map only).
    pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
    /// A query-language evaluation failed (JSONata only).
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

    /// Every predefined name, for validation of `ErrorEquals`.
    pub const PREDEFINED: &[&str] = &[
        ALL,
        TASK_FAILED,
        TIMEOUT,
        HEARTBEAT_TIMEOUT,
        RUNTIME,
        NO_CHOICE_MATCHED,
        INTRINSIC_FAILURE,
        RESULT_PATH_MATCH_FAILURE,
        PARAMETER_PATH_FAILURE,
        BRANCH_FAILED,
        PERMISSIONS,
        DATA_LIMIT_EXCEEDED,
        EXCEED_TOLERATED_FAILURE_THRESHOLD,
        ITEM_READER_FAILED,
        RESULT_WRITER_FAILED,
        QUERY_EVALUATION_ERROR,
    ];
}

/// An error raised inside an execution: an ASL error name (`States.Runtime`,
/// `States.TaskFailed`, a task's own `InvalidInput`, …) and an optional cause.
///
/// This is what `Retry` and `Catch` match on, what a catcher writes to `ResultPath` (as
/// `{"Error": …, "Cause": …}`), and what a failed execution reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The error name.
    pub error: String,
    /// The cause, when there is one.
    pub cause: Option<String>,
}

impl Failure {
    /// A failure named `error` with a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Failure {
        Failure {
            error: error.into(),
            cause: Some(cause.into()),
        }
    }

    /// A failure named `error` without a cause.
    pub fn bare(error: impl Into<String>) -> Failure {
        Failure {
            error: error.into(),
            cause: None,
        }
    }

    /// A `States.Runtime` failure.
    pub fn runtime(cause: impl Into<String>) -> Failure {
        Failure::new(names::RUNTIME, cause)
    }

    /// A `States.IntrinsicFailure` failure.
    pub fn intrinsic(cause: impl Into<String>) -> Failure {
        Failure::new(names::INTRINSIC_FAILURE, cause)
    }

    /// The error output a catcher passes on: `{"Error": …, "Cause": …}` (no `Cause` member
    /// when there is no cause).
    pub fn to_error_output(&self) -> Value {
        let mut object = Map::new();
        object.insert("Error".into(), Value::String(self.error.clone()));
        if let Some(cause) = &self.cause {
            object.insert("Cause".into(), Value::String(cause.clone()));
        }
        Value::Object(object)
    }

    /// Whether a `Retry`/`Catch` `ErrorEquals` list matches this failure.
    ///
    /// `States.ALL` matches every error; `States.TaskFailed` every error but `States.Timeout`.
    /// `States.Runtime` is never matched, not even by `States.ALL` or by its own name: Step
    /// Functions never retries or catches it.
    pub fn matches(&self, error_equals: &[String]) -> bool {
        if self.error == names::RUNTIME {
            return false;
        }
        error_equals.iter().any(|name| match name.as_str() {
            names::ALL => true,
            names::TASK_FAILED => self.error != names::TIMEOUT,
            other => other == self.error,
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Some(cause) => write!(f, "{}: {}", self.error, cause),
            None => f.write_str(&self.error),
        }
    }
}

impl std::error::Error for Failure {}
