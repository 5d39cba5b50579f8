//! Output formats and helpers shared by the commands.

use clap::ValueEnum;
use std::fmt::Display;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

/// How records are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// JSON Lines: one JSON object per record.
    Json,
}

/// Whether an error is a closed stdout (e.g. `cirrus … | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = match cause.downcast_ref::<io::Error>() {
            Some(e) => Some(e.kind()),
            // serde_json wraps the I/O error of a writer without exposing it as a source.
            None => cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind),
        };
        kind == Some(io::ErrorKind::BrokenPipe)
    })
}

/// Prints validation problems on stdout, one line each (`--format json`: one JSON array, `[]`
/// when there are none), and gives the validate commands' exit code: 1 when there are
/// problems, 0 otherwise (with `valid` on stderr unless `quiet`).
pub fn report_problems<P: Display + serde::Serialize>(
    problems: &[P],
    format: Format,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let mut out = BufWriter::new(io::stdout().lock());
    match format {
        Format::Json => {
            serde_json::to_writer(&mut out, problems)?;
            writeln!(out)?;
        }
        Format::Text => {
            for problem in problems {
                writeln!(out, "{problem}")?;
            }
        }
    }
    out.flush()?;
    if !problems.is_empty() {
        return Ok(ExitCode::from(1));
    }
    if !quiet {
        eprintln!("valid");
    }
    Ok(ExitCode::SUCCESS)
}

/// A text table with aligned columns, two spaces apart.
#[derive(Debug, Clone, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
    right_from: Option<usize>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<'a>(headers: impl IntoIterator<Item = &'a str>) -> Table {
        Table {
            rows: vec![headers.into_iter().map(str::to_string).collect()],
            right_from: None,
        }
    }

    /// Adds a row.
    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| c.replace(['\n', '\r', '\t'], " "))
                .collect(),
        );
    }

    /// Right-aligns the columns from `column` on (numbers).
    pub fn right_align_from(&mut self, column: usize) {
        self.right_from = Some(column);
    }

    /// Writes the table with its header.
    pub fn write(&self, out: &mut impl io::Write) -> io::Result<()> {
        self.write_rows(out, &self.rows)
    }

    /// Writes the rows without the header line.
    pub fn write_without_header(&self, out: &mut impl io::Write) -> io::Result<()> {
        self.write_rows(out, &self.rows[1..])
    }

    fn write_rows(&self, out: &mut impl io::Write, rows: &[Vec<String>]) -> io::Result<()> {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                rows.iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                let pad = widths[c].saturating_sub(cell.chars().count());
                let last = c + 1 == row.len();
                if self.right_from.is_some_and(|from| c >= from) {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if !last {
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}
