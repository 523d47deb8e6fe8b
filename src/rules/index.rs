//! The candidate index: rules grouped by their discriminating predicates
//! (source kind; a counterpart that must be in a list, or else a fraud-type
//! hint the alert must carry), so an alert
//! evaluates only the rules that could hold for it. Built once per rule set.

use rustc_hash::FxHashMap;

use super::lang::ast::CmpOp;
use super::lang::compiled::{BoolExpr, ListId, StrExpr};
use super::{CompiledRule, ListValues, NamedList};
use crate::model::{Alert, ArtefactKind, SourceKind};

/// Source kinds in index order.
const SOURCE_KINDS: [(SourceKind, &str); 5] = [
    (SourceKind::NationalPush, "national_push"),
    (SourceKind::Bank, "bank"),
    (SourceKind::Telecom, "telecom"),
    (SourceKind::PoliceReport, "police_report"),
    (SourceKind::Tip, "tip"),
];

fn source_slot(k: SourceKind) -> usize {
    SOURCE_KINDS.iter().position(|(s, _)| *s == k).unwrap_or(0)
}

/// Rules of one source kind.
#[derive(Clone, Debug, Default)]
struct Bucket {
    /// Rules with no list requirement: always candidates.
    always: Vec<u32>,
    /// Rules that need a counterpart of a kind in a list.
    by_list: FxHashMap<(ArtefactKind, ListId), Vec<u32>>,
    /// Rules that need one fraud-type hint.
    by_hint: FxHashMap<Box<str>, Vec<u32>>,
}

/// The index of a rule set.
#[derive(Clone, Debug, Default)]
pub struct RuleIndex {
    buckets: [Bucket; 5],
}

/// What an index learns from one rule's top-level conjuncts.
struct Discriminators {
    sources: Option<Vec<usize>>,
    list: Option<(ArtefactKind, ListId)>,
    hint: Option<Box<str>>,
}

fn top_level(b: &BoolExpr) -> &[BoolExpr] {
    match b {
        BoolExpr::And(xs) => xs,
        other => std::slice::from_ref(other),
    }
}

fn discriminators(rule: &CompiledRule) -> Discriminators {
    let mut d = Discriminators {
        sources: None,
        list: None,
        hint: None,
    };
    for c in top_level(&rule.condition) {
        match c {
            BoolExpr::Str(CmpOp::Eq, StrExpr::SourceKind, StrExpr::Const(k))
            | BoolExpr::Str(CmpOp::Eq, StrExpr::Const(k), StrExpr::SourceKind) => {
                d.sources = Some(
                    SOURCE_KINDS
                        .iter()
                        .position(|(_, n)| *n == &**k)
                        .into_iter()
                        .collect(),
                );
            }
            BoolExpr::InStrSet(StrExpr::SourceKind, set) => {
                d.sources = Some(
                    SOURCE_KINDS
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, n))| set.iter().any(|s| &**s == *n))
                        .map(|(i, _)| i)
                        .collect(),
                );
            }
            BoolExpr::Str(CmpOp::Eq, StrExpr::FraudTypeHint, StrExpr::Const(h))
            | BoolExpr::Str(CmpOp::Eq, StrExpr::Const(h), StrExpr::FraudTypeHint) => {
                d.hint = Some(h.clone())
            }
            BoolExpr::InList(StrExpr::Counterparts(kind), id) if d.list.is_none() => {
                d.list = Some((*kind, *id))
            }
            _ => {}
        }
    }
    d
}

impl RuleIndex {
    /// Indexes the enabled rules.
    pub fn build(rules: &[CompiledRule]) -> RuleIndex {
        let mut ix = RuleIndex::default();
        for (i, rule) in rules.iter().enumerate().filter(|(_, r)| r.enabled) {
            let d = discriminators(rule);
            let sources = d
                .sources
                .unwrap_or_else(|| (0..SOURCE_KINDS.len()).collect());
            for s in sources {
                match (d.list, &d.hint) {
                    (Some(key), _) => ix.buckets[s].by_list.entry(key).or_default().push(i as u32),
                    (None, Some(h)) => ix.buckets[s]
                        .by_hint
                        .entry(h.clone())
                        .or_default()
                        .push(i as u32),
                    (None, None) => ix.buckets[s].always.push(i as u32),
                }
            }
        }
        ix
    }

    /// Fills `out` with the candidate rules for `alert`, in rule order.
    pub fn candidates(&self, alert: &Alert, values: &ListValues, out: &mut Vec<u32>) {
        out.clear();
        let bucket = &self.buckets[source_slot(alert.source_kind)];
        out.extend_from_slice(&bucket.always);
        if !bucket.by_list.is_empty() {
            for c in &alert.counterparts {
                for id in values.lists_of(&c.value) {
                    if let Some(rules) = bucket.by_list.get(&(c.kind, *id)) {
                        out.extend_from_slice(rules);
                    }
                }
            }
        }
        if let Some(rules) = bucket.by_hint.get(alert.fraud_type_hint.as_str()) {
            out.extend_from_slice(rules);
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// Rules that can never fire, for `rules check`.
pub fn never_fire(rules: &[CompiledRule], lists: &[NamedList]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rules.iter().filter(|r| r.enabled) {
        let d = discriminators(r);
        let why = if matches!(r.condition, BoolExpr::Const(false)) {
            Some("its condition is false".to_string())
        } else if d.sources.as_ref().is_some_and(Vec::is_empty) {
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
