//! The task event log as every backend keeps it: the record of one event,
//! its bytes, and the rebuild of a task from its events.
//!
//! Where it sits: the writer logs each event with the change it made
//! ([`TaskDelta`]); a creation, and every [`crate::model::WHOLE_EVERY`]th
//! event of a task, is kept whole. A backend keeps each event as a [`Kept`]
//! under its sequence number, its bytes the 12-digit division followed by
//! the JSON ([`kept_bytes`], [`split`]). Reading an event rebuilds the task
//! as it stood after it ([`rebuild`]): from the last whole event of that
//! task, applying the deltas that follow, with the very function the writer
//! used. Watchers read by administrative area ([`areas`], [`area_of`]).
//! Retention makes each task's first kept event whole ([`Kept::made_whole`]),
//! and a resume token older than what it removed is
//! [`StoreError::Expired`] ([`first_after`]).

use serde::{Deserialize, Serialize};

use super::{StoreError, decode, encode};
use crate::model::{Task, TaskDelta, TaskEventKind, TaskEventRecord};

/// Length of the division prefix on event values.
const DIVISION_LEN: usize = 12;
/// Prefix lengths of province, city, county, town and village.
const AREA_LENS: [usize; 5] = [2, 4, 6, 9, 12];

/// One event as kept. Events written before deltas (`{seq, kind, task}`)
/// decode as whole events.
#[derive(Serialize, Deserialize)]
pub(super) struct Kept {
    /// What happened.
    pub(super) kind: TaskEventKind,
    /// The task's id (empty in events kept before deltas: see [`Kept::task_id`]).
    #[serde(default)]
    pub(super) task_id: String,
    /// When it happened, unix ms (0 in events kept before: see [`Kept::at_ms`]).
    #[serde(default)]
    pub(super) at_ms: i64,
    /// The whole task after the event, for a whole event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) task: Option<Task>,
    /// The change the event made, for a delta event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) delta: Option<TaskDelta>,
}

impl Kept {
    /// The record `e` is kept as: whole when it carries no delta.
    pub(super) fn of(e: &TaskEventRecord) -> Kept {
        Kept {
            kind: e.kind,
            task_id: e.task.id.clone(),
            at_ms: e.task.history.last().map_or(0, |h| h.at_ms),
            task: e.delta.is_none().then(|| e.task.clone()),
            delta: e.delta.clone(),
        }
    }

    /// The task's id, read from the whole task in older records.
    pub(super) fn task_id(&self) -> &str {
        match &self.task {
            Some(t) if self.task_id.is_empty() => &t.id,
            _ => &self.task_id,
        }
    }

    /// When the event happened, read from its task or delta in older records.
    pub(super) fn at_ms(&self) -> i64 {
        match (&self.task, &self.delta) {
            _ if self.at_ms != 0 => self.at_ms,
            (_, Some(d)) => d.history.at_ms,
            (Some(t), None) => t.history.last().map_or(0, |h| h.at_ms),
            (None, None) => 0,
        }
    }

    /// This delta event made whole from `before`, the task `task_id` as it
    /// stood just before it; `None` when the event is whole already.
    pub(super) fn made_whole(mut self, task_id: &str, mut before: Task) -> Option<Kept> {
        self.at_ms = self.at_ms();
        let d = self.delta.take()?;
        d.apply(&mut before);
        self.task_id = task_id.to_string();
        self.task = Some(before);
        Some(self)
    }
}

/// The bytes of event `seq`, read back: its division and its record.
pub(super) fn split(seq: u64, bytes: &[u8]) -> Result<(String, Kept), StoreError> {
    let corrupt = |why: &str| StoreError::Corrupt {
        key: format!("event {seq}"),
        why: why.into(),
    };
    let division = bytes
        .get(..DIVISION_LEN)
        .and_then(|d| std::str::from_utf8(d).ok())
        .ok_or_else(|| corrupt("no division prefix"))?;
    Ok((
        division.to_string(),
        decode(&format!("event {seq}"), &bytes[DIVISION_LEN..])?,
    ))
}

