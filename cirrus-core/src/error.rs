//! The error type of `cirrus-core`.

use crate::payload::Problem;

/// Everything that can go wrong in `cirrus-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A payload failed validation; every problem found is listed, each with its JSON path.
    #[error("invalid payload: {}", crate::payload::problems_summary(.0))]
    InvalidPayload(Vec<Problem>),

    /// A JSONPath expression (a `chain_filter` or a `collection_matchers` pattern) does not
    /// parse in the jsonpath-ng dialect.
    #[error("invalid JSONPath {expression:?} at character {position}: {message}")]
    JsonPath {
        /// The expression as given.
        expression: String,
        /// Character offset (0-based) in `expression` where parsing failed.
        position: usize,
        /// What was expected or found there.
        message: String,
    },

    /// A regular expression inside a JSONPath filter (`=~`) does not compile.
    #[error("invalid regular expression {pattern:?} in JSONPath filter: {source}")]
    Regex {
        /// The pattern as given.
        pattern: String,
        /// The underlying compile error.
        #[source]
        source: Box<regex::Error>,
    },

    /// A `path_template` could not be rendered for an item.
    #[error("cannot render path_template {template:?} for item {item_id:?}: {message}")]
    PathTemplate {
        /// The template as given.
        template: String,
        /// The id of the item being rendered.
        item_id: String,
        /// Which variable failed and why.
        message: String,
    },

    /// A payload template (`$var`, `${var}`, `${var?default}`) names a variable that has no
    /// value and no default.
    #[error("payload template: variable {name:?} (line {line}) has no value and no default")]
    TemplateVariable {
        /// The variable's name.
        name: String,
        /// 1-based line of the template where it appears.
        line: usize,
    },

    /// A payload template or variable file is malformed.
    #[error("payload template: {0}")]
    Template(String),

    /// No state record exists for this payload ID.
    #[error("no state record for payload {0:?}")]
    NotFound(String),

    /// A state DB query or argument is malformed: a bad duration, state name, page token, …
    /// `field` names the argument.
    #[error("{field}: {message}")]
    InvalidArgument {
        /// The argument or field at fault (`since`, `state`, `page`, …).
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// The state DB failed: it could not be opened or migrated, a statement failed, or the
    /// remote service returned an error.
    #[error("state DB ({backend}): {message}")]
    StateDb {
        /// `sqlite` or `dynamodb`.
        backend: &'static str,
        /// What was being done, and what went wrong.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The process queue failed: it could not be opened or migrated, a statement failed, or
    /// the remote service returned an error.
    #[error("queue ({backend}): {message}")]
    Queue {
        /// `sqlite` or `sqs`.
        backend: &'static str,
        /// What was being done, and what went wrong.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// An object store (the payload bucket, or where items are published) failed: a URL does
    /// not name a store, a key is not a valid object path, or a read, write or listing failed.
    #[error("object store: {url}: {message}")]
    Store {
        /// The object, prefix or store URL concerned.
        url: String,
        /// What was being done, and what went wrong.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// No object exists at this URL (or, for a payload's latest execution, under this prefix).
    #[error("no object at {0}")]
    ObjectNotFound(String),

    /// A workflow definition is not valid Amazon States Language; every problem found is
    /// listed, each with the JSON path of the bad field.
    #[error("invalid workflow definition: {}", crate::payload::problems_summary(.0))]
    InvalidWorkflow(Vec<Problem>),

    /// A message sink (workflow events, published items) failed to write or read.
    #[error("message sink ({sink}): {message}")]
    Sink {
        /// Which sink: `ndjson <path>`, `sns <topic>`, …
        sink: String,
        /// What was being done, and what went wrong.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// JSON (de)serialization failed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::StateDb`] error with a source.
    pub fn state_db(
        backend: &'static str,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::StateDb {
            backend,
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A [`Error::Queue`] error with a source.
    pub fn queue(
        backend: &'static str,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Queue {
            backend,
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An [`Error::InvalidArgument`] error.
    pub fn invalid_argument(field: &'static str, message: impl Into<String>) -> Error {
        Error::InvalidArgument {
            field,
            message: message.into(),
        }
    }
}
