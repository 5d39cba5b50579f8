//! The [`Feeder`] trait: a source of STAC items or payloads, read as a stream.

use crate::Result;
use futures_util::TryStreamExt;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use serde_json::Value;

/// A position in a feeder's source, written to the checkpoint file once everything before it
/// has been sent. Opaque JSON: only the feeder that made it reads it back.
pub type Cursor = Value;

/// What a feeder found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// A STAC item; the runner groups items into payloads with the process template.
    Item(Value),
    /// A whole process payload, sent as it is (`rerun` finds these).
    Payload(Value),
    /// Something found and left out, with the reason (counted as skipped).
    Skipped(String),
}

/// One thing found, and the position just after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// What was found.
    pub found: Found,
    /// Where to resume so that the next record is the one after this. `None` when this is not
    /// a place a feed can resume from (the checkpoint then stays at the last one that is).
    pub cursor: Option<Cursor>,
}

impl Record {
    /// A record with a cursor.
    pub fn new(found: Found, cursor: Cursor) -> Record {
        Record {
            found,
            cursor: Some(cursor),
        }
    }
}

/// The stream of records a feeder yields.
pub type Records = BoxStream<'static, Result<Record>>;

/// A page of records and the position of the next page; `None` after the last page.
pub(crate) type Page<P> = Option<(Vec<Result<Record>>, P)>;

/// A feeder that reads its source page by page from a position it can resume from.
pub(crate) trait Pages: Send + Sized + 'static {
    /// Where a page starts.
    type Position: Send + 'static;

    /// The page at `at`.
    fn page(&self, at: Self::Position)
    -> impl Future<Output = Result<Page<Self::Position>>> + Send;
}

/// The records of `feeder`'s pages from `start` on (a bad `start`, such as a checkpoint that
/// is not the feeder's, is the stream's only item).
pub(crate) fn pages<F: Pages>(feeder: F, start: Result<F::Position>) -> Records {
    futures_util::stream::try_unfold((feeder, start), |(feeder, at)| async move {
        let at = at?;
        match feeder.page(at).await? {
            Some((records, next)) => Ok::<_, crate::Error>(Some((
                futures_util::stream::iter(records),
                (feeder, Ok(next)),
            ))),
            None => Ok(None),
        }
    })
    .try_flatten()
    .boxed()
}

/// A source of STAC items or process payloads.
///
/// A feeder yields a **stream**: it reads its source page by page and never holds it all in
/// memory. Each [`Record`] carries a [`Cursor`]; given the cursor of a record back, the
/// feeder must yield exactly the records after it, which is how an interrupted feed resumes
/// without duplicates or gaps.
///
/// ```
/// use cirrus_feeders::{Feeder, Found, Record, Records};
/// use futures_util::StreamExt;
/// use serde_json::json;
///
/// /// Items `scene-0` … `scene-{n-1}`; the cursor is the next index.
/// struct Numbers(u64);
///
/// impl Feeder for Numbers {
///     fn name(&self) -> &str {
///         "numbers"
///     }
///
///     fn records(self: Box<Self>, resume: Option<serde_json::Value>) -> Records {
///         let start = resume.and_then(|c| c.as_u64()).unwrap_or(0);
///         futures_util::stream::iter(start..self.0)
///             .map(|i| Ok(Record::new(Found::Item(json!({"id": format!("scene-{i}")})), json!(i + 1))))
///             .boxed()
///     }
/// }
/// ```
pub trait Feeder: Send {
    /// A short name (`stac-api`); a checkpoint written by another feeder is refused.
    fn name(&self) -> &str;

    /// The records from `resume` on: those after the record whose cursor `resume` is, or all
    /// of them when it is `None`.
    fn records(self: Box<Self>, resume: Option<Cursor>) -> Records;
}

/// A feeder over any stream of records, for the cases where a whole type is too much.
/// Resuming is not supported: `resume` must be `None` (the runner refuses a checkpoint for it).
pub fn from_stream<S>(name: impl Into<String>, records: S) -> Box<dyn Feeder>
where
    S: Stream<Item = Result<Record>> + Send + 'static,
{
    Box::new(StreamFeeder {
        name: name.into(),
        records: records.boxed(),
    })
}

struct StreamFeeder {
    name: String,
    records: Records,
}

impl Feeder for StreamFeeder {
    fn name(&self) -> &str {
        &self.name
    }

    fn records(self: Box<Self>, resume: Option<Cursor>) -> Records {
        match resume {
            None => self.records,
            Some(_) => futures_util::stream::once(async {
                Err(crate::Error::invalid_argument(
                    "checkpoint",
                    "this feeder cannot resume from a checkpoint",
                ))
            })
            .boxed(),
        }
    }
}
