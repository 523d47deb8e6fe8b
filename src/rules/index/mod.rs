//! The candidate index (过滤索引): an alert visits only the rules whose
//! necessary tests pass, then evaluates each of those rules' condition
//! once. In the flow it sits in *match*, built once per rule set at load.
//!
//! Every enabled rule enters the index at one point, chosen for
//! selectivity ([`needs`] says what a rule needs):
//!
//! 1. A counterpart in a list (`counterpart.card in @flagged_cards`): the
//!    most selective test a rule can have — a list hit is rare (about 2 % of
//!    a real stream) — so a rule with one enters there, keyed by
//!    (kind, list), and an alert looks up its counterparts' values once.
//! 2. Otherwise its most selective equality, by an estimate of the share of
//!    alerts that pass it ([`prior`]): a fraud-type hint, an attribute, the
//!    source, the source kind, or a counterpart kind it needs present. A rule
//!    that allows several values enters under each. An alert looks up its
//!    own value of each field rules use, and each of its counterpart kinds.
//! 3. Within that entry, a range on a number field: a rule with
//!    `amount >= T` (or `amount_fen`, `subject.age`, `hour`, lower or upper
//!    bounds; amounts first, as the estimate of the most selective) sits in
//!    a threshold array sorted by `T`, and a binary search gives the rules
//!    the alert's value still admits. A rule with neither an equality nor a
//!    bound is visited for every alert.
//!
//! The index only prunes: a candidate's whole condition is evaluated, so a
//! test the index does not understand costs speed, never an answer. A
//! property test holds indexed matching equal to evaluating every rule.

mod needs;
#[cfg(test)]
mod tests;

use rustc_hash::FxHashMap;

use super::lang::compiled::{BoolExpr, ListId};
use super::{CompiledRule, ListValues, NamedList};
use crate::model::{Alert, ArtefactKind, SourceKind};
pub use needs::{Dim, NUM_FIELDS, Needs, NumField, Side};

/// Source kind names, as rules write them.
const SOURCE_KINDS: [(SourceKind, &str); 5] = [
    (SourceKind::NationalPush, "national_push"),
    (SourceKind::Bank, "bank"),
    (SourceKind::Telecom, "telecom"),
    (SourceKind::PoliceReport, "police_report"),
    (SourceKind::Tip, "tip"),
];

fn source_kind_name(k: SourceKind) -> &'static str {
    SOURCE_KINDS
        .iter()
        .find(|(s, _)| *s == k)
        .map_or("", |(_, n)| n)
}

/// Where a rule enters.
#[derive(Clone, Debug, PartialEq)]
enum Entry {
    /// An equality on a field, for each allowed value.
    Field(Dim, Vec<Box<str>>),
    /// A counterpart kind that must be present.
    Kind(ArtefactKind),
    /// No equality: by range alone.
    Any,
}

/// The estimated share of alerts an equality passes, per allowed value:
/// how an entry is chosen when there is no sample to measure. From the
/// centres' streams: a fraud-type hint is rare (most alerts carry none, and
/// there are dozens of types), attributes and feeds split a stream several
/// ways, source kinds five ways; apps, URLs, devices and social accounts
/// are rarer counterparts than cards, and cards than phones.
pub fn prior(entry_dim: Option<&Dim>, kind: Option<ArtefactKind>) -> f64 {
    match (entry_dim, kind) {
        (Some(Dim::Hint), _) => 0.04,
        (Some(Dim::Attr(_)), _) => 0.15,
        (Some(Dim::Source), _) => 0.15,
        (Some(Dim::SourceKind), _) => 0.2,
        (None, Some(ArtefactKind::Phone)) => 0.5,
        (None, Some(ArtefactKind::BankCard)) => 0.3,
        (None, Some(_)) => 0.1,
        (None, None) => 1.0,
    }
}

