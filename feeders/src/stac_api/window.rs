//! Datetime windows: how a search over a long period is split into smaller searches when it
//! matches more items than the server returns for one search (its result cap).

use crate::{Error, Result};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Where an open range (`../2024-01-01T00:00:00Z`, or no datetime) starts when it is split.
pub const OPEN_START: &str = "1900-01-01T00:00:00Z";
/// Where an open range ends when it is split.
pub const OPEN_END: &str = "2100-01-01T00:00:00Z";

/// An inclusive datetime range `start/end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// The first instant.
    pub start: DateTime<Utc>,
    /// The last instant.
    pub end: DateTime<Utc>,
}

impl Window {
    /// The range of a search's `datetime` (a single instant, `a/b`, with `..` or empty for
    /// open ends); no datetime is the whole open range.
    pub fn of_search(datetime: Option<&str>) -> Result<Window> {
        let parse = |text: &str, open: &str| -> Result<DateTime<Utc>> {
            let text = if text.is_empty() || text == ".." {
                open
            } else {
                text
            };
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    Error::invalid_argument(
                        "source.datetime",
                        format!("{text:?} is not an RFC 3339 datetime: {e}"),
                    )
                })
        };
        let Some(datetime) = datetime else {
            return Ok(Window {
                start: parse("", OPEN_START)?,
                end: parse("", OPEN_END)?,
            });
        };
        let window = match datetime.split_once('/') {
            Some((a, b)) => Window {
                start: parse(a, OPEN_START)?,
                end: parse(b, OPEN_END)?,
            },
            None => {
                let t = parse(datetime, OPEN_START)?;
                Window { start: t, end: t }
            }
        };
        if window.start > window.end {
            return Err(Error::invalid_argument(
                "source.datetime",
                format!("{datetime:?} ends before it starts"),
            ));
        }
        Ok(window)
    }

    /// As a search's `datetime`.
    pub fn to_datetime(&self) -> String {
        let f = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        format!("{}/{}", f(&self.start), f(&self.end))
    }

    /// The two halves, `start..=mid` and `mid+1µs..=end`, or `None` when the window is no
    /// longer than `min`.
    pub fn split(&self, min: Duration) -> Option<(Window, Window)> {
        let length = self.end - self.start;
        if length <= min || length < Duration::microseconds(2) {
            return None;
        }
        let mid = self.start + length / 2;
        Some((
            Window {
                start: self.start,
                end: mid,
            },
            Window {
                start: mid + Duration::microseconds(1),
                end: self.end,
            },
        ))
    }
}

/// The instant an item starts at: `properties.start_datetime`, else `properties.datetime`.
pub fn item_start(item: &serde_json::Map<String, serde_json::Value>) -> Option<DateTime<Utc>> {
    let properties = item.get("properties")?.as_object()?;
    let text = properties
        .get("start_datetime")
        .and_then(|v| v.as_str())
        .or_else(|| properties.get("datetime").and_then(|v| v.as_str()))?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_and_split() {
        let w = Window::of_search(Some("2020-01-01T00:00:00Z/2020-01-03T00:00:00Z")).unwrap();
        let (a, b) = w.split(Duration::seconds(1)).unwrap();
        assert_eq!(a.to_datetime(), "2020-01-01T00:00:00Z/2020-01-02T00:00:00Z");
        assert_eq!(
            b.to_datetime(),
            "2020-01-02T00:00:00.000001Z/2020-01-03T00:00:00Z"
        );
        assert!(w.split(Duration::days(2)).is_none());
        let open = Window::of_search(Some("../2000-01-01T00:00:00Z")).unwrap();
        assert_eq!(open.start.to_rfc3339(), "1900-01-01T00:00:00+00:00");
        let instant = Window::of_search(Some("2000-01-01T00:00:00Z")).unwrap();
        assert!(instant.split(Duration::zero()).is_none());
        assert!(Window::of_search(Some("2001-01-01T00:00:00Z/2000-01-01T00:00:00Z")).is_err());
        let err = Window::of_search(Some("yesterday"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("source.datetime: \"yesterday\""), "{err}");
    }
}
