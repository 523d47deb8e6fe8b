//! Shadow runs (影子运行): a candidate rule set matched beside the live one
//! on the real stream, with its own windows, making no task. For every alert
//! the writer matches live, the shadow matches too and asks the same
//! question of *decide* against the live open pairs: would this alert have
//! made a new pair? The report is the per-rule diff and the pairs the
//! candidate would add or remove, with samples. In the flow it sits in the
//! writer's *match* stage, beside the live matcher; pure, with the clock
//! passed in.
//!
//! Its cost is bounded by what it evaluates, a deterministic measure: once
//! it has seen [`MIN_ALERTS_FOR_BOUND`] alerts, a shadow that evaluates more
//! than `max_cost` times the rules the live set evaluates (plus one per
//! alert) stops itself and says why. The graph is shared: its features are
//! those of the live lists.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::decide::{Decision, OpenPairs, decide};
use crate::graph::GraphFeatures;
use crate::model::{Alert, mask};
use crate::rules::{Matcher, RuleHit, RuleSet};

/// Alerts seen before the cost bound applies (a start is noisy).
pub const MIN_ALERTS_FOR_BOUND: u64 = 1_000;
/// Sample alerts kept for pairs added and removed.
const SAMPLES: usize = 5;

/// An alert whose pair one set makes and the other does not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairSample {
    /// `source/source_id`.
    pub alert_key: String,
    /// The person, masked (`139****0001`).
    pub subject: String,
    /// The rules that would have made it.
    pub rule_ids: Vec<String>,
}

/// What a shadow run found so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShadowFigures {
    /// The candidate's version.
    pub candidate_version: String,
    /// When the run started, unix ms.
    pub started_at_ms: i64,
    /// Alerts matched by both sets.
    pub alerts: u64,
    /// Per rule id: (live hits, shadow hits).
    pub rules: BTreeMap<Arc<str>, (u64, u64)>,
    /// Pairs the live set made, and the candidate would have made.
    pub live_pairs: u64,
    /// Pairs the candidate would have made.
    pub shadow_pairs: u64,
    /// Alerts that would have made a pair under the candidate only.
    pub added: u64,
    /// Alerts that made a pair live but would not under the candidate.
    pub removed: u64,
    /// Samples of each.
    pub added_samples: Vec<PairSample>,
    /// Samples of each.
    pub removed_samples: Vec<PairSample>,
    /// Rules evaluated: live, and by the candidate.
    pub live_evaluations: u64,
    /// Rules evaluated by the candidate.
    pub shadow_evaluations: u64,
    /// Why the run stopped by itself; `None` while it runs.
    pub stopped: Option<String>,
}

/// A candidate rule set running in the shadow.
pub struct Shadow {
    matcher: Matcher,
    max_cost: f64,
    figures: ShadowFigures,
}

impl Shadow {
    /// A run of `matcher` (the candidate, with empty windows) from `now_ms`;
    /// it stops itself past `max_cost` times the live evaluations.
    pub fn new(matcher: Matcher, max_cost: f64, now_ms: i64) -> Shadow {
        let figures = ShadowFigures {
            candidate_version: matcher.rules().version.clone(),
            started_at_ms: now_ms,
            ..ShadowFigures::default()
        };
        Shadow {
            matcher,
            max_cost,
            figures,
        }
    }

    /// The candidate's rules.
    pub fn rules(&self) -> &Arc<RuleSet> {
        self.matcher.rules()
    }

    /// What the run found so far.
    pub fn figures(&self) -> &ShadowFigures {
        &self.figures
    }

    /// The candidate's matcher, its windows included: for a promotion.
    pub fn into_matcher(self) -> Matcher {
        self.matcher
    }

    /// Matches `alert` with the candidate, after the live set gave
    /// `live_hits` (evaluating `live_evaluated` rules) and decided
    /// `live_created` against `open`. Does nothing once stopped.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        alert: &Alert,
        graph: &dyn GraphFeatures,
        now_ms: i64,
        live_hits: &[RuleHit],
        live_evaluated: usize,
        live_created: bool,
        open: &OpenPairs,
    ) {
        if self.figures.stopped.is_some() {
            return;
        }
        let hits = self.matcher.match_alert(alert, graph, now_ms);
        let f = &mut self.figures;
        f.alerts += 1;
        f.live_evaluations += live_evaluated as u64;
        f.shadow_evaluations += self.matcher.last_evaluated() as u64;
        for h in live_hits {
            f.rules.entry(h.rule_id.clone()).or_default().0 += 1;
        }
        for h in &hits {
            f.rules.entry(h.rule_id.clone()).or_default().1 += 1;
        }
        let shadow_created = matches!(decide(&alert.subject, &hits, open), Decision::Create { .. });
        f.live_pairs += u64::from(live_created);
        f.shadow_pairs += u64::from(shadow_created);
        let sample = |hits: &[RuleHit]| PairSample {
            alert_key: alert.key.0.clone(),
            subject: mask::phone(&alert.subject.phone),
            rule_ids: hits.iter().map(|h| h.rule_id.to_string()).collect(),
        };
        match (live_created, shadow_created) {
            (false, true) => {
                f.added += 1;
                if f.added_samples.len() < SAMPLES {
                    f.added_samples.push(sample(&hits));
                }
            }
            (true, false) => {
                f.removed += 1;
                if f.removed_samples.len() < SAMPLES {
                    f.removed_samples.push(sample(live_hits));
                }
            }
            _ => {}
        }
        self.bound();
    }

    fn bound(&mut self) {
        let f = &mut self.figures;
        let allowed = self.max_cost * (f.live_evaluations + f.alerts) as f64;
        if f.alerts >= MIN_ALERTS_FOR_BOUND && f.shadow_evaluations as f64 > allowed {
            f.stopped = Some(format!(
                "cost: the candidate evaluated {} rules against {} live over {} alerts, above shadow_max_cost {}",
                f.shadow_evaluations, f.live_evaluations, f.alerts, self.max_cost
            ));
        }
    }
}