/// The most selective equality of `needs`.
fn entry(needs: &Needs) -> Entry {
    let fields = needs.equal.iter().map(|(d, v)| {
        let share = prior(Some(d), None) * v.len() as f64;
        (share, Entry::Field(d.clone(), v.clone()))
    });
    let kinds = needs
        .kinds
        .iter()
        .map(|k| (prior(None, Some(*k)), Entry::Kind(*k)));
    fields
        .chain(kinds)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(Entry::Any, |(_, e)| e)
}

/// Rules sorted by the threshold of one bound.
#[derive(Clone, Debug)]
struct Range {
    field: NumField,
    side: Side,
    /// (threshold, rule), by threshold.
    rules: Vec<(f64, u32)>,
}

/// The rules of one entry.
#[derive(Clone, Debug, Default)]
struct Bucket {
    /// Visited whenever the entry passes.
    always: Vec<u32>,
    /// Visited when their bound admits the alert's value.
    ranges: Vec<Range>,
}

impl Bucket {
    fn add(&mut self, rule: u32, bound: Option<(NumField, Side, f64)>) {
        let Some((field, side, t)) = bound else {
            self.always.push(rule);
            return;
        };
        match self
            .ranges
            .iter_mut()
            .find(|r| r.field == field && r.side == side)
        {
            Some(r) => r.rules.push((t, rule)),
            None => self.ranges.push(Range {
                field,
                side,
                rules: vec![(t, rule)],
            }),
        }
    }

    fn sort(&mut self) {
        for r in &mut self.ranges {
            r.rules
                .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
    }

    fn visit(&self, probe: &Probe, out: &mut Vec<u32>) {
        out.extend_from_slice(&self.always);
        for r in &self.ranges {
            let v = probe.value(r.field);
            match r.side {
                Side::Lower => {
                    let end = r.rules.partition_point(|(t, _)| *t <= v);
                    out.extend(r.rules[..end].iter().map(|(_, i)| *i));
                }
                Side::Upper => {
                    let start = r.rules.partition_point(|(t, _)| *t < v);
                    out.extend(r.rules[start..].iter().map(|(_, i)| *i));
                }
            }
        }
    }
}

/// The alert's number fields, valued as the evaluator values them.
struct Probe {
    values: [f64; 4],
}

impl Probe {
    fn of(alert: &Alert, minute_of_day: i64) -> Probe {
        Probe {
            values: [
                alert.amount_fen as f64 / 100.0,
                alert.amount_fen as f64,
                f64::from(alert.subject.age),
                (minute_of_day / 60) as f64,
            ],
        }
    }

    fn value(&self, field: NumField) -> f64 {
        let i = NUM_FIELDS.iter().position(|f| *f == field).unwrap_or(0);
        self.values[i]
    }
}

/// The index of a rule set.
#[derive(Clone, Debug, Default)]
pub struct RuleIndex {
    /// Rules entered by a counterpart in a list.
    by_list: FxHashMap<(ArtefactKind, ListId), Vec<u32>>,
    /// Rules entered by an equality: per field, value → bucket.
    by_field: Vec<(Dim, FxHashMap<Box<str>, Bucket>)>,
    /// Rules entered by a counterpart kind present.
    by_kind: Vec<(ArtefactKind, Bucket)>,
    /// Rules with no equality: by range alone.
    any: Bucket,
}

/// The bound a rule's range entry uses: amounts first, then age, then hour.
fn entry_bound(needs: &Needs) -> Option<(NumField, Side, f64)> {
    NUM_FIELDS.iter().find_map(|f| {
        [Side::Lower, Side::Upper]
            .iter()
            .find_map(|s| needs.bounds.iter().find(|(bf, bs, _)| bf == f && bs == s))
            .copied()
    })
}

impl RuleIndex {
    /// Indexes the enabled rules.
    pub fn build(rules: &[CompiledRule]) -> RuleIndex {
        let mut ix = RuleIndex::default();
        for (i, rule) in rules.iter().enumerate().filter(|(_, r)| r.enabled) {
            let needs = Needs::of(&rule.condition);
            if needs.impossible() || matches!(rule.condition, BoolExpr::Const(false)) {
                continue;
            }
            let i = i as u32;
            if let Some(key) = needs.list {
                ix.by_list.entry(key).or_default().push(i);
                continue;
            }
            let bound = entry_bound(&needs);
            match entry(&needs) {
                Entry::Field(dim, values) => {
                    let map = ix.field_map(dim);
                    for v in values {
                        map.entry(v).or_default().add(i, bound);
                    }
                }
                Entry::Kind(kind) => ix.kind_bucket(kind).add(i, bound),
                Entry::Any => ix.any.add(i, bound),
            }
        }
        ix.by_field
            .iter_mut()
            .flat_map(|(_, m)| m.values_mut())
            .chain(ix.by_kind.iter_mut().map(|(_, b)| b))
            .chain(std::iter::once(&mut ix.any))
            .for_each(Bucket::sort);
        ix
    }

