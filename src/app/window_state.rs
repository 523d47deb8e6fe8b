//! Where the rules' sliding windows come from at start, and how they stay
//! durable: `windows.snap` beside `graph.snap`, written in the same
//! snapshot step and covering the same store log positions. At start each
//! window whose definition is unchanged takes its saved state, and the
//! graph's replay of the alerts logged since feeds it as well, in arrival
//! order, as live matching did. Windows new or changed since (and all of
//! them when the file is missing, damaged, or does not fit the store, the
//! graph or the settings) are warmed from the store's event-time index
//! instead ([`super::warm_up`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::graph_state::{self, SnapshotInfo};
use crate::config::Config;
use crate::error::Error;
use crate::graph::LinkGraph;
use crate::rules::Matcher;
use crate::rules::window::snapshot::{self, WindowCheckpoint, WindowSnapshotError};
use crate::store::{GraphLogMarks, Store};

/// File name of the windows snapshot inside the data directory.
const WINDOWS_FILE: &str = "windows.snap";

/// Where the windows snapshot of a data directory lives.
pub fn windows_path(data_dir: &Path) -> PathBuf {
    data_dir.join(WINDOWS_FILE)
}

/// Windows that took their saved state at start.
struct Restored {
    /// By slot, which did.
    slots: Vec<bool>,
    /// The last logged alert they hold.
    after_seq: u64,
    /// Keys and events taken.
    keys: u64,
    events: u64,
    /// Time to read the file.
    read_ms: u64,
}

/// Saves the matcher's windows as of `marks`; a failure is logged (the
/// next start warms the windows from the store).
pub fn save(path: &Path, matcher: &Matcher, marks: GraphLogMarks) {
    let started = Instant::now();
    let at = WindowCheckpoint {
        alert_seq: marks.alert_seq,
        import_seq: marks.import_seq,
    };
    match matcher.save_windows(path, at) {
        Ok(w) => tracing::info!(
            windows = w.windows,
            keys = w.keys,
            events = w.events,
            bytes = w.bytes,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "window snapshot written"
        ),
        Err(e) => tracing::error!(
            error = %e,
            "window snapshot failed; the next start warms windows from the store"
        ),
    }
}

/// The graph and `matcher`'s windows as of the last commit: both snapshots,
/// then the log after them. Also returns, by slot, the windows still to
/// warm from the store.
pub fn load(
    config: &Config,
    store: &dyn Store,
    matcher: &mut Matcher,
    now_ms: i64,
) -> Result<(LinkGraph, SnapshotInfo, Vec<bool>), Error> {
    let every = vec![true; matcher.rules().windows.len()];
    let logged_to = store.graph_log_marks()?.alert_seq;
    let restored = restore(&windows_path(&config.data_dir), matcher, logged_to);
    let (mut caught_up, mut catch_up_time) = (0u64, Duration::ZERO);
    let mut feed = |seq: u64, alert: &crate::model::Alert, graph: &LinkGraph| {
        if let Some(r) = &restored
            && seq > r.after_seq
        {
            let started = Instant::now();
            matcher.observe_windows(alert, graph, now_ms, &r.slots);
            catch_up_time += started.elapsed();
            caught_up += 1;
        }
    };
    let (graph, info) = graph_state::load_graph(config, store, now_ms, &mut feed)?;
    let Some(r) = restored else {
        return Ok((graph, info, every));
    };
    if info.marks.alert_seq > r.after_seq {
        // The replay began after the windows' last alert: they miss some.
        tracing::warn!(
            windows_at = r.after_seq,
            graph_at = info.marks.alert_seq,
            "window snapshot not used: older than the graph snapshot; warming windows from the store"
        );
        matcher.clear_windows(&r.slots);
        return Ok((graph, info, every));
    }
    let restored_n = r.slots.iter().filter(|s| **s).count();
    tracing::info!(
        restored = restored_n,
        cold = r.slots.len() - restored_n,
        keys = r.keys,
        events = r.events,
        read_ms = r.read_ms,
        caught_up,
        catch_up_ms = catch_up_time.as_millis() as u64,
        "windows loaded from their snapshot"
    );
    Ok((graph, info, r.slots.iter().map(|s| !s).collect()))
}

/// Reads `path` into the matcher's windows whose definition is unchanged;
/// `None`, with a warning saying why, when there is no usable snapshot.
fn restore(path: &Path, matcher: &mut Matcher, logged_to: u64) -> Option<Restored> {
    if !path.exists() {
        tracing::info!("no window snapshot; warming windows from the store");
        return None;
    }
    let started = Instant::now();
    let saved = match snapshot::load(path) {
        Ok(s) => s,
        Err(e) => {
            let aside = path.with_extension("snap.bad");
            let moved = matches!(e, WindowSnapshotError::Invalid { .. })
                && std::fs::rename(path, &aside).is_ok();
            tracing::warn!(error = %e, moved_aside = moved, "window snapshot not used; warming windows from the store");
            return None;
        }
    };
    let after_seq = saved.header.at.alert_seq;
    if after_seq > logged_to {
        tracing::warn!(
            windows_at = after_seq,
            logged_to,
            "window snapshot not used: ahead of the store's alert log; warming windows from the store"
        );
        return None;
    }
    let read_ms = started.elapsed().as_millis() as u64;
    let (keys, events) = saved.stores.iter().fold((0, 0), |(k, e), (_, s)| {
        (k + s.key_count() as u64, e + s.event_count() as u64)
    });
    match matcher.restore_windows(saved) {
        Ok(slots) => Some(Restored {
            slots,
            after_seq,
            keys,
            events,
            read_ms,
        }),
        Err(why) => {
            tracing::warn!(why = %why, "window snapshot not used; warming windows from the store");
            None
        }
    }
}
