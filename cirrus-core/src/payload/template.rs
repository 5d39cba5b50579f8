//! Payload templates: `$`-substitution of user-supplied variables.
//!
//! This is the engine behind `cirrus payload template`, and it follows the rules of
//! cirrus-geo's command of the same name:
//!
//! * `$name` and `${name}` are replaced by the value of the variable `name`. A name is an
//!   ASCII letter or `_`, followed by any number of ASCII letters, digits or `_`; the
//!   unbraced form takes the longest such run, so `$a_b` names `a_b` while `${a}_b` is `a`
//!   followed by the text `_b`. Names are case-sensitive.
//! * `${name?default}` is replaced by the value of `name`, or by `default` when `name` has no
//!   value. The default is everything up to the next `}` (so it can hold `?`, `:`, spaces or
//!   newlines, but never `}`), and it is used as it is: a `$` in it is not expanded.
//! * `$$` is a literal `$`.
//! * Any other `$` (followed by a digit, a space, `{` without a well-formed name, …) is a
//!   malformed placeholder: an [`Error::Template`] naming its line and column.
//! * A variable without value or default is an [`Error::TemplateVariable`].
//!
//! Substituted values are inserted verbatim: they are not expanded again, and nothing is
//! escaped (the output is not required to be JSON).
//!
//! When errors are silenced, the placeholders that could not be filled — undefined `$name`
//! and `${name}`, and lone `$` — are left in the output exactly as written, while `$$` still
//! becomes `$` and defaults still apply.
//!
//! Variables come from [`TemplateVars`]; a later value for a name replaces an earlier one.
//! Variable files (`VARFILE`s) are read with [`parse_var_file`] or
//! [`TemplateVars::load_var_file`]; see [`parse_var_file`] for their format.
//!
//! ```
//! use cirrus_core::payload::template::{TemplateVars, render};
//!
//! let mut vars = TemplateVars::new();
//! vars.load_var_file("collection=sentinel-2\nbucket='s3://old'\n", "vars.env")?;
//! vars.insert("bucket", "s3://new");
//!
//! let template = r#"{"collection": "$collection", "href": "${bucket}/x", "n": ${n?1}, "c": "$$5"}"#;
//! let rendered = render(template, &vars, false)?;
//! assert_eq!(
//!     rendered,
//!     r#"{"collection": "sentinel-2", "href": "s3://new/x", "n": 1, "c": "$5"}"#
//! );
//!
//! // An undefined variable is an error, unless errors are silenced.
//! assert!(render("$missing", &vars, false).is_err());
//! assert_eq!(render("$missing ${other}", &vars, true)?, "$missing ${other}");
//! # Ok::<(), cirrus_core::Error>(())
//! ```

use std::collections::BTreeMap;

use crate::{Error, Result};

/// Variables for a payload template; later sources override earlier ones.
///
/// A thin wrapper over an ordered map from variable name to value. Inserting a name that is
/// already present replaces its value, which is how precedence between sources works: load
/// the weakest source first and the strongest last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateVars {
    vars: BTreeMap<String, String>,
}

