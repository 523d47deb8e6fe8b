//! The deadline index of the embedded store (逾期调度索引): each open task's
//! next wake-up time, when an escalation or a reminder falls due
//! ([`crate::model::escalation::next_due_at`]). The escalation check reads
//! the tasks due by now with one range read instead of scanning every open
//! task, and a restart finds what fell due while the engine was down.
//!
//! The wake times depend on the escalation policy, so the policy they were
//! computed with is kept beside them; the wiring re-indexes the open tasks
//! when the policy in force differs.

use redb::{ReadableTable, WriteTransaction};

use super::EmbeddedStore;
use super::tables::{DEADLINE_POLICY, META, WAKE_OF, WAKES};
use crate::store::{Commit, StoreError, backend};

/// Creates the tables in a new store.
pub(super) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(WAKES).map_err(backend)?;
    tx.open_table(WAKE_OF).map_err(backend)?;
    Ok(())
}

/// Moves each task of `c.wakes` to its new wake-up time, or out of the index.
pub(super) fn write(tx: &WriteTransaction, c: &Commit) -> Result<(), StoreError> {
    if c.wakes.is_empty() {
        return Ok(());
    }
    let mut wakes = tx.open_table(WAKES).map_err(backend)?;
    let mut wake_of = tx.open_table(WAKE_OF).map_err(backend)?;
    for (id, at) in &c.wakes {
        let old = wake_of
            .get(id.as_str())
            .map_err(backend)?
            .map(|v| v.value());
        if old == *at {
            continue;
        }
        if let Some(old) = old {
            wakes.remove((old, id.as_str())).map_err(backend)?;
        }
        match at {
            Some(at) => {
                wakes.insert((*at, id.as_str()), ()).map_err(backend)?;
                wake_of.insert(id.as_str(), *at).map_err(backend)?;
            }
            None => {
                wake_of.remove(id.as_str()).map_err(backend)?;
            }
        }
    }
    Ok(())
}

impl EmbeddedStore {
    /// Up to `limit` task ids whose wake-up time is at or before `now_ms`,
    /// earliest first.
    pub(super) fn wakes_due(&self, now_ms: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        let tx = self.begin_read()?;
        let wakes = tx.open_table(WAKES).map_err(backend)?;
        let mut ids = Vec::new();
        for row in wakes.range((i64::MIN, "")..).map_err(backend)? {
            let (k, _) = row.map_err(backend)?;
            let (at, id) = k.value();
            if at > now_ms || ids.len() == limit {
                break;
            }
            ids.push(id.to_string());
        }
        Ok(ids)
    }

    /// The fingerprint of the policy the index was last built with (0 for none).
    pub(super) fn wake_policy(&self) -> Result<u64, StoreError> {
        let tx = self.begin_read()?;
        let meta = tx.open_table(META).map_err(backend)?;
        Ok(meta
            .get(DEADLINE_POLICY)
            .map_err(backend)?
            .map_or(0, |v| v.value()))
    }

    /// Replaces the whole index with `wakes`, computed under `policy`.
    pub(super) fn reindex_wakes(
        &self,
        policy: u64,
        wakes: &[(String, Option<i64>)],
    ) -> Result<(), StoreError> {
        let tx = self.begin_write()?;
        {
            tx.delete_table(WAKES).map_err(backend)?;
            tx.delete_table(WAKE_OF).map_err(backend)?;
            let mut by_time = tx.open_table(WAKES).map_err(backend)?;
            let mut wake_of = tx.open_table(WAKE_OF).map_err(backend)?;
            for (id, at) in wakes {
                if let Some(at) = at {
                    by_time.insert((*at, id.as_str()), ()).map_err(backend)?;
                    wake_of.insert(id.as_str(), *at).map_err(backend)?;
                }
            }
            let mut meta = tx.open_table(META).map_err(backend)?;
            meta.insert(DEADLINE_POLICY, policy).map_err(backend)?;
        }
        tx.commit().map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn wakes(pairs: &[(&str, Option<i64>)]) -> Commit {
        Commit {
            wakes: pairs.iter().map(|(id, at)| (id.to_string(), *at)).collect(),
            ..Commit::default()
        }
    }

    #[test]
    fn a_task_is_due_once_by_its_latest_wake_and_leaves_when_closed() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        store
            .commit(&wakes(&[
                ("T-1", Some(100)),
                ("T-2", Some(50)),
                ("T-3", Some(500)),
            ]))
            .unwrap();
        assert_eq!(store.tasks_due(99, 10).unwrap(), ["T-2"]);
        assert_eq!(store.tasks_due(100, 10).unwrap(), ["T-2", "T-1"]);
        assert_eq!(store.tasks_due(100, 1).unwrap(), ["T-2"]);
        // T-2 escalated: its next wake is later; T-1 closed.
        store
            .commit(&wakes(&[("T-2", Some(400)), ("T-1", None)]))
            .unwrap();
        assert!(store.tasks_due(399, 10).unwrap().is_empty());
        assert_eq!(store.tasks_due(1_000, 10).unwrap(), ["T-2", "T-3"]);
    }

    #[test]
    fn a_reindex_replaces_everything_and_remembers_the_policy() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(store.deadline_policy().unwrap(), 0);
        store.commit(&wakes(&[("T-1", Some(100))])).unwrap();
        store
            .reindex_deadlines(2, &[("T-9".into(), Some(7)), ("T-8".into(), None)])
            .unwrap();
        assert_eq!(store.deadline_policy().unwrap(), 2);
        assert_eq!(store.tasks_due(i64::MAX, 10).unwrap(), ["T-9"]);
        // The index survives a reopen.
        drop(store);
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(store.tasks_due(i64::MAX, 10).unwrap(), ["T-9"]);
    }
}
