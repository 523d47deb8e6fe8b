//! Runs a [`RuleSet`] over alerts: updates the shared sliding windows,
//! picks candidate rules from the index, evaluates them and explains every
//! match. Stateful (the windows) and synchronous, with the clock passed in;
//! owned by the writer thread.

use std::sync::Arc;
use std::time::Duration;

use super::lang::compiled::{
    BoolExpr, EvalCtx, GraphCache, GraphNum, NumExpr, StrExpr, local_clock,
};
use super::window::{Agg, Observation, WindowLimits, WindowStore, hash_str};
use super::{CompiledRule, Method, RuleSet, WindowDef};
use crate::graph::{GraphFeatures, describe_path};
use crate::model::{Alert, ArtefactKind, Level, mask};

mod saved;
pub use saved::RestoreRefused;

/// One rule that held for an alert.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleHit {
    /// Rule id (shared with the compiled rule: a hit copies no text).
    pub rule_id: Arc<str>,
    /// Level asked for.
    pub level: Level,
    /// Fraud type: the rule's, else the alert's hint.
    pub fraud_type: Arc<str>,
    /// Readable why: the description and what held (values masked),
    /// written out when a task needs it.
    pub why: Why,
    /// 0..=100.
    pub score: u8,
    /// Phone or visit.
    pub method: Method,
    /// Deadline override.
    pub due_within: Option<Duration>,
}

/// Why a rule held for an alert. Matching keeps what can change later (the
/// rule's window values, the graph path) and writes the text only when a
/// task takes the hit in: the description, the listed counterparts and the
/// condition come from the rule set and the alert, which do not change.
/// Replays and shadow runs that only count hits never write it.
#[derive(Clone)]
pub enum Why {
    /// Already written.
    Text(String),
    /// To be written from the rule set and the alert.
    Pending {
        /// The rule set that matched.
        set: Arc<RuleSet>,
        /// The rule's position in it.
        rule: u32,
        /// The rule's window values at the match, in its order.
        windows: Vec<f64>,
        /// Hops to the flagged artefact and the path, when the rule asks.
        path: Option<(u32, String)>,
    },
}

impl Why {
    /// The text: `description（listed counterparts；condition；window = v；n 跳: path）`.
    pub fn render(&self, alert: &Alert) -> String {
        use std::fmt::Write;
        let (set, rule, windows, path) = match self {
            Why::Text(t) => return t.clone(),
            Why::Pending {
                set,
                rule,
                windows,
                path,
            } => (set, *rule, windows, path),
        };
        let Some(rule) = set.rules.get(rule as usize) else {
            return String::new();
        };
        let mut lists = Vec::new();
        list_hits(&rule.condition, alert, set, &mut lists);
        let mut why =
            String::with_capacity(rule.description.len() + rule.conditions_text.len() + 64);
        why.push_str(&rule.description);
        why.push('（');
        for line in &lists {
            why.push_str(line);
            why.push('；');
        }
        why.push_str(&rule.conditions_text);
        for ((name, _), v) in rule.windows.iter().zip(windows) {
            // Writing into a String cannot fail.
            let _ = write!(why, "；{name} = {v}");
        }
        if let Some((hops, path)) = path {
            let _ = write!(why, "；{hops} 跳: {path}");
        }
        why.push('）');
        why
    }
}

impl PartialEq for Why {
    fn eq(&self, other: &Why) -> bool {
        match (self, other) {
            (Why::Text(a), Why::Text(b)) => a == b,
            (
                Why::Pending {
                    set: s1,
                    rule: r1,
                    windows: w1,
                    path: p1,
                },
                Why::Pending {
                    set: s2,
                    rule: r2,
                    windows: w2,
                    path: p2,
                },
            ) => Arc::ptr_eq(s1, s2) && r1 == r2 && w1 == w2 && p1 == p2,
            _ => false,
        }
    }
}

impl std::fmt::Debug for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Text(t) => f.debug_tuple("Text").field(t).finish(),
            Why::Pending {
                rule,
                windows,
                path,
                ..
            } => f
                .debug_struct("Pending")
                .field("rule", rule)
                .field("windows", windows)
                .field("path", path)
                .finish(),
        }
    }
}

