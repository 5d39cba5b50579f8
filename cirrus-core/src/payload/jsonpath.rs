//! JSONPath in the dialect of Python's `jsonpath_ng.ext` (jsonpath-ng 1.16.0).
//!
//! cirrus-geo payloads carry two kinds of JSONPath text:
//!
//! - `process[].chain_filter`, a filter expression such as
//!   `@.id =~ 'S2.*' && @.properties.confidence > 80`, which cirrus-geo applies as
//!   `$.features[?(<chain_filter>)]` to keep some of the payload's features ([`Filter`]);
//! - `collection_matchers[].pattern` and the legacy `upload_options.collections` values,
//!   full paths such as `$[?(@.id =~ 'S2.*')]` that stac-task applies to a one-element
//!   list holding the item; the item matches when anything is found ([`JsonPath`]).
//!
//! The module owns a small lexer, a recursive-descent parser, an AST and an evaluator
//! instead of using an RFC 9535 crate: jsonpath-ng's filters use Python `re.search`
//! regexes, unquoted strings, `&` as a conjunction, a quirky lexer (`@id` is a field
//! named `@id`) and its own rules for missing fields, none of which an RFC 9535
//! implementation reproduces.
//!
//! ```
//! use cirrus_core::payload::jsonpath::{Filter, JsonPath};
//! use serde_json::json;
//!
//! let item = json!({"id": "S2A_1", "collection": "sentinel-2-l2a"});
//! let pattern = JsonPath::parse("$[?(@.collection =~ '^sentinel-2')]")?;
//! assert_eq!(pattern.find(&json!([item.clone()])), vec![&item]);
//!
//! let chain_filter = Filter::parse("@.id =~ 'S2.*' & @.properties.cloud < 10")?;
//! assert!(!chain_filter.matches(&item)); // `properties.cloud` is missing
//! # Ok::<(), cirrus_core::Error>(())
//! ```
//!
//! # Grammar and semantics (as in jsonpath-ng 1.16.0)
//!
//! - Paths start with `$` (the root), `@` (the current value) or directly with a
//!   selector (relative to the current value). Selectors: `.name`, `.'quoted name'`,
//!   `.*`, `.0` (the *field* `"0"`, never an array index), `.a,b` (several fields),
//!   `[n]`, `[n,m]` (negative indices count from the end), `[start:end:step]`
//!   (Python slice rules), `[*]`, `['name', "other"]`, `[?filter]`, and `..` before any
//!   of them for every descendant, in pre-order, the value itself included.
//!   Unquoted names match `@?[A-Za-z_][A-Za-z0-9_@-]*`, so `a-b` and `@id` are single
//!   field names; `null`, `true` and `false` are valid names; `where` and `wherenot`
//!   are reserved and must be quoted. Quoted names take `\x` as the character `x`.
//! - Field selectors select nothing from non-objects, index and slice selectors
//!   nothing from non-arrays. A filter `[?...]` keeps the elements of an array *and the
//!   values of an object* for which the expression holds.
//! - Filter expressions: `path` (true when the path finds anything, even `null` or
//!   `false`), `!path` (true when it finds nothing), `path OP value`, grouped with
//!   `( )`, combined with `&&` (or the deprecated `&`) and `||`; `&&` binds tighter
//!   than `||`. Beyond jsonpath-ng, a single `|` between conditions is accepted as `||`
//!   (jsonpath-ng rejects it as a syntax error, so no expression it accepts changes
//!   meaning); after a bare path, `|` and `&` stay errors (jsonpath-ng's path union and
//!   intersection). OP is one of `==`, `=`, `!=`, `<`, `<=`, `>`, `>=`, `=~`.
//! - The value is a quoted or bare string (`foo` is the string `"foo"`, `True` too),
//!   an integer (`-?[0-9]+`), a float (`-?[0-9]+.[0-9]+`, no exponent), `true`, `false`,
//!   `null`, or a query made of `@`/`$` and `.name`, `['name']`, `[n]` selectors.
//! - A comparison holds when *any* value found by the path satisfies it, with one
//!   exception: when the path finds nothing, only `!=` holds (a missing field is
//!   "not equal" to everything). Two numbers (ints and floats compared exactly) or two
//!   strings (by code point) are ordered; any other pair only compares for equality
//!   (deep equality for arrays and objects; booleans never equal numbers), and then
//!   `<`/`>` are false while `<=`/`>=` mean `==`. There is no coercion: `"5" != 5`.
//! - `=~` is Python's `re.search` (unanchored) on string values only; non-strings never
//!   match. `=~ null` uses the pattern `null`.
//! - `$` inside a filter is the root of the whole query.
//!
//! # Not supported (rejected with an error)
//!
//! - Path operators of jsonpath-ng: union `|`, intersection `&` between paths (so
//!   `@.a & @.b` is an error: a bare path followed by `&` is an intersection in
//!   jsonpath-ng; use `&&`), `where`/`wherenot`, arithmetic (`+ - * /`), sorting
//!   (`[/field]`), named operators in backquotes (`` `len` ``), parentheses around
//!   paths except `(path)` used as a whole condition, and `$`/`@` after a `.`.
//! - `=~` with a number or boolean pattern (jsonpath-ng raises `TypeError` at search
//!   time), integer literals beyond 128 bits, non-ASCII digits outside quotes.
//! - A [`Filter`] must be balanced on its own: jsonpath-ng splices the text into
//!   `$.features[?(...)]`, so it would accept `@.a) || (@.b`; this module does not.
//! - Regex constructs the `regex` crate lacks: look-around, backreferences
//!   (`\1`, `(?P=name)`), conditionals, atomic groups, possessive quantifiers, `\N{..}`,
//!   octal escapes, and the `x`, `a` and `L` flags (Python-invalid patterns such as
//!   `a**` are rejected too). Python quirks are emulated: `$` also matches before a
//!   final newline (by consuming it, so a pattern that goes on matching after `$`, like
//!   `$\n` or `$^`, can differ), `\B` never matches in an empty string, `{` is literal
//!   unless it starts a repeat, `{,n}` means `{0,n}`, `\Z` is `\z`. Unicode classes
//!   `\w` and `\s` follow the `regex` crate, which differs from Python for a few rare
//!   characters (combining marks, `\x1c`-`\x1f`).
//! - Numbers follow `serde_json`: integers beyond 64 bits are floats, so they compare
//!   as floats (Python's `json` keeps them exact).

use std::cmp::Ordering;
use std::fmt;

use regex::Regex;
use serde_json::Value;

use crate::{Error, Result};

/// The deepest nesting of parentheses and filters a parsed expression may have.
pub const MAX_NESTING: usize = 64;

/// A compiled jsonpath-ng (ext) path expression, e.g. `$.features[?(@.id =~ 'S2.*')]`.
#[derive(Clone, Debug)]
pub struct JsonPath {
    source: String,
    path: Path,
}

