//! The jurisdiction directory replaced at run time (`DirectoryAdmin.Reload`,
//! `dualwarn directory reload`): the file `directory` names is read and
//! checked whole, the console ids of the config are checked against it, and
//! only then is it swapped in. A bad file never replaces a good one; the
//! failure is kept for `DirectoryAdmin.Status` until a reload succeeds.
//!
//! Where it sits: ingest places new alerts with the directory in force when
//! their batch is prepared; tasks already made keep the routing they were
//! made with (a duplicate warning joins its open pair where it is), and
//! transfers are placed with the directory in force at the call.

use std::sync::Arc;

use super::{Shared, check_console_ids};
use crate::directory::Directory;
use crate::error::Error;

/// What the directory in force is, and how the last reload went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryStatus {
    /// Version of the directory in force.
    pub version: String,
    /// Villages and communities.
    pub villages: u64,
    /// Grids.
    pub grids: u64,
    /// When it was put in force, unix ms.
    pub loaded_at_ms: i64,
    /// The last failed reload, until one succeeds.
    pub last_error: String,
    /// When it failed.
    pub last_error_at_ms: i64,
}

impl DirectoryStatus {
    /// The status of `directory` just put in force.
    pub fn loaded(directory: &Directory, at_ms: i64) -> DirectoryStatus {
        DirectoryStatus {
            version: directory.version().to_string(),
            villages: directory.village_count() as u64,
            grids: directory.grid_count() as u64,
            loaded_at_ms: at_ms,
            ..DirectoryStatus::default()
        }
    }
}

/// The result of one reload: the previous version, and the status after.
#[derive(Clone, Debug)]
pub struct Reloaded {
    /// Version in force before.
    pub previous_version: String,
    /// Status now.
    pub status: DirectoryStatus,
}

/// Reads, checks and installs the configured directory file at `now_ms`.
/// On any fault the directory in force stays, and the error is returned
/// and kept in the status.
pub fn reload(shared: &Shared, now_ms: i64) -> Result<Reloaded, Error> {
    let previous_version = shared.directory.load().version().to_string();
    let loaded = Directory::load(&shared.config.directory)
        .map_err(Error::from)
        .and_then(|d| {
            check_console_ids(&shared.config, &d)?;
            Ok(d)
        });
    let mut status = shared
        .directory_status
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    match loaded {
        Ok(directory) => {
            let next = DirectoryStatus::loaded(&directory, now_ms);
            tracing::info!(
                previous = %previous_version,
                version = directory.version(),
                villages = directory.village_count(),
                grids = directory.grid_count(),
                "directory reloaded"
            );
            shared.directory.store(Arc::new(directory));
            shared.metrics.reload(true);
            *status = next.clone();
            Ok(Reloaded {
                previous_version,
                status: next,
            })
        }
        Err(e) => {
            tracing::error!(error = %e, kept = %previous_version, "directory reload refused");
            shared.metrics.reload(false);
            status.last_error = e.to_string();
            status.last_error_at_ms = now_ms;
            Err(e)
        }
    }
}
