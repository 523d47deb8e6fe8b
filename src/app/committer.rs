//! The commit stage: the writer's second half, on a thread of its own.
//!
//! Where it sits: the writer thread matches a group of batches (graph,
//! windows, rules, decide, dispatch) and hands the resulting [`Commit`] here;
//! this thread makes it durable, and only then acks the batches and
//! publishes their events. While one group is being committed (B-tree
//! inserts, fsync) the writer thread matches the next, so the two halves
//! use both cores.
//!
//! At most one group is in flight: the writer waits for the result of group
//! N before it hands over group N+1 ([`Committer::settle`]), and a failed
//! commit makes it drop group N+1 (computed on memory that held N) and
//! rebuild from the store. Acks still follow the commit, every alert is
//! counted once, and memory never runs more than one group ahead of disk.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use tokio::sync::{broadcast, oneshot};

use super::writer_metrics::MadeFigures;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::model::TaskEventRecord;
use crate::pipeline::{BatchCounts, PreparedBatch};
use crate::store::{Commit, Store, StoreError};

/// Tries of one commit before the writer is rebuilt and the work refused.
pub(super) const COMMIT_ATTEMPTS: u32 = 4;
/// First pause between commit tries; each next one is 4× longer (0.05, 0.2, 0.8 s).
const COMMIT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(50);

/// A batch's reply channel and what the batch did.
pub type Reply = (oneshot::Sender<Result<BatchCounts, Error>>, BatchCounts);

/// One group of batches, matched and ready to keep.
pub struct Pending {
    /// Everything the group changes, in one transaction.
    pub commit: Commit,
    /// Acked once the commit is durable, refused if it fails.
    pub replies: Vec<Reply>,
    /// Figures counted once the commit is durable.
    pub made: MadeFigures,
    /// The group's input, dropped here rather than on the writer thread
    /// (freeing a batch's alerts is a few percent of the writer's time).
    pub batches: Vec<PreparedBatch>,
}

/// What the writer learns back about a group.
pub type Landed = Result<u64, String>;

/// The writer thread's handle on the commit thread.
pub struct Committer {
    work: Option<SyncSender<Pending>>,
    done: Receiver<Landed>,
    /// A group was handed over and its result not yet read.
    in_flight: bool,
    thread: Option<JoinHandle<()>>,
}

/// What the commit thread needs.
pub struct CommitSide {
    /// Durable storage.
    pub store: Arc<dyn Store>,
    /// Fan-out to watchers.
    pub events: broadcast::Sender<Arc<TaskEventRecord>>,
    /// Operational figures.
    pub metrics: Arc<Metrics>,
    /// Wall clock, unix ms.
    pub clock: fn() -> i64,
}

impl Committer {
    /// Starts the commit thread.
    pub fn spawn(side: CommitSide) -> std::io::Result<Committer> {
        // Capacity 1 and one group in flight: the hand-over never waits.
        let (work, work_rx) = sync_channel::<Pending>(1);
        let (done_tx, done) = sync_channel::<Landed>(1);
        let thread = std::thread::Builder::new()
            .name("dualwarn-commit".into())
            .spawn(move || {
                for p in work_rx {
                    let landed = side.land(p);
                    if done_tx.send(landed).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Committer {
            work: Some(work),
            done,
            in_flight: false,
            thread: Some(thread),
        })
    }

    /// True while a group is being committed (or its result is unread).
    pub fn busy(&self) -> bool {
        self.in_flight
    }

    /// Hands a group over. The caller has settled the one before.
    pub fn hand_over(&mut self, p: Pending) {
        debug_assert!(!self.in_flight, "one group in flight at a time");
        let work = self
            .work
            .as_ref()
            .unwrap_or_else(|| unreachable!("the sender lives until drop"));
        if work.send(p).is_err() {
            panic!("commit thread died");
        }
        self.in_flight = true;
    }

    /// Waits for the group in flight, if any: `Some(result)` when there
    /// was one (alerts kept, or why the commit failed).
    pub fn settle(&mut self) -> Option<Landed> {
        if !self.in_flight {
            return None;
        }
        self.in_flight = false;
        match self.done.recv() {
            Ok(landed) => Some(landed),
            // A panic on the commit thread: the writer cannot know what is
            // on disk, so it stops too and health says so.
            Err(_) => panic!("commit thread died"),
        }
    }

    /// The result of the group in flight if it has already landed.
    pub fn poll(&mut self) -> Option<Landed> {
        if !self.in_flight {
            return None;
        }
        match self.done.try_recv() {
            Ok(landed) => {
                self.in_flight = false;
                Some(landed)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => panic!("commit thread died"),
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // Closing the channel ends the thread after the work it has.
        self.work = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl CommitSide {
    /// Keeps one group, then acks it, publishes its events and counts it;
    /// or refuses every batch of it.
    fn land(&self, p: Pending) -> Landed {
        let Pending {
            commit,
            replies,
            made,
            batches,
        } = p;
        drop(batches);
        if let Err(e) = commit_with_retry(self.store.as_ref(), &self.metrics, &commit) {
            tracing::error!(error = %e, attempts = COMMIT_ATTEMPTS, "commit failed; the writer rebuilds from the store");
            let msg = e.to_string();
            for (reply, _) in replies {
                let _ = reply.send(Err(Error::Unavailable(msg.clone())));
            }
            return Err(msg);
        }
        made.record(&self.metrics, (self.clock)());
        count_batches(&self.metrics, &replies);
        for (reply, counts) in replies {
            let _ = reply.send(Ok(counts));
        }
        let alerts = commit.alerts.len() as u64;
        for e in commit.events {
            // No receiver is fine: nobody is watching.
            let _ = self.events.send(Arc::new(e));
        }
        Ok(alerts)
    }
}

/// Counts what the batches of a durable group did.
fn count_batches(m: &Metrics, replies: &[Reply]) {
    for (_, c) in replies {
        m.alerts_accepted.inc_by(u64::from(c.accepted));
        m.alerts_duplicate.inc_by(u64::from(c.duplicates));
        m.pairs_created.inc_by(u64::from(c.pairs_created));
        if !c.reused.is_empty() {
            let label = crate::metrics::FieldLabel {
                field: "source_id".into(),
            };
            m.alerts_rejected
                .get_or_create(&label)
                .inc_by(c.reused.len() as u64);
        }
    }
}

/// Commits, retrying with backoff (and a store recovery between tries):
/// a transient failure costs a pause, not a rebuild.
pub fn commit_with_retry(
    store: &dyn Store,
    metrics: &Metrics,
    commit: &Commit,
) -> Result<(), StoreError> {
    let mut delay = COMMIT_BACKOFF;
    let mut attempt = 1;
    loop {
        let started = std::time::Instant::now();
        match store.commit(commit) {
            Ok(()) => {
                metrics
                    .commit_seconds
                    .observe(started.elapsed().as_secs_f64());
                return Ok(());
            }
            Err(e) if attempt == COMMIT_ATTEMPTS => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, attempt, retry_in_ms = delay.as_millis() as u64, "commit failed; retrying");
                std::thread::sleep(delay);
                delay *= 4;
                attempt += 1;
                if let Err(e) = store.recover() {
                    tracing::warn!(error = %e, "store recovery failed");
                }
            }
        }
    }
}
