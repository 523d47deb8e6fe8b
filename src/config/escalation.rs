//! `[escalation]`: when overdue tasks go up to the station and the county
//! centre, when signed-for tasks with no progress are re-notified, and how
//! often the engine looks.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::model::EscalationPolicy;

/// Escalation of overdue and forgotten tasks.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EscalationConfig {
    /// After the deadline, the police station is told.
    #[serde(with = "humantime_serde")]
    pub to_station_after: Duration,
    /// After the deadline, the county centre is told.
    #[serde(with = "humantime_serde")]
    pub to_centre_after: Duration,
    /// Signed for with no step since for this long: re-notify (0s = never).
    #[serde(with = "humantime_serde")]
    pub stalled_after: Duration,
    /// How often open tasks are checked (and once at start).
    #[serde(with = "humantime_serde")]
    pub check_every: Duration,
}

impl Default for EscalationConfig {
    fn default() -> Self {
        EscalationConfig {
            to_station_after: Duration::ZERO,
            to_centre_after: Duration::from_secs(30 * 60),
            stalled_after: Duration::from_secs(2 * 3600),
            check_every: Duration::from_secs(30),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl EscalationConfig {
    /// The policy the core applies.
    pub fn policy(&self) -> EscalationPolicy {
        EscalationPolicy {
            to_station_after_ms: ms(self.to_station_after),
            to_centre_after_ms: ms(self.to_centre_after),
            stalled_after_ms: ms(self.stalled_after),
        }
    }

    /// Checks the order of the steps and the check interval.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.to_centre_after <= self.to_station_after {
            return Err(ConfigError::Invalid {
                field: "escalation.to_centre_after".into(),
                value: humantime::format_duration(self.to_centre_after).to_string(),
                why: "must be later than escalation.to_station_after",
            });
        }
        if self.check_every < Duration::from_secs(1) {
            return Err(ConfigError::Invalid {
                field: "escalation.check_every".into(),
                value: humantime::format_duration(self.check_every).to_string(),
                why: "must be at least 1s",
            });
        }
        Ok(())
    }
}
