//! The intrinsic call parser, with its parse-time checks of arguments.

use super::array::integer_argument;
use super::functions::{DEEP_MERGE_UNSUPPORTED, hash_algorithm_problem};
use super::{Arg, Call, Expect, Function, MAX_NESTING, Piece, StringLiteral};
use crate::workflow::path::{Path, SyntaxError, leading_number};
use serde_json::Value;

/// Parses a whole intrinsic call (surrounding whitespace allowed).
pub(super) fn parse(text: &str) -> Result<Call, SyntaxError> {
    let mut parser = CallParser {
        text,
        pos: 0,
        depth: 0,
    };
    parser.skip_whitespace();
    let call = parser.call()?;
    parser.skip_whitespace();
    if let Some(found) = parser.peek_char() {
        return Err(parser.error(format!("unexpected '{found}' after the call")));
    }
    Ok(call)
}

struct CallParser<'t> {
    text: &'t str,
    /// A byte offset; errors report characters.
    pos: usize,
    depth: usize,
}

impl CallParser<'_> {
    /// `States.Name(args)`.
    fn call(&mut self) -> Result<Call, SyntaxError> {
        let start = self.pos;
        if self.depth >= MAX_NESTING {
            return Err(self.error(format!("intrinsic calls nest more than {MAX_NESTING} deep")));
        }
        let rest = &self.text[start..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if !name.starts_with("States.") {
            return Err(self.error("expected an intrinsic function such as States.Format(...)"));
        }
        let function = Function::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
            self.error(format!(
                "unknown intrinsic function '{name}'; the known ones are {}",
                known.join(", ")
            ))
        })?;
        self.pos += name_len;
        self.skip_whitespace();
        if !self.eat('(') {
            return Err(self.error(format!("expected '(' after {name}")));
        }
        self.depth += 1;
        let mut args = Vec::new();
        let mut positions = Vec::new();
        self.skip_whitespace();
        if !self.eat(')') {
            loop {
                self.skip_whitespace();
                positions.push(self.pos);
                args.push(self.arg()?);
                self.skip_whitespace();
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return Err(match self.peek_char() {
                        Some(found) => self.error(format!(
                            "unexpected '{found}': expected ',' or ')' after an argument"
                        )),
                        None => self.error_at(start, format!("unclosed '(' of {name}")),
                    });
                }
            }
        }
        self.depth -= 1;
        let call = Call { function, args };
        self.check(&call, start, &positions)?;
        Ok(call)
    }

    /// The argument count, and the literal arguments that cannot be right.
    fn check(&self, call: &Call, start: usize, positions: &[usize]) -> Result<(), SyntaxError> {
        let name = call.function.name();
        let (min, max) = call.function.arity();
        let count = call.args.len();
        if count < min || max.is_some_and(|max| count > max) {
            let expected = match max {
                Some(max) if max == min => format!("{min}"),
                Some(max) => format!("{min} to {max}"),
                None => format!("at least {min}"),
            };
            return Err(self.error_at(
                start,
                format!("{name} takes {expected} argument(s), not {count}"),
            ));
        }
        for (index, (arg, &at)) in call.args.iter().zip(positions).enumerate() {
            let value = match arg {
                Arg::String(literal) => Value::String(literal.value.clone()),
                Arg::Literal(value) => value.clone(),
                Arg::Path(_) | Arg::Call(_) => continue,
            };
            let problem = literal_problem(call, index, arg, &value);
            if let Some(problem) = problem {
                return Err(self.error_at(at, format!("{name}: argument {}: {problem}", index + 1)));
            }
        }
        Ok(())
    }

    fn arg(&mut self) -> Result<Arg, SyntaxError> {
        let start = self.pos;
        match self.peek_char() {
            Some('\'') => Ok(Arg::String(self.string()?)),
            Some('$') => {
                let end = path_end(&self.text[start..]);
                let text = &self.text[start..start + end];
                let offset = self.char_offset(start);
                let path = Path::parse(text).map_err(|err| err.shifted(offset))?;
                self.pos += end;
                Ok(Arg::Path(path))
            }
            Some('-' | '0'..='9') => {
                let (number, end) =
                    leading_number(&self.text[start..]).map_err(|message| self.error(message))?;
                self.pos += end;
                Ok(Arg::Literal(Value::Number(number)))
            }
            Some('S') if self.text[start..].starts_with("States.") => {
                Ok(Arg::Call(Box::new(self.call()?)))
            }
            _ => {
                let rest = &self.text[start..];
                let word_len = rest
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .unwrap_or(rest.len());
                let value = match &rest[..word_len] {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => {
                        return Err(self.error(
                            "expected an argument: a 'string', a number, true, false, null, \
                             a path or a States.* call",
                        ));
                    }
                };
                self.pos += word_len;
                Ok(Arg::Literal(value))
            }
        }
    }

    /// A string literal, at its opening quote.
    fn string(&mut self) -> Result<StringLiteral, SyntaxError> {
        let open = self.pos;
        self.pos += 1;
        let mut literal = StringLiteral {
            value: String::new(),
            pieces: Vec::new(),
            lone_brace: None,
        };
        let mut text = String::new();
        let body: &str = &self.text[self.pos..];
        let mut chars = body.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '\'' => {
                    self.pos += at + 1;
                    if !text.is_empty() {
                        literal.pieces.push(Piece::Text(text));
                    }
                    return Ok(literal);
                }
                '\\' => {
                    let escaped = match chars.next() {
                        Some((_, escaped @ ('\'' | '{' | '}' | '\\'))) => escaped,
                        Some((_, other)) => {
                            return Err(self.error_at(
                                self.pos + at,
                                format!(
                                    "unknown escape '\\{other}': only \\', \\{{, \\}} and \\\\ \
                                     are allowed in a string"
                                ),
                            ));
                        }
                        None => break,
                    };
                    literal.value.push(escaped);
                    text.push(escaped);
                }
                '{' if chars.peek().is_some_and(|&(_, next)| next == '}') => {
                    chars.next();
                    literal.value.push_str("{}");
                    if !text.is_empty() {
                        literal.pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    literal.pieces.push(Piece::Placeholder);
                }
                '{' | '}' => {
                    if literal.lone_brace.is_none() {
                        literal.lone_brace = Some(self.char_offset(self.pos + at));
                    }
                    literal.value.push(c);
                    text.push(c);
                }
                _ => {
                    literal.value.push(c);
                    text.push(c);
                }
            }
        }
        Err(self.error_at(open, "unclosed string: expected a closing '"))
    }

    fn peek_char(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek_char() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn skip_whitespace(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn char_offset(&self, byte: usize) -> usize {
        self.text[..byte].chars().count()
    }

    fn error(&self, message: impl Into<String>) -> SyntaxError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, byte: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            position: self.char_offset(byte),
            message: message.into(),
        }
    }
}

