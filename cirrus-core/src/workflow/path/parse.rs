//! The path parser: text to a root and a list of [`Step`]s.

use super::SyntaxError;
use super::filter::Filter;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    /// `.name`, `['name']`.
    Name(String),
    /// `[n]`; negative counts from the end.
    Index(i64),
    /// `.*`, `[*]`.
    Wildcard,
    /// `['a','b']`.
    Names(Vec<String>),
    /// `[0,2]`.
    Indexes(Vec<i64>),
    /// `[start:end]`, either bound optional.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
    },
    /// `[?(...)]`.
    Filter(Box<Filter>),
    /// `..` followed by another step: that step applied at every depth.
    Descendant(Box<Step>),
}

impl Step {
    /// Whether the step selects at most one value.
    pub(super) fn is_definite(&self) -> bool {
        matches!(self, Step::Name(_) | Step::Index(_))
    }

    /// What the step is called in error messages.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Step::Name(_) => "name",
            Step::Index(_) => "index",
            Step::Wildcard => "wildcard",
            Step::Names(_) | Step::Indexes(_) => "union",
            Step::Slice { .. } => "slice",
            Step::Filter(_) => "filter",
            Step::Descendant(_) => "descendant step '..'",
        }
    }
}

/// A parsed path: its root and its steps, each with its character offset.
pub(super) struct Parsed {
    pub(super) context: bool,
    pub(super) steps: Vec<(usize, Step)>,
}

/// Filters nest at most this deep (parentheses, `!`, filters inside filters), so that a
/// hostile path cannot overflow the stack.
pub(super) const MAX_NESTING: usize = 32;

/// A cursor over the text. Positions are byte offsets; errors report characters.
pub(super) struct Parser<'t> {
    pub(super) text: &'t str,
    pub(super) pos: usize,
    /// Inside a filter, dot names also end at the characters of operators and at `)`.
    pub(super) in_filter: bool,
    pub(super) depth: usize,
}

