//! The embedded backend: one redb file under the data directory.
//!
//! redb is a pure-Rust, copy-on-write B-tree store with ACID transactions:
//! a commit returns only after fsync, and a crash at any moment leaves the
//! last committed state. One write transaction per writer step keeps a
//! batch's alerts, tasks, events and index changes all-or-nothing.

use std::collections::HashSet;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::query::order_key;
use super::{Commit, Store, StoreError, TaskPage, TaskQuery, WriterState};
use crate::model::{Task, TaskEventRecord};

/// Alert key → alert JSON.
const ALERTS: TableDefinition<&str, &[u8]> = TableDefinition::new("alerts");
/// Task id → task JSON.
const TASKS: TableDefinition<&str, &[u8]> = TableDefinition::new("tasks");
/// `division/task_id` → (), the stable list order and jurisdiction index.
const TASK_ORDER: TableDefinition<&str, ()> = TableDefinition::new("task_order");
/// Event sequence → 12-digit division followed by the event JSON.
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// Identity key → open pair id.
const OPEN: TableDefinition<&str, &str> = TableDefinition::new("open_pairs");
/// Counters.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// File name inside the data directory.
const FILE_NAME: &str = "dualwarn.redb";
/// Length of the division prefix on event values.
const DIVISION_LEN: usize = 12;

/// A redb file holding everything.
pub struct EmbeddedStore {
    db: Database,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        why: e.to_string(),
    })
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(backend)
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        let db = Database::create(dir.join(FILE_NAME))
            .map_err(|e| backend(format!("cannot open {}: {e}", dir.join(FILE_NAME).display())))?;
        let tx = db.begin_write().map_err(backend)?;
        {
            tx.open_table(ALERTS).map_err(backend)?;
            tx.open_table(TASKS).map_err(backend)?;
            tx.open_table(TASK_ORDER).map_err(backend)?;
            tx.open_table(EVENTS).map_err(backend)?;
            tx.open_table(OPEN).map_err(backend)?;
            tx.open_table(META).map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        Ok(EmbeddedStore { db })
    }

    fn read_task(tasks: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<Option<Task>, StoreError> {
        match tasks.get(id).map_err(backend)? {
            Some(v) => Ok(Some(decode(id, v.value())?)),
            None => Ok(None),
        }
    }
}

impl Store for EmbeddedStore {
    fn load_state(&self) -> Result<WriterState, StoreError> {
        let tx = self.db.begin_read().map_err(backend)?;
        let open_t = tx.open_table(OPEN).map_err(backend)?;
        let tasks = tx.open_table(TASKS).map_err(backend)?;
        let meta = tx.open_table(META).map_err(backend)?;
        let events = tx.open_table(EVENTS).map_err(backend)?;
        let mut state = WriterState::default();
        let mut pairs = HashSet::new();
        for row in open_t.iter().map_err(backend)? {
            let (k, v) = row.map_err(backend)?;
            pairs.insert(v.value().to_string());
            state.open.push((k.value().to_string(), v.value().to_string()));
        }
        let mut pairs: Vec<String> = pairs.into_iter().collect();
        pairs.sort();
        for pair in pairs {
            for tag in ["police", "grid"] {
                let id = format!("{pair}-{tag}");
                let task = Self::read_task(&tasks, &id)?
                    .ok_or_else(|| StoreError::Corrupt { key: id.clone(), why: "open pair without its task".into() })?;
                state.open_tasks.push(task);
            }
        }
        state.next_pair = meta.get("next_pair").map_err(backend)?.map_or(1, |v| v.value());
        state.last_seq = events.last().map_err(backend)?.map_or(0, |(k, _)| k.value());
        Ok(state)
    }

    fn known_alerts(&self, keys: &[&str]) -> Result<HashSet<String>, StoreError> {
        let tx = self.db.begin_read().map_err(backend)?;
        let alerts = tx.open_table(ALERTS).map_err(backend)?;
        let mut known = HashSet::new();
        for k in keys {
            if alerts.get(*k).map_err(backend)?.is_some() {
                known.insert((*k).to_string());
            }
        }
        Ok(known)
    }

    fn commit(&self, c: &Commit) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(backend)?;
        {
            let mut alerts = tx.open_table(ALERTS).map_err(backend)?;
            for a in &c.alerts {
                alerts.insert(a.key.as_str(), a.json.as_slice()).map_err(backend)?;
            }
            let mut tasks = tx.open_table(TASKS).map_err(backend)?;
            let mut order = tx.open_table(TASK_ORDER).map_err(backend)?;
            for t in &c.tasks {
                tasks.insert(t.id.as_str(), encode(t)?.as_slice()).map_err(backend)?;
                order.insert(order_key(t).as_str(), ()).map_err(backend)?;
            }
            let mut events = tx.open_table(EVENTS).map_err(backend)?;
            for e in &c.events {
                let mut value = e.task.division.to_string().into_bytes();
                value.extend_from_slice(&encode(e)?);
                events.insert(e.seq, value.as_slice()).map_err(backend)?;
            }
            let mut open = tx.open_table(OPEN).map_err(backend)?;
            for k in &c.open_remove {
                open.remove(k.as_str()).map_err(backend)?;
            }
            for (k, p) in &c.open_insert {
                open.insert(k.as_str(), p.as_str()).map_err(backend)?;
            }
            let mut meta = tx.open_table(META).map_err(backend)?;
            meta.insert("next_pair", c.next_pair).map_err(backend)?;
        }
        tx.commit().map_err(backend)
    }

    fn task(&self, id: &str) -> Result<Option<Task>, StoreError> {
        let tx = self.db.begin_read().map_err(backend)?;
        let tasks = tx.open_table(TASKS).map_err(backend)?;
        Self::read_task(&tasks, id)
    }

    fn list_tasks(&self, q: &TaskQuery) -> Result<TaskPage, StoreError> {
        let start = match &q.page_token {
            Some(t) if !t.starts_with(&q.prefix) => return Err(StoreError::BadPageToken(t.clone())),
            Some(t) => t.clone(),
            None => q.prefix.clone(),
        };
        let tx = self.db.begin_read().map_err(backend)?;
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
            let Some(task) = Self::read_task(&tasks, id)? else { continue };
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

    fn events_after(&self, after: u64, prefix: &str, limit: usize) -> Result<Vec<TaskEventRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(backend)?;
        let events = tx.open_table(EVENTS).map_err(backend)?;
        let mut out = Vec::new();
        let Some(from) = after.checked_add(1) else { return Ok(out) };
        for row in events.range(from..).map_err(backend)? {
            let (k, v) = row.map_err(backend)?;
            let bytes = v.value();
            if bytes.len() < DIVISION_LEN || !bytes[..DIVISION_LEN].starts_with(prefix.as_bytes()) {
                continue;
            }
            out.push(decode(&k.value().to_string(), &bytes[DIVISION_LEN..])?);
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    fn alert_count(&self) -> Result<u64, StoreError> {
        let tx = self.db.begin_read().map_err(backend)?;
        let alerts = tx.open_table(ALERTS).map_err(backend)?;
        alerts.len().map_err(backend)
    }
}
