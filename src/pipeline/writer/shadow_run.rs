//! The writer's side of a shadow run (影子运行): start, figures, stop and
//! promotion, between two batches; the run itself is [`crate::pipeline::shadow`].

use std::sync::Arc;

use super::Writer;
use crate::pipeline::shadow::{Shadow, ShadowFigures};
use crate::rules::RuleSet;

impl Writer {
    /// Starts a shadow run of `rules` (replacing any), its windows empty.
    pub fn start_shadow(&mut self, rules: Arc<RuleSet>, max_cost: f64, now_ms: i64) {
        let matcher = self.matcher.fresh(rules);
        self.shadow = Some(Shadow::new(matcher, max_cost, now_ms));
    }

    /// What the shadow run found so far, if one runs.
    pub fn shadow_figures(&self) -> Option<ShadowFigures> {
        self.shadow.as_ref().map(|s| s.figures().clone())
    }

    /// Ends the shadow run; what it found.
    pub fn stop_shadow(&mut self) -> Option<ShadowFigures> {
        self.shadow.take().map(|s| s.figures().clone())
    }

    /// Puts the shadow's rules in force between two batches, keeping the
    /// live windows and those the shadow gathered for new definitions;
    /// the rules and how many windows carried over. `None` with no shadow.
    pub fn promote_shadow(&mut self) -> Option<(Arc<RuleSet>, usize)> {
        let shadow = self.shadow.take()?;
        let rules = shadow.rules().clone();
        rules.apply_lists(&mut self.graph);
        let kept = self.matcher.adopt(shadow.into_matcher());
        Some((rules, kept))
    }
}
