//! What one rule set did over a replayed stream, counted from what the
//! core would have persisted and acknowledged, and the difference between
//! two rule sets over the same stream.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::cli::offline::BatchRun;
use crate::model::{Level, Role, Task};
use crate::rules::RuleSet;

/// Sample pairs shown per side of a difference.
pub const SAMPLES: usize = 5;

/// Pairs by level, as they stand at the end of the replay (a duplicate
/// warning may have raised a pair's level).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LevelMix {
    /// 高.
    pub high: u64,
    /// 中.
    pub medium: u64,
    /// 低.
    pub low: u64,
}

/// One pair, as a difference shows it: no personal data but the masked phone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PairSample {
    /// The pair's id in its own replay (ids differ between rule sets).
    pub pair_id: String,
    /// The alert that made the pair (`source/source_id`).
    pub alert_key: String,
    /// The person's phone, masked as every console shows it.
    pub phone: String,
    /// Level as it stands.
    pub level: Level,
    /// Rules behind the pair when it was made.
    pub rules: Vec<String>,
}

/// What one rule set made of the stream.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunFigures {
    /// The rule directory, as given.
    pub rules: String,
    /// Content hash of its files, as tasks record it.
    pub rule_set_version: String,
    /// Alerts through the core.
    pub alerts: u64,
    /// Accepted, new and repeated.
    pub accepted: u64,
    /// Of those, exact re-sends of an alert already accepted.
    pub duplicates: u64,
    /// Alerts refused, by the field at fault.
    pub rejected: BTreeMap<String, u64>,
    /// Pairs made.
    pub pairs_created: u64,
    /// Alerts joined to an open pair (重复预警).
    pub merged: u64,
    /// Pairs by level.
    pub levels: LevelMix,
    /// Hits per rule: alerts that made or joined a pair through the rule,
    /// each alert once per rule. Every enabled rule is listed, 0 included.
    pub hits: BTreeMap<String, u64>,
    /// Seconds spent in the core (normalize → dispatch), reading excluded.
    pub core_seconds: f64,
    /// Alerts per second of the core.
    pub alerts_per_second: f64,
    /// Pairs by the person's key (a person has at most one pair here: no
    /// outcome ever closes one).
    #[serde(skip)]
    pairs: HashMap<String, PairSample>,
}

impl RunFigures {
    /// Empty figures for `rules`, read from the directory `label`.
    pub fn new(label: &str, rules: &RuleSet) -> RunFigures {
        RunFigures {
            rules: label.to_string(),
            rule_set_version: rules.version.clone(),
            hits: rules
                .rules
                .iter()
                .filter(|r| r.enabled)
                .map(|r| (r.id.clone(), 0))
                .collect(),
            ..RunFigures::default()
        }
    }

    /// Counts one batch of `alerts` that took `seconds` in the core.
    pub fn add(&mut self, run: &BatchRun, alerts: usize, seconds: f64) {
        self.alerts += alerts as u64;
        self.core_seconds += seconds;
        let c = &run.counts;
        self.accepted += u64::from(c.accepted);
        self.duplicates += u64::from(c.duplicates);
        self.pairs_created += u64::from(c.pairs_created);
        self.merged += u64::from(c.merged);
        for r in &run.prepared.rejections {
            *self.rejected.entry(r.field.clone()).or_default() += 1;
        }
        if !c.reused.is_empty() {
            // As the server's ack says it: a key reused for other content.
            *self.rejected.entry("source_id".into()).or_default() += c.reused.len() as u64;
        }
        for (_, rule) in run.commit.rule_hits() {
            *self.hits.entry(rule.to_string()).or_default() += 1;
        }
        for e in &run.commit.events {
            if e.task.role == Role::PoliceOfficer {
                self.pair_seen(&e.task);
            }
        }
    }

    /// Records a pair's task as it now stands.
    fn pair_seen(&mut self, task: &Task) {
        let sample = self
            .pairs
            .entry(task.subject_key.clone())
            .or_insert_with(|| {
                let mut rules: Vec<String> =
                    task.reasons.iter().map(|r| r.rule_id.clone()).collect();
                rules.sort();
                rules.dedup();
                PairSample {
                    pair_id: task.pair_id.clone(),
                    alert_key: task.alert_keys.first().cloned().unwrap_or_default(),
                    phone: task.subject_phone_masked.clone(),
                    level: task.level,
                    rules,
                }
            });
        sample.level = task.level;
    }

    /// Closes the figures: the level mix and the rate.
    pub fn finish(&mut self) {
        let mut mix = LevelMix::default();
        for p in self.pairs.values() {
            match p.level {
                Level::High => mix.high += 1,
                Level::Medium => mix.medium += 1,
                Level::Low => mix.low += 1,
            }
        }
        self.levels = mix;
        self.alerts_per_second = self.alerts as f64 / self.core_seconds.max(1e-9);
    }

