//! Type-checks a syntax tree and compiles it to [`BoolExpr`]: every name
//! (field, list, window, macro, function) is resolved here, at load time,
//! and every fault is reported with the span it covers.

use std::collections::BTreeSet;

use regex::Regex;

use super::ast::{CmpOp, Literal, Node, NodeKind, Span};
use super::compiled::{
    BoolExpr, GraphNum, HOPS_DEPTH_LIMIT, HOPS_MAX_DEPTH, ListId, NumExpr, StrExpr, StrTest,
    WindowSlot,
};
use super::functions::{self, Build, FieldRead};
use crate::model::ArtefactKind;

/// Longest regex source accepted; longer ones are refused as too costly.
const MAX_REGEX_LEN: usize = 256;

/// A type or name error at a span of the condition.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckError {
    /// Where.
    pub span: Span,
    /// What is wrong.
    pub message: String,
}

fn err<T>(span: Span, message: impl Into<String>) -> Result<T, CheckError> {
    Err(CheckError {
        span,
        message: message.into(),
    })
}

/// The names a condition may use; implemented by the rule loader.
pub trait Names {
    /// A named list.
    fn list(&mut self, name: &str) -> Option<ListId>;
    /// A window of the current rule.
    fn window(&mut self, name: &str) -> Option<WindowSlot>;
    /// A macro, compiled (errors inside it are the macro's own, already rendered).
    fn macro_expr(&mut self, name: &str) -> Option<Result<BoolExpr, String>>;
}

/// What a sub-expression turned out to be.
enum Typed {
    Bool(BoolExpr),
    Num(NumExpr),
    Str(StrExpr),
    List(ListId),
    StrSet(Vec<Box<str>>),
    NumSet(Vec<f64>),
}

impl Typed {
    fn name(&self) -> &'static str {
        match self {
            Typed::Bool(_) => "a boolean",
            Typed::Num(_) => "a number",
            Typed::Str(_) => "a string",
            Typed::List(_) => "a list",
            Typed::StrSet(_) | Typed::NumSet(_) => "a set",
        }
    }
}

/// Largest compiled condition, in nodes: macros are inlined, and a chain of
/// macros each using the previous twice would otherwise grow exponentially.
pub const MAX_EXPR_NODES: usize = 10_000;

/// Checks that `node` is a boolean condition and compiles it.
pub fn compile_condition(node: &Node, names: &mut dyn Names) -> Result<BoolExpr, CheckError> {
    match typed(node, names)? {
        Typed::Bool(b) if b.size() > MAX_EXPR_NODES => err(
            node.span,
            format!(
                "condition expands to {} terms (macros included), at most {MAX_EXPR_NODES}",
                b.size()
            ),
        ),
        Typed::Bool(b) => Ok(b),
        other => err(
            node.span,
            format!(
                "a condition must be true or false, this is {}",
                other.name()
            ),
        ),
    }
}

/// Checks that `node` is a string expression (a window key or distinct value).
pub fn compile_str(node: &Node, names: &mut dyn Names) -> Result<StrExpr, CheckError> {
    match typed(node, names)? {
        Typed::Str(s) => Ok(s),
        other => err(
            node.span,
            format!("expected a string field, this is {}", other.name()),
        ),
    }
}

/// Checks that `node` is a number expression (a window sum).
pub fn compile_num(node: &Node, names: &mut dyn Names) -> Result<NumExpr, CheckError> {
    match typed(node, names)? {
        Typed::Num(n) => Ok(n),
        other => err(
            node.span,
            format!("expected a number, this is {}", other.name()),
        ),
    }
}

fn boolean(node: &Node, names: &mut dyn Names) -> Result<BoolExpr, CheckError> {
    compile_condition(node, names)
}

fn number(node: &Node, names: &mut dyn Names) -> Result<NumExpr, CheckError> {
    match typed(node, names)? {
        Typed::Num(n) => Ok(n),
        other => err(
            node.span,
            format!("expected a number, found {}", other.name()),
        ),
    }
}

