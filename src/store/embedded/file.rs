//! The embedded store's redb file: opening it with every table, the
//! transactions the rest of the backend works in, and the reopen that is
//! redb's recovery after an I/O failure. A commit returns only after
//! fsync; a crash at any moment leaves the last committed state.

use std::path::Path;

use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use super::tables::{ALERT_DIGESTS, ALERTS, ALERTS_BY_TIME, META, OPEN, TASK_ORDER, TASKS};
use super::{EmbeddedStore, audit, deadlines, events, graph_log, series};
use crate::store::{StoreError, backend};

impl EmbeddedStore {
    /// Opens the file and makes sure every table exists.
    pub(super) fn open_file(path: &Path, cache_bytes: usize) -> Result<Database, StoreError> {
        let started = std::time::Instant::now();
        let last_logged = std::sync::atomic::AtomicU64::new(u64::MAX);
        let db = redb::Builder::new()
            .set_cache_size(cache_bytes)
            .set_repair_callback(move |session| {
                // Whole tenths only: the callback runs many times a second.
                let tenth = (session.progress() * 10.0) as u64;
                if last_logged.swap(tenth, std::sync::atomic::Ordering::Relaxed) != tenth {
                    tracing::warn!(
                        progress_pct = tenth * 10,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "store not closed cleanly: rebuilding its free-page map"
                    );
                }
            })
            .create(path)
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        let tx = db.begin_write().map_err(backend)?;
        {
            tx.open_table(ALERTS).map_err(backend)?;
            tx.open_table(TASKS).map_err(backend)?;
            tx.open_table(TASK_ORDER).map_err(backend)?;
            events::create_tables(&tx)?;
            tx.open_table(OPEN).map_err(backend)?;
            tx.open_table(META).map_err(backend)?;
            tx.open_table(ALERTS_BY_TIME).map_err(backend)?;
            tx.open_table(ALERT_DIGESTS).map_err(backend)?;
            series::create_tables(&tx)?;
            audit::create_tables(&tx)?;
            deadlines::create_tables(&tx)?;
            graph_log::create_tables(&tx)?;
        }
        tx.commit().map_err(backend)?;
        Ok(db)
    }

    /// The open database, or why there is none.
    fn db(&self) -> Result<std::sync::RwLockReadGuard<'_, Option<Database>>, StoreError> {
        // A poisoned lock only means a panic elsewhere; the database is fine.
        let guard = self.db.read().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            if self.closed.load(std::sync::atomic::Ordering::Acquire) {
                return Err(backend("the store is closed (the engine is stopping)"));
            }
            return Err(backend("the store is being reopened after an I/O failure"));
        }
        Ok(guard)
    }

    /// A read transaction on the open file.
    pub(super) fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        match self.db()?.as_ref() {
            Some(db) => db.begin_read().map_err(backend),
            None => Err(backend("store closed")),
        }
    }

    /// A write transaction on the open file.
    pub(super) fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        match self.db()?.as_ref() {
            Some(db) => {
                let mut tx = db.begin_write().map_err(backend)?;
                // Each commit also records the free-page map, so an open
                // after a crash does not walk the whole file to rebuild it
                // (seconds per GB); no cost measurable end to end.
                tx.set_quick_repair(true);
                Ok(tx)
            }
            None => Err(backend("store closed")),
        }
    }

    /// Closes and reopens the file: after an I/O error (a full disk) redb
    /// refuses further work until it is reopened, and reopening is its
    /// recovery. Retries for a while if readers still hold the old file.
    pub(super) fn reopen(&self) -> Result<(), StoreError> {
        let mut guard = self.db.write().unwrap_or_else(|p| p.into_inner());
        drop(guard.take());
        let mut last = None;
        for attempt in 0..20u32 {
            match Self::open_file(&self.path, self.cache_bytes) {
                Ok(db) => {
                    *guard = Some(db);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(std::time::Duration::from_millis(
                10 * u64::from(attempt + 1),
            ));
        }
        Err(last.unwrap_or_else(|| backend("cannot reopen the store")))
    }
}
