//! The work the writer thread takes (its bounded job queue): batches,
//! console steps, rule swaps, graph imports, transfers, publicity,
//! escalation ticks, shadow runs; and the graph figures it answers with.
//! Senders are the ingest and admin edges; [`super::writer_thread`] runs them.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::graph_state::SnapshotInfo;
use crate::error::Error;
use crate::graph::import::ImportRow;
use crate::graph::{BoundCounters, MemoryUse};
use crate::model::{Step, Task};
use crate::pipeline::{BatchCounts, PreparedBatch};
use crate::rules::RuleSet;

/// Work for the writer.
pub enum Job {
    /// A prepared batch; replied with its counts once durable.
    Batch {
        /// The batch.
        batch: PreparedBatch,
        /// Reply.
        reply: oneshot::Sender<Result<BatchCounts, Error>>,
    },
    /// A console step on a task (签收, 电话, 上门, 反馈, 回访).
    Act {
        /// Task.
        task_id: String,
        /// Who.
        actor: String,
        /// What.
        step: Step,
        /// The task version the caller saw.
        based_on: u64,
        /// Reply.
        reply: oneshot::Sender<Result<Task, Error>>,
    },
    /// Put a new rule set in force between two batches; replies with the
    /// number of windows whose state carried over.
    SwapRules {
        /// The compiled set.
        rules: Arc<RuleSet>,
        /// Reply.
        reply: oneshot::Sender<usize>,
    },
    /// Log a batch of graph import rows durably, then apply them; replies
    /// with (rows applied, import number).
    GraphImport {
        /// Checked rows.
        rows: Vec<ImportRow>,
        /// Reply.
        reply: oneshot::Sender<Result<(u32, u64), Error>>,
    },
    /// 转办 asked on a task of an open pair.
    RequestTransfer {
        /// Task.
        task_id: String,
        /// Who.
        actor: String,
        /// Where the person is now.
        to: crate::directory::DivisionCode,
        /// Why.
        reason: String,
        /// The task version the caller saw.
        based_on: u64,
        /// Reply.
        reply: oneshot::Sender<Result<Task, Error>>,
    },
    /// 转办 decided: moved to `placement`, or refused when `None`.
    DecideTransfer {
        /// Task.
        task_id: String,
        /// Who.
        actor: String,
        /// The new village's routing, when approved.
        placement: Option<Box<crate::directory::Placement>>,
        /// Note.
        note: String,
        /// The task version the caller saw.
        based_on: u64,
        /// Reply: both tasks as they now stand.
        reply: oneshot::Sender<Result<Vec<Task>, Error>>,
    },
    /// Publicity pairs for key areas, placed by the caller.
    Publicity {
        /// Each key area and its village's routing.
        areas: Vec<(crate::areas::KeyArea, crate::directory::Placement)>,
        /// The method's deadline, ms.
        deadline_ms: i64,
        /// Reply: what covers each area, in order.
        reply: oneshot::Sender<Result<Vec<crate::pipeline::Covered>, Error>>,
    },
    /// Escalate what is overdue now (every `escalation.check_every`, and at
    /// start); replies with the number of escalation events.
    Tick {
        /// Reply, when someone waits for it.
        reply: Option<oneshot::Sender<Result<usize, Error>>>,
    },
    /// A shadow run's start, report, stop or promotion (影子运行).
    Shadow(super::shadow::ShadowJob),
    /// The graph's figures.
    GraphStats {
        /// Reply.
        reply: oneshot::Sender<GraphFigures>,
    },
    /// Write a graph snapshot now.
    GraphSnapshot {
        /// Reply.
        reply: oneshot::Sender<Result<SnapshotInfo, Error>>,
    },
    /// The last job, at a graceful stop: snapshot the graph and windows,
    /// close the store, end the writer thread.
    Stop {
        /// The snapshot's outcome, or the close's error.
        reply: oneshot::Sender<Result<SnapshotInfo, Error>>,
    },
}

/// The account-link graph's figures, for `GraphAdmin.Stats`.
#[derive(Clone, Copy, Debug, Default)]
pub struct GraphFigures {
    /// Nodes, links and bytes.
    pub memory: MemoryUse,
    /// What the bounds did.
    pub counters: BoundCounters,
    /// Hop searches that ran out of budget.
    pub searches_gave_up: u64,
    /// Flagged nodes.
    pub flagged: u64,
    /// Nodes that reached the degree cap.
    pub hubs: u64,
    /// The last snapshot written or loaded.
    pub snapshot: SnapshotInfo,
}
