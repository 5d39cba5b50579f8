//! Deterministic execution names.

use uuid::Uuid;

/// The execution name `process` gives a payload: cirrus-geo's
/// `uuid5(NAMESPACE_URL, f"{payload_id}/{executions}")`, where `executions` is the Python
/// `repr` of the record's execution list before this claim (`[]` for a new payload).
///
/// The same payload with the same history always gets the same name, so a redelivered
/// message cannot start a second execution; each rerun gets a new one, because the list has
/// grown.
///
/// ```
/// use cirrus_core::pipeline::execution_name;
///
/// let first = execution_name("c/workflow-w/a", &[]);
/// assert_eq!(first, execution_name("c/workflow-w/a", &[]));
/// assert_ne!(first, execution_name("c/workflow-w/a", &[first.clone()]));
/// ```
pub fn execution_name(payload_id: &str, executions: &[String]) -> String {
    let name = format!("{payload_id}/{}", python_list_repr(executions));
    Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes()).to_string()
}

/// Python's `repr` of a list of strings: `['a', 'b']`.
fn python_list_repr(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&python_str_repr(item));
    }
    out.push(']');
    out
}

/// Python's `repr` of a `str`: single quotes unless the text holds a `'` and no `"`.
fn python_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_cirrus_geo() {
        // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, 'sar/workflow-test/a/[]'))"
        assert_eq!(
            execution_name("sar/workflow-test/a", &[]),
            "c3b89b54-0703-5d39-824d-e9d099f9fdb0"
        );
        // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, \"sar/workflow-test/a/['x', 'y']\"))"
        assert_eq!(
            execution_name("sar/workflow-test/a", &["x".into(), "y".into()]),
            "d383638b-a1bb-5fb1-9cf8-82e58cb99417"
        );
    }

    #[test]
    fn python_repr_quoting() {
        assert_eq!(python_str_repr("a"), "'a'");
        assert_eq!(python_str_repr("it's"), "\"it's\"");
        assert_eq!(python_str_repr("'\""), "'\\'\"'");
        assert_eq!(python_str_repr("a\\b\n"), "'a\\\\b\\n'");
    }
}
