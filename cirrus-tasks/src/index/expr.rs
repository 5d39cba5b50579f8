//! The index expression language: parsing.
//!
//! ```text
//! expr    := term (('+' | '-') term)*
//! term    := unary (('*' | '/') unary)*
//! unary   := '-' unary | primary
//! primary := NUMBER | 'R' WAVELENGTH | FUNC '(' expr (',' expr)* ')' | '(' expr ')'
//! FUNC    := abs | sqrt | min | max
//! ```
//!
//! `R860` is the reflectance at the band whose centre is nearest 860 nm (decimals allowed:
//! `R531.5`). Numbers are decimal with an optional exponent (`0.5`, `1e-3`). Whitespace is
//! ignored. A parse error names the expression, the 1-based column and the problem.

use std::fmt;

/// The deepest nesting accepted (parentheses, unary minus, calls), so that a hostile
/// expression cannot overflow the parser's stack.
const MAX_DEPTH: usize = 64;

/// A function of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `abs(x)`.
    Abs,
    /// `sqrt(x)`; negative → NaN → nodata.
    Sqrt,
    /// `min(x, y, …)`.
    Min,
    /// `max(x, y, …)`.
    Max,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        match name {
            "abs" => Some(Func::Abs),
            "sqrt" => Some(Func::Sqrt),
            "min" => Some(Func::Min),
            "max" => Some(Func::Max),
            _ => None,
        }
    }

    /// The function's name in expressions.
    pub fn name(self) -> &'static str {
        match self {
            Func::Abs => "abs",
            Func::Sqrt => "sqrt",
            Func::Min => "min",
            Func::Max => "max",
        }
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`; a zero divisor gives a non-finite value → nodata.
    Div,
    /// `min(a, b)` (NaN-propagating).
    Min,
    /// `max(a, b)` (NaN-propagating).
    Max,
}

/// A parsed expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A number.
    Number(f64),
    /// `R<nm>`: the reflectance at the band nearest this wavelength, in nanometres.
    Band(f64),
    /// Unary minus.
    Neg(Box<Node>),
    /// `abs(x)`.
    Abs(Box<Node>),
    /// `sqrt(x)`.
    Sqrt(Box<Node>),
    /// A binary operation (`min`/`max` with more arguments are folded into a chain).
    Binary(BinOp, Box<Node>, Box<Node>),
}

/// An expression that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The expression's text.
    pub expression: String,
    /// The 1-based column (in characters) where the problem is.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expression {:?}, column {}: {}",
            self.expression, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    text: String,
    root: Node,
}

impl Expression {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Expression, ParseError> {
        let mut parser = Parser {
            text,
            chars: text.char_indices().collect(),
            at: 0,
            depth: 0,
        };
        parser.skip_space();
        if parser.peek().is_none() {
            return Err(parser.error("the expression is empty"));
        }
        let root = parser.expr()?;
        parser.skip_space();
        if let Some(c) = parser.peek() {
            return Err(parser.error(format!(
                "unexpected {c:?} after a complete expression (a missing operator?)"
            )));
        }
        Ok(Expression {
            text: text.to_string(),
            root,
        })
    }

    /// The expression's text, as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The tree.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// The distinct wavelengths (nm) the expression reads, in order of first use.
    pub fn wavelengths(&self) -> Vec<f64> {
        let mut out = Vec::new();
        collect_wavelengths(&self.root, &mut out);
        out
    }
}

fn collect_wavelengths(node: &Node, out: &mut Vec<f64>) {
    match node {
        Node::Number(_) => {}
        Node::Band(nm) => {
            if !out.iter().any(|w: &f64| w.to_bits() == nm.to_bits()) {
                out.push(*nm);
            }
        }
        Node::Neg(x) | Node::Abs(x) | Node::Sqrt(x) => collect_wavelengths(x, out),
        Node::Binary(_, a, b) => {
            collect_wavelengths(a, out);
            collect_wavelengths(b, out);
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).map(|(_, c)| *c)
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            expression: self.text.to_string(),
            column: self.at + 1,
            message: message.into(),
        }
    }

    fn descend(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Node, ParseError> {
        let mut left = self.term()?;
        loop {
            self.skip_space();
            let op = match self.peek() {
                Some('+') => BinOp::Add,
                Some('-') => BinOp::Sub,
                _ => return Ok(left),
            };
            self.at += 1;
            let right = self.term()?;
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn term(&mut self) -> Result<Node, ParseError> {
        let mut left = self.unary()?;
        loop {
            self.skip_space();
            let op = match self.peek() {
                Some('*') => BinOp::Mul,
                Some('/') => BinOp::Div,
                _ => return Ok(left),
            };
            self.at += 1;
            let right = self.unary()?;
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        self.skip_space();
        if self.peek() == Some('-') {
            self.at += 1;
            self.descend()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Node::Neg(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, ParseError> {
        self.skip_space();
        match self.peek() {
            None => Err(self.error("unexpected end of the expression: a value is missing")),
            Some('(') => {
                self.at += 1;
                self.descend()?;
                let inner = self.expr()?;
                self.depth -= 1;
                self.expect_close("(")?;
                Ok(inner)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => Ok(Node::Number(self.number("a number")?)),
            Some('R') => {
                self.at += 1;
                if !self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                    return Err(self.error(
                        "expected a wavelength in nanometres after 'R' (as in R860 or R531.5)",
                    ));
                }
                let nm = self.number("a wavelength")?;
                if nm <= 0.0 {
                    return Err(self.error(format!("wavelength {nm} nm is not positive")));
                }
                Ok(Node::Band(nm))
            }
            Some(c) if c.is_ascii_alphabetic() => self.call(),
            Some(c) => Err(self.error(format!(
                "unexpected {c:?}: expected a number, R<nm>, a function or '('"
            ))),
        }
    }

    fn number(&mut self, what: &str) -> Result<f64, ParseError> {
        let start = self.at;
        let mut end = self.at;
        let digits = |p: &Parser, mut i: usize| {
            while p.chars.get(i).is_some_and(|(_, c)| c.is_ascii_digit()) {
                i += 1;
            }
            i
        };
        end = digits(self, end);
        if self.chars.get(end).is_some_and(|(_, c)| *c == '.') {
            end = digits(self, end + 1);
        }
        if self
            .chars
            .get(end)
            .is_some_and(|(_, c)| *c == 'e' || *c == 'E')
        {
            let mut exp = end + 1;
            if self
                .chars
                .get(exp)
                .is_some_and(|(_, c)| *c == '+' || *c == '-')
            {
                exp += 1;
            }
            let after = digits(self, exp);
            if after > exp {
                end = after;
            }
        }
        let from = self.chars[start].0;
        let to = self.chars.get(end).map_or(self.text.len(), |(i, _)| *i);
        let literal = &self.text[from..to];
        match literal.parse::<f64>() {
            Ok(value) if value.is_finite() => {
                self.at = end;
                Ok(value)
            }
            _ => Err(self.error(format!("{literal:?} is not {what}"))),
        }
    }

    fn call(&mut self) -> Result<Node, ParseError> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.at += 1;
        }
        let name: String = self.chars[start..self.at].iter().map(|(_, c)| *c).collect();
        let Some(func) = Func::from_name(&name) else {
            self.at = start;
            let hint = if name.starts_with('r') || name.starts_with('B') {
                " (a band is written R<nm>, as in R860)"
            } else {
                ""
            };
            return Err(self.error(format!(
                "unknown name {name:?}: expected R<nm> or one of the functions abs, sqrt, min, max{hint}"
            )));
        };
        self.skip_space();
        if self.peek() != Some('(') {
            return Err(self.error(format!("expected '(' after the function {name}")));
        }
        self.at += 1;
        self.descend()?;
        let mut args = vec![self.expr()?];
        loop {
            self.skip_space();
            if self.peek() == Some(',') {
                self.at += 1;
                args.push(self.expr()?);
            } else {
                break;
            }
        }
        self.depth -= 1;
        self.expect_close(&format!("{name}("))?;
        let arity_error = |p: &Parser, wanted: &str| {
            Err(p.error(format!(
                "{name} takes {wanted}, got {} argument(s)",
                args.len()
            )))
        };
        match func {
            Func::Abs | Func::Sqrt if args.len() != 1 => arity_error(self, "one argument"),
            Func::Min | Func::Max if args.len() < 2 => arity_error(self, "two or more arguments"),
            Func::Abs => Ok(Node::Abs(Box::new(args.remove(0)))),
            Func::Sqrt => Ok(Node::Sqrt(Box::new(args.remove(0)))),
            Func::Min | Func::Max => {
                let op = if func == Func::Min {
                    BinOp::Min
                } else {
                    BinOp::Max
                };
                let mut args = args.into_iter();
                let first = args
                    .next()
                    .expect("min/max have at least two arguments (checked above)");
                Ok(args.fold(first, |acc, next| {
                    Node::Binary(op, Box::new(acc), Box::new(next))
                }))
            }
        }
    }

    fn expect_close(&mut self, opened: &str) -> Result<(), ParseError> {
        self.skip_space();
        match self.peek() {
            Some(')') => {
                self.at += 1;
                Ok(())
            }
            Some(c) => Err(self.error(format!("expected ')' to close {opened:?}, found {c:?}"))),
            None => Err(self.error(format!(
                "unexpected end of the expression: {opened:?} is never closed"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(nm: f64) -> Box<Node> {
        Box::new(Node::Band(nm))
    }

    #[test]
    fn parses_precedence_unary_minus_and_decimal_wavelengths() {
        let e = Expression::parse(" (R860 - R670) / (R860+R670) ").unwrap();
        assert_eq!(
            e.root(),
            &Node::Binary(
                BinOp::Div,
                Box::new(Node::Binary(BinOp::Sub, band(860.0), band(670.0))),
                Box::new(Node::Binary(BinOp::Add, band(860.0), band(670.0))),
            )
        );
        assert_eq!(e.wavelengths(), vec![860.0, 670.0]);
        let e = Expression::parse("-R531.5*2e-1+3").unwrap();
        assert_eq!(
            e.root(),
            &Node::Binary(
                BinOp::Add,
                Box::new(Node::Binary(
                    BinOp::Mul,
                    Box::new(Node::Neg(band(531.5))),
                    Box::new(Node::Number(0.2))
                )),
                Box::new(Node::Number(3.0)),
            )
        );
    }

    #[test]
    fn min_and_max_fold_their_arguments() {
        let e = Expression::parse("max(R1, R2, abs(R3))").unwrap();
        assert_eq!(
            e.root(),
            &Node::Binary(
                BinOp::Max,
                Box::new(Node::Binary(BinOp::Max, band(1.0), band(2.0))),
                Box::new(Node::Abs(band(3.0))),
            )
        );
    }

    #[test]
    fn errors_name_the_expression_the_column_and_the_problem() {
        let cases = [
            ("", 1, "empty"),
            ("R860 +", 7, "a value is missing"),
            ("(R860 - R670", 13, "never closed"),
            ("R860 R670", 6, "missing operator"),
            ("R", 2, "expected a wavelength"),
            ("r860", 1, "written R<nm>"),
            ("log(R860)", 1, "unknown name \"log\""),
            ("abs(R1, R2)", 12, "one argument"),
            ("min(R1)", 8, "two or more"),
            ("R860 % 2", 6, "unexpected '%'"),
            ("R0", 3, "not positive"),
            ("sqrt R1", 6, "expected '('"),
        ];
        for (text, column, message) in cases {
            let err = Expression::parse(text).unwrap_err();
            assert_eq!(err.expression, text);
            assert_eq!(err.column, column, "{text:?}: {err}");
            assert!(err.message.contains(message), "{text:?}: {err}");
            assert!(err.to_string().contains(&format!("{text:?}")));
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("{}R860{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(
            Expression::parse(&text)
                .unwrap_err()
                .message
                .contains("nested")
        );
        let text = format!("{}R860", "-".repeat(10_000));
        assert!(
            Expression::parse(&text)
                .unwrap_err()
                .message
                .contains("nested")
        );
    }
}