/// Where a path argument ends: at a `,`, `)` or whitespace outside brackets and quotes.
fn path_end(text: &str) -> usize {
    let mut brackets = 0usize;
    let mut quote = None;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if let Some(open) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == open {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' if brackets > 0 => quote = Some(c),
            '[' => brackets += 1,
            ']' => brackets = brackets.saturating_sub(1),
            ',' | ')' if brackets == 0 => return at,
            c if c.is_whitespace() && brackets == 0 => return at,
            _ => {}
        }
    }
    text.len()
}

/// Why a literal cannot be argument `index` of `call`, if it cannot.
fn literal_problem(call: &Call, index: usize, arg: &Arg, value: &Value) -> Option<String> {
    let expected = call.function.expects(index);
    let type_ok = match expected {
        Expect::Any => true,
        Expect::String => value.is_string(),
        Expect::Number => value.is_number(),
        Expect::Boolean => value.is_boolean(),
        Expect::Array | Expect::Object | Expect::NotLiteral => false,
    };
    if !type_ok {
        let what = match expected {
            Expect::Array => "an array (from a path or a call), not a literal",
            Expect::Object => "an object (from a path or a call), not a literal",
            Expect::NotLiteral => "a path, not a literal",
            Expect::String => "a string",
            Expect::Number => "a number",
            Expect::Boolean => "a boolean",
            Expect::Any => unreachable!("any literal is accepted"),
        };
        return Some(format!("expected {what}, found {value}"));
    }
    match (call.function, index, arg) {
        (Function::Format, 0, Arg::String(template)) => {
            if let Some(at) = template.lone_brace {
                return Some(format!(
                    "the template has an unescaped brace at character {at}; write \\{{ or \\}} \
                     for a literal brace"
                ));
            }
            let placeholders = template.pieces.iter().filter(|p| **p == Piece::Placeholder);
            let placeholders = placeholders.count();
            let values = call.args.len() - 1;
            (placeholders != values).then(|| {
                format!("the template has {placeholders} placeholder(s) {{}} but {values} value(s) follow")
            })
        }
        (Function::Hash, 1, _) => hash_algorithm_problem(value),
        (Function::JsonMerge, 2, _) if value == &Value::Bool(true) => {
            Some(DEEP_MERGE_UNSUPPORTED.to_owned())
        }
        (Function::ArrayRange, 2, _) if integer_argument(value) == Some(0) => {
            Some("the step must not be 0".to_owned())
        }
        (Function::ArrayPartition, 1, _) if integer_argument(value).is_some_and(|n| n <= 0) => {
            Some("the chunk size must be greater than 0".to_owned())
        }
        _ => None,
    }
}