/// What one rule made of one alert, for `rules explain`.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleReport {
    /// Rule id.
    pub rule_id: String,
    /// Enabled in the set.
    pub enabled: bool,
    /// Picked by the index.
    pub candidate: bool,
    /// The whole condition held.
    pub matched: bool,
    /// Each top-level part and whether it held.
    pub parts: Vec<(String, bool)>,
    /// The rule's windows and their values.
    pub windows: Vec<(String, f64)>,
}

/// The rule set in force and the window state it reads.
pub struct Matcher {
    rules: Arc<RuleSet>,
    stores: Vec<WindowStore>,
    limits: WindowLimits,
    utc_offset_hours: i32,
    candidates: Vec<u32>,
    window_values: Vec<f64>,
    /// Windows of rules a reload removed, newest last, by identity: a
    /// reload that restores the rule gets its state back.
    parked: Vec<(String, WindowStore)>,
}

/// Windows of removed rules kept for a later restore.
const MAX_PARKED: usize = 64;

/// Writes a 12-digit division code as text without allocating.
fn division_text(code: u64, buf: &mut [u8; 12]) -> &str {
    let mut v = code;
    for b in buf.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
    std::str::from_utf8(buf).unwrap_or("000000000000")
}

impl Matcher {
    /// A matcher over `rules` with empty windows.
    pub fn new(rules: Arc<RuleSet>, limits: WindowLimits, utc_offset_hours: i32) -> Matcher {
        let stores = rules
            .windows
            .iter()
            .map(|w| WindowStore::new(w.agg, w.duration_ms, limits))
            .collect();
        let n = rules.windows.len();
        Matcher {
            rules,
            stores,
            limits,
            utc_offset_hours,
            candidates: Vec::new(),
            window_values: vec![0.0; n],
            parked: Vec::new(),
        }
    }

    /// The rule set in force.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// Swaps in a new rule set; windows whose definition is unchanged keep
    /// their state, and so do windows a recent reload removed and this one
    /// restores (the last [`MAX_PARKED`] removed are kept aside); new ones
    /// start empty. Returns how many were kept.
    pub fn swap(&mut self, rules: Arc<RuleSet>) -> usize {
        let mut old: Vec<(String, WindowStore)> = self
            .rules
            .windows
            .iter()
            .map(|w| w.identity.clone())
            .zip(self.stores.drain(..))
            .collect();
        let mut kept = 0;
        for w in &rules.windows {
            let found = match old.iter().position(|(id, _)| *id == w.identity) {
                Some(i) => Some(old.swap_remove(i).1),
                None => self
                    .parked
                    .iter()
                    .rposition(|(id, _)| *id == w.identity)
                    .map(|i| self.parked.remove(i).1),
            };
            match found {
                Some(store) => {
                    self.stores.push(store);
                    kept += 1;
                }
                None => self
                    .stores
                    .push(WindowStore::new(w.agg, w.duration_ms, self.limits)),
            }
        }
        self.parked.extend(old);
        let extra = self.parked.len().saturating_sub(MAX_PARKED);
        self.parked.drain(..extra);
        self.window_values = vec![0.0; rules.windows.len()];
        self.rules = rules;
        kept
    }

    /// Window statistics by definition identity, for metrics.
    pub fn window_stats(&self) -> Vec<(String, super::window::WindowStats)> {
        self.rules
            .windows
            .iter()
            .zip(&self.stores)
            .map(|(w, s)| (w.identity.clone(), s.stats()))
            .collect()
    }

    /// Sliding windows held: keys across every window definition in force.
    pub fn window_count(&self) -> usize {
        self.stores.iter().map(WindowStore::key_count).sum()
    }

    /// Adds the alert to every window without evaluating any rule (warm-up).
    pub fn observe(&mut self, alert: &Alert, graph: &dyn GraphFeatures, now_ms: i64) {
        let rules = Arc::clone(&self.rules);
        let mut buf = [0u8; 12];
        let cache = GraphCache::default();
        let ctx = self.bare_ctx(&rules, alert, graph, &cache, &mut buf, now_ms);
        update_windows(&mut self.stores, &rules, &ctx);
    }

