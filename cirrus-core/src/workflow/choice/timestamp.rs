//! What a timestamp is, for `IsTimestamp`, the `Timestamp…` comparisons and Wait states.

use chrono::{DateTime, FixedOffset};

/// Parses an ASL timestamp: RFC 3339 with the ASL specification's further restrictions, an
/// uppercase `T` between date and time and an uppercase `Z` when there is no numeric offset
/// (`2016-03-14T01:59:00Z`, `2016-03-14T01:59:00.123+01:00`). `None` when `text` is not one.
///
/// chrono's RFC 3339 parser is more lenient than the specification (it takes a lowercase `t`
/// or `z`, a space between date and time, and a Unicode minus sign in the offset); those are
/// refused here. Fractional seconds of any length are allowed (past nanoseconds they are
/// ignored), and so is a leap second (`:60`).
pub fn parse_timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    let strict = text.is_ascii() && text.as_bytes().get(10) == Some(&b'T') && !text.contains('z');
    if !strict {
        return None;
    }
    DateTime::parse_from_rfc3339(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc3339_with_fractions_and_offsets() {
        for text in [
            "2016-03-14T01:59:00Z",
            "2016-03-14T01:59:00.123Z",
            "2016-03-14T01:59:00.123456789123Z",
            "2016-03-14T01:59:00+01:00",
            "2016-03-14T01:59:00-05:30",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(parse_timestamp(text).is_some(), "{text}");
        }
    }

    #[test]
    fn refuses_what_the_specification_refuses() {
        for text in [
            "2016-03-14t01:59:00Z",
            "2016-03-14T01:59:00z",
            "2016-03-14 01:59:00Z",
            "2016-03-14T01:59:00",
            "2016-03-14T01:59:00\u{2212}01:00",
            "2016-03-14T01:59Z",
            "2016-03-14",
            "2016-02-30T01:59:00Z",
            "2016-03-14T24:00:00Z",
            "2016-03-14T01:59:00.Z",
            "2016-03-14T01:59:00+0100",
            " 2016-03-14T01:59:00Z",
            "2016-03-14T01:59:00Z ",
            "",
        ] {
            assert!(parse_timestamp(text).is_none(), "{text}");
        }
    }

    #[test]
    fn offsets_denote_the_same_instant() {
        let a = parse_timestamp("2016-03-14T01:59:00+01:00").expect("a timestamp");
        let b = parse_timestamp("2016-03-14T00:59:00Z").expect("a timestamp");
        assert_eq!(a, b);
    }
}
