//! The task event log in the embedded store: the records of
//! [`crate::store::events`] under their sequence numbers in redb, with two
//! indexes for the readers: a task's events in order (for the rebuild),
//! and every event under each administrative prefix of its division
//! (province, city, county, town, village), so a watcher's catch-up reads
//! only its own jurisdiction's events. All three are written in the
//! commit's one transaction.
//!
//! Retention removes the oldest events; the first event each task keeps is
//! rewritten whole, so a rebuild never needs what was removed.

use std::collections::HashMap;

use redb::{ReadableTable, Table, WriteTransaction};

use super::EmbeddedStore;
use super::tables::{AREA_EVENTS, COMPACTED_THROUGH, EVENTS, EVENTS_INDEXED, META, TASK_EVENTS};
use crate::model::{Task, TaskEventRecord};
use crate::store::events::{
    self as event_log, Kept, area_of, areas, first_after, kept_bytes, split,
};
use crate::store::{Commit, StoreError, backend};

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

fn index(
    by_task: &mut Table<(&'static str, u64), ()>,
    by_area: &mut Table<(&'static str, u64), ()>,
    seq: u64,
    task_id: &str,
    division: &str,
) -> Result<(), StoreError> {
    by_task.insert((task_id, seq), ()).map_err(backend)?;
    for area in areas(division) {
        by_area.insert((area, seq), ()).map_err(backend)?;
    }
    Ok(())
}

/// Appends the commit's events with their indexes.
pub(super) fn write(tx: &WriteTransaction, c: &Commit) -> Result<(), StoreError> {
    let mut events = tx.open_table(EVENTS).map_err(backend)?;
    let mut by_task = tx.open_table(TASK_EVENTS).map_err(backend)?;
    let mut by_area = tx.open_table(AREA_EVENTS).map_err(backend)?;
    for e in &c.events {
        let division = e.task.division.to_string();
        let kept = Kept::of(e);
        events
            .insert(e.seq, kept_bytes(&division, &kept)?.as_slice())
            .map_err(backend)?;
        index(&mut by_task, &mut by_area, e.seq, &e.task.id, &division)?;
    }
    Ok(())
}

/// The task `task_id` as it stood after its event `seq`
/// ([`event_log::rebuild`] over this store's tables).
fn rebuild(
    events: &impl ReadableTable<u64, &'static [u8]>,
    by_task: &impl ReadableTable<(&'static str, u64), ()>,
    task_id: &str,
    seq: u64,
    known: Option<&(u64, Task)>,
) -> Result<Task, StoreError> {
    let newest_first = by_task
        .range((task_id, 0)..=(task_id, seq))
        .map_err(backend)?
        .rev()
        .map(|row| row.map(|(k, _)| k.value().1).map_err(backend));
    event_log::rebuild(task_id, seq, known, newest_first, |at| {
        match events.get(at).map_err(backend)? {
            Some(v) => Ok(Some(split(at, v.value())?.1)),
            None => Ok(None),
        }
    })
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
        let mut out = Vec::new();
        let Some(from) = first_after(after, through, limit)? else {
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
    pub(super) fn compact_events(
        &self,
        before_ms: i64,
        through_seq: u64,
        max: usize,
    ) -> Result<u64, StoreError> {
        let tx = self.begin_write()?;
        let removed = {
            let mut events = tx.open_table(EVENTS).map_err(backend)?;
            let mut by_task = tx.open_table(TASK_EVENTS).map_err(backend)?;
            let mut by_area = tx.open_table(AREA_EVENTS).map_err(backend)?;
            let mut old = Vec::new();
            for row in events.iter().map_err(backend)?.take(max) {
                let (k, v) = row.map_err(backend)?;
                let (division, kept) = split(k.value(), v.value())?;
                if kept.at_ms() >= before_ms || k.value() > through_seq {
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
                for area in areas(division) {
                    by_area.remove((area, *seq)).map_err(backend)?;
                }
            }
            // Each task's first remaining event becomes whole.
            for (id, (_, task)) in states {
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
                let (division, kept) = split(seq, &bytes)?;
                if let Some(whole) = kept.made_whole(&id, task) {
                    events
                        .insert(seq, kept_bytes(&division, &whole)?.as_slice())
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
