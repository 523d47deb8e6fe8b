//! decide → dispatch on the single writer: the only code that changes open
//! pairs, so dedupe needs no locks. Each step returns the [`Commit`] the
//! store must persist before anyone is told; if persisting fails the writer
//! is rebuilt from the store, so memory never runs ahead of disk.

use std::collections::HashMap;

use crate::config::Deadlines;
use crate::decide::{Decision, OpenPairs, decide};
use crate::dispatch::{self, PairSpec};
use crate::model::{Task, TaskDelta, TaskEventKind, TaskEventRecord, WHOLE_EVERY};
use crate::store::{Commit, Digest, KnownAlerts, StoredAlert, WriterState};

use super::{Prepared, PreparedBatch};
use crate::graph::{GraphLimits, LinkGraph, secs};
use crate::model::Level;
use crate::rules::{Matcher, RuleHit, RuleSet};
use std::sync::Arc;

/// Link slots the expiry sweep looks at after every batch, and per alert
/// of the batch: the sweep keeps pace with growth without a long pause.
const EXPIRY_SWEEP_PER_BATCH: u32 = 1024;
const EXPIRY_SWEEP_PER_ALERT: u32 = 16;

/// `graph` with the rule set's flagged and allow lists in force.
fn graph_for(rules: &RuleSet, mut graph: LinkGraph) -> LinkGraph {
    rules.apply_lists(&mut graph);
    graph
}

/// A console request the writer refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    /// No open task has this id (it may be finished, or never existed).
    #[error("task {0} is not open")]
    NotOpen(String),
    /// The outcome was already reported.
    #[error("task {0} already has an outcome")]
    AlreadyDone(String),
    /// The step cannot be made: stale version, wrong state or a bad field.
    #[error(transparent)]
    Step(#[from] crate::model::StepError),
}

/// What one batch did, for the ack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Alerts accepted (new and repeated).
    pub accepted: u32,
    /// Alerts refused because their key was already used for a record
    /// with other content: batch position and alert key.
    pub reused: Vec<(u32, String)>,
    /// Accepted alerts seen before.
    pub duplicates: u32,
    /// Pairs made.
    pub pairs_created: u32,
    /// Alerts joined to an open pair.
    pub merged: u32,
}

/// The writer's memory: open pairs and counters.
pub struct Writer {
    open: OpenPairs,
    /// Both tasks of every open pair, officer first.
    pairs: HashMap<String, [Task; 2]>,
    next_pair: u64,
    last_seq: u64,
    deadlines: Deadlines,
    /// Rules and their windows: here, so each alert is matched exactly once
    /// and a reload lands between two batches.
    matcher: Matcher,
    /// The account-link graph the rules ask about.
    graph: LinkGraph,
    /// A candidate rule set matched beside the live one (影子运行).
    shadow: Option<super::shadow::Shadow>,
}

/// Collects one step's changes in order.
struct Step {
    commit: Commit,
    changed: Vec<String>,
    /// The same ids, to test membership in O(1): a batch changes thousands.
    seen: rustc_hash::FxHashSet<String>,
}

impl Writer {
    /// Rebuilds the writer from what the store kept.
    pub fn from_state(state: WriterState, deadlines: Deadlines, matcher: Matcher) -> Writer {
        // Sized up front: a pair is two large tasks, and each rehash while
        // growing would move all of them (seconds at 200,000 open pairs).
        let mut by_pair: HashMap<String, Vec<Task>> =
            HashMap::with_capacity(state.open_tasks.len() / 2);
        for t in state.open_tasks {
            by_pair.entry(t.pair_id.clone()).or_default().push(t);
        }
        let mut pairs = HashMap::with_capacity(by_pair.len());
        for (id, mut tasks) in by_pair {
            tasks.sort_by_key(|t| t.role);
            if let Ok(both) = <[Task; 2]>::try_from(tasks) {
                pairs.insert(id, both);
            }
        }
        let mut open = OpenPairs::default();
        for (key, pair) in state.open {
            open.insert(std::slice::from_ref(&key), &pair);
        }
        Writer {
            open,
            pairs,
            next_pair: state.next_pair.max(1),
            last_seq: state.last_seq,
            deadlines,
            graph: graph_for(matcher.rules(), LinkGraph::new(GraphLimits::default())),
            matcher,
            shadow: None,
        }
    }

