//! Publicity pairs (宣传任务) for key areas, made in the writer so that
//! they are ordered in the event log and reach `WatchTasks` like any pair.
//! One open publicity pair per village and fraud type: the open-pair index
//! holds it under the area's key, so a key area found again while its
//! task is open is covered by that task.

use crate::areas::KeyArea;
use crate::directory::Placement;
use crate::dispatch::{self, PublicitySpec};
use crate::model::publicity::area_key;
use crate::model::{PublicityBrief, TaskEventKind};
use crate::store::Commit;

use super::Writer;

/// What became of one key area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Covered {
    /// The pair that covers it.
    pub pair_id: String,
    /// True when made now; false when an open one already covers it.
    pub created: bool,
}

impl Writer {
    /// Makes a publicity pair for each key area not covered by an open one.
    pub fn publicity(
        &mut self,
        areas: &[(KeyArea, Placement)],
        deadline_ms: i64,
        now_ms: i64,
    ) -> (Commit, Vec<Covered>) {
        let mut step = self.step();
        let mut out = Vec::with_capacity(areas.len());
        let version = self.matcher.rules().version.clone();
        for (area, placement) in areas {
            let key = area_key(&area.village.to_string(), &area.fraud_type);
            if let Some(pair_id) = self.open.find(std::slice::from_ref(&key)) {
                out.push(Covered {
                    pair_id: pair_id.to_string(),
                    created: false,
                });
                continue;
            }
            let pair_id = format!("K{:010}", self.next_pair);
            self.next_pair += 1;
            let spec = PublicitySpec {
                pair_id: &pair_id,
                fraud_type: &area.fraud_type,
                placement,
                brief: PublicityBrief {
                    day: area.day.clone(),
                    group: area.group.clone(),
                    window_count: area.window_count,
                    baseline_mean_tenths: (area.baseline_mean * 10.0).round() as u64,
                    why: area.why.clone(),
                },
                rule_set_version: &version,
                deadline_ms,
            };
            let tasks = dispatch::publicity_pair(&spec, now_ms);
            for k in self.open.insert(std::slice::from_ref(&key), &pair_id) {
                step.commit.open_insert.push((k, pair_id.clone()));
            }
            for t in &tasks {
                self.event(&mut step, TaskEventKind::Created, t.clone(), None);
            }
            self.pairs.insert(pair_id.clone(), tasks);
            out.push(Covered {
                pair_id,
                created: true,
            });
        }
        (self.finish(step), out)
    }
}
