//! Filter expressions: `[?(@.price < 10 && @.tag)]`.

use super::SyntaxError;
use super::parse::{MAX_NESTING, Parser, Step};
use super::{leading_number, select};
use regex::Regex;
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    Or(Box<Filter>, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// A path alone: true when it finds something.
    Exists(Operand),
    Compare(Operand, Comparison, Operand),
    /// `operand =~ /regex/`: true when the operand is a string the regex wholly matches.
    Matches(Operand, Pattern),
}

/// A value in a filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// `@...`: from the value being tested.
    Current(Vec<Step>),
    /// `$...`: from the document's root.
    Root(Vec<Step>),
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// A compiled `=~` regex, compared by its source.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    source: String,
    regex: Regex,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.source == other.source
    }
}

impl Parser<'_> {
    /// `(expression)`, right after `[?`.
    pub(super) fn filter_step(&mut self) -> Result<Filter, SyntaxError> {
        self.skip_whitespace();
        if !self.eat(b'(') {
            return Err(self.error("expected '(' after '[?'"));
        }
        let outer = self.in_filter;
        self.in_filter = true;
        let filter = self.nested(Parser::or)?;
        self.in_filter = outer;
        self.skip_whitespace();
        if !self.eat(b')') {
            return Err(self.error("expected ')' to close the filter"));
        }
        Ok(filter)
    }

    /// Runs `parse` one nesting level deeper, refusing to go past [`MAX_NESTING`].
    fn nested<T>(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<T, SyntaxError>,
    ) -> Result<T, SyntaxError> {
        if self.depth >= MAX_NESTING {
            return Err(self.error(format!("filters nest more than {MAX_NESTING} deep")));
        }
        self.depth += 1;
        let parsed = parse(self);
        self.depth -= 1;
        parsed
    }

    fn or(&mut self) -> Result<Filter, SyntaxError> {
        let mut left = self.and()?;
        while self.operator("||") {
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, SyntaxError> {
        let mut left = self.unary()?;
        while self.operator("&&") {
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, SyntaxError> {
        self.skip_whitespace();
        if self.eat(b'!') {
            return Ok(Filter::Not(Box::new(self.nested(Parser::unary)?)));
        }
        if self.eat(b'(') {
            let inner = self.nested(Parser::or)?;
            self.skip_whitespace();
            if !self.eat(b')') {
                return Err(self.error("expected ')'"));
            }
            return Ok(inner);
        }
        let start = self.pos;
        let left = self.operand()?;
        if self.operator("=~") {
            self.skip_whitespace();
            return Ok(Filter::Matches(left, self.pattern()?));
        }
        let comparison = [
            ("==", Comparison::Equal),
            ("!=", Comparison::NotEqual),
            ("<=", Comparison::LessOrEqual),
            (">=", Comparison::GreaterOrEqual),
            ("<", Comparison::Less),
            (">", Comparison::Greater),
        ]
        .into_iter()
        .find(|(text, _)| self.operator(text));
        match (comparison, left) {
            (Some((_, comparison)), left) => Ok(Filter::Compare(
                left,
                comparison,
                self.nested(Parser::operand)?,
            )),
            (None, Operand::Literal(_)) => Err(self.error_at(
                start,
                "a literal alone is not a condition: compare it with a path",
            )),
            (None, path) => Ok(Filter::Exists(path)),
        }
    }

    /// Skips whitespace and eats `operator` if it comes next; otherwise stays put.
    fn operator(&mut self, operator: &str) -> bool {
        let before = self.pos;
        self.skip_whitespace();
        if self.text[self.pos..].starts_with(operator) {
            self.pos += operator.len();
            true
        } else {
            self.pos = before;
            false
        }
    }

    fn operand(&mut self) -> Result<Operand, SyntaxError> {
        self.skip_whitespace();
        let start = self.pos;
        let steps = |parser: &mut Self| -> Result<Vec<Step>, SyntaxError> {
            parser.pos += 1;
            Ok(parser.steps()?.into_iter().map(|(_, step)| step).collect())
        };
        match self.peek() {
            Some(b'@') => Ok(Operand::Current(steps(self)?)),
            Some(b'$') => Ok(Operand::Root(steps(self)?)),
            Some(b'\'' | b'"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            Some(b'-' | b'0'..=b'9') => {
                let (number, end) =
                    leading_number(&self.text[start..]).map_err(|message| self.error(message))?;
                self.pos += end;
                Ok(Operand::Literal(Value::Number(number)))
            }
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.text[start..].starts_with(word) {
                        self.pos += word.len();
                        return Ok(Operand::Literal(value));
                    }
                }
                Err(self.error("expected '@', '$', a number, a quoted string, true, false or null"))
            }
        }
    }

    /// `/regex/flags`.
    fn pattern(&mut self) -> Result<Pattern, SyntaxError> {
        let open = self.pos;
        if !self.eat(b'/') {
            return Err(self.error("expected a /regex/ after '=~'"));
        }
        let mut source = String::new();
        let text: &str = self.text;
        let mut chars = text[self.pos..].char_indices();
        let body_end = loop {
            match chars.next() {
                Some((at, '/')) => break at,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '/')) => source.push('/'),
                    Some((_, c)) => {
                        source.push('\\');
                        source.push(c);
                    }
                    None => return Err(self.error_at(open, "unclosed regex")),
                },
                Some((_, c)) => source.push(c),
                None => return Err(self.error_at(open, "unclosed regex")),
            }
        };
        self.pos += body_end + 1;
        let flags_start = self.pos;
        while matches!(self.peek(), Some(b'a'..=b'z')) {
            self.pos += 1;
        }
        let flags = &text[flags_start..self.pos];
        if let Some(bad) = flags.chars().find(|c| !"imsx".contains(*c)) {
            return Err(self.error_at(
                flags_start,
                format!("unknown regex flag '{bad}' (known: i, m, s, x)"),
            ));
        }
        let inline = if flags.is_empty() {
            String::new()
        } else {
            format!("(?{flags})")
        };
        let regex = Regex::new(&format!("{inline}^(?:{source})$"))
            .map_err(|err| self.error_at(open, format!("invalid regex /{source}/: {err}")))?;
        Ok(Pattern { source, regex })
    }
}

