//! A compiled expression: a small stack program run over whole blocks of pixels.
//!
//! Each instruction runs one tight loop over a block (the compiler vectorises those loops),
//! instead of walking the tree once per pixel. Constant sub-expressions are folded at
//! compile time. Values are `f32`; a missing input is NaN, NaN propagates through every
//! operation (including `min`/`max`), and [`Program::eval`] turns every non-finite result
//! (NaN, ±∞ from a division by zero) into the nodata value.

use super::expr::{BinOp, Expression, Node};

/// One instruction.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Instr {
    /// Pushes a copy of input band `slot`.
    Load(usize),
    /// Pushes a constant.
    Const(f32),
    /// Negates the top.
    Neg,
    /// Absolute value of the top.
    Abs,
    /// Square root of the top.
    Sqrt,
    /// Pops b, a; pushes a op b.
    Binary(BinOp),
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    code: Vec<Instr>,
}

/// A value on the evaluation stack.
enum Value {
    Const(f32),
    Buffer(Vec<f32>),
}

impl Program {
    /// Compiles `expression`; `slot` maps each wavelength (nm, as written) to the index of
    /// its band among the inputs [`Program::eval`] will be given.
    pub fn compile(expression: &Expression, slot: &dyn Fn(f64) -> usize) -> Program {
        let mut code = Vec::new();
        emit(expression.root(), slot, &mut code);
        Program { code }
    }

    /// Evaluates the program over one block: `inputs[slot]` holds the block's pixels of
    /// each band (NaN where missing), `out` receives the result, with every non-finite
    /// value replaced by `nodata`.
    pub fn eval(&self, inputs: &[&[f32]], out: &mut [f32], nodata: f32) {
        let n = out.len();
        let mut stack: Vec<Value> = Vec::with_capacity(4);
        let mut spare: Vec<Vec<f32>> = Vec::new();
        for instr in &self.code {
            match *instr {
                Instr::Load(slot) => {
                    let mut buffer = spare.pop().unwrap_or_default();
                    buffer.clear();
                    buffer.extend_from_slice(&inputs[slot][..n]);
                    stack.push(Value::Buffer(buffer));
                }
                Instr::Const(c) => stack.push(Value::Const(c)),
                Instr::Neg => unary(&mut stack, |x| -x),
                Instr::Abs => unary(&mut stack, f32::abs),
                Instr::Sqrt => unary(&mut stack, f32::sqrt),
                Instr::Binary(op) => {
                    let b = stack.pop();
                    let a = stack.pop();
                    let (Some(a), Some(b)) = (a, b) else {
                        unreachable!("a compiled binary operation has two operands on the stack")
                    };
                    let (result, freed) = match op {
                        BinOp::Add => binary(a, b, |x, y| x + y),
                        BinOp::Sub => binary(a, b, |x, y| x - y),
                        BinOp::Mul => binary(a, b, |x, y| x * y),
                        BinOp::Div => binary(a, b, |x, y| x / y),
                        BinOp::Min => binary(a, b, nan_min),
                        BinOp::Max => binary(a, b, nan_max),
                    };
                    spare.extend(freed);
                    stack.push(result);
                }
            }
        }
        match stack.pop() {
            Some(Value::Buffer(result)) => {
                for (o, r) in out.iter_mut().zip(&result) {
                    *o = if r.is_finite() { *r } else { nodata };
                }
            }
            Some(Value::Const(c)) => out.fill(if c.is_finite() { c } else { nodata }),
            None => unreachable!("a compiled program leaves its result on the stack"),
        }
    }

    /// The number of instructions (for tests and logs).
    pub fn len(&self) -> usize {
        self.code.len()
    }

    /// Whether the program is empty (never, for a parsed expression).
    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }
}

fn nan_min(x: f32, y: f32) -> f32 {
    if x.is_nan() || y.is_nan() {
        f32::NAN
    } else {
        x.min(y)
    }
}

fn nan_max(x: f32, y: f32) -> f32 {
    if x.is_nan() || y.is_nan() {
        f32::NAN
    } else {
        x.max(y)
    }
}

fn unary(stack: &mut [Value], f: impl Fn(f32) -> f32) {
    match stack.last_mut() {
        Some(Value::Const(c)) => *c = f(*c),
        Some(Value::Buffer(buffer)) => buffer.iter_mut().for_each(|x| *x = f(*x)),
        None => unreachable!("a compiled unary operation has an operand on the stack"),
    }
}