impl TemplateVars {
    /// An empty set of variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`, returning the value it replaces, if any.
    ///
    /// The name is not checked: a name that is not a valid template name can never be
    /// referenced by a template, but is not an error (as for cirrus-geo's `-x`).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.vars.insert(name.into(), value.into())
    }

    /// The value of `name`, if it has one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// How many variables are set.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// Whether no variable is set.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// The names and values, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    /// Parses a variable file (see [`parse_var_file`]) and sets its variables, overriding
    /// any already set. `file` names the file in error messages.
    ///
    /// Returns how many assignments the file holds. On error nothing is set.
    pub fn load_var_file(&mut self, text: &str, file: &str) -> Result<usize> {
        let pairs = parse_var_file(text, file)?;
        let count = pairs.len();
        self.extend(pairs);
        Ok(count)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for TemplateVars {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut vars = Self::new();
        vars.extend(iter);
        vars
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for TemplateVars {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (name, value) in iter {
            self.insert(name, value);
        }
    }
}

/// Renders `template`, filling its placeholders from `vars`.
///
/// See the [module documentation](self) for the syntax. With `silence_errors` false, the first
/// undefined variable (without default) is an [`Error::TemplateVariable`] and the first
/// malformed `$` an [`Error::Template`]; with it true, both are left in the output as written.
pub fn render(template: &str, vars: &TemplateVars, silence_errors: bool) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    // `pos`: start of the text not yet copied. `line`: line number of `line_pos`.
    let mut pos = 0;
    let mut line = 1;
    let mut line_pos = 0;

    while let Some(offset) = template[pos..].find('$') {
        let start = pos + offset;
        out.push_str(&template[pos..start]);
        line += count_newlines(&template[line_pos..start]);
        line_pos = start;

        let placeholder = parse_placeholder(&template[start + 1..]);
        // `end`: byte just past the placeholder (the `$` included).
        let (end, replacement) = match placeholder {
            Placeholder::Escaped => (start + 2, Some("$")),
            Placeholder::Named { name } => (start + 1 + name.len(), vars.get(name)),
            Placeholder::Braced { name, default, len } => {
                (start + 1 + len, vars.get(name).or(default))
            }
            Placeholder::Invalid => (start + 1, None),
        };

        match replacement {
            Some(value) => out.push_str(value),
            None if silence_errors => out.push_str(&template[start..end]),
            None => {
                return Err(match placeholder {
                    Placeholder::Named { name } | Placeholder::Braced { name, .. } => {
                        Error::TemplateVariable {
                            name: name.to_owned(),
                            line,
                        }
                    }
                    Placeholder::Escaped | Placeholder::Invalid => {
                        invalid_placeholder(template, start, line)
                    }
                });
            }
        }
        pos = end;
    }
    out.push_str(&template[pos..]);
    Ok(out)
}

/// What follows a `$` in a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder<'a> {
    /// `$$`.
    Escaped,
    /// `$name`.
    Named {
        /// The name.
        name: &'a str,
    },
    /// `${name}` or `${name?default}`.
    Braced {
        /// The name.
        name: &'a str,
        /// The default, if there is a `?`.
        default: Option<&'a str>,
        /// Bytes from `{` to `}`, both included.
        len: usize,
    },
    /// Anything else.
    Invalid,
}

/// Parses what follows a `$` (`after` starts just past the `$`).
fn parse_placeholder(after: &str) -> Placeholder<'_> {
    if after.starts_with('$') {
        return Placeholder::Escaped;
    }
    let named = name_len(after);
    if named > 0 {
        return Placeholder::Named {
            name: &after[..named],
        };
    }
    let Some(inner) = after.strip_prefix('{') else {
        return Placeholder::Invalid;
    };
    let braced = name_len(inner);
    if braced == 0 {
        return Placeholder::Invalid;
    }
    let name = &inner[..braced];
    let rest = &inner[braced..];
    if rest.starts_with('}') {
        // `{` + name + `}`.
        return Placeholder::Braced {
            name,
            default: None,
            len: braced + 2,
        };
    }
    if let Some(default_and_rest) = rest.strip_prefix('?')
        && let Some(close) = default_and_rest.find('}')
    {
        // `{` + name + `?` + default + `}`.
        return Placeholder::Braced {
            name,
            default: Some(&default_and_rest[..close]),
            len: braced + close + 3,
        };
    }
    Placeholder::Invalid
}

/// Length in bytes of the template name at the start of `text` (0 if there is none).
fn name_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => bytes
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .unwrap_or(bytes.len()),
        _ => 0,
    }
}

/// Whether `name` is a name that a template can reference.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name_len(name) == name.len()
}

fn count_newlines(text: &str) -> usize {
    text.bytes().filter(|b| *b == b'\n').count()
}

/// The error for a malformed `$` at byte `start`, on line `line`.
fn invalid_placeholder(template: &str, start: usize, line: usize) -> Error {
    let line_start = template[..start].rfind('\n').map_or(0, |i| i + 1);
    let column = template[line_start..start].chars().count() + 1;
    let shown: String = template[start..]
        .chars()
        .take_while(|c| *c != '\n')
        .take(12)
        .collect();
    Error::Template(format!(
        "invalid placeholder {shown:?} at line {line}, column {column}: `$` must be followed \
         by a name, `{{name}}` or `{{name?default}}`; write `$$` for a literal `$`"
    ))
}

