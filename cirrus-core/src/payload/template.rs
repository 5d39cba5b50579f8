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
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> TemplateVars {
        pairs.iter().copied().collect()
    }

    fn ok(template: &str, pairs: &[(&str, &str)]) -> String {
        match render(template, &vars(pairs), false) {
            Ok(text) => text,
            Err(err) => panic!("rendering {template:?} failed: {err}"),
        }
    }

    fn silenced(template: &str, pairs: &[(&str, &str)]) -> String {
        match render(template, &vars(pairs), true) {
            Ok(text) => text,
            Err(err) => panic!("rendering {template:?} (silenced) failed: {err}"),
        }
    }

    fn err(template: &str, pairs: &[(&str, &str)]) -> Error {
        match render(template, &vars(pairs), false) {
            Ok(text) => panic!("rendering {template:?} gave {text:?}, expected an error"),
            Err(err) => err,
        }
    }

    fn file_err(text: &str) -> String {
        match parse_var_file(text, "my.env") {
            Ok(pairs) => panic!("parsing {text:?} gave {pairs:?}, expected an error"),
            Err(err) => err.to_string(),
        }
    }

    fn file_ok(text: &str) -> Vec<(String, String)> {
        match parse_var_file(text, "my.env") {
            Ok(pairs) => pairs,
            Err(err) => panic!("parsing {text:?} failed: {err}"),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn plain_names() {
        assert_eq!(ok("id: $id.", &[("id", "x-1")]), "id: x-1.");
        assert_eq!(ok("$A$b", &[("A", "1"), ("b", "2")]), "12");
        assert_eq!(ok("$_x9", &[("_x9", "v")]), "v");
        assert_eq!(ok("$a-b", &[("a", "1")]), "1-b");
        assert_eq!(ok("$a?b", &[("a", "1")]), "1?b");
    }

    #[test]
    fn names_are_case_sensitive() {
        assert!(matches!(
            err("$Name", &[("name", "v")]),
            Error::TemplateVariable { name, line: 1 } if name == "Name"
        ));
    }

    #[test]
    fn braced_names() {
        assert_eq!(ok("${a}${b}", &[("a", "x"), ("b", "y")]), "xy");
        assert_eq!(ok("pre${a}post", &[("a", "-")]), "pre-post");
    }

    #[test]
    fn unbraced_name_is_the_longest_run() {
        let both = [("a", "A"), ("a_b", "AB")];
        assert_eq!(ok("$a_b", &both), "AB");
        assert_eq!(ok("${a}_b", &both), "A_b");
        assert!(matches!(
            err("$a_b", &[("a", "A")]),
            Error::TemplateVariable { name, .. } if name == "a_b"
        ));
    }

    #[test]
    fn defaults() {
        assert_eq!(ok("${n?5}", &[]), "5");
        assert_eq!(ok("${n?5}", &[("n", "7")]), "7");
        assert_eq!(ok("[${n?}]", &[]), "[]");
        assert_eq!(ok("${n?}", &[("n", "")]), "");
        assert_eq!(ok("${u?https://h:1/p?q=1&r}", &[]), "https://h:1/p?q=1&r");
        assert_eq!(ok("${d?two words}", &[]), "two words");
        assert_eq!(ok("${d?x\ny}|", &[]), "x\ny|");
        // The first `}` ends the default.
        assert_eq!(ok("${d?{x}}", &[]), "{x}");
        // Defaults are not expanded.
        assert_eq!(ok("${d?$other}", &[("other", "no")]), "$other");
        // The same name with different defaults.
        assert_eq!(ok("${d?1} ${d?2} ${d}", &[("d", "v")]), "v v v");
    }

    #[test]
    fn defaults_apply_when_silenced() {
        assert_eq!(silenced("${n?5} $m", &[]), "5 $m");
    }

    #[test]
    fn dollar_escape() {
        assert_eq!(ok("$$", &[]), "$");
        assert_eq!(ok("cost: $$10", &[]), "cost: $10");
        assert_eq!(ok("$$a", &[("a", "no")]), "$a");
        assert_eq!(ok("$$$a", &[("a", "1")]), "$1");
        assert_eq!(ok("$$$$", &[]), "$$");
        assert_eq!(silenced("$$$a", &[]), "$$a");
    }

    #[test]
    fn values_are_not_expanded_again() {
        assert_eq!(ok("$a", &[("a", "$b ${c}")]), "$b ${c}");
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        assert_eq!(ok("", &[]), "");
        assert_eq!(ok("{\"a\": [1, 2]}\n", &[("a", "x")]), "{\"a\": [1, 2]}\n");
        assert_eq!(ok("ünïcødé ✓", &[]), "ünïcødé ✓");
    }

    #[test]
    fn undefined_variable_names_variable_and_line() {
        let template = "{\n  \"a\": \"$a\",\n  \"b\": \"${b}\"\n}\n";
        let error = err(template, &[("a", "1")]);
        assert!(
            matches!(&error, Error::TemplateVariable { name, line: 3 } if name == "b"),
            "{error:?}"
        );
        assert!(error.to_string().contains("\"b\""));
        assert!(matches!(
            err("$a", &[]),
            Error::TemplateVariable { name, line: 1 } if name == "a"
        ));
    }

    #[test]
    fn undefined_variables_are_kept_when_silenced() {
        assert_eq!(silenced("$a ${b} ${c?d} $e", &[("e", "E")]), "$a ${b} d E");
    }

    #[test]
    fn invalid_placeholders() {
        for template in [
            "$", "a$", "$1", "$ x", "${}", "${a b}", "${a", "${a?x", "$-", "$é", "${1}",
        ] {
            let error = err(template, &[("a", "1")]);
            assert!(
                matches!(error, Error::Template(_)),
                "{template:?}: {error:?}"
            );
            assert_eq!(silenced(template, &[]), template);
        }
    }

    #[test]
    fn invalid_placeholder_reports_line_and_column() {
        let message = err("ok\nx: $5\n", &[]).to_string();
        assert!(message.contains("line 2, column 4"), "{message}");
        let message = err("é$", &[]).to_string();
        assert!(message.contains("line 1, column 2"), "{message}");
    }

    #[test]
    fn first_problem_wins() {
        assert!(matches!(err("$1 $a", &[]), Error::Template(_)));
        assert!(matches!(err("$a $1", &[]), Error::TemplateVariable { .. }));
    }

    #[test]
    fn silenced_lone_dollar_is_kept() {
        assert_eq!(silenced("a $ b $5 $", &[]), "a $ b $5 $");
        assert_eq!(silenced("${a", &[("a", "1")]), "${a");
    }

    #[test]
    fn var_file_basic() {
        assert_eq!(
            file_ok("a=1\nb=two\r\nc_3=x\n"),
            pairs(&[("a", "1"), ("b", "two"), ("c_3", "x")])
        );
        assert_eq!(file_ok("last=no-newline"), pairs(&[("last", "no-newline")]));
        assert_eq!(file_ok(""), pairs(&[]));
    }

    #[test]
    fn var_file_comments_and_blank_lines() {
        let text = "# settings\n\n   \n  # indented comment\na=1\n\t\nb=#not-a-comment\n";
        assert_eq!(file_ok(text), pairs(&[("a", "1"), ("b", "#not-a-comment")]));
    }

    #[test]
    fn var_file_quotes_and_escapes() {
        let text = concat!(
            "s='two words'\n",
            "d=\"say \\\"hi\\\" \\\\ \\n\"\n",
            "e=a\\ b\n",
            "m=pre'mid dle'\"post\"\n",
            "dollar='$x ${y}'\n",
            "empty=''\n",
            "bare=\n",
            "spaced =  v  \n",
            "export ex=1\n",
            "eq=x=y\n",
            "single='a\\b'\n",
        );
        assert_eq!(
            file_ok(text),
            pairs(&[
                ("s", "two words"),
                ("d", "say \"hi\" \\ \\n"),
                ("e", "a b"),
                ("m", "premid dlepost"),
                ("dollar", "$x ${y}"),
                ("empty", ""),
                ("bare", ""),
                ("spaced", "v"),
                ("ex", "1"),
                ("eq", "x=y"),
                ("single", "a\\b"),
            ])
        );
        assert_eq!(file_ok("export=1\n"), pairs(&[("export", "1")]));
    }

    #[test]
    fn var_file_errors_name_file_and_line() {
        for (text, line, needle) in [
            ("a=1\nno equals sign\n", 2, "expected NAME=VALUE"),
            ("a=1\n\nb=two words\n", 3, "2 words"),
            ("a=b # comment\n", 1, "words"),
            ("# c\nx='open\n", 2, "not closed"),
            ("x=\"open\n", 1, "not closed"),
            ("x=trailing\\\n", 1, "ends the line"),
            ("=1\n", 1, "invalid variable name"),
            ("a-b=1\n", 1, "invalid variable name"),
            ("1a=1\n", 1, "invalid variable name"),
            ("export a b=1\n", 1, "invalid variable name"),
        ] {
            let message = file_err(text);
            assert!(
                message.contains(&format!("my.env:{line}:")) && message.contains(needle),
                "{text:?}: {message}"
            );
        }
    }

    #[test]
    fn var_file_later_assignment_wins() {
        let mut vars = TemplateVars::new();
        assert_eq!(vars.load_var_file("a=1\na=2\n", "f").ok(), Some(2));
        assert_eq!(vars.get("a"), Some("2"));
    }

    #[test]
    fn precedence_of_sources() {
        let mut vars = TemplateVars::new();
        let loaded = vars
            .load_var_file("a=first\nb=first\nc=first\n", "one.env")
            .and_then(|_| vars.load_var_file("b=second\nc=second\n", "two.env"));
        assert!(loaded.is_ok());
        assert_eq!(vars.insert("c", "cli"), Some("second".to_owned()));
        assert_eq!(ok_with(&vars, "$a $b $c"), "first second cli");
        assert_eq!(vars.len(), 3);
        assert_eq!(vars.names().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn failed_load_sets_nothing() {
        let mut vars = vars(&[("a", "keep")]);
        assert!(vars.load_var_file("a=new\nbroken\n", "f").is_err());
        assert_eq!(vars.get("a"), Some("keep"));
        assert_eq!(vars.iter().collect::<Vec<_>>(), [("a", "keep")]);
    }

    #[test]
    fn from_iter_and_extend() {
        let mut vars: TemplateVars = [("a", "1"), ("a", "2")].into_iter().collect();
        vars.extend([("b".to_owned(), "3".to_owned())]);
        assert_eq!(vars.get("a"), Some("2"));
        assert_eq!(vars.get("b"), Some("3"));
        assert!(!vars.is_empty());
        assert!(TemplateVars::new().is_empty());
    }

    fn ok_with(vars: &TemplateVars, template: &str) -> String {
        match render(template, vars, false) {
            Ok(text) => text,
            Err(err) => panic!("rendering {template:?} failed: {err}"),
        }
    }
}
