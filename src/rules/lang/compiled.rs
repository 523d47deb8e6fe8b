//! The compiled, typed form of a condition and its evaluator. Compiling
//! resolves every name to an index or enum once, so evaluation walks plain
//! enums over borrowed alert data and allocates nothing.

use std::cell::{Cell, RefCell};

use regex::Regex;

use super::ast::{ArithOp, CmpOp};
use crate::graph::GraphFeatures;
use crate::model::{Alert, ArtefactKind, SourceKind};

/// Index of a named list in the rule set.
pub type ListId = u32;
/// Index of a window (a distinct window definition) in the rule set.
pub type WindowSlot = u32;

/// Default depth bound of `hops_to_flagged()`.
pub const HOPS_MAX_DEPTH: u32 = 3;
/// Deepest `hops_to_flagged(n)` a rule may ask for.
pub const HOPS_DEPTH_LIMIT: u32 = 6;
/// What `hops_to_flagged()` gives when no flagged artefact is within reach.
pub const HOPS_NONE: f64 = 99.0;
/// Default horizon of `victims_of_counterparts()` and
/// `jurisdictions_of_counterparts()`: 30 days.
pub const VICTIMS_HORIZON_MS: i64 = 30 * 24 * 3600 * 1000;
/// Default window of `card_fan_in()` and `card_fan_out()`: 24 hours.
pub const FAN_IN_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// A graph question with its parameter, as a rule asks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphNum {
    /// `hops_to_flagged(depth)`.
    Hops(u32),
    /// `victims_of_counterparts(horizon)`, ms.
    Victims(i64),
    /// `jurisdictions_of_counterparts(horizon)`, ms.
    Jurisdictions(i64),
    /// `card_fan_in(window)`, ms.
    FanIn(i64),
    /// `card_fan_out(window)`, ms.
    FanOut(i64),
    /// `persons_linked(horizon)`, ms.
    Persons(i64),
    /// `card_mean_payment_in(window)`, ms.
    MeanPaymentIn(i64),
    /// `degree()`.
    Degree,
}

/// A yes/no graph question, as a rule asks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphBool {
    /// `neighbourhood_flagged()`.
    NeighbourhoodFlagged,
    /// `is_hub()`.
    CounterpartHub,
    /// `allowed_counterpart()`.
    CounterpartAllowed,
}

/// A boolean expression.
#[derive(Clone, Debug)]
pub enum BoolExpr {
    /// `true` / `false`.
    Const(bool),
    /// All hold (short-circuit).
    And(Box<[BoolExpr]>),
    /// Any holds (short-circuit).
    Or(Box<[BoolExpr]>),
    /// Negation.
    Not(Box<BoolExpr>),
    /// `a == b` on booleans (each side evaluated once, never copied).
    BoolEq(Box<BoolExpr>, Box<BoolExpr>),
    /// Number comparison.
    Num(CmpOp, NumExpr, NumExpr),
    /// String equality (`==`, `!=`), existential over many values.
    Str(CmpOp, StrExpr, StrExpr),
    /// `x in @list`.
    InList(StrExpr, ListId),
    /// `x in ["a", ...]`.
    InStrSet(StrExpr, Box<[Box<str>]>),
    /// `n in [1, ...]`.
    InNumSet(NumExpr, Box<[f64]>),
    /// `x.starts_with(..)` and friends.
    Test(StrExpr, StrTest),
    /// `has(x)`.
    Has(StrExpr),
    /// `subject.has_id`.
    HasId,
    /// A graph test: `neighbourhood_flagged()`, `is_hub()`...
    Graph(GraphBool),
}

/// A string test.
#[derive(Clone, Debug)]
pub enum StrTest {
    /// Prefix.
    StartsWith(Box<str>),
    /// Suffix.
    EndsWith(Box<str>),
    /// Substring.
    Contains(Box<str>),
    /// Regular expression.
    Matches(Regex),
}

/// A number expression.
#[derive(Clone, Debug)]
pub enum NumExpr {
    /// A literal.
    Const(f64),
    /// `amount` (yuan).
    Amount,
    /// `amount_fen`.
    AmountFen,
    /// `subject.age`.
    Age,
    /// `hour`.
    Hour,
    /// `minute_of_day`.
    MinuteOfDay,
    /// `weekday`.
    Weekday,
    /// `window.NAME`.
    Window(WindowSlot),
    /// `count(counterpart.KIND)`.
    Count(ArtefactKind),
    /// Arithmetic.
    Arith(ArithOp, Box<NumExpr>, Box<NumExpr>),
    /// Negation.
    Neg(Box<NumExpr>),
    /// A graph feature: `hops_to_flagged()`, `card_fan_in("7d")`...
    Graph(GraphNum),
}

