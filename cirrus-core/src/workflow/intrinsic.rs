//! Intrinsic functions: `States.Format`, `States.Array`, … (the whole `States.*` family).
//!
//! A call is `States.Name(arg, ...)`; an argument is a string literal in single quotes, a
//! number, `true`, `false`, `null`, a path (`$...` or `$$...`, see [`Path`]) or another call
//! (nested at most [`MAX_NESTING`] deep). In a string literal `\'`, `\{`, `\}` and `\\`
//! stand for `'`, `{`, `}` and `\`; any other backslash is a syntax error. In the template
//! of `States.Format`, an unescaped `{}` is a placeholder and a lone `{` or `}` an error.
//!
//! [`Intrinsic::parse`] checks the function name, the number of arguments and the type of
//! literal arguments (a definition Step Functions would reject fails there). At run time a
//! path that matches nothing is `States.Runtime`, as is an out-of-range
//! `States.ArrayGetItem` index; an argument of the wrong type or value is
//! `States.IntrinsicFailure`.
//!
//! The functions follow the Step Functions documentation: arguments documented as
//! integers (`ArrayRange`, `ArrayPartition`'s chunk size, `MathAdd`, `MathRandom`) are
//! rounded to the nearest integer (halves up, as Java's `Math.round`); `MathAdd` and
//! `MathRandom` take values in the 32-bit range; `ArrayRange` makes at most 1000 items;
//! `Base64Encode`, `Base64Decode` and `Hash` take at most 10,000 characters;
//! `StringSplit` splits at every character of its delimiter string and drops empty parts;
//! `JsonMerge` only merges shallowly; `MathRandom(start, end[, seed])` returns an integer
//! in `[start, end)`; `States.Format` writes strings as they are, other scalars as JSON,
//! and arrays and objects as Step Functions (Java) does: `[a, b]`, `{key=value}`.

mod array;
mod functions;
mod parse;

#[cfg(test)]
mod tests;

use super::error::Failure;
use super::path::{Path, SyntaxError};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// Intrinsic calls nest at most this deep (Step Functions allows 10 functions in a field).
pub const MAX_NESTING: usize = 10;

/// A parsed intrinsic function call, such as `States.Format('{} items', $.count)`.
#[derive(Debug, Clone)]
pub struct Intrinsic {
    text: String,
    call: Call,
    uses_context: bool,
}

impl Intrinsic {
    /// Whether `text` is meant as an intrinsic call (it starts with `States.`), as opposed to
    /// a path.
    pub fn looks_like(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    /// Parses `text`, checking the function name and the number and literal types of its
    /// arguments.
    pub fn parse(text: &str) -> Result<Intrinsic, SyntaxError> {
        let call = parse::parse(text)?;
        Ok(Intrinsic {
            text: text.to_owned(),
            uses_context: call.uses_context(),
            call,
        })
    }

    /// The call as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether an argument (at any depth) is a `$$` path.
    pub fn uses_context(&self) -> bool {
        self.uses_context
    }

    /// Evaluates the call against the state's input and the context object.
    pub fn evaluate(&self, input: &Value, context: &Value) -> Result<Value, Failure> {
        self.call.evaluate(input, context)
    }
}

impl fmt::Display for Intrinsic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The `States.*` functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

/// What an argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Any,
    String,
    Number,
    Boolean,
    Array,
    Object,
    /// A path (or a nested call): `States.JsonToString`.
    NotLiteral,
}

impl Function {
    const ALL: [Function; 18] = [
        Function::Format,
        Function::StringToJson,
        Function::JsonToString,
        Function::Array,
        Function::ArrayPartition,
        Function::ArrayContains,
        Function::ArrayRange,
        Function::ArrayGetItem,
        Function::ArrayLength,
        Function::ArrayUnique,
        Function::Base64Encode,
        Function::Base64Decode,
        Function::Hash,
        Function::JsonMerge,
        Function::MathRandom,
        Function::MathAdd,
        Function::StringSplit,
        Function::Uuid,
    ];

