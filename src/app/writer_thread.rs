//! The writer thread: the one place where decide → dispatch → store run,
//! in arrival order. It drains the bounded job queue and groups consecutive
//! batches into one durable transaction (group commit). A group's commit,
//! acks and events happen on the commit thread ([`super::committer`]) while
//! this thread matches the next group; every other job waits for the group
//! in flight and commits on this thread before it replies.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot};

use super::committer::{COMMIT_ATTEMPTS, Committer, Landed, Pending, commit_with_retry};
use super::graph_state::GraphKeeper;
pub use super::jobs::{GraphFigures, Job};
use super::writer_metrics::{MadeFigures, count_escalations, escalation_counts};
use super::writer_status::{StatusReport, WriterStatus};
use crate::config::Config;
use crate::error::Error;
use crate::graph::import::ImportRow;
use crate::model::escalation::next_due_at;
use crate::model::{EscalationPolicy, Step, Task, TaskEventRecord};
use crate::pipeline::{BatchCounts, PreparedBatch, Writer};
use crate::rules::{Matcher, RuleSet};
use crate::store::{Commit, KnownAlerts, Store};

/// Most batches folded into one transaction.
const MAX_GROUP: usize = 32;
/// Tasks escalated in one commit: at most three events each, so a commit
/// stays within the 4,096 live events watchers are buffered; an outage's
/// backlog takes several.
const ESCALATED_TASKS_PER_COMMIT: usize = 1365;
/// How often a stopped writer tries to rebuild from the store.
const REVIVE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Everything the writer thread owns.
pub struct WriterThread {
    /// Decide/dispatch state.
    pub writer: Writer,
    /// Durable storage.
    pub store: Arc<dyn Store>,
    /// Configuration, for rebuilding the writer and graph after a failed commit.
    pub config: Config,
    /// Graph snapshots.
    pub keeper: GraphKeeper,
    /// Makes a fresh matcher for a rebuilt writer.
    pub new_matcher: Box<dyn Fn(Arc<RuleSet>) -> Matcher + Send>,
    /// Fan-out to watchers.
    pub events: broadcast::Sender<Arc<TaskEventRecord>>,
    /// Wall clock, unix ms (the only clock in the core's callers).
    pub clock: fn() -> i64,
    /// Set when a failed commit could not be undone: jobs are refused
    /// until the store can be read again ([`WriterThread::revive`]).
    pub stopped: bool,
    /// Set after a commit failed, until one succeeds.
    pub failing: Option<String>,
    /// Last time a stopped writer tried to come back.
    pub last_revive: Option<std::time::Instant>,
    /// Operational figures.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The commit thread, and the group it is keeping.
    pub committer: Committer,
    /// Alert keys of the group in flight, which the store may not have yet.
    pub in_flight_known: KnownAlerts,
    /// A graph snapshot is due, taken when memory and disk agree.
    pub snapshot_due: bool,
}

