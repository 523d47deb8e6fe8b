//! The daily task list (每日任务清单) of one jurisdiction: one row per task
//! created on the local day, a summary by level and status, and the overdue
//! list. Built by folding tasks in store order; [`super::sheet`] writes it.

use super::facts::{self, Timeliness};
use super::figures::Tally;
use crate::model::calendar::local_time;
use crate::model::{Level, Role, Task, TaskStatus};

/// The task sheet's headers, in column order.
pub const HEADERS: [&str; 20] = [
    "任务编号",
    "预警等级",
    "角色",
    "诈骗类型",
    "村(社区)代码",
    "村(社区)",
    "网格",
    "派出所",
    "责任人",
    "预警对象",
    "派发时间",
    "截止时间",
    "签收时间",
    "办理步骤",
    "状态",
    "反馈结果",
    "是否按时",
    "命中规则",
    "串并案",
    "双宣传",
];

/// The publicity sheet's headers (宣传任务), in column order.
pub const PUBLICITY_HEADERS: [&str; 15] = [
    "任务编号",
    "角色",
    "诈骗类型",
    "村(社区)代码",
    "村(社区)",
    "责任人",
    "重点人群",
    "近期起数",
    "基线均值",
    "研判依据",
    "派发时间",
    "截止时间",
    "状态",
    "完成户数",
    "是否按时",
];

/// One row of the task sheet, cells in [`HEADERS`] order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The cells, as written.
    pub cells: [String; HEADERS.len()],
    /// How the task stood against its deadline.
    pub timeliness: Timeliness,
}

/// The daily list, ready to write.
#[derive(Clone, Debug)]
pub struct DailyList {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Division-code prefix it covers ("" = every jurisdiction).
    pub jurisdiction: String,
    /// When it was made, local `YYYY-MM-DD HH:MM`.
    pub generated_at: String,
    /// One per task of a pair, in store order (division code, then id).
    pub rows: Vec<Row>,
    /// One per publicity task (宣传任务), cells in [`PUBLICITY_HEADERS`] order.
    pub publicity: Vec<[String; PUBLICITY_HEADERS.len()]>,
    /// Every task.
    pub total: Tally,
    /// Per level, high first.
    pub by_level: Vec<(Level, Tally)>,
    /// Tasks per status, in life-cycle order.
    pub by_status: Vec<(TaskStatus, u64)>,
}

impl DailyList {
    /// The rows past their deadline and not closed.
    pub fn overdue(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| r.timeliness == Timeliness::Overdue)
    }
}

/// Folds tasks into a [`DailyList`].
pub struct DailyBuilder {
    list: DailyList,
    as_of_ms: i64,
    utc_offset_hours: i32,
}

impl DailyBuilder {
    /// A list for `day` of `jurisdiction`, as things stand at `as_of_ms`.
    pub fn new(day: &str, jurisdiction: &str, as_of_ms: i64, utc_offset_hours: i32) -> Self {
        DailyBuilder {
            list: DailyList {
                day: day.into(),
                jurisdiction: jurisdiction.into(),
                generated_at: local_time(as_of_ms, utc_offset_hours),
                rows: Vec::new(),
                publicity: Vec::new(),
                total: Tally::default(),
                by_level: [Level::High, Level::Medium, Level::Low]
                    .into_iter()
                    .map(|l| (l, Tally::default()))
                    .collect(),
                by_status: [
                    TaskStatus::Open,
                    TaskStatus::Acknowledged,
                    TaskStatus::InProgress,
                    TaskStatus::Done,
                ]
                .into_iter()
                .map(|s| (s, 0))
                .collect(),
            },
            as_of_ms,
            utc_offset_hours,
        }
    }

