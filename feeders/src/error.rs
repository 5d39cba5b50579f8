//! The error type of `cirrus-feeders`.

use std::path::PathBuf;

/// Everything that can go wrong while feeding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A feeder config file cannot be read or is not valid; names the file and the field.
    #[error("{file}: {message}")]
    Config {
        /// The config file.
        file: String,
        /// The field at fault (a dotted path) and what is wrong with it.
        message: String,
    },

    /// An HTTP request failed for good (after its retries, or with a status not worth retrying).
    #[error("{method} {url}: {message}")]
    Http {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL requested.
        url: String,
        /// What went wrong, with the status and the start of the body when there is one.
        message: String,
    },

    /// A response or document that is not what the feeder expects (not JSON, not an item
    /// collection, a catalog without links, …).
    #[error("{url}: {message}")]
    InvalidDocument {
        /// Where it came from.
        url: String,
        /// What is wrong with it.
        message: String,
    },

    /// The checkpoint file cannot be read or written, or belongs to another feed.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// A local file or folder cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The feed was set up wrongly: a missing process template, a zero batch size, …
    #[error("{field}: {message}")]
    InvalidArgument {
        /// The option or config field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// The sink could not take the payloads (writing to stdout failed, …).
    #[error("sink {sink}: {message}")]
    Sink {
        /// Which sink.
        sink: &'static str,
        /// What went wrong.
        message: String,
    },

    /// An error of `cirrus-core` (the queue, the state DB, the payload bucket, an object store).
    #[error(transparent)]
    Core(#[from] cirrus_core::Error),
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidArgument`].
    pub fn invalid_argument(field: &'static str, message: impl Into<String>) -> Error {
        Error::InvalidArgument {
            field,
            message: message.into(),
        }
    }
}