/// `a op b`, computed in place in one of the operands' buffers; returns the result and the
/// buffer that became free.
fn binary(a: Value, b: Value, f: impl Fn(f32, f32) -> f32) -> (Value, Option<Vec<f32>>) {
    match (a, b) {
        (Value::Buffer(mut a), Value::Buffer(b)) => {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x = f(*x, *y));
            (Value::Buffer(a), Some(b))
        }
        (Value::Buffer(mut a), Value::Const(c)) => {
            a.iter_mut().for_each(|x| *x = f(*x, c));
            (Value::Buffer(a), None)
        }
        (Value::Const(c), Value::Buffer(mut b)) => {
            b.iter_mut().for_each(|y| *y = f(c, *y));
            (Value::Buffer(b), None)
        }
        (Value::Const(x), Value::Const(y)) => (Value::Const(f(x, y)), None),
    }
}

/// The constant value of `node`, when it reads no band.
fn constant(node: &Node) -> Option<f64> {
    Some(match node {
        Node::Number(x) => *x,
        Node::Band(_) => return None,
        Node::Neg(x) => -constant(x)?,
        Node::Abs(x) => constant(x)?.abs(),
        Node::Sqrt(x) => constant(x)?.sqrt(),
        Node::Binary(op, a, b) => {
            let (a, b) = (constant(a)?, constant(b)?);
            match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                BinOp::Min if a.is_nan() || b.is_nan() => f64::NAN,
                BinOp::Max if a.is_nan() || b.is_nan() => f64::NAN,
                BinOp::Min => a.min(b),
                BinOp::Max => a.max(b),
            }
        }
    })
}

fn emit(node: &Node, slot: &dyn Fn(f64) -> usize, code: &mut Vec<Instr>) {
    if let Some(c) = constant(node) {
        code.push(Instr::Const(c as f32));
        return;
    }
    match node {
        Node::Number(x) => code.push(Instr::Const(*x as f32)),
        Node::Band(nm) => code.push(Instr::Load(slot(*nm))),
        Node::Neg(x) => {
            emit(x, slot, code);
            code.push(Instr::Neg);
        }
        Node::Abs(x) => {
            emit(x, slot, code);
            code.push(Instr::Abs);
        }
        Node::Sqrt(x) => {
            emit(x, slot, code);
            code.push(Instr::Sqrt);
        }
        Node::Binary(op, a, b) => {
            emit(a, slot, code);
            emit(b, slot, code);
            code.push(Instr::Binary(*op));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, inputs: &[&[f32]]) -> Vec<f32> {
        let e = Expression::parse(text).unwrap();
        // R1 reads inputs[0], R2 inputs[1].
        let program = Program::compile(&e, &|nm| nm as usize - 1);
        let mut out = vec![0.0; inputs[0].len()];
        program.eval(inputs, &mut out, -9999.0);
        out
    }

    #[test]
    fn evaluates_over_blocks_with_nodata_for_non_finite_results() {
        let a = [0.5_f32, 0.2, f32::NAN, 0.0, 4.0];
        let b = [0.1_f32, 0.2, 0.3, 0.0, -1.0];
        let out = run("(R1 - R2) / (R1 + R2)", &[&a, &b]);
        assert!((out[0] - 0.4 / 0.6).abs() < 1e-7);
        assert_eq!(out[1], 0.0);
        assert_eq!(out[2], -9999.0, "a missing input is nodata");
        assert_eq!(out[3], -9999.0, "0/0 is nodata");
        assert!((out[4] - 5.0 / 3.0).abs() < 1e-6);
        let out = run("sqrt(R2) + -abs(R1) * 2", &[&a, &b]);
        assert!((out[0] - (0.1_f32.sqrt() - 1.0)).abs() < 1e-7);
        assert_eq!(out[4], -9999.0, "sqrt of a negative is nodata");
        let out = run("min(R1, R2, 0.25) + max(R1, 1/0)", &[&a, &b]);
        assert_eq!(out[0], -9999.0, "1/0 folds to +inf, and max(x, inf) is inf");
        let out = run("min(R1, R2, 0.25)", &[&a, &b]);
        assert_eq!(&out[..2], &[0.1, 0.2]);
        assert_eq!(out[2], -9999.0, "min propagates NaN");
    }

    #[test]
    fn folds_constants_and_reuses_a_band_without_reading_it_twice() {
        let e = Expression::parse("(1729 - 1705) * (R1 - R2) / (1741 - 1705)").unwrap();
        let program = Program::compile(&e, &|nm| nm as usize - 1);
        assert_eq!(program.code[0], Instr::Const(24.0));
        assert_eq!(program.code.last(), Some(&Instr::Binary(BinOp::Div)));
        assert_eq!(program.len(), 7);
        let out = run("2 * 3 + 1", &[&[0.0, 0.0]]);
        assert_eq!(out, vec![7.0, 7.0]);
    }
}
