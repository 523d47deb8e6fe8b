//! Overdue work (逾期) and forgotten work: when a task passes its deadline it
//! is escalated first to its police station, then to its county centre;
//! when it was signed for but shows no step for a while, it is re-notified.
//! [`due`] says what is due for one task at a time: pure, with the clock
//! passed in. Each escalation is recorded on the task, so that it fires
//! once, also when the engine was down at the time and catches up at start.

use serde::{Deserialize, Serialize};

use super::task::{HistoryEntry, Task, TaskEventKind, TaskStatus};
use super::task_delta::TaskDelta;

/// When escalations fire, relative to the task's deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationPolicy {
    /// After the deadline, the station is told (0 = at the deadline).
    pub to_station_after_ms: i64,
    /// After the deadline, the county centre is told.
    pub to_centre_after_ms: i64,
    /// Signed for with no step since for this long: re-notify; 0 = never.
    pub stalled_after_ms: i64,
}

/// How far a task's overdue work has been escalated.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Escalated {
    /// Not overdue, or not yet told anyone.
    #[default]
    No,
    /// The police station was told.
    Station,
    /// The county centre was told.
    Centre,
}

/// Step deadlines of one task (电话 and 上门 by when), snapshotted from the
/// `[[deadlines.steps]]` policy when the task is made; 0 = no such deadline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepsDue {
    /// Phone the person by, unix ms.
    pub call_by_ms: i64,
    /// Visit by, unix ms.
    pub visit_by_ms: i64,
    /// The policy as it was: `high/police: call 10m, visit 30m (520102)`.
    pub policy: String,
}

/// The deadline that binds `task` now: its own, or an earlier step's that
/// is not done yet (no call by `call_by_ms`, no visit by `visit_by_ms`),
/// and which step that is. Once an outcome is reported the steps are moot.
pub fn binding_due(task: &Task) -> (i64, &'static str) {
    let mut due = (task.due_at_ms, "办结");
    if task.outcome.is_some() {
        return due;
    }
    let done = |kind| task.history.iter().any(|h| h.kind == kind);
    let s = &task.steps_due;
    if s.call_by_ms > 0 && s.call_by_ms < due.0 && !done(TaskEventKind::Called) {
        due = (s.call_by_ms, "电话");
    }
    if s.visit_by_ms > 0 && s.visit_by_ms < due.0 && !done(TaskEventKind::Visited) {
        due = (s.visit_by_ms, "上门");
    }
    due
}

/// The actor of engine-made changes.
const ACTOR: &str = super::task::ENGINE_ACTOR;

/// The next escalation due for `task` at `now_ms`, as a change and its event
/// kind; `None` when nothing is due. Call again after applying it: a task
/// overdue for long gets the station's and then the centre's, once each.
pub fn due(
    task: &Task,
    policy: &EscalationPolicy,
    now_ms: i64,
) -> Option<(TaskEventKind, TaskDelta)> {
    if task.status == TaskStatus::Done {
        return None;
    }
    let (binding, step_name) = binding_due(task);
    let late = now_ms.saturating_sub(binding);
    let entry = |kind, detail: String| HistoryEntry {
        at_ms: now_ms,
        actor: ACTOR.into(),
        kind,
        detail,
    };
    let step = match task.escalated {
        Escalated::No if late >= policy.to_station_after_ms => Some((
            Escalated::Station,
            format!(
                "{step_name}逾期 {} 分钟: 升级至派出所 {}",
                late / 60_000,
                task.police_station
            ),
        )),
        Escalated::Station if late >= policy.to_centre_after_ms => Some((
            Escalated::Centre,
            format!(
                "{step_name}逾期 {} 分钟: 升级至县级反诈中心 {}",
                late / 60_000,
                task.division.county()
            ),
        )),
        _ => None,
    };
    if let Some((to, detail)) = step {
        let delta = TaskDelta {
            escalated: Some(to),
            ..TaskDelta::new(entry(TaskEventKind::Overdue, detail))
        };
        return Some((TaskEventKind::Overdue, delta));
    }
    // Signed for and forgotten: the last step by a person is the signature,
    // long ago, and nobody was reminded since.
    let signed_at = stalled_since(task, policy)?;
    let quiet = now_ms.saturating_sub(signed_at);
    if quiet < policy.stalled_after_ms {
        return None;
    }
    let delta = TaskDelta::new(entry(
        TaskEventKind::Renotified,
        format!("已签收 {} 分钟无进展: 再次提醒", quiet / 60_000),
    ));
    Some((TaskEventKind::Renotified, delta))
}

