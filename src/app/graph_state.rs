//! Where the account-link graph comes from at start and how it stays
//! durable: the last snapshot (`graph.snap` in the data directory), then
//! every import batch and alert the store logged after the snapshot's
//! checkpoint, replayed in order. With no usable snapshot the graph is
//! rebuilt from the whole log. The writer thread snapshots again every
//! `[graph] snapshot_every` alerts and import rows, and at shutdown; the
//! rules' windows are saved in the same step, covering the same log
//! positions, and ride on the replay ([`super::window_state`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::Config;
use crate::error::Error;
use crate::graph::import::ImportRow;
use crate::graph::snapshot::{Checkpoint, SnapshotError};
use crate::graph::{GraphLimits, LinkGraph};
use crate::model::Alert;
use crate::pipeline::Writer;
use crate::store::{GraphLogMarks, Store};

/// Called with every alert the replay reads from the log (its arrival
/// number, the alert, and the graph just after observing it, as the
/// matcher saw it live): what brings restored windows up to date.
pub type ReplayHook<'a> = &'a mut dyn FnMut(u64, &Alert, &LinkGraph);

/// File name of the snapshot inside the data directory.
const SNAPSHOT_FILE: &str = "graph.snap";
/// Alerts read from the log per page during a replay.
const REPLAY_PAGE: usize = 10_000;
/// Import batches read per page during a replay.
const IMPORT_PAGE: usize = 16;

/// Where the snapshot of a data directory lives.
pub fn snapshot_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SNAPSHOT_FILE)
}

/// What the last snapshot wrote.
#[derive(Clone, Copy, Debug, Default)]
pub struct SnapshotInfo {
    /// When, unix ms.
    pub at_ms: i64,
    /// File size.
    pub bytes: u64,
    /// How long it took.
    pub elapsed_ms: u64,
    /// The log positions it covers.
    pub marks: GraphLogMarks,
}

/// Snapshot bookkeeping of the writer thread: the graph's, and the
/// windows' beside it.
pub struct GraphKeeper {
    path: PathBuf,
    windows_path: PathBuf,
    every: u64,
    /// Alerts and import rows applied since the last snapshot.
    since_last: u64,
    /// The last snapshot written or loaded.
    pub last: SnapshotInfo,
}

impl GraphKeeper {
    /// Snapshots into `data_dir` every `every` alerts and rows.
    pub fn new(data_dir: &Path, every: u64) -> GraphKeeper {
        GraphKeeper {
            path: snapshot_path(data_dir),
            windows_path: super::window_state::windows_path(data_dir),
            every,
            since_last: 0,
            last: SnapshotInfo::default(),
        }
    }

    /// Counts `n` applied alerts or rows; true when a snapshot is due.
    pub fn applied(&mut self, n: u64) -> bool {
        self.since_last += n;
        self.since_last >= self.every
    }

    /// Writes the graph, then the windows, covering what the store has
    /// logged so far (the caller runs on the writer thread after a commit,
    /// so memory holds exactly that). A failed windows save is logged, not
    /// returned: the next start warms them from the store instead.
    pub fn snapshot(
        &mut self,
        writer: &Writer,
        store: &dyn Store,
        now_ms: i64,
    ) -> Result<SnapshotInfo, Error> {
        let started = Instant::now();
        let graph = writer.graph();
        let marks = store.graph_log_marks()?;
        let at = Checkpoint {
            alert_seq: marks.alert_seq,
            import_seq: marks.import_seq,
        };
        let bytes = graph
            .save(&self.path, at)
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        self.since_last = 0;
        self.last = SnapshotInfo {
            at_ms: now_ms,
            bytes,
            elapsed_ms: started.elapsed().as_millis() as u64,
            marks,
        };
        tracing::info!(
            nodes = graph.node_count(),
            links = graph.link_count(),
            bytes,
            elapsed_ms = self.last.elapsed_ms,
            "graph snapshot written"
        );
        super::window_state::save(&self.windows_path, writer.matcher(), marks);
        Ok(self.last)
    }
}

