//! The audit table of the embedded store: reveals by sequence number,
//! append-only. A jurisdiction's listing filters by division prefix; reveals
//! are human actions, so the table stays small next to the event log.

use redb::{ReadableTable, WriteTransaction};

use super::EmbeddedStore;
use super::tables::AUDIT;
use crate::model::AuditEntry;
use crate::store::{StoreError, backend};

/// Creates the table in a new store.
pub(super) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(AUDIT).map_err(backend)?;
    Ok(())
}

impl EmbeddedStore {
    /// Appends `entry` with the next sequence number and returns it.
    pub(super) fn append_audit_entry(&self, entry: &AuditEntry) -> Result<u64, StoreError> {
        let tx = self.begin_write()?;
        let seq = {
            let mut table = tx.open_table(AUDIT).map_err(backend)?;
            let last = table.last().map_err(backend)?.map_or(0, |(k, _)| k.value());
            let seq = last + 1;
            let stored = AuditEntry {
                seq,
                ..entry.clone()
            };
            let json = serde_json::to_vec(&stored).map_err(backend)?;
            table.insert(seq, json.as_slice()).map_err(backend)?;
            seq
        };
        tx.commit().map_err(backend)?;
        Ok(seq)
    }

    /// Up to `limit` entries after `after` whose division starts with `prefix`.
    pub(super) fn audit_entries(
        &self,
        prefix: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let tx = self.begin_read()?;
        let table = tx.open_table(AUDIT).map_err(backend)?;
        let mut out = Vec::new();
        for row in table.range(after.saturating_add(1)..).map_err(backend)? {
            let (_, v) = row.map_err(backend)?;
            let e: AuditEntry = serde_json::from_slice(v.value()).map_err(backend)?;
            if e.division.starts_with(prefix) {
                out.push(e);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}