    /// Adds one task; `village` is its village's name.
    pub fn add(&mut self, task: &Task, village: &str) {
        let time = |ms: i64| local_time(ms, self.utc_offset_hours);
        if let Some(b) = &task.brief {
            let timeliness = facts::timeliness(task, self.as_of_ms);
            self.list.publicity.push([
                task.id.clone(),
                role_label(task.role).into(),
                task.fraud_type.clone(),
                task.division.to_string(),
                village.into(),
                task.assignee.name.clone(),
                b.group.clone(),
                b.window_count.to_string(),
                format!("{:.1}", b.baseline_mean_tenths as f64 / 10.0),
                b.why.clone(),
                time(task.created_at_ms),
                time(task.due_at_ms),
                status_label(task.status).into(),
                facts::households(task).to_string(),
                timeliness.label().into(),
            ]);
            return;
        }
        let l = &mut self.list;
        l.total.add(task, self.as_of_ms);
        if let Some((_, t)) = l.by_level.iter_mut().find(|(lv, _)| *lv == task.level) {
            t.add(task, self.as_of_ms);
        }
        if let Some((_, n)) = l.by_status.iter_mut().find(|(s, _)| *s == task.status) {
            *n += 1;
        }
        let timeliness = facts::timeliness(task, self.as_of_ms);
        let mut rules: Vec<&str> = Vec::new();
        for r in &task.reasons {
            if !rules.contains(&r.rule_id.as_str()) {
                rules.push(&r.rule_id);
            }
        }
        let cells = [
            task.id.clone(),
            level_label(task.level).into(),
            role_label(task.role).into(),
            task.fraud_type.clone(),
            task.division.to_string(),
            village.into(),
            task.grid_id.clone(),
            task.police_station.clone(),
            task.assignee.name.clone(),
            format!("{} {}", task.subject_name_masked, task.subject_phone_masked),
            time(task.created_at_ms),
            time(task.due_at_ms),
            facts::signed_at(task).map(time).unwrap_or_default(),
            facts::steps(task),
            status_label(task.status).into(),
            facts::code(task).label().into(),
            timeliness.label().into(),
            rules.join(","),
            task.series_id.clone(),
            facts::publicity(task),
        ];
        l.rows.push(Row { cells, timeliness });
    }

    /// The finished list.
    pub fn finish(self) -> DailyList {
        self.list
    }
}

/// 高 / 中 / 低 (the list colours them 红 / 黄 / 蓝).
pub fn level_label(level: Level) -> &'static str {
    match level {
        Level::High => "高",
        Level::Medium => "中",
        Level::Low => "低",
    }
}

/// 民警 / 网格员.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::PoliceOfficer => "民警",
        Role::GridWorker => "网格员",
    }
}

/// 待签收 / 已签收 / 办理中 / 已办结.
pub fn status_label(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Open => "待签收",
        TaskStatus::Acknowledged => "已签收",
        TaskStatus::InProgress => "办理中",
        TaskStatus::Done => "已办结",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::task_delta::tests::task;

    #[test]
    fn rows_summary_and_overdue_list_agree() {
        let mut b = DailyBuilder::new("2026-12-01", "520102", 10_000, 8);
        let mut late = task();
        late.due_at_ms = 5_000;
        late.level = Level::High;
        b.add(&late, "中华南路社区");
        let mut ahead = task();
        ahead.id = "p2-grid".into();
        ahead.due_at_ms = 50_000;
        ahead.level = Level::Low;
        b.add(&ahead, "中华南路社区");
        let list = b.finish();

        assert_eq!(list.rows.len(), 2);
        assert_eq!(list.rows[0].cells[1], "高");
        assert_eq!(list.rows[0].cells[5], "中华南路社区");
        assert_eq!(list.rows[0].cells[16], "逾期未办结");
        assert_eq!(list.overdue().count(), 1);
        assert_eq!(list.total.tasks, 2);
        assert_eq!(list.by_level[0].1.overdue, 1);
        assert_eq!(list.by_level[2].1.tasks, 1);
        assert_eq!(list.by_status[0], (TaskStatus::Open, 2));
    }
}