/// Parses a variable file (`VARFILE`) into `(name, value)` pairs, in file order.
///
/// The format is that of cirrus-geo's variable files, `NAME=VALUE` on each line, with a few
/// additions (marked *extension*) that only give a meaning to lines cirrus-geo rejects:
///
/// * `NAME` runs up to the first `=`. It must be a valid template name (an ASCII letter or
///   `_`, then ASCII letters, digits or `_`); spaces or tabs around it are ignored.
/// * `VALUE` is split into words like a POSIX shell (Python's `shlex.split`) would, and must
///   be exactly one word: `'single quotes'` keep everything literally, `"double quotes"`
///   honour `\"` and `\\` only, and outside quotes a `\` makes the next character literal.
///   So `a=two words` is an error but `a="two words"` is fine. Nothing is expanded: a `$`
///   in a value stays a `$`.
/// * *Extension:* an empty value (`NAME=`) is the empty string, like `NAME=""`.
/// * *Extension:* blank lines, and lines whose first non-blank character is `#`, are
///   skipped. There are no trailing comments: `a=b # note` is two words, an error.
/// * *Extension:* an `export ` before the name is ignored.
/// * *Extension:* a `=` in the value is allowed (`a=x=y` gives `x=y`).
/// * A later assignment to a name replaces an earlier one (callers get both pairs in order).
///
/// Every error is an [`Error::Template`] whose message starts with `file:line:`.
pub fn parse_var_file(text: &str, file: &str) -> Result<Vec<(String, String)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut pairs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let fail = |message: String| Error::Template(format!("{file}:{line_number}: {message}"));

        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let assignment = strip_export(trimmed);
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(fail(format!(
                "expected NAME=VALUE, found {:?}",
                truncate(line, 40)
            )));
        };
        let name = name.trim_matches([' ', '\t']);
        if !is_valid_name(name) {
            return Err(fail(format!(
                "invalid variable name {:?}: a name is an ASCII letter or `_` followed by \
                 ASCII letters, digits or `_`",
                truncate(name, 40)
            )));
        }
        let mut words = split_words(value).map_err(|message| fail(message.to_owned()))?;
        let value = match words.len() {
            0 => String::new(),
            1 => words.remove(0),
            n => {
                return Err(fail(format!(
                    "the value of {name} is {n} words; quote it (NAME=\"a b\"), and put comments \
                     on their own line"
                )));
            }
        };
        pairs.push((name.to_owned(), value));
    }
    Ok(pairs)
}

/// `text` without a leading `export` keyword (followed by spaces or tabs), if it has one.
fn strip_export(text: &str) -> &str {
    match text.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start_matches([' ', '\t']),
        _ => text,
    }
}

/// At most `max` characters of `text`, with `…` if it was cut.
fn truncate(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let mut short: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        short.push('…');
    }
    short
}

/// Where [`split_words`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between words.
    Space,
    /// In a word, outside quotes.
    Word,
    /// Inside `'…'`.
    Single,
    /// Inside `"…"`.
    Double,
}

/// Splits `text` into words the way Python's `shlex.split` does (POSIX mode, no comments).
fn split_words(text: &str) -> std::result::Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Space;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Space | State::Word => match c {
                ' ' | '\t' | '\r' | '\n' => {
                    if state == State::Word {
                        words.push(std::mem::take(&mut word));
                        state = State::Space;
                    }
                }
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '\\' => {
                    let escaped = chars.next().ok_or("a `\\` ends the line")?;
                    word.push(escaped);
                    state = State::Word;
                }
                _ => {
                    word.push(c);
                    state = State::Word;
                }
            },
            State::Single => match c {
                '\'' => state = State::Word,
                _ => word.push(c),
            },
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => {
                    let escaped = chars.next().ok_or("a `\\` ends the line")?;
                    if escaped != '"' && escaped != '\\' {
                        word.push('\\');
                    }
                    word.push(escaped);
                }
                _ => word.push(c),
            },
        }
    }
    match state {
        State::Space => {}
        State::Word => words.push(word),
        State::Single | State::Double => return Err("a quotation is not closed"),
    }
    Ok(words)
}

#[cfg(test)]
mod tests;
