//! The *match* stage: analyst rule files from `rules/` compiled once
//! (`load`), indexed by their discriminating predicates ([`index`]), and
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
pub use matcher::{Matcher, RuleHit, RuleReport, Why};

use std::collections::HashMap;
use std::time::Duration;

use rustc_hash::FxHashMap;

use crate::model::Level;
use lang::compiled::{BoolExpr, ListId, NumExpr, StrExpr, WindowSlot};
use window::Agg;

/// A named list of values (flagged phones, cards, URLs, apps...); the
/// values themselves are in [`ListValues`].
#[derive(Clone, Debug, Default)]
pub struct NamedList {
    /// File stem under `lists/`.
    pub name: String,
    /// Number of distinct values.
    pub len: usize,
}

/// The lists a value is in: almost always one.
#[derive(Clone, Debug)]
enum ListIds {
    One(ListId),
    Many(Vec<ListId>),
}

impl ListIds {
    fn as_slice(&self) -> &[ListId] {
        match self {
            ListIds::One(id) => std::slice::from_ref(id),
            ListIds::Many(v) => v,
        }
    }
}

/// Every value of every list → the lists holding it. One hash lookup
/// answers `x in @list` for any list, and gives the index the lists a
/// counterpart hits; one table also keeps a value shared by lists once.
#[derive(Clone, Debug, Default)]
pub struct ListValues {
    map: FxHashMap<Box<str>, ListIds>,
}

impl ListValues {
    /// Adds `value` to list `id`; false when it was already there.
    pub fn insert(&mut self, id: ListId, value: Box<str>) -> bool {
        use std::collections::hash_map::Entry;
        let ids = match self.map.entry(value) {
            Entry::Vacant(slot) => {
                slot.insert(ListIds::One(id));
                return true;
            }
            Entry::Occupied(slot) => slot.into_mut(),
        };
        match ids {
            ListIds::One(x) if *x == id => false,
            ListIds::One(x) => {
                *ids = ListIds::Many(vec![*x, id]);
                true
            }
            ListIds::Many(v) if v.contains(&id) => false,
            ListIds::Many(v) => {
                v.push(id);
                true
            }
        }
    }

    /// Makes room for `n` more values.
    pub fn reserve(&mut self, n: usize) {
        self.map.reserve(n);
    }

    /// The lists holding `value`.
    pub fn lists_of(&self, value: &str) -> &[ListId] {
        self.map.get(value).map_or(&[], ListIds::as_slice)
    }

    /// True when list `id` holds `value`.
    pub fn contains(&self, id: ListId, value: &str) -> bool {
        self.lists_of(value).contains(&id)
    }

    /// Every value of list `id` (unordered; for tools, not the hot path).
    pub fn values_of(&self, id: ListId) -> impl Iterator<Item = &str> {
        self.map
            .iter()
            .filter(move |(_, ids)| ids.as_slice().contains(&id))
            .map(|(v, _)| &**v)
    }
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
    /// The same id, shared by every hit of the rule.
    pub shared_id: std::sync::Arc<str>,
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
    /// Official fraud-type name, when the rule names one (shared with
    /// every hit).
    pub fraud_type: Option<std::sync::Arc<str>>,
    /// Phone or visit.
    pub method: Method,
    /// Deadline override.
    pub due_within: Option<Duration>,
    /// The condition.
    pub condition: BoolExpr,
    /// Its top-level `&&` parts as text, for explanations.
    pub conjuncts: Vec<(String, BoolExpr)>,
    /// The conjuncts as one line for task reasons, made once at load.
    pub conditions_text: String,
    /// The rule's windows: name → slot.
    pub windows: Vec<(String, WindowSlot)>,
    /// The deepest `hops_to_flagged(n)` the condition asks, if any: the
    /// depth of the graph path a hit shows.
    pub hops_depth: Option<u32>,
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
    /// The values of every list.
    pub list_values: ListValues,
    /// Every rule (disabled ones too), in file order.
    pub rules: Vec<CompiledRule>,
    /// Distinct windows by slot.
    pub windows: Vec<WindowDef>,
    /// Candidate index.
    pub index: index::RuleIndex,
    /// Things an analyst should look at (unused lists, disabled rules...).
    pub warnings: Vec<String>,
    /// The key-area method (`key_areas.toml`), when the set has one.
    pub key_areas: Option<std::sync::Arc<crate::areas::Method>>,
}

impl RuleSet {
    /// The id of the list called `name`.
    pub fn list_id(&self, name: &str) -> Option<ListId> {
        self.lists
            .iter()
            .position(|l| l.name == name)
            .map(|i| i as ListId)
    }

    /// Number of enabled rules.
    pub fn enabled_count(&self) -> usize {
        self.rules.iter().filter(|r| r.enabled).count()
    }

    /// Every value of the lists named `flagged_*`, with its list's name:
    /// the artefacts the account-link graph treats as flagged.
    pub fn flagged_values(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values_of_lists("flagged_")
    }

    /// Every value on a list named `allow_*` (official numbers, collection
    /// accounts, popular apps and sites): the graph passes them by.
    pub fn allowed_values(&self) -> impl Iterator<Item = &str> {
        self.values_of_lists("allow_").map(|(v, _)| v)
    }

    /// Puts this set's `flagged_*` and `allow_*` lists in force on `graph`.
    pub fn apply_lists(&self, graph: &mut crate::graph::LinkGraph) {
        graph.set_listed(self.flagged_values());
        graph.set_allowed(self.allowed_values());
    }

    /// Every value on a list whose name starts with `prefix`, with the name.
    fn values_of_lists<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.lists
            .iter()
            .enumerate()
            .filter(move |(_, l)| l.name.starts_with(prefix))
            .flat_map(|(id, l)| {
                self.list_values
                    .values_of(id as ListId)
                    .map(move |v| (v, l.name.as_str()))
            })
    }
}
