//! The crate's one error type, and how each error maps to a task error class.

use cirrus_core::task::{ErrorClass, TaskError};
use std::path::PathBuf;

/// What can go wrong in a built-in task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An ENVI scene (header or image) is malformed, truncated or inconsistent. The input
    /// is wrong: the payload becomes INVALID.
    #[error("{}: {message}", path.display())]
    Envi {
        /// The header or image file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// A task parameter (`process[0].tasks.<task>.<name>`) is missing or wrong: INVALID.
    #[error("parameter {name}: {message}")]
    Parameter {
        /// The parameter's name.
        name: String,
        /// What is wrong with it.
        message: String,
    },

    /// An input item lacks something the task needs (an asset, `eo:bands`, a band in
    /// range…): INVALID.
    #[error("item {item:?}: {message}")]
    Item {
        /// The item's ID.
        item: String,
        /// What is missing or wrong.
        message: String,
    },

    /// An asset cannot be read: its href names nothing, or its store refuses it.
    #[error("asset {href}: {message}")]
    Asset {
        /// The asset's href.
        href: String,
        /// What went wrong.
        message: String,
    },

    /// GDAL failed on a file it was given.
    #[cfg(feature = "gdal")]
    #[error("GDAL: {context}: {source}")]
    Gdal {
        /// What was being done, and on which file.
        context: String,
        /// GDAL's own error.
        #[source]
        source: gdal::errors::GdalError,
    },

    /// A local file could not be read or written.
    #[error("{}: {message}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        message: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// cirrus-core failed (the object store, a path template, a payload).
    #[error(transparent)]
    Core(#[from] cirrus_core::Error),
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::Envi`] error.
    pub fn envi(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::Envi {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A [`Error::Parameter`] error.
    pub fn parameter(name: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Parameter {
            name: name.into(),
            message: message.into(),
        }
    }

    /// A [`Error::Item`] error.
    pub fn item(item: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Item {
            item: item.into(),
            message: message.into(),
        }
    }

    /// A [`Error::Asset`] error.
    pub fn asset(href: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Asset {
            href: href.into(),
            message: message.into(),
        }
    }

    /// A [`Error::Gdal`] error; `context` says what was done on which file.
    #[cfg(feature = "gdal")]
    pub fn gdal(context: impl Into<String>, source: gdal::errors::GdalError) -> Error {
        Error::Gdal {
            context: context.into(),
            source,
        }
    }

    /// A [`Error::Io`] error.
    pub fn io(
        path: impl Into<PathBuf>,
        message: impl Into<String>,
        source: std::io::Error,
    ) -> Error {
        Error::Io {
            path: path.into(),
            message: message.into(),
            source,
        }
    }

    /// What a workflow makes of this error: wrong input is `Invalid` (the payload becomes
    /// INVALID, and retrying cannot help); everything else is `Failed`.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Envi { .. }
            | Error::Parameter { .. }
            | Error::Item { .. }
            | Error::Asset { .. } => ErrorClass::Invalid,
            #[cfg(feature = "gdal")]
            Error::Gdal { .. } => ErrorClass::Failed,
            Error::Io { .. } | Error::Core(_) => ErrorClass::Failed,
        }
    }
}

impl From<Error> for TaskError {
    fn from(error: Error) -> TaskError {
        TaskError::new(error.class(), error.to_string())
    }
}