impl JsonPath {
    /// Parses `expression` as a jsonpath-ng (ext) path.
    ///
    /// Fails with [`Error::JsonPath`] on a syntax error or unsupported syntax, and with
    /// [`Error::Regex`] when an `=~` pattern does not compile.
    pub fn parse(expression: &str) -> Result<JsonPath> {
        let mut parser = Parser::new(expression);
        let path = parser.parse_path()?;
        parser.expect_end()?;
        Ok(JsonPath {
            source: expression.to_owned(),
            path,
        })
    }

    /// Every value the path selects, in document order (as jsonpath-ng returns them).
    pub fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        self.path.find(root, root)
    }

    /// Whether the path selects anything in `root` (how stac-task applies a
    /// `collection_matchers` pattern, to `[item]`).
    pub fn matches(&self, root: &Value) -> bool {
        !self.find(root).is_empty()
    }

    /// The source expression.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Two paths are equal when their source expressions are.
impl PartialEq for JsonPath {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for JsonPath {}

/// A compiled filter expression as written inside `[?( ... )]`, e.g. a chain_filter.
#[derive(Clone, Debug)]
pub struct Filter {
    source: String,
    expr: Expr,
}

impl Filter {
    /// Parses `expression` as the inside of a jsonpath-ng (ext) filter `[?( ... )]`.
    ///
    /// Fails with [`Error::JsonPath`] on a syntax error or unsupported syntax, and with
    /// [`Error::Regex`] when an `=~` pattern does not compile.
    pub fn parse(expression: &str) -> Result<Filter> {
        let mut parser = Parser::new(expression);
        let expr = parser.parse_or()?;
        parser.expect_end()?;
        Ok(Filter {
            source: expression.to_owned(),
            expr,
        })
    }

    /// Whether jsonpath-ng would keep `value` when filtering a list containing it.
    ///
    /// A `$` in the expression refers to `value` itself; see
    /// [`matches_with_root`](Self::matches_with_root).
    pub fn matches(&self, value: &Value) -> bool {
        self.expr.test(value, value)
    }

    /// Like [`matches`](Self::matches), with `$` referring to `root` (for a
    /// chain_filter, the payload whose `features` are filtered).
    pub fn matches_with_root(&self, value: &Value, root: &Value) -> bool {
        self.expr.test(value, root)
    }

    /// The children of `container` the filter keeps, as `container[?(...)]` does in
    /// jsonpath-ng: the elements of an array, or the values of an object; nothing from
    /// other values. `$` refers to `root`.
    pub fn select<'a>(&self, container: &'a Value, root: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        apply_filter(&self.expr, container, root, &mut out);
        out
    }

    /// The source expression.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Two filters are equal when their source expressions are.
impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Filter {}

// ================================================================================
// AST
// ================================================================================

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    Root,
    Current,
}

#[derive(Clone, Debug)]
struct Path {
    start: Start,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug)]
enum Segment {
    Child(Selector),
    Descendants(Selector),
}

#[derive(Clone, Debug)]
enum Selector {
    Names(Vec<String>),
    Wildcard,
    Indices(Vec<i64>),
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    Filter(Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The right-hand side of a comparison.
#[derive(Clone, Debug)]
enum Operand {
    Literal(Literal),
    /// A singular query (`@`/`$` followed by names and indices).
    Query(Path),
}

#[derive(Clone, Debug)]
enum Literal {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
}

#[derive(Clone, Debug)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Exists(Path),
    NotExists(Path),
    Compare {
        left: Path,
        op: CmpOp,
        right: Operand,
    },
    Regex {
        left: Path,
        regex: PyRegex,
    },
}

// ================================================================================
// Lexer
// ================================================================================

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FilterOp {
    Cmp(CmpOp),
    Match,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Dollar,
    At,
    Dot,
    DotDot,
    Star,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Colon,
    Question,
    Bang,
    Amp,
    AndAnd,
    Pipe,
    OrOr,
    Op(FilterOp),
    /// An unquoted or quoted name (jsonpath-ng's `ID` token).
    Name(String),
    /// An integer (`-?[0-9]+`), as written.
    Int(String),
    Float(f64),
    Bool(bool),
    Null,
    /// Text jsonpath-ng rejects or this module does not support; the message says why.
    Invalid(String),
    End,
}

/// The token after the last one.
static END: Token = Token {
    tok: Tok::End,
    start: 0,
    end: 0,
};

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    /// Character offsets of the token in the source.
    start: usize,
    end: usize,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '-')
}

/// Splits `chars` into tokens the way jsonpath-ng's ext lexer does. Lexing stops at
/// the first invalid token, which becomes a [`Tok::Invalid`].
fn tokenize(chars: &[char]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    loop {
        while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\n') {
            i += 1;
        }
        let start = i;
        let Some(&c) = chars.get(i) else {
            tokens.push(Token {
                tok: Tok::End,
                start,
                end: start,
            });
            return tokens;
        };
        let next = chars.get(i + 1).copied();
        let (tok, end) = lex_one(chars, i, c, next);
        let invalid = matches!(tok, Tok::Invalid(_));
        tokens.push(Token { tok, start, end });
        if invalid {
            return tokens;
        }
        i = end;
    }
}

fn lex_one(chars: &[char], i: usize, c: char, next: Option<char>) -> (Tok, usize) {
    let two = |t: Tok| (t, i + 2);
    let one = |t: Tok| (t, i + 1);
    match c {
        '\'' | '"' => lex_quoted(chars, i, c),
        '`' => (
            Tok::Invalid(
                "named operators in backquotes (such as `this` or `len`) are not supported"
                    .to_owned(),
            ),
            i + 1,
        ),
        c if is_name_start(c) || (c == '@' && next.is_some_and(is_name_start)) => {
            let mut end = i + 1;
            while end < chars.len() && is_name_char(chars[end]) {
                end += 1;
            }
            let word: String = chars[i..end].iter().collect();
            let tok = match word.as_str() {
                "true" => Tok::Bool(true),
                "false" => Tok::Bool(false),
                "null" => Tok::Null,
                "where" | "wherenot" => Tok::Invalid(format!(
                    "`{word}` is a reserved word (the `{word}` operator is not supported); \
                     quote it to use it as a field name: '{word}'"
                )),
                _ => Tok::Name(word),
            };
            (tok, end)
        }
        c if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
            lex_number(chars, i)
        }
        '=' if next == Some('~') => two(Tok::Op(FilterOp::Match)),
        '=' if next == Some('=') => two(Tok::Op(FilterOp::Cmp(CmpOp::Eq))),
        '=' => one(Tok::Op(FilterOp::Cmp(CmpOp::Eq))),
        '<' if next == Some('=') => two(Tok::Op(FilterOp::Cmp(CmpOp::Le))),
        '>' if next == Some('=') => two(Tok::Op(FilterOp::Cmp(CmpOp::Ge))),
        '!' if next == Some('=') => two(Tok::Op(FilterOp::Cmp(CmpOp::Ne))),
        '<' => one(Tok::Op(FilterOp::Cmp(CmpOp::Lt))),
        '>' => one(Tok::Op(FilterOp::Cmp(CmpOp::Gt))),
        '.' if next == Some('.') => two(Tok::DotDot),
        '|' if next == Some('|') => two(Tok::OrOr),
        '&' if next == Some('&') => two(Tok::AndAnd),
        '.' => one(Tok::Dot),
        '|' => one(Tok::Pipe),
        '&' => one(Tok::Amp),
        '*' => one(Tok::Star),
        '[' => one(Tok::LBracket),
        ']' => one(Tok::RBracket),
        '(' => one(Tok::LParen),
        ')' => one(Tok::RParen),
        '$' => one(Tok::Dollar),
        '@' => one(Tok::At),
        ',' => one(Tok::Comma),
        ':' => one(Tok::Colon),
        '?' => one(Tok::Question),
        '!' => one(Tok::Bang),
        '/' | '\\' => one(Tok::Invalid(format!(
            "sorting (`[/field]`, `[\\field]`) is not supported; found `{c}`"
        ))),
        '+' | '-' => one(Tok::Invalid(format!(
            "arithmetic (`+`, `-`, `*`, `/`) is not supported; found `{c}`"
        ))),
        c if c.is_ascii() => one(Tok::Invalid(format!("unexpected character {c:?}"))),
        c => one(Tok::Invalid(format!(
            "unexpected character {c:?} (names with non-ASCII characters must be quoted)"
        ))),
    }
}

