//! The dual-warning task (双预警任务): one per role, two per suspected
//! victim, made by *dispatch*, kept by *store*, served to consoles.

use serde::{Deserialize, Serialize};

use crate::directory::{DivisionCode, Person};

/// Who a task is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Community police officer (社区民警) of the person's police area.
    PoliceOfficer,
    /// Grid worker (网格员) of the person's grid.
    GridWorker,
}

impl Role {
    /// Both roles, in the order a pair lists them.
    pub const BOTH: [Role; 2] = [Role::PoliceOfficer, Role::GridWorker];

    /// Short tag used in task ids.
    pub fn tag(self) -> &'static str {
        match self {
            Role::PoliceOfficer => "police",
            Role::GridWorker => "grid",
        }
    }
}

/// Warning level (预警等级); ordered so that `High > Medium > Low`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 低.
    Low,
    /// 中.
    Medium,
    /// 高.
    High,
}

impl Level {
    /// Parses `high` / `medium` / `low`.
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "high" => Some(Level::High),
            "medium" => Some(Level::Medium),
            "low" => Some(Level::Low),
            _ => None,
        }
    }
}

/// The history actor of changes the engine makes (creation, merges,
/// escalations); anyone else is a person at a console.
pub const ENGINE_ACTOR: &str = "engine";

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Dispatched, not signed for.
    Open,
    /// Signed for (签收).
    Acknowledged,
    /// Being worked: called or visited, or 暂时找不到 with a new deadline.
    InProgress,
    /// Closed by its outcome.
    Done,
}

/// What happened to a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskEventKind {
    /// The pair was made.
    Created,
    /// A duplicate warning (重复预警) joined the task.
    Merged,
    /// Signed for.
    Acknowledged,
    /// Outcome reported.
    Outcome,
    /// A duplicate warning raised the level.
    Escalated,
    /// A phone attempt (电话劝阻).
    Called,
    /// A visit (上门).
    Visited,
    /// A follow-up round (回访) was scheduled.
    FollowUpScheduled,
    /// A follow-up round was done.
    FollowUpDone,
    /// Overdue (逾期): escalated to the station, then the county centre.
    Overdue,
    /// Signed for with no step since: re-notified.
    Renotified,
    /// 转办 asked: the person is elsewhere.
    TransferRequested,
    /// 转办 approved: the task moved.
    TransferApproved,
    /// 转办 refused: the task stays.
    TransferRefused,
    /// Publicity given (双宣传), or a publicity task's work (宣传).
    Publicized,
}

/// One matched rule behind a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Rule id.
    pub rule_id: String,
    /// Readable why, for the person at the door.
    pub why: String,
    /// The alert that matched.
    pub alert_key: String,
}

/// One change in a task's life, with time and actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Unix ms.
    pub at_ms: i64,
    /// `engine` or the console user.
    pub actor: String,
    /// What happened.
    pub kind: TaskEventKind,
    /// Details (never personal data).
    pub detail: String,
}

/// What a worker reported back (劝阻反馈); see domain.md "Outcomes".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The form's outcome code (已劝阻, 暂时找不到, ...).
    #[serde(default)]
    pub code: super::lifecycle::OutcomeCode,
    /// `person` (本人), `relative` (亲友) or `nobody`.
    pub reached: String,
    /// Whether the call connected.
    pub connected: bool,
    /// Why not connected or not reached.
    pub not_connected_reason: String,
    /// `no`, `yes` or empty when unknown.
    pub defrauded: String,
    /// `self_aware` (自主防范), `dissuasion` (及时劝阻), `none` or empty.
    pub stopped_by: String,
    /// `none`, `done` or `ineffective`.
    pub visit: String,
    /// 受骗金额, fen.
    pub amount_lost_fen: i64,
    /// 劝阻金额, fen.
    pub amount_saved_fen: i64,
    /// Fraud type found at the door.
    pub fraud_type: String,
    /// Another round of follow-up needed.
    pub follow_up_needed: bool,
    /// Free note (kept, never logged).
    pub note: String,
}

