//! The *match* stage: analyst rule files from `rules/` compiled once
//! ([`load`]), indexed by their discriminating predicates ([`index`]), and
//! evaluated per alert with sliding windows and graph features
//! ([`matcher`]). Sits between *enrich* and *decide*, on the writer thread
//! so that windows see every alert exactly once and a reload swaps between
//! two batches. The language is documented in `docs/rules.md`.

pub mod cases;
mod diag;
pub mod file;
pub mod index;
pub mod lang;
mod load;
pub mod matcher;
pub mod source;
pub mod window;

pub use file::Method;
pub use load::{RuleError, compile_set, load_dir};
pub use matcher::{Matcher, RuleHit, RuleReport};

use std::collections::HashMap;
use std::time::Duration;

use rustc_hash::FxHashSet;

use crate::model::Level;
use lang::compiled::{BoolExpr, NumExpr, StrExpr, WindowSlot};
use window::Agg;

/// A named list of values (flagged phones, cards, URLs, apps...).
#[derive(Clone, Debug, Default)]
pub struct NamedList {
    /// File stem under `lists/`.
    pub name: String,
    /// Normalized values.
    pub values: FxHashSet<Box<str>>,
}

/// The versioned fraud-type table.
#[derive(Clone, Debug, Default)]
pub struct FraudTypes {
    /// e.g. "2024".
    pub version: String,
    /// Code → official name.
    pub names: HashMap<String, String>,
}

/// One distinct window definition, shared by every rule that declares it.
#[derive(Clone, Debug)]
pub struct WindowDef {
    /// Text identity: equal identities share state across reloads.
    pub identity: String,
    /// count | distinct | sum.
    pub agg: Agg,
    /// How far back.
    pub duration_ms: i64,
    /// What the window is kept per (each value of a many-valued field is a key).
    pub key: StrExpr,
    /// Distinct: the values counted.
    pub of_str: Option<StrExpr>,
    /// Sum: the amount added.
    pub of_num: Option<NumExpr>,
    /// Only alerts for which this holds are counted.
    pub when: Option<BoolExpr>,
}

/// One compiled rule.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    /// Stable id, recorded on every task it causes.
    pub id: String,
    /// Short name.
    pub name: String,
    /// Readable why.
    pub description: String,
    /// Off rules are compiled but never run.
    pub enabled: bool,
    /// Level a match asks for.
    pub level: Level,
    /// 0..=100.
    pub score: u8,
    /// Official fraud-type name, when the rule names one.
    pub fraud_type: Option<String>,
    /// Phone or visit.
    pub method: Method,
    /// Deadline override.
    pub due_within: Option<Duration>,
    /// The condition.
    pub condition: BoolExpr,
    /// Its top-level `&&` parts as text, for explanations.
    pub conjuncts: Vec<(String, BoolExpr)>,
    /// The rule's windows: name → slot.
    pub windows: Vec<(String, WindowSlot)>,
    /// File it came from.
    pub file: String,
}

/// A compiled, checked, indexed rule set; immutable and shared.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    /// Content hash of the files, recorded on tasks.
    pub version: String,
    /// The fraud-type table.
    pub fraud_types: FraudTypes,
    /// Named lists by id.
    pub lists: Vec<NamedList>,
    /// Every rule (disabled ones too), in file order.
    pub rules: Vec<CompiledRule>,
    /// Distinct windows by slot.
    pub windows: Vec<WindowDef>,
    /// Candidate index.
    pub index: index::RuleIndex,
    /// Things an analyst should look at (unused lists, disabled rules...).
    pub warnings: Vec<String>,
}

impl RuleSet {
    /// Number of enabled rules.
    pub fn enabled_count(&self) -> usize {
        self.rules.iter().filter(|r| r.enabled).count()
    }
}
