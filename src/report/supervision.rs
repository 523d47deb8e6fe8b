//! Supervision figures (督导): per county, per police station and per rule,
//! over tasks created in a span of days; per-rule precision from outcomes;
//! units ranked by on-time rate within their kind.
//!
//! Precision counts outcomes, not guesses: 已劝阻 and 已被骗 are true
//! positives (the warning was about a real victim), 不符 a false positive;
//! other codes, and tasks without an outcome, are not counted either way.
//! A task counts once for each distinct rule among its reasons.

use std::collections::BTreeMap;

use super::figures::Tally;
use crate::model::Task;

/// Figures of one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// County code (6 digits) or station id.
    pub id: String,
    /// The counts.
    pub tally: Tally,
    /// 1 = best on-time rate of its kind; units with no rate come last.
    pub rank: u32,
}

/// Figures of one rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleFigures {
    /// Rule id.
    pub rule_id: String,
    /// The counts over the tasks it raised.
    pub tally: Tally,
}

impl RuleFigures {
    /// 已劝阻 + 已被骗.
    pub fn true_positives(&self) -> u64 {
        self.tally.dissuaded + self.tally.defrauded
    }

    /// 不符.
    pub fn false_positives(&self) -> u64 {
        self.tally.mismatch
    }

    /// TP ÷ (TP + FP), `None` with neither.
    pub fn precision(&self) -> Option<f64> {
        let (tp, fp) = (self.true_positives(), self.false_positives());
        (tp + fp > 0).then(|| tp as f64 / (tp + fp) as f64)
    }
}

/// The finished figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// Every task counted.
    pub total: Tally,
    /// Counties, ranked.
    pub counties: Vec<Unit>,
    /// Police stations, ranked.
    pub stations: Vec<Unit>,
    /// Rules, by id.
    pub rules: Vec<RuleFigures>,
}

/// Folds tasks into [`Figures`].
pub struct Supervision {
    as_of_ms: i64,
    total: Tally,
    counties: BTreeMap<String, Tally>,
    stations: BTreeMap<String, Tally>,
    rules: BTreeMap<String, Tally>,
}

impl Supervision {
    /// Figures as things stand at `as_of_ms`.
    pub fn new(as_of_ms: i64) -> Supervision {
        Supervision {
            as_of_ms,
            total: Tally::default(),
            counties: BTreeMap::new(),
            stations: BTreeMap::new(),
            rules: BTreeMap::new(),
        }
    }

    /// Counts one task of a pair; publicity tasks (宣传任务) are not
    /// warnings and are left out.
    pub fn add(&mut self, task: &Task) {
        if task.brief.is_some() {
            return;
        }
        let at = self.as_of_ms;
        self.total.add(task, at);
        let code = task.division.to_string();
        let county = code.get(..6).unwrap_or(&code);
        self.counties
            .entry(county.to_string())
            .or_default()
            .add(task, at);
        self.stations
            .entry(task.police_station.clone())
            .or_default()
            .add(task, at);
        let mut rules: Vec<&str> = task.reasons.iter().map(|r| r.rule_id.as_str()).collect();
        rules.sort_unstable();
        rules.dedup();
        for rule in rules {
            self.rules
                .entry(rule.to_string())
                .or_default()
                .add(task, at);
        }
    }

    /// The figures, units ranked.
    pub fn finish(self) -> Figures {
        Figures {
            total: self.total,
            counties: ranked(self.counties),
            stations: ranked(self.stations),
            rules: self
                .rules
                .into_iter()
                .map(|(rule_id, tally)| RuleFigures { rule_id, tally })
                .collect(),
        }
    }
}

/// Best on-time rate first; ties by more tasks, then id. No rate: last.
fn ranked(units: BTreeMap<String, Tally>) -> Vec<Unit> {
    let mut out: Vec<Unit> = units
        .into_iter()
        .map(|(id, tally)| Unit { id, tally, rank: 0 })
        .collect();
    out.sort_by(|a, b| {
        let (ra, rb) = (a.tally.on_time_rate(), b.tally.on_time_rate());
        rb.is_some()
            .cmp(&ra.is_some())
            .then(rb.unwrap_or(0.0).total_cmp(&ra.unwrap_or(0.0)))
            .then(b.tally.tasks.cmp(&a.tally.tasks))
            .then(a.id.cmp(&b.id))
    });
    for (i, u) in out.iter_mut().enumerate() {
        u.rank = i as u32 + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::DivisionCode;
    use crate::model::task_delta::tests::task;
    use crate::model::{HistoryEntry, Outcome, OutcomeCode, Reason, TaskEventKind, TaskStatus};

    fn closed(station: &str, code: OutcomeCode, late: bool, rule: &str) -> Task {
        let mut t = task();
        t.police_station = station.into();
        t.due_at_ms = 1_000;
        t.status = TaskStatus::Done;
        t.reasons = vec![Reason {
            rule_id: rule.into(),
            why: String::new(),
            alert_key: String::new(),
        }];
        t.history.push(HistoryEntry {
            at_ms: if late { 2_000 } else { 500 },
            actor: "w".into(),
            kind: TaskEventKind::Outcome,
            detail: String::new(),
        });
        t.outcome = Some(Outcome {
            code,
            ..Outcome::default()
        });
        t
    }

    #[test]
    fn precision_counts_outcomes_and_units_rank_by_on_time_rate() {
        let mut s = Supervision::new(10_000);
        s.add(&closed("A", OutcomeCode::Dissuaded, true, "r1"));
        s.add(&closed("A", OutcomeCode::Mismatch, true, "r1"));
        s.add(&closed("B", OutcomeCode::Defrauded, false, "r1"));
        s.add(&closed("B", OutcomeCode::Dissuaded, false, "r2"));
        let mut other = closed("C", OutcomeCode::Duplicate, false, "r2");
        other.division = DivisionCode::parse("520103001001").unwrap();
        s.add(&other);
        let f = s.finish();

        assert_eq!(f.total.tasks, 5);
        let r1 = &f.rules[0];
        assert_eq!((r1.true_positives(), r1.false_positives()), (2, 1));
        assert_eq!(r1.precision(), Some(2.0 / 3.0));
        assert_eq!(f.rules[1].precision(), Some(1.0));
        let order: Vec<(&str, u32)> = f.stations.iter().map(|u| (u.id.as_str(), u.rank)).collect();
        assert_eq!(order, [("B", 1), ("C", 2), ("A", 3)]);
        assert_eq!(f.counties.len(), 2);
    }
}
