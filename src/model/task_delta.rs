//! How a task changes, and how much of its past it keeps.
//!
//! A person who keeps matching must not grow their task without bound:
//! *dispatch* and the writer change a task only through a [`TaskDelta`],
//! and [`TaskDelta::apply`] keeps the first and the last [`KEEP_EACH_END`]
//! merged alert keys, reasons and merge entries of the history, counting
//! the rest. Lifecycle steps (created, escalated, signed, outcome) are kept
//! whole. The *store* keeps the delta as the event, and applies the same
//! function to rebuild a task as it stood after any event, so the rebuilt
//! task is exactly the one the writer had.

use serde::{Deserialize, Serialize};

use super::lifecycle::FollowUp;
use super::task::{HistoryEntry, Level, Outcome, Reason, Task, TaskEventKind, TaskStatus};
use crate::rules::Method;

/// Items kept at each end of a task's alert keys, reasons and merge
/// entries: the first ones say how it began, the last ones what is new.
pub const KEEP_EACH_END: usize = 16;

/// The fields one event changed, and what it appended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDelta {
    /// New level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// New due time, unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at_ms: Option<i64>,
    /// New status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
    /// New method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// The outcome reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The alert merged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_key: Option<String>,
    /// Reasons added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// A follow-up round scheduled (a new round) or done (its round again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
    /// How far overdue work is now escalated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated: Option<super::escalation::Escalated>,
    /// A transfer asked (`Some(Some)`) or decided (`Some(None)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<Option<super::transfer::Transfer>>,
    /// Where an approved transfer moved the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<super::transfer::Routing>,
    /// Publicity given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publicity: Option<super::publicity::PublicityRecord>,
    /// The history entry of the event (every event writes one).
    pub history: HistoryEntry,
}

impl TaskDelta {
    /// A change that only records `history`.
    pub fn new(history: HistoryEntry) -> TaskDelta {
        TaskDelta {
            level: None,
            due_at_ms: None,
            status: None,
            method: None,
            outcome: None,
            alert_key: None,
            reasons: Vec::new(),
            follow_up: None,
            escalated: None,
            transfer: None,
            routing: None,
            publicity: None,
            history,
        }
    }

    /// Applies the change to `task`, keeping its lists bounded.
    pub fn apply(&self, task: &mut Task) {
        if let Some(v) = self.level {
            task.level = v;
        }
        if let Some(v) = self.due_at_ms {
            task.due_at_ms = v;
        }
        if let Some(v) = self.status {
            task.status = v;
        }
        if let Some(v) = self.method {
            task.method = v;
        }
        if let Some(v) = &self.outcome {
            task.outcome = Some(v.clone());
        }
        if let Some(k) = &self.alert_key {
            push_bounded(
                &mut task.alert_keys,
                &mut task.alert_keys_omitted,
                k.clone(),
            );
        }
        for r in &self.reasons {
            push_bounded(&mut task.reasons, &mut task.reasons_omitted, r.clone());
        }
        if let Some(v) = self.escalated {
            task.escalated = v;
        }
        if let Some(v) = &self.transfer {
            task.transfer = v.clone();
        }
        if let Some(r) = &self.routing {
            task.division = r.division;
            task.police_station = r.police_station.clone();
            task.police_area = r.police_area.clone();
            task.grid_id = r.grid_id.clone();
            task.assignee = r.assignee.clone();
        }
        if let Some(p) = &self.publicity {
            task.publicity.push(p.clone());
        }
        if let Some(f) = &self.follow_up {
            match task.follow_ups.iter_mut().find(|x| x.round == f.round) {
                Some(x) => *x = f.clone(),
                None => task.follow_ups.push(f.clone()),
            }
        }
        push_history(task, self.history.clone());
    }
}

/// Appends `item`, dropping the oldest of the last ones when both ends are full.
fn push_bounded<T>(list: &mut Vec<T>, omitted: &mut u64, item: T) {
    if list.len() >= 2 * KEEP_EACH_END {
        list.remove(KEEP_EACH_END);
        *omitted += 1;
    }
    list.push(item);
}

/// Appends a history entry; only merge entries are bounded.
fn push_history(task: &mut Task, entry: HistoryEntry) {
    if entry.kind == TaskEventKind::Merged {
        let merges: Vec<usize> = task
            .history
            .iter()
            .enumerate()
            .filter(|(_, h)| h.kind == TaskEventKind::Merged)
            .map(|(i, _)| i)
            .collect();
        if merges.len() >= 2 * KEEP_EACH_END {
            task.history.remove(merges[KEEP_EACH_END]);
            task.merges_omitted += 1;
        }
    }
    task.history.push(entry);
}

impl Task {
    /// Events this task has had (each writes one history entry).
    pub fn event_count(&self) -> u64 {
        self.history.len() as u64 + self.merges_omitted
    }

    /// The version a console write must name: one per event so far.
    pub fn version(&self) -> u64 {
        self.event_count()
    }