fn lex_number(chars: &[char], i: usize) -> (Tok, usize) {
    let digits_from = |from: usize| {
        let mut end = from;
        while end < chars.len() && chars[end].is_ascii_digit() {
            end += 1;
        }
        end
    };
    let sign = usize::from(chars.get(i) == Some(&'-'));
    let int_end = digits_from(i + sign);
    if chars.get(int_end) == Some(&'.') && chars.get(int_end + 1).is_some_and(char::is_ascii_digit)
    {
        let end = digits_from(int_end + 1);
        let text: String = chars[i..end].iter().collect();
        return match text.parse::<f64>() {
            Ok(value) => (Tok::Float(value), end),
            Err(_) => (Tok::Invalid(format!("invalid number `{text}`")), end),
        };
    }
    (Tok::Int(chars[i..int_end].iter().collect()), int_end)
}

fn lex_quoted(chars: &[char], i: usize, quote: char) -> (Tok, usize) {
    let mut text = String::new();
    let mut j = i + 1;
    while let Some(&c) = chars.get(j) {
        if c == quote {
            return (Tok::Name(text), j + 1);
        }
        if c == '\\' {
            match chars.get(j + 1) {
                Some(&escaped) if escaped != '\n' => {
                    text.push(escaped);
                    j += 2;
                    continue;
                }
                Some(_) => {
                    return (
                        Tok::Invalid("a backslash cannot escape a line break".to_owned()),
                        j + 1,
                    );
                }
                None => break,
            }
        }
        text.push(c);
        j += 1;
    }
    (
        Tok::Invalid(format!("unterminated string (missing closing `{quote}`)")),
        chars.len(),
    )
}

// ================================================================================
// Parser
// ================================================================================

struct Parser {
    source: String,
    chars: Vec<char>,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Set right after `[?` when a `(` follows: `[?(` counts as one nesting level.
    filter_paren: bool,
}

/// What must not follow a path used as a whole condition.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Follow {
    /// A bare path: `&` and `|` would make jsonpath-ng build a path intersection/union.
    BarePath,
    /// A parenthesized path: jsonpath-ng would also continue the path or compare it.
    ParenPath,
}

impl Parser {
    fn new(source: &str) -> Parser {
        let chars: Vec<char> = source.chars().collect();
        let tokens = tokenize(&chars);
        Parser {
            source: source.to_owned(),
            chars,
            tokens,
            pos: 0,
            depth: 0,
            filter_paren: false,
        }
    }

    fn token(&self) -> &Token {
        // `tokenize` ends the list with `End` or `Invalid`, and `advance` never moves
        // past the last token; `END` is only a fallback.
        self.tokens.get(self.pos).unwrap_or(&END)
    }

    fn peek(&self) -> &Tok {
        &self.token().tok
    }