    /// The longest window of the rule set plus the lateness: how far back a
    /// warm-up must replay (0 when the set has no window).
    pub fn horizon_ms(&self) -> i64 {
        self.horizon_over(|_| true)
    }

    /// [`Matcher::horizon_ms`] over the windows whose slot `pick` takes.
    fn horizon_over(&self, pick: impl Fn(usize) -> bool) -> i64 {
        let longest = self
            .rules
            .windows
            .iter()
            .enumerate()
            .filter(|(i, _)| pick(*i))
            .map(|(_, w)| w.duration_ms)
            .max()
            .unwrap_or(0);
        // The graph is not warmed from this replay: it comes back from its
        // snapshot and the store's log (see app::graph_state).
        if longest == 0 {
            return 0;
        }
        longest.saturating_add(self.limits.allowed_lateness_ms)
    }

    /// Adds the alert to every window, then evaluates the candidate rules.
    pub fn match_alert(
        &mut self,
        alert: &Alert,
        graph: &dyn GraphFeatures,
        now_ms: i64,
    ) -> Vec<RuleHit> {
        self.run(alert, graph, now_ms, true)
    }

    /// Rules the last match evaluated (its candidates): the cost measure of
    /// a shadow run.
    pub fn last_evaluated(&self) -> usize {
        self.candidates.len()
    }

    /// An empty-windowed matcher of `rules` with this one's limits and clock.
    pub fn fresh(&self, rules: Arc<RuleSet>) -> Matcher {
        Matcher::new(rules, self.limits, self.utc_offset_hours)
    }

    /// Puts `candidate`'s rules in force: windows the live set already has
    /// keep their (longer) history, windows new in the candidate keep what
    /// it gathered in the shadow. Returns how many windows carried over.
    pub fn adopt(&mut self, candidate: Matcher) -> usize {
        let live: Vec<String> = self
            .rules
            .windows
            .iter()
            .map(|w| w.identity.clone())
            .collect();
        let rules = candidate.rules.clone();
        let gathered = rules
            .windows
            .iter()
            .map(|w| w.identity.clone())
            .zip(candidate.stores);
        // [`Matcher::swap`] takes a definition's state from the live set
        // first, then from the parked windows, newest first.
        self.parked
            .extend(gathered.filter(|(id, _)| !live.contains(id)));
        self.swap(rules)
    }

    /// [`Matcher::match_alert`] without the index: every enabled rule is
    /// evaluated. The reference the index is tested and benched against.
    pub fn match_alert_unindexed(
        &mut self,
        alert: &Alert,
        graph: &dyn GraphFeatures,
        now_ms: i64,
    ) -> Vec<RuleHit> {
        self.run(alert, graph, now_ms, false)
    }

    fn run(
        &mut self,
        alert: &Alert,
        graph: &dyn GraphFeatures,
        now_ms: i64,
        indexed: bool,
    ) -> Vec<RuleHit> {
        let rules = Arc::clone(&self.rules);
        let mut buf = [0u8; 12];
        let cache = GraphCache::default();
        let bare = self.bare_ctx(&rules, alert, graph, &cache, &mut buf, now_ms);
        update_windows(&mut self.stores, &rules, &bare);
        if indexed {
            rules.index.candidates(
                alert,
                bare.minute_of_day,
                &rules.list_values,
                &mut self.candidates,
            );
        } else {
            self.candidates.clear();
            self.candidates
                .extend((0..rules.rules.len() as u32).filter(|&i| rules.rules[i as usize].enabled));
        }
        let mut hits = Vec::new();
        // The alert's hint as a hit's fraud type, made once if a rule needs it.
        let mut hint: Option<Arc<str>> = None;
        for &i in &self.candidates {
            let Some(rule) = rules.rules.get(i as usize) else {
                continue;
            };
            fill_windows(
                &mut self.stores,
                &mut self.window_values,
                rule,
                &rules,
                &bare,
            );
            let ctx = EvalCtx {
                windows: &self.window_values,
                ..bare
            };
            if rule.condition.eval(&ctx) {
                hits.push(hit(&rules, i, &ctx, &mut hint));
            }
        }
        hits
    }

