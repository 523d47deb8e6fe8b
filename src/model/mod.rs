//! Domain types shared by every stage: the checked warning record
//! ([`Alert`]) that leaves *normalize*, and the dual-warning task
//! ([`Task`]) that *dispatch* makes and *store*/*serve* keep.
//!
//! These are plain data; the wire types in `crate::proto` are converted to
//! and from them only at the edges.

pub mod alert;
pub mod audit;
pub mod calendar;
pub mod escalation;
pub mod lifecycle;
pub mod mask;
pub mod person_key;
pub mod publicity;
pub mod task;
pub mod task_delta;
pub mod transfer;

pub use alert::{Alert, AlertKey, Artefact, ArtefactKind, Link, LinkKind, SourceKind, Subject};
pub use audit::AuditEntry;
pub use escalation::{Escalated, EscalationPolicy, StepsDue};
pub use lifecycle::{FollowUp, OutcomeCode, Step, StepError};
pub use person_key::{MIN_SECRET_BYTES, PersonKey, PersonKeys, SECRET_BYTES};
pub use publicity::{PublicityBrief, PublicityMethod, PublicityRecord};
pub use task::{
    HistoryEntry, Level, Outcome, Reason, Role, Task, TaskEventKind, TaskEventRecord, TaskStatus,
    WHOLE_EVERY,
};
pub use task_delta::{KEEP_EACH_END, TaskDelta};

/// FNV-1a, 64 bit: a stable, dependency-free hash for ids and versions that
/// must not change between builds (std's `DefaultHasher` may).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
