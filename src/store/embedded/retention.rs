//! Alert retention in the embedded store: alerts whose event time is older
//! than the cut go, with their content hash, their time index entry and
//! their place in the graph's log. A key that went can be accepted again,
//! so the alert retention must be longer than the oldest event time ingest
//! accepts (`max_event_age`); the config checks it.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{ALERT_DIGESTS, ALERTS, ALERTS_BY_TIME};
use super::{EmbeddedStore, graph_log};
use crate::store::{StoreError, backend};

impl EmbeddedStore {
    /// Removes up to `max` alerts with event time before `before_ms`;
    /// returns how many went.
    pub(super) fn compact_alerts(&self, before_ms: i64, max: usize) -> Result<u64, StoreError> {
        let tx = self.begin_write()?;
        let n = remove_before(&tx, before_ms, max)?;
        graph_log::prune(&tx, max)?;
        tx.commit().map_err(backend)?;
        Ok(n)
    }
}

fn remove_before(tx: &WriteTransaction, before_ms: i64, max: usize) -> Result<u64, StoreError> {
    let mut by_time = tx.open_table(ALERTS_BY_TIME).map_err(backend)?;
    let mut alerts = tx.open_table(ALERTS).map_err(backend)?;
    let mut digests = tx.open_table(ALERT_DIGESTS).map_err(backend)?;
    let mut old: Vec<(i64, String)> = Vec::new();
    for row in by_time.range(..(before_ms, "")).map_err(backend)?.take(max) {
        let (k, _) = row.map_err(backend)?;
        let (at, key) = k.value();
        old.push((at, key.to_string()));
    }
    for (at, key) in &old {
        by_time.remove((*at, key.as_str())).map_err(backend)?;
        alerts.remove(key.as_str()).map_err(backend)?;
        digests.remove(key.as_str()).map_err(backend)?;
    }
    Ok(old.len() as u64)
}