/// One dual-warning task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// `<pair_id>-police` or `<pair_id>-grid`.
    pub id: String,
    /// The pair both tasks share.
    pub pair_id: String,
    /// Police officer or grid worker.
    pub role: Role,
    /// Village or community of the person.
    pub division: DivisionCode,
    /// Police station id.
    pub police_station: String,
    /// Police area id.
    pub police_area: String,
    /// Grid id.
    pub grid_id: String,
    /// Who must act.
    pub assignee: Person,
    /// Masked phone, as consoles show it.
    pub subject_phone_masked: String,
    /// Masked name.
    pub subject_name_masked: String,
    /// Masked address.
    pub subject_address_masked: String,
    /// Stable hash of the person.
    pub subject_key: String,
    /// Current level; only ever rises.
    pub level: Level,
    /// Fraud-type code.
    pub fraud_type: String,
    /// Rule matches behind the task: the first and the last
    /// [`KEEP_EACH_END`](super::task_delta::KEEP_EACH_END).
    pub reasons: Vec<Reason>,
    /// Unix ms.
    pub created_at_ms: i64,
    /// Unix ms.
    pub due_at_ms: i64,
    /// Life-cycle state.
    pub status: TaskStatus,
    /// Keys of the first and the last alerts merged in, in arrival order.
    pub alert_keys: Vec<String>,
    /// Every change, but only the first and last merge entries.
    pub history: Vec<HistoryEntry>,
    /// Set once reported.
    pub outcome: Option<Outcome>,
    /// Version of the rule set that made the task.
    pub rule_set_version: String,
    /// Phone (电话劝阻) or visit (上门劝阻): a visit once any rule asks for one.
    #[serde(default)]
    pub method: crate::rules::Method,
    /// Linked case series (串并案) the victim belongs to, `S-` and 16 hex
    /// digits, as the graph decided; empty when none. Tasks stored before
    /// series existed decode with it empty.
    #[serde(default)]
    pub series_id: String,
    /// Alert keys left out between the first and the last kept.
    #[serde(default)]
    pub alert_keys_omitted: u64,
    /// Reasons left out between the first and the last kept.
    #[serde(default)]
    pub reasons_omitted: u64,
    /// Merge entries of the history left out between the first and the last kept.
    #[serde(default)]
    pub merges_omitted: u64,
    /// Follow-up rounds (回访) after the outcome, in order.
    #[serde(default)]
    pub follow_ups: Vec<super::lifecycle::FollowUp>,
    /// How far its overdue work has been escalated.
    #[serde(default)]
    pub escalated: super::escalation::Escalated,
    /// A transfer (转办) waiting for a decision.
    #[serde(default)]
    pub transfer: Option<super::transfer::Transfer>,
    /// Publicity given: 双宣传 on a pair's task, the work on a publicity task.
    #[serde(default)]
    pub publicity: Vec<super::publicity::PublicityRecord>,
    /// Set on a publicity task (宣传任务) made for a key area; such a pair
    /// has no person behind it.
    #[serde(default)]
    pub brief: Option<super::publicity::PublicityBrief>,
    /// Step deadlines (电话, 上门) as the policy set them at creation.
    #[serde(default)]
    pub steps_due: super::escalation::StepsDue,
}

/// One entry of the global task event log that consoles watch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskEventRecord {
    /// Position in the log, from 1; the resume token.
    pub seq: u64,
    /// What happened.
    pub kind: TaskEventKind,
    /// The task after the event.
    pub task: Task,
    /// How the store keeps the event: the change alone, or `None` for the
    /// whole task (a creation, and every [`WHOLE_EVERY`]th event of a task,
    /// so that a rebuild folds few deltas). Set by the writer; never on the
    /// wire, and `None` on events read back.
    #[serde(skip)]
    pub delta: Option<super::task_delta::TaskDelta>,
}

/// Two records are the same event when they say the same; how the store
/// keeps them (`delta`) does not count.
impl PartialEq for TaskEventRecord {
    fn eq(&self, other: &Self) -> bool {
        (self.seq, self.kind, &self.task) == (other.seq, other.kind, &other.task)
    }
}

impl Eq for TaskEventRecord {}

/// A task's event is kept whole once in this many, counting from its creation.
pub const WHOLE_EVERY: u64 = 32;
