//! The real pure core driven in process, for the tools outside the flow
//! that measure it (`precision`, `replay`): prepare (normalize → enrich)
//! then the writer (observe → match → decide → settle → dispatch) over a
//! fresh account-link graph and writer state, with the store's duplicate
//! check kept in memory. Nothing is persisted and no clock is read: each
//! batch says its `now`.

use std::sync::Arc;

use crate::config::Deadlines;
use crate::directory::Directory;
use crate::normalize::Checks;
use crate::pipeline::{BatchCounts, PreparedBatch, Writer, prepare};
use crate::proto;
use crate::rules::window::WindowLimits;
use crate::rules::{Matcher, RuleSet};
use crate::store::{Commit, KnownAlerts, WriterState};

/// One engine's core, with the defaults a server starts with.
pub struct OfflineCore {
    writer: Writer,
    /// Keys (and digests) of the alerts accepted so far: what the store's
    /// `known_alerts` answers, so re-sends count as duplicates here too.
    known: KnownAlerts,
}

/// What one batch did.
pub struct BatchRun {
    /// The batch after normalize and enrich, with its rejections.
    pub prepared: PreparedBatch,
    /// What a server would have persisted.
    pub commit: Commit,
    /// What a server would have acknowledged.
    pub counts: BatchCounts,
}

impl OfflineCore {
    /// A core over `rules`, with the default windows, deadlines and UTC
    /// offset of [`crate::config::Config`].
    pub fn new(rules: Arc<RuleSet>) -> OfflineCore {
        let matcher = Matcher::new(
            rules,
            WindowLimits::default(),
            crate::config::DEFAULT_UTC_OFFSET_HOURS,
        );
        OfflineCore {
            writer: Writer::from_state(WriterState::default(), Deadlines::default(), matcher),
            known: KnownAlerts::new(),
        }
    }

    /// Runs `alerts` through the core at `now_ms`, as one ingest batch.
    pub fn run(&mut self, alerts: Vec<proto::Alert>, dir: &Directory, now_ms: i64) -> BatchRun {
        let batch = proto::AlertBatch {
            sequence: 0,
            alerts,
        };
        let prepared = prepare(&batch, dir, Checks::at(now_ms));
        let (commit, counts) = self.writer.apply_batch(&prepared, &self.known, now_ms);
        self.known.extend(
            commit
                .alerts
                .iter()
                .map(|a| (a.key.clone(), Some(a.digest))),
        );
        BatchRun {
            prepared,
            commit,
            counts,
        }
    }
}
