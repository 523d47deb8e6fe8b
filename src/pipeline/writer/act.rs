//! Console steps on a task, in the writer so that each is ordered in the
//! event log: sign, call, visit, report, follow up. The step is planned by
//! the pure lifecycle ([`crate::model::lifecycle::plan`]) against the task's
//! version; a report that closes both tasks closes the pair, so that the
//! person's next warning makes a new one.

use crate::model::{Step, Task, TaskEventKind, TaskStatus, lifecycle};
use crate::store::Commit;

use super::{WriteError, Writer};

/// The event kind a step logs.
fn kind(step: &Step) -> TaskEventKind {
    match step {
        Step::Acknowledge => TaskEventKind::Acknowledged,
        Step::Call { .. } => TaskEventKind::Called,
        Step::Visit { .. } => TaskEventKind::Visited,
        Step::Report(_) => TaskEventKind::Outcome,
        Step::ScheduleFollowUp { .. } => TaskEventKind::FollowUpScheduled,
        Step::FollowUpDone { .. } => TaskEventKind::FollowUpDone,
        Step::Publicity { .. } => TaskEventKind::Publicized,
    }
}

impl Writer {
    /// True when `task_id` belongs to an open pair the writer holds.
    pub fn holds(&mut self, task_id: &str) -> bool {
        self.open_task(task_id).is_ok()
    }

    /// Makes `step` on a task, based on its version `based_on`. A task of
    /// an open pair is the writer's own; a task of a closed pair comes
    /// from the store as `closed` (follow-up rounds are made on those).
    pub fn act(
        &mut self,
        task_id: &str,
        actor: &str,
        step: &Step,
        based_on: u64,
        now_ms: i64,
        closed: Option<Task>,
    ) -> Result<(Commit, Task), WriteError> {
        let deadlines = self.deadlines.clone();
        let mut stored = closed;
        let task: &mut Task = match self.open_task(task_id) {
            Ok(t) => t,
            Err(e) => match stored.as_mut() {
                Some(t) if t.id == task_id => t,
                _ => return Err(e),
            },
        };
        // Follow-up rounds come after the outcome; so may the 双宣传 record
        // of a pair's task (not the work of a finished publicity task).
        let after_close = match step {
            Step::ScheduleFollowUp { .. } | Step::FollowUpDone { .. } => true,
            Step::Publicity { .. } => task.brief.is_none(),
            _ => false,
        };
        if task.status == TaskStatus::Done && !after_close {
            return Err(WriteError::AlreadyDone(task_id.into()));
        }
        let retry = deadlines.due_within(task.level, &task.division.to_string());
        let retry_ms = i64::try_from(retry.as_millis()).unwrap_or(i64::MAX);
        let delta = lifecycle::plan(task, step, based_on, actor, now_ms, retry_ms)?;
        delta.apply(task);
        let snapshot = task.clone();
        let mut out = self.step();
        self.event(&mut out, kind(step), snapshot.clone(), Some(delta));
        let closes = match step {
            Step::Report(o) => o.code.closes(),
            Step::Publicity { done, .. } => *done && snapshot.brief.is_some(),
            _ => false,
        };
        if closes {
            let pair_id = snapshot.pair_id.clone();
            let pair_done = self
                .pairs
                .get(&pair_id)
                .is_some_and(|p| p.iter().all(|t| t.status == TaskStatus::Done));
            if pair_done {
                self.pairs.remove(&pair_id);
                out.commit.open_remove = self.open.close(&pair_id);
            }
        }
        Ok((self.finish(out), snapshot))
    }

    /// Signs for a task (签收) at its current version; repeating it changes
    /// nothing. For trusted callers (tests, tools); consoles use [`Writer::act`].
    pub fn acknowledge(
        &mut self,
        task_id: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<(Commit, Task), WriteError> {
        let task = self.open_task(task_id)?;
        if matches!(
            task.status,
            TaskStatus::Acknowledged | TaskStatus::InProgress
        ) {
            let unchanged = task.clone();
            return Ok((
                Commit {
                    next_pair: self.next_pair,
                    ..Commit::default()
                },
                unchanged,
            ));
        }
        let version = task.version();
        self.act(task_id, actor, &Step::Acknowledge, version, now_ms, None)
    }

    /// Reports an outcome at the task's current version. For trusted
    /// callers; consoles use [`Writer::act`].
    pub fn report_outcome(
        &mut self,
        task_id: &str,
        actor: &str,
        outcome: crate::model::Outcome,
        now_ms: i64,
    ) -> Result<(Commit, Task), WriteError> {
        let version = self.open_task(task_id)?.version();
        self.act(
            task_id,
            actor,
            &Step::Report(outcome),
            version,
            now_ms,
            None,
        )
    }
}

impl Writer {
    /// Ids of the open tasks with an escalation or a reminder due at
    /// `now_ms`, in id order: one scan of the open pairs.
    pub fn escalations_due(
        &self,
        policy: &crate::model::EscalationPolicy,
        now_ms: i64,
    ) -> Vec<String> {
        let mut ids: Vec<String> = self
            .pairs
            .values()
            .flatten()
            .filter(|t| crate::model::escalation::due(t, policy, now_ms).is_some())
            .map(|t| t.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Every task of every open pair, in no order: what the deadline index
    /// is rebuilt from.
    pub fn open_tasks(&self) -> impl Iterator<Item = &Task> {
        self.pairs.values().flatten()
    }

    /// The open task `id` as the writer holds it.
    pub fn open_task_ref(&self, id: &str) -> Option<&Task> {
        let pair_id = id.rsplit_once('-').map_or(id, |(p, _)| p);
        self.pairs.get(pair_id)?.iter().find(|t| t.id == id)
    }

    /// Escalates the tasks `ids` (from the store's deadline index, or
    /// [`Writer::escalations_due`]) and
    /// re-notifies the forgotten ones, as due at `now_ms`, each once; a task
    /// overdue for long gets the station's and the centre's in one go.
    pub fn escalate(
        &mut self,
        ids: &[String],
        policy: &crate::model::EscalationPolicy,
        now_ms: i64,
    ) -> Commit {
        let mut due = Vec::new();
        for id in ids {
            let Ok(task) = self.open_task(id) else {
                continue;
            };
            while let Some((kind, delta)) = crate::model::escalation::due(task, policy, now_ms) {
                delta.apply(task);
                due.push((kind, task.clone(), delta));
            }
        }
        let mut out = self.step();
        for (kind, task, delta) in due {
            self.event(&mut out, kind, task, Some(delta));
        }
        self.finish(out)
    }
}
