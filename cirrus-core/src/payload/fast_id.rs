//! Payload IDs straight from JSON bytes, without building the payload.
//!
//! `cirrus payload get-id` spends nearly all its time skipping what the ID does not depend
//! on: assets, geometry, properties. This scanner reads only `id`, `features[*].id`,
//! `features[*].collection`, `process[0].workflow` and `process[0].collections`, and skips
//! everything else while still checking that it is well-formed JSON (strings are scanned
//! eight bytes at a time). The ID is then computed by [`id::compute`],
//! exactly as for a parsed payload.
//!
//! Like Python's `json.loads`, a duplicated key takes its last value. As with serde_json's
//! own skipping, the bytes of skipped strings are not checked to be UTF-8; the strings the
//! ID is made of are.
//!
//! ```
//! use cirrus_core::payload::fast_id::payload_id;
//!
//! let line = br#"{"features":[{"id":"b","collection":"c"},{"id":"a","collection":"c"}],"process":[{"workflow":"w"}]}"#;
//! assert_eq!(payload_id(line).unwrap(), "c/workflow-w/a/b");
//! assert!(payload_id(br#"{"features": [{"id": "a"}"#).unwrap_err().syntax);
//! ```

use super::id::{self, PayloadId};
use std::borrow::Cow;
use std::fmt;

/// Deepest nesting accepted: serde_json refuses the 128th level.
const MAX_DEPTH: usize = 127;

/// Why no ID could be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastIdError {
    /// Byte offset in the input where the problem was found (0 when it is not about one
    /// place, e.g. no features).
    pub offset: usize,
    /// What is wrong, with the JSON path when it is about a member.
    pub message: String,
    /// The input is not well-formed JSON (rather than a payload without a computable ID).
    pub syntax: bool,
}

impl fmt::Display for FastIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FastIdError {}

/// The payload ID of one JSON payload: its `id` member when present (checked like
/// [`PayloadId::parse`]), otherwise computed.
pub fn payload_id(json: &[u8]) -> Result<String, FastIdError> {
    let mut scanner = Scanner {
        b: json,
        i: 0,
        depth: 0,
        data_error: None,
    };
    let mut fields = scanner.document()?;
    // Only what the ID depends on matters: with a valid `id`, the rest is not looked at.
    let mut error = fields.not_object.take().or(fields.id_error.take());
    if fields.id.is_none() {
        error = error
            .or(fields.features_error.take())
            .or(fields.process_error.take());
    }
    if let Some(error) = error {
        return Err(error);
    }
    fields.id().map_err(|message| FastIdError {
        offset: 0,
        message,
        syntax: false,
    })
}

/// A string borrowed from the input, or unescaped.
type Str<'a> = Cow<'a, str>;
/// `(id, collection)` of each feature.
type FeatureIds<'a> = Vec<(Str<'a>, Option<Str<'a>>)>;
/// `(workflow, collections)` of `process[0]`.
type FirstDefinition<'a> = (Option<Str<'a>>, Option<Str<'a>>);

/// The members the ID depends on. Each keeps the data error of its **last** occurrence, so
/// that a duplicated key takes its last value, as in Python's `json`.
#[derive(Default)]
struct Fields<'a> {
    id: Option<Str<'a>>,
    id_error: Option<FastIdError>,
    features: Option<FeatureIds<'a>>,
    features_error: Option<FastIdError>,
    /// `None`: no `process`; `Some(None)`: present but without a first definition.
    process: Option<Option<FirstDefinition<'a>>>,
    process_error: Option<FastIdError>,
    /// The document is not an object.
    not_object: Option<FastIdError>,
    reference: bool,
}

impl Fields<'_> {
    fn id(&self) -> Result<String, String> {
        if let Some(id) = &self.id {
            PayloadId::parse(id).map_err(|p| p.to_string())?;
            return Ok(id.to_string());
        }
        let Some(Some((workflow, collections))) = &self.process else {
            if self.process.is_none() && self.reference {
                return Err("$: this is a payload reference ({\"url\"}/{\"href\"}); its ID is known only once the payload it points to is fetched".to_string());
            }
            return Err("$.process: is required to compute the payload id".to_string());
        };
        let Some(workflow) = workflow else {
            return Err("$.process[0].workflow: is required".to_string());
        };
        let features = self.features.iter().flatten();
        id::compute(
            collections.as_deref(),
            workflow,
            features.map(|(id, c)| (id.as_ref(), c.as_deref())),
        )
        .map_err(|p| p.to_string())
    }
}

