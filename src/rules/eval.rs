//! Evaluates a [`RuleSet`] against one checked alert: pure, synchronous.

use super::{Rule, RuleSet};
use crate::model::{Alert, Level, mask};

/// One rule that held for an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleHit {
    /// Rule id.
    pub rule_id: String,
    /// Level asked for.
    pub level: Level,
    /// Fraud-type code asked for.
    pub fraud_type: String,
    /// Readable why, with counterpart values masked.
    pub why: String,
}

impl RuleSet {
    /// Every rule that holds for `alert`, in rule order.
    pub fn evaluate(&self, alert: &Alert) -> Vec<RuleHit> {
        self.rules
            .iter()
            .filter_map(|r| self.hit(r, alert))
            .collect()
    }

    fn hit(&self, rule: &Rule, alert: &Alert) -> Option<RuleHit> {
        if !rule.source_kinds.is_empty() && !rule.source_kinds.contains(&alert.source_kind) {
            return None;
        }
        if alert.amount_fen < rule.min_amount_fen {
            return None;
        }
        let mut why = rule.description.clone();
        if let Some((kind, list)) = &rule.counterpart_in {
            let entries = self.lists.get(list)?;
            let found = alert
                .counterparts
                .iter()
                .find(|c| c.kind == *kind && entries.contains(&c.value))?;
            why.push_str(&format!("（{} 在名单 {list}）", mask::opaque(&found.value)));
        }
        if rule.min_amount_fen > 0 {
            why.push_str(&format!(
                "（金额 {:.2} 元）",
                alert.amount_fen as f64 / 100.0
            ));
        }
        let fraud_type = if rule.fraud_type.is_empty() {
            alert.fraud_type_hint.clone()
        } else {
            rule.fraud_type.clone()
        };
        Some(RuleHit {
            rule_id: rule.id.clone(),
            level: rule.level,
            fraud_type,
            why,
        })
    }
}
