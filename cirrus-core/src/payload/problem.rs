//! Validation problems and the JSON paths that locate them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One thing wrong with a payload, located by a JSON path such as
/// `$.process[0].upload_options.public_assets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// JSONPath of the offending value (`$` is the payload itself).
    pub path: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// `"a; b; c"` for a list of problems, used by [`crate::Error::InvalidPayload`].
pub(crate) fn problems_summary(problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, problem) in problems.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&problem.to_string());
    }
    out
}

/// The JSON path of a child member: `$.a.b`, or `$['eo:bands']` when the key is not a plain
/// identifier.
pub fn child(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if plain {
        format!("{parent}.{key}")
    } else {
        let escaped = key.replace('\\', "\\\\").replace('\'', "\\'");
        format!("{parent}['{escaped}']")
    }
}

/// The JSON path of an array element: `$.features[3]`.
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(child("$", "process"), "$.process");
        assert_eq!(child("$.a", "eo:bands"), "$.a['eo:bands']");
        assert_eq!(child("$", "it's"), "$['it\\'s']");
        assert_eq!(child("$", "3d"), "$['3d']");
        assert_eq!(index("$.features", 2), "$.features[2]");
    }
}