impl WriterThread {
    /// Runs until every job sender is gone, reporting whether it can commit.
    pub fn run(mut self, mut jobs: mpsc::Receiver<Job>, report: &StatusReport) {
        let mut pending: Option<Job> = None;
        loop {
            self.report(report);
            let job = match pending.take() {
                Some(j) => j,
                None => match jobs.try_recv() {
                    Ok(j) => j,
                    Err(_) => {
                        // Nothing to match meanwhile: take in the group in
                        // flight now, so health and snapshots keep up.
                        if self.committer.busy() {
                            self.settle();
                            self.snapshot_if_due();
                            self.report(report);
                        }
                        match jobs.blocking_recv() {
                            Some(j) => j,
                            None => {
                                self.settle();
                                return;
                            }
                        }
                    }
                },
            };
            if !matches!(job, Job::Batch { .. }) {
                // Other jobs read the store or commit here: the group in
                // flight must be durable first, and its events out.
                self.settle();
                self.snapshot_if_due();
            }
            if let Job::Stop { reply } = job {
                let _ = reply.send(self.stop_for_good());
                return;
            }
            if self.stopped && !self.revive() {
                Self::refuse(job);
                continue;
            }
            match job {
                Job::Batch { batch, reply } => {
                    let mut group = vec![(batch, reply)];
                    while group.len() < MAX_GROUP {
                        match jobs.try_recv() {
                            Ok(Job::Batch { batch, reply }) => group.push((batch, reply)),
                            Ok(other) => {
                                pending = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.batches(group);
                }
                Job::Act {
                    task_id,
                    actor,
                    step,
                    based_on,
                    reply,
                } => {
                    let _ = reply.send(self.act(&task_id, &actor, &step, based_on));
                }
                Job::SwapRules { rules, reply } => {
                    let _ = reply.send(self.writer.swap_rules(rules));
                }
                Job::GraphImport { rows, reply } => {
                    let _ = reply.send(self.import(&rows));
                }
                Job::RequestTransfer {
                    task_id,
                    actor,
                    to,
                    reason,
                    based_on,
                    reply,
                } => {
                    let now = (self.clock)();
                    let r = self
                        .writer
                        .request_transfer(&task_id, &actor, to, &reason, based_on, now)
                        .map_err(Error::from);
                    let _ = reply.send(r.and_then(|(c, t)| self.persist(c).map(|()| t)));
                }
                Job::DecideTransfer {
                    task_id,
                    actor,
                    placement,
                    note,
                    based_on,
                    reply,
                } => {
                    let now = (self.clock)();
                    let r = self
                        .writer
                        .decide_transfer(
                            &task_id,
                            &actor,
                            placement.as_deref(),
                            &note,
                            based_on,
                            now,
                        )
                        .map_err(Error::from);
                    let _ = reply.send(r.and_then(|(c, t)| self.persist(c).map(|()| t)));
                }
                Job::Publicity {
                    areas,
                    deadline_ms,
                    reply,
                } => {
                    let now = (self.clock)();
                    let (c, covered) = self.writer.publicity(&areas, deadline_ms, now);
                    let _ = reply.send(self.persist(c).map(|()| covered));
                }
                Job::Tick { reply } => {
                    let r = self.tick();
                    if let Err(e) = &r {
                        tracing::warn!(error = %e, "escalation check failed; next check retries");
                    }
                    if let Some(reply) = reply {
                        let _ = reply.send(r);
                    }
                }
                Job::Shadow(job) => self.shadow_job(job),
                Job::GraphStats { reply } => {
                    let _ = reply.send(self.figures());
                }
                Job::GraphSnapshot { reply } => {
                    let now = (self.clock)();
                    let r = self.keeper.snapshot(&self.writer, self.store.as_ref(), now);
                    let _ = reply.send(r);
                }
                Job::Stop { .. } => unreachable!("handled before the store is needed"),
            }
        }
    }

    /// The graceful end (the group in flight is settled): snapshots when
    /// the writer is healthy, then closes the store so that the next open
    /// needs no repair.
    fn stop_for_good(&mut self) -> Result<super::SnapshotInfo, Error> {
        let snap = if self.stopped {
            Err(stopped())
        } else {
            let now = (self.clock)();
            self.keeper.snapshot(&self.writer, self.store.as_ref(), now)
        };
        let started = std::time::Instant::now();
        match self.store.close() {
            Ok(()) => tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "store closed"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "store not closed cleanly; the next start repairs it")
            }
        }
        snap
    }

    fn report(&self, report: &StatusReport) {
        report.set(match &self.failing {
            Some(why) => WriterStatus::Failing(why.clone()),
            None => WriterStatus::Running,
        });
    }

    /// Escalations due now, durable before anyone hears of them: the tasks
    /// the store's deadline index says are due, in bounded commits, each
    /// moved to its next wake-up time in the same transaction.
    fn tick(&mut self) -> Result<usize, Error> {
        let now = (self.clock)();
        // Escalating changes neither status nor level nor what is overdue.
        self.task_gauges(now);
        let policy = self.config.escalation.policy();
        let (mut total, mut tasks) = (0, 0);
        let mut last: Vec<String> = Vec::new();
        loop {
            let ids = self.store.tasks_due(now, ESCALATED_TASKS_PER_COMMIT)?;
            // Each round moves its tasks past `now` (next_due_at is the first
            // moment anything is due), so a repeat means the index and the
            // writer disagree: stop rather than spin.
            if ids.is_empty() || ids == last {
                if !ids.is_empty() {
                    tracing::error!(
                        tasks = ids.len(),
                        "deadline index did not advance; escalation check stopped"
                    );
                }
                break;
            }
            let mut commit = self.writer.escalate(&ids, &policy, now);
            commit.wakes = ids
                .iter()
                .map(|id| {
                    let wake = self
                        .writer
                        .open_task_ref(id)
                        .and_then(|t| next_due_at(t, &policy));
                    (id.clone(), wake)
                })
                .collect();
            total += commit.events.len();
            tasks += ids.len();
            let kinds = escalation_counts(&commit.events);
            self.persist(commit)?;
            count_escalations(&self.metrics, kinds);
            last = ids;
        }
        if total > 0 {
            tracing::info!(tasks, events = total, "overdue tasks escalated");
        }
        Ok(total)
    }

    /// Makes the store's deadline index match the policy in force: built
    /// anew from the open tasks when the store has none yet or it was
    /// computed under another policy.
    pub fn index_deadlines(&mut self) -> Result<(), Error> {
        let policy = self.config.escalation.policy();
        let fingerprint = policy_fingerprint(&policy);
        if self.store.deadline_policy()? == fingerprint {
            return Ok(());
        }
        let wakes: Vec<(String, Option<i64>)> = self
            .writer
            .open_tasks()
            .map(|t| (t.id.clone(), next_due_at(t, &policy)))
            .collect();
        self.store.reindex_deadlines(fingerprint, &wakes)?;
        tracing::info!(
            tasks = wakes.len(),
            "deadline index rebuilt for the escalation policy"
        );
        Ok(())
    }

    /// A console step: on the writer's own task, or on a closed one read
    /// from the store; durable before the reply.
    fn act(
        &mut self,
        task_id: &str,
        actor: &str,
        step: &Step,
        based_on: u64,
    ) -> Result<Task, Error> {
        let closed = if self.writer.holds(task_id) {
            None
        } else {
            self.store.task(task_id)?
        };
        let now = (self.clock)();
        let (commit, task) = self
            .writer
            .act(task_id, actor, step, based_on, now, closed)?;
        self.persist(commit)?;
        Ok(task)
    }

    /// Matches a group of batches and hands its commit to the commit
    /// thread, which acks them once it is durable.
    fn batches(&mut self, group: Vec<(PreparedBatch, BatchReply)>) {
        if let Some(landed) = self.committer.poll() {
            self.landed(landed);
        }
        if self.snapshot_due {
            self.settle();
            self.snapshot_if_due();
        }
        if self.stopped {
            return group.into_iter().for_each(|(_, reply)| {
                let _ = reply.send(Err(stopped()));
            });
        }
        let keys: Vec<&str> = group
            .iter()
            .flat_map(|(b, _)| b.items.iter().map(|p| p.item.alert.key.0.as_str()))
            .collect();
        let mut known = match self.store.known_alerts(&keys) {
            Ok(k) => k,
            Err(e) => return fail_all(group, &e.to_string()),
        };
        if self.committer.busy() {
            // The group in flight may not be in the store yet.
            for k in &keys {
                if !known.contains_key(*k)
                    && let Some(d) = self.in_flight_known.get(*k)
                {
                    known.insert((*k).to_string(), *d);
                }
            }
        }
        drop(keys);
        let now = (self.clock)();
        let mut merged = Commit::default();
        let mut made = MadeFigures::default();
        let mut replies = Vec::with_capacity(group.len());
        let mut batches = Vec::with_capacity(group.len());
        for (batch, reply) in group {
            let (c, counts) = self.writer.apply_batch(&batch, &known, now);
            made.add(&c, batch.arrived_at_ms);
            known.extend(c.alerts.iter().map(|a| (a.key.clone(), Some(a.digest))));
            append(&mut merged, c);
            replies.push((reply, counts));
            batches.push(batch);
        }
        self.add_wakes(&mut merged);
        // The group before must be durable before this one goes: if it
        // failed, this one was matched on memory that held it.
        if !self.settle() {
            let msg = self.failing.clone().unwrap_or_default();
            for (reply, _) in replies {
                let _ = reply.send(Err(Error::Unavailable(format!(
                    "an earlier commit failed ({msg}); send again"
                ))));
            }
            return;
        }
        self.in_flight_known = known;
        self.committer.hand_over(Pending {
            commit: merged,
            replies,
            made,
            batches,
        });
        self.size_gauges();
    }

    /// Waits for the group in flight; false when its commit failed (the
    /// writer is then rebuilt from the store, or stopped).
    fn settle(&mut self) -> bool {
        match self.committer.settle() {
            Some(landed) => self.landed(landed),
            None => true,
        }
    }

    /// Takes in the result of a group's commit.
    fn landed(&mut self, landed: Landed) -> bool {
        match landed {
            Ok(alerts) => {
                if self.failing.take().is_some() {
                    tracing::info!("commits succeed again");
                }
                if self.keeper.applied(alerts) {
                    self.snapshot_due = true;
                }
                true
            }
            Err(msg) => {
                self.in_flight_known.clear();
                self.failing = Some(msg);
                self.rebuild_or_stop();
                false
            }
        }
    }

    /// A due graph snapshot, once nothing in memory is ahead of the store.
    fn snapshot_if_due(&mut self) {
        if self.snapshot_due && !self.committer.busy() {
            self.snapshot_due = false;
            self.snapshot_quietly();
        }
    }

    /// Logs the rows durably, then applies them to the graph.
    fn import(&mut self, rows: &[ImportRow]) -> Result<(u32, u64), Error> {
        let json = serde_json::to_vec(rows)
            .map_err(|e| Error::Unavailable(format!("cannot encode import rows: {e}")))?;
        let seq = self.store.log_import(&json)?;
        let graph = self.writer.graph_mut();
        for row in rows {
            graph.apply(row);
        }
        if self.keeper.applied(rows.len() as u64) {
            self.snapshot_quietly();
        }
        Ok((rows.len() as u32, seq))
    }

    /// A periodic snapshot; a failure is logged, the log still holds everything.
    fn snapshot_quietly(&mut self) {
        let now = (self.clock)();
        if let Err(e) = self.keeper.snapshot(&self.writer, self.store.as_ref(), now) {
            tracing::error!(error = %e, "graph snapshot failed; the store log still has everything");
        }
    }

    fn figures(&self) -> GraphFigures {
        let g = self.writer.graph();
        let (flagged, hubs) = g.flagged_and_hubs();
        GraphFigures {
            memory: g.memory(),
            counters: g.counters(),
            searches_gave_up: crate::graph::searches_gave_up(),
            flagged,
            hubs,
            snapshot: self.keeper.last,
        }
    }

    /// Rebuilds decide/dispatch state and the graph from the store and
    /// warms every window from the store's alerts: after a failed commit
    /// nothing unpersisted stays in memory. (Not from the windows snapshot:
    /// a rare path, kept to the one that needs no file.)
    fn rebuild(&mut self) -> Result<(), Error> {
        let state = self.store.load_state()?;
        let matcher = (self.new_matcher)(self.writer.rules().clone());
        let every = vec![true; self.writer.rules().windows.len()];
        let (graph, _) = super::graph_state::load_graph(
            &self.config,
            self.store.as_ref(),
            (self.clock)(),
            &mut |_, _, _| {},
        )?;
        self.writer =
            Writer::from_state(state, self.config.deadlines.clone(), matcher).with_graph(graph);
        super::warm_up(&mut self.writer, self.store.as_ref(), &every)
    }

    /// Refuses a job once the writer has stopped after a storage failure.
    fn refuse(job: Job) {
        match job {
            Job::Batch { reply, .. } => drop(reply.send(Err(stopped()))),
            Job::Act { reply, .. } | Job::RequestTransfer { reply, .. } => {
                drop(reply.send(Err(stopped())))
            }
            Job::DecideTransfer { reply, .. } => drop(reply.send(Err(stopped()))),
            Job::Publicity { reply, .. } => drop(reply.send(Err(stopped()))),
            Job::GraphImport { reply, .. } => drop(reply.send(Err(stopped()))),
            Job::GraphSnapshot { reply } | Job::Stop { reply } => drop(reply.send(Err(stopped()))),
            Job::Tick { reply } => {
                if let Some(reply) = reply {
                    drop(reply.send(Err(stopped())));
                }
            }
            Job::SwapRules { .. } | Job::GraphStats { .. } | Job::Shadow(_) => {}
        }
    }

    /// A stopped writer tries, at most once per [`REVIVE_EVERY`], to reopen
    /// the store and rebuild; true when it is back.
    fn revive(&mut self) -> bool {
        if self.last_revive.is_some_and(|t| t.elapsed() < REVIVE_EVERY) {
            return false;
        }
        self.last_revive = Some(std::time::Instant::now());
        let back = self
            .store
            .recover()
            .map_err(Error::from)
            .and_then(|()| self.rebuild());
        match back {
            Ok(()) => {
                tracing::info!("writer rebuilt from the store; taking work again");
                self.stopped = false;
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "writer still cannot read the store");
                false
            }
        }
    }

