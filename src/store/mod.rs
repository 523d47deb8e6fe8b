//! The *store* stage: where accepted alerts, tasks, the open-pair index and
//! the task event log become durable. The writer commits one batch's effect
//! in one transaction; consoles read concurrently.
//!
//! [`Store`] is the seam between the pipeline and a backend: the embedded
//! [`EmbeddedStore`] (redb, a crash-safe file) runs by default; a server
//! backend implements the same trait, in a folder of its own.
//!
//! # Layout
//!
//! Backend-neutral, here: this file (the trait, [`Commit`], [`WriterState`]
//! and the other types it speaks in, the JSON record helpers),
//! `alert_codec` (the stored alert's bytes), `events` (the task event
//! record, its bytes and the rebuild of a task from it), `series` (the walk
//! from a series to everything merged into it), `query` (the task list
//! filter and paging) and `testkit` (test fixtures). Each backend in its
//! folder: `embedded/` (redb).

pub mod alert_codec;
mod embedded;
mod events;
mod query;
mod series;
#[cfg(test)]
mod testkit;

pub use embedded::{DEFAULT_CACHE_BYTES, EmbeddedStore};
pub use query::{TaskPage, TaskQuery};

use std::collections::HashMap;

use sha2::{Digest as _, Sha256};

use crate::model::{Task, TaskEventKind, TaskEventRecord};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed.
    #[error("storage backend: {0}")]
    Backend(String),
    /// A stored record does not decode (corruption or an incompatible version).
    #[error("stored record {key} does not decode: {why}")]
    Corrupt {
        /// Record key.
        key: String,
        /// Decoder message.
        why: String,
    },
    /// A page token that this store did not hand out.
    #[error("page_token {0:?} is not valid for this query")]
    BadPageToken(String),
    /// A resume token older than the event log keeps.
    #[error(
        "resume_token {token} is older than the event log keeps: retention removed the events up to {resume_from}; resume from {resume_from}, or from 0 for every event kept"
    )]
    Expired {
        /// The token given.
        token: u64,
        /// The oldest token still valid.
        resume_from: u64,
    },
}

/// A backend's own failure, as a [`StoreError::Backend`].
fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Reads a record kept as JSON (tasks, events, reveals); `key` names it
/// in the [`StoreError::Corrupt`] when it does not decode.
fn decode<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        why: e.to_string(),
    })
}

/// The JSON a backend keeps a record as.
fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(backend)
}

/// What retention removes: everything that happened before these times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionCut {
    /// Task events before this unix ms go.
    pub events_before_ms: i64,
    /// Events after this sequence number stay, however old: an outside
    /// reader (the Kafka events producer) has not delivered them yet.
    /// `u64::MAX`: no such reader.
    pub events_through_seq: u64,
    /// Alerts whose event time is before this unix ms go.
    pub alerts_before_ms: i64,
}

/// What one retention pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compacted {
    /// Task events removed.
    pub events: u64,
    /// Alerts removed.
    pub alerts: u64,
}

/// Content hash of an alert as stored (the protobuf body of its record,
/// [`alert_codec`]): the first 16 bytes of SHA-256.
pub type Digest = [u8; 16];

/// The content hash of `stored`.
pub fn digest(stored: &[u8]) -> Digest {
    let full = Sha256::digest(stored);
    let mut d = [0u8; 16];
    d.copy_from_slice(&full[..16]);
    d
}

/// Alert keys the store already has, with their content hash (`None` for
/// alerts kept before hashes were: they count as re-sends).
pub type KnownAlerts = HashMap<String, Option<Digest>>;

/// One accepted alert, ready to keep.
#[derive(Clone, Debug)]
pub struct StoredAlert {
    /// `source/source_id`.
    pub key: String,
    /// The checked alert as the store keeps it ([`alert_codec`]).
    pub record: Vec<u8>,
    /// Content hash of the record's alert.
    pub digest: Digest,
    /// Event time, for the time index that warms windows after a restart.
    pub occurred_at_ms: i64,
    /// A rule matched it: its person is a suspected victim from here on.
    /// Logged so that a graph replay marks the same people.
    pub suspect: bool,
}

/// An alert of the graph's log, in arrival order.
#[derive(Clone, Debug)]
pub struct LoggedAlert {
    /// Arrival number.
    pub seq: u64,
    /// The alert.
    pub alert: crate::model::Alert,
    /// A rule matched it ([`StoredAlert::suspect`]).
    pub suspect: bool,
}