fn typed(node: &Node, names: &mut dyn Names) -> Result<Typed, CheckError> {
    let sp = node.span;
    Ok(match &node.kind {
        NodeKind::Or(xs) => Typed::Bool(BoolExpr::Or(bounded(xs, sp, names)?)),
        NodeKind::And(xs) => Typed::Bool(BoolExpr::And(bounded(xs, sp, names)?)),
        NodeKind::Not(x) => Typed::Bool(BoolExpr::Not(Box::new(boolean(x, names)?))),
        NodeKind::Neg(x) => Typed::Num(NumExpr::Neg(Box::new(number(x, names)?))),
        NodeKind::Arith(op, a, b) => Typed::Num(NumExpr::Arith(
            *op,
            Box::new(number(a, names)?),
            Box::new(number(b, names)?),
        )),
        NodeKind::Num(v) => Typed::Num(NumExpr::Const(*v)),
        NodeKind::Str(s) => Typed::Str(StrExpr::Const(s.as_str().into())),
        NodeKind::ListRef(name) => match names.list(name) {
            Some(id) => Typed::List(id),
            None => {
                return err(
                    sp,
                    format!("unknown list @{name} (no rules/lists/{name}.txt)"),
                );
            }
        },
        NodeKind::Set(items) => set(items, sp)?,
        NodeKind::Cmp(op, a, b) => Typed::Bool(comparison(*op, a, b, names)?),
        NodeKind::Call(name, args) => call(name, args, sp, names)?,
        NodeKind::Path(parts) => path(parts, sp, names)?,
        NodeKind::Method(target, name, args) => Typed::Bool(method(target, name, args, sp, names)?),
    })
}

/// Compiles the parts of an `&&` / `||`, refusing as soon as their size
/// passes [`MAX_EXPR_NODES`], so a macro used many times cannot exhaust
/// memory before the check.
fn bounded(xs: &[Node], sp: Span, names: &mut dyn Names) -> Result<Box<[BoolExpr]>, CheckError> {
    let mut out = Vec::with_capacity(xs.len());
    let mut size = 1;
    for x in xs {
        let b = boolean(x, names)?;
        size += b.size();
        if size > MAX_EXPR_NODES {
            return err(
                sp,
                format!("condition expands to more than {MAX_EXPR_NODES} terms (macros included)"),
            );
        }
        out.push(b);
    }
    Ok(out.into())
}

fn set(items: &[Literal], sp: Span) -> Result<Typed, CheckError> {
    let strs: Vec<Box<str>> = items
        .iter()
        .filter_map(|l| {
            if let Literal::Str(s) = l {
                Some(s.as_str().into())
            } else {
                None
            }
        })
        .collect();
    let nums: Vec<f64> = items
        .iter()
        .filter_map(|l| {
            if let Literal::Num(n) = l {
                Some(*n)
            } else {
                None
            }
        })
        .collect();
    match (strs.is_empty(), nums.is_empty()) {
        (_, true) => Ok(Typed::StrSet(strs)),
        (true, false) => Ok(Typed::NumSet(nums)),
        (false, false) => err(sp, "a set holds strings or numbers, not both"),
    }
}

fn comparison(
    op: CmpOp,
    a: &Node,
    b: &Node,
    names: &mut dyn Names,
) -> Result<BoolExpr, CheckError> {
    let left = typed(a, names)?;
    let right = typed(b, names)?;
    let sp = (a.span.0, b.span.1);
    match (op, left, right) {
        (CmpOp::In, Typed::Str(s), Typed::List(id)) => Ok(BoolExpr::InList(s, id)),
        (CmpOp::In, Typed::Str(s), Typed::StrSet(set)) => Ok(BoolExpr::InStrSet(s, set.into())),
        (CmpOp::In, Typed::Num(n), Typed::NumSet(set)) => Ok(BoolExpr::InNumSet(n, set.into())),
        (CmpOp::In, l, r) => err(
            sp,
            format!(
                "`in` takes a string and a list or set, or a number and a number set; found {} in {}",
                l.name(),
                r.name()
            ),
        ),
        (_, Typed::Num(x), Typed::Num(y)) => Ok(BoolExpr::Num(op, x, y)),
        (CmpOp::Eq | CmpOp::Ne, Typed::Str(x), Typed::Str(y)) => Ok(BoolExpr::Str(op, x, y)),
        (CmpOp::Eq | CmpOp::Ne, Typed::Bool(x), Typed::Bool(y)) => {
            let eq = BoolExpr::BoolEq(Box::new(x), Box::new(y));
            Ok(if op == CmpOp::Eq {
                eq
            } else {
                BoolExpr::Not(Box::new(eq))
            })
        }
        (_, Typed::Str(_), Typed::Str(_)) => err(sp, "strings compare with == and != only"),
        (_, l, r) => err(sp, format!("cannot compare {} with {}", l.name(), r.name())),
    }
}

