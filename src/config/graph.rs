//! The `[graph]` section: bounds of the account-link graph and when it is
//! snapshotted. Checked before any port opens.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::graph::{self, GraphLimits};

/// Alerts and import rows applied between two graph snapshots.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 500_000;

/// Bounds of the account-link graph.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GraphConfig {
    /// Links kept per node; a full node (a pooled account, a call centre:
    /// a super-node) takes no new link until expiry makes room, and is
    /// marked a hub.
    pub max_degree: u32,
    /// Links a hop query follows out of one node, newest first (sampling).
    pub max_expand: u32,
    /// Nodes one hop query may reach before it gives up (then: not found).
    pub max_visits: u32,
    /// Links not seen for this long are removed.
    #[serde(with = "humantime_serde")]
    pub link_max_age: Duration,
    /// Suspected victims within `victim_horizon` that make a phone or card
    /// flagged by the graph itself (自动研判); 0 turns it off.
    pub derive_flag_victims: u32,
    /// How long a flag the graph derived lasts; it is set again while the
    /// victims are still there.
    #[serde(with = "humantime_serde")]
    pub derived_flag_max_age: Duration,
    /// Links within one day that make a node hub-like (a pooled collection
    /// account, a service line): hops, series and derived flags pass it by;
    /// 0 leaves only `max_degree`.
    pub hub_links_per_day: u32,
    /// How far back victims count for derived flags and case series.
    #[serde(with = "humantime_serde")]
    pub victim_horizon: Duration,
    /// Alerts and import rows between two snapshots of the graph.
    pub snapshot_every: u64,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            max_degree: graph::DEFAULT_MAX_DEGREE,
            max_expand: graph::DEFAULT_MAX_EXPAND,
            max_visits: graph::DEFAULT_MAX_VISITS,
            link_max_age: graph::DEFAULT_LINK_MAX_AGE,
            derive_flag_victims: graph::DEFAULT_DERIVE_FLAG_VICTIMS,
            derived_flag_max_age: graph::DEFAULT_DERIVED_FLAG_MAX_AGE,
            hub_links_per_day: graph::DEFAULT_HUB_LINKS_PER_DAY,
            victim_horizon: graph::DEFAULT_VICTIM_HORIZON,
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
        }
    }
}

/// Longest age a link may be kept: the graph stores times as u32 seconds.
const MAX_AGE_S: u64 = 10 * 366 * 24 * 3600;

impl GraphConfig {
    /// The limits the graph takes.
    pub fn limits(&self) -> GraphLimits {
        GraphLimits {
            max_degree: self.max_degree,
            max_expand: self.max_expand,
            max_visits: self.max_visits,
            link_max_age_s: self.link_max_age.as_secs().min(MAX_AGE_S) as u32,
            derive_flag_victims: self.derive_flag_victims,
            victim_horizon_s: self.victim_horizon.as_secs().min(MAX_AGE_S) as u32,
            derived_flag_max_age_s: self.derived_flag_max_age.as_secs().min(MAX_AGE_S) as u32,
            hub_links_per_day: self.hub_links_per_day,
        }
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &str, value: String, why| {
            Err(ConfigError::Invalid {
                field: format!("graph.{field}"),
                value,
                why,
            })
        };
        if !(2..=1_000_000).contains(&self.max_degree) {
            return invalid(
                "max_degree",
                self.max_degree.to_string(),
                "must be 2..=1000000",
            );
        }
        if self.max_expand == 0 {
            return invalid("max_expand", "0".into(), "must be at least 1");
        }
        if self.max_visits < 16 {
            return invalid(
                "max_visits",
                self.max_visits.to_string(),
                "must be at least 16",
            );
        }
        let age = self.link_max_age.as_secs();
        if !(3600..=MAX_AGE_S).contains(&age) {
            let shown = humantime::format_duration(self.link_max_age).to_string();
            return invalid("link_max_age", shown, "must be 1h..=10 years");
        }
        let horizon = self.victim_horizon.as_secs();
        if !(60..=MAX_AGE_S).contains(&horizon) {
            let shown = humantime::format_duration(self.victim_horizon).to_string();
            return invalid("victim_horizon", shown, "must be 1m..=10 years");
        }
        let flag_age = self.derived_flag_max_age.as_secs();
        if !(3600..=MAX_AGE_S).contains(&flag_age) {
            let shown = humantime::format_duration(self.derived_flag_max_age).to_string();
            return invalid("derived_flag_max_age", shown, "must be 1h..=10 years");
        }
        if self.hub_links_per_day == 1 {
            return invalid(
                "hub_links_per_day",
                "1".into(),
                "must be 0 (off) or at least 2",
            );
        }
        if self.snapshot_every < 1000 {
            return invalid(
                "snapshot_every",
                self.snapshot_every.to_string(),
                "must be at least 1000",
            );
        }
        Ok(())
    }
}