    /// What every rule made of `alert` (windows updated as in matching).
    pub fn explain(
        &mut self,
        alert: &Alert,
        graph: &dyn GraphFeatures,
        now_ms: i64,
    ) -> Vec<RuleReport> {
        let rules = Arc::clone(&self.rules);
        let mut buf = [0u8; 12];
        let cache = GraphCache::default();
        let bare = self.bare_ctx(&rules, alert, graph, &cache, &mut buf, now_ms);
        update_windows(&mut self.stores, &rules, &bare);
        rules.index.candidates(
            alert,
            bare.minute_of_day,
            &rules.list_values,
            &mut self.candidates,
        );
        let mut out = Vec::new();
        for (i, rule) in rules.rules.iter().enumerate() {
            fill_windows(
                &mut self.stores,
                &mut self.window_values,
                rule,
                &rules,
                &bare,
            );
            let ctx = EvalCtx {
                windows: &self.window_values,
                ..bare
            };
            out.push(RuleReport {
                rule_id: rule.id.clone(),
                enabled: rule.enabled,
                candidate: self.candidates.contains(&(i as u32)),
                matched: rule.condition.eval(&ctx),
                parts: rule
                    .conjuncts
                    .iter()
                    .map(|(t, e)| (t.clone(), e.eval(&ctx)))
                    .collect(),
                windows: rule
                    .windows
                    .iter()
                    .map(|(n, s)| (n.clone(), self.window_values[*s as usize]))
                    .collect(),
            });
        }
        out
    }

    /// The alert's evaluation context without window values, built once per
    /// alert: window filters and keys read it, and rules add the values.
    fn bare_ctx<'a>(
        &self,
        rules: &'a RuleSet,
        alert: &'a Alert,
        graph: &'a dyn GraphFeatures,
        cache: &'a GraphCache,
        division_buf: &'a mut [u8; 12],
        now_ms: i64,
    ) -> EvalCtx<'a> {
        let (minute_of_day, weekday) = local_clock(alert.occurred_at_ms, self.utc_offset_hours);
        EvalCtx {
            alert,
            lists: &rules.list_values,
            windows: &[],
            graph,
            graph_cache: cache,
            now_ms,
            minute_of_day,
            weekday,
            division: division_text(alert.subject.division.as_u64(), division_buf),
            source: alert.key.0.split_once('/').map_or("", |(s, _)| s),
        }
    }
}

/// Adds the alert to every window whose filter holds.
fn update_windows(stores: &mut [WindowStore], rules: &RuleSet, ctx: &EvalCtx<'_>) {
    for (def, store) in rules.windows.iter().zip(stores.iter_mut()) {
        if def.when.as_ref().is_none_or(|w| w.eval(ctx)) {
            observe(def, store, ctx);
        }
    }
}

/// Computes the rule's window values at the alert's event time: the largest
/// over the alert's keys.
fn fill_windows(
    stores: &mut [WindowStore],
    values: &mut [f64],
    rule: &CompiledRule,
    rules: &RuleSet,
    ctx: &EvalCtx<'_>,
) {
    for (_, slot) in &rule.windows {
        let s = *slot as usize;
        let (Some(def), Some(store)) = (rules.windows.get(s), stores.get_mut(s)) else {
            continue;
        };
        let mut best: f64 = 0.0;
        def.key.each(ctx, |k| {
            best = best.max(store.value(hash_str(k), ctx.alert.occurred_at_ms))
        });
        values[s] = best;
    }
}