/// A string expression; `Counterparts` has many values.
#[derive(Clone, Debug)]
pub enum StrExpr {
    /// A literal.
    Const(Box<str>),
    /// `source`.
    Source,
    /// `source_kind`.
    SourceKind,
    /// `fraud_type_hint`.
    FraudTypeHint,
    /// `subject.phone`.
    Phone,
    /// `subject.division`.
    Division,
    /// `subject.grid`.
    Grid,
    /// `attr.NAME`.
    Attr(Box<str>),
    /// `counterpart.KIND`: every value of that kind.
    Counterparts(ArtefactKind),
}

/// Graph answers for one alert, computed at most once each.
#[derive(Default)]
pub struct GraphCache {
    numbers: RefCell<Vec<(GraphNum, f64)>>,
    /// By [`GraphBool`] as an index.
    tests: [Cell<Option<bool>>; 3],
}

impl GraphCache {
    fn number(&self, q: GraphNum, f: impl FnOnce() -> f64) -> f64 {
        if let Some(&(_, v)) = self.numbers.borrow().iter().find(|(k, _)| *k == q) {
            return v;
        }
        let v = f();
        self.numbers.borrow_mut().push((q, v));
        v
    }
}

/// Everything an expression reads while one alert is matched.
#[derive(Clone, Copy)]
pub struct EvalCtx<'a> {
    /// The alert.
    pub alert: &'a Alert,
    /// The values of the rule set's lists.
    pub lists: &'a super::super::ListValues,
    /// Window values for this alert, by slot (filled for the rule's windows).
    pub windows: &'a [f64],
    /// The account-link graph.
    pub graph: &'a dyn GraphFeatures,
    /// Graph answers already computed for this alert.
    pub graph_cache: &'a GraphCache,
    /// Matching time, unix ms.
    pub now_ms: i64,
    /// Local minutes since midnight of the event.
    pub minute_of_day: i64,
    /// 1 (Monday) – 7 (Sunday).
    pub weekday: i64,
    /// The 12-digit division code as text.
    pub division: &'a str,
    /// The alert's source (the feed, before `/` in its key), found once.
    pub source: &'a str,
}

/// Local minute of day and ISO weekday of `ms` at `utc_offset_hours`.
pub fn local_clock(ms: i64, utc_offset_hours: i32) -> (i64, i64) {
    let minutes = ms.div_euclid(60_000) + i64::from(utc_offset_hours) * 60;
    let days = minutes.div_euclid(1440);
    // 1970-01-01 was a Thursday (ISO 4).
    (minutes.rem_euclid(1440), (days + 3).rem_euclid(7) + 1)
}

impl BoolExpr {
    /// Number of nodes, to refuse macro expansions that blow up.
    pub fn size(&self) -> usize {
        match self {
            BoolExpr::And(xs) | BoolExpr::Or(xs) => {
                1 + xs.iter().map(BoolExpr::size).sum::<usize>()
            }
            BoolExpr::Not(x) => 1 + x.size(),
            BoolExpr::BoolEq(a, b) => 1 + a.size() + b.size(),
            _ => 1,
        }
    }

    /// Evaluates against one alert.
    pub fn eval(&self, c: &EvalCtx<'_>) -> bool {
        match self {
            BoolExpr::Const(b) => *b,
            BoolExpr::And(xs) => xs.iter().all(|x| x.eval(c)),
            BoolExpr::Or(xs) => xs.iter().any(|x| x.eval(c)),
            BoolExpr::Not(x) => !x.eval(c),
            BoolExpr::BoolEq(a, b) => a.eval(c) == b.eval(c),
            BoolExpr::Num(op, a, b) => cmp_num(*op, a.eval(c), b.eval(c)),
            BoolExpr::Str(op, a, b) => {
                let eq = a.any(c, |x| b.any(c, |y| x == y));
                if *op == CmpOp::Ne { !eq } else { eq }
            }
            BoolExpr::InList(s, id) => s.any(c, |v| c.lists.contains(*id, v)),
            BoolExpr::InStrSet(s, set) => s.any(c, |v| set.iter().any(|x| &**x == v)),
            BoolExpr::InNumSet(n, set) => {
                let v = n.eval(c);
                set.contains(&v)
            }
            BoolExpr::Test(s, t) => s.any(c, |v| t.holds(v)),
            BoolExpr::Has(s) => s.any(c, |v| !v.is_empty()),
            BoolExpr::HasId => !c.alert.subject.id_hash.is_empty(),
            BoolExpr::Graph(q) => cached(&c.graph_cache.tests[*q as usize], || match q {
                GraphBool::NeighbourhoodFlagged => c.graph.neighbourhood_flagged(c.alert),
                GraphBool::CounterpartHub => c.graph.counterpart_is_hub(c.alert),
                GraphBool::CounterpartAllowed => c.graph.counterpart_is_allowed(c.alert),
            }),
        }
    }
}

fn cached<T: Copy>(cell: &Cell<Option<T>>, f: impl FnOnce() -> T) -> T {
    if let Some(v) = cell.get() {
        return v;
    }
    let v = f();
    cell.set(Some(v));
    v
}

