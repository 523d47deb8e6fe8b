//! The candidate index (过滤索引): an alert visits only the rules whose
//! necessary tests all pass, then evaluates each of those rules' condition
//! once. In the flow it sits in *match*, built once per rule set at load.
//!
//! Every enabled rule enters the index at one point, chosen for
//! selectivity ([`needs`] says what a rule needs):
//!
//! 1. A counterpart in a list (`counterpart.card in @flagged_cards`): the
//!    most selective test a rule can have — a list hit is rare (about 2 % of
//!    a real stream) — so a rule with one enters there, keyed by
//!    (kind, list), and an alert looks up its counterparts' values once.
//! 2. Otherwise an equality key, the conjunction of what the rule fixes of
//!    the source kind, the fraud-type hint and one counterpart kind it needs
//!    present (the rarest by an estimate: apps, URLs, devices and social
//!    accounts before cards before phones), each or any. An alert looks up
//!    only the key shapes that rules use. A rule that allows several source
//!    kinds or hints enters under each.
//! 3. Within a key, a range on a number field: a rule with `amount >= T`
//!    (or `amount_fen`, `subject.age`, `hour`, lower or upper bounds; amounts
//!    first, as the estimate of the most selective) sits in a threshold
//!    array sorted by `T`, and a binary search gives the rules that can still
//!    hold. A rule with no bound is visited whenever its key matches.
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
pub use needs::{NUM_FIELDS, Needs, NumField, Side};

/// Source kinds in index order (slot + 1 in a key; 0 is "any").
const SOURCE_KINDS: [(SourceKind, &str); 5] = [
    (SourceKind::NationalPush, "national_push"),
    (SourceKind::Bank, "bank"),
    (SourceKind::Telecom, "telecom"),
    (SourceKind::PoliceReport, "police_report"),
    (SourceKind::Tip, "tip"),
];
/// Counterpart kinds from rarest to commonest, by estimate: the key uses
/// the first one a rule needs.
const KIND_PREFERENCE: [ArtefactKind; 6] = [
    ArtefactKind::App,
    ArtefactKind::Url,
    ArtefactKind::Device,
    ArtefactKind::SocialAccount,
    ArtefactKind::BankCard,
    ArtefactKind::Phone,
];
/// A rule allowing more (source kind × hint) combinations than this enters
/// with "any hint" instead.
const MAX_KEYS_PER_RULE: usize = 32;

fn source_slot(k: SourceKind) -> u8 {
    SOURCE_KINDS
        .iter()
        .position(|(s, _)| *s == k)
        .map_or(0, |i| i as u8 + 1)
}

fn kind_code(k: ArtefactKind) -> u8 {
    KIND_PREFERENCE
        .iter()
        .position(|x| *x == k)
        .map_or(u8::MAX, |i| i as u8 + 1)
}

/// An equality key: 0 in a part means "any".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    source: u8,
    hint: u32,
    kind: u8,
}

/// Which parts of a key rules use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    source: bool,
    hint: bool,
    kind: bool,
}

impl Key {
    fn shape(&self) -> Shape {
        Shape {
            source: self.source != 0,
            hint: self.hint != 0,
            kind: self.kind != 0,
        }
    }
}

/// Rules sorted by the threshold of one bound.
#[derive(Clone, Debug)]
struct Range {
    field: NumField,
    side: Side,
    /// (threshold, rule), by threshold.
    rules: Vec<(f64, u32)>,
}

/// The rules of one key.
#[derive(Clone, Debug, Default)]
struct Bucket {
    /// Visited whenever the key matches.
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
    /// Rules entered by an equality key, then a range.
    by_key: FxHashMap<Key, Bucket>,
    /// The key shapes in use.
    shapes: Vec<Shape>,
    /// Fraud-type hints rules name, as key ids (from 1).
    hint_ids: FxHashMap<Box<str>, u32>,
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
            for key in ix.keys_of(&needs) {
                if !ix.shapes.contains(&key.shape()) {
                    ix.shapes.push(key.shape());
                }
                ix.by_key.entry(key).or_default().add(i, bound);
            }
        }
        for b in ix.by_key.values_mut() {
            for r in &mut b.ranges {
                r.rules
                    .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            }
        }
        ix
    }

    /// The keys a rule enters under.
    fn keys_of(&mut self, needs: &Needs) -> Vec<Key> {
        let sources: Vec<u8> = match &needs.source_kinds {
            None => vec![0],
            Some(names) => SOURCE_KINDS
                .iter()
                .enumerate()
                .filter(|(_, (_, n))| names.iter().any(|x| &**x == *n))
                .map(|(i, _)| i as u8 + 1)
                .collect(),
        };
        let hints: Vec<u32> = match &needs.hints {
            Some(h) if h.len() * sources.len() <= MAX_KEYS_PER_RULE => {
                h.iter().map(|h| self.hint_id(h)).collect()
            }
            _ => vec![0],
        };
        let kind = KIND_PREFERENCE
            .iter()
            .find(|k| needs.kinds.contains(k))
            .map_or(0, |k| kind_code(*k));
        let mut keys = Vec::with_capacity(sources.len() * hints.len());
        for &source in &sources {
            for &hint in &hints {
                keys.push(Key { source, hint, kind });
            }
        }
        keys
    }

    fn hint_id(&mut self, hint: &str) -> u32 {
        let next = self.hint_ids.len() as u32 + 1;
        *self.hint_ids.entry(hint.into()).or_insert(next)
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
        if !self.shapes.is_empty() {
            self.by_keys(alert, minute_of_day, out);
        }
        out.sort_unstable();
        out.dedup();
    }

    fn by_keys(&self, alert: &Alert, minute_of_day: i64, out: &mut Vec<u32>) {
        let probe = Probe::of(alert, minute_of_day);
        let source = source_slot(alert.source_kind);
        let hint = self
            .hint_ids
            .get(alert.fraud_type_hint.as_str())
            .copied()
            .unwrap_or(0);
        let mut kinds = [0u8; 8];
        let mut n = 0;
        for c in &alert.counterparts {
            let k = kind_code(c.kind);
            if n < kinds.len() && !kinds[..n].contains(&k) {
                kinds[n] = k;
                n += 1;
            }
        }
        for shape in &self.shapes {
            if shape.hint && hint == 0 {
                continue;
            }
            let key = Key {
                source: if shape.source { source } else { 0 },
                hint: if shape.hint { hint } else { 0 },
                kind: 0,
            };
            if shape.kind {
                for &kind in &kinds[..n] {
                    if let Some(b) = self.by_key.get(&Key { kind, ..key }) {
                        b.visit(&probe, out);
                    }
                }
            } else if let Some(b) = self.by_key.get(&key) {
                b.visit(&probe, out);
            }
        }
    }
}

/// Rules that can never fire, for `rules check`.
pub fn never_fire(rules: &[CompiledRule], lists: &[NamedList]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rules.iter().filter(|r| r.enabled) {
        let d = Needs::of(&r.condition);
        let unknown_source = d.source_kinds.as_ref().is_some_and(|names| {
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
