//! What a rule needs of an alert before its condition can hold: the
//! necessary tests among its top-level `&&` parts (nested `&&` flattened),
//! in the forms the index answers without evaluating anything — a
//! counterpart in a list, equality on a single-valued string field (source
//! kind, fraud-type hint, source, an attribute), a counterpart kind
//! present, and lower or upper bounds on a number field. Everything
//! else stays in the residual condition, which is evaluated in full for
//! every candidate, so a test missed here costs speed, never an answer.

use super::super::lang::ast::CmpOp;
use super::super::lang::compiled::{BoolExpr, ListId, NumExpr, StrExpr};
use crate::model::ArtefactKind;

/// A number field the index can range over, valued exactly as the
/// evaluator values it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumField {
    /// `amount` (yuan, `amount_fen / 100`).
    Amount,
    /// `amount_fen`.
    AmountFen,
    /// `subject.age`.
    Age,
    /// `hour` (local).
    Hour,
}

/// Every [`NumField`], in index order.
pub const NUM_FIELDS: [NumField; 4] = [
    NumField::Amount,
    NumField::AmountFen,
    NumField::Age,
    NumField::Hour,
];

/// Which side of a bound a rule needs the value on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// `field >= t` (or `>`): the value must be at least `t`.
    Lower,
    /// `field <= t` (or `<`): the value must be at most `t`.
    Upper,
}

/// A single-valued string field an equality test can fix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    /// `source_kind`.
    SourceKind,
    /// `fraud_type_hint`.
    Hint,
    /// `source` (the feed).
    Source,
    /// `attr.NAME`.
    Attr(Box<str>),
}

/// The necessary tests of one rule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Needs {
    /// A counterpart of this kind in this list (the first such part).
    pub list: Option<(ArtefactKind, ListId)>,
    /// Fields fixed to one of some values (each field once, values narrowed).
    pub equal: Vec<(Dim, Vec<Box<str>>)>,
    /// Counterpart kinds that must be present.
    pub kinds: Vec<ArtefactKind>,
    /// Bounds on number fields: (field, side, threshold), tightest kept.
    pub bounds: Vec<(NumField, Side, f64)>,
}

impl Needs {
    /// The necessary tests of `condition`.
    pub fn of(condition: &BoolExpr) -> Needs {
        let mut n = Needs::default();
        n.add(condition);
        n
    }

    fn add(&mut self, c: &BoolExpr) {
        match c {
            BoolExpr::And(parts) => parts.iter().for_each(|p| self.add(p)),
            BoolExpr::Str(CmpOp::Eq, a, b) => match (a, b) {
                (field, StrExpr::Const(v)) | (StrExpr::Const(v), field) => {
                    self.equals(field, std::slice::from_ref(v))
                }
                _ => {}
            },
            BoolExpr::InStrSet(field, set) => self.equals(field, set),
            BoolExpr::InList(StrExpr::Counterparts(kind), id) => {
                self.list.get_or_insert((*kind, *id));
                self.kind(*kind);
            }
            BoolExpr::Has(StrExpr::Counterparts(kind)) => self.kind(*kind),
            BoolExpr::Num(op, a, b) => self.compare(*op, a, b),
            _ => {}
        }
    }

    /// `field` equals one of `values`.
    fn equals(&mut self, field: &StrExpr, values: &[Box<str>]) {
        let dim = match field {
            StrExpr::SourceKind => Dim::SourceKind,
            StrExpr::FraudTypeHint => Dim::Hint,
            StrExpr::Source => Dim::Source,
            StrExpr::Attr(name) => Dim::Attr(name.clone()),
            // Some counterpart of the kind equals a value: the kind is there.
            StrExpr::Counterparts(kind) => return self.kind(*kind),
            _ => return,
        };
        match self.equal.iter_mut().find(|(d, _)| *d == dim) {
            Some((_, old)) => old.retain(|v| values.contains(v)),
            None => self.equal.push((dim, values.to_vec())),
        }
    }

    /// The values `dim` is fixed to, if it is.
    pub fn fixed(&self, dim: &Dim) -> Option<&[Box<str>]> {
        self.equal
            .iter()
            .find(|(d, _)| d == dim)
            .map(|(_, v)| v.as_slice())
    }

    fn kind(&mut self, kind: ArtefactKind) {
        if !self.kinds.contains(&kind) {
            self.kinds.push(kind);
        }
    }

    fn compare(&mut self, op: CmpOp, a: &NumExpr, b: &NumExpr) {
        let (field, op, t) = match (a, b) {
            (x, NumExpr::Const(t)) => (x, op, *t),
            (NumExpr::Const(t), x) => (x, flip(op), *t),
            _ => return,
        };
        if t.is_nan() {
            return;
        }
        if let NumExpr::Count(kind) = field {
            // count(counterpart.K) >= 1 (or > 0): the kind is there.
            if matches!((op, t), (CmpOp::Ge, t) if t >= 1.0)
                || matches!((op, t), (CmpOp::Gt, t) if t >= 0.0)
            {
                self.kind(*kind);
            }
            return;
        }
        let field = match field {
            NumExpr::Amount => NumField::Amount,
            NumExpr::AmountFen => NumField::AmountFen,
            NumExpr::Age => NumField::Age,
            NumExpr::Hour => NumField::Hour,
            _ => return,
        };
        match op {
            CmpOp::Ge | CmpOp::Gt => self.bound(field, Side::Lower, t),
            CmpOp::Le | CmpOp::Lt => self.bound(field, Side::Upper, t),
            CmpOp::Eq => {
                self.bound(field, Side::Lower, t);
                self.bound(field, Side::Upper, t);
            }
            CmpOp::Ne | CmpOp::In => {}
        }
    }

    /// Keeps the tightest bound of each field and side; a strict bound is
    /// kept as inclusive (the residual decides the edge).
    fn bound(&mut self, field: NumField, side: Side, t: f64) {
        match self
            .bounds
            .iter_mut()
            .find(|(f, s, _)| *f == field && *s == side)
        {
            Some((_, _, old)) => {
                *old = match side {
                    Side::Lower => old.max(t),
                    Side::Upper => old.min(t),
                }
            }
            None => self.bounds.push((field, side, t)),
        }
    }

    /// True when no alert can meet these needs (an empty set of allowed values).
    pub fn impossible(&self) -> bool {
        self.equal.iter().any(|(_, v)| v.is_empty())
    }
}

/// `t op x` as `x op' t`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}