    /// Every alert refused, whatever the field.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// One rule's hits under both rule sets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleChange {
    /// Rule id.
    pub rule: String,
    /// Hits under the first set (`--rules`).
    pub a: u64,
    /// Hits under the second (`--compare`).
    pub b: u64,
    /// `b - a`.
    pub delta: i64,
    /// `delta / a` in percent; `None` when a rule without hits gained some.
    pub change_percent: Option<f64>,
}

impl RuleChange {
    /// True when the change is beyond `max_percent` either way (a rule
    /// going from no hits to some always is).
    pub fn beyond(&self, max_percent: f64) -> bool {
        self.change_percent.is_none_or(|p| p.abs() > max_percent)
    }
}

/// Pairs one rule set made and the other did not.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PairSide {
    /// How many.
    pub count: u64,
    /// The first few, by pair id.
    pub samples: Vec<PairSample>,
}

/// What changes from the first rule set to the second.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Diff {
    /// Every rule of either set, by id.
    pub rules: Vec<RuleChange>,
    /// Persons with a pair under the first set only: pairs removed.
    pub only_in_a: PairSide,
    /// Persons with a pair under the second set only: pairs added.
    pub only_in_b: PairSide,
    /// Persons with a pair under both, at another level under the second.
    pub other_level: OtherLevel,
}

/// A person's pair under the second set, at another level than under the first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LevelChange {
    /// The pair under the second set, at its level there.
    pub pair: PairSample,
    /// Its level under the first.
    pub was: Level,
}

/// Pairs both sets made, at different levels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OtherLevel {
    /// How many.
    pub count: u64,
    /// The first few, by pair id under the second set.
    pub samples: Vec<LevelChange>,
}

impl Diff {
    /// The difference from `a` to `b`.
    pub fn between(a: &RunFigures, b: &RunFigures) -> Diff {
        let mut ids: Vec<&String> = a.hits.keys().chain(b.hits.keys()).collect();
        ids.sort();
        ids.dedup();
        let rules = ids
            .into_iter()
            .map(|id| {
                let ha = a.hits.get(id).copied().unwrap_or(0);
                let hb = b.hits.get(id).copied().unwrap_or(0);
                let delta = hb as i64 - ha as i64;
                let change_percent = match (ha, hb) {
                    (0, 0) => Some(0.0),
                    (0, _) => None,
                    _ => Some(100.0 * delta as f64 / ha as f64),
                };
                RuleChange {
                    rule: id.clone(),
                    a: ha,
                    b: hb,
                    delta,
                    change_percent,
                }
            })
            .collect();
        Diff {
            rules,
            only_in_a: only_in(a, b),
            only_in_b: only_in(b, a),
            other_level: other_level(a, b),
        }
    }
}

/// Pairs of `b` whose person's pair in `a` stands at another level.
fn other_level(a: &RunFigures, b: &RunFigures) -> OtherLevel {
    let mut changed: Vec<LevelChange> = b
        .pairs
        .iter()
        .filter_map(|(person, pb)| {
            let pa = a.pairs.get(person).filter(|pa| pa.level != pb.level)?;
            Some(LevelChange {
                pair: pb.clone(),
                was: pa.level,
            })
        })
        .collect();
    changed.sort_by(|p, q| p.pair.pair_id.cmp(&q.pair.pair_id));
    let count = changed.len() as u64;
    changed.truncate(SAMPLES);
    OtherLevel {
        count,
        samples: changed,
    }
}

