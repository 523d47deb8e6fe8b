//! Text → [`Node`]: the pest grammar in `grammar.pest`, walked into the
//! syntax tree. Syntax errors carry the byte offset of the fault.

use pest::Parser;
use pest::iterators::Pair;

use super::ast::{ArithOp, CmpOp, Literal, Node, NodeKind};

#[derive(pest_derive::Parser)]
#[grammar = "rules/lang/grammar.pest"]
struct ConditionParser;

/// A syntax error at a byte offset of the condition.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    /// Byte range of the fault.
    pub span: (usize, usize),
    /// What was expected.
    pub message: String,
}

/// Longest condition accepted, in bytes.
pub const MAX_CONDITION_LEN: usize = 8192;
/// Deepest nesting of parentheses, brackets and prefix operators accepted:
/// parsing, checking and evaluation recurse, and a hostile rule set sent to
/// `RuleAdmin.Validate` must not exhaust the stack.
pub const MAX_NESTING: usize = 48;
/// Most arithmetic operators in one condition: a chain `1+1+…` builds a
/// left-nested tree as deep as it is long, and checking and evaluation
/// recurse over it.
pub const MAX_ARITH_OPERATORS: usize = 64;

/// Refuses texts too long or too deeply nested to handle safely.
fn check_shape(text: &str) -> Result<(), SyntaxError> {
    if text.len() > MAX_CONDITION_LEN {
        return Err(SyntaxError {
            span: (0, 1),
            message: format!(
                "condition of {} bytes is longer than {MAX_CONDITION_LEN}",
                text.len()
            ),
        });
    }
    let (mut depth, mut prefix_run) = (0usize, 0usize);
    let (mut in_string, mut escaped, mut arith) = (false, false, 0usize);
    for (i, c) in text.char_indices() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
            continue;
        }
        if c == '"' {
            in_string = true;
            continue;
        }
        if matches!(c, '+' | '-' | '*' | '/') {
            arith += 1;
            if arith > MAX_ARITH_OPERATORS {
                return Err(SyntaxError {
                    span: (i, i + 1),
                    message: format!(
                        "more than {MAX_ARITH_OPERATORS} arithmetic operators in one condition"
                    ),
                });
            }
        }
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        prefix_run = match c {
            '!' | '-' => prefix_run + 1,
            ' ' | '\t' | '\n' | '\r' | '(' => prefix_run,
            _ => 0,
        };
        if depth + prefix_run > MAX_NESTING {
            return Err(SyntaxError {
                span: (i, i + 1),
                message: format!("nested more than {MAX_NESTING} levels deep"),
            });
        }
    }
    Ok(())
}

/// Parses one condition.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    check_shape(text)?;
    let mut pairs = ConditionParser::parse(Rule::condition, text).map_err(|e| {
        let span = match e.location {
            pest::error::InputLocation::Pos(p) => (p, p + 1),
            pest::error::InputLocation::Span((a, b)) => (a, b.max(a + 1)),
        };
        SyntaxError {
            span,
            message: expected(&e),
        }
    })?;
    let condition = pairs.next().ok_or_else(|| empty(text))?;
    let or = condition.into_inner().next().ok_or_else(|| empty(text))?;
    Ok(build(or))
}

fn empty(text: &str) -> SyntaxError {
    SyntaxError {
        span: (0, text.len().max(1)),
        message: "empty condition".into(),
    }
}

fn expected(e: &pest::error::Error<Rule>) -> String {
    match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } if !positives.is_empty() => {
            let names: Vec<&str> = positives.iter().map(|r| rule_name(*r)).collect();
            let mut names = names;
            names.dedup();
            format!("syntax error: expected {}", names.join(" or "))
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
        _ => "syntax error".into(),
    }
}

fn rule_name(r: Rule) -> &'static str {
    match r {
        Rule::EOI => "end of condition",
        Rule::cmp_op => "a comparison",
        Rule::sum_op | Rule::prod_op => "an operator",
        Rule::number => "a number",
        Rule::string => "a string",
        Rule::ident | Rule::path | Rule::call => "a name",
        Rule::list_ref => "@list",
        Rule::set => "[...]",
        _ => "an expression",
    }
}

fn span(p: &Pair<'_, Rule>) -> (usize, usize) {
    (p.as_span().start(), p.as_span().end())
}

fn node(kind: NodeKind, span: (usize, usize)) -> Node {
    Node { kind, span }
}

