//! The closed choices of `dualwarn tasks` flags (`--role`, `--status`,
//! `--level`, `--reached`, `--defrauded`, `--code`) as clap value enums, and the wire
//! value each one stands for.

use clap::ValueEnum;

use crate::proto;

/// `--role`: whose task.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleArg {
    /// The community police officer's (社区民警).
    Police,
    /// The grid worker's (网格员).
    Grid,
}

/// `--status`: where a task stands.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StatusArg {
    /// Not signed for yet.
    Open,
    /// Signed for (签收), no outcome yet.
    Acknowledged,
    /// Being worked (处置中): called, visited, or 暂时找不到.
    InProgress,
    /// Outcome reported.
    Done,
}

/// `--code`: the feedback form's outcome code.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CodeArg {
    /// 已劝阻.
    Dissuaded,
    /// 暂时找不到: the task stays open with a new deadline.
    NotFoundYet,
    /// 确实找不到.
    CannotBeFound,
    /// 不符: wrong person or data.
    Mismatch,
    /// 重复预警.
    Duplicate,
    /// 已被骗 (needs --lost-yuan).
    Defrauded,
}

impl From<CodeArg> for proto::OutcomeCode {
    fn from(c: CodeArg) -> Self {
        match c {
            CodeArg::Dissuaded => Self::Dissuaded,
            CodeArg::NotFoundYet => Self::NotFoundYet,
            CodeArg::CannotBeFound => Self::CannotBeFound,
            CodeArg::Mismatch => Self::Mismatch,
            CodeArg::Duplicate => Self::Duplicate,
            CodeArg::Defrauded => Self::Defrauded,
        }
    }
}

/// `--level`: the warning level.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LevelArg {
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

/// `--reached`: who the follow-up reached.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReachedArg {
    /// The person warned about.
    Person,
    /// A relative.
    Relative,
    /// Nobody.
    Nobody,
}

/// `--defrauded`: whether the person had already lost money.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DefraudedArg {
    /// Not defrauded.
    No,
    /// Defrauded.
    Yes,
}

impl From<RoleArg> for proto::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Police => Self::PoliceOfficer,
            RoleArg::Grid => Self::GridWorker,
        }
    }
}

impl From<StatusArg> for proto::TaskStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Open => Self::Open,
            StatusArg::Acknowledged => Self::Acknowledged,
            StatusArg::InProgress => Self::InProgress,
            StatusArg::Done => Self::Done,
        }
    }
}

impl From<LevelArg> for proto::Level {
    fn from(l: LevelArg) -> Self {
        match l {
            LevelArg::High => Self::High,
            LevelArg::Medium => Self::Medium,
            LevelArg::Low => Self::Low,
        }
    }
}

impl From<ReachedArg> for proto::outcome::Reached {
    fn from(r: ReachedArg) -> Self {
        match r {
            ReachedArg::Person => Self::Person,
            ReachedArg::Relative => Self::Relative,
            ReachedArg::Nobody => Self::Nobody,
        }
    }
}

impl From<DefraudedArg> for proto::outcome::Defrauded {
    fn from(d: DefraudedArg) -> Self {
        match d {
            DefraudedArg::No => Self::No,
            DefraudedArg::Yes => Self::Yes,
        }
    }
}

/// An optional filter as its wire number; 0 (unspecified) when not given.
pub fn wire<A: Into<P>, P: Into<i32>>(a: Option<A>) -> i32 {
    a.map_or(0, |a| a.into().into())
}
