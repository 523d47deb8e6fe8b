//! Task list queries: the filter every backend applies, and the page.
//!
//! Where it sits: the consoles list tasks through *store*. Every backend
//! lists in one stable order ([`order_key`]: division code, then task id),
//! hands out the order key of a page's last task as the next page token,
//! and fills a page the same way ([`page`]) from its own ordered index.

use super::StoreError;
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

impl TaskQuery {
    /// The order key the page starts at: the page token, or the prefix for
    /// a first page. A token outside the prefix is not one this query
    /// handed out.
    pub(super) fn start_key(&self) -> Result<&str, StoreError> {
        match &self.page_token {
            Some(t) if !t.starts_with(&self.prefix) => Err(StoreError::BadPageToken(t.clone())),
            Some(t) => Ok(t),
            None => Ok(&self.prefix),
        }
    }
}

/// One page of `q` from `keys`, the order keys at or after
/// [`TaskQuery::start_key`] in order; `read` fetches a task by id (`None`
/// when it is gone).
pub(super) fn page(
    q: &TaskQuery,
    keys: impl Iterator<Item = Result<String, StoreError>>,
    mut read: impl FnMut(&str) -> Result<Option<Task>, StoreError>,
) -> Result<TaskPage, StoreError> {
    let mut page = TaskPage::default();
    for key in keys {
        let key = key?;
        if !key.starts_with(&q.prefix) {
            break;
        }
        if q.page_token.as_deref() == Some(key.as_str()) {
            continue;
        }
        let id = key.split_once('/').map_or(key.as_str(), |(_, id)| id);
        let Some(task) = read(id)? else {
            continue;
        };
        if !q.matches(&task) {
            continue;
        }
        if page.tasks.len() == q.page_size {
            page.next_page_token = page.tasks.last().map(order_key);
            break;
        }
        page.tasks.push(task);
    }
    Ok(page)
}
