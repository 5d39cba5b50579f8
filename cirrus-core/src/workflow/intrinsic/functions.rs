//! The functions themselves, and the checks of their evaluated arguments.

use super::{Function, Piece, array};
use crate::workflow::error::Failure;
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde_json::{Map, Value};
use sha2::Digest;
use std::borrow::Cow;
use std::fmt::Write;

/// The cause when `States.JsonMerge` is asked to merge deeply.
pub(super) const DEEP_MERGE_UNSUPPORTED: &str =
    "deep merging is not supported: the third argument must be false";

/// The longest string `Base64Encode`, `Base64Decode` and `Hash` take, in characters.
const MAX_INPUT_CHARS: usize = 10_000;

/// Standard base64 that accepts input with or without padding.
const BASE64_DECODER: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const HASH_ALGORITHMS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];

/// Runs `function` on its evaluated arguments. `template` is the parsed first argument of
/// `States.Format` when it is a literal.
pub(super) fn apply(
    function: Function,
    values: &[Cow<'_, Value>],
    template: Option<&[Piece]>,
) -> Result<Value, Failure> {
    let args = Args { function, values };
    match function {
        Function::Format => format(&args, template),
        Function::StringToJson => serde_json::from_str(args.string(0)?)
            .map_err(|err| args.failure(format!("the string is not valid JSON: {err}"))),
        Function::JsonToString => serde_json::to_string(args.value(0))
            .map(Value::String)
            .map_err(|err| args.failure(format!("cannot write the value as JSON: {err}"))),
        Function::Array => Ok(Value::Array(
            values.iter().map(|value| value.as_ref().clone()).collect(),
        )),
        Function::ArrayPartition
        | Function::ArrayContains
        | Function::ArrayRange
        | Function::ArrayGetItem
        | Function::ArrayLength
        | Function::ArrayUnique => array::apply(&args),
        Function::Base64Encode => Ok(Value::String(STANDARD.encode(args.limited_string(0)?))),
        Function::Base64Decode => {
            let bytes = BASE64_DECODER
                .decode(args.limited_string(0)?)
                .map_err(|err| args.failure(format!("the string is not valid base64: {err}")))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| args.failure("the decoded bytes are not UTF-8 text".to_owned()))
        }
        Function::Hash => hash(&args),
        Function::JsonMerge => {
            let (first, second) = (args.object(0)?, args.object(1)?);
            if args.boolean(2)? {
                return Err(args.failure(DEEP_MERGE_UNSUPPORTED.to_owned()));
            }
            let mut merged = first.clone();
            for (key, value) in second {
                merged.insert(key.clone(), value.clone());
            }
            Ok(Value::Object(merged))
        }
        Function::MathAdd => Ok(Value::from(args.int32(0)? + args.int32(1)?)),
        Function::MathRandom => {
            let (start, end) = (args.int32(0)?, args.int32(1)?);
            if start >= end {
                return Err(args.failure(format!(
                    "the start ({start}) must be less than the end ({end})"
                )));
            }
            let mut rng = match values.len() {
                3 => fastrand::Rng::with_seed(args.integer(2)?.cast_unsigned()),
                _ => fastrand::Rng::new(),
            };
            Ok(Value::from(rng.i64(start..end)))
        }
        Function::StringSplit => {
            let (text, delimiters) = (args.string(0)?, args.string(1)?);
            let parts = text
                .split(|c: char| delimiters.contains(c))
                .filter(|part| !part.is_empty())
                .map(|part| Value::String(part.to_owned()));
            Ok(Value::Array(parts.collect()))
        }
        Function::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
    }
}

/// `States.Format`: the template with each `{}` replaced by the next value.
fn format(args: &Args<'_, '_>, template: Option<&[Piece]>) -> Result<Value, Failure> {
    let runtime;
    let pieces = match template {
        Some(pieces) => pieces,
        None => {
            runtime = runtime_template(args.string(0)?);
            &runtime
        }
    };
    let values = &args.values[1..];
    let placeholders = pieces.iter().filter(|p| **p == Piece::Placeholder).count();
    if placeholders != values.len() {
        return Err(args.failure(format!(
            "the template has {placeholders} placeholder(s) {{}} but {} value(s) follow",
            values.len()
        )));
    }
    let mut out = String::new();
    let mut values = values.iter();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Placeholder => render(
                values
                    .next()
                    .expect("there are as many values as placeholders"),
                &mut out,
            ),
        }
    }
    Ok(Value::String(out))
}

/// A template that comes from the input: `{}` is a placeholder, everything else is text.
fn runtime_template(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    for (at, part) in text.split("{}").enumerate() {
        if at > 0 {
            pieces.push(Piece::Placeholder);
        }
        if !part.is_empty() {
            pieces.push(Piece::Text(part.to_owned()));
        }
    }
    pieces
}

