//! NDJSON split into batches of whole lines, for commands that process lines in parallel.
//!
//! Two sources give the same [`Batch`]es:
//!
//! - [`Chunks`] reads any stream in large chunks straight into recycled buffers;
//! - [`Mapped`] walks a memory-mapped file without copying it; a batch's pages are released
//!   once it is written ([`Mapped::release`]), so memory stays at a few batches.

use crate::input::{NumberedLine, Reader, RecordError, trim_line_break};
use memmap2::{Mmap, UncheckedAdvice};
use std::io::Read;
use std::ops::Range;

/// Bytes of input per batch.
pub const BATCH_BYTES: usize = 4 << 20;

/// Pages are released on this alignment, a multiple of every common page size.
const RELEASE_ALIGN: usize = 64 << 10;

/// Whole lines of NDJSON: where their bytes are, and each non-blank line's number (1-based)
/// and range, line break excluded.
pub struct Batch {
    /// The batch's bytes.
    pub data: Data,
    /// `(line number, range in the batch's bytes)` of each non-blank line.
    pub lines: Vec<(usize, Range<usize>)>,
}

/// Where a batch's bytes are.
pub enum Data {
    /// In a buffer of its own (offsets start at 0).
    Owned(Vec<u8>),
    /// This range of the mapped file (offsets are file offsets).
    Mapped(Range<usize>),
}

impl Batch {
    /// The bytes that `lines` index into: the buffer, or the whole mapped file.
    pub fn bytes<'a>(&'a self, map: Option<&'a Mmap>) -> &'a [u8] {
        match (&self.data, map) {
            (Data::Owned(buf), _) => buf,
            (Data::Mapped(_), Some(map)) => map,
            (Data::Mapped(_), None) => &[],
        }
    }
}

/// Appends the non-blank lines of `bytes[start..end]` to `lines`, numbering them from
/// `*next_line`, which ends one past the last line.
fn split_lines(
    bytes: &[u8],
    range: Range<usize>,
    next_line: &mut usize,
    lines: &mut Vec<(usize, Range<usize>)>,
) {
    let mut start = range.start;
    let region = &bytes[range.clone()];
    let ends = memchr::memchr_iter(b'\n', region)
        .map(|i| range.start + i)
        .chain((region.last() != Some(&b'\n')).then_some(range.end));
    for end in ends {
        let line = trim_line_break(&bytes[start..end]);
        if !line.iter().all(u8::is_ascii_whitespace) {
            lines.push((*next_line, start..start + line.len()));
        }
        *next_line += 1;
        start = end + 1;
    }
}

/// Batches read from a stream.
pub struct Chunks {
    reader: Reader,
    /// Bytes read past the last complete line of the previous batch.
    carry: Vec<u8>,
    /// Number of the next line to start (1-based).
    next_line: usize,
    eof: bool,
}

impl Chunks {
    /// Batches of `reader`, whose first line (already read) is `first`.
    pub fn new(first: Option<NumberedLine>, reader: Reader) -> Chunks {
        let (next_line, carry) = match first {
            Some((number, mut line)) => {
                if line.last() != Some(&b'\n') {
                    line.push(b'\n');
                }
                (number, line)
            }
            None => (1, Vec::new()),
        };
        Chunks {
            reader,
            carry,
            next_line,
            eof: false,
        }
    }

    /// Fills `buf` with about [`BATCH_BYTES`] of whole lines; `None` at the end.
    pub fn next_batch(&mut self, mut buf: Vec<u8>) -> Result<Option<Batch>, RecordError> {
        buf.clear();
        buf.append(&mut self.carry);
        loop {
            while buf.len() < BATCH_BYTES && !self.eof {
                let chunk = (BATCH_BYTES - buf.len()).max(1 << 16) as u64;
                // `read_to_end` fills spare capacity without zeroing it first.
                let n = (&mut self.reader)
                    .take(chunk)
                    .read_to_end(&mut buf)
                    .map_err(|err| RecordError {
                        line: self.next_line,
                        column: None,
                        message: format!("read error: {err}"),
                        recoverable: false,
                    })?;
                self.eof = n == 0;
            }
            if self.eof {
                break;
            }
            match memchr::memrchr(b'\n', &buf) {
                Some(end) => {
                    self.carry.extend_from_slice(&buf[end + 1..]);
                    buf.truncate(end + 1);
                    break;
                }
                // A line longer than a batch: keep reading until it ends.
                None => buf.reserve(BATCH_BYTES),
            }
        }
        if buf.is_empty() {
            return Ok(None);
        }
        let mut lines = Vec::with_capacity(buf.len() / 8192 + 1);
        split_lines(&buf, 0..buf.len(), &mut self.next_line, &mut lines);
        Ok(Some(Batch {
            data: Data::Owned(buf),
            lines,
        }))
    }
}

/// Batches of a memory-mapped file.
pub struct Mapped<'a> {
    map: &'a Mmap,
    pos: usize,
    next_line: usize,
}

impl<'a> Mapped<'a> {
    /// Batches of the whole of `map`, from line 1.
    pub fn new(map: &'a Mmap) -> Mapped<'a> {
        Mapped {
            map,
            pos: 0,
            next_line: 1,
        }
    }

    /// The next batch of about [`BATCH_BYTES`] of whole lines; `None` at the end. Reading the
    /// lines also faults the batch's pages in, here rather than in the workers.
    pub fn next_batch(&mut self) -> Option<Batch> {
        let len = self.map.len();
        if self.pos >= len {
            return None;
        }
        let limit = (self.pos + BATCH_BYTES).min(len);
        let end = if limit == len {
            len
        } else {
            match memchr::memrchr(b'\n', &self.map[self.pos..limit]) {
                Some(i) => self.pos + i + 1,
                // A line longer than a batch: the batch ends with it.
                None => memchr::memchr(b'\n', &self.map[limit..]).map_or(len, |i| limit + i + 1),
            }
        };
        let range = self.pos..end;
        let mut lines = Vec::with_capacity(range.len() / 8192 + 1);
        split_lines(self.map, range.clone(), &mut self.next_line, &mut lines);
        self.pos = end;
        Some(Batch {
            data: Data::Mapped(range),
            lines,
        })
    }

    /// Releases from memory the pages of `released..end`, rounded down to whole pages, and
    /// returns where the released part now ends. Callers release in input order, up to the
    /// end of the last batch whose processing is over, so that the page holding the start of
    /// the next batch, still being read, is kept (they stay in the page cache either way).
    pub fn release(map: &Mmap, released: usize, end: usize) -> usize {
        let end = end / RELEASE_ALIGN * RELEASE_ALIGN;
        if end > released {
            // SAFETY: every batch before `end` has been processed and no borrow of its bytes
            // is alive; the aligned end never reaches into a batch still being read. The map
            // is a read-only shared file mapping, so a released page would read back the same
            // file contents anyway.
            let _ = unsafe {
                map.unchecked_advise_range(UncheckedAdvice::DontNeed, released, end - released)
            };
            end
        } else {
            released
        }
    }
}
