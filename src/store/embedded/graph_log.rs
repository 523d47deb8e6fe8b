//! The account-link graph's log in the embedded store: every accepted alert
//! gets an arrival number (in the commit that keeps it), and every bulk
//! import batch is kept under its own number before it is applied. A graph
//! snapshot records the two numbers it covers; at start the graph is the
//! snapshot plus everything logged after them, so nothing the graph learnt
//! is lost between snapshots.

use redb::{ReadableTable, WriteTransaction};

use super::EmbeddedStore;
use super::tables::{ALERT_LOG, ALERT_SEQ, ALERTS, IMPORT_LOG, IMPORT_SEQ, META, SUSPECT_LOG};
use crate::store::{Commit, GraphLogMarks, LoggedAlert, StoreError, alert_codec, backend};

/// Creates the log tables, so that read transactions find them.
pub(super) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(ALERT_LOG).map_err(backend)?;
    tx.open_table(SUSPECT_LOG).map_err(backend)?;
    tx.open_table(IMPORT_LOG).map_err(backend)?;
    Ok(())
}

/// Numbers the commit's new alerts in arrival order.
pub(super) fn write(tx: &WriteTransaction, c: &Commit) -> Result<(), StoreError> {
    if c.alerts.is_empty() {
        return Ok(());
    }
    let mut meta = tx.open_table(META).map_err(backend)?;
    let mut seq = meta
        .get(ALERT_SEQ)
        .map_err(backend)?
        .map_or(0, |v| v.value());
    let mut log = tx.open_table(ALERT_LOG).map_err(backend)?;
    let mut suspects = tx.open_table(SUSPECT_LOG).map_err(backend)?;
    for a in &c.alerts {
        seq += 1;
        log.insert(seq, a.key.as_str()).map_err(backend)?;
        if a.suspect {
            suspects.insert(seq, ()).map_err(backend)?;
        }
    }
    meta.insert(ALERT_SEQ, seq).map_err(backend)?;
    Ok(())
}

/// Drops up to `max` of the oldest log entries whose alert retention
/// removed; stops at the first alert still kept.
pub(super) fn prune(tx: &WriteTransaction, max: usize) -> Result<(), StoreError> {
    let alerts = tx.open_table(ALERTS).map_err(backend)?;
    let mut log = tx.open_table(ALERT_LOG).map_err(backend)?;
    let mut suspects = tx.open_table(SUSPECT_LOG).map_err(backend)?;
    let mut gone = Vec::new();
    for row in log.iter().map_err(backend)?.take(max) {
        let (seq, key) = row.map_err(backend)?;
        if alerts.get(key.value()).map_err(backend)?.is_some() {
            break;
        }
        gone.push(seq.value());
    }
    for seq in gone {
        log.remove(seq).map_err(backend)?;
        suspects.remove(seq).map_err(backend)?;
    }
    Ok(())
}

impl EmbeddedStore {
    pub(super) fn log_marks(&self) -> Result<GraphLogMarks, StoreError> {
        let tx = self.begin_read()?;
        let meta = tx.open_table(META).map_err(backend)?;
        let get = |k: &str| -> Result<u64, StoreError> {
            Ok(meta.get(k).map_err(backend)?.map_or(0, |v| v.value()))
        };
        Ok(GraphLogMarks {
            alert_seq: get(ALERT_SEQ)?,
            import_seq: get(IMPORT_SEQ)?,
        })
    }

    pub(super) fn log_import_batch(&self, rows_json: &[u8]) -> Result<u64, StoreError> {
        let tx = self.begin_write()?;
        let seq = {
            let mut meta = tx.open_table(META).map_err(backend)?;
            let seq = meta
                .get(IMPORT_SEQ)
                .map_err(backend)?
                .map_or(0, |v| v.value())
                + 1;
            meta.insert(IMPORT_SEQ, seq).map_err(backend)?;
            let mut log = tx.open_table(IMPORT_LOG).map_err(backend)?;
            log.insert(seq, rows_json).map_err(backend)?;
            seq
        };
        tx.commit().map_err(backend)?;
        Ok(seq)
    }

    pub(super) fn alerts_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LoggedAlert>, StoreError> {
        let tx = self.begin_read()?;
        let log = tx.open_table(ALERT_LOG).map_err(backend)?;
        let suspects = tx.open_table(SUSPECT_LOG).map_err(backend)?;
        let alerts = tx.open_table(ALERTS).map_err(backend)?;
        let mut out = Vec::new();
        for row in log.range(after.saturating_add(1)..).map_err(backend)? {
            let (seq, key) = row.map_err(backend)?;
            let (seq, key) = (seq.value(), key.value());
            if let Some(v) = alerts.get(key).map_err(backend)? {
                out.push(LoggedAlert {
                    seq,
                    alert: alert_codec::decode_alert(key, v.value())?,
                    suspect: suspects.get(seq).map_err(backend)?.is_some(),
                });
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    pub(super) fn imports_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let tx = self.begin_read()?;
        let log = tx.open_table(IMPORT_LOG).map_err(backend)?;
        let mut out = Vec::new();
        for row in log.range(after.saturating_add(1)..).map_err(backend)? {
            let (seq, rows) = row.map_err(backend)?;
            out.push((seq.value(), rows.value().to_vec()));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}