/// Pairs of `x` whose person has none in `y`.
fn only_in(x: &RunFigures, y: &RunFigures) -> PairSide {
    let mut only: Vec<&PairSample> = x
        .pairs
        .iter()
        .filter(|(person, _)| !y.pairs.contains_key(*person))
        .map(|(_, p)| p)
        .collect();
    only.sort_by(|p, q| p.pair_id.cmp(&q.pair_id));
    PairSide {
        count: only.len() as u64,
        samples: only.into_iter().take(SAMPLES).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::task_delta::tests::task;
    use crate::model::{TaskEventKind, TaskEventRecord};
    use crate::pipeline::{BatchCounts, PreparedBatch};
    use crate::proto;
    use crate::store::{Commit, StoredAlert};

    /// Both tasks of person `who`'s pair `pair` after `kind`, with `reasons`
    /// (rule, alert key).
    fn events(
        who: &str,
        pair: &str,
        kind: TaskEventKind,
        level: Level,
        reasons: &[(&str, &str)],
    ) -> Vec<TaskEventRecord> {
        Role::BOTH
            .iter()
            .map(|&role| {
                let mut t = task();
                t.role = role;
                t.pair_id = pair.into();
                t.subject_key = who.into();
                t.subject_phone_masked = "138****5678".into();
                t.level = level;
                t.alert_keys = vec![reasons[0].1.into()];
                t.reasons = crate::model::task_delta::tests::reasons(reasons);
                TaskEventRecord {
                    seq: 0,
                    kind,
                    task: t,
                    delta: None,
                }
            })
            .collect()
    }

    fn run(alerts: &[&str], events: Vec<TaskEventRecord>, counts: BatchCounts) -> BatchRun {
        BatchRun {
            prepared: PreparedBatch::default(),
            commit: Commit {
                alerts: alerts
                    .iter()
                    .map(|k| StoredAlert {
                        key: (*k).into(),
                        record: Vec::new(),
                        digest: Default::default(),
                        occurred_at_ms: 1,
                        suspect: true,
                    })
                    .collect(),
                events,
                ..Commit::default()
            },
            counts,
        }
    }

    fn figures(label: &str, batches: &[BatchRun]) -> RunFigures {
        let mut f = RunFigures {
            rules: label.into(),
            ..RunFigures::default()
        };
        for b in batches {
            f.add(b, 10, 0.5);
        }
        f.finish();
        f
    }

    #[test]
    fn each_alert_counts_once_per_rule_and_a_raise_moves_the_level_mix() {
        let made = events(
            "p1",
            "P1",
            TaskEventKind::Created,
            Level::Medium,
            &[("r1", "s/1"), ("r2", "s/1")],
        );
        let mut first = run(&["s/1"], made, BatchCounts::default());
        first.counts.pairs_created = 1;
        first.prepared.rejections.push(proto::Rejection {
            field: "subject.phone".into(),
            ..Default::default()
        });
        // s/2 joins and raises the pair: its tasks name s/1 again.
        let raised = events(
            "p1",
            "P1",
            TaskEventKind::Escalated,
            Level::High,
            &[("r1", "s/1"), ("r2", "s/1"), ("r1", "s/2")],
        );
        let counts = BatchCounts {
            merged: 1,
            reused: vec![(3, "s/9".into())],
            ..BatchCounts::default()
        };
        let f = figures("a", &[first, run(&["s/2"], raised, counts)]);

        assert_eq!(f.hits.get("r1"), Some(&2));
        assert_eq!(f.hits.get("r2"), Some(&1));
        assert_eq!((f.pairs_created, f.merged, f.alerts), (1, 1, 20));
        assert_eq!(
            f.levels,
            LevelMix {
                high: 1,
                medium: 0,
                low: 0
            }
        );
        assert_eq!(f.rejected.get("subject.phone"), Some(&1));
        assert_eq!(f.rejected.get("source_id"), Some(&1));
        assert_eq!(f.rejected_total(), 2);
        assert!((f.alerts_per_second - 20.0).abs() < 1e-9);
    }

    #[test]
    fn diff_names_changed_rules_and_pairs_on_each_side() {
        let mut a_batches = Vec::new();
        for i in 0..7 {
            let who = format!("p{i}");
            let key = format!("s/{i}");
            let ev = events(
                &who,
                &format!("P{i}"),
                TaskEventKind::Created,
                Level::Low,
                &[("r1", &key)],
            );
            a_batches.push(run(&[&key], ev, BatchCounts::default()));
        }
        let a = figures("a", &a_batches);
        let only_b = events(
            "p9",
            "P1",
            TaskEventKind::Created,
            Level::Low,
            &[("r2", "s/9")],
        );
        let keep = events(
            "p0",
            "P2",
            TaskEventKind::Created,
            Level::High,
            &[("r1", "s/0")],
        );
        let b = figures(
            "b",
            &[
                run(&["s/9"], only_b, BatchCounts::default()),
                run(&["s/0"], keep, BatchCounts::default()),
            ],
        );
        let d = Diff::between(&a, &b);

        let r1 = &d.rules[0];
        assert_eq!((r1.rule.as_str(), r1.a, r1.b, r1.delta), ("r1", 7, 1, -6));
        assert!(r1.beyond(50.0) && !r1.beyond(90.0));
        let r2 = &d.rules[1];
        assert_eq!((r2.a, r2.b, r2.change_percent), (0, 1, None));
        assert!(r2.beyond(1000.0), "from none to some is always beyond");
        assert_eq!(d.only_in_a.count, 6);
        assert_eq!(d.only_in_a.samples.len(), SAMPLES);
        assert_eq!(d.only_in_a.samples[0].pair_id, "P1");
        assert_eq!(d.only_in_a.samples[0].phone, "138****5678");
        assert_eq!(d.only_in_b.count, 1);
        assert_eq!(d.only_in_b.samples[0].alert_key, "s/9");
        assert_eq!(d.only_in_b.samples[0].rules, ["r2"]);
        assert_eq!(d.other_level.count, 1);
        let raised = &d.other_level.samples[0];
        assert_eq!(
            (raised.pair.pair_id.as_str(), raised.pair.level, raised.was),
            ("P2", Level::High, Level::Low)
        );
    }
}
