//! What one task says, read off its status, deadline, outcome and history:
//! when it was signed for and closed, whether on time, whether the person
//! was reached. The reports count these; they never look at a task otherwise.

use crate::model::{OutcomeCode, Task, TaskEventKind, TaskStatus};

/// How a task stands against its deadline at the report time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeliness {
    /// Closed by its deadline.
    OnTime,
    /// Closed after its deadline.
    Late,
    /// Not closed, and the deadline has passed (逾期).
    Overdue,
    /// Not closed, deadline still ahead.
    Pending,
}

impl Timeliness {
    /// As the daily list writes it.
    pub fn label(self) -> &'static str {
        match self {
            Timeliness::OnTime => "按时",
            Timeliness::Late => "超时",
            Timeliness::Overdue => "逾期未办结",
            Timeliness::Pending => "未到期",
        }
    }
}

/// When the task was first signed for (签收), if it was.
pub fn signed_at(task: &Task) -> Option<i64> {
    task.history
        .iter()
        .find(|h| h.kind == TaskEventKind::Acknowledged)
        .map(|h| h.at_ms)
}

/// When the task was closed: the last outcome of a task that is done (the
/// last publicity work, for a publicity task).
pub fn closed_at(task: &Task) -> Option<i64> {
    if task.status != TaskStatus::Done {
        return None;
    }
    let closing = if task.brief.is_some() {
        TaskEventKind::Publicized
    } else {
        TaskEventKind::Outcome
    };
    task.history
        .iter()
        .rev()
        .find(|h| h.kind == closing)
        .map(|h| h.at_ms)
}

/// The publicity given on a pair's task (双宣传), as the list writes it:
/// `上门已完成; 村群未完成`, or `未宣传`.
pub fn publicity(task: &Task) -> String {
    if task.publicity.is_empty() {
        return "未宣传".into();
    }
    task.publicity
        .iter()
        .map(|p| {
            format!(
                "{}{}",
                p.method.label(),
                if p.done { "已完成" } else { "未完成" }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Households reached by a publicity task's work.
pub fn households(task: &Task) -> u64 {
    task.publicity
        .iter()
        .filter(|p| p.done)
        .map(|p| u64::from(p.households))
        .sum()
}

/// The task against its deadline at `as_of_ms`.
pub fn timeliness(task: &Task, as_of_ms: i64) -> Timeliness {
    match closed_at(task) {
        Some(at) if at <= task.due_at_ms => Timeliness::OnTime,
        Some(_) => Timeliness::Late,
        None if task.due_at_ms < as_of_ms => Timeliness::Overdue,
        None => Timeliness::Pending,
    }
}

/// The reported outcome code, `Unspecified` when none was reported.
pub fn code(task: &Task) -> OutcomeCode {
    task.outcome
        .as_ref()
        .map_or(OutcomeCode::Unspecified, |o| o.code)
}

/// True when the report says the person or a relative was reached.
pub fn reached(task: &Task) -> bool {
    task.outcome
        .as_ref()
        .is_some_and(|o| o.reached == "person" || o.reached == "relative")
}

/// Approved transfers (转办) in the task's path.
pub fn transfers(task: &Task) -> u64 {
    task.history
        .iter()
        .filter(|h| h.kind == TaskEventKind::TransferApproved)
        .count() as u64
}

/// The steps taken, in order, as the list writes them: 签收 → 电话(接通) → 上门 → 反馈 → 回访.
pub fn steps(task: &Task) -> String {
    let mut out: Vec<String> = Vec::new();
    for h in &task.history {
        let step = match h.kind {
            TaskEventKind::Acknowledged => "签收".to_string(),
            TaskEventKind::Called if h.detail.starts_with("接通") => "电话(接通)".into(),
            TaskEventKind::Called => "电话(未接通)".into(),
            TaskEventKind::Visited => "上门".into(),
            TaskEventKind::Outcome => format!("反馈({})", h.detail.split(';').next().unwrap_or("")),
            TaskEventKind::FollowUpDone => "回访".into(),
            TaskEventKind::TransferApproved => "转办".into(),
            TaskEventKind::Publicized => "宣传".into(),
            _ => continue,
        };
        out.push(step);
    }
    out.join("→")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::task_delta::tests::task;
    use crate::model::{HistoryEntry, Outcome};

    fn entry(kind: TaskEventKind, at_ms: i64, detail: &str) -> HistoryEntry {
        HistoryEntry {
            at_ms,
            actor: "w".into(),
            kind,
            detail: detail.into(),
        }
    }

    #[test]
    fn a_task_closed_by_its_deadline_is_on_time_and_after_it_late() {
        let mut t = task();
        t.due_at_ms = 1_000;
        assert_eq!(timeliness(&t, 500), Timeliness::Pending);
        assert_eq!(timeliness(&t, 2_000), Timeliness::Overdue);
        t.status = TaskStatus::Done;
        t.history
            .push(entry(TaskEventKind::Outcome, 900, "已劝阻; reached person"));
        assert_eq!(timeliness(&t, 2_000), Timeliness::OnTime);
        t.history
            .push(entry(TaskEventKind::Outcome, 1_500, "已劝阻"));
        assert_eq!(timeliness(&t, 2_000), Timeliness::Late);
        assert_eq!(closed_at(&t), Some(1_500));
    }

    #[test]
    fn steps_read_the_history_in_order() {
        let mut t = task();
        t.history.push(entry(TaskEventKind::Acknowledged, 1, ""));
        t.history
            .push(entry(TaskEventKind::Called, 2, "未接通: 关机"));
        t.history.push(entry(TaskEventKind::Visited, 3, "见面"));
        t.history
            .push(entry(TaskEventKind::Outcome, 4, "已劝阻; reached person"));
        assert_eq!(steps(&t), "签收→电话(未接通)→上门→反馈(已劝阻)");
        assert_eq!(signed_at(&t), Some(1));
        assert!(!reached(&t));
        t.outcome = Some(Outcome {
            reached: "relative".into(),
            ..Outcome::default()
        });
        assert!(reached(&t));
    }
}
