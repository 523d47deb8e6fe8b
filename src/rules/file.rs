//! The on-disk shapes of rule files, fraud-type tables and list files, as
//! serde reads them (with spans, for errors that point into the file).

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::window::Agg;

/// A `*.toml` rule file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// `[[rule]]` entries.
    #[serde(default)]
    pub rule: Vec<RuleEntry>,
    /// `[[macro]]` entries.
    #[serde(default, rename = "macro")]
    pub macros: Vec<MacroEntry>,
}

/// A named reusable condition.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacroEntry {
    /// Name used in conditions.
    pub name: Spanned<String>,
    /// What it tests.
    #[serde(default)]
    pub description: String,
    /// The condition.
    pub condition: Spanned<String>,
}

/// How a task asks the worker to act.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// 电话劝阻.
    #[default]
    Phone,
    /// 见面劝阻 / 上门.
    Visit,
}

/// `[rule.task]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskEntry {
    /// Phone or visit.
    #[serde(default)]
    pub method: Method,
    /// Overrides the level's deadline.
    #[serde(default, with = "humantime_serde")]
    pub due_within: Option<Duration>,
}

/// One `[[rule.window]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowEntry {
    /// Name used as `window.NAME`.
    pub name: Spanned<String>,
    /// Field the window is kept per.
    pub key: Spanned<String>,
    /// count | distinct | sum.
    pub agg: Agg,
    /// distinct: a string field; sum: a number expression.
    #[serde(default)]
    pub of: Option<Spanned<String>>,
    /// How far back.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// Only alerts for which this holds are counted.
    #[serde(default)]
    pub when: Option<Spanned<String>>,
}

/// One `[[rule]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleEntry {
    /// Unique id.
    pub id: Spanned<String>,
    /// Short name.
    pub name: String,
    /// Readable why, shown at the door.
    pub description: String,
    /// Off rules are checked but not run.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// A code of the fraud-type table.
    #[serde(default)]
    pub fraud_type: Option<Spanned<String>>,
    /// high | medium | low.
    pub level: Spanned<String>,
    /// 0..=100.
    #[serde(default = "default_score")]
    pub score: Spanned<u32>,
    /// The condition.
    pub condition: Spanned<String>,
    /// Windows the condition reads.
    #[serde(default)]
    pub window: Vec<WindowEntry>,
    /// Task options.
    #[serde(default)]
    pub task: Option<TaskEntry>,
}

fn default_true() -> bool {
    true
}

fn default_score() -> Spanned<u32> {
    Spanned::new(0..0, 50)
}

/// `fraud_types.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudTypesFile {
    /// Which year's list.
    pub version: String,
    /// The codes.
    #[serde(rename = "type")]
    pub types: Vec<FraudTypeEntry>,
}

/// One fraud type.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudTypeEntry {
    /// Stable code.
    pub code: String,
    /// Official Chinese name.
    pub name: String,
    /// Optional notes.
    #[serde(default)]
    pub description: String,
}
