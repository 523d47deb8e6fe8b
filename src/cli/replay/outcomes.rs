//! Precision per rule from reported outcomes: the daily task list as CSV
//! (`dualwarn tasks daily --format csv`), one row per task. Three columns
//! are read, by header: 任务编号 (a task listed on several days counts
//! once, its last row winning), 反馈结果 and 命中规则 (rule ids, comma
//! separated). As in the supervision figures, 已劝阻 and 已被骗 are true
//! positives, 不符 a false positive, every other outcome neither; a task
//! counts once for each of its rules.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::model::OutcomeCode;

/// The columns read, as the daily list heads them.
const TASK_ID: &str = "任务编号";
const OUTCOME: &str = "反馈结果";
const RULES: &str = "命中规则";

/// One rule's reported outcomes.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RulePrecision {
    /// Tasks listing the rule.
    pub tasks: u64,
    /// Of them, 已劝阻 or 已被骗.
    pub true_positives: u64,
    /// Of them, 不符.
    pub false_positives: u64,
    /// TP ÷ (TP + FP); `None` with neither.
    pub precision: Option<f64>,
}

/// One task's row: its outcome label and rules.
type TaskRow = (String, Vec<String>);

/// Reads every file of `paths` and counts per rule.
pub fn read(paths: &[impl AsRef<Path>]) -> anyhow::Result<BTreeMap<String, RulePrecision>> {
    let mut tasks: HashMap<String, TaskRow> = HashMap::new();
    for p in paths {
        let p = p.as_ref();
        let f = std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
        rows(f, &mut tasks).with_context(|| format!("{} is not a daily task list", p.display()))?;
    }
    Ok(per_rule(tasks.into_values()))
}

/// Adds the rows of one CSV to `tasks`, by task id.
fn rows(input: impl Read, tasks: &mut HashMap<String, TaskRow>) -> anyhow::Result<()> {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = r.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            // The list starts with a byte-order mark, for Excel.
            .position(|h| h.trim_start_matches('\u{feff}').trim() == name)
            .with_context(|| format!("no column {name}"))
    };
    let (id, outcome, rules) = (column(TASK_ID)?, column(OUTCOME)?, column(RULES)?);
    for row in r.records() {
        let row = row?;
        let cell = |i: usize| row.get(i).unwrap_or("").trim();
        let listed = cell(rules)
            .split([',', '，'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        tasks.insert(cell(id).to_string(), (cell(outcome).to_string(), listed));
    }
    Ok(())
}

/// Counts the tasks per rule.
fn per_rule(tasks: impl Iterator<Item = TaskRow>) -> BTreeMap<String, RulePrecision> {
    let (tp, fp) = (
        [
            OutcomeCode::Dissuaded.label(),
            OutcomeCode::Defrauded.label(),
        ],
        OutcomeCode::Mismatch.label(),
    );
    let mut out: BTreeMap<String, RulePrecision> = BTreeMap::new();
    for (outcome, mut rules) in tasks {
        rules.sort();
        rules.dedup();
        for rule in rules {
            let f = out.entry(rule).or_default();
            f.tasks += 1;
            if tp.contains(&outcome.as_str()) {
                f.true_positives += 1;
            } else if outcome == fp {
                f.false_positives += 1;
            }
        }
    }
    for f in out.values_mut() {
        let judged = f.true_positives + f.false_positives;
        f.precision = (judged > 0).then(|| f.true_positives as f64 / judged as f64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::daily::HEADERS;

    /// A daily-list CSV with a BOM and the real headers; each row gives
    /// task id, outcome and rules, the other cells empty.
    fn list(rows: &[(&str, &str, &str)]) -> Vec<u8> {
        let col = |name: &str| HEADERS.iter().position(|h| *h == name).unwrap();
        let mut w = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
        w.write_record(HEADERS).unwrap();
        for (id, outcome, rules) in rows {
            let mut cells = vec![String::new(); HEADERS.len()];
            cells[col(TASK_ID)] = (*id).into();
            cells[col(OUTCOME)] = (*outcome).into();
            cells[col(RULES)] = (*rules).into();
            w.write_record(&cells).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn dissuaded_and_defrauded_are_true_mismatch_false_the_rest_neither() {
        let mut tasks = HashMap::new();
        let day1 = list(&[
            ("P1-police", "已劝阻", "r1,r2"),
            ("P1-grid", "不符", "r1,r2"),
            ("P2-police", "已被骗", "r1"),
            ("P3-police", "", "r2"),
            ("P4-police", "暂时找不到", "r1"),
        ]);
        rows(day1.as_slice(), &mut tasks).unwrap();
        // The next day's list has P3's outcome: its last row wins.
        rows(list(&[("P3-police", "不符", "r2")]).as_slice(), &mut tasks).unwrap();
        let f = per_rule(tasks.into_values());

        let r1 = &f["r1"];
        assert_eq!((r1.tasks, r1.true_positives, r1.false_positives), (4, 2, 1));
        assert_eq!(r1.precision, Some(2.0 / 3.0));
        let r2 = &f["r2"];
        assert_eq!((r2.tasks, r2.true_positives, r2.false_positives), (3, 1, 2));
        assert_eq!(r2.precision, Some(1.0 / 3.0));
    }

    #[test]
    fn a_file_without_the_columns_is_refused_by_name() {
        let mut tasks = HashMap::new();
        let err = rows("a,b\n1,2\n".as_bytes(), &mut tasks).unwrap_err();
        assert!(err.to_string().contains(TASK_ID), "{err}");
    }
}