    /// Puts `graph` (loaded from a snapshot, or rebuilt) in place of the
    /// empty one, with the flagged lists of the rules in force.
    pub fn with_graph(mut self, graph: LinkGraph) -> Writer {
        self.graph = graph_for(self.matcher.rules(), graph);
        self
    }

    /// The account-link graph.
    pub fn graph(&self) -> &LinkGraph {
        &self.graph
    }

    /// The account-link graph, for imports and replays.
    pub fn graph_mut(&mut self) -> &mut LinkGraph {
        &mut self.graph
    }

    /// Number of open pairs.
    pub fn open_pairs(&self) -> usize {
        self.pairs.len()
    }

    /// Sequence of the last event handed out.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Decides and dispatches every prepared alert of a batch. `known` holds
    /// the keys the store already has: a re-send of the same content counts
    /// once, another record under a used key is refused.
    pub fn apply_batch(
        &mut self,
        batch: &PreparedBatch,
        known: &KnownAlerts,
        now_ms: i64,
    ) -> (Commit, BatchCounts) {
        let mut step = self.step();
        let mut counts = BatchCounts::default();
        let mut seen_here: HashMap<&str, Digest> = HashMap::new();
        for p in &batch.items {
            let key = &p.item.alert.key.0;
            let before = match known.get(key) {
                Some(d) => Some(*d),
                None => seen_here.get(key.as_str()).map(|d| Some(*d)),
            };
            match before {
                Some(Some(d)) if d != p.digest => {
                    counts.reused.push((p.index, key.clone()));
                    continue;
                }
                Some(_) => {
                    counts.accepted += 1;
                    counts.duplicates += 1;
                    continue;
                }
                None => {
                    counts.accepted += 1;
                    seen_here.insert(key, p.digest);
                }
            }
            self.graph.observe(&p.item.alert);
            let hits = self.matcher.match_alert(&p.item.alert, &self.graph, now_ms);
            let decision = decide(&p.item.alert.subject, &hits, &self.open);
            if let Some(shadow) = &mut self.shadow {
                let created = matches!(decision, Decision::Create { .. });
                let evaluated = self.matcher.last_evaluated();
                let a = &p.item.alert;
                shadow.observe(
                    a,
                    &self.graph,
                    now_ms,
                    &hits,
                    evaluated,
                    created,
                    &self.open,
                );
            }
            // After decide, before dispatch: a new pair's series id already
            // takes in the series this alert joins.
            let suspect = !hits.is_empty();
            let seen = self.graph.settle(&p.item.alert, suspect);
            step.commit.series_aliases.extend(seen.merged);
            step.commit.alerts.push(StoredAlert {
                key: key.clone(),
                record: p.stored.clone(),
                digest: p.digest,
                occurred_at_ms: p.item.alert.occurred_at_ms,
                suspect,
            });
            match decision {
                Decision::Ignore => {}
                Decision::Create { level, fraud_type } => {
                    self.create(&mut step, p, &hits, level, &fraud_type, now_ms);
                    counts.pairs_created += 1;
                }
                Decision::Join { pair_id, level } => {
                    if self.join(&mut step, p, &hits, &pair_id, level, now_ms) {
                        counts.merged += 1;
                    }
                }
            }
        }
        let budget = EXPIRY_SWEEP_PER_BATCH + EXPIRY_SWEEP_PER_ALERT * batch.items.len() as u32;
        self.graph.expire(secs(now_ms), budget);
        (self.finish(step), counts)
    }

    fn create(
        &mut self,
        step: &mut Step,
        p: &Prepared,
        hits: &[RuleHit],
        level: Level,
        fraud_type: &str,
        now_ms: i64,
    ) {
        let pair_id = format!("P{:010}", self.next_pair);
        self.next_pair += 1;
        let version = self.matcher.rules().version.clone();
        // Observed just before: the person is in the graph with a series.
        let series_id = self
            .graph
            .announce_series(&p.item.alert)
            .unwrap_or_default();
        let spec = PairSpec {
            pair_id: &pair_id,
            level,
            fraud_type,
            rule_set_version: &version,
            series_id: &series_id,
        };
        let tasks = dispatch::new_pair(&spec, &p.item, hits, &self.deadlines, now_ms);
        for k in self
            .open
            .insert(&p.item.alert.subject.identity_keys(), &pair_id)
        {
            step.commit.open_insert.push((k, pair_id.clone()));
        }
        for t in &tasks {
            self.event(step, TaskEventKind::Created, t.clone(), None);
        }
        self.pairs.insert(pair_id, tasks);
    }

