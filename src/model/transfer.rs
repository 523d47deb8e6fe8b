//! 转办 (transfer): "the person is not in my jurisdiction". The assignee
//! proposes the division code where the person is now; a unit above both
//! jurisdictions approves, and the pair moves to that village's officer and
//! grid worker, or refuses, and the pair stays. The deadline keeps running
//! from the pair's first creation, and the history keeps the whole path.
//! Pure: the placement is looked up by the caller, the clock passed in.

use serde::{Deserialize, Serialize};

use super::lifecycle::{StepError, sep};
use super::task::{HistoryEntry, Role, Task, TaskEventKind, TaskStatus};
use super::task_delta::TaskDelta;
use crate::directory::{DivisionCode, Placement};

/// A transfer waiting for a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Where the person is now: a 12-digit division code.
    pub to_division: String,
    /// Who asked.
    pub requested_by: String,
    /// When, unix ms.
    pub requested_at_ms: i64,
    /// Why (moved, works elsewhere...).
    pub reason: String,
}

/// Where a task goes when a transfer is approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    /// Village or community.
    pub division: DivisionCode,
    /// Police station id.
    pub police_station: String,
    /// Police area id.
    pub police_area: String,
    /// Grid id.
    pub grid_id: String,
    /// The new assignee.
    pub assignee: crate::directory::Person,
}

impl Routing {
    /// The routing of `role`'s task in `placement`.
    pub fn of(placement: &Placement, role: Role) -> Routing {
        Routing {
            division: placement.division_code,
            police_station: placement.police_station.clone(),
            police_area: placement.police_area.clone(),
            grid_id: placement.grid_id.clone(),
            assignee: match role {
                Role::PoliceOfficer => placement.officer.clone(),
                Role::GridWorker => placement.grid_worker.clone(),
            },
        }
    }
}

fn check(task: &Task, based_on: u64) -> Result<(), StepError> {
    if based_on != task.version() {
        return Err(StepError::Stale {
            task: task.id.clone(),
            current: task.version(),
            based_on,
        });
    }
    if task.status == TaskStatus::Done {
        return Err(StepError::WrongState {
            task: task.id.clone(),
            status: "closed",
            why: "a closed task is not transferred",
        });
    }
    Ok(())
}

/// The change of asking to transfer `task` to `to`.
pub fn request(
    task: &Task,
    to: DivisionCode,
    reason: &str,
    based_on: u64,
    actor: &str,
    now_ms: i64,
) -> Result<TaskDelta, StepError> {
    check(task, based_on)?;
    if task.transfer.is_some() {
        return Err(StepError::WrongState {
            task: task.id.clone(),
            status: "waiting for a transfer decision",
            why: "one transfer at a time",
        });
    }
    if to == task.division {
        return Err(StepError::Invalid {
            field: "to_division_code",
            why: format!("{to} is the task's own village"),
        });
    }
    let reason = super::mask::bounded(reason.trim(), 200);
    if reason.is_empty() {
        return Err(StepError::Invalid {
            field: "reason",
            why: "say why the person is not in this jurisdiction".into(),
        });
    }
    Ok(TaskDelta {
        transfer: Some(Some(Transfer {
            to_division: to.to_string(),
            requested_by: actor.into(),
            requested_at_ms: now_ms,
            reason: reason.clone(),
        })),
        ..TaskDelta::new(HistoryEntry {
            at_ms: now_ms,
            actor: actor.into(),
            kind: TaskEventKind::TransferRequested,
            detail: format!("申请转办 {} → {to}: {reason}", task.division),
        })
    })
}