/// The earliest time at which [`due`] has something for `task` as it
/// stands: the wake-up key of the store's deadline index, so that a check
/// reads only the tasks that are due instead of scanning every open one.
/// `None` when nothing can fall due without a change to the task.
pub fn next_due_at(task: &Task, policy: &EscalationPolicy) -> Option<i64> {
    if task.status == TaskStatus::Done {
        return None;
    }
    let (binding, _) = binding_due(task);
    let overdue = match task.escalated {
        Escalated::No => Some(binding.saturating_add(policy.to_station_after_ms)),
        Escalated::Station => Some(binding.saturating_add(policy.to_centre_after_ms)),
        Escalated::Centre => None,
    };
    let stalled = stalled_since(task, policy)
        .map(|signed_at| signed_at.saturating_add(policy.stalled_after_ms));
    match (overdue, stalled) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// When the task was signed for, if it is signed, shows no step since, was
/// not reminded since, and reminders are on: the start of its quiet time.
fn stalled_since(task: &Task, policy: &EscalationPolicy) -> Option<i64> {
    if task.status != TaskStatus::Acknowledged || policy.stalled_after_ms <= 0 {
        return None;
    }
    let i = task
        .history
        .iter()
        .rposition(|h| h.actor != ACTOR && h.kind != TaskEventKind::Created)?;
    let signed = &task.history[i];
    let reminded = task.history[i..]
        .iter()
        .any(|h| h.kind == TaskEventKind::Renotified);
    (signed.kind == TaskEventKind::Acknowledged && !reminded).then_some(signed.at_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::task_delta::tests::task;

    const MIN: i64 = 60_000;
    const POLICY: EscalationPolicy = EscalationPolicy {
        to_station_after_ms: 0,
        to_centre_after_ms: 30 * MIN,
        stalled_after_ms: 60 * MIN,
    };

    fn all_due(t: &mut Task, now: i64) -> Vec<TaskEventKind> {
        let mut kinds = Vec::new();
        while let Some((k, d)) = due(t, &POLICY, now) {
            d.apply(t);
            kinds.push(k);
        }
        kinds
    }

    #[test]
    fn an_undone_step_binds_before_the_task_deadline() {
        let mut t = task();
        t.due_at_ms = 120 * MIN;
        t.steps_due = StepsDue {
            call_by_ms: 10 * MIN,
            visit_by_ms: 30 * MIN,
            policy: String::new(),
        };
        assert_eq!(binding_due(&t), (10 * MIN, "电话"));
        t.history.push(HistoryEntry {
            at_ms: 5 * MIN,
            actor: "officer".into(),
            kind: TaskEventKind::Called,
            detail: "接通".into(),
        });
        assert_eq!(binding_due(&t), (30 * MIN, "上门"));
        t.outcome = Some(Default::default());
        assert_eq!(binding_due(&t), (120 * MIN, "办结"));
    }

    #[test]
    fn nothing_before_the_deadline_then_station_then_centre_once_each() {
        let mut t = task();
        t.due_at_ms = 100 * MIN;
        assert!(all_due(&mut t, 99 * MIN).is_empty());
        assert_eq!(all_due(&mut t, 100 * MIN), [TaskEventKind::Overdue]);
        assert_eq!(t.escalated, Escalated::Station);
        assert!(all_due(&mut t, 110 * MIN).is_empty());
        assert_eq!(all_due(&mut t, 130 * MIN), [TaskEventKind::Overdue]);
        assert_eq!(t.escalated, Escalated::Centre);
        assert!(all_due(&mut t, 1_000 * MIN).is_empty());
    }

    #[test]
    fn a_long_outage_catches_up_with_both_escalations_at_once() {
        let mut t = task();
        t.due_at_ms = 100 * MIN;
        assert_eq!(
            all_due(&mut t, 500 * MIN),
            [TaskEventKind::Overdue, TaskEventKind::Overdue]
        );
        assert!(t.history.iter().any(|h| h.detail.contains("派出所")));
        assert!(t.history.iter().any(|h| h.detail.contains("县级")));
    }

    #[test]
    fn a_closed_task_is_never_escalated() {
        let mut t = task();
        t.status = TaskStatus::Done;
        assert!(all_due(&mut t, i64::MAX / 2).is_empty());
    }

    #[test]
    fn signed_and_forgotten_is_renotified_once() {
        let mut t = task();
        t.due_at_ms = 10_000 * MIN;
        TaskDelta {
            status: Some(TaskStatus::Acknowledged),
            ..TaskDelta::new(HistoryEntry {
                at_ms: 10 * MIN,
                actor: "w".into(),
                kind: TaskEventKind::Acknowledged,
                detail: String::new(),
            })
        }
        .apply(&mut t);
        assert!(all_due(&mut t, 69 * MIN).is_empty());
        assert_eq!(all_due(&mut t, 70 * MIN), [TaskEventKind::Renotified]);
        assert!(all_due(&mut t, 500 * MIN).is_empty());
    }

    fn arbitrary_task(
        due: i64,
        call_by: i64,
        visit_by: i64,
        escalated: u8,
        signed_at: Option<i64>,
        step_after: Option<(bool, i64)>,
    ) -> Task {
        let mut t = task();
        t.due_at_ms = due;
        t.steps_due = StepsDue {
            call_by_ms: call_by,
            visit_by_ms: visit_by,
            policy: String::new(),
        };
        t.escalated =
            [Escalated::No, Escalated::Station, Escalated::Centre][escalated as usize % 3];
        let push = |t: &mut Task, at_ms, actor: &str, kind, status| {
            TaskDelta {
                status: Some(status),
                ..TaskDelta::new(HistoryEntry {
                    at_ms,
                    actor: actor.into(),
                    kind,
                    detail: String::new(),
                })
            }
            .apply(t)
        };
        if let Some(at) = signed_at {
            push(
                &mut t,
                at,
                "w",
                TaskEventKind::Acknowledged,
                TaskStatus::Acknowledged,
            );
            match step_after {
                Some((true, d)) => push(
                    &mut t,
                    at + d,
                    ACTOR,
                    TaskEventKind::Renotified,
                    TaskStatus::Acknowledged,
                ),
                Some((false, d)) => push(
                    &mut t,
                    at + d,
                    "w",
                    TaskEventKind::Called,
                    TaskStatus::InProgress,
                ),
                None => {}
            }
        }
        t
    }

    proptest::proptest! {
        /// The deadline index wakes a task exactly when something is due:
        /// never after it (a missed escalation), never before (a wasted read).
        #[test]
        fn next_due_at_is_the_first_moment_anything_is_due(
            deadline in 0i64..1_000,
            call_by in 0i64..1_000,
            visit_by in 0i64..1_000,
            escalated in 0u8..3,
            signed_at in proptest::option::of(0i64..1_000),
            step_after in proptest::option::of((proptest::bool::ANY, 0i64..100)),
            now in 0i64..3_000,
            stalled in 0i64..300,
        ) {
            let policy = EscalationPolicy {
                to_station_after_ms: 0,
                to_centre_after_ms: 30,
                stalled_after_ms: stalled,
            };
            let t = arbitrary_task(deadline, call_by, visit_by, escalated, signed_at, step_after);
            let wake = next_due_at(&t, &policy);
            proptest::prop_assert_eq!(
                due(&t, &policy, now).is_some(),
                wake.is_some_and(|w| now >= w),
                "wake {:?} at {}", wake, now
            );
        }
    }
}
