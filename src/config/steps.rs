//! Step deadlines per level and role (`[[deadlines.steps]]`): by when the
//! officer must have phoned and visited, and the grid worker visited, for
//! example high: officer calls within 10 min and visits within 30 min, grid
//! worker visits within 30 min. An entry with a `prefix` overrides the
//! default for that jurisdiction (the longest matching prefix wins). The
//! policy that applies is snapshotted on the task when it is made
//! ([`crate::model::StepsDue`]); a later config change does not move it.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::model::{Level, Role};

/// One entry of `[[deadlines.steps]]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StepDeadline {
    /// `high`, `medium` or `low`.
    pub level: String,
    /// `police` or `grid`.
    pub role: String,
    /// Division-code prefix it applies to; empty = everywhere.
    #[serde(default)]
    pub prefix: String,
    /// 电话劝阻 within.
    #[serde(default, with = "humantime_serde")]
    pub call: Option<Duration>,
    /// 上门 within.
    #[serde(default, with = "humantime_serde")]
    pub visit: Option<Duration>,
}

/// The shipped step deadlines (domain practice: a high warning is phoned
/// within minutes and met within half an hour).
pub fn default_steps() -> Vec<StepDeadline> {
    let step = |level: &str, role: &str, call: Option<u64>, visit: Option<u64>| StepDeadline {
        level: level.into(),
        role: role.into(),
        prefix: String::new(),
        call: call.map(|m| Duration::from_secs(m * 60)),
        visit: visit.map(|m| Duration::from_secs(m * 60)),
    };
    vec![
        step("high", "police", Some(10), Some(30)),
        step("high", "grid", None, Some(30)),
        step("medium", "police", Some(30), Some(120)),
        step("medium", "grid", None, Some(120)),
    ]
}

fn role_tag(role: Role) -> &'static str {
    role.tag()
}

fn level_tag(level: Level) -> &'static str {
    match level {
        Level::High => "high",
        Level::Medium => "medium",
        Level::Low => "low",
    }
}

/// The entry for `level` and `role` in `division`: the longest matching prefix.
pub fn pick<'a>(
    steps: &'a [StepDeadline],
    level: Level,
    role: Role,
    division: &str,
) -> Option<&'a StepDeadline> {
    steps
        .iter()
        .filter(|s| s.level == level_tag(level) && s.role == role_tag(role))
        .filter(|s| division.starts_with(&s.prefix))
        .max_by_key(|s| s.prefix.len())
}

/// Checks every entry; errors name the field and value.
pub fn validate(steps: &[StepDeadline]) -> Result<(), ConfigError> {
    let bad = |field: &str, value: String, why: &'static str| ConfigError::Invalid {
        field: format!("deadlines.steps.{field}"),
        value,
        why,
    };
    for s in steps {
        if Level::parse(&s.level).is_none() {
            return Err(bad("level", s.level.clone(), "must be high, medium or low"));
        }
        if s.role != "police" && s.role != "grid" {
            return Err(bad("role", s.role.clone(), "must be police or grid"));
        }
        if !s.prefix.is_empty() && !crate::directory::code::is_valid_prefix(&s.prefix) {
            return Err(bad(
                "prefix",
                s.prefix.clone(),
                "must be 2, 4, 6, 9 or 12 digits",
            ));
        }
        if [s.call, s.visit].iter().flatten().any(|d| d.is_zero()) {
            return Err(bad(
                "call",
                format!("{}/{}", s.level, s.role),
                "a step deadline must be positive",
            ));
        }
        if s.role == "grid" && s.call.is_some() {
            return Err(bad(
                "call",
                format!("{}/grid", s.level),
                "the grid worker's step is the visit; phoning is the officer's",
            ));
        }
        let twins = steps
            .iter()
            .filter(|o| (&o.level, &o.role, &o.prefix) == (&s.level, &s.role, &s.prefix))
            .count();
        if twins > 1 {
            return Err(bad(
                "prefix",
                format!("{}/{}/{:?}", s.level, s.role, s.prefix),
                "the same level, role and prefix twice",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_wins_and_faults_name_the_field() {
        let mut steps = default_steps();
        steps.push(StepDeadline {
            prefix: "520102".into(),
            call: Some(Duration::from_secs(300)),
            ..steps[0].clone()
        });
        validate(&steps).unwrap();
        let here = pick(&steps, Level::High, Role::PoliceOfficer, "520102016001").unwrap();
        assert_eq!(here.call, Some(Duration::from_secs(300)));
        let there = pick(&steps, Level::High, Role::PoliceOfficer, "520103001001").unwrap();
        assert_eq!(there.call, Some(Duration::from_secs(600)));
        assert!(pick(&steps, Level::Low, Role::GridWorker, "520102016001").is_none());

        steps.push(steps[1].clone());
        let e = validate(&steps).unwrap_err().to_string();
        assert!(e.contains("deadlines.steps.prefix"), "{e}");
        let mut grid_call = default_steps();
        grid_call[1].call = Some(Duration::from_secs(60));
        let e = validate(&grid_call).unwrap_err().to_string();
        assert!(e.contains("deadlines.steps.call"), "{e}");
    }
}
