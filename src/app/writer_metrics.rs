//! The writer thread's figures: what a durable commit made (rule hits,
//! alert-to-task latency), escalations, open tasks by status and level at
//! each escalation check, and the size of the windows and the graph. Each
//! is gathered in a local map first and counted once per commit, never once
//! per alert.
//!
//! Where it sits: beside the writer thread, which calls it after a commit
//! is durable (and at start); [`crate::metrics`] holds the figures.

use rustc_hash::FxHashMap;

use super::writer_thread::WriterThread;
use crate::metrics::{KindLabel, Metrics, RuleLabel, TaskLabels};
use crate::model::escalation::binding_due;
use crate::model::{Level, TaskEventKind, TaskEventRecord, TaskStatus};
use crate::store::Commit;

/// Statuses of a task still to be worked, as the `status` label says them.
const STATUSES: [&str; 3] = ["open", "acknowledged", "in_progress"];
/// Levels, as the `level` label says them.
const LEVELS: [&str; 3] = ["high", "medium", "low"];

/// What the batches of one group commit made, counted once it is durable.
#[derive(Debug, Default)]
pub(super) struct MadeFigures {
    /// Rule hits that made or joined a task, by rule id.
    rule_hits: FxHashMap<String, u64>,
    /// Each alert that made or joined a pair: its event time and its
    /// batch's arrival, unix ms.
    alerts: Vec<(i64, i64)>,
}

impl MadeFigures {
    /// Adds one batch's commit `c`, whose batch arrived at `arrived_at_ms`.
    pub(super) fn add(&mut self, c: &Commit, arrived_at_ms: i64) {
        let hits = c.rule_hits();
        if hits.is_empty() {
            return;
        }
        let occurred: FxHashMap<&str, i64> = c
            .alerts
            .iter()
            .map(|a| (a.key.as_str(), a.occurred_at_ms))
            .collect();
        let mut makers: FxHashMap<&str, i64> = Default::default();
        for (key, rule) in hits {
            if let Some(&at) = occurred.get(key) {
                makers.insert(key, at);
            }
            match self.rule_hits.get_mut(rule) {
                Some(n) => *n += 1,
                None => {
                    self.rule_hits.insert(rule.to_string(), 1);
                }
            }
        }
        self.alerts
            .extend(makers.into_values().map(|at| (at, arrived_at_ms)));
    }

    /// Counts it all; `now_ms` is when the commit became durable.
    pub(super) fn record(self, m: &Metrics, now_ms: i64) {
        let secs = |from: i64| now_ms.saturating_sub(from).max(0) as f64 / 1000.0;
        if !self.alerts.is_empty() {
            let event = m.alert_to_task_seconds.get_or_create(&kind("event"));
            for (at, _) in &self.alerts {
                event.observe(secs(*at));
            }
        }
        if !self.alerts.is_empty() {
            let arrival = m.alert_to_task_seconds.get_or_create(&kind("arrival"));
            for (_, at) in &self.alerts {
                arrival.observe(secs(*at));
            }
        }
        for (rule, n) in self.rule_hits {
            m.rule_hits.get_or_create(&RuleLabel { rule }).inc_by(n);
        }
    }
}

/// Overdue and re-notified events among `events`.
pub(super) fn escalation_counts(events: &[TaskEventRecord]) -> (u64, u64) {
    events.iter().fold((0, 0), |(o, r), e| match e.kind {
        TaskEventKind::Overdue => (o + 1, r),
        TaskEventKind::Renotified => (o, r + 1),
        _ => (o, r),
    })
}

/// Counts a durable commit's escalation events, `(overdue, renotified)`.
pub(super) fn count_escalations(m: &Metrics, (overdue, renotified): (u64, u64)) {
    for (name, n) in [("overdue", overdue), ("renotified", renotified)] {
        if n > 0 {
            m.escalations.get_or_create(&kind(name)).inc_by(n);
        }
    }
}

fn kind(name: &str) -> KindLabel {
    KindLabel { kind: name.into() }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl WriterThread {
    /// Sets open tasks by status and level (every combination, zeros too)
    /// and the overdue ones, from the writer's open tasks at `now_ms`.
    pub fn task_gauges(&self, now_ms: i64) {
        let mut counts = [[0i64; LEVELS.len()]; STATUSES.len()];
        let mut overdue = 0;
        for t in self.writer.open_tasks() {
            let status = match t.status {
                TaskStatus::Open => 0,
                TaskStatus::Acknowledged => 1,
                TaskStatus::InProgress => 2,
                TaskStatus::Done => continue,
            };
            let level = match t.level {
                Level::High => 0,
                Level::Medium => 1,
                Level::Low => 2,
            };
            counts[status][level] += 1;
            if binding_due(t).0 < now_ms {
                overdue += 1;
            }
        }
        for (status, row) in STATUSES.iter().zip(counts) {
            for (level, n) in LEVELS.iter().zip(row) {
                let labels = TaskLabels {
                    status: (*status).into(),
                    level: (*level).into(),
                };
                self.metrics.open_tasks.get_or_create(&labels).set(n);
            }
        }
        self.metrics.overdue_tasks.set(overdue);
    }

    /// Sets the sliding windows held and the graph's nodes and links.
    pub fn size_gauges(&self) {
        let m = &self.metrics;
        m.windows.set(gauge_value(self.writer.window_count()));
        let g = self.writer.graph();
        m.graph_nodes.set(gauge_value(g.node_count()));
        m.graph_links.set(gauge_value(g.link_count()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoredAlert;

    fn event(kind: TaskEventKind, reasons: &[(&str, &str)]) -> TaskEventRecord {
        let mut task = crate::model::task_delta::tests::task();
        task.reasons = crate::model::task_delta::tests::reasons(reasons);
        TaskEventRecord {
            seq: 1,
            kind,
            task,
            delta: None,
        }
    }

    fn alert(key: &str, at: i64) -> StoredAlert {
        StoredAlert {
            key: key.into(),
            record: Vec::new(),
            digest: Default::default(),
            occurred_at_ms: at,
            suspect: true,
        }
    }

    #[test]
    fn each_hit_of_a_pair_counts_once_and_earlier_alerts_not_at_all() {
        let c = Commit {
            alerts: vec![alert("s/2", 1_000)],
            events: vec![
                // Both tasks of the pair joined by s/2; s/1 came in an earlier batch.
                event(TaskEventKind::Merged, &[("r1", "s/1"), ("r2", "s/2")]),
                event(TaskEventKind::Merged, &[("r1", "s/1"), ("r2", "s/2")]),
                event(TaskEventKind::Acknowledged, &[("r3", "s/2")]),
            ],
            ..Commit::default()
        };
        let mut f = MadeFigures::default();
        f.add(&c, 2_000);
        assert_eq!(f.rule_hits.len(), 1);
        assert_eq!(f.rule_hits.get("r2"), Some(&1));
        assert_eq!(f.alerts, vec![(1_000, 2_000)]);
        let m = Metrics::new();
        f.record(&m, 3_000);
        let text = m.render();
        assert!(
            text.contains("dualwarn_rule_hits_total{rule=\"r2\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("dualwarn_alert_to_task_seconds_sum{kind=\"event\"} 2.0"),
            "{text}"
        );
    }

    #[test]
    fn escalations_count_by_kind() {
        let events = [
            event(TaskEventKind::Overdue, &[]),
            event(TaskEventKind::Overdue, &[]),
            event(TaskEventKind::Renotified, &[]),
            event(TaskEventKind::Merged, &[]),
        ];
        assert_eq!(escalation_counts(&events), (2, 1));
    }
}