/// Walks one pair; the grammar guarantees the shapes matched here.
fn build(p: Pair<'_, Rule>) -> Node {
    let sp = span(&p);
    match p.as_rule() {
        Rule::or_expr => fold_list(p, NodeKind::Or),
        Rule::and_expr => fold_list(p, NodeKind::And),
        Rule::not_expr => prefixed(p, NodeKind::Not),
        Rule::cmp_expr => {
            let mut it = p.into_inner();
            let left = it.next().map(build);
            match (left, it.next(), it.next()) {
                (Some(l), Some(op), Some(r)) => node(
                    NodeKind::Cmp(cmp_op(op.as_str()), Box::new(l), Box::new(build(r))),
                    sp,
                ),
                (Some(l), _, _) => l,
                _ => node(NodeKind::Num(0.0), sp),
            }
        }
        Rule::sum_expr | Rule::prod_expr => fold_arith(p),
        Rule::unary => prefixed(p, NodeKind::Neg),
        Rule::postfix => {
            let mut it = p.into_inner();
            let mut n = it
                .next()
                .map(build)
                .unwrap_or_else(|| node(NodeKind::Num(0.0), sp));
            for m in it {
                let msp = (n.span.0, m.as_span().end());
                let mut mi = m.into_inner();
                let name = mi
                    .next()
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default();
                let args = mi.next().map(args).unwrap_or_default();
                n = node(NodeKind::Method(Box::new(n), name, args), msp);
            }
            n
        }
        Rule::call => {
            let mut it = p.into_inner();
            let name = it
                .next()
                .map(|x| x.as_str().to_string())
                .unwrap_or_default();
            node(
                NodeKind::Call(name, it.next().map(args).unwrap_or_default()),
                sp,
            )
        }
        Rule::path => node(
            NodeKind::Path(p.into_inner().map(|x| x.as_str().to_string()).collect()),
            sp,
        ),
        Rule::list_ref => node(NodeKind::ListRef(p.as_str()[1..].to_string()), sp),
        Rule::set => node(NodeKind::Set(p.into_inner().map(literal).collect()), sp),
        Rule::number => node(NodeKind::Num(p.as_str().parse().unwrap_or(0.0)), sp),
        Rule::string => node(NodeKind::Str(unescape(p.as_str())), sp),
        _ => p
            .into_inner()
            .next()
            .map(build)
            .unwrap_or_else(|| node(NodeKind::Num(0.0), sp)),
    }
}

/// `! ! x` or `- - x`: the operand last, each prefix operator wrapping it.
fn prefixed(p: Pair<'_, Rule>, wrap: fn(Box<Node>) -> NodeKind) -> Node {
    let sp = span(&p);
    let mut inner: Vec<Pair<'_, Rule>> = p.into_inner().collect();
    let mut n = inner
        .pop()
        .map(build)
        .unwrap_or_else(|| node(NodeKind::Num(0.0), sp));
    for _ in inner {
        n = node(wrap(Box::new(n)), sp);
    }
    n
}

fn fold_list(p: Pair<'_, Rule>, make: fn(Vec<Node>) -> NodeKind) -> Node {
    let sp = span(&p);
    let mut items: Vec<Node> = p.into_inner().map(build).collect();
    if items.len() == 1 {
        return items.remove(0);
    }
    node(make(items), sp)
}

fn fold_arith(p: Pair<'_, Rule>) -> Node {
    let mut it = p.into_inner();
    let Some(first) = it.next() else {
        return node(NodeKind::Num(0.0), (0, 0));
    };
    let mut acc = build(first);
    while let (Some(op), Some(rhs)) = (it.next(), it.next()) {
        let r = build(rhs);
        let sp = (acc.span.0, r.span.1);
        let op = match op.as_str() {
            "+" => ArithOp::Add,
            "-" => ArithOp::Sub,
            "*" => ArithOp::Mul,
            _ => ArithOp::Div,
        };
        acc = node(NodeKind::Arith(op, Box::new(acc), Box::new(r)), sp);
    }
    acc
}

fn args(p: Pair<'_, Rule>) -> Vec<Node> {
    p.into_inner().map(build).collect()
}

fn literal(p: Pair<'_, Rule>) -> Literal {
    match p.as_rule() {
        Rule::number => Literal::Num(p.as_str().parse().unwrap_or(0.0)),
        _ => Literal::Str(unescape(p.as_str())),
    }
}

fn cmp_op(s: &str) -> CmpOp {
    match s {
        "==" => CmpOp::Eq,
        "!=" => CmpOp::Ne,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::Le,
        ">" => CmpOp::Gt,
        ">=" => CmpOp::Ge,
        _ => CmpOp::In,
    }
}

