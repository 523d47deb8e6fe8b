//! The embedded backend: one redb file under the data directory.
//!
//! redb is a pure-Rust, copy-on-write B-tree store with ACID transactions:
//! a commit returns only after fsync, and a crash at any moment leaves the
//! last committed state. One write transaction per writer step keeps a
//! batch's alerts, tasks, events, index changes and series merges
//! all-or-nothing; the series tables are in `series.rs`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    WriteTransaction,
};

mod audit;
mod deadlines;
mod events;
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
use crate::store::query::order_key;
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

    /// Opens the file and makes sure every table exists.
    fn open_file(path: &Path, cache_bytes: usize) -> Result<Database, StoreError> {
        let started = std::time::Instant::now();
        let last_logged = std::sync::atomic::AtomicU64::new(u64::MAX);
        let db = redb::Builder::new()
            .set_cache_size(cache_bytes)
            .set_repair_callback(move |session| {
                // Whole tenths only: the callback runs many times a second.
                let tenth = (session.progress() * 10.0) as u64;
                if last_logged.swap(tenth, std::sync::atomic::Ordering::Relaxed) != tenth {
                    tracing::warn!(
                        progress_pct = tenth * 10,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "store not closed cleanly: rebuilding its free-page map"
                    );
                }
            })
            .create(path)
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        let tx = db.begin_write().map_err(backend)?;
        {
            tx.open_table(ALERTS).map_err(backend)?;
            tx.open_table(TASKS).map_err(backend)?;
            tx.open_table(TASK_ORDER).map_err(backend)?;
            events::create_tables(&tx)?;
            tx.open_table(OPEN).map_err(backend)?;
            tx.open_table(META).map_err(backend)?;
            tx.open_table(ALERTS_BY_TIME).map_err(backend)?;
            tx.open_table(ALERT_DIGESTS).map_err(backend)?;
            series::create_tables(&tx)?;
            audit::create_tables(&tx)?;
            deadlines::create_tables(&tx)?;
            graph_log::create_tables(&tx)?;
        }
        tx.commit().map_err(backend)?;
        Ok(db)
    }

    fn db(&self) -> Result<std::sync::RwLockReadGuard<'_, Option<Database>>, StoreError> {
        // A poisoned lock only means a panic elsewhere; the database is fine.
        let guard = self.db.read().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            if self.closed.load(std::sync::atomic::Ordering::Acquire) {
                return Err(backend("the store is closed (the engine is stopping)"));
            }
            return Err(backend("the store is being reopened after an I/O failure"));
        }
        Ok(guard)
    }

    pub(super) fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        match self.db()?.as_ref() {
            Some(db) => db.begin_read().map_err(backend),
            None => Err(backend("store closed")),
        }
    }

    pub(super) fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        match self.db()?.as_ref() {
            Some(db) => {
                let mut tx = db.begin_write().map_err(backend)?;
                // Each commit also records the free-page map, so an open
                // after a crash does not walk the whole file to rebuild it
                // (seconds per GB); no cost measurable end to end.
                tx.set_quick_repair(true);
                Ok(tx)
            }
            None => Err(backend("store closed")),
        }
    }

    /// Closes and reopens the file: after an I/O error (a full disk) redb
    /// refuses further work until it is reopened, and reopening is its
    /// recovery. Retries for a while if readers still hold the old file.
    fn reopen(&self) -> Result<(), StoreError> {
        let mut guard = self.db.write().unwrap_or_else(|p| p.into_inner());
        drop(guard.take());
        let mut last = None;
        for attempt in 0..20u32 {
            match Self::open_file(&self.path, self.cache_bytes) {
                Ok(db) => {
                    *guard = Some(db);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(std::time::Duration::from_millis(
                10 * u64::from(attempt + 1),
            ));
        }
        Err(last.unwrap_or_else(|| backend("cannot reopen the store")))
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
        let start = match &q.page_token {
            Some(t) if !t.starts_with(&q.prefix) => {
                return Err(StoreError::BadPageToken(t.clone()));
            }
            Some(t) => t.clone(),
            None => q.prefix.clone(),
        };
        let tx = self.begin_read()?;
        let order = tx.open_table(TASK_ORDER).map_err(backend)?;
        let tasks = tx.open_table(TASKS).map_err(backend)?;
        let mut page = TaskPage::default();
        for row in order.range(start.as_str()..).map_err(backend)? {
            let (k, _) = row.map_err(backend)?;
            let key = k.value();
            if !key.starts_with(&q.prefix) {
                break;
            }
            if q.page_token.as_deref() == Some(key) {
                continue;
            }
            let id = key.split_once('/').map_or(key, |(_, id)| id);
            let Some(task) = Self::read_task(&tasks, id)? else {
                continue;
            };
            if !q.matches(&task) {
                continue;
            }
            if page.tasks.len() == q.page_size {
                page.next_page_token = page.tasks.last().map(order_key);
                break;
            }
            page.tasks.push(task);
        }
        Ok(page)
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
            events: drain(&|| self.compact_events(cut.events_before_ms, COMPACT_STEP))?,
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
mod tests {
    use super::*;
    use crate::config::Deadlines;
    use crate::model::{Outcome, Role, TaskStatus};
    use crate::pipeline::{Writer, prepare};
    use crate::proto;
    use crate::store::testkit::{DIR, NOW, apply, matcher, report, villages};

    /// A store kept before keyed person MACs (raw `ph:` open keys, alerts
    /// without keys, unkeyed task keys) is re-keyed once, whole.
    #[test]
    fn a_store_from_before_keyed_macs_is_rekeyed_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let mut w = Writer::from_state(WriterState::default(), Deadlines::default(), matcher());
        let batch = prepare(
            &proto::AlertBatch {
                sequence: 1,
                alerts: vec![report("r1", 1, &villages()[0])],
            },
            &DIR,
            crate::normalize::Checks::at(NOW),
        );
        let (mut c, _) = w.apply_batch(&batch, &KnownAlerts::new(), NOW);
        // Make it look as an older build wrote it.
        c.open_insert = vec![("ph:13900000001".into(), c.open_insert[0].1.clone())];
        for a in &mut c.alerts {
            // An older build kept alerts as JSON, without keys.
            let mut alert = super::alert_codec::decode_alert(&a.key, &a.record).unwrap();
            alert.subject.keys = Default::default();
            a.record = serde_json::to_vec(&alert).unwrap();
        }
        for t in &mut c.tasks {
            t.subject_key = "0123456789abcdef".into();
        }
        store.commit(&c).unwrap();

        let keys = PersonKeys::new(b"a test installation secret");
        let done = store.migrate_person_keys(&keys).unwrap();
        assert_eq!(
            (done.open_keys, done.tasks, done.alerts, done.legacy),
            (1, 2, 1, true)
        );
        let want = keys.key("13900000001", "");
        let state = store.load_state().unwrap();
        assert_eq!(state.open[0].0, want.identity[0]);
        assert!(
            state
                .open_tasks
                .iter()
                .all(|t| t.subject_key == want.subject)
        );
        let alert = &store.alerts_since(0, 10).unwrap()[0];
        assert_eq!(alert.subject.keys, want);
        // A re-send, normalized under the same keys, is a duplicate.
        let known = store.known_alerts(&["test-src/r1"]).unwrap();
        let resend = prepare(
            &proto::AlertBatch {
                sequence: 2,
                alerts: vec![report("r1", 1, &villages()[0])],
            },
            &DIR,
            crate::normalize::Checks {
                keys: &keys,
                ..crate::normalize::Checks::at(NOW)
            },
        );
        assert_eq!(known["test-src/r1"], Some(resend.items[0].digest));
        // Once only.
        assert_eq!(
            store.migrate_person_keys(&keys).unwrap(),
            KeyMigration::default()
        );
    }

    /// Four persons, two per village, one pair each: 8 tasks, 8 events.
    fn fill(store: &EmbeddedStore) -> (Writer, Vec<Commit>) {
        let [a, b] = villages();
        let mut w =
            Writer::from_state(store.load_state().unwrap(), Deadlines::default(), matcher());
        let first = apply(
            store,
            &mut w,
            vec![report("r1", 1, &a), report("r2", 2, &b)],
        );
        let second = apply(
            store,
            &mut w,
            vec![report("r3", 3, &a), report("r4", 4, &b)],
        );
        (w, vec![first, second])
    }

    fn all_tasks(commits: &[Commit]) -> Vec<Task> {
        let mut tasks: Vec<Task> = commits.iter().flat_map(|c| c.tasks.clone()).collect();
        tasks.sort_by_key(order_key);
        tasks
    }

    fn query(prefix: &str, page_size: usize, page_token: Option<String>) -> TaskQuery {
        TaskQuery {
            prefix: prefix.into(),
            page_size,
            page_token,
            ..TaskQuery::default()
        }
    }

    /// Pages through `prefix` one task at a time; returns the ids in order.
    fn page_through(store: &EmbeddedStore, prefix: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let page = store.list_tasks(&query(prefix, 1, token)).unwrap();
            assert!(page.tasks.len() <= 1);
            ids.extend(page.tasks.iter().map(|t| t.id.clone()));
            token = page.next_page_token;
            if token.is_none() {
                return ids;
            }
            assert!(ids.len() <= 100, "paging does not end");
        }
    }

    #[test]
    fn committed_state_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let (mut w, mut commits) = fill(&store);
        let pair1 = commits[0].tasks[0].pair_id.clone();
        let closing: Vec<String> = commits[0].tasks[..2].iter().map(|t| t.id.clone()).collect();
        for id in &closing {
            let (c, _) = w.acknowledge(id, "officer", NOW).unwrap();
            store.commit(&c).unwrap();
            commits.push(c);
            let (c, _) = w
                .report_outcome(
                    id,
                    "officer",
                    Outcome {
                        code: crate::model::OutcomeCode::Dissuaded,
                        ..Outcome::default()
                    },
                    NOW,
                )
                .unwrap();
            store.commit(&c).unwrap();
            commits.push(c);
        }
        drop(store);

        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(store.alert_count().unwrap(), 4);
        let known = store
            .known_alerts(&["test-src/r1", "test-src/r4", "test-src/r9"])
            .unwrap();
        let mut keys: Vec<_> = known.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["test-src/r1", "test-src/r4"]);
        assert!(known.values().all(Option::is_some), "{known:?}");

        // The last snapshot of each task is what the store holds.
        let mut latest: std::collections::HashMap<String, Task> = Default::default();
        for t in commits.iter().flat_map(|c| c.tasks.clone()) {
            latest.insert(t.id.clone(), t);
        }
        assert_eq!(latest.len(), 8);
        for t in latest.values() {
            assert_eq!(store.task(&t.id).unwrap().as_ref(), Some(t));
        }
        assert_eq!(
            store.task(&closing[0]).unwrap().unwrap().status,
            TaskStatus::Done
        );
        assert_eq!(store.task("P0000000099-police").unwrap(), None);

        let state = store.load_state().unwrap();
        assert_eq!(state.next_pair, 5);
        assert_eq!(state.last_seq, 12);
        let mut open_keys: Vec<String> = state.open.iter().map(|(k, _)| k.clone()).collect();
        open_keys.sort();
        let keys = crate::model::PersonKeys::offline();
        let mut want: Vec<String> = ["ph:13900000002", "ph:13900000003", "ph:13900000004"]
            .iter()
            .map(|raw| keys.identity_of_raw(raw))
            .collect();
        want.sort();
        assert_eq!(open_keys, want);
        assert!(state.open.iter().all(|(_, p)| *p != pair1));
        assert_eq!(state.open_tasks.len(), 6);
        for t in &state.open_tasks {
            assert_eq!(Some(t), latest.get(&t.id));
            assert_ne!(t.pair_id, pair1);
        }

        let events = store.events_after(0, "", 100).unwrap();
        let written: Vec<TaskEventRecord> = commits.iter().flat_map(|c| c.events.clone()).collect();
        assert_eq!(events, written);
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (1..=12).collect::<Vec<_>>()
        );
    }

    #[test]
    fn reopened_writer_joins_open_pairs_and_continues_numbering() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let (_, commits) = fill(&store);
        drop(store);

        let store = EmbeddedStore::open(dir.path()).unwrap();
        let mut w =
            Writer::from_state(store.load_state().unwrap(), Deadlines::default(), matcher());
        assert_eq!(w.open_pairs(), 4);
        let [a, _] = villages();
        // r1 again is known; r5 is a duplicate warning for person 1.
        let c = apply(
            &store,
            &mut w,
            vec![
                report("r1", 1, &a),
                report("r5", 1, &a),
                report("r6", 5, &a),
            ],
        );
        assert_eq!(c.alerts.len(), 2);
        assert_eq!(
            c.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [9, 10, 11, 12]
        );
        let merged: Vec<&Task> = c
            .tasks
            .iter()
            .filter(|t| t.pair_id == commits[0].tasks[0].pair_id)
            .collect();
        assert_eq!(merged.len(), 2);
        assert!(
            merged
                .iter()
                .all(|t| t.alert_keys == ["test-src/r1", "test-src/r5"])
        );
        assert!(c.tasks.iter().any(|t| t.pair_id == "P0000000005"));
    }

    #[test]
    fn list_tasks_pages_every_task_once_in_stable_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let (_, commits) = fill(&store);
        let expected: Vec<String> = all_tasks(&commits).into_iter().map(|t| t.id).collect();
        assert_eq!(expected.len(), 8);

        assert_eq!(page_through(&store, ""), expected);
        // Same answer twice: the order is stable.
        assert_eq!(page_through(&store, ""), expected);
        let whole = store.list_tasks(&query("", 100, None)).unwrap();
        assert_eq!(
            whole.tasks.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
            expected
        );
        assert_eq!(whole.next_page_token, None);
    }

    #[test]
    fn list_tasks_under_a_prefix_returns_only_that_jurisdiction() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let (_, commits) = fill(&store);
        let [a, b] = villages();
        for (village, other) in [(&a, &b), (&b, &a)] {
            let prefix = &village[..4];
            assert!(!other.starts_with(prefix), "test needs two prefectures");
            let expected: Vec<String> = all_tasks(&commits)
                .into_iter()
                .filter(|t| t.division.to_string().starts_with(prefix))
                .map(|t| t.id)
                .collect();
            assert_eq!(expected.len(), 4);
            assert_eq!(page_through(&store, prefix), expected);
        }
        let grid_workers = TaskQuery {
            overdue_at: None,
            role: Some(Role::GridWorker),
            ..query(&a[..4], 10, None)
        };
        let page = store.list_tasks(&grid_workers).unwrap();
        assert_eq!(page.tasks.len(), 2);
        assert!(page.tasks.iter().all(|t| t.role == Role::GridWorker));
        assert!(
            store
                .list_tasks(&query("53", 10, None))
                .unwrap()
                .tasks
                .is_empty()
        );
    }

    #[test]
    fn page_token_from_another_prefix_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        fill(&store);
        let [a, b] = villages();
        let token = store
            .list_tasks(&query(&b[..4], 1, None))
            .unwrap()
            .next_page_token
            .unwrap();
        let err = store
            .list_tasks(&query(&a[..4], 1, Some(token.clone())))
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::BadPageToken(t) if *t == token),
            "{err:?}"
        );
    }

    #[test]
    fn events_after_returns_later_events_under_the_prefix_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let (_, commits) = fill(&store);
        let all: Vec<TaskEventRecord> = commits.iter().flat_map(|c| c.events.clone()).collect();
        let [a, b] = villages();
        for prefix in [&a[..4], &b[..4], &a[..], ""] {
            for after in [0, 2, 5, 8] {
                let expected: Vec<TaskEventRecord> = all
                    .iter()
                    .filter(|e| e.seq > after && e.task.division.to_string().starts_with(prefix))
                    .cloned()
                    .collect();
                let got = store.events_after(after, prefix, 100).unwrap();
                assert_eq!(got, expected, "after {after} under {prefix:?}");
                let limited = store.events_after(after, prefix, 1).unwrap();
                assert_eq!(
                    limited,
                    expected.iter().take(1).cloned().collect::<Vec<_>>()
                );
            }
        }
        assert!(store.events_after(u64::MAX, "", 10).unwrap().is_empty());
    }

    #[test]
    fn events_after_with_limit_zero_returns_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        fill(&store);
        assert_eq!(store.events_after(0, "", 0).unwrap().len(), 0);
    }
}
