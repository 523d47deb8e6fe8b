//! The key-area method, `rules/key_areas.toml`: the window, the baseline,
//! the thresholds and the key groups. Loaded and checked with the rule set
//! (a fault fails the load or the reload as a rule fault does).
//!
//! ```toml
//! window_days = 7          # the recent window, in days, ending on the day assessed
//! baseline_weeks = 4       # the weeks before the window the place is compared with
//! ratio = 2.5              # key when the window holds ≥ ratio × the baseline's mean per window
//! min_count = 6            # ... and at least this many
//! absolute_count = 40      # or this many whatever the baseline
//! deadline = "72h"         # of the publicity task
//! fraud_types = []         # only these codes; empty = every type
//!
//! [[group]]                # key groups (重点人群), first match wins per subject
//! name = "老年人"
//! min_age = 60
//! fraud_types = ["yanglao", "gongjianfa"]
//! ```

use std::time::Duration;

use serde::Deserialize;

/// The checked method.
#[derive(Clone, Debug, PartialEq)]
pub struct Method {
    /// Days in the recent window.
    pub window_days: u32,
    /// Weeks of baseline before the window.
    pub baseline_weeks: u32,
    /// Multiple of the baseline mean that makes a key area.
    pub ratio: f64,
    /// Smallest window count that may make a key area by ratio.
    pub min_count: u64,
    /// Window count that makes a key area whatever the baseline.
    pub absolute_count: u64,
    /// Deadline of a publicity task.
    pub deadline: Duration,
    /// Fraud-type codes assessed; empty = all.
    pub fraud_types: Vec<String>,
    /// Key groups, in order.
    pub groups: Vec<Group>,
}

/// A key group (重点人群): who the publicity should reach.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// As the task shows it: 老年人, 学生, 曾被预警人员.
    pub name: String,
    /// Subjects at least this old.
    #[serde(default)]
    pub min_age: Option<u32>,
    /// Subjects at most this old.
    #[serde(default)]
    pub max_age: Option<u32>,
    /// An alert attribute `key=value` (e.g. `occupation=student`).
    #[serde(default)]
    pub attribute: Option<String>,
    /// People with a warning before the window.
    #[serde(default)]
    pub warned_before: bool,
    /// The fraud types the group is for; empty = any.
    #[serde(default)]
    pub fraud_types: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    window_days: u32,
    baseline_weeks: u32,
    ratio: f64,
    min_count: u64,
    absolute_count: u64,
    #[serde(with = "humantime_serde")]
    deadline: Duration,
    #[serde(default)]
    fraud_types: Vec<String>,
    #[serde(default, rename = "group")]
    groups: Vec<Group>,
}

impl Method {
    /// Days the assessment reads: the window and the baseline before it.
    pub fn span_days(&self) -> u32 {
        self.window_days + 7 * self.baseline_weeks
    }

    /// Parses and checks the file's text; `known` says whether a fraud-type
    /// code is in the code table. Errors name the field and the value.
    pub fn parse(text: &str, known: impl Fn(&str) -> bool) -> Result<Method, String> {
        let f: File = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let bad = |field: &str, value: String, why: &str| Err(format!("{field} = {value}: {why}"));
        if !(1..=31).contains(&f.window_days) {
            return bad("window_days", f.window_days.to_string(), "must be 1..=31");
        }
        if !(1..=26).contains(&f.baseline_weeks) {
            return bad(
                "baseline_weeks",
                f.baseline_weeks.to_string(),
                "must be 1..=26",
            );
        }
        if !(f.ratio.is_finite() && f.ratio > 1.0 && f.ratio <= 100.0) {
            return bad(
                "ratio",
                f.ratio.to_string(),
                "must be above 1 and at most 100",
            );
        }
        if f.min_count == 0 {
            return bad("min_count", "0".into(), "must be at least 1");
        }
        if f.absolute_count < f.min_count {
            return bad(
                "absolute_count",
                f.absolute_count.to_string(),
                "must be at least min_count",
            );
        }
        if f.deadline < Duration::from_secs(3600) || f.deadline > Duration::from_secs(30 * 86_400) {
            return bad(
                "deadline",
                humantime::format_duration(f.deadline).to_string(),
                "must be between 1h and 30d",
            );
        }
        let groups_types = f.groups.iter().flat_map(|g| g.fraud_types.iter());
        if let Some(code) = f.fraud_types.iter().chain(groups_types).find(|c| !known(c)) {
            return bad(
                "fraud_types",
                format!("{code:?}"),
                "is not a code of fraud_types.toml",
            );
        }
        for g in &f.groups {
            if g.name.trim().is_empty() {
                return bad("group.name", format!("{:?}", g.name), "must not be empty");
            }
            if let (Some(a), Some(b)) = (g.min_age, g.max_age)
                && a > b
            {
                return bad(
                    "group.min_age",
                    a.to_string(),
                    &format!("is above max_age {b} in group {}", g.name),
                );
            }
            if let Some(attr) = &g.attribute
                && !attr.contains('=')
            {
                return bad("group.attribute", format!("{attr:?}"), "must be key=value");
            }
        }
        Ok(Method {
            window_days: f.window_days,
            baseline_weeks: f.baseline_weeks,
            ratio: f.ratio,
            min_count: f.min_count,
            absolute_count: f.absolute_count,
            deadline: f.deadline,
            fraud_types: f.fraud_types,
            groups: f.groups,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const TEXT: &str = r#"
window_days = 7
baseline_weeks = 4
ratio = 2.5
min_count = 6
absolute_count = 40
deadline = "72h"

[[group]]
name = "老年人"
min_age = 60
fraud_types = ["yanglao"]

[[group]]
name = "曾被预警人员"
warned_before = true
"#;

    #[test]
    fn a_good_file_loads_and_faults_name_the_field() {
        let m = Method::parse(TEXT, |c| c == "yanglao").unwrap();
        assert_eq!((m.window_days, m.span_days(), m.groups.len()), (7, 35, 2));
        let e = Method::parse(TEXT, |_| false).unwrap_err();
        assert!(e.starts_with("fraud_types = \"yanglao\""), "{e}");
        let e = Method::parse(&TEXT.replace("ratio = 2.5", "ratio = 0.5"), |_| true).unwrap_err();
        assert!(e.starts_with("ratio = 0.5"), "{e}");
        let e = Method::parse(&TEXT.replace("\"72h\"", "\"5m\""), |_| true).unwrap_err();
        assert!(e.starts_with("deadline = 5m"), "{e}");
        let e = Method::parse("window_days = \"x\"", |_| true).unwrap_err();
        assert!(!e.is_empty());
    }
}
