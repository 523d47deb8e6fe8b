//! The installation's person-key secret in the embedded store, and the
//! one-time migration of a store kept before keyed person MACs: its
//! open-pair index held raw `ph:<phone>` keys and its tasks unkeyed
//! `subject_key`s. The secret lives in the store file (in the data
//! directory), so a copied or restored data directory keeps its keys.

use rand::RngCore;
use redb::{ReadableTable, ReadableTableMetadata};

use super::EmbeddedStore;
use super::tables::{
    ALERT_DIGESTS, ALERTS, META, OPEN, PERSON_KEY, PERSON_KEYS_KEYED, SECRETS, TASKS,
};
use crate::model::{PersonKeys, SECRET_BYTES, Task};
use crate::store::alert_codec::{decode_alert, encode_alert};
use crate::store::{KeyMigration, StoreError, backend, decode, encode};

impl EmbeddedStore {
    /// The secret kept in the store, made from the OS's random source on
    /// the first call.
    pub(super) fn stored_secret(&self) -> Result<Vec<u8>, StoreError> {
        let tx = self.begin_write()?;
        let secret = {
            let mut t = tx.open_table(SECRETS).map_err(backend)?;
            let found = t
                .get(PERSON_KEY)
                .map_err(backend)?
                .map(|v| v.value().to_vec());
            match found {
                Some(s) => s,
                None => {
                    let mut s = vec![0u8; SECRET_BYTES];
                    rand::rng().fill_bytes(&mut s);
                    t.insert(PERSON_KEY, s.as_slice()).map_err(backend)?;
                    s
                }
            }
        };
        tx.commit().map_err(backend)?;
        Ok(secret)
    }

    /// Re-keys a store from before keyed MACs, once, in one transaction.
    pub(super) fn rekey(&self, keys: &PersonKeys) -> Result<KeyMigration, StoreError> {
        let tx = self.begin_write()?;
        let mut done = KeyMigration::default();
        {
            let mut meta = tx.open_table(META).map_err(backend)?;
            if meta.get(PERSON_KEYS_KEYED).map_err(backend)?.is_some() {
                return Ok(done);
            }
            done.legacy = !tx
                .open_table(ALERTS)
                .map_err(backend)?
                .is_empty()
                .map_err(backend)?;
            let mut open = tx.open_table(OPEN).map_err(backend)?;
            let mut rows = Vec::new();
            for row in open.iter().map_err(backend)? {
                let (k, v) = row.map_err(backend)?;
                rows.push((k.value().to_string(), v.value().to_string()));
            }
            for (raw, pair) in &rows {
                open.remove(raw.as_str()).map_err(backend)?;
                open.insert(keys.identity_of_raw(raw).as_str(), pair.as_str())
                    .map_err(backend)?;
            }
            done.open_keys = rows.len() as u64;
            done.tasks = rekey_tasks(&tx, keys)?;
            done.alerts = rekey_alerts(&tx, keys)?;
            meta.insert(PERSON_KEYS_KEYED, 1).map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        Ok(done)
    }
}

/// Keys the person of every stored alert and sets its content hash, so
/// that nothing read back later lacks keys and a re-send still compares
/// equal.
fn rekey_alerts(tx: &redb::WriteTransaction, keys: &PersonKeys) -> Result<u64, StoreError> {
    let mut alerts = tx.open_table(ALERTS).map_err(backend)?;
    let mut digests = tx.open_table(ALERT_DIGESTS).map_err(backend)?;
    let mut ids = Vec::new();
    for row in alerts.iter().map_err(backend)? {
        ids.push(row.map_err(backend)?.0.value().to_string());
    }
    for (i, id) in ids.iter().enumerate() {
        let Some(json) = alerts
            .get(id.as_str())
            .map_err(backend)?
            .map(|v| v.value().to_vec())
        else {
            continue;
        };
        let mut alert = decode_alert(id, &json)?;
        keys.fill(&mut alert.subject);
        let (record, _) = encode_alert(&alert);
        alerts
            .insert(id.as_str(), record.as_slice())
            .map_err(backend)?;
        // The binary record carries its own hash.
        digests.remove(id.as_str()).map_err(backend)?;
        if (i + 1) % 100_000 == 0 {
            tracing::info!(alerts = i + 1, of = ids.len(), "keying stored alerts");
        }
    }
    Ok(ids.len() as u64)
}

/// Sets every task's `subject_key` from its first alert's person.
fn rekey_tasks(tx: &redb::WriteTransaction, keys: &PersonKeys) -> Result<u64, StoreError> {
    let alerts = tx.open_table(ALERTS).map_err(backend)?;
    let mut tasks = tx.open_table(TASKS).map_err(backend)?;
    let mut changed = Vec::new();
    for row in tasks.iter().map_err(backend)? {
        let (id, bytes) = row.map_err(backend)?;
        let mut task: Task = decode(id.value(), bytes.value())?;
        let Some(first) = task.alert_keys.first() else {
            continue;
        };
        let Some(json) = alerts.get(first.as_str()).map_err(backend)? else {
            continue;
        };
        let alert = decode_alert(first, json.value())?;
        task.subject_key = keys
            .key(&alert.subject.phone, &alert.subject.id_hash)
            .subject;
        changed.push((id.value().to_string(), encode(&task)?));
    }
    for (id, bytes) in &changed {
        tasks
            .insert(id.as_str(), bytes.as_slice())
            .map_err(backend)?;
    }
    Ok(changed.len() as u64)
}