fn call(name: &str, args: &[Node], sp: Span, names: &mut dyn Names) -> Result<Typed, CheckError> {
    let Some(f) = functions::function(name) else {
        let known = functions::function_names();
        return err(sp, format!("unknown function {name}(); known: {known}"));
    };
    let no_args = |t: Typed| {
        if args.is_empty() {
            Ok(t)
        } else {
            err(sp, format!("{name}() takes no arguments"))
        }
    };
    match f.build {
        Build::Hops => {
            let depth = depth_arg(name, args, sp, names)?;
            Ok(Typed::Num(NumExpr::Graph(GraphNum::Hops(depth))))
        }
        Build::Span { default_ms, make } => {
            let ms = span_arg(name, args, sp, names, default_ms)?;
            Ok(Typed::Num(NumExpr::Graph(make(ms))))
        }
        Build::Num(q) => no_args(Typed::Num(NumExpr::Graph(q))),
        Build::Flag(q) => no_args(Typed::Bool(BoolExpr::Graph(q))),
        Build::Has | Build::Count => field_function(name, args, sp, names),
    }
}

/// `has(field)` and `count(counterpart.KIND)`.
fn field_function(
    name: &str,
    args: &[Node],
    sp: Span,
    names: &mut dyn Names,
) -> Result<Typed, CheckError> {
    let [arg] = args else {
        return err(sp, format!("{name}() takes one field"));
    };
    let s = match typed(arg, names)? {
        Typed::Str(s) if !matches!(s, StrExpr::Const(_)) => s,
        _ => {
            return err(
                arg.span,
                format!("{name}() takes a field, e.g. {name}(counterpart.phone)"),
            );
        }
    };
    match (name, s) {
        ("count", StrExpr::Counterparts(kind)) => Ok(Typed::Num(NumExpr::Count(kind))),
        ("count", _) => err(
            arg.span,
            "count() takes a counterpart field, e.g. count(counterpart.phone)",
        ),
        (_, s) => Ok(Typed::Bool(BoolExpr::Has(s))),
    }
}

/// Longest time span a graph function may look back: links older than the
/// graph keeps would not be there to count.
const MAX_GRAPH_SPAN_MS: i64 = 400 * 24 * 3600 * 1000;

/// The optional depth of `hops_to_flagged(n)`: a whole number 1..=6.
fn depth_arg(
    name: &str,
    args: &[Node],
    sp: Span,
    names: &mut dyn Names,
) -> Result<u32, CheckError> {
    let arg = match args {
        [] => return Ok(HOPS_MAX_DEPTH),
        [arg] => arg,
        _ => {
            return err(
                sp,
                format!("{name}() takes at most one depth, e.g. {name}(2)"),
            );
        }
    };
    match typed(arg, names)? {
        Typed::Num(NumExpr::Const(d))
            if d.fract() == 0.0 && (1.0..=f64::from(HOPS_DEPTH_LIMIT)).contains(&d) =>
        {
            Ok(d as u32)
        }
        _ => err(
            arg.span,
            format!("{name}() takes a depth from 1 to {HOPS_DEPTH_LIMIT}, e.g. {name}(2)"),
        ),
    }
}

/// The optional time span of a graph count, e.g. `card_fan_in("7d")`.
fn span_arg(
    name: &str,
    args: &[Node],
    sp: Span,
    names: &mut dyn Names,
    default_ms: i64,
) -> Result<i64, CheckError> {
    let arg = match args {
        [] => return Ok(default_ms),
        [arg] => arg,
        _ => {
            return err(
                sp,
                format!("{name}() takes at most one span, e.g. {name}(\"7d\")"),
            );
        }
    };
    let Typed::Str(StrExpr::Const(text)) = typed(arg, names)? else {
        return err(
            arg.span,
            format!("{name}() takes a span in quotes, e.g. {name}(\"7d\")"),
        );
    };
    let ms = humantime::parse_duration(&text)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .filter(|&ms| ms > 0 && ms <= MAX_GRAPH_SPAN_MS);
    match ms {
        Some(ms) => Ok(ms),
        None => err(
            arg.span,
            format!("{name}(\"{text}\"): the span must be a duration from 1s to 400d, e.g. \"7d\""),
        ),
    }
}

