//! The counts and rates every report shares. Definitions, as the README's
//! "Daily list and supervision" section gives them:
//!
//! - on-time rate (按时办结率) = closed by the deadline ÷ (closed + overdue);
//!   a task still open before its deadline is not counted yet.
//! - reached rate (见面/联系率) = outcome reports that reached the person or a
//!   relative ÷ outcome reports.
//! - 劝阻成功率 = 已劝阻 ÷ (已劝阻 + 已被骗 + 确实找不到): of the people the
//!   warning was really about, the share stopped. 不符 and 重复预警 are not
//!   about a victim and are left out.
//! - 已被骗 after warning = outcome 已被骗 on a warned person.

use super::facts::{self, Timeliness};
use crate::model::{OutcomeCode, Task};

/// Counts over a set of tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Tasks counted.
    pub tasks: u64,
    /// Closed (办结).
    pub closed: u64,
    /// Closed by the deadline.
    pub on_time: u64,
    /// Closed after the deadline.
    pub late: u64,
    /// Open past the deadline (逾期).
    pub overdue: u64,
    /// With an outcome report.
    pub reported: u64,
    /// Reports that reached the person or a relative.
    pub reached: u64,
    /// 已劝阻.
    pub dissuaded: u64,
    /// 已被骗.
    pub defrauded: u64,
    /// 确实找不到.
    pub cannot_be_found: u64,
    /// 暂时找不到 (still open).
    pub not_found_yet: u64,
    /// 不符.
    pub mismatch: u64,
    /// 重复预警.
    pub duplicate: u64,
    /// Approved transfers (转办).
    pub transfers: u64,
    /// 受骗金额, fen.
    pub amount_lost_fen: i64,
    /// 劝阻金额, fen.
    pub amount_saved_fen: i64,
}

impl Tally {
    /// Counts `task` as it stands at `as_of_ms`.
    pub fn add(&mut self, task: &Task, as_of_ms: i64) {
        self.tasks += 1;
        match facts::timeliness(task, as_of_ms) {
            Timeliness::OnTime => {
                self.closed += 1;
                self.on_time += 1;
            }
            Timeliness::Late => {
                self.closed += 1;
                self.late += 1;
            }
            Timeliness::Overdue => self.overdue += 1,
            Timeliness::Pending => {}
        }
        if let Some(o) = &task.outcome {
            self.reported += 1;
            self.amount_lost_fen = self.amount_lost_fen.saturating_add(o.amount_lost_fen);
            self.amount_saved_fen = self.amount_saved_fen.saturating_add(o.amount_saved_fen);
        }
        self.reached += u64::from(facts::reached(task));
        match facts::code(task) {
            OutcomeCode::Dissuaded => self.dissuaded += 1,
            OutcomeCode::Defrauded => self.defrauded += 1,
            OutcomeCode::CannotBeFound => self.cannot_be_found += 1,
            OutcomeCode::NotFoundYet => self.not_found_yet += 1,
            OutcomeCode::Mismatch => self.mismatch += 1,
            OutcomeCode::Duplicate => self.duplicate += 1,
            OutcomeCode::Unspecified => {}
        }
        self.transfers += facts::transfers(task);
    }

    /// 按时办结率, `None` before any task is due or closed.
    pub fn on_time_rate(&self) -> Option<f64> {
        ratio(self.on_time, self.closed + self.overdue)
    }

    /// Share of outcome reports that reached the person or a relative.
    pub fn reached_rate(&self) -> Option<f64> {
        ratio(self.reached, self.reported)
    }

    /// 劝阻成功率.
    pub fn dissuasion_rate(&self) -> Option<f64> {
        ratio(
            self.dissuaded,
            self.dissuaded + self.defrauded + self.cannot_be_found,
        )
    }
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// A rate as people read it: `87.5%`, or `—` when there is nothing to divide.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |r| format!("{:.1}%", r * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::task_delta::tests::task;
    use crate::model::{HistoryEntry, Outcome, TaskEventKind, TaskStatus};

    fn reported(code: OutcomeCode, closed_at: i64, reached: &str) -> Task {
        let mut t = task();
        t.due_at_ms = 1_000;
        t.status = if code.closes() {
            TaskStatus::Done
        } else {
            TaskStatus::InProgress
        };
        t.history.push(HistoryEntry {
            at_ms: closed_at,
            actor: "w".into(),
            kind: TaskEventKind::Outcome,
            detail: code.label().into(),
        });
        t.outcome = Some(Outcome {
            code,
            reached: reached.into(),
            ..Outcome::default()
        });
        t
    }

    #[test]
    fn rates_follow_their_definitions() {
        let mut tally = Tally::default();
        tally.add(&reported(OutcomeCode::Dissuaded, 900, "person"), 5_000);
        tally.add(&reported(OutcomeCode::Dissuaded, 1_200, "relative"), 5_000);
        tally.add(&reported(OutcomeCode::Defrauded, 800, "person"), 5_000);
        tally.add(&reported(OutcomeCode::Mismatch, 700, "nobody"), 5_000);
        let mut open = task();
        open.due_at_ms = 1_000;
        tally.add(&open, 5_000);
        let mut ahead = task();
        ahead.due_at_ms = 9_000;
        tally.add(&ahead, 5_000);

        assert_eq!((tally.tasks, tally.closed, tally.overdue), (6, 4, 1));
        assert_eq!((tally.on_time, tally.late), (3, 1));
        assert_eq!(tally.on_time_rate(), Some(3.0 / 5.0));
        assert_eq!(tally.reached_rate(), Some(3.0 / 4.0));
        assert_eq!(tally.dissuasion_rate(), Some(2.0 / 3.0));
        assert_eq!(percent(tally.dissuasion_rate()), "66.7%");
        assert_eq!(percent(Tally::default().on_time_rate()), "—");
    }
}
