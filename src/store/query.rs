//! Task list queries: the filter every backend applies, and the page.

use crate::model::{Level, Role, Task, TaskStatus};

/// A console's task list filter.
#[derive(Clone, Debug, Default)]
pub struct TaskQuery {
    /// Division-code prefix.
    pub prefix: String,
    /// Only this role.
    pub role: Option<Role>,
    /// Only this status.
    pub status: Option<TaskStatus>,
    /// Only this level.
    pub level: Option<Level>,
    /// Only tasks created in `[start, end)` unix ms (a local day).
    pub created_between: Option<(i64, i64)>,
    /// Only tasks not done whose binding deadline passed before this time, unix ms.
    pub overdue_at: Option<i64>,
    /// Page size.
    pub page_size: usize,
    /// Continue after this token.
    pub page_token: Option<String>,
}

/// One page of tasks.
#[derive(Clone, Debug, Default)]
pub struct TaskPage {
    /// Tasks in stable order.
    pub tasks: Vec<Task>,
    /// Token for the next page; `None` on the last.
    pub next_page_token: Option<String>,
}

impl TaskQuery {
    /// True when `task` passes every filter but the prefix.
    pub fn matches(&self, task: &Task) -> bool {
        self.role.is_none_or(|r| r == task.role)
            && self.status.is_none_or(|s| s == task.status)
            && self.level.is_none_or(|l| l == task.level)
            && self
                .created_between
                .is_none_or(|(a, b)| task.created_at_ms >= a && task.created_at_ms < b)
            && self.overdue_at.is_none_or(|now| {
                task.status != crate::model::TaskStatus::Done
                    && crate::model::escalation::binding_due(task).0 < now
            })
    }
}

/// The stable sort key of a task: division code, then id.
pub fn order_key(task: &Task) -> String {
    format!("{}/{}", task.division, task.id)
}