/// The graph as of the last commit: snapshot plus the logs after it; every
/// alert replayed from the log also goes to `hook`.
pub fn load_graph(
    config: &Config,
    store: &dyn Store,
    now_ms: i64,
    hook: ReplayHook<'_>,
) -> Result<(LinkGraph, SnapshotInfo), Error> {
    let limits = config.graph.limits();
    let path = snapshot_path(&config.data_dir);
    let started = Instant::now();
    let (mut graph, at) = read_snapshot(&path, &limits);
    let loaded_ms = started.elapsed().as_millis() as u64;
    let rows = replay_imports(&mut graph, store, at.import_seq)?;
    let marks = store.graph_log_marks()?;
    let alerts = if at == Checkpoint::default() && marks.alert_seq == 0 {
        replay_unlogged(&mut graph, store, &limits, now_ms)?
    } else {
        replay_alerts(&mut graph, store, at.alert_seq, hook)?
    };
    tracing::info!(
        nodes = graph.node_count(),
        links = graph.link_count(),
        snapshot_ms = loaded_ms,
        replayed_alerts = alerts,
        replayed_rows = rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "graph loaded"
    );
    let info = SnapshotInfo {
        at_ms: 0,
        bytes: 0,
        elapsed_ms: loaded_ms,
        marks: GraphLogMarks {
            alert_seq: at.alert_seq,
            import_seq: at.import_seq,
        },
    };
    Ok((graph, info))
}

/// The snapshot at `path`, or an empty graph when there is none or it does
/// not check (kept aside as `graph.snap.bad` for a look).
fn read_snapshot(path: &Path, limits: &GraphLimits) -> (LinkGraph, Checkpoint) {
    if !path.exists() {
        return (LinkGraph::new(limits.clone()), Checkpoint::default());
    }
    match LinkGraph::load(path, limits.clone()) {
        Ok(loaded) => loaded,
        Err(e) => {
            let aside = path.with_extension("snap.bad");
            let moved = std::fs::rename(path, &aside).is_ok();
            let why = match &e {
                SnapshotError::Io { .. } => "unreadable",
                SnapshotError::Invalid { .. } => "invalid",
            };
            tracing::warn!(error = %e, why, moved_aside = moved, "graph snapshot not used; rebuilding from the store log");
            (LinkGraph::new(limits.clone()), Checkpoint::default())
        }
    }
}

fn replay_imports(graph: &mut LinkGraph, store: &dyn Store, mut after: u64) -> Result<u64, Error> {
    let mut rows = 0u64;
    loop {
        let page = store.logged_imports(after, IMPORT_PAGE)?;
        let Some(&(last, _)) = page.last() else {
            return Ok(rows);
        };
        for (seq, json) in &page {
            let batch: Vec<ImportRow> = serde_json::from_slice(json).map_err(|e| {
                Error::Store(crate::store::StoreError::Corrupt {
                    key: format!("graph_imports/{seq}"),
                    why: e.to_string(),
                })
            })?;
            for row in &batch {
                graph.apply(row);
            }
            rows += batch.len() as u64;
        }
        after = last;
    }
}

/// Replays logged alerts after `after`: observed, handed to `hook`,
/// settled with the match the writer logged, and each person's series
/// counted as announced (tasks may carry its id).
fn replay_alerts(
    graph: &mut LinkGraph,
    store: &dyn Store,
    mut after: u64,
    hook: ReplayHook<'_>,
) -> Result<u64, Error> {
    let mut n = 0u64;
    loop {
        let page = store.logged_alerts(after, REPLAY_PAGE)?;
        let Some(last) = page.last().map(|a| a.seq) else {
            return Ok(n);
        };
        for logged in &page {
            // The same steps, in the same order, as the writer (whose
            // matcher runs between observe and settle).
            graph.observe(&logged.alert);
            hook(logged.seq, &logged.alert, graph);
            graph.settle(&logged.alert, logged.suspect);
            graph.announce_series(&logged.alert);
        }
        n += page.len() as u64;
        if n % 1_000_000 < REPLAY_PAGE as u64 {
            tracing::info!(alerts = n, "graph replay");
        }
        after = last;
    }
}

/// A store written before the alert log existed: replays its alerts within
/// the link age by event time.
fn replay_unlogged(
    graph: &mut LinkGraph,
    store: &dyn Store,
    limits: &GraphLimits,
    now_ms: i64,
) -> Result<u64, Error> {
    let since = now_ms.saturating_sub(i64::from(limits.link_max_age_s) * 1000);
    let alerts = store.alerts_since(since, super::MAX_WARM_ALERTS)?;
    for a in &alerts {
        // Such a store never logged which alerts matched: nobody is marked
        // a suspected victim until their next matching alert.
        graph.observe(a);
        graph.announce_series(a);
    }
    Ok(alerts.len() as u64)
}
