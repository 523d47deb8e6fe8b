//! The task event log in the embedded store, kept as deltas.
//!
//! The writer logs each event with the change it made ([`TaskDelta`]); a
//! creation, and every [`WHOLE_EVERY`]th event of a task, is kept whole.
//! Reading an event rebuilds the task as it stood after it: from the last
//! whole event of that task, applying the deltas that follow, with the very
//! function the writer used. Two indexes serve the readers: a task's events
//! in order (for the rebuild), and every event under each administrative
//! prefix of its division (province, city, county, town, village), so a
//! watcher's catch-up reads only its own jurisdiction's events.
//!
//! Retention removes the oldest events; the first event each task keeps is
//! rewritten whole, so a rebuild never needs what was removed. A resume
//! token older than what was removed gets [`StoreError::Expired`].

use std::collections::HashMap;

use redb::{ReadableTable, Table, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::EmbeddedStore;
use super::tables::{AREA_EVENTS, COMPACTED_THROUGH, EVENTS, EVENTS_INDEXED, META, TASK_EVENTS};
use crate::model::{Task, TaskDelta, TaskEventKind, TaskEventRecord};
use crate::store::{Commit, StoreError, backend, decode, encode};

/// Length of the division prefix on event values.
const DIVISION_LEN: usize = 12;
/// Prefix lengths of province, city, county, town and village.
const AREA_LENS: [usize; 5] = [2, 4, 6, 9, 12];

/// One event as kept. Events written before deltas (`{seq, kind, task}`)
/// decode as whole events.
#[derive(Serialize, Deserialize)]
struct Kept {
    kind: TaskEventKind,
    #[serde(default)]
    task_id: String,
    #[serde(default)]
    at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task: Option<Task>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delta: Option<TaskDelta>,
}

impl Kept {
    fn task_id(&self) -> &str {
        match &self.task {
            Some(t) if self.task_id.is_empty() => &t.id,
            _ => &self.task_id,
        }
    }

    fn at_ms(&self) -> i64 {
        match (&self.task, &self.delta) {
            _ if self.at_ms != 0 => self.at_ms,
            (_, Some(d)) => d.history.at_ms,
            (Some(t), None) => t.history.last().map_or(0, |h| h.at_ms),
            (None, None) => 0,
        }
    }
}

/// Creates the tables, and indexes events kept before the indexes were.
pub(super) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    let events = tx.open_table(EVENTS).map_err(backend)?;
    let mut by_task = tx.open_table(TASK_EVENTS).map_err(backend)?;
    let mut by_area = tx.open_table(AREA_EVENTS).map_err(backend)?;
    let mut meta = tx.open_table(META).map_err(backend)?;
    if meta.get(EVENTS_INDEXED).map_err(backend)?.is_some() {
        return Ok(());
    }
    for row in events.iter().map_err(backend)? {
        let (k, v) = row.map_err(backend)?;
        let seq = k.value();
        let (division, kept) = split(seq, v.value())?;
        index(&mut by_task, &mut by_area, seq, kept.task_id(), &division)?;
    }
    meta.insert(EVENTS_INDEXED, 1).map_err(backend)?;
    Ok(())
}