    fn field_map(&mut self, dim: Dim) -> &mut FxHashMap<Box<str>, Bucket> {
        let i = match self.by_field.iter().position(|(d, _)| *d == dim) {
            Some(i) => i,
            None => {
                self.by_field.push((dim, FxHashMap::default()));
                self.by_field.len() - 1
            }
        };
        &mut self.by_field[i].1
    }

    fn kind_bucket(&mut self, kind: ArtefactKind) -> &mut Bucket {
        let i = match self.by_kind.iter().position(|(k, _)| *k == kind) {
            Some(i) => i,
            None => {
                self.by_kind.push((kind, Bucket::default()));
                self.by_kind.len() - 1
            }
        };
        &mut self.by_kind[i].1
    }

    /// Fills `out` with the candidate rules for `alert` (local time of day
    /// `minute_of_day`), in rule order.
    pub fn candidates(
        &self,
        alert: &Alert,
        minute_of_day: i64,
        values: &ListValues,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        if !self.by_list.is_empty() {
            for c in &alert.counterparts {
                for id in values.lists_of(&c.value) {
                    if let Some(rules) = self.by_list.get(&(c.kind, *id)) {
                        out.extend_from_slice(rules);
                    }
                }
            }
        }
        let probe = Probe::of(alert, minute_of_day);
        for (dim, map) in &self.by_field {
            let value = match dim {
                Dim::SourceKind => source_kind_name(alert.source_kind),
                Dim::Hint => alert.fraud_type_hint.as_str(),
                Dim::Source => alert.key.0.split_once('/').map_or("", |(s, _)| s),
                Dim::Attr(name) => alert.attributes.get(&**name).map_or("", String::as_str),
            };
            if let Some(b) = map.get(value) {
                b.visit(&probe, out);
            }
        }
        for (kind, b) in &self.by_kind {
            if alert.counterparts.iter().any(|c| c.kind == *kind) {
                b.visit(&probe, out);
            }
        }
        self.any.visit(&probe, out);
        out.sort_unstable();
        out.dedup();
    }
}

/// Rules that can never fire, for `rules check`.
pub fn never_fire(rules: &[CompiledRule], lists: &[NamedList]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rules.iter().filter(|r| r.enabled) {
        let d = Needs::of(&r.condition);
        let unknown_source = d.fixed(&Dim::SourceKind).is_some_and(|names| {
            !names
                .iter()
                .any(|n| SOURCE_KINDS.iter().any(|(_, k)| *k == &**n))
        });
        let why = if matches!(r.condition, BoolExpr::Const(false)) {
            Some("its condition is false".to_string())
        } else if unknown_source {
            Some("it asks for a source kind that does not exist (known: national_push, bank, telecom, police_report, tip)".to_string())
        } else {
            d.list
                .and_then(|(_, id)| lists.get(id as usize))
                .filter(|l| l.len == 0)
                .map(|l| format!("its list {} is empty", l.name))
        };
        if let Some(why) = why {
            out.push(format!("{}: rule {} can never fire: {why}", r.file, r.id));
        }
    }
    out
}