/// The effect of one writer step, written in one transaction.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    /// New alerts (never seen before).
    pub alerts: Vec<StoredAlert>,
    /// Tasks created or changed, as they now stand.
    pub tasks: Vec<Task>,
    /// Events appended to the log, in order.
    pub events: Vec<TaskEventRecord>,
    /// Identity keys now pointing at an open pair.
    pub open_insert: Vec<(String, String)>,
    /// Identity keys whose pair closed.
    pub open_remove: Vec<String>,
    /// Next pair number to hand out.
    pub next_pair: u64,
    /// Series merges the graph decided (串并案), absorbed id → surviving id.
    pub series_aliases: Vec<(String, String)>,
    /// Tasks that moved to another village (转办), as they stood before:
    /// their old place in the jurisdiction order is removed.
    pub moved_from: Vec<Task>,
    /// Each changed task's next escalation wake-up time, `None` when nothing
    /// can fall due (closed, or escalated as far as it goes): the deadline
    /// index. Filled by the writer thread, which knows the policy.
    pub wakes: Vec<(String, Option<i64>)>,
}

impl Commit {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
            && self.tasks.is_empty()
            && self.events.is_empty()
            && self.series_aliases.is_empty()
            && self.wakes.is_empty()
    }

    /// The rule hits of this commit's own alerts, each (alert key, rule id)
    /// once: read from the reasons of the tasks they made, joined or raised.
    /// Both tasks of a pair carry the same hit, and a joined task's reasons
    /// also name earlier alerts, which were counted in their own commit.
    pub fn rule_hits(&self) -> rustc_hash::FxHashSet<(&str, &str)> {
        let own: rustc_hash::FxHashSet<&str> = self.alerts.iter().map(|a| a.key.as_str()).collect();
        let made = |k: TaskEventKind| {
            matches!(
                k,
                TaskEventKind::Created | TaskEventKind::Merged | TaskEventKind::Escalated
            )
        };
        self.events
            .iter()
            .filter(|e| made(e.kind))
            .flat_map(|e| &e.task.reasons)
            .filter(|r| own.contains(r.alert_key.as_str()))
            .map(|r| (r.alert_key.as_str(), r.rule_id.as_str()))
            .collect()
    }
}

/// What a migration did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyMigration {
    /// Open-pair index entries re-keyed.
    pub open_keys: u64,
    /// Tasks whose `subject_key` was re-keyed.
    pub tasks: u64,
    /// Alerts whose person was keyed (and their content hash set).
    pub alerts: u64,
    /// The store held alerts from before: a graph snapshot must be rebuilt.
    pub legacy: bool,
}

/// Positions in the store's graph logs (alerts in arrival order, import batches).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphLogMarks {
    /// Last alert arrival number.
    pub alert_seq: u64,
    /// Last import batch number.
    pub import_seq: u64,
}

/// What the writer rebuilds its memory from at start.
#[derive(Clone, Debug, Default)]
pub struct WriterState {
    /// Identity key → open pair id.
    pub open: Vec<(String, String)>,
    /// Every task of every open pair.
    pub open_tasks: Vec<Task>,
    /// Next pair number.
    pub next_pair: u64,
    /// Last event sequence written (0 when none).
    pub last_seq: u64,
}

/// Every task of a linked case series (串并案), merged series included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeriesTasks {
    /// The surviving series id every merged series now points to.
    pub root: String,
    /// Current state of every task of the series, by division code then id.
    pub tasks: Vec<Task>,
}

