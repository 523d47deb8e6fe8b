//! Why an artefact is flagged: on a rule set's `flagged_*` list, imported
//! from a flagged / frozen / stop-payment list or a confirmed case, or
//! flagged by the graph itself when it links to many victims. The note is
//! what an explanation path shows at its end (e.g. "冻结 2026-03-02").

use serde::{Deserialize, Serialize};

/// Bits of `NodeData::flags`.
pub mod flag_bits {
    /// On a `flagged_*` list of the rule set in force.
    pub const LISTED: u8 = 1;
    /// Flagged by a bulk import (list or case).
    pub const IMPORTED: u8 = 2;
    /// Flagged by the graph: linked to many victims.
    pub const DERIVED: u8 = 4;
    /// Any of the above.
    pub const ANY_FLAG: u8 = LISTED | IMPORTED | DERIVED;
    /// Hub-like: reached its degree cap, or took more than
    /// `hub_links_per_day` new links within a day (a pooled account, a
    /// service line). Hops never pass through it, series never join
    /// through it, and the graph never flags it itself.
    pub const HUB: u8 = 8;
}

/// Bits of `NodeData::marks`: what a node is besides flagged.
pub mod mark_bits {
    /// On an `allow_*` list of the rule set in force (official numbers,
    /// collection accounts, popular apps and sites).
    pub const ALLOW_LISTED: u8 = 1;
    /// Allowed by `graph import --kind allow`.
    pub const ALLOW_IMPORTED: u8 = 2;
    /// Either of the above: hops, series and derived flags pass it by.
    pub const ALLOWED: u8 = ALLOW_LISTED | ALLOW_IMPORTED;
    /// A person who is a suspected victim: an alert about them matched a
    /// rule (so they had, or joined, a pair). Set after decide.
    pub const SUSPECT: u8 = 4;
}

/// Where a flag came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagSource {
    /// A flagged-artefact list (涉诈名单).
    Flagged,
    /// A frozen-account list (冻结).
    Frozen,
    /// A stop-payment list (止付).
    StopPayment,
    /// A confirmed case record (已立案).
    Case,
    /// The graph: a new artefact linked to many victims (自动研判).
    Derived,
}

impl FlagSource {
    /// Byte used in snapshots.
    pub fn code(self) -> u8 {
        match self {
            FlagSource::Flagged => 1,
            FlagSource::Frozen => 2,
            FlagSource::StopPayment => 3,
            FlagSource::Case => 4,
            FlagSource::Derived => 5,
        }
    }

    /// The source of a snapshot byte.
    pub fn from_code(b: u8) -> Option<FlagSource> {
        Some(match b {
            1 => FlagSource::Flagged,
            2 => FlagSource::Frozen,
            3 => FlagSource::StopPayment,
            4 => FlagSource::Case,
            5 => FlagSource::Derived,
            _ => return None,
        })
    }

    /// Chinese label shown on tasks.
    pub fn label(self) -> &'static str {
        match self {
            FlagSource::Flagged => "涉诈",
            FlagSource::Frozen => "冻结",
            FlagSource::StopPayment => "止付",
            FlagSource::Case => "已立案",
            FlagSource::Derived => "自动研判",
        }
    }
}

/// Why a node is flagged (imported or derived; list flags carry the list name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagNote {
    /// Where the flag came from.
    pub source: FlagSource,
    /// Free text: the list's reason, a case number, or what the graph saw.
    pub reason: Box<str>,
    /// Date of the flag, `YYYY-MM-DD`, empty when unknown.
    pub date: Box<str>,
    /// When the flag was set, unix s: a derived flag expires
    /// `derived_flag_max_age` after it (0 for imports, which never expire).
    pub at_s: u32,
}

impl FlagNote {
    /// `冻结 2026-03-02`, `自动研判: 6 名受害人, 3 个区县`.
    pub fn describe(&self) -> String {
        let mut s = self.source.label().to_string();
        if !self.date.is_empty() {
            s.push(' ');
            s.push_str(&self.date);
        }
        if !self.reason.is_empty() {
            s.push_str(": ");
            s.push_str(&self.reason);
        }
        s
    }
}