/// An object key as written: compared without allocating unless it has escapes.
struct Key<'a> {
    raw: &'a [u8],
    escaped: bool,
}

impl Key<'_> {
    /// The key's text; keys that are not UTF-8 cannot name a member we read, so they come
    /// back as an empty name.
    fn name(&self) -> Cow<'_, str> {
        if self.escaped {
            let mut quoted = Vec::with_capacity(self.raw.len() + 2);
            quoted.push(b'"');
            quoted.extend_from_slice(self.raw);
            quoted.push(b'"');
            serde_json::from_slice::<String>(&quoted)
                .map(Cow::Owned)
                .unwrap_or_default()
        } else {
            std::str::from_utf8(self.raw)
                .map(Cow::Borrowed)
                .unwrap_or_default()
        }
    }
}

/// What a string-valued member may be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// A string.
    String,
    /// A string or null (null means absent).
    StringOrNull,
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    /// The first value of the wrong type in the member being read (see [`Scanner::member`]);
    /// reported only if the JSON is well-formed.
    data_error: Option<FastIdError>,
}

type Scan<T> = Result<T, FastIdError>;

impl<'a> Scanner<'a> {
    #[cold]
    fn syntax(&self, message: impl Into<String>) -> FastIdError {
        FastIdError {
            offset: self.i,
            message: message.into(),
            syntax: true,
        }
    }

    fn data(&mut self, offset: usize, message: String) {
        self.data_error.get_or_insert(FastIdError {
            offset,
            message,
            syntax: false,
        });
    }

    /// Reads one occurrence of a member with `scan`, returning its value and its first data
    /// error, apart from those of other members.
    fn member<T>(
        &mut self,
        scan: impl FnOnce(&mut Self) -> Scan<T>,
    ) -> Scan<(T, Option<FastIdError>)> {
        let outer = self.data_error.take();
        let value = scan(self)?;
        let error = std::mem::replace(&mut self.data_error, outer);
        Ok((value, error))
    }

