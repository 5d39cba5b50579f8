//! A handler's error, as Lambda reports it: an `errorType` and an `errorMessage`.
//!
//! Step Functions matches `Retry` and `Catch` on the `errorType` of a Lambda task, and
//! cirrus-geo's update-state turns the name `InvalidInput` into an INVALID record, so the name
//! matters: a task error keeps the task's own name, and the other failures use a fixed
//! vocabulary ([`HandlerError::config`], [`HandlerError::aws`], …).

use lambda_runtime::Diagnostic;
use std::fmt;

/// The `errorType` of a missing or wrong setting (an environment variable, the function
/// name).
pub const CONFIG_ERROR: &str = "ConfigurationError";
/// The `errorType` of a failed AWS call or object store access: worth retrying.
pub const AWS_ERROR: &str = "RetryableError";
/// The `errorType` of an event that is not what the function handles.
pub const BAD_EVENT: &str = "InvalidEvent";

/// A handler's failure: `errorType` and `errorMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    /// The error name (`errorType`), what `Retry`/`Catch` match on.
    pub error_type: String,
    /// The message (`errorMessage`).
    pub message: String,
}

impl HandlerError {
    /// An error named `error_type`.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> HandlerError {
        HandlerError {
            error_type: error_type.into(),
            message: message.into(),
        }
    }

    /// A missing or wrong setting ([`CONFIG_ERROR`]).
    pub fn config(message: impl Into<String>) -> HandlerError {
        HandlerError::new(CONFIG_ERROR, message)
    }

    /// A failed AWS call or store access ([`AWS_ERROR`]), retryable.
    pub fn aws(message: impl Into<String>) -> HandlerError {
        HandlerError::new(AWS_ERROR, message)
    }

    /// An event the function does not handle ([`BAD_EVENT`]).
    pub fn bad_event(message: impl Into<String>) -> HandlerError {
        HandlerError::new(BAD_EVENT, message)
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for HandlerError {}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Diagnostic {
        Diagnostic {
            error_type: error.error_type,
            error_message: error.message,
        }
    }
}

impl From<cirrus_core::Error> for HandlerError {
    /// A cirrus-core error met while handling an event: the state DB, queue, a store or a
    /// sink failed (retryable), or the payload is wrong or refers to an object that does
    /// not exist (`InvalidInput`).
    fn from(error: cirrus_core::Error) -> HandlerError {
        use cirrus_core::Error as E;
        let name = match &error {
            E::InvalidPayload(_)
            | E::JsonPath { .. }
            | E::Regex { .. }
            | E::PathTemplate { .. }
            | E::ObjectNotFound(_) => "InvalidInput",
            _ => AWS_ERROR,
        };
        HandlerError::new(name, error.to_string())
    }
}

impl From<crate::Error> for HandlerError {
    fn from(error: crate::Error) -> HandlerError {
        match error {
            crate::Error::Core(core) => core.into(),
            crate::Error::Config { .. } => HandlerError::config(error.to_string()),
            other => HandlerError::aws(other.to_string()),
        }
    }
}
