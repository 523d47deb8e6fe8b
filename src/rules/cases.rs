//! Rule test cases kept beside the rules (`rules/tests/*.toml`): alerts in,
//! expected matches out, run against a fresh matcher and graph per case so
//! window sequences are tested too. Used by `dualwarn rules test` and by the
//! crate's own tests.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::source::{FileRole, SourceFile, role};
use super::window::WindowLimits;
use super::{Matcher, RuleSet};
use crate::cli::record::AlertRecord;
use crate::graph::{GraphLimits, LinkGraph};
use crate::normalize::{Checks, normalize};

/// Where a case's clock starts unless it says: 2026-03-02 10:00 +08:00.
pub const DEFAULT_START_MS: i64 = 1_772_416_800_000;
/// Time between alerts unless an alert says.
const DEFAULT_STEP: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// Event time of the first alert, unix ms.
    #[serde(default)]
    start_ms: Option<i64>,
    #[serde(rename = "alert")]
    alerts: Vec<CaseAlert>,
}

#[derive(Deserialize)]
struct CaseAlert {
    /// Time since the previous alert (the first: since the start).
    #[serde(default, with = "humantime_serde")]
    after: Option<Duration>,
    /// Rule ids that must fire on this alert, exactly; absent: not checked.
    #[serde(default)]
    expect: Option<Vec<String>>,
    #[serde(flatten)]
    record: AlertRecord,
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// `file: case name`.
    pub name: String,
    /// Empty when the case passed.
    pub failures: Vec<String>,
}

/// Runs every case of the set's `tests/*.toml` files.
pub fn run_cases(
    files: &[SourceFile],
    rules: &Arc<RuleSet>,
    utc_offset_hours: i32,
) -> Vec<CaseResult> {
    let mut out = Vec::new();
    for f in files.iter().filter(|f| role(&f.path) == FileRole::Tests) {
        if let Err(e) = unknown_alert_keys(&f.text) {
            out.push(CaseResult {
                name: f.path.clone(),
                failures: vec![e],
            });
            continue;
        }
        match toml::from_str::<CaseFile>(&f.text) {
            Ok(cf) => out.extend(
                cf.cases
                    .into_iter()
                    .map(|c| run_case(&f.path, c, rules, utc_offset_hours)),
            ),
            Err(e) => out.push(CaseResult {
                name: f.path.clone(),
                failures: vec![format!("cannot read cases: {e}")],
            }),
        }
    }
    out
}

fn run_case(file: &str, case: Case, rules: &Arc<RuleSet>, utc_offset_hours: i32) -> CaseResult {
    let mut matcher = Matcher::new(rules.clone(), WindowLimits::default(), utc_offset_hours);
    let mut graph = LinkGraph::new(GraphLimits::default());
    rules.apply_lists(&mut graph);
    let mut at = case.start_ms.unwrap_or(DEFAULT_START_MS);
    let mut failures = Vec::new();
    for (i, a) in case.alerts.into_iter().enumerate() {
        let step = if i == 0 {
            a.after.unwrap_or_default()
        } else {
            a.after.unwrap_or(DEFAULT_STEP)
        };
        at += i64::try_from(step.as_millis()).unwrap_or(0);
        let wire = with_defaults(a.record, i, at).to_proto();
        let alert = match normalize(&wire, Checks::at(at)) {
            Ok(alert) => alert,
            Err(r) => {
                failures.push(format!("alert {}: {}", i + 1, r.reason));
                continue;
            }
        };
        graph.observe(&alert);
        let hits = matcher.match_alert(&alert, &graph, at);
        // As the writer does after decide: a match makes a suspected victim.
        graph.settle(&alert, !hits.is_empty());
        let Some(mut want) = a.expect else { continue };
        let mut got: Vec<String> = hits.into_iter().map(|h| h.rule_id.to_string()).collect();
        got.sort();
        want.sort();
        if got != want {
            failures.push(format!(
                "alert {}: expected {want:?}, matched {got:?}",
                i + 1
            ));
        }
    }
    CaseResult {
        name: format!("{file}: {}", case.name),
        failures,
    }
}

/// Keys a case alert may have: the JSON record's fields, `after` and `expect`.
const ALERT_KEYS: &[&str] = &[
    "after",
    "expect",
    "source",
    "source_id",
    "source_kind",
    "occurred_at_ms",
    "subject",
    "counterparts",
    "links",
    "amount_fen",
    "fraud_type_hint",
    "attributes",
];

/// A misspelt key would be ignored and the case could pass for the wrong
/// reason, so every alert's keys are checked (serde cannot deny unknown
/// fields next to a flattened struct).
fn unknown_alert_keys(text: &str) -> Result<(), String> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Ok(());
    };
    let cases = doc
        .get("case")
        .and_then(toml::Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for case in cases {
        let name = case
            .get("name")
            .and_then(toml::Value::as_str)
            .unwrap_or("?");
        let alerts = case
            .get("alert")
            .and_then(toml::Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for (i, a) in alerts.iter().enumerate() {
            let Some(table) = a.as_table() else { continue };
            if let Some(k) = table.keys().find(|k| !ALERT_KEYS.contains(&k.as_str())) {
                return Err(format!(
                    "case {name:?}, alert {}: unknown key `{k}`; known: {}",
                    i + 1,
                    ALERT_KEYS.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// Fills what a case leaves out with a plausible Guiyang subject.
fn with_defaults(mut r: AlertRecord, i: usize, at: i64) -> AlertRecord {
    if r.source.is_empty() {
        r.source = "case".into();
    }
    if r.source_id.is_empty() {
        r.source_id = format!("a{i}");
    }
    if r.source_kind.is_empty() {
        r.source_kind = "telecom".into();
    }
    r.occurred_at_ms = at;
    let s = &mut r.subject;
    if s.phone.is_empty() {
        s.phone = "13800000001".into();
    }
    if s.division_code.is_empty() {
        s.division_code = "520102016001".into();
    }
    r
}