fn observe(def: &WindowDef, store: &mut WindowStore, ctx: &EvalCtx<'_>) {
    let at_ms = ctx.alert.occurred_at_ms;
    def.key.each(ctx, |k| {
        let key = hash_str(k);
        match (def.agg, &def.of_str, &def.of_num) {
            (Agg::Distinct, Some(of), _) => of.each(ctx, |v| {
                store.add(Observation {
                    key,
                    at_ms,
                    value: 0.0,
                    distinct: hash_str(v),
                });
            }),
            (Agg::Sum, _, Some(n)) => {
                store.add(Observation {
                    key,
                    at_ms,
                    value: n.eval(ctx),
                    distinct: 0,
                });
            }
            _ => {
                store.add(Observation {
                    key,
                    at_ms,
                    value: 1.0,
                    distinct: 0,
                });
            }
        }
    });
}

/// The hit of rule `i` on the alert of `ctx`: runs only on a match, and
/// copies no text (the why is written later, [`Why::render`]).
fn hit(rules: &Arc<RuleSet>, i: u32, ctx: &EvalCtx<'_>, hint: &mut Option<Arc<str>>) -> RuleHit {
    let rule = &rules.rules[i as usize];
    let fraud_type = match &rule.fraud_type {
        Some(f) => Arc::clone(f),
        None => Arc::clone(hint.get_or_insert_with(|| ctx.alert.fraud_type_hint.as_str().into())),
    };
    let windows = rule
        .windows
        .iter()
        .map(|(_, slot)| ctx.windows.get(*slot as usize).copied().unwrap_or(0.0))
        .collect();
    // The graph changes after this alert: its path is taken now.
    let path = rule.hops_depth.and_then(|depth| {
        ctx.graph
            .hops_to_flagged(ctx.alert, depth)
            .map(|(hops, path)| (hops, describe_path(&path)))
    });
    RuleHit {
        rule_id: rule.shared_id.clone(),
        level: rule.level,
        fraud_type,
        why: Why::Pending {
            set: Arc::clone(rules),
            rule: i,
            windows,
            path,
        },
        score: rule.score,
        method: rule.method,
        due_within: rule.due_within,
    }
}

fn kind_name(k: ArtefactKind) -> &'static str {
    match k {
        ArtefactKind::Phone => "号码",
        ArtefactKind::BankCard => "银行卡",
        ArtefactKind::Url => "网址",
        ArtefactKind::App => "APP",
        ArtefactKind::SocialAccount => "社交账号",
        ArtefactKind::Device => "设备",
        ArtefactKind::Ip => "IP",
    }
}

fn list_hits(b: &BoolExpr, alert: &Alert, rules: &RuleSet, out: &mut Vec<String>) {
    match b {
        BoolExpr::And(xs) | BoolExpr::Or(xs) => {
            xs.iter().for_each(|x| list_hits(x, alert, rules, out))
        }
        BoolExpr::InList(StrExpr::Counterparts(kind), id) => {
            let Some(list) = rules.lists.get(*id as usize) else {
                return;
            };
            for c in alert
                .counterparts
                .iter()
                .filter(|c| c.kind == *kind && rules.list_values.contains(*id, &c.value))
            {
                let shown = if *kind == ArtefactKind::Phone {
                    mask::phone(&c.value)
                } else {
                    mask::opaque(&c.value)
                };
                let line = format!("{} {shown} 在名单 {}", kind_name(*kind), list.name);
                if !out.contains(&line) {
                    out.push(line);
                }
            }
        }
        _ => {}
    }
}

/// The deepest `hops_to_flagged(n)` the condition asks, if any: the path
/// shown on the task is searched to that depth. Kept on the compiled rule.
pub(super) fn hops_depth(b: &BoolExpr) -> Option<u32> {
    fn num(n: &NumExpr) -> Option<u32> {
        match n {
            NumExpr::Graph(GraphNum::Hops(d)) => Some(*d),
            NumExpr::Arith(_, a, b) => num(a).max(num(b)),
            NumExpr::Neg(a) => num(a),
            _ => None,
        }
    }
    match b {
        BoolExpr::And(xs) | BoolExpr::Or(xs) => xs.iter().filter_map(hops_depth).max(),
        BoolExpr::Not(x) => hops_depth(x),
        BoolExpr::BoolEq(a, b) => hops_depth(a).max(hops_depth(b)),
        BoolExpr::Num(_, a, b) => num(a).max(num(b)),
        BoolExpr::InNumSet(a, _) => num(a),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests;