    fn advance(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn error_at(&self, position: usize, message: String) -> Error {
        Error::JsonPath {
            expression: self.source.clone(),
            position,
            message,
        }
    }

    /// The error for an unexpected current token; `expected` says what would be valid.
    fn unexpected(&self, expected: &str) -> Error {
        let token = self.token();
        let message = match &token.tok {
            Tok::Invalid(message) => message.clone(),
            Tok::End => format!("expected {expected}, found the end of the expression"),
            tok => {
                let text: String = self.chars[token.start..token.end].iter().collect();
                let hint = match tok {
                    Tok::Pipe => {
                        " (jsonpath-ng's `|` path union is not supported; the logical or is `||`)"
                    }
                    Tok::Amp => " (the logical and is `&&`)",
                    Tok::Colon => " (quote field names that contain `:`, e.g. `.'eo:cloud_cover'`)",
                    _ => "",
                };
                format!("expected {expected}, found `{text}`{hint}")
            }
        };
        self.error_at(token.start, message)
    }

    fn expect(&mut self, tok: &Tok, expected: &str) -> Result<()> {
        if self.peek() == tok {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn expect_end(&self) -> Result<()> {
        if *self.peek() == Tok::End {
            Ok(())
        } else {
            Err(self.unexpected("the end of the expression"))
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let start = self.token().start;
            return Err(self.error_at(
                start,
                format!(
                    "expression nests parentheses and filters deeper than {MAX_NESTING} levels"
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ---------------------------------------------------------------- paths

    fn parse_path(&mut self) -> Result<Path> {
        let (start, mut segments) = match self.peek() {
            Tok::Dollar => {
                self.advance();
                (Start::Root, Vec::new())
            }
            Tok::At => {
                self.advance();
                (Start::Current, Vec::new())
            }
            Tok::Name(_) | Tok::Null | Tok::Bool(_) | Tok::Int(_) | Tok::Star => (
                Start::Current,
                vec![Segment::Child(self.parse_dot_selector("")?)],
            ),
            Tok::LBracket => (
                Start::Current,
                vec![Segment::Child(self.parse_bracket(false)?)],
            ),
            _ => {
                return Err(self.unexpected("a path (`$`, `@`, a field name, `*` or `[`)"));
            }
        };
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.advance();
                    let selector = match self.peek() {
                        Tok::LBracket => self.parse_bracket(false)?,
                        _ => self.parse_dot_selector(" after `.`")?,
                    };
                    segments.push(Segment::Child(selector));
                }
                Tok::DotDot => {
                    self.advance();
                    let selector = match self.peek() {
                        Tok::LBracket => self.parse_bracket(true)?,
                        _ => self.parse_dot_selector(" after `..`")?,
                    };
                    segments.push(Segment::Descendants(selector));
                }
                Tok::LBracket => segments.push(Segment::Child(self.parse_bracket(true)?)),
                _ => return Ok(Path { start, segments }),
            }
        }
    }

    /// A selector written without brackets: names, a number (a field name) or `*`.
    fn parse_dot_selector(&mut self, context: &str) -> Result<Selector> {
        match self.peek().clone() {
            Tok::Star => {
                self.advance();
                Ok(Selector::Wildcard)
            }
            Tok::Int(text) => {
                self.advance();
                Ok(Selector::Names(vec![normalize_int(&text)]))
            }
            Tok::Name(_) | Tok::Null | Tok::Bool(_) => Ok(Selector::Names(self.parse_names()?)),
            _ => Err(self.unexpected(&format!("a field name, `*` or `[`{context}"))),
        }
    }

    /// A comma-separated list of names (`ID`, `null`, `true`, `false`).
    fn parse_names(&mut self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        loop {
            let name = match self.peek() {
                Tok::Name(name) => name.clone(),
                Tok::Null => "null".to_owned(),
                Tok::Bool(value) => value.to_string(),
                _ => return Err(self.unexpected("a field name")),
            };
            self.advance();
            names.push(name);
            if *self.peek() != Tok::Comma {
                return Ok(names);
            }
            self.advance();
        }
    }

    fn parse_bracket(&mut self, allow_filter: bool) -> Result<Selector> {
        self.expect(&Tok::LBracket, "`[`")?;
        let selector = match self.peek().clone() {
            Tok::Question if allow_filter => {
                self.advance();
                self.enter()?;
                self.filter_paren = *self.peek() == Tok::LParen;
                let expr = self.parse_or()?;
                self.leave();
                Selector::Filter(Box::new(expr))
            }
            Tok::Question => {
                let start = self.token().start;
                return Err(self.error_at(
                    start,
                    "a filter `[?...]` must directly follow a path (not start one or follow `.`)"
                        .to_owned(),
                ));
            }
            Tok::Star => {
                self.advance();
                Selector::Wildcard
            }
            Tok::Int(_) | Tok::Colon => self.parse_indices_or_slice()?,
            Tok::Name(_) | Tok::Null | Tok::Bool(_) => Selector::Names(self.parse_names()?),
            _ => {
                return Err(
                    self.unexpected("`?`, `*`, an index, a slice or a field name after `[`")
                );
            }
        };
        self.expect(&Tok::RBracket, "`]`")?;
        Ok(selector)
    }

    fn parse_indices_or_slice(&mut self) -> Result<Selector> {
        let first = self.parse_optional_int();
        if *self.peek() == Tok::Colon {
            self.advance();
            let end = self.parse_optional_int();
            let mut step = None;
            if *self.peek() == Tok::Colon {
                self.advance();
                step = self.parse_optional_int();
            }
            return Ok(Selector::Slice {
                start: first,
                end,
                step,
            });
        }
        let mut indices = Vec::new();
        indices.extend(first);
        while *self.peek() == Tok::Comma {
            self.advance();
            match self.parse_optional_int() {
                Some(index) => indices.push(index),
                None => return Err(self.unexpected("an index")),
            }
        }
        Ok(Selector::Indices(indices))
    }

    fn parse_optional_int(&mut self) -> Option<i64> {
        let Tok::Int(text) = self.peek() else {
            return None;
        };
        let value = saturating_int(text);
        self.advance();
        Some(value)
    }

    // ---------------------------------------------------------------- filters

    fn parse_or(&mut self) -> Result<Expr> {
        let mut operands = vec![self.parse_and()?];
        // Beyond jsonpath-ng, which rejects it: a single `|` between conditions is `||`, as
        // DESIGN §4 writes chain filters (`… & … | …`).
        while matches!(self.peek(), Tok::OrOr | Tok::Pipe) {
            self.advance();
            operands.push(self.parse_and()?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            Expr::Or(operands)
        })
    }

    fn parse_and(&mut self) -> Result<Expr> {
        let mut operands = vec![self.parse_operand()?];
        while matches!(self.peek(), Tok::AndAnd | Tok::Amp) {
            self.advance();
            operands.push(self.parse_operand()?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            Expr::And(operands)
        })
    }

    fn parse_operand(&mut self) -> Result<Expr> {
        match self.peek() {
            Tok::LParen => {
                self.advance();
                let counted = !std::mem::take(&mut self.filter_paren);
                if counted {
                    self.enter()?;
                }
                let inner = self.parse_or()?;
                self.expect(&Tok::RParen, "`)`")?;
                if counted {
                    self.leave();
                }
                if matches!(inner, Expr::Exists(_)) {
                    self.check_follow(Follow::ParenPath)?;
                }
                Ok(inner)
            }
            Tok::Bang => {
                self.advance();
                let mut parens = 0;
                while *self.peek() == Tok::LParen {
                    self.advance();
                    self.enter()?;
                    parens += 1;
                }
                let path = self.parse_path()?;
                for _ in 0..parens {
                    self.expect(&Tok::RParen, "`)` (`!` negates a path, not a comparison)")?;
                    self.leave();
                }
                self.check_follow(if parens > 0 {
                    Follow::ParenPath
                } else {
                    Follow::BarePath
                })?;
                Ok(Expr::NotExists(path))
            }
            Tok::Dollar
            | Tok::At
            | Tok::Name(_)
            | Tok::Null
            | Tok::Bool(_)
            | Tok::Int(_)
            | Tok::Star
            | Tok::LBracket => {
                let left = self.parse_path()?;
                let Tok::Op(op) = *self.peek() else {
                    self.check_follow(Follow::BarePath)?;
                    return Ok(Expr::Exists(left));
                };
                self.advance();
                match op {
                    FilterOp::Match => self.parse_regex(left),
                    FilterOp::Cmp(op) => {
                        let right = self.parse_value(op)?;
                        Ok(Expr::Compare { left, op, right })
                    }
                }
            }
            _ => Err(self.unexpected("a filter expression (a path, `!` or `(`)")),
        }
    }

    /// Rejects what jsonpath-ng would read as a path operator after a path condition.
    fn check_follow(&self, follow: Follow) -> Result<()> {
        let token = self.token();
        let message = match (&token.tok, follow) {
            (Tok::Amp, _) => {
                "`&` after a path condition is jsonpath-ng's path intersection, which is not \
                 supported; write `&&` for a logical and"
            }
            (Tok::Pipe, _) => {
                "`|` after a path condition is jsonpath-ng's path union, which is not \
                 supported; write `||` for a logical or"
            }
            (Tok::Dot | Tok::DotDot | Tok::LBracket | Tok::Op(_), Follow::ParenPath) => {
                "a parenthesized path cannot be continued or compared; remove the parentheses"
            }
            _ => return Ok(()),
        };
        Err(self.error_at(token.start, message.to_owned()))
    }

    fn parse_regex(&mut self, left: Path) -> Result<Expr> {
        let pattern = match self.peek() {
            Tok::Name(pattern) => pattern.clone(),
            Tok::Null => "null".to_owned(),
            Tok::Dollar | Tok::At => {
                let start = self.token().start;
                return Err(self.error_at(
                    start,
                    "the regex operator `=~` requires a literal pattern, not a query".to_owned(),
                ));
            }
            Tok::Int(_) | Tok::Float(_) | Tok::Bool(_) => {
                return Err(self.unexpected("a quoted regular expression after `=~`"));
            }
            _ => return Err(self.unexpected("a quoted regular expression after `=~`")),
        };
        self.advance();
        let regex = PyRegex::new(&pattern)?;
        Ok(Expr::Regex { left, regex })
    }

    fn parse_value(&mut self, op: CmpOp) -> Result<Operand> {
        let literal = match self.peek().clone() {
            Tok::Name(text) => Literal::Str(text),
            Tok::Float(value) => Literal::Float(value),
            Tok::Bool(value) => Literal::Bool(value),
            Tok::Null => Literal::Null,
            Tok::Int(text) => match text.parse::<i128>() {
                Ok(value) => Literal::Int(value),
                Err(_) => {
                    let start = self.token().start;
                    return Err(self.error_at(start, format!("integer `{text}` is out of range")));
                }
            },
            Tok::Dollar | Tok::At => return Ok(Operand::Query(self.parse_singular_query()?)),
            _ => {
                return Err(self.unexpected(&format!(
                    "a value after `{}` (a quoted string, a number, true, false, null, or a \
                     query starting with `@` or `$`)",
                    op.symbol()
                )));
            }
        };
        self.advance();
        Ok(Operand::Literal(literal))
    }

    /// `@` or `$` followed by `.name`, `[name]` and `[index]` selectors.
    fn parse_singular_query(&mut self) -> Result<Path> {
        let start = if self.advance() == Tok::Dollar {
            Start::Root
        } else {
            Start::Current
        };
        let mut segments = Vec::new();
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.advance();
                    let name = match self.peek() {
                        Tok::Name(name) => name.clone(),
                        Tok::Null => "null".to_owned(),
                        Tok::Bool(value) => value.to_string(),
                        _ => {
                            return Err(self.unexpected(
                                "a field name after `.` (a compared query may only use names \
                                 and indices)",
                            ));
                        }
                    };
                    self.advance();
                    segments.push(Segment::Child(Selector::Names(vec![name])));
                }
                Tok::LBracket => {
                    self.advance();
                    let selector = match self.peek() {
                        Tok::Name(name) => Selector::Names(vec![name.clone()]),
                        Tok::Int(text) => Selector::Indices(vec![saturating_int(text)]),
                        _ => {
                            return Err(self.unexpected(
                                "a field name or an index (a compared query may only use names \
                                 and indices)",
                            ));
                        }
                    };
                    self.advance();
                    self.expect(&Tok::RBracket, "`]`")?;
                    segments.push(Segment::Child(selector));
                }
                _ => return Ok(Path { start, segments }),
            }
        }
    }
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// The field name Python's `str(int(text))` makes of a number used as a name.
fn normalize_int(text: &str) -> String {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    let digits = digits.trim_start_matches('0');
    match (digits.is_empty(), negative) {
        (true, _) => "0".to_owned(),
        (false, true) => format!("-{digits}"),
        (false, false) => digits.to_owned(),
    }
}

/// An index or slice bound; any value beyond `i64` selects like the nearest `i64`.
fn saturating_int(text: &str) -> i64 {
    text.parse::<i64>().unwrap_or(if text.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    })
}

// ================================================================================
// Python regular expressions
// ================================================================================

/// A Python `re` pattern compiled for `re.search`.
#[derive(Clone, Debug)]
struct PyRegex {
    regex: Regex,
    /// The variant to use on the empty string, when the pattern has `\B`: Python's `\B`
    /// never matches in an empty string, while the `regex` crate's does.
    on_empty: Option<Regex>,
}

impl PyRegex {
    fn new(pattern: &str) -> Result<PyRegex> {
        let regex_error = |source: regex::Error| Error::Regex {
            pattern: pattern.to_owned(),
            source: Box::new(source),
        };
        let translated = translate_python_regex(pattern).map_err(|message| {
            regex_error(regex::Error::Syntax(format!(
                "{message} (patterns use Python `re` syntax, limited to what the Rust `regex` \
                 crate supports)"
            )))
        })?;
        let regex = Regex::new(&translated.main).map_err(regex_error)?;
        let on_empty = match translated.on_empty {
            Some(on_empty) => Some(Regex::new(&on_empty).map_err(regex_error)?),
            None => None,
        };
        Ok(PyRegex { regex, on_empty })
    }

    /// Python's `re.search(pattern, text) is not None`.
    fn is_match(&self, text: &str) -> bool {
        match &self.on_empty {
            Some(on_empty) if text.is_empty() => on_empty.is_match(text),
            _ => self.regex.is_match(text),
        }
    }
}

/// A Python pattern rewritten for the `regex` crate.
struct Translated {
    main: String,
    on_empty: Option<String>,
}

/// Replaces the `(offset, len)` byte spans `offsets` of `text` by `replacement`.
fn replace_at(text: &str, offsets: &[(usize, usize)], replacement: &str) -> String {
    let mut out = String::with_capacity(text.len() + offsets.len() * replacement.len());
    let mut last = 0;
    for &(at, len) in offsets {
        out.push_str(&text[last..at]);
        out.push_str(replacement);
        last = at + len;
    }
    out.push_str(&text[last..]);
    out
}

/// What the previous regex item was, to reject repeats Python rejects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Item {
    /// Start of the pattern, of a group or of an alternative.
    Nothing,
    /// A zero-width assertion (`^`, `$`, `\b`, ...).
    Anchor,
    /// A quantifier (`*`, `+`, `?`, `{m,n}`), possibly already made lazy.
    Quantifier { lazy: bool },
    /// Anything repeatable.
    Atom,
}

/// Rewrites a Python `re` pattern into the `regex` crate's syntax, or says which
/// construct cannot be supported.
fn translate_python_regex(pattern: &str) -> std::result::Result<Translated, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    // Byte offsets and lengths in `out` of each `$` (rewritten at the end unless
    // multi-line) and each `\B` (rewritten for the empty-string variant).
    let mut dollars = Vec::new();
    let mut non_boundaries = Vec::new();
    let mut multiline = false;
    let mut only_flags_so_far = true;
    let mut item = Item::Nothing;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let was_flags = only_flags_so_far;
        only_flags_so_far = false;
        match c {
            '\\' => {
                let (text, kind) = translate_escape(&chars, i, false)?;
                if text == "\\B" {
                    non_boundaries.push((out.len(), text.len()));
                }
                out.push_str(&text);
                item = kind;
                i += 2 + escape_extra_len(&chars, i);
            }
            '[' => {
                i = translate_class(&chars, i, &mut out)?;
                item = Item::Atom;
            }
            '(' if chars.get(i + 1) == Some(&'?') => {
                let group = translate_group(&chars, i)?;
                match group {
                    Group::Comment { end } => {
                        only_flags_so_far = was_flags;
                        // A comment does not change what is repeated, but a `?` after it
                        // no longer makes a quantifier lazy.
                        if let Item::Quantifier { .. } = item {
                            item = Item::Quantifier { lazy: true };
                        }
                        i = end;
                    }
                    Group::GlobalFlags { text, end } => {
                        if !was_flags {
                            return Err("global flags not at the start of the expression".into());
                        }
                        multiline |= text.contains('m');
                        only_flags_so_far = true;
                        out.push_str(&text);
                        i = end;
                    }
                    Group::Open {
                        text,
                        end,
                        multiline: turns_on_m,
                    } => {
                        multiline |= turns_on_m;
                        out.push_str(&text);
                        item = Item::Nothing;
                        i = end;
                    }
                }
            }
            '(' | '|' => {
                out.push(c);
                item = Item::Nothing;
                i += 1;
            }
            ')' => {
                out.push(c);
                item = Item::Atom;
                i += 1;
            }
            '*' | '+' | '?' => {
                item = quantify(item, c)?;
                out.push(c);
                i += 1;
            }
            '{' => match parse_repeat(&chars, i) {
                Some((text, end)) => {
                    item = quantify(item, '{')?;
                    out.push_str(&text);
                    i = end;
                }
                None => {
                    out.push_str("\\{");
                    item = Item::Atom;
                    i += 1;
                }
            },
            '^' => {
                out.push('^');
                item = Item::Anchor;
                i += 1;
            }
            '$' => {
                dollars.push((out.len(), 1));
                out.push('$');
                item = Item::Anchor;
                i += 1;
            }
            _ => {
                out.push(c);
                item = Item::Atom;
                i += 1;
            }
        }
    }
    // In an empty string, Python's `\B` never matches, like `\b`.
    let on_empty = (!non_boundaries.is_empty()).then(|| replace_at(&out, &non_boundaries, "\\b"));
    // Python's `$` (without MULTILINE) also matches before a newline ending the string.
    let main = if multiline {
        out
    } else {
        replace_at(&out, &dollars, "(?:\\n?\\z)")
    };
    Ok(Translated { main, on_empty })
}