/// Durable storage for the pipeline and the consoles. Calls block; async
/// callers use `spawn_blocking`.
pub trait Store: Send + Sync + 'static {
    /// Makes the backend usable again after a failed write (for the
    /// embedded store, a reopen of its file); committed data is untouched.
    fn recover(&self) -> Result<(), StoreError>;
    /// Closes the backend at a graceful stop, once nothing writes any more;
    /// every later call fails. For the embedded store this records redb's
    /// free-page map, without which the next open rebuilds it by walking
    /// the whole file (seconds per GB).
    fn close(&self) -> Result<(), StoreError>;
    /// A named reader's position (0 when never set), such as how far the
    /// Kafka events producer has delivered the event log.
    fn cursor(&self, name: &str) -> Result<u64, StoreError>;
    /// Sets a named reader's position.
    fn set_cursor(&self, name: &str, value: u64) -> Result<(), StoreError>;
    /// The newest event's sequence number (0 for an empty log): a watcher
    /// that starts after it sees only what happens from now on.
    fn last_event_seq(&self) -> Result<u64, StoreError>;
    /// Reads what the writer needs to resume.
    fn load_state(&self) -> Result<WriterState, StoreError>;
    /// The installation's person-key secret, made and kept on first call
    /// (instances that share a store share it).
    fn person_secret(&self) -> Result<Vec<u8>, StoreError>;
    /// Once: re-keys the open-pair index and task keys of a store kept
    /// before keyed person MACs.
    fn migrate_person_keys(
        &self,
        keys: &crate::model::PersonKeys,
    ) -> Result<KeyMigration, StoreError>;
    /// Which of `keys` were accepted before, with their content hash.
    fn known_alerts(&self, keys: &[&str]) -> Result<KnownAlerts, StoreError>;
    /// Writes `commit` atomically and durably; returns after it is on disk.
    fn commit(&self, commit: &Commit) -> Result<(), StoreError>;
    /// One task by id.
    fn task(&self, id: &str) -> Result<Option<Task>, StoreError>;
    /// A page of tasks in stable order (division code, then task id).
    fn list_tasks(&self, query: &TaskQuery) -> Result<TaskPage, StoreError>;
    /// Up to `limit` events after `after` whose task lies under `prefix`,
    /// each with its task as it stood after the event. A nonzero `after`
    /// older than retention kept is [`StoreError::Expired`].
    fn events_after(
        &self,
        after: u64,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<TaskEventRecord>, StoreError>;
    /// The series `series_id` ends in after merges, with every task of it
    /// and of every series merged into it; an unknown id is its own root
    /// with no tasks.
    fn series_tasks(&self, series_id: &str) -> Result<SeriesTasks, StoreError>;
    /// Removes task events and alerts older than `cut`. Event numbers are
    /// never reused, and every event kept still rebuilds its task.
    fn compact(&self, cut: &RetentionCut) -> Result<Compacted, StoreError>;
    /// Number of alerts kept.
    fn alert_count(&self) -> Result<u64, StoreError>;

    /// The last alert arrival number and import number handed out: what a
    /// graph snapshot taken now covers.
    fn graph_log_marks(&self) -> Result<GraphLogMarks, StoreError>;

    /// Keeps one batch of graph import rows (JSON) durably; returns its number.
    fn log_import(&self, rows_json: &[u8]) -> Result<u64, StoreError>;

    /// Up to `limit` alerts with arrival number after `after`, in arrival order.
    fn logged_alerts(&self, after: u64, limit: usize) -> Result<Vec<LoggedAlert>, StoreError>;

    /// Up to `limit` import batches numbered after `after`, in order.
    fn logged_imports(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// Up to `limit` alerts with event time at or after `since_ms`, oldest
    /// first: replayed into windows and the graph after a restart.
    fn alerts_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<crate::model::Alert>, StoreError>;

    /// The stored alert of `key` (`source/source_id`), while retention keeps it.
    fn alert(&self, key: &str) -> Result<Option<crate::model::Alert>, StoreError>;

    /// Up to `limit` ids of tasks whose escalation wake-up time is at or
    /// before `now_ms`, earliest first (the deadline index).
    fn tasks_due(&self, now_ms: i64, limit: usize) -> Result<Vec<String>, StoreError>;
    /// The fingerprint of the escalation policy the deadline index was built
    /// with; 0 when it never was.
    fn deadline_policy(&self) -> Result<u64, StoreError>;
    /// Replaces the deadline index with `wakes`, computed under `policy`.
    fn reindex_deadlines(
        &self,
        policy: u64,
        wakes: &[(String, Option<i64>)],
    ) -> Result<(), StoreError>;

    /// Appends a reveal to the audit log, durably; returns its number.
    fn append_audit(&self, entry: &crate::model::AuditEntry) -> Result<u64, StoreError>;

    /// Up to `limit` reveals numbered after `after` in tasks under `prefix`.
    fn audit(
        &self,
        prefix: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<crate::model::AuditEntry>, StoreError>;
}