    /// Fills the deadline index's wake-up times of the tasks `commit` changes.
    fn add_wakes(&self, commit: &mut Commit) {
        let policy = self.config.escalation.policy();
        let mut changed: Vec<(String, Option<i64>)> = commit
            .tasks
            .iter()
            .map(|t| (t.id.clone(), next_due_at(t, &policy)))
            .collect();
        // The tick's own wake-ups (tasks it found due but left unchanged)
        // go first; a task's state in this commit has the last word.
        commit.wakes.append(&mut changed);
    }

    /// After a failed commit: memory goes back to what the store holds.
    fn rebuild_or_stop(&mut self) {
        if let Err(e) = self.rebuild() {
            // Memory may now be ahead of disk: take no work rather than
            // build on state that was never persisted.
            tracing::error!(error = %e, "cannot rebuild the writer from the store; refusing work until it can");
            self.stopped = true;
            self.last_revive = Some(std::time::Instant::now());
        }
    }

    /// Commits a job's changes on this thread, then publishes its events.
    /// The caller has settled the group in flight.
    fn persist(&mut self, mut commit: Commit) -> Result<(), Error> {
        if commit.is_empty() && commit.open_insert.is_empty() {
            return Ok(());
        }
        self.add_wakes(&mut commit);
        if let Err(e) = commit_with_retry(self.store.as_ref(), &self.metrics, &commit) {
            tracing::error!(error = %e, attempts = COMMIT_ATTEMPTS, "commit failed; rebuilding writer from store");
            self.failing = Some(e.to_string());
            self.rebuild_or_stop();
            return Err(Error::Unavailable(e.to_string()));
        }
        if self.failing.take().is_some() {
            tracing::info!("commits succeed again");
        }
        for e in commit.events {
            // No receiver is fine: nobody is watching.
            let _ = self.events.send(Arc::new(e));
        }
        Ok(())
    }
}

fn append(into: &mut Commit, c: Commit) {
    into.alerts.extend(c.alerts);
    into.tasks.extend(c.tasks);
    into.events.extend(c.events);
    into.open_insert.extend(c.open_insert);
    into.open_remove.extend(c.open_remove);
    into.series_aliases.extend(c.series_aliases);
    into.moved_from.extend(c.moved_from);
    into.wakes.extend(c.wakes);
    into.next_pair = c.next_pair;
}

/// A fingerprint of `policy`, kept beside the deadline index: the index's
/// wake-up times hold only under the policy they were computed with.
fn policy_fingerprint(policy: &EscalationPolicy) -> u64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{policy:?}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    // 0 means "never built".
    u64::from_be_bytes(b).max(1)
}

/// Where a batch's ack goes.
type BatchReply = oneshot::Sender<Result<BatchCounts, Error>>;

fn stopped() -> Error {
    Error::Unavailable("writer stopped after a storage failure; restart the engine".into())
}

fn fail_all(group: Vec<(PreparedBatch, BatchReply)>, msg: &str) {
    tracing::error!(error = %msg, "cannot read known alerts");
    for (_, reply) in group {
        let _ = reply.send(Err(Error::Unavailable(msg.to_string())));
    }
}
