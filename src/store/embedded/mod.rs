//! The embedded backend of *store*: one redb file under the data
//! directory, behind the [`Store`] trait.
//!
//! redb is a pure-Rust, copy-on-write B-tree store with ACID transactions:
//! a commit returns only after fsync, and a crash at any moment leaves the
//! last committed state. One write transaction per writer step keeps a
//! batch's alerts, tasks, events, index changes and series merges
//! all-or-nothing.
//!
//! # Layout
//!
//! - `mod.rs`: [`EmbeddedStore`] and its [`Store`] impl (alerts, tasks,
//!   the open-pair index, the commit).
//! - `tables.rs`: every table and named row: the on-disk format.
//! - `file.rs`: opening the file, transactions, reopening after an I/O error.
//! - `events.rs`, `series.rs`, `graph_log.rs`, `deadlines.rs`, `audit.rs`,
//!   `person_keys.rs`, `retention.rs`: one part of the store each, over
//!   its own tables; what does not depend on redb (the event record, the
//!   series walk, paging) lives one level up, in [`crate::store`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use redb::{Database, ReadableTable, ReadableTableMetadata};

mod audit;
mod deadlines;
mod events;
mod file;
mod graph_log;
mod person_keys;
mod retention;
mod series;
mod tables;

use self::tables::{
    ALERT_DIGESTS, ALERTS, ALERTS_BY_TIME, COMPACTED_THROUGH, EVENTS, META, NEXT_PAIR, OPEN,
    TASK_ORDER, TASKS,
};
use crate::model::{PersonKeys, Task, TaskEventRecord};
use crate::store::query::{self, order_key};
use crate::store::{
    Commit, Compacted, GraphLogMarks, KeyMigration, KnownAlerts, LoggedAlert, RetentionCut,
    SeriesTasks, Store, StoreError, TaskPage, TaskQuery, WriterState, alert_codec, backend, decode,
    encode,
};

/// Records removed per retention transaction: short write pauses.
const COMPACT_STEP: usize = 4096;
/// File name inside the data directory.
const FILE_NAME: &str = "dualwarn.redb";

/// A redb file holding everything.
pub struct EmbeddedStore {
    /// The open database; `None` only while [`Store::recover`] reopens it.
    db: RwLock<Option<Database>>,
    path: PathBuf,
    cache_bytes: usize,
    /// Set by [`Store::close`]: no reopen after it.
    closed: std::sync::atomic::AtomicBool,
}

