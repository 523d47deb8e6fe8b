//! The *match* stage: rule files from `rules/` and the flagged lists they
//! use, loaded once, then evaluated synchronously against each checked
//! alert. Sits between *enrich* and *decide*.
//!
//! This is the first, minimal rule form (a rule names the sources it reads,
//! one counterpart kind looked up in one list, and an amount floor); the
//! full rule language replaces it.

mod eval;
mod load;

pub use eval::RuleHit;
pub use load::{RuleError, load_dir};

use std::collections::{HashMap, HashSet};

use crate::model::{ArtefactKind, Level, SourceKind};

/// One compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Stable id, recorded on every task it causes.
    pub id: String,
    /// Short name.
    pub name: String,
    /// Readable why, shown to the officer at the door.
    pub description: String,
    /// Level a match asks for.
    pub level: Level,
    /// Fraud-type code a match asks for (empty: the alert's hint).
    pub fraud_type: String,
    /// Sources the rule reads; empty for all.
    pub source_kinds: Vec<SourceKind>,
    /// A counterpart of this kind must be in the named list.
    pub counterpart_in: Option<(ArtefactKind, String)>,
    /// Transfer amount floor in fen; 0 for none.
    pub min_amount_fen: i64,
}

/// A loaded, checked rule set with its lists.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    /// Content hash of every file read, recorded on tasks.
    pub version: String,
    /// Enabled rules in file order.
    pub rules: Vec<Rule>,
    /// Named lists (flagged phones, cards, apps...), values normalized.
    pub lists: HashMap<String, HashSet<String>>,
}
