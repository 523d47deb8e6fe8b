//! Counting for the key-area assessment: per village and fraud type, the
//! alerts of each day of the span (window and baseline), the 110 / 96110
//! reports and the key-group members in the window. Fed the stored alerts
//! oldest first, so that "warned before" means an earlier alert of the
//! same person.

use std::collections::{HashMap, HashSet};

use super::method::{Group, Method};
use crate::directory::DivisionCode;
use crate::model::{Alert, SourceKind};

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// One village and fraud type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    /// Alerts per day of the span, oldest first.
    pub per_day: Vec<u64>,
    /// 110 / 96110 reports in the window.
    pub reports: u64,
    /// Alerts in the window per key group (parallel to the method's groups).
    pub groups: Vec<u64>,
}

/// The counts of one assessment.
#[derive(Clone, Debug)]
pub struct Counts {
    method: Method,
    /// Local day assessed, days since 1970-01-01.
    pub day: i64,
    /// First ms of the span (local midnight), inclusive.
    pub start_ms: i64,
    /// End of the assessed day, exclusive.
    pub end_ms: i64,
    /// Per (village, fraud-type code).
    pub cells: HashMap<(DivisionCode, String), Cell>,
    seen: HashSet<String>,
}

impl Counts {
    /// Counts for the local `day` (days since 1970-01-01) at `utc_offset_hours`.
    pub fn new(method: &Method, day: i64, utc_offset_hours: i32) -> Counts {
        let end_ms = (day + 1) * DAY_MS - i64::from(utc_offset_hours) * 3_600_000;
        Counts {
            start_ms: end_ms - i64::from(method.span_days()) * DAY_MS,
            end_ms,
            method: method.clone(),
            day,
            cells: HashMap::new(),
            seen: HashSet::new(),
        }
    }

    /// The method counted with.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Counts one alert; alerts outside the span or of types not assessed
    /// are skipped (but still make their person "warned before").
    pub fn add(&mut self, alert: &Alert) {
        let key = alert.subject.subject_key();
        let warned_before = self.seen.contains(&key);
        self.seen.insert(key);
        let at = alert.occurred_at_ms;
        let fraud = &alert.fraud_type_hint;
        if at < self.start_ms || at >= self.end_ms || fraud.is_empty() {
            return;
        }
        if !self.method.fraud_types.is_empty() && !self.method.fraud_types.contains(fraud) {
            return;
        }
        let span = self.method.span_days() as usize;
        let index = ((at - self.start_ms) / DAY_MS) as usize;
        let in_window = index >= span - self.method.window_days as usize;
        let groups = self.method.groups.len();
        let cell = self
            .cells
            .entry((alert.subject.division, fraud.clone()))
            .or_insert_with(|| Cell {
                per_day: vec![0; span],
                reports: 0,
                groups: vec![0; groups],
            });
        cell.per_day[index] += 1;
        if !in_window {
            return;
        }
        if alert.source_kind == SourceKind::PoliceReport {
            cell.reports += 1;
        }
        // First matching group only: one person counts once.
        if let Some(g) = self
            .method
            .groups
            .iter()
            .position(|g| member(g, alert, fraud, warned_before))
        {
            cell.groups[g] += 1;
        }
    }
}

/// True when the alert's subject is in group `g` for `fraud`.
fn member(g: &Group, alert: &Alert, fraud: &str, warned_before: bool) -> bool {
    let age = alert.subject.age;
    (g.fraud_types.is_empty() || g.fraud_types.iter().any(|f| f == fraud))
        && g.min_age.is_none_or(|a| age != 0 && age >= a)
        && g.max_age.is_none_or(|a| age != 0 && age <= a)
        && g.attribute.as_deref().is_none_or(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            alert.attributes.get(k).is_some_and(|x| x == v)
        })
        && (!g.warned_before || warned_before)
}