/// Default page cache of the embedded store (redb's own default is 1 GiB).
pub const DEFAULT_CACHE_BYTES: usize = 128 * 1024 * 1024;

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// [`EmbeddedStore::open`] with a page cache of `cache_bytes`.
    pub fn open_with_cache(dir: &Path, cache_bytes: usize) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(FILE_NAME);
        let db = Self::open_file(&path, cache_bytes)?;
        Ok(EmbeddedStore {
            db: RwLock::new(Some(db)),
            path,
            cache_bytes,
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub(super) fn read_task(
        tasks: &impl ReadableTable<&'static str, &'static [u8]>,
        id: &str,
    ) -> Result<Option<Task>, StoreError> {
        match tasks.get(id).map_err(backend)? {
            Some(v) => Ok(Some(decode(id, v.value())?)),
            None => Ok(None),
        }
    }
}

impl Store for EmbeddedStore {
    fn load_state(&self) -> Result<WriterState, StoreError> {
        let tx = self.begin_read()?;
        let open_t = tx.open_table(OPEN).map_err(backend)?;
        let tasks = tx.open_table(TASKS).map_err(backend)?;
        let meta = tx.open_table(META).map_err(backend)?;
        let events = tx.open_table(EVENTS).map_err(backend)?;
        let mut state = WriterState::default();
        let mut pairs = HashSet::new();
        for row in open_t.iter().map_err(backend)? {
            let (k, v) = row.map_err(backend)?;
            pairs.insert(v.value().to_string());
            state
                .open
                .push((k.value().to_string(), v.value().to_string()));
        }
        let mut pairs: Vec<String> = pairs.into_iter().collect();
        pairs.sort();
        state.open_tasks.reserve_exact(pairs.len() * 2);
        for pair in pairs {
            for tag in ["police", "grid"] {
                let id = format!("{pair}-{tag}");
                let task = Self::read_task(&tasks, &id)?.ok_or_else(|| StoreError::Corrupt {
                    key: id.clone(),
                    why: "open pair without its task".into(),
                })?;
                state.open_tasks.push(task);
            }
        }
        state.next_pair = meta
            .get(NEXT_PAIR)
            .map_err(backend)?
            .map_or(1, |v| v.value());
        // Retention may have removed every event: numbering goes on.
        state.last_seq = events
            .last()
            .map_err(backend)?
            .map_or(0, |(k, _)| k.value())
            .max(
                meta.get(COMPACTED_THROUGH)
                    .map_err(backend)?
                    .map_or(0, |v| v.value()),
            );
        Ok(state)
    }

    fn recover(&self) -> Result<(), StoreError> {
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(backend("the store is closed (the engine is stopping)"));
        }
        self.reopen()
    }

    fn cursor(&self, name: &str) -> Result<u64, StoreError> {
        let tx = self.begin_read()?;
        let meta = tx.open_table(META).map_err(backend)?;
        let key = format!("cursor/{name}");
        Ok(meta
            .get(key.as_str())
            .map_err(backend)?
            .map_or(0, |v| v.value()))
    }

    fn set_cursor(&self, name: &str, value: u64) -> Result<(), StoreError> {
        let tx = self.begin_write()?;
        {
            let mut meta = tx.open_table(META).map_err(backend)?;
            let key = format!("cursor/{name}");
            meta.insert(key.as_str(), value).map_err(backend)?;
        }
        tx.commit().map_err(backend)
    }

    fn close(&self) -> Result<(), StoreError> {
        let mut guard = self.db.write().unwrap_or_else(|p| p.into_inner());
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        match guard.take() {
            // Writes the free-page map, so the next open needs no repair.
            Some(db) => db.close().map_err(backend),
            None => Ok(()),
        }
    }

    fn last_event_seq(&self) -> Result<u64, StoreError> {
        let tx = self.begin_read()?;
        let events = tx.open_table(EVENTS).map_err(backend)?;
        let meta = tx.open_table(META).map_err(backend)?;
        let last = events
            .last()
            .map_err(backend)?
            .map_or(0, |(k, _)| k.value());
        let compacted = meta
            .get(COMPACTED_THROUGH)
            .map_err(backend)?
            .map_or(0, |v| v.value());
        Ok(last.max(compacted))
    }

    fn person_secret(&self) -> Result<Vec<u8>, StoreError> {
        self.stored_secret()
    }

    fn migrate_person_keys(&self, keys: &PersonKeys) -> Result<KeyMigration, StoreError> {
        self.rekey(keys)
    }

    fn known_alerts(&self, keys: &[&str]) -> Result<KnownAlerts, StoreError> {
        let tx = self.begin_read()?;
        let alerts = tx.open_table(ALERTS).map_err(backend)?;
        let digests = tx.open_table(ALERT_DIGESTS).map_err(backend)?;
        let mut known = KnownAlerts::new();
        for k in keys {
            if let Some(row) = alerts.get(*k).map_err(backend)? {
                let legacy_hashed = row.value().first() == Some(&b'{')
                    && digests.get(*k).map_err(backend)?.is_some();
                let d = alert_codec::record_digest(k, row.value(), legacy_hashed)?;
                known.insert((*k).to_string(), d);
            }
        }
        Ok(known)
    }

    fn commit(&self, c: &Commit) -> Result<(), StoreError> {
        let tx = self.begin_write()?;
        {
            let mut alerts = tx.open_table(ALERTS).map_err(backend)?;
            let mut by_time = tx.open_table(ALERTS_BY_TIME).map_err(backend)?;
            for a in &c.alerts {
                alerts
                    .insert(a.key.as_str(), a.record.as_slice())
                    .map_err(backend)?;
                by_time
                    .insert((a.occurred_at_ms, a.key.as_str()), ())
                    .map_err(backend)?;
            }
            let mut tasks = tx.open_table(TASKS).map_err(backend)?;
            let mut order = tx.open_table(TASK_ORDER).map_err(backend)?;
            for t in &c.tasks {
                tasks
                    .insert(t.id.as_str(), encode(t)?.as_slice())
                    .map_err(backend)?;
                order.insert(order_key(t).as_str(), ()).map_err(backend)?;
            }
            for old in &c.moved_from {
                order.remove(order_key(old).as_str()).map_err(backend)?;
            }
            let mut open = tx.open_table(OPEN).map_err(backend)?;
            for k in &c.open_remove {
                open.remove(k.as_str()).map_err(backend)?;
            }
            for (k, p) in &c.open_insert {
                open.insert(k.as_str(), p.as_str()).map_err(backend)?;
            }
            let mut meta = tx.open_table(META).map_err(backend)?;
            meta.insert(NEXT_PAIR, c.next_pair).map_err(backend)?;
        }
        events::write(&tx, c)?;
        series::write(&tx, c)?;
        graph_log::write(&tx, c)?;
        deadlines::write(&tx, c)?;
        tx.commit().map_err(backend)
    }

    fn task(&self, id: &str) -> Result<Option<Task>, StoreError> {
        let tx = self.begin_read()?;
        let tasks = tx.open_table(TASKS).map_err(backend)?;
        Self::read_task(&tasks, id)
    }

    fn list_tasks(&self, q: &TaskQuery) -> Result<TaskPage, StoreError> {
        let start = q.start_key()?;
        let tx = self.begin_read()?;
        let order = tx.open_table(TASK_ORDER).map_err(backend)?;
        let tasks = tx.open_table(TASKS).map_err(backend)?;
        let keys = order
            .range(start..)
            .map_err(backend)?
            .map(|row| row.map(|(k, _)| k.value().to_string()).map_err(backend));
        query::page(q, keys, |id| Self::read_task(&tasks, id))
    }

    fn events_after(
        &self,
        after: u64,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<TaskEventRecord>, StoreError> {
        self.read_events(after, prefix, limit)
    }

    fn compact(&self, cut: &RetentionCut) -> Result<Compacted, StoreError> {
        // Short transactions until a step removes less than a full one.
        let drain = |step: &dyn Fn() -> Result<u64, StoreError>| {
            let mut total = 0;
            loop {
                let n = step()?;
                total += n;
                if n < COMPACT_STEP as u64 {
                    return Ok::<u64, StoreError>(total);
                }
            }
        };
        Ok(Compacted {
            events: drain(&|| {
                self.compact_events(cut.events_before_ms, cut.events_through_seq, COMPACT_STEP)
            })?,
            alerts: drain(&|| self.compact_alerts(cut.alerts_before_ms, COMPACT_STEP))?,
        })
    }

    fn alerts_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<crate::model::Alert>, StoreError> {
        let tx = self.begin_read()?;
        let by_time = tx.open_table(ALERTS_BY_TIME).map_err(backend)?;
        let alerts = tx.open_table(ALERTS).map_err(backend)?;
        let mut out = Vec::new();
        for row in by_time.range((since_ms, "")..).map_err(backend)? {
            let (k, _) = row.map_err(backend)?;
            let (_, key) = k.value();
            if let Some(v) = alerts.get(key).map_err(backend)? {
                out.push(alert_codec::decode_alert(key, v.value())?);
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn series_tasks(&self, series_id: &str) -> Result<SeriesTasks, StoreError> {
        let tx = self.begin_read()?;
        series::tasks(&tx, series_id)
    }

    fn alert(&self, key: &str) -> Result<Option<crate::model::Alert>, StoreError> {
        let tx = self.begin_read()?;
        let alerts = tx.open_table(ALERTS).map_err(backend)?;
        match alerts.get(key).map_err(backend)? {
            Some(v) => Ok(Some(alert_codec::decode_alert(key, v.value())?)),
            None => Ok(None),
        }
    }

    fn tasks_due(&self, now_ms: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        self.wakes_due(now_ms, limit)
    }

    fn deadline_policy(&self) -> Result<u64, StoreError> {
        self.wake_policy()
    }

    fn reindex_deadlines(
        &self,
        policy: u64,
        wakes: &[(String, Option<i64>)],
    ) -> Result<(), StoreError> {
        self.reindex_wakes(policy, wakes)
    }

    fn append_audit(&self, entry: &crate::model::AuditEntry) -> Result<u64, StoreError> {
        self.append_audit_entry(entry)
    }

    fn audit(
        &self,
        prefix: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<crate::model::AuditEntry>, StoreError> {
        self.audit_entries(prefix, after, limit)
    }

    fn alert_count(&self) -> Result<u64, StoreError> {
        let tx = self.begin_read()?;
        let alerts = tx.open_table(ALERTS).map_err(backend)?;
        alerts.len().map_err(backend)
    }

    fn graph_log_marks(&self) -> Result<GraphLogMarks, StoreError> {
        self.log_marks()
    }

    fn log_import(&self, rows_json: &[u8]) -> Result<u64, StoreError> {
        self.log_import_batch(rows_json)
    }

    fn logged_alerts(&self, after: u64, limit: usize) -> Result<Vec<LoggedAlert>, StoreError> {
        self.alerts_after(after, limit)
    }

    fn logged_imports(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.imports_after(after, limit)
    }
}

#[cfg(test)]
mod tests;