    /// Alerts merged into the task, omitted ones included.
    pub fn alert_total(&self) -> u64 {
        self.alert_keys.len() as u64 + self.alert_keys_omitted
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::directory::{DivisionCode, Person};
    use crate::model::Role;

    /// Reasons of (rule id, alert key), with no why.
    pub(crate) fn reasons(of: &[(&str, &str)]) -> Vec<crate::model::Reason> {
        of.iter()
            .map(|(rule, key)| crate::model::Reason {
                rule_id: (*rule).into(),
                why: String::new(),
                alert_key: (*key).into(),
            })
            .collect()
    }

    pub(crate) fn task() -> Task {
        Task {
            id: "P1-police".into(),
            pair_id: "P1".into(),
            role: Role::PoliceOfficer,
            division: DivisionCode::parse("520102001001").unwrap(),
            police_station: String::new(),
            police_area: String::new(),
            grid_id: String::new(),
            assignee: Person {
                id: "o1".into(),
                name: "officer".into(),
            },
            subject_phone_masked: String::new(),
            subject_name_masked: String::new(),
            subject_address_masked: String::new(),
            subject_key: String::new(),
            level: Level::Low,
            fraud_type: String::new(),
            reasons: Vec::new(),
            created_at_ms: 0,
            due_at_ms: 0,
            status: TaskStatus::Open,
            alert_keys: vec!["s/0".into()],
            history: vec![entry(TaskEventKind::Created, 0)],
            outcome: None,
            rule_set_version: String::new(),
            method: Method::Phone,
            series_id: String::new(),
            alert_keys_omitted: 0,
            reasons_omitted: 0,
            merges_omitted: 0,
            follow_ups: Vec::new(),
            escalated: Default::default(),
            transfer: None,
            publicity: Vec::new(),
            brief: None,
            steps_due: Default::default(),
        }
    }

    fn entry(kind: TaskEventKind, at_ms: i64) -> HistoryEntry {
        HistoryEntry {
            at_ms,
            actor: "engine".into(),
            kind,
            detail: String::new(),
        }
    }

    fn merge(i: i64) -> TaskDelta {
        TaskDelta {
            alert_key: Some(format!("s/{i}")),
            reasons: vec![Reason {
                rule_id: "r".into(),
                why: String::new(),
                alert_key: format!("s/{i}"),
            }],
            ..TaskDelta::new(entry(TaskEventKind::Merged, i))
        }
    }

    #[test]
    fn a_task_keeps_both_ends_and_counts_the_middle() {
        let mut t = task();
        for i in 1..=10_000 {
            merge(i).apply(&mut t);
        }
        assert_eq!(t.alert_keys.len(), 2 * KEEP_EACH_END);
        assert_eq!(t.alert_total(), 10_001);
        assert_eq!(t.alert_keys[0], "s/0");
        assert_eq!(t.alert_keys.last().unwrap(), "s/10000");
        assert_eq!(t.alert_keys[KEEP_EACH_END], format!("s/{}", 10_001 - 16));
        assert_eq!(t.reasons.len() as u64 + t.reasons_omitted, 10_000);
        assert_eq!(t.event_count(), 10_001);
        assert_eq!(t.history[0].kind, TaskEventKind::Created);
        assert_eq!(t.history.len(), 1 + 2 * KEEP_EACH_END);
    }

    #[test]
    fn lifecycle_steps_are_never_dropped() {
        let mut t = task();
        for i in 1..=100 {
            merge(i).apply(&mut t);
        }
        TaskDelta {
            status: Some(TaskStatus::Acknowledged),
            ..TaskDelta::new(entry(TaskEventKind::Acknowledged, 101))
        }
        .apply(&mut t);
        for i in 102..=300 {
            merge(i).apply(&mut t);
        }
        let kinds: Vec<_> = t.history.iter().map(|h| h.kind).collect();
        assert_eq!(kinds[0], TaskEventKind::Created);
        assert!(kinds.contains(&TaskEventKind::Acknowledged));
        assert_eq!(
            kinds
                .iter()
                .filter(|k| **k == TaskEventKind::Merged)
                .count(),
            2 * KEEP_EACH_END
        );
        assert_eq!(t.event_count(), 301);
    }

    proptest! {
        /// Whatever the merges, the task is bounded and every count adds up.
        #[test]
        fn bounded_lists_hold_their_invariants(reasons in prop::collection::vec(0usize..40, 1..300)) {
            let mut t = task();
            let mut total_reasons = 0u64;
            for (i, n) in reasons.iter().enumerate() {
                let mut d = merge(i as i64 + 1);
                d.reasons = (0..*n).map(|j| Reason { rule_id: format!("r{j}"), why: String::new(), alert_key: String::new() }).collect();
                total_reasons += *n as u64;
                d.apply(&mut t);
            }
            prop_assert!(t.alert_keys.len() <= 2 * KEEP_EACH_END);
            prop_assert!(t.reasons.len() <= 2 * KEEP_EACH_END);
            prop_assert!(t.history.len() <= 1 + 2 * KEEP_EACH_END);
            prop_assert_eq!(t.alert_total(), reasons.len() as u64 + 1);
            prop_assert_eq!(t.reasons.len() as u64 + t.reasons_omitted, total_reasons);
            prop_assert_eq!(t.event_count(), reasons.len() as u64 + 1);
        }
    }
}