fn quantify(item: Item, c: char) -> std::result::Result<Item, String> {
    match (item, c) {
        (Item::Quantifier { lazy: false }, '?') => Ok(Item::Quantifier { lazy: true }),
        (Item::Quantifier { lazy: false }, '+') => {
            Err("possessive quantifiers (`*+`, `++`, `?+`, `{m,n}+`) are not supported".into())
        }
        (Item::Quantifier { .. }, _) => Err("multiple repeat".into()),
        (Item::Nothing | Item::Anchor, _) => Err("nothing to repeat".into()),
        (Item::Atom, _) => Ok(Item::Quantifier { lazy: false }),
    }
}

/// A `{m,n}` repeat at `chars[i]` in Python's forms (`{m}`, `{m,}`, `{,n}`, `{,}`),
/// rewritten for the `regex` crate, with the index after it; `None` when Python reads
/// the `{` as a literal.
fn parse_repeat(chars: &[char], i: usize) -> Option<(String, usize)> {
    let digits = |from: usize| {
        let mut end = from;
        while chars.get(end).is_some_and(char::is_ascii_digit) {
            end += 1;
        }
        (chars[from..end].iter().collect::<String>(), end)
    };
    let (low, mut j) = digits(i + 1);
    let high = if chars.get(j) == Some(&',') {
        let (high, end) = digits(j + 1);
        j = end;
        Some(high)
    } else {
        None
    };
    if chars.get(j) != Some(&'}') || (low.is_empty() && high.is_none()) {
        return None;
    }
    let low = if low.is_empty() { "0".to_owned() } else { low };
    let text = match high {
        None => format!("{{{low}}}"),
        Some(high) => format!("{{{low},{high}}}"),
    };
    Some((text, j + 1))
}