/// Strips the quotes and resolves `\"`, `\\`, `\n`, `\t`; any other escaped
/// character stands for itself (so regexes keep `\d`).
fn unescape(quoted: &str) -> String {
    let inner = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or("");
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(c @ ('"' | '\\')) => out.push(c),
            Some(c) => {
                out.push('\\');
                out.push(c);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> NodeKind {
        parse(text).unwrap().kind
    }

    #[test]
    fn precedence_puts_and_below_or_and_cmp_below_and() {
        let NodeKind::Or(items) = kind("a == 1 && b || !c") else {
            panic!()
        };
        assert!(matches!(items[0].kind, NodeKind::And(_)));
        assert!(matches!(items[1].kind, NodeKind::Not(_)));
    }

    #[test]
    fn arithmetic_is_left_associative_and_mul_binds_tighter() {
        let NodeKind::Cmp(CmpOp::Ge, l, _) = kind("amount - 1 * 2 - 3 >= 0") else {
            panic!()
        };
        let NodeKind::Arith(ArithOp::Sub, ll, _) = l.kind else {
            panic!()
        };
        assert!(matches!(ll.kind, NodeKind::Arith(ArithOp::Sub, _, _)));
    }

    #[test]
    fn method_call_on_a_path() {
        let NodeKind::Method(target, name, args) = kind("subject.phone.starts_with(\"170\")")
        else {
            panic!()
        };
        assert_eq!(
            target.kind,
            NodeKind::Path(vec!["subject".into(), "phone".into()])
        );
        assert_eq!(name, "starts_with");
        assert_eq!(args[0].kind, NodeKind::Str("170".into()));
    }

    #[test]
    fn in_list_and_in_set() {
        assert!(
            matches!(kind("counterpart.phone in @flagged"), NodeKind::Cmp(CmpOp::In, _, r) if r.kind == NodeKind::ListRef("flagged".into()))
        );
        assert!(
            matches!(kind("source_kind in [\"bank\", \"telecom\"]"), NodeKind::Cmp(CmpOp::In, _, r) if matches!(&r.kind, NodeKind::Set(v) if v.len() == 2))
        );
    }

    #[test]
    fn regex_escapes_survive() {
        let NodeKind::Method(_, _, args) = kind(r#"x.matches("^95\d{3}$")"#) else {
            panic!()
        };
        assert_eq!(args[0].kind, NodeKind::Str(r"^95\d{3}$".into()));
    }

    #[test]
    fn syntax_error_points_at_the_fault() {
        let e = parse("amount >= && x").unwrap_err();
        assert_eq!(e.span.0, 10, "{e:?}");
        assert!(e.message.starts_with("syntax error"), "{e:?}");
    }

    #[test]
    fn a_4000_term_arithmetic_chain_is_refused_with_a_position_on_a_small_stack() {
        for op in ["+", "-", "*"] {
            let text = format!("amount > 1{}", format!("{op}1").repeat(4_000));
            let refused = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || parse(&text).unwrap_err())
                .unwrap()
                .join()
                .unwrap();
            assert!(
                refused.message.contains("arithmetic operators"),
                "{refused:?}"
            );
            assert_eq!(refused.span.0, "amount > 1".len() + 2 * MAX_ARITH_OPERATORS);
        }
        // Operators inside strings are text, not arithmetic.
        let regex = format!("attr.x.matches(\"{}\")", "a+".repeat(100));
        assert!(parse(&regex).is_ok());
        assert!(parse("amount * 2 - amount_fen / 100 + 1 > 0").is_ok());
    }

    #[test]
    fn hostile_nesting_is_refused_not_a_stack_overflow() {
        let deep = format!("{}amount > 1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&deep).unwrap_err().message.contains("longer than"));
        let nested = format!("{}amount > 1{}", "(".repeat(60), ")".repeat(60));
        assert!(
            parse(&nested)
                .unwrap_err()
                .message
                .contains("nested more than")
        );
        let nots = format!("{}true", "!".repeat(60));
        assert!(
            parse(&nots)
                .unwrap_err()
                .message
                .contains("nested more than")
        );
        assert!(parse(&format!("{}amount > 1{}", "(".repeat(20), ")".repeat(20))).is_ok());
    }

    #[test]
    fn name_starting_with_in_is_not_the_in_keyword() {
        assert!(
            matches!(kind("index == 1"), NodeKind::Cmp(CmpOp::Eq, l, _) if l.kind == NodeKind::Path(vec!["index".into()]))
        );
    }
}