/// The change a decision makes to one task of the pair: `routing` when
/// approved (moved), `None` when refused (stays). The version is checked
/// on the task the decision names, not on its twin.
pub fn decide(
    task: &Task,
    routing: Option<Routing>,
    note: &str,
    based_on: Option<u64>,
    actor: &str,
    now_ms: i64,
) -> Result<TaskDelta, StepError> {
    if let Some(v) = based_on {
        check(task, v)?;
    }
    let Some(pending) = &task.transfer else {
        return Err(StepError::WrongState {
            task: task.id.clone(),
            status: "not waiting for a transfer",
            why: "there is no transfer to decide",
        });
    };
    let note = super::mask::bounded(note.trim(), 200);
    let (kind, detail) = match &routing {
        Some(r) => (
            TaskEventKind::TransferApproved,
            format!(
                "转办通过 {} → {} ({}){}",
                task.division,
                r.division,
                r.assignee.id,
                sep(&note)
            ),
        ),
        None => (
            TaskEventKind::TransferRefused,
            format!("转办不予通过 → {}{}", pending.to_division, sep(&note)),
        ),
    };
    let moved = routing.is_some();
    Ok(TaskDelta {
        transfer: Some(None),
        routing,
        // The new station hears of an overdue task afresh, and the new
        // assignee signs for it themselves.
        escalated: moved.then_some(super::escalation::Escalated::No),
        status: moved.then(|| reopened(task)).flatten(),
        ..TaskDelta::new(HistoryEntry {
            at_ms: now_ms,
            actor: actor.into(),
            kind,
            detail,
        })
    })
}

/// The change an approved transfer makes to the twin of the task that
/// asked: it moves along, with its own history entry.
pub fn follow(task: &Task, routing: Routing, actor: &str, now_ms: i64) -> TaskDelta {
    let detail = format!(
        "随同转办 {} → {} ({})",
        task.division, routing.division, routing.assignee.id
    );
    TaskDelta {
        transfer: Some(None),
        routing: Some(routing),
        escalated: Some(super::escalation::Escalated::No),
        status: reopened(task),
        ..TaskDelta::new(HistoryEntry {
            at_ms: now_ms,
            actor: actor.into(),
            kind: TaskEventKind::TransferApproved,
            detail,
        })
    }
}

/// A task signed for by its old assignee is open again for the new one.
fn reopened(task: &Task) -> Option<TaskStatus> {
    (task.status == TaskStatus::Acknowledged).then_some(TaskStatus::Open)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::task_delta::tests::task;

    fn to() -> DivisionCode {
        DivisionCode::parse("520103001001").unwrap()
    }

    #[test]
    fn a_request_then_an_approval_moves_the_task_and_keeps_its_deadline() {
        let mut t = task();
        t.due_at_ms = 777;
        request(&t, to(), "已搬家", t.version(), "w", 10)
            .unwrap()
            .apply(&mut t);
        assert_eq!(t.transfer.as_ref().unwrap().to_division, "520103001001");
        assert!(request(&t, to(), "again", t.version(), "w", 11).is_err());
        let routing = Routing {
            division: to(),
            police_station: "PS-2".into(),
            police_area: "PA-2".into(),
            grid_id: "G-2".into(),
            assignee: crate::directory::Person {
                id: "GW-2".into(),
                name: "新网格员".into(),
            },
        };
        decide(&t, Some(routing), "", Some(t.version()), "centre", 20)
            .unwrap()
            .apply(&mut t);
        assert_eq!((t.division, t.assignee.id.as_str()), (to(), "GW-2"));
        assert_eq!(t.due_at_ms, 777);
        assert!(t.transfer.is_none());
        let kinds: Vec<_> = t.history.iter().map(|h| h.kind).collect();
        assert_eq!(
            kinds,
            [
                TaskEventKind::Created,
                TaskEventKind::TransferRequested,
                TaskEventKind::TransferApproved
            ]
        );
    }

    #[test]
    fn a_refusal_keeps_the_task_where_it_was() {
        let mut t = task();
        let home = t.division;
        request(&t, to(), "外出务工", t.version(), "w", 10)
            .unwrap()
            .apply(&mut t);
        decide(&t, None, "核实仍在本辖区", Some(t.version()), "centre", 20)
            .unwrap()
            .apply(&mut t);
        assert_eq!(t.division, home);
        assert!(t.transfer.is_none());
        assert!(decide(&t, None, "", Some(t.version()), "c", 30).is_err());
    }

    #[test]
    fn a_request_needs_a_reason_and_another_village() {
        let t = task();
        assert!(matches!(
            request(&t, to(), " ", t.version(), "w", 1),
            Err(StepError::Invalid {
                field: "reason",
                ..
            })
        ));
        assert!(matches!(
            request(&t, t.division, "x", t.version(), "w", 1),
            Err(StepError::Invalid {
                field: "to_division_code",
                ..
            })
        ));
    }
}
