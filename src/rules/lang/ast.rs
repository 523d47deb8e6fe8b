//! The syntax tree of a condition, with byte spans into its source text so
//! that every later error points at the exact place.

/// Byte range `[start, end)` in the condition text.
pub type Span = (usize, usize);

/// One node and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// Where it is.
    pub span: Span,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
}

/// Arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// A literal inside a `[...]` set.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
}

/// The node kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// `a || b || ...`
    Or(Vec<Node>),
    /// `a && b && ...`
    And(Vec<Node>),
    /// `!a`
    Not(Box<Node>),
    /// `-a`
    Neg(Box<Node>),
    /// `a OP b`
    Cmp(CmpOp, Box<Node>, Box<Node>),
    /// `a OP b` arithmetic.
    Arith(ArithOp, Box<Node>, Box<Node>),
    /// A number literal.
    Num(f64),
    /// A string literal.
    Str(String),
    /// `@name`
    ListRef(String),
    /// `[lit, ...]`
    Set(Vec<Literal>),
    /// `name(args)`
    Call(String, Vec<Node>),
    /// `a.b.c`
    Path(Vec<String>),
    /// `target.name(args)`
    Method(Box<Node>, String, Vec<Node>),
}