impl Filter {
    /// Whether the filter holds for `current`, in the document `root`.
    pub(super) fn holds(&self, current: &Value, root: &Value) -> bool {
        match self {
            Filter::Or(left, right) => left.holds(current, root) || right.holds(current, root),
            Filter::And(left, right) => left.holds(current, root) && right.holds(current, root),
            Filter::Not(inner) => !inner.holds(current, root),
            Filter::Exists(operand) => operand.value(current, root).is_some(),
            Filter::Matches(operand, pattern) => match operand.value(current, root).as_deref() {
                Some(Value::String(text)) => pattern.regex.is_match(text),
                _ => false,
            },
            Filter::Compare(left, comparison, right) => {
                let (Some(left), Some(right)) =
                    (left.value(current, root), right.value(current, root))
                else {
                    return false;
                };
                let ordering = || order(&left, &right);
                match comparison {
                    Comparison::Equal => json_eq(&left, &right),
                    Comparison::NotEqual => !json_eq(&left, &right),
                    Comparison::Less => ordering() == Some(Ordering::Less),
                    Comparison::LessOrEqual => ordering().is_some_and(Ordering::is_le),
                    Comparison::Greater => ordering() == Some(Ordering::Greater),
                    Comparison::GreaterOrEqual => ordering().is_some_and(Ordering::is_ge),
                }
            }
        }
    }
}

impl Operand {
    /// The operand's value: a definite path's value, the array of an indefinite path's
    /// matches (`None` when empty), or the literal.
    fn value<'a>(&'a self, current: &'a Value, root: &'a Value) -> Option<Cow<'a, Value>> {
        let (steps, start) = match self {
            Operand::Literal(value) => return Some(Cow::Borrowed(value)),
            Operand::Current(steps) => (steps, current),
            Operand::Root(steps) => (steps, root),
        };
        if steps.iter().all(Step::is_definite) {
            return select::definite(steps, start).map(Cow::Borrowed);
        }
        let mut matches = Vec::new();
        select::collect(steps, start, root, &mut matches);
        if matches.is_empty() {
            return None;
        }
        Some(Cow::Owned(Value::Array(
            matches.into_iter().cloned().collect(),
        )))
    }
}

/// Two numbers or two strings in order; nothing for other pairs.
fn order(left: &Value, right: &Value) -> Option<Ordering> {
    match (left, right) {
        (Value::Number(left), Value::Number(right)) => compare_numbers(left, right),
        (Value::String(left), Value::String(right)) => Some(left.cmp(right)),
        _ => None,
    }
}

fn compare_numbers(left: &serde_json::Number, right: &serde_json::Number) -> Option<Ordering> {
    if let (Some(left), Some(right)) = (left.as_i64(), right.as_i64()) {
        return Some(left.cmp(&right));
    }
    if let (Some(left), Some(right)) = (left.as_u64(), right.as_u64()) {
        return Some(left.cmp(&right));
    }
    left.as_f64()?.partial_cmp(&right.as_f64()?)
}

/// JSON equality where numbers compare by value (`1 == 1.0`), recursively.
pub(crate) fn json_eq(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(left), Value::Number(right)) => {
            compare_numbers(left, right) == Some(Ordering::Equal)
        }
        (Value::Array(left), Value::Array(right)) => {
            left.len() == right.len() && left.iter().zip(right).all(|(l, r)| json_eq(l, r))
        }
        (Value::Object(left), Value::Object(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .all(|(key, l)| right.get(key).is_some_and(|r| json_eq(l, r)))
        }
        _ => left == right,
    }
}