/// The bytes an event of a task in `division` is kept as.
pub(super) fn kept_bytes(division: &str, kept: &Kept) -> Result<Vec<u8>, StoreError> {
    let mut value = division.as_bytes().to_vec();
    value.extend_from_slice(&encode(kept)?);
    Ok(value)
}

/// Every administrative prefix of `division` (province to village): the
/// areas whose watchers see its events.
pub(super) fn areas(division: &str) -> impl Iterator<Item = &str> {
    AREA_LENS
        .into_iter()
        .filter(|n| *n <= division.len())
        .map(|n| &division[..n])
}

/// The longest administrative prefix within `prefix`, if any.
pub(super) fn area_of(prefix: &str) -> Option<&str> {
    AREA_LENS
        .into_iter()
        .rev()
        .find(|n| *n <= prefix.len())
        .map(|n| &prefix[..n])
}

/// The first event number to read for a watcher that resumes after
/// `after` (0: from the start), when retention removed every event up to
/// `through`; `None` when nothing is to be read. A nonzero `after` older
/// than `through` is [`StoreError::Expired`].
pub(super) fn first_after(
    after: u64,
    through: u64,
    limit: usize,
) -> Result<Option<u64>, StoreError> {
    if after > 0 && after < through {
        return Err(StoreError::Expired {
            token: after,
            resume_from: through,
        });
    }
    Ok(after.max(through).checked_add(1).filter(|_| limit > 0))
}

/// The task `task_id` as it stood after its event `seq`, from the last
/// whole event at or before it (or `known`, its state after an earlier
/// event). `newest_first` gives the task's event numbers up to `seq`,
/// newest first; `fetch` reads one (`None` when it is gone).
pub(super) fn rebuild(
    task_id: &str,
    seq: u64,
    known: Option<&(u64, Task)>,
    newest_first: impl Iterator<Item = Result<u64, StoreError>>,
    mut fetch: impl FnMut(u64) -> Result<Option<Kept>, StoreError>,
) -> Result<Task, StoreError> {
    let mut deltas = Vec::new();
    let mut base = None;
    for at in newest_first {
        let at = at?;
        if let Some((_, t)) = known.filter(|(k, _)| *k == at) {
            base = Some(t.clone());
            break;
        }
        let Some(kept) = fetch(at)? else {
            continue;
        };
        match (kept.task, kept.delta) {
            (Some(t), _) => {
                base = Some(t);
                break;
            }
            (None, Some(d)) => deltas.push(d),
            (None, None) => {}
        }
    }
    let mut task = base.ok_or_else(|| StoreError::Corrupt {
        key: format!("event {seq}"),
        why: format!("no whole event of task {task_id} before it"),
    })?;
    for d in deltas.iter().rev() {
        d.apply(&mut task);
    }
    Ok(task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_run_from_province_to_village_and_a_prefix_reads_its_longest_area() {
        let all: Vec<&str> = areas("520102001001").collect();
        assert_eq!(all, ["52", "5201", "520102", "520102001", "520102001001"]);
        assert_eq!(areas("5201").count(), 2);
        assert_eq!(area_of("52010"), Some("5201"));
        assert_eq!(area_of("5"), None);
    }

    #[test]
    fn a_token_older_than_retention_is_expired_and_others_resume_after_it() {
        assert_eq!(first_after(0, 0, 10).unwrap(), Some(1));
        assert_eq!(first_after(0, 7, 10).unwrap(), Some(8));
        assert_eq!(first_after(9, 7, 10).unwrap(), Some(10));
        assert_eq!(first_after(9, 7, 0).unwrap(), None);
        assert_eq!(first_after(u64::MAX, 0, 10).unwrap(), None);
        let err = first_after(3, 7, 10).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Expired {
                    token: 3,
                    resume_from: 7
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn an_event_without_a_division_prefix_is_corrupt() {
        let err = split(4, b"52").err().unwrap();
        assert!(
            matches!(&err, StoreError::Corrupt { key, .. } if key == "event 4"),
            "{err:?}"
        );
    }
}