enum Group {
    /// `(?#...)`, dropped; `end` is the index after it.
    Comment { end: usize },
    /// `(?ims)`.
    GlobalFlags { text: String, end: usize },
    /// The opening of a group: `(?:`, `(?P<name>`, or `(?i-s:` (`multiline` when it
    /// turns on `m`).
    Open {
        text: String,
        end: usize,
        multiline: bool,
    },
}

/// Translates the `(?...` construct at `chars[i]`.
fn translate_group(chars: &[char], i: usize) -> std::result::Result<Group, String> {
    let rest: String = chars[i + 2..chars.len().min(i + 5)].iter().collect();
    let unsupported = |what: &str| Err(format!("{what} are not supported"));
    if rest.starts_with(':') {
        return Ok(Group::Open {
            text: "(?:".to_owned(),
            end: i + 3,
            multiline: false,
        });
    }
    if rest.starts_with("P<") {
        let mut j = i + 4;
        while chars.get(j).is_some_and(|&c| c != '>') {
            j += 1;
        }
        if j >= chars.len() {
            return Err("missing >, unterminated name".into());
        }
        let text: String = chars[i..=j].iter().collect();
        return Ok(Group::Open {
            text,
            end: j + 1,
            multiline: false,
        });
    }
    if rest.starts_with("P=") {
        return unsupported("backreferences (`(?P=name)`)");
    }
    if rest.starts_with('=') || rest.starts_with('!') {
        return unsupported("look-ahead assertions (`(?=...)`, `(?!...)`)");
    }
    if rest.starts_with("<=") || rest.starts_with("<!") {
        return unsupported("look-behind assertions (`(?<=...)`, `(?<!...)`)");
    }
    if rest.starts_with('(') {
        return unsupported("conditional groups (`(?(id)yes|no)`)");
    }
    if rest.starts_with('>') {
        return unsupported("atomic groups (`(?>...)`)");
    }
    if rest.starts_with('#') {
        let mut j = i + 3;
        while chars.get(j).is_some_and(|&c| c != ')') {
            j += 1;
        }
        if j >= chars.len() {
            return Err("missing ), unterminated comment".into());
        }
        return Ok(Group::Comment { end: j + 1 });
    }
    // Inline flags: `(?flags)` or `(?flags-flags:...)`.
    let mut j = i + 2;
    let mut text = String::from("(?");
    let mut negative = false;
    let mut any = false;
    let mut turns_on_m = false;
    loop {
        match chars.get(j) {
            Some(&c @ ('i' | 'm' | 's' | 'u')) => {
                any = true;
                turns_on_m |= c == 'm' && !negative;
                text.push(c);
            }
            Some('-') if !negative => {
                negative = true;
                text.push('-');
            }
            Some(&c @ ('x' | 'a' | 'L')) => {
                return Err(format!("the `{c}` flag is not supported"));
            }
            Some(')') if any && !negative => {
                text.push(')');
                return Ok(Group::GlobalFlags { text, end: j + 1 });
            }
            Some(')') if negative => return Err("missing : after negative inline flags".into()),
            Some(':') if any || negative => {
                text.push(':');
                return Ok(Group::Open {
                    text,
                    end: j + 1,
                    multiline: turns_on_m,
                });
            }
            Some(&c) => return Err(format!("unknown extension `(?{c}`")),
            None => return Err("missing ), unterminated subpattern".into()),
        }
        j += 1;
    }
}

