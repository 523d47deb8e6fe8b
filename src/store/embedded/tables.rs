//! The embedded store's file layout: every redb table, and the named rows
//! of [`META`]. This is the on-disk format; a name or a key or value type
//! changed here makes existing data directories unreadable, so each table
//! is written once, here, and the modules beside this one use them.

use redb::{MultimapTableDefinition, TableDefinition};

// Alerts (`mod.rs`, retention, person keys).

/// Alert key → alert record ([`crate::store::alert_codec`]).
pub(super) const ALERTS: TableDefinition<&str, &[u8]> = TableDefinition::new("alerts");
/// Alert key → content hash ([`crate::store::Digest`]) of alerts kept as
/// JSON by earlier versions; a binary record carries its own.
pub(super) const ALERT_DIGESTS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("alert_digests");
/// (event time, alert key) → (): recent alerts, to warm windows at start.
pub(super) const ALERTS_BY_TIME: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("alerts_by_time");

// Tasks and the open-pair index (`mod.rs`).

/// Task id → task JSON.
pub(super) const TASKS: TableDefinition<&str, &[u8]> = TableDefinition::new("tasks");
/// `division/task_id` → (), the stable list order and jurisdiction index.
pub(super) const TASK_ORDER: TableDefinition<&str, ()> = TableDefinition::new("task_order");
/// Identity key → open pair id.
pub(super) const OPEN: TableDefinition<&str, &str> = TableDefinition::new("open_pairs");
/// Counter name → value (the names are the `&str` constants below).
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

// The task event log (`events.rs`).

/// Event sequence → 12-digit division followed by the event JSON
/// ([`crate::store::events`]).
pub(super) const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// (task id, event sequence) → (): a task's events in order.
pub(super) const TASK_EVENTS: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("task_events");
/// (division prefix, event sequence) → (), for each administrative prefix.
pub(super) const AREA_EVENTS: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("area_events");

// Linked case series (`series.rs`).

/// Series id → id of every task placed in that series (multimap).
pub(super) const SERIES_TASKS: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("series_tasks");
/// Absorbed series id → the series it merged into.
pub(super) const SERIES_INTO: TableDefinition<&str, &str> = TableDefinition::new("series_into");
/// Series id → every series merged straight into it (multimap), so a root
/// finds all.
pub(super) const SERIES_ABSORBED: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("series_absorbed");

// The graph's log (`graph_log.rs`).

/// Arrival number → alert key.
pub(super) const ALERT_LOG: TableDefinition<u64, &str> = TableDefinition::new("alert_log");
/// Arrival number → (), for alerts a rule matched
/// ([`crate::store::StoredAlert::suspect`]).
pub(super) const SUSPECT_LOG: TableDefinition<u64, ()> = TableDefinition::new("suspect_alerts");
/// Import number → one batch of import rows, JSON.
pub(super) const IMPORT_LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("graph_imports");

// The deadline index (`deadlines.rs`).

/// (wake-up time ms, task id) → (), in time order.
pub(super) const WAKES: TableDefinition<(i64, &str), ()> = TableDefinition::new("deadline_wakes");
/// Task id → its current wake-up time, to move or drop its index entry.
pub(super) const WAKE_OF: TableDefinition<&str, i64> = TableDefinition::new("deadline_wake_of");

// Reveals (`audit.rs`).

/// Reveal sequence → audit entry JSON.
pub(super) const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

// Secrets (`person_keys.rs`).

/// Secret name ([`PERSON_KEY`]) → secret bytes.
pub(super) const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");
/// [`SECRETS`] row of the installation's person-key secret.
pub(super) const PERSON_KEY: &str = "person_key";

// Rows of META.

/// Next pair number to hand out.
pub(super) const NEXT_PAIR: &str = "next_pair";
/// Last event sequence removed by retention.
pub(super) const COMPACTED_THROUGH: &str = "events_compacted_through";
/// Set once [`TASK_EVENTS`] and [`AREA_EVENTS`] cover every event (stores
/// from before them).
pub(super) const EVENTS_INDEXED: &str = "events_indexed";
/// Last alert arrival number handed out ([`ALERT_LOG`]).
pub(super) const ALERT_SEQ: &str = "alert_seq";
/// Last import number handed out ([`IMPORT_LOG`]).
pub(super) const IMPORT_SEQ: &str = "import_seq";
/// Fingerprint of the escalation policy the wake times were computed with.
pub(super) const DEADLINE_POLICY: &str = "deadline_policy";
/// Set once the open-pair index and task keys are keyed MACs.
pub(super) const PERSON_KEYS_KEYED: &str = "person_keys_keyed";
