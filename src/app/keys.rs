//! The installation's person keys at start: the secret from the config's
//! file (instances sharing one store) or from the store, where it is made
//! at first start; then the one-time re-keying of a store kept before
//! keyed person MACs.

use std::path::Path;

use super::graph_state::snapshot_path;
use crate::config::{Config, ConfigError};
use crate::error::Error;
use crate::model::{MIN_SECRET_BYTES, PersonKeys};
use crate::store::Store;

/// The person keys `serve` runs with; re-keys an older store first.
pub fn load(config: &Config, store: &dyn Store) -> Result<PersonKeys, Error> {
    let secret = match &config.person_key_secret_file {
        Some(path) => read_secret(path)?,
        None => store.person_secret()?,
    };
    let keys = PersonKeys::new(&secret);
    let done = store.migrate_person_keys(&keys)?;
    if done.legacy {
        // The snapshot names persons by the old keys: rebuild it from the log.
        let snap = snapshot_path(&config.data_dir);
        let aside = snap.with_extension("snap.pre-keys");
        let moved = snap.exists() && std::fs::rename(&snap, &aside).is_ok();
        tracing::warn!(
            alerts = done.alerts,
            tasks = done.tasks,
            open_keys = done.open_keys,
            snapshot_moved_aside = moved,
            "store re-keyed with keyed person MACs; the graph is rebuilt from the store log"
        );
    }
    Ok(keys)
}

/// A secret file: hex digits, whitespace ignored.
fn read_secret(path: &Path) -> Result<Vec<u8>, Error> {
    let bad = |why: &'static str| ConfigError::Invalid {
        field: "person_key_secret_file".into(),
        value: path.display().to_string(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let hex: String = text.split_whitespace().collect();
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("must hold hex digits only").into());
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(
            bad("must hold at least 16 bytes (32 hex digits): `openssl rand -hex 32`").into(),
        );
    }
    Ok(bytes)
}
