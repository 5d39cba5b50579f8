//! The size check that decides when a payload must travel as a `{"url": …}` reference.
//!
//! Step Functions input and output reach update-state through EventBridge, which embeds them
//! as JSON **strings** and drops them when they are too large. cirrus-geo therefore measures a
//! payload as `len(json.dumps(json.dumps(payload)).encode())`: the payload serialized by
//! Python's `json` (`", "` and `": "` separators, non-ASCII escaped as `\uXXXX`), then escaped
//! once more as a string. [`escaped_len`] computes that exact number without building either
//! string, and [`must_travel_as_url`] compares it with [`MAX_PAYLOAD_LENGTH`].
//!
//! ```
//! use cirrus_core::payload::size::escaped_len;
//! use serde_json::json;
//!
//! // json.dumps({"a": "é"}) == '{"a": "\\u00e9"}'; json.dumps of that has 22 characters.
//! assert_eq!(escaped_len(&json!({"a": "é"})), 22);
//! ```

use serde_json::{Number, Value};

/// cirrus-geo 2.x `PayloadManager.MAX_PAYLOAD_LENGTH`: payloads whose double-escaped JSON is
/// longer than this many bytes travel as `{"url": …}` pointers.
pub const MAX_PAYLOAD_LENGTH: usize = 120_000;

/// Whether a payload (as JSON) must travel as a URL rather than inline.
pub fn must_travel_as_url(payload: &Value) -> bool {
    escaped_len(payload) > MAX_PAYLOAD_LENGTH
}

/// `len(json.dumps(json.dumps(value)).encode())`, computed exactly.
pub fn escaped_len(value: &Value) -> usize {
    // The outer dumps adds the two enclosing quotes; inner characters are counted by weight.
    2 + inner_weight(value)
}

/// The length that the Python `json.dumps` text of `value` takes once escaped as a string.
fn inner_weight(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => python_number(n).len(),
        Value::String(s) => string_weight(s),
        Value::Array(items) => {
            // "[" + items joined by ", " + "]"
            2 + items.iter().map(inner_weight).sum::<usize>() + 2 * items.len().saturating_sub(1)
        }
        Value::Object(map) => {
            // "{" + `"key": value` joined by ", " + "}"
            2 + map
                .iter()
                .map(|(k, v)| string_weight(k) + 2 + inner_weight(v))
                .sum::<usize>()
                + 2 * map.len().saturating_sub(1)
        }
    }
}

/// A JSON string as Python writes it (`ensure_ascii`), then escaped again.
fn string_weight(s: &str) -> usize {
    // The inner quotes become `\"` in the outer string: 2 each.
    4 + s.chars().map(char_weight).sum::<usize>()
}

fn char_weight(c: char) -> usize {
    match c {
        // inner `\"` / `\\` → outer `\\\"` / `\\\\`
        '"' | '\\' => 4,
        // inner `\n` etc. → outer `\\n`
        '\u{08}' | '\u{0c}' | '\n' | '\r' | '\t' => 3,
        ' '..='~' => 1,
        // Other control characters, DEL and all non-ASCII: inner `\uXXXX` → outer `\\uXXXX`;
        // characters beyond the BMP take a surrogate pair.
        c if (c as u32) > 0xFFFF => 14,
        _ => 7,
    }
}

/// A number as Python's `json.dumps` writes it: integers as digits, floats as `repr`.
pub fn python_number(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => python_float_repr(f),
        _ => n.to_string(),
    }
}

/// Python's `repr(float)`: the shortest round-trip digits, in fixed notation when the decimal
/// exponent is in `-4..16` (always with a `.0` or fraction), else as `1.5e+16` / `1e-05`.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("Rust's {:e} float format always has an exponent");
    let exp: i32 = exp.parse().expect("Rust's {:e} exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // position of the decimal point within `digits`
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{body}")
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn float_repr_matches_python() {
        // Expected values are Python 3.11's repr().
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (100.0, "100.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.2345e-7, "1.2345e-07"),
            (123456789.123, "123456789.123"),
            (-0.0, "-0.0"),
            (1e300, "1e+300"),
            (5e-324, "5e-324"),
            (0.30000000000000004, "0.30000000000000004"),
        ];
        for (f, want) in cases {
            assert_eq!(python_float_repr(f), want, "{f}");
        }
    }

    #[test]
    fn escaped_len_matches_python() {
        // Each expected value is len(json.dumps(json.dumps(v)).encode()) in Python 3.11.
        assert_eq!(escaped_len(&json!({})), 4);
        assert_eq!(escaped_len(&json!([])), 4);
        assert_eq!(
            escaped_len(&json!({"a": 1, "b": [1, 2.5, null, true, false]})),
            48
        );
        assert_eq!(escaped_len(&json!("q\"b\\n\nt\u{7f}\u{1}é😀")), 56);
        assert_eq!(escaped_len(&json!({"x": 1e-7, "y": 1e16})), 30);
    }

    #[test]
    fn threshold() {
        let small = json!({"features": [], "process": [{"workflow": "w"}]});
        assert!(!must_travel_as_url(&small));
        let big = json!({"blob": "x".repeat(MAX_PAYLOAD_LENGTH)});
        assert!(must_travel_as_url(&big));
    }
}