/// A value as `States.Format` writes it: strings as they are, other scalars as JSON, arrays
/// and objects as Java writes lists and maps (`[a, b]`, `{key=value}`).
fn render(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Array(items) => {
            out.push('[');
            for (at, item) in items.iter().enumerate() {
                if at > 0 {
                    out.push_str(", ");
                }
                render(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (at, (key, item)) in members.iter().enumerate() {
                if at > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                render(item, out);
            }
            out.push('}');
        }
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

/// `States.Hash(data, algorithm)`: the lowercase hex digest of the data's UTF-8 bytes.
fn hash(args: &Args<'_, '_>) -> Result<Value, Failure> {
    let data = args.limited_string(0)?.as_bytes();
    let algorithm = args.value(1);
    if let Some(problem) = hash_algorithm_problem(algorithm) {
        return Err(args.failure(problem));
    }
    let digest: Vec<u8> = match algorithm.as_str() {
        Some("MD5") => md5::Md5::digest(data).to_vec(),
        Some("SHA-1") => sha1::Sha1::digest(data).to_vec(),
        Some("SHA-256") => sha2::Sha256::digest(data).to_vec(),
        Some("SHA-384") => sha2::Sha384::digest(data).to_vec(),
        _ => sha2::Sha512::digest(data).to_vec(),
    };
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(Value::String(hex))
}

/// Why `algorithm` is not a hash algorithm name, if it is not.
pub(super) fn hash_algorithm_problem(algorithm: &Value) -> Option<String> {
    match algorithm.as_str() {
        Some(name) if HASH_ALGORITHMS.contains(&name) => None,
        _ => Some(format!(
            "unknown hash algorithm {algorithm}; use one of {}",
            HASH_ALGORITHMS.join(", ")
        )),
    }
}

/// The evaluated arguments of a call, with typed accessors whose errors name the function
/// and the argument.
pub(super) struct Args<'c, 'v> {
    pub(super) function: Function,
    pub(super) values: &'c [Cow<'v, Value>],
}

impl Args<'_, '_> {
    /// Argument `index` (0-based).
    pub(super) fn value(&self, index: usize) -> &Value {
        self.values
            .get(index)
            .expect("the parser checked the number of arguments")
    }

    /// A `States.IntrinsicFailure` whose cause names the function.
    pub(super) fn failure(&self, problem: String) -> Failure {
        Failure::intrinsic(format!("{}: {problem}", self.function.name()))
    }

    /// A failure saying argument `index` is not `expected`.
    pub(super) fn wrong_type(&self, index: usize, expected: &str) -> Failure {
        self.failure(format!(
            "argument {} must be {expected}, not {}",
            index + 1,
            describe(self.value(index))
        ))
    }

    pub(super) fn string(&self, index: usize) -> Result<&str, Failure> {
        self.value(index)
            .as_str()
            .ok_or_else(|| self.wrong_type(index, "a string"))
    }

    /// A string of at most [`MAX_INPUT_CHARS`] characters.
    fn limited_string(&self, index: usize) -> Result<&str, Failure> {
        let text = self.string(index)?;
        let chars = text.chars().count();
        if chars > MAX_INPUT_CHARS {
            return Err(self.failure(format!(
                "argument {} has {chars} characters; at most {MAX_INPUT_CHARS} are allowed",
                index + 1
            )));
        }
        Ok(text)
    }

    pub(super) fn array(&self, index: usize) -> Result<&Vec<Value>, Failure> {
        self.value(index)
            .as_array()
            .ok_or_else(|| self.wrong_type(index, "an array"))
    }

    fn object(&self, index: usize) -> Result<&Map<String, Value>, Failure> {
        self.value(index)
            .as_object()
            .ok_or_else(|| self.wrong_type(index, "an object"))
    }

    fn boolean(&self, index: usize) -> Result<bool, Failure> {
        self.value(index)
            .as_bool()
            .ok_or_else(|| self.wrong_type(index, "a boolean"))
    }

    /// A number rounded to the nearest integer (halves up).
    pub(super) fn integer(&self, index: usize) -> Result<i64, Failure> {
        if !self.value(index).is_number() {
            return Err(self.wrong_type(index, "a number"));
        }
        array::integer_argument(self.value(index)).ok_or_else(|| {
            self.failure(format!(
                "argument {} ({}) is too large",
                index + 1,
                self.value(index)
            ))
        })
    }

    /// An integer in the 32-bit range.
    fn int32(&self, index: usize) -> Result<i64, Failure> {
        let value = self.integer(index)?;
        if i32::try_from(value).is_err() {
            return Err(self.failure(format!(
                "argument {} ({value}) is outside -2147483648..=2147483647",
                index + 1
            )));
        }
        Ok(value)
    }
}

/// A value's type, for error messages.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