fn split(seq: u64, bytes: &[u8]) -> Result<(String, Kept), StoreError> {
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

fn index(
    by_task: &mut Table<(&'static str, u64), ()>,
    by_area: &mut Table<(&'static str, u64), ()>,
    seq: u64,
    task_id: &str,
    division: &str,
) -> Result<(), StoreError> {
    by_task.insert((task_id, seq), ()).map_err(backend)?;
    for n in AREA_LENS.into_iter().filter(|n| *n <= division.len()) {
        by_area.insert((&division[..n], seq), ()).map_err(backend)?;
    }
    Ok(())
}

fn kept_bytes(division: &str, kept: &Kept) -> Result<Vec<u8>, StoreError> {
    let mut value = division.as_bytes().to_vec();
    value.extend_from_slice(&encode(kept)?);
    Ok(value)
}

/// Appends the commit's events with their indexes.
pub(super) fn write(tx: &WriteTransaction, c: &Commit) -> Result<(), StoreError> {
    let mut events = tx.open_table(EVENTS).map_err(backend)?;
    let mut by_task = tx.open_table(TASK_EVENTS).map_err(backend)?;
    let mut by_area = tx.open_table(AREA_EVENTS).map_err(backend)?;
    for e in &c.events {
        let division = e.task.division.to_string();
        let kept = Kept {
            kind: e.kind,
            task_id: e.task.id.clone(),
            at_ms: e.task.history.last().map_or(0, |h| h.at_ms),
            task: e.delta.is_none().then(|| e.task.clone()),
            delta: e.delta.clone(),
        };
        events
            .insert(e.seq, kept_bytes(&division, &kept)?.as_slice())
            .map_err(backend)?;
        index(&mut by_task, &mut by_area, e.seq, &e.task.id, &division)?;
    }
    Ok(())
}

/// The task `task_id` as it stood after its event `seq`, from the last
/// whole event at or before it (or `known`, its state after an earlier event).
fn rebuild(
    events: &impl ReadableTable<u64, &'static [u8]>,
    by_task: &impl ReadableTable<(&'static str, u64), ()>,
    task_id: &str,
    seq: u64,
    known: Option<&(u64, Task)>,
) -> Result<Task, StoreError> {
    let mut deltas = Vec::new();
    let mut base = None;
    for row in by_task
        .range((task_id, 0)..=(task_id, seq))
        .map_err(backend)?
        .rev()
    {
        let at = row.map_err(backend)?.0.value().1;
        if let Some((_, t)) = known.filter(|(k, _)| *k == at) {
            base = Some(t.clone());
            break;
        }
        let Some(v) = events.get(at).map_err(backend)? else {
            continue;
        };
        let (_, kept) = split(at, v.value())?;
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

/// The longest administrative prefix within `prefix`, if any.
fn area_of(prefix: &str) -> Option<&str> {
    AREA_LENS
        .into_iter()
        .rev()
        .find(|n| *n <= prefix.len())
        .map(|n| &prefix[..n])
}

impl EmbeddedStore {
    pub(super) fn read_events(
        &self,
        after: u64,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<TaskEventRecord>, StoreError> {
        let tx = self.begin_read()?;
        let events = tx.open_table(EVENTS).map_err(backend)?;
        let by_task = tx.open_table(TASK_EVENTS).map_err(backend)?;
        let by_area = tx.open_table(AREA_EVENTS).map_err(backend)?;
        let meta = tx.open_table(META).map_err(backend)?;
        let through = meta
            .get(COMPACTED_THROUGH)
            .map_err(backend)?
            .map_or(0, |v| v.value());
        if after > 0 && after < through {
            return Err(StoreError::Expired {
                token: after,
                resume_from: through,
            });
        }
        let mut out = Vec::new();
        let Some(from) = after.max(through).checked_add(1).filter(|_| limit > 0) else {
            return Ok(out);
        };
        let seqs: Box<dyn Iterator<Item = Result<u64, StoreError>>> = match area_of(prefix) {
            Some(area) => Box::new(
                by_area
                    .range((area, from)..=(area, u64::MAX))
                    .map_err(backend)?
                    .map(|r| r.map(|(k, _)| k.value().1).map_err(backend)),
            ),
            None => Box::new(
                events
                    .range(from..)
                    .map_err(backend)?
                    .map(|r| r.map(|(k, _)| k.value()).map_err(backend)),
            ),
        };
        let mut states: HashMap<String, (u64, Task)> = HashMap::new();
        for seq in seqs {
            let seq = seq?;
            let Some(v) = events.get(seq).map_err(backend)? else {
                continue;
            };
            let (division, kept) = split(seq, v.value())?;
            if !division.starts_with(prefix) {
                continue;
            }
            let task = match kept.task {
                Some(t) => t,
                None => rebuild(
                    &events,
                    &by_task,
                    &kept.task_id,
                    seq,
                    states.get(&kept.task_id),
                )?,
            };
            states.insert(task.id.clone(), (seq, task.clone()));
            out.push(TaskEventRecord {
                seq,
                kind: kept.kind,
                task,
                delta: None,
            });
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// Removes up to `max` of the oldest events that happened before
    /// `before_ms`; returns how many went.
    pub(super) fn compact_events(&self, before_ms: i64, max: usize) -> Result<u64, StoreError> {
        let tx = self.begin_write()?;
        let removed = {
            let mut events = tx.open_table(EVENTS).map_err(backend)?;
            let mut by_task = tx.open_table(TASK_EVENTS).map_err(backend)?;
            let mut by_area = tx.open_table(AREA_EVENTS).map_err(backend)?;
            let mut old = Vec::new();
            for row in events.iter().map_err(backend)?.take(max) {
                let (k, v) = row.map_err(backend)?;
                let (division, kept) = split(k.value(), v.value())?;
                if kept.at_ms() >= before_ms {
                    break;
                }
                old.push((k.value(), division, kept));
            }
            let Some(last) = old.last().map(|(s, _, _)| *s) else {
                return Ok(0);
            };
            // The state of each task after its last removed event.
            let mut states: HashMap<String, (u64, Task)> = HashMap::new();
            for (seq, _, kept) in &old {
                let id = kept.task_id().to_string();
                let task = match &kept.task {
                    Some(t) => t.clone(),
                    None => rebuild(&events, &by_task, &id, *seq, states.get(&id))?,
                };
                states.insert(id, (*seq, task));
            }
            for (seq, division, kept) in &old {
                events.remove(*seq).map_err(backend)?;
                by_task.remove((kept.task_id(), *seq)).map_err(backend)?;
                for n in AREA_LENS.into_iter().filter(|n| *n <= division.len()) {
                    by_area.remove((&division[..n], *seq)).map_err(backend)?;
                }
            }
            // Each task's first remaining event becomes whole.
            for (id, (_, mut task)) in states {
                let next = by_task
                    .range((id.as_str(), last + 1)..=(id.as_str(), u64::MAX))
                    .map_err(backend)?
                    .next()
                    .transpose()
                    .map_err(backend)?
                    .map(|(k, _)| k.value().1);
                let Some(seq) = next else { continue };
                let Some(bytes) = events
                    .get(seq)
                    .map_err(backend)?
                    .map(|v| v.value().to_vec())
                else {
                    continue;
                };
                let (division, mut kept) = split(seq, &bytes)?;
                kept.at_ms = kept.at_ms();
                if let Some(d) = kept.delta.take() {
                    d.apply(&mut task);
                    kept.task_id = id.clone();
                    kept.task = Some(task);
                    events
                        .insert(seq, kept_bytes(&division, &kept)?.as_slice())
                        .map_err(backend)?;
                }
            }
            let mut meta = tx.open_table(META).map_err(backend)?;
            meta.insert(COMPACTED_THROUGH, last).map_err(backend)?;
            old.len() as u64
        };
        tx.commit().map_err(backend)?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests;