/// How many characters after `\c` the escape at `chars[i]` spans.
fn escape_extra_len(chars: &[char], i: usize) -> usize {
    match chars.get(i + 1) {
        Some('x') => 2,
        Some('u') => 4,
        Some('U') => 8,
        _ => 0,
    }
}

/// Translates the escape at `chars[i]` (a backslash), inside a class or not.
fn translate_escape(
    chars: &[char],
    i: usize,
    in_class: bool,
) -> std::result::Result<(String, Item), String> {
    let Some(&c) = chars.get(i + 1) else {
        return Err("bad escape (end of pattern)".into());
    };
    let class_escape = |text: &str| Ok((text.to_owned(), Item::Atom));
    match c {
        'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'n' | 't' | 'r' | 'f' | 'v' | 'a' => {
            class_escape(&format!("\\{c}"))
        }
        'b' if in_class => class_escape("\\x08"),
        'b' | 'B' | 'A' if !in_class => Ok((format!("\\{c}"), Item::Anchor)),
        'Z' if !in_class => Ok(("\\z".to_owned(), Item::Anchor)),
        'x' | 'u' | 'U' => {
            let len = escape_extra_len(chars, i);
            let hex: String = chars.iter().skip(i + 2).take(len).collect();
            if hex.chars().count() != len || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                return Err(format!("incomplete escape \\{c}{hex}"));
            }
            class_escape(&format!("\\x{{{hex}}}"))
        }
        '0'..='9' => {
            Err("backreferences and octal escapes (`\\1`, `\\0`) are not supported".into())
        }
        'N' => Err("named Unicode escapes (`\\N{...}`) are not supported".into()),
        c if c.is_ascii_alphanumeric() => Err(format!("bad escape \\{c}")),
        c => Ok((escape_literal(c), Item::Atom)),
    }
}

/// The literal character `c` (escaped in Python), escaped where the `regex` crate
/// needs it. Other characters are written as they are: the `regex` crate rejects
/// some needless escapes (`\<` is a word boundary there).
fn escape_literal(c: char) -> String {
    let meta = matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    );
    if meta {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// Translates the character class opening at `chars[i]`; returns the index after it.
fn translate_class(
    chars: &[char],
    i: usize,
    out: &mut String,
) -> std::result::Result<usize, String> {
    out.push('[');
    let mut j = i + 1;
    if chars.get(j) == Some(&'^') {
        out.push('^');
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        out.push_str("\\]");
        j += 1;
    }
    while let Some(&c) = chars.get(j) {
        match c {
            ']' => {
                out.push(']');
                return Ok(j + 1);
            }
            '\\' => {
                let (text, _) = translate_escape(chars, j, true)?;
                out.push_str(&text);
                j += 2 + escape_extra_len(chars, j);
            }
            '-' if chars.get(j + 1) == Some(&'-') => {
                return Err("`--` in a character class is not supported".into());
            }
            '[' | '&' | '~' => {
                out.push('\\');
                out.push(c);
                j += 1;
            }
            _ => {
                out.push(c);
                j += 1;
            }
        }
    }
    Err("unterminated character set".into())
}

// ================================================================================
// Evaluation
// ================================================================================

impl Path {
    fn find<'a>(&self, current: &'a Value, root: &'a Value) -> Vec<&'a Value> {
        let mut nodes = vec![match self.start {
            Start::Root => root,
            Start::Current => current,
        }];
        for segment in &self.segments {
            let mut next = Vec::new();
            match segment {
                Segment::Child(selector) => {
                    for node in nodes {
                        selector.apply(node, root, &mut next);
                    }
                }
                Segment::Descendants(selector) => {
                    for node in nodes {
                        // Pre-order, with an explicit stack: deep documents cannot
                        // overflow the call stack.
                        let mut stack = vec![node];
                        while let Some(visited) = stack.pop() {
                            selector.apply(visited, root, &mut next);
                            match visited {
                                Value::Array(items) => stack.extend(items.iter().rev()),
                                Value::Object(map) => stack.extend(map.values().rev()),
                                _ => {}
                            }
                        }
                    }
                }
            }
            nodes = next;
        }
        nodes
    }
}

impl Selector {
    fn apply<'a>(&self, node: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>) {
        match self {
            Selector::Names(names) => {
                if let Value::Object(map) = node {
                    out.extend(names.iter().filter_map(|name| map.get(name)));
                }
            }
            Selector::Wildcard => match node {
                Value::Array(items) => out.extend(items),
                Value::Object(map) => out.extend(map.values()),
                _ => {}
            },
            Selector::Indices(indices) => {
                if let Value::Array(items) = node {
                    out.extend(indices.iter().filter_map(|&index| {
                        let len = i64::try_from(items.len()).ok()?;
                        let index = if index < 0 {
                            index.checked_add(len)?
                        } else {
                            index
                        };
                        items.get(usize::try_from(index).ok()?)
                    }));
                }
            }
            Selector::Slice { start, end, step } => {
                if let Value::Array(items) = node {
                    out.extend(slice_indices(items.len(), *start, *end, *step).map(|i| &items[i]));
                }
            }
            Selector::Filter(expr) => apply_filter(expr, node, root, out),
        }
    }
}

fn apply_filter<'a>(expr: &Expr, node: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>) {
    match node {
        Value::Array(items) => out.extend(items.iter().filter(|item| expr.test(item, root))),
        Value::Object(map) => out.extend(map.values().filter(|value| expr.test(value, root))),
        _ => {}
    }
}

/// The indices Python's `range(len)[start:end:step]` yields (empty when `step` is 0).
fn slice_indices(
    len: usize,
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
) -> impl Iterator<Item = usize> {
    let len = i128::try_from(len).unwrap_or(i128::MAX);
    let step = i128::from(step.unwrap_or(1));
    let clamp = |bound: Option<i64>, default: i128| -> i128 {
        let Some(bound) = bound else { return default };
        let bound = i128::from(bound);
        let bound = if bound < 0 { bound + len } else { bound };
        if step > 0 {
            bound.clamp(0, len)
        } else {
            bound.clamp(-1, len - 1)
        }
    };
    let (first, last) = if step > 0 {
        (clamp(start, 0), clamp(end, len))
    } else {
        (clamp(start, len - 1), clamp(end, -1))
    };
    let mut index = first;
    std::iter::from_fn(move || {
        let more = (step > 0 && index < last) || (step < 0 && index > last);
        if !more {
            return None;
        }
        let current = usize::try_from(index).ok();
        index += step;
        current
    })
}