impl<'t> Parser<'t> {
    pub(super) fn new(text: &'t str) -> Parser<'t> {
        Parser {
            text,
            pos: 0,
            in_filter: false,
            depth: 0,
        }
    }

    /// Parses the whole text as a path.
    pub(super) fn path(mut self) -> Result<Parsed, SyntaxError> {
        if self.text.is_empty() {
            return Err(self.error_at(0, "the path is empty; a path starts with '$'"));
        }
        if self.peek() != Some(b'$') {
            return Err(self.error_at(0, "a path starts with '$'"));
        }
        self.pos += 1;
        let context = self.eat(b'$');
        let steps = self.steps()?;
        if let Some(found) = self.peek_char() {
            return Err(self.error(format!(
                "unexpected '{found}': expected '.' or '[' to start a step, or the end of the path"
            )));
        }
        Ok(Parsed { context, steps })
    }

    /// Parses steps for as long as the text goes on with `.` or `[`.
    pub(super) fn steps(&mut self) -> Result<Vec<(usize, Step)>, SyntaxError> {
        let mut steps = Vec::new();
        loop {
            let start = self.pos;
            let step = match self.peek() {
                Some(b'.') => self.dot_step()?,
                Some(b'[') => self.bracket_step()?,
                _ => return Ok(steps),
            };
            steps.push((self.char_offset(start), step));
        }
    }

    /// `.name`, `.*` or `..step`, at a `.`.
    fn dot_step(&mut self) -> Result<Step, SyntaxError> {
        self.pos += 1;
        if self.eat(b'.') {
            let inner = match self.peek() {
                Some(b'*') => {
                    self.pos += 1;
                    Step::Wildcard
                }
                Some(b'[') => self.bracket_step()?,
                _ => Step::Name(self.dot_name("'..' must be followed by a name, '*' or '['")?),
            };
            return Ok(Step::Descendant(Box::new(inner)));
        }
        if self.eat(b'*') {
            return Ok(Step::Wildcard);
        }
        Ok(Step::Name(
            self.dot_name("expected a name, '*' or '.' after '.'")?,
        ))
    }

    /// A dot name: everything up to `.`, `[`, whitespace or the end (and, in a filter, up to
    /// an operator or `)`).
    fn dot_name(&mut self, missing: &str) -> Result<String, SyntaxError> {
        let text: &'t str = self.text;
        let rest = &text[self.pos..];
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                c == '.'
                    || c == '['
                    || c.is_whitespace()
                    || (self.in_filter && "()<>=!&|,]".contains(c))
            })
            .map_or(rest.len(), |(at, _)| at);
        if end == 0 {
            return Err(self.error(missing));
        }
        self.pos += end;
        Ok(rest[..end].to_owned())
    }

    /// A bracket step, at a `[`.
    fn bracket_step(&mut self) -> Result<Step, SyntaxError> {
        let open = self.pos;
        self.pos += 1;
        self.skip_whitespace();
        let step = match self.peek() {
            Some(b'*') => {
                self.pos += 1;
                Step::Wildcard
            }
            Some(b'?') => {
                self.pos += 1;
                Step::Filter(Box::new(self.filter_step()?))
            }
            Some(b'\'' | b'"') => {
                let mut names = vec![self.quoted()?];
                while self.skip_whitespace_then(b',') {
                    self.skip_whitespace();
                    names.push(self.quoted()?);
                }
                if names.len() == 1 {
                    Step::Name(names.remove(0))
                } else {
                    Step::Names(names)
                }
            }
            Some(b'-' | b'0'..=b'9' | b':') => self.indexes()?,
            None => return Err(self.error_at(open, "unclosed '['")),
            Some(_) => {
                return Err(
                    self.error("expected '*', '?(', a quoted name, an index or a slice after '['")
                );
            }
        };
        self.skip_whitespace();
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                Ok(step)
            }
            None => Err(self.error_at(open, "unclosed '['")),
            Some(_) => Err(self.error(format!(
                "unexpected '{}': expected ']'",
                self.peek_char().unwrap_or_default()
            ))),
        }
    }

    /// `n`, `n,m,...` or `start:end` inside brackets.
    fn indexes(&mut self) -> Result<Step, SyntaxError> {
        let start = self.optional_integer()?;
        self.skip_whitespace();
        if self.eat(b':') {
            self.skip_whitespace();
            let end = self.optional_integer()?;
            return Ok(Step::Slice { start, end });
        }
        let Some(first) = start else {
            return Err(self.error("expected an index"));
        };
        let mut indexes = vec![first];
        while self.skip_whitespace_then(b',') {
            self.skip_whitespace();
            match self.optional_integer()? {
                Some(index) => indexes.push(index),
                None => return Err(self.error("expected an index after ','")),
            }
        }
        Ok(if indexes.len() == 1 {
            Step::Index(first)
        } else {
            Step::Indexes(indexes)
        })
    }

    /// An integer (`-?[0-9]+`) if one starts here.
    fn optional_integer(&mut self) -> Result<Option<i64>, SyntaxError> {
        let start = self.pos;
        self.eat(b'-');
        let digits = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        if self.pos == digits {
            if self.pos > start {
                return Err(self.error("expected digits after '-'"));
            }
            return Ok(None);
        }
        let text = &self.text[start..self.pos];
        text.parse()
            .map(Some)
            .map_err(|_| self.error_at(start, format!("the index {text} is too large")))
    }

    /// A string in single or double quotes, at the quote. A backslash takes the next
    /// character literally.
    pub(super) fn quoted(&mut self) -> Result<String, SyntaxError> {
        let open = self.pos;
        let quote = match self.peek_char() {
            Some(quote @ ('\'' | '"')) => quote,
            _ => return Err(self.error("expected a quoted name")),
        };
        self.pos += 1;
        let mut value = String::new();
        let text: &'t str = self.text;
        let mut chars = text[self.pos..].char_indices();
        while let Some((at, c)) = chars.next() {
            if c == quote {
                self.pos += at + 1;
                return Ok(value);
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                }
            } else {
                value.push(c);
            }
        }
        Err(self.error_at(open, format!("unclosed quote {quote}")))
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    pub(super) fn peek_char(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    pub(super) fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn skip_whitespace(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// Skips whitespace and eats `byte` if it comes next; otherwise stays put.
    fn skip_whitespace_then(&mut self, byte: u8) -> bool {
        let before = self.pos;
        self.skip_whitespace();
        if self.eat(byte) {
            true
        } else {
            self.pos = before;
            false
        }
    }

    pub(super) fn char_offset(&self, byte: usize) -> usize {
        self.text[..byte].chars().count()
    }

    pub(super) fn error(&self, message: impl Into<String>) -> SyntaxError {
        self.error_at(self.pos, message)
    }

    pub(super) fn error_at(&self, byte: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            position: self.char_offset(byte),
            message: message.into(),
        }
    }
}