    /// Re-raises a member's data error in the enclosing member.
    fn raise(&mut self, error: Option<FastIdError>) {
        if let Some(error) = error {
            self.data_error.get_or_insert(error);
        }
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Scan<u8> {
        // Compact JSON: the next byte is rarely whitespace.
        if let Some(&c) = self.b.get(self.i)
            && c > b' '
        {
            return Ok(c);
        }
        self.ws();
        self.b
            .get(self.i)
            .copied()
            .ok_or_else(|| self.syntax("EOF while parsing a value"))
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Scan<()> {
        if self.peek()? == c {
            self.i += 1;
            Ok(())
        } else {
            Err(self.syntax(format!("expected `{}`", c as char)))
        }
    }

    fn document(&mut self) -> Scan<Fields<'a>> {
        let mut fields = Fields::default();
        if self.peek()? != b'{' {
            self.skip_value()?;
            self.end()?;
            fields.not_object = Some(FastIdError {
                offset: 0,
                message: "$: a payload must be a JSON object".to_string(),
                syntax: false,
            });
            return Ok(fields);
        }
        self.object(|s, key| {
            match key.name().as_ref() {
                "id" => {
                    (fields.id, fields.id_error) =
                        s.member(|s| s.string_member("$.id", Want::String))?
                }
                "features" => {
                    (fields.features, fields.features_error) = s.member(Self::features)?
                }
                "process" => {
                    let (process, error) = s.member(Self::process)?;
                    (fields.process, fields.process_error) = (Some(process), error);
                }
                "url" | "href" => {
                    fields.reference = true;
                    s.skip_value()?;
                }
                _ => s.skip_value()?,
            }
            Ok(())
        })?;
        self.end()?;
        Ok(fields)
    }

    fn end(&mut self) -> Scan<()> {
        self.ws();
        if self.i < self.b.len() {
            return Err(self.syntax("trailing characters"));
        }
        Ok(())
    }

    /// Visits the members of an object (the next value must be one), calling `member` with
    /// each key (see [`Key`]); `member` must consume the value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, Key<'a>) -> Scan<()>) -> Scan<()> {
        self.eat(b'{')?;
        self.enter()?;
        if self.peek()? == b'}' {
            self.i += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            if self.peek()? != b'"' {
                return Err(self.syntax("key must be a string"));
            }
            let start = self.i;
            let escaped = self.skip_string()?;
            let key = Key {
                raw: &self.b[start + 1..self.i - 1],
                escaped,
            };
            self.eat(b':')?;
            member(self, key)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(self.syntax("expected `,` or `}`")),
            }
        }
    }

    /// Visits the elements of an array (the next value must be one), calling `element` with
    /// each index; `element` must consume the value.
    fn array(&mut self, mut element: impl FnMut(&mut Self, usize) -> Scan<()>) -> Scan<()> {
        self.eat(b'[')?;
        self.enter()?;
        if self.peek()? == b']' {
            self.i += 1;
            self.depth -= 1;
            return Ok(());
        }
        let mut index = 0;
        loop {
            element(self, index)?;
            index += 1;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(self.syntax("expected `,` or `]`")),
            }
        }
    }

    fn enter(&mut self) -> Scan<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.syntax("recursion limit exceeded"));
        }
        Ok(())
    }

    fn features(&mut self) -> Scan<Option<FeatureIds<'a>>> {
        if self.peek()? != b'[' {
            let offset = self.i;
            self.skip_value()?;
            self.data(offset, "$.features: must be an array".to_string());
            return Ok(None);
        }
        let mut features = Vec::new();
        self.array(|s, index| {
            if s.peek()? != b'{' {
                let offset = s.i;
                s.skip_value()?;
                s.data(offset, format!("$.features[{index}]: must be an object"));
                return Ok(());
            }
            let start = s.i;
            let (mut id, mut collection) = ((None, None), (None, None));
            s.object(|s, key| {
                match key.name().as_ref() {
                    "id" => {
                        let path = format!("$.features[{index}].id");
                        id = s.member(|s| s.string_member(&path, Want::String))?;
                    }
                    "collection" => {
                        let path = format!("$.features[{index}].collection");
                        collection = s.member(|s| s.string_member(&path, Want::StringOrNull))?;
                    }
                    _ => s.skip_value()?,
                }
                Ok(())
            })?;
            let ((id, id_error), (collection, collection_error)) = (id, collection);
            if id_error.is_some() || collection_error.is_some() {
                s.raise(id_error.or(collection_error));
                return Ok(());
            }
            match id {
                Some(id) if !id.is_empty() => features.push((id, collection)),
                Some(_) => s.data(start, format!("$.features[{index}].id: must not be empty")),
                None => s.data(
                    start,
                    format!("$.features[{index}].id: is required on every feature"),
                ),
            }
            Ok(())
        })?;
        Ok(Some(features))
    }

    fn process(&mut self) -> Scan<Option<FirstDefinition<'a>>> {
        match self.peek()? {
            b'{' => self.definition().map(Some),
            b'[' => {
                let mut first = None;
                self.array(|s, index| {
                    if index == 0 && s.peek()? == b'{' {
                        first = Some(s.definition()?);
                    } else {
                        if index == 0 {
                            let offset = s.i;
                            s.data(offset, "$.process[0]: must be an object".to_string());
                        }
                        s.skip_value()?;
                    }
                    Ok(())
                })?;
                Ok(first)
            }
            _ => {
                let offset = self.i;
                self.skip_value()?;
                self.data(
                    offset,
                    "$.process: must be an array of process definitions".to_string(),
                );
                Ok(None)
            }
        }
    }

    fn definition(&mut self) -> Scan<FirstDefinition<'a>> {
        let (mut workflow, mut collections) = ((None, None), (None, None));
        self.object(|s, key| {
            match key.name().as_ref() {
                "workflow" => {
                    workflow =
                        s.member(|s| s.string_member("$.process[0].workflow", Want::String))?
                }
                "collections" => {
                    collections = s.member(|s| {
                        s.string_member("$.process[0].collections", Want::StringOrNull)
                    })?
                }
                _ => s.skip_value()?,
            }
            Ok(())
        })?;
        let ((workflow, workflow_error), (collections, collections_error)) =
            (workflow, collections);
        self.raise(workflow_error.or(collections_error));
        Ok((workflow, collections))
    }

    /// A member that must be a string (or null, when allowed); a value of another type is
    /// recorded as a data error and skipped.
    fn string_member(&mut self, path: &str, want: Want) -> Scan<Option<Cow<'a, str>>> {
        let offset = self.i;
        match self.peek()? {
            b'"' => {
                let value = self.string()?;
                Ok(Some(value))
            }
            b'n' if want == Want::StringOrNull => {
                self.skip_value()?;
                Ok(None)
            }
            c => {
                let kind = match c {
                    b'{' => "an object",
                    b'[' => "an array",
                    b't' | b'f' => "a boolean",
                    b'n' => "null",
                    _ => "a number",
                };
                self.skip_value()?;
                self.data(offset, format!("{path}: must be a string, got {kind}"));
                Ok(None)
            }
        }
    }

    /// A string (the next value must be one), unescaped and checked to be UTF-8.
    fn string(&mut self) -> Scan<Cow<'a, str>> {
        let start = self.i;
        let escaped = self.skip_string()?;
        let raw = &self.b[start + 1..self.i - 1];
        if escaped {
            serde_json::from_slice::<String>(&self.b[start..self.i])
                .map(Cow::Owned)
                .map_err(|e| FastIdError {
                    offset: start,
                    message: format!("invalid string: {e}"),
                    syntax: true,
                })
        } else {
            std::str::from_utf8(raw)
                .map(Cow::Borrowed)
                .map_err(|_| FastIdError {
                    offset: start,
                    message: "invalid UTF-8 in string".to_string(),
                    syntax: true,
                })
        }
    }

    /// Skips one value of any kind, checking that it is well-formed. Containers are walked
    /// iteratively, with a bit per level (1 = object) instead of recursion.
    fn skip_value(&mut self) -> Scan<()> {
        let mut stack: u128 = 0;
        let mut depth = 0usize;
        loop {
            // A value is expected here.
            match self.peek()? {
                open @ (b'{' | b'[') => {
                    self.i += 1;
                    if self.depth + depth + 1 > MAX_DEPTH {
                        return Err(self.syntax("recursion limit exceeded"));
                    }
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.i += 1;
                    } else {
                        stack = (stack << 1) | u128::from(open == b'{');
                        depth += 1;
                        if open == b'{' {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.skip_string()?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.skip_number()?,
                _ => return Err(self.syntax("expected value")),
            }
            // After a value: close containers until one continues with `,`.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let in_object = stack & 1 == 1;
                match (self.peek()?, in_object) {
                    (b',', _) => {
                        self.i += 1;
                        if in_object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    (b'}', true) | (b']', false) => {
                        self.i += 1;
                        stack >>= 1;
                        depth -= 1;
                    }
                    (_, true) => return Err(self.syntax("expected `,` or `}`")),
                    (_, false) => return Err(self.syntax("expected `,` or `]`")),
                }
            }
        }
    }

    /// Skips `"key":`.
    #[inline]
    fn skip_key(&mut self) -> Scan<()> {
        if self.peek()? != b'"' {
            return Err(self.syntax("key must be a string"));
        }
        self.skip_string()?;
        self.eat(b':')
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Scan<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.syntax("expected value"))
        }
    }

    #[inline]
    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.b.get(self.i) {
            self.i += 1;
        }
        self.i - start
    }

    #[inline]
    fn skip_number(&mut self) -> Scan<()> {
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.syntax("invalid number")),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.syntax("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.syntax("invalid number"));
            }
        }
        Ok(())
    }

    /// Skips a string (the next byte is its opening quote); returns whether it had escapes.
    #[inline]
    fn skip_string(&mut self) -> Scan<bool> {
        self.i += 1;
        let mut escaped = false;
        loop {
            // Eight bytes at a time to the next `"`, `\` or control character.
            while let Some(chunk) = self.b.get(self.i..self.i + 8) {
                let x = u64::from_le_bytes(chunk.try_into().expect("the slice is 8 bytes long"));
                let mask = special(x);
                if mask != 0 {
                    self.i += (mask.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.syntax("EOF while parsing a string"));
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(escaped);
                }
                b'\\' => {
                    escaped = true;
                    self.i += 1;
                    match self.b.get(self.i) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            let hex = self.b.get(self.i + 1..self.i + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.syntax("invalid \\u escape"));
                            }
                            self.i += 5;
                        }
                        _ => return Err(self.syntax("invalid escape")),
                    }
                }
                0..=0x1f => return Err(self.syntax("control character in string")),
                _ => self.i += 1,
            }
        }
    }
}

