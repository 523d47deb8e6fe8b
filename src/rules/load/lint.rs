//! The last step of loading, on the compiled form: warnings an analyst
//! should look at in a set that compiled (lists no rule reads, rules that
//! can never fire, costly regexes, disabled rules). Nothing here refuses
//! a set; macro warnings come from [`super::macros`].

use std::collections::BTreeSet;

use crate::rules::lang::check;
use crate::rules::lang::compiled::{BoolExpr, ListId, StrTest};
use crate::rules::{CompiledRule, NamedList, WindowDef, index};

/// Every warning about the compiled rules, in the order they are shown.
pub(super) fn warnings(
    lists: &[NamedList],
    rules: &[CompiledRule],
    windows: &[WindowDef],
) -> Vec<String> {
    let mut warnings = unused_lists(lists, rules, windows);
    warnings.extend(index::never_fire(rules, lists));
    warnings.extend(costly_regexes(rules));
    for r in rules.iter().filter(|r| !r.enabled) {
        warnings.push(format!("{}: rule {} is disabled", r.file, r.id));
    }
    warnings
}

fn unused_lists(lists: &[NamedList], rules: &[CompiledRule], windows: &[WindowDef]) -> Vec<String> {
    let mut used = BTreeSet::new();
    for r in rules {
        check::lists_used(&r.condition, &mut used);
    }
    for w in windows.iter().filter_map(|w| w.when.as_ref()) {
        check::lists_used(w, &mut used);
    }
    lists
        .iter()
        .enumerate()
        // The graph reads the allow lists itself.
        .filter(|(i, l)| !used.contains(&(*i as ListId)) && !l.name.starts_with("allow_"))
        .map(|(_, l)| format!("lists/{}.txt: list {} is never used", l.name, l.name))
        .collect()
}

/// Regexes that scan a whole value for every alert: an unanchored leading
/// `.*`, or a repeated group that is itself repeated.
fn costly_regexes(rules: &[CompiledRule]) -> Vec<String> {
    fn walk(b: &BoolExpr, out: &mut Vec<String>) {
        match b {
            BoolExpr::And(xs) | BoolExpr::Or(xs) => xs.iter().for_each(|x| walk(x, out)),
            BoolExpr::Not(x) => walk(x, out),
            BoolExpr::BoolEq(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            BoolExpr::Test(_, StrTest::Matches(r)) => {
                let p = r.as_str();
                let nested = ["+)+", "*)*", "+)*", "*)+", "}){", "+){", "*){"]
                    .iter()
                    .any(|n| p.contains(n));
                if p.starts_with(".*") || nested {
                    out.push(p.to_string());
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for r in rules {
        let mut found = Vec::new();
        walk(&r.condition, &mut found);
        out.extend(found.into_iter().map(|p| {
            format!("{}: rule {}: regex {p:?} is costly (leading .* or a nested repetition); anchor it or use starts_with/contains", r.file, r.id)
        }));
    }
    out
}
