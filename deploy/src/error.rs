//! The one error type of this crate.

use std::path::PathBuf;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while rendering, applying or operating a deployment, or in a handler.
///
/// Add a variant when a new kind of failure needs its own handling; keep messages naming the
/// field, file, resource or AWS operation at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is missing or wrong: `what` names it (a config field, an environment
    /// variable, an SSM parameter).
    #[error("{what}: {reason}")]
    Config {
        /// The setting at fault.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The AWS credentials are missing, expired or rejected. One line, with the fix.
    #[error("{0}")]
    Credentials(String),
    /// An AWS API call failed.
    #[error("{operation}: {message}")]
    Aws {
        /// The service and operation, e.g. `cloudformation:CreateStack`.
        operation: String,
        /// The service's message.
        message: String,
    },
    /// A CloudFormation stack did not reach the state asked for.
    #[error("stack {stack}: {reason}")]
    Stack {
        /// The stack name.
        stack: String,
        /// The final status and the failed resources' reasons.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An error from cirrus-core (state DB, queue, payload bucket, payloads).
    #[error(transparent)]
    Core(#[from] cirrus_core::Error),
}

impl Error {
    /// A [`Error::Config`] naming `what`.
    pub fn config(what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Config {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// An [`Error::Io`] on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