impl Expr {
    /// Whether the filter keeps `candidate`; `$` is `root`.
    fn test(&self, candidate: &Value, root: &Value) -> bool {
        match self {
            Expr::Or(operands) => operands.iter().any(|expr| expr.test(candidate, root)),
            Expr::And(operands) => operands.iter().all(|expr| expr.test(candidate, root)),
            Expr::Exists(path) => !path.find(candidate, root).is_empty(),
            Expr::NotExists(path) => path.find(candidate, root).is_empty(),
            Expr::Regex { left, regex } => left
                .find(candidate, root)
                .into_iter()
                .any(|value| value.as_str().is_some_and(|text| regex.is_match(text))),
            Expr::Compare { left, op, right } => {
                let found = left.find(candidate, root);
                match right {
                    Operand::Query(query) => {
                        let values = query.find(candidate, root);
                        if found.is_empty() || values.is_empty() {
                            // Two empty node lists are equal; an empty one equals nothing.
                            return op.holds_if_equal(found.is_empty() && values.is_empty());
                        }
                        found.iter().any(|left| {
                            values
                                .iter()
                                .any(|right| compare(*op, &Scalar::of(left), &Scalar::of(right)))
                        })
                    }
                    Operand::Literal(literal) => {
                        if found.is_empty() {
                            // A missing value is "not equal" to any literal, `null` included.
                            return *op == CmpOp::Ne;
                        }
                        let literal = Scalar::of_literal(literal);
                        found
                            .iter()
                            .any(|value| compare_literal(*op, value, &literal))
                    }
                }
            }
        }
    }
}

impl CmpOp {
    /// The comparison's result for values that are only compared for equality.
    fn holds_if_equal(self, equal: bool) -> bool {
        match self {
            CmpOp::Eq | CmpOp::Le | CmpOp::Ge => equal,
            CmpOp::Ne => !equal,
            CmpOp::Lt | CmpOp::Gt => false,
        }
    }

    fn holds_for_ordering(self, ordering: Option<Ordering>) -> bool {
        let Some(ordering) = ordering else {
            return self == CmpOp::Ne;
        };
        match self {
            CmpOp::Eq => ordering.is_eq(),
            CmpOp::Ne => ordering.is_ne(),
            CmpOp::Lt => ordering.is_lt(),
            CmpOp::Le => ordering.is_le(),
            CmpOp::Gt => ordering.is_gt(),
            CmpOp::Ge => ordering.is_ge(),
        }
    }
}

/// A number as Python sees it: an int (exact) or a float.
#[derive(Clone, Copy, Debug)]
enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    fn of(number: &serde_json::Number) -> Number {
        if let Some(value) = number.as_i64() {
            Number::Int(i128::from(value))
        } else if let Some(value) = number.as_u64() {
            Number::Int(i128::from(value))
        } else {
            Number::Float(number.as_f64().unwrap_or(f64::NAN))
        }
    }

    /// Python's exact ordering of ints and floats (`None` for NaN).
    fn cmp(self, other: Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
            (Number::Float(a), Number::Float(b)) => a.partial_cmp(&b),
            (Number::Int(a), Number::Float(b)) => cmp_int_float(a, b),
            (Number::Float(a), Number::Int(b)) => cmp_int_float(b, a).map(Ordering::reverse),
        }
    }
}

/// Compares an integer with a float exactly, as Python does.
fn cmp_int_float(int: i128, float: f64) -> Option<Ordering> {
    const TWO_POW_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if float.is_nan() {
        return None;
    }
    if float >= TWO_POW_127 {
        return Some(Ordering::Less);
    }
    if float < -TWO_POW_127 {
        return Some(Ordering::Greater);
    }
    let truncated = float.trunc();
    // `truncated` is integral and within i128's range, so the cast is exact.
    let whole = truncated as i128;
    Some(int.cmp(&whole).then(if float > truncated {
        Ordering::Less
    } else if float < truncated {
        Ordering::Greater
    } else {
        Ordering::Equal
    }))
}

/// A value being compared: a JSON value or a filter literal.
enum Scalar<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(&'a str),
    Other(&'a Value),
}

impl<'a> Scalar<'a> {
    fn of(value: &'a Value) -> Scalar<'a> {
        match value {
            Value::Null => Scalar::Null,
            Value::Bool(value) => Scalar::Bool(*value),
            Value::Number(number) => Scalar::Number(Number::of(number)),
            Value::String(text) => Scalar::Str(text),
            Value::Array(_) | Value::Object(_) => Scalar::Other(value),
        }
    }

    fn of_literal(literal: &'a Literal) -> Scalar<'a> {
        match literal {
            Literal::Null => Scalar::Null,
            Literal::Bool(value) => Scalar::Bool(*value),
            Literal::Int(value) => Scalar::Number(Number::Int(*value)),
            Literal::Float(value) => Scalar::Number(Number::Float(*value)),
            Literal::Str(text) => Scalar::Str(text),
        }
    }
}

/// jsonpath-ng's comparison of a found value with a literal.
fn compare_literal(op: CmpOp, value: &Value, literal: &Scalar<'_>) -> bool {
    match (literal, value) {
        (Scalar::Null, value) => op.holds_if_equal(value.is_null()),
        (Scalar::Bool(expected), value) => op.holds_if_equal(value.as_bool() == Some(*expected)),
        (_, Value::Bool(_)) => op.holds_if_equal(false),
        (literal, value) => compare(op, &Scalar::of(value), literal),
    }
}

/// RFC 9535 comparison as jsonpath-ng implements it: numbers with numbers and strings
/// with strings are ordered; anything else only compares for (deep) equality.
fn compare(op: CmpOp, left: &Scalar<'_>, right: &Scalar<'_>) -> bool {
    match (left, right) {
        (Scalar::Number(a), Scalar::Number(b)) => op.holds_for_ordering(a.cmp(*b)),
        (Scalar::Str(a), Scalar::Str(b)) => op.holds_for_ordering(Some(a.cmp(b))),
        _ => op.holds_if_equal(scalars_equal(left, right)),
    }
}

fn scalars_equal(left: &Scalar<'_>, right: &Scalar<'_>) -> bool {
    match (left, right) {
        (Scalar::Null, Scalar::Null) => true,
        (Scalar::Bool(a), Scalar::Bool(b)) => a == b,
        (Scalar::Number(a), Scalar::Number(b)) => a.cmp(*b) == Some(Ordering::Equal),
        (Scalar::Str(a), Scalar::Str(b)) => a == b,
        (Scalar::Other(a), Scalar::Other(b)) => deep_equal(a, b),
        _ => false,
    }
}

/// Python's `_equal`: deep equality where booleans never equal numbers and `1 == 1.0`.
fn deep_equal(left: &Value, right: &Value) -> bool {
    let mut pairs = vec![(left, right)];
    while let Some((left, right)) = pairs.pop() {
        match (left, right) {
            (Value::Array(a), Value::Array(b)) => {
                if a.len() != b.len() {
                    return false;
                }
                pairs.extend(a.iter().zip(b));
            }
            (Value::Object(a), Value::Object(b)) => {
                if a.len() != b.len() {
                    return false;
                }
                for (key, value) in a {
                    let Some(other) = b.get(key) else {
                        return false;
                    };
                    pairs.push((value, other));
                }
            }
            (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => {
                return false;
            }
            (left, right) => {
                if !scalars_equal(&Scalar::of(left), &Scalar::of(right)) {
                    return false;
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests;
