//! 转办 in the writer: a request on one task of an open pair, and a
//! decision that moves (or keeps) both tasks, each change one event. The
//! placement of the new village comes from the caller (the directory is
//! read at the edge); the deadline is untouched, so the clock keeps running
//! from the pair's first creation.

use crate::directory::{DivisionCode, Placement};
use crate::model::transfer::{self, Routing};
use crate::model::{Task, TaskEventKind};
use crate::store::Commit;

use super::{WriteError, Writer};

impl Writer {
    /// Asks to move `task_id`'s pair to `to`.
    pub fn request_transfer(
        &mut self,
        task_id: &str,
        actor: &str,
        to: DivisionCode,
        reason: &str,
        based_on: u64,
        now_ms: i64,
    ) -> Result<(Commit, Task), WriteError> {
        let task = self.open_task(task_id)?;
        let delta = transfer::request(task, to, reason, based_on, actor, now_ms)?;
        delta.apply(task);
        let snapshot = task.clone();
        let mut out = self.step();
        self.event(
            &mut out,
            TaskEventKind::TransferRequested,
            snapshot.clone(),
            Some(delta),
        );
        Ok((self.finish(out), snapshot))
    }

    /// Decides the transfer asked on `task_id`: with `placement` the pair
    /// moves there, without it the pair stays. Both tasks come back.
    pub fn decide_transfer(
        &mut self,
        task_id: &str,
        actor: &str,
        placement: Option<&Placement>,
        note: &str,
        based_on: u64,
        now_ms: i64,
    ) -> Result<(Commit, Vec<Task>), WriteError> {
        let pair_id = self.open_task(task_id)?.pair_id.clone();
        let mut changed = Vec::new();
        let mut moved_from = Vec::new();
        {
            let Some(pair) = self.pairs.get_mut(&pair_id) else {
                return Err(WriteError::NotOpen(task_id.into()));
            };
            // The named task first: its version and state decide.
            pair.sort_by_key(|t| t.id != task_id);
            for (i, task) in pair.iter_mut().enumerate() {
                if task.status == crate::model::TaskStatus::Done && i > 0 {
                    // A closed twin stays where its work was done.
                    continue;
                }
                let routing = placement.map(|p| Routing::of(p, task.role));
                let delta = match (i, routing) {
                    (0, routing) => {
                        transfer::decide(task, routing, note, Some(based_on), actor, now_ms)?
                    }
                    (_, Some(r)) => transfer::follow(task, r, actor, now_ms),
                    (_, None) => continue,
                };
                if delta.routing.is_some() {
                    moved_from.push(task.clone());
                }
                delta.apply(task);
                changed.push((task.clone(), delta));
            }
            pair.sort_by_key(|t| t.role);
        }
        let mut out = self.step();
        let mut tasks = Vec::new();
        for (task, delta) in changed {
            let kind = delta.history.kind;
            tasks.push(task.clone());
            self.event(&mut out, kind, task, Some(delta));
        }
        let mut commit = self.finish(out);
        commit.moved_from = moved_from;
        Ok((commit, tasks))
    }
}