    /// Joins a duplicate warning to an open pair; false if the pair is gone.
    fn join(
        &mut self,
        step: &mut Step,
        p: &Prepared,
        hits: &[RuleHit],
        pair_id: &str,
        level: Level,
        now_ms: i64,
    ) -> bool {
        let Some(tasks) = self.pairs.get_mut(pair_id) else {
            return false;
        };
        let mut joined = Vec::new();
        for t in tasks.iter_mut() {
            if let Some((kind, delta)) =
                dispatch::join(t, &p.item, hits, level, &self.deadlines, now_ms)
            {
                joined.push((kind, t.clone(), delta));
            }
        }
        // A person may reach the pair by a new key (e.g. an ID hash after a phone).
        for k in self
            .open
            .insert(&p.item.alert.subject.identity_keys(), pair_id)
        {
            step.commit.open_insert.push((k, pair_id.to_string()));
        }
        for (kind, t, delta) in joined {
            self.event(step, kind, t, Some(delta));
        }
        true
    }

    /// Puts a new rule set in force between two batches; unchanged windows
    /// keep their state. Returns how many windows were kept.
    pub fn swap_rules(&mut self, rules: Arc<RuleSet>) -> usize {
        rules.apply_lists(&mut self.graph);
        self.matcher.swap(rules)
    }

    /// Replays already-stored alerts into the windows of `slots` (no
    /// rules, no tasks): after a restart, windows the snapshot did not bring
    /// back count what came before. The graph is brought up to date
    /// separately, from its snapshot's checkpoint.
    pub fn warm(&mut self, alerts: &[crate::model::Alert], now_ms: i64, slots: &[bool]) {
        for a in alerts {
            self.matcher.observe_windows(a, &self.graph, now_ms, slots);
        }
    }

    /// How far back a warm-up of the windows of `slots` must replay: their
    /// longest plus lateness.
    pub fn warm_horizon_ms(&self, slots: &[bool]) -> i64 {
        self.matcher.horizon_ms_of(slots)
    }

    /// The rules and their windows, for the windows snapshot.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Sliding windows the matcher holds.
    pub fn window_count(&self) -> usize {
        self.matcher.window_count()
    }

    /// The rule set in force.
    pub fn rules(&self) -> &Arc<RuleSet> {
        self.matcher.rules()
    }

    fn open_task(&mut self, task_id: &str) -> Result<&mut Task, WriteError> {
        let pair_id = task_id.rsplit_once('-').map_or(task_id, |(p, _)| p);
        self.pairs
            .get_mut(pair_id)
            .and_then(|p| p.iter_mut().find(|t| t.id == task_id))
            .ok_or_else(|| WriteError::NotOpen(task_id.into()))
    }

    fn step(&self) -> Step {
        Step {
            commit: Commit {
                next_pair: self.next_pair,
                ..Commit::default()
            },
            changed: Vec::new(),
            seen: Default::default(),
        }
    }

    /// Logs an event with the task as it now stands; the store keeps only
    /// `delta`, except at a creation and every [`WHOLE_EVERY`]th event.
    fn event(
        &mut self,
        step: &mut Step,
        kind: TaskEventKind,
        task: Task,
        delta: Option<TaskDelta>,
    ) {
        self.last_seq += 1;
        if step.seen.insert(task.id.clone()) {
            step.changed.push(task.id.clone());
        }
        let delta = delta.filter(|_| task.event_count() % WHOLE_EVERY != 1);
        step.commit.events.push(TaskEventRecord {
            seq: self.last_seq,
            kind,
            task,
            delta,
        });
    }

    /// Puts the final state of every changed task into the commit.
    fn finish(&self, mut step: Step) -> Commit {
        let mut last: HashMap<&str, &Task> = HashMap::new();
        for e in &step.commit.events {
            last.insert(e.task.id.as_str(), &e.task);
        }
        let tasks = step
            .changed
            .iter()
            .filter_map(|id| last.get(id.as_str()).map(|t| (*t).clone()))
            .collect();
        step.commit.tasks = tasks;
        step.commit.next_pair = self.next_pair;
        step.commit
    }
}

mod act;
mod publicity;
mod shadow_run;
pub use publicity::Covered;
#[cfg(test)]
mod tests;
mod transfer;
