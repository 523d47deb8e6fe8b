//! The audit log of contact reveals (查看联系方式留痕): who saw whose full
//! contact, when, for which task and why. Append-only, kept in the store.

use serde::{Deserialize, Serialize};

/// One reveal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the audit log, from 1; set by the store.
    pub seq: u64,
    /// When, unix ms.
    pub at_ms: i64,
    /// The console's name.
    pub actor: String,
    /// What the console's token stands for: `centre`, `station:<id>` or
    /// `person:<id>`.
    pub identity: String,
    /// The task whose contact was shown.
    pub task_id: String,
    /// The task's 12-digit division code, for the jurisdiction's listing.
    pub division: String,
    /// Why, as the caller gave it.
    pub reason: String,
}