/// A mask with the high bit set in each byte of `x` (little-endian) that may be `"`, `\` or
/// below 0x20. The lowest set bit is always exact (Mycroft's zero-byte test only errs above
/// a true match), so `trailing_zeros() / 8` is the index of the first such byte.
#[inline]
fn special(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let quote = has_zero(x ^ (ONES * b'"' as u64));
    let backslash = has_zero(x ^ (ONES * b'\\' as u64));
    let control = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    quote | backslash | control
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> FastIdError {
        payload_id(json.as_bytes()).unwrap_err()
    }

    #[test]
    fn ids() {
        let ok = |json: &str| payload_id(json.as_bytes()).unwrap();
        assert_eq!(
            ok(r#"{"features":[{"id":"a"}],"process":[{"workflow":"w"}]}"#),
            "none/workflow-w/a"
        );
        assert_eq!(
            ok(
                r#" { "process" : { "workflow" : "w", "collections": "x" }, "features" : [ { "assets": {"k": [1, -2.5e+3, true, null, {"s": "q\"\\\u00e9"}]}, "id" : "i\u0064" } ] } "#
            ),
            "x/workflow-w/id"
        );
        assert_eq!(
            ok(r#"{"id":"k/workflow-w/i","process":[]}"#),
            "k/workflow-w/i"
        );
        // keys with escapes, duplicate keys (last wins), null collection
        assert_eq!(
            ok(r#"{"\u0069d":"c/workflow-w/x","id":"c/workflow-v/y"}"#),
            "c/workflow-v/y"
        );
        assert_eq!(
            ok(
                r#"{"features":[{"id":"b","collection":null},{"id":"a","collection":"z"}],"process":[{"workflow":"w"},{"workflow":"next"}]}"#
            ),
            "z/workflow-w/a/b"
        );
        // long strings cross the 8-byte fast path in every alignment
        for pad in 0..17 {
            let id = format!("{}\\\"x", "p".repeat(pad));
            let json = format!(
                r#"{{"features":[{{"id":"{id}","note":"{}"}}],"process":[{{"workflow":"w"}}]}}"#,
                "n".repeat(pad)
            );
            assert_eq!(
                payload_id(json.as_bytes()).unwrap(),
                format!("none/workflow-w/{}\"x", "p".repeat(pad))
            );
        }
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "",
            "{",
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":"x"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":"\q"}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":tru}"#,
            r#"{"a":[1 2]}"#,
            r#"{"a":1} x"#,
            r#"{a:1}"#,
            r#"[1,]"#,
        ] {
            assert!(err(bad).syntax, "{bad:?} should be a syntax error");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "serde_json agrees that {bad:?} is malformed"
            );
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(err(&deep).syntax);
        assert!(
            err(&format!(r#"{{"features":{deep}}}"#))
                .message
                .contains("recursion")
        );
    }

    #[test]
    fn data_errors_name_the_member() {
        let e = err(r#"{"features":[{"id":1}],"process":[{"workflow":"w"}]}"#);
        assert!(!e.syntax);
        assert_eq!(
            e.message,
            "$.features[0].id: must be a string, got a number"
        );
        assert_eq!(
            err(r#"{"features":[{"id":"a"}]}"#).message,
            "$.process: is required to compute the payload id"
        );
        assert!(
            err(r#"{"features":[{"id":"a"}],"process":[{"workflow":"a_b"}]}"#)
                .message
                .starts_with("$.process[0].workflow")
        );
        assert!(
            err(r#"{"url":"s3://b/k.json"}"#)
                .message
                .contains("reference")
        );
        assert_eq!(err("[1]").message, "$: a payload must be a JSON object");
        // the last of duplicated keys wins, at every level
        assert_eq!(
            payload_id(br#"{"features":[{"id":1,"id":"a","collection":[],"collection":"c"}],"process":[{"workflow":2,"workflow":"w"}]}"#).unwrap(),
            "c/workflow-w/a"
        );
        assert!(!err(r#"{"features":[{"id":"a","id":1}],"process":[{"workflow":"w"}]}"#).syntax);
        // a data error is reported only when the JSON is well-formed
        assert!(err(r#"{"features":[{"id":1}],"process":[{"workflow":"w"}]"#).syntax);
    }
}