    fn name(self) -> &'static str {
        match self {
            Function::Format => "States.Format",
            Function::StringToJson => "States.StringToJson",
            Function::JsonToString => "States.JsonToString",
            Function::Array => "States.Array",
            Function::ArrayPartition => "States.ArrayPartition",
            Function::ArrayContains => "States.ArrayContains",
            Function::ArrayRange => "States.ArrayRange",
            Function::ArrayGetItem => "States.ArrayGetItem",
            Function::ArrayLength => "States.ArrayLength",
            Function::ArrayUnique => "States.ArrayUnique",
            Function::Base64Encode => "States.Base64Encode",
            Function::Base64Decode => "States.Base64Decode",
            Function::Hash => "States.Hash",
            Function::JsonMerge => "States.JsonMerge",
            Function::MathRandom => "States.MathRandom",
            Function::MathAdd => "States.MathAdd",
            Function::StringSplit => "States.StringSplit",
            Function::Uuid => "States.UUID",
        }
    }

    fn from_name(name: &str) -> Option<Function> {
        Function::ALL
            .into_iter()
            .find(|function| function.name() == name)
    }

    /// What each argument must be; the last entry repeats for variadic functions.
    fn parameters(self) -> &'static [Expect] {
        use Expect::*;
        match self {
            Function::Format => &[String, Any],
            Function::StringToJson | Function::Base64Encode | Function::Base64Decode => &[String],
            Function::JsonToString => &[NotLiteral],
            Function::Array => &[Any],
            Function::ArrayPartition | Function::ArrayGetItem => &[Array, Number],
            Function::ArrayContains => &[Array, Any],
            Function::ArrayRange | Function::MathRandom => &[Number, Number, Number],
            Function::ArrayLength | Function::ArrayUnique => &[Array],
            Function::Hash | Function::StringSplit => &[String, String],
            Function::JsonMerge => &[Object, Object, Boolean],
            Function::MathAdd => &[Number, Number],
            Function::Uuid => &[],
        }
    }

    /// The smallest and largest number of arguments (`None`: no limit).
    fn arity(self) -> (usize, Option<usize>) {
        match self {
            Function::Format => (1, None),
            Function::Array => (0, None),
            Function::MathRandom => (2, Some(3)),
            other => {
                let count = other.parameters().len();
                (count, Some(count))
            }
        }
    }

    /// What argument `index` (0-based) must be.
    fn expects(self, index: usize) -> Expect {
        let parameters = self.parameters();
        parameters
            .get(index)
            .or(parameters.last())
            .copied()
            .unwrap_or(Expect::Any)
    }
}

/// A parsed call.
#[derive(Debug, Clone)]
struct Call {
    function: Function,
    args: Vec<Arg>,
}

/// A parsed argument.
#[derive(Debug, Clone)]
enum Arg {
    /// A string literal, with its `States.Format` template reading.
    String(StringLiteral),
    /// A number, `true`, `false` or `null`.
    Literal(Value),
    Path(Path),
    Call(Box<Call>),
}

/// A string literal: its value, and the same text as a template (escaped braces are text).
#[derive(Debug, Clone)]
struct StringLiteral {
    value: String,
    pieces: Vec<Piece>,
    /// Where (in characters) an unescaped `{` or `}` that is not part of `{}` is.
    lone_brace: Option<usize>,
}

/// A piece of a `States.Format` template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Placeholder,
}

impl Call {
    fn uses_context(&self) -> bool {
        self.args.iter().any(|arg| match arg {
            Arg::Path(path) => path.is_context(),
            Arg::Call(call) => call.uses_context(),
            Arg::String(_) | Arg::Literal(_) => false,
        })
    }

    fn evaluate(&self, input: &Value, context: &Value) -> Result<Value, Failure> {
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(match arg {
                Arg::String(literal) => Cow::Owned(Value::String(literal.value.clone())),
                Arg::Literal(value) => Cow::Borrowed(value),
                Arg::Path(path) => path.select(input, context).ok_or_else(|| {
                    let document = if path.is_context() {
                        "context object"
                    } else {
                        "input"
                    };
                    Failure::runtime(format!(
                        "{}: the path {path} matches nothing in the {document}",
                        self.function.name()
                    ))
                })?,
                Arg::Call(call) => Cow::Owned(call.evaluate(input, context)?),
            });
        }
        let template = match self.args.first() {
            Some(Arg::String(literal)) if self.function == Function::Format => {
                Some(literal.pieces.as_slice())
            }
            _ => None,
        };
        functions::apply(self.function, &values, template)
    }
}