fn cmp_num(op: CmpOp, a: f64, b: f64) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
        CmpOp::In => false,
    }
}

impl StrTest {
    fn holds(&self, v: &str) -> bool {
        match self {
            StrTest::StartsWith(p) => v.starts_with(&**p),
            StrTest::EndsWith(p) => v.ends_with(&**p),
            StrTest::Contains(p) => v.contains(&**p),
            StrTest::Matches(r) => r.is_match(v),
        }
    }
}

impl NumExpr {
    /// Evaluates against one alert.
    pub fn eval(&self, c: &EvalCtx<'_>) -> f64 {
        let a = c.alert;
        match self {
            NumExpr::Const(v) => *v,
            NumExpr::Amount => a.amount_fen as f64 / 100.0,
            NumExpr::AmountFen => a.amount_fen as f64,
            NumExpr::Age => f64::from(a.subject.age),
            NumExpr::Hour => (c.minute_of_day / 60) as f64,
            NumExpr::MinuteOfDay => c.minute_of_day as f64,
            NumExpr::Weekday => c.weekday as f64,
            NumExpr::Window(slot) => c.windows.get(*slot as usize).copied().unwrap_or(0.0),
            NumExpr::Count(kind) => {
                a.counterparts.iter().filter(|x| x.kind == *kind).count() as f64
            }
            NumExpr::Arith(op, x, y) => arith(*op, x.eval(c), y.eval(c)),
            NumExpr::Neg(x) => -x.eval(c),
            NumExpr::Graph(q) => c.graph_cache.number(*q, || graph_number(*q, c)),
        }
    }
}

/// Asks the graph one question about the alert.
fn graph_number(q: GraphNum, c: &EvalCtx<'_>) -> f64 {
    let (a, g, now) = (c.alert, c.graph, c.now_ms);
    match q {
        GraphNum::Hops(depth) => g
            .hops_to_flagged(a, depth)
            .map_or(HOPS_NONE, |(h, _)| f64::from(h)),
        GraphNum::Victims(ms) => f64::from(g.victims_of_counterparts(a, now, ms)),
        GraphNum::Jurisdictions(ms) => f64::from(g.jurisdictions_of_counterparts(a, now, ms)),
        GraphNum::FanIn(ms) => f64::from(g.card_fan_in(a, now, ms)),
        GraphNum::FanOut(ms) => f64::from(g.card_fan_out(a, now, ms)),
        GraphNum::Persons(ms) => f64::from(g.persons_linked(a, now, ms)),
        GraphNum::MeanPaymentIn(ms) => g.card_mean_payment_in(a, now, ms),
        GraphNum::Degree => f64::from(g.counterpart_degree(a)),
    }
}

fn arith(op: ArithOp, a: f64, b: f64) -> f64 {
    match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div if b == 0.0 => 0.0,
        ArithOp::Div => a / b,
    }
}

fn source_kind_name(k: SourceKind) -> &'static str {
    match k {
        SourceKind::NationalPush => "national_push",
        SourceKind::Bank => "bank",
        SourceKind::Telecom => "telecom",
        SourceKind::PoliceReport => "police_report",
        SourceKind::Tip => "tip",
    }
}

impl StrExpr {
    /// True when `f` holds for any value (a single-valued field has one).
    pub fn any(&self, c: &EvalCtx<'_>, mut f: impl FnMut(&str) -> bool) -> bool {
        let a = c.alert;
        match self {
            StrExpr::Const(s) => f(s),
            StrExpr::Source => f(c.source),
            StrExpr::SourceKind => f(source_kind_name(a.source_kind)),
            StrExpr::FraudTypeHint => f(&a.fraud_type_hint),
            StrExpr::Phone => f(&a.subject.phone),
            StrExpr::Division => f(c.division),
            StrExpr::Grid => f(a.subject.grid_id.as_deref().unwrap_or("")),
            StrExpr::Attr(k) => f(a.attributes.get(&**k).map_or("", String::as_str)),
            StrExpr::Counterparts(kind) => a
                .counterparts
                .iter()
                .filter(|x| x.kind == *kind)
                .any(|x| f(&x.value)),
        }
    }

    /// Calls `f` on every value (for window keys and values).
    pub fn each(&self, c: &EvalCtx<'_>, mut f: impl FnMut(&str)) {
        self.any(c, |v| {
            f(v);
            false
        });
    }

    /// True when the expression can have many values.
    pub fn is_multi(&self) -> bool {
        matches!(self, StrExpr::Counterparts(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_clock_knows_weekday_and_minute() {
        // 2026-11-23 09:30 +08:00, a Monday.
        assert_eq!(local_clock(1_795_397_400_000, 8), (570, 1));
        // The same instant is still Monday 01:30 in UTC.
        assert_eq!(local_clock(1_795_397_400_000, 0), (90, 1));
    }
}