fn method(
    target: &Node,
    name: &str,
    args: &[Node],
    sp: Span,
    names: &mut dyn Names,
) -> Result<BoolExpr, CheckError> {
    let s = match typed(target, names)? {
        Typed::Str(s) => s,
        other => {
            return err(
                target.span,
                format!(".{name}() applies to a string, this is {}", other.name()),
            );
        }
    };
    let [arg] = args else {
        return err(sp, format!(".{name}() takes one string"));
    };
    let NodeKind::Str(lit) = &arg.kind else {
        return err(arg.span, format!(".{name}() takes a string literal"));
    };
    let test = match name {
        "starts_with" => StrTest::StartsWith(lit.as_str().into()),
        "ends_with" => StrTest::EndsWith(lit.as_str().into()),
        "contains" => StrTest::Contains(lit.as_str().into()),
        "matches" => StrTest::Matches(regex(lit, arg.span)?),
        _ => {
            return err(
                sp,
                format!(
                    "unknown method .{name}(); known: starts_with, ends_with, contains, matches"
                ),
            );
        }
    };
    Ok(BoolExpr::Test(s, test))
}

fn regex(source: &str, sp: Span) -> Result<Regex, CheckError> {
    if source.len() > MAX_REGEX_LEN {
        return err(
            sp,
            format!(
                "regex of {} characters is too costly (at most {MAX_REGEX_LEN})",
                source.len()
            ),
        );
    }
    regex::RegexBuilder::new(source)
        .size_limit(1 << 20)
        .build()
        .or_else(|e| {
            err(
                sp,
                format!(
                    "invalid regex: {}",
                    e.to_string().lines().last().unwrap_or("error")
                ),
            )
        })
}

fn path(parts: &[String], sp: Span, names: &mut dyn Names) -> Result<Typed, CheckError> {
    let p: Vec<&str> = parts.iter().map(String::as_str).collect();
    if let Some(read) = functions::field(&parts.join(".")).and_then(|f| f.read.clone()) {
        return Ok(match read {
            FieldRead::Str(x) => Typed::Str(x),
            FieldRead::Num(x) => Typed::Num(x),
            FieldRead::Bool(x) => Typed::Bool(x),
        });
    }
    let t = match p.as_slice() {
        ["counterpart", kind] => match ArtefactKind::parse(kind) {
            Some(k) => Typed::Str(StrExpr::Counterparts(k)),
            None => {
                let known: Vec<&str> = ArtefactKind::ALL.iter().map(|k| k.name()).collect();
                return err(
                    sp,
                    format!(
                        "unknown counterpart kind `{kind}`; known: {}",
                        known.join(", ")
                    ),
                );
            }
        },
        ["attr", name] => Typed::Str(StrExpr::Attr((*name).into())),
        ["window", name] => match names.window(name) {
            Some(slot) => Typed::Num(NumExpr::Window(slot)),
            None => {
                return err(
                    sp,
                    format!("unknown window `{name}`: declare it in this rule's [[rule.window]]"),
                );
            }
        },
        [name] => match names.macro_expr(name) {
            Some(Ok(b)) => Typed::Bool(b),
            Some(Err(rendered)) => {
                return err(sp, format!("macro `{name}` is invalid:\n{rendered}"));
            }
            None => return err(sp, format!("unknown field or macro `{name}`")),
        },
        _ => {
            return err(
                sp,
                format!(
                    "unknown field `{}`; fields: {}",
                    parts.join("."),
                    functions::field_names().collect::<Vec<_>>().join(", ")
                ),
            );
        }
    };
    Ok(t)
}

/// Names used anywhere in an expression tree: for unused-list warnings.
pub fn lists_used(b: &BoolExpr, out: &mut BTreeSet<ListId>) {
    match b {
        BoolExpr::And(xs) | BoolExpr::Or(xs) => xs.iter().for_each(|x| lists_used(x, out)),
        BoolExpr::Not(x) => lists_used(x, out),
        BoolExpr::BoolEq(a, b) => {
            lists_used(a, out);
            lists_used(b, out);
        }
        BoolExpr::InList(_, id) => {
            out.insert(*id);
        }
        _ => {}
    }
}
