//! The matcher's windows to and from their snapshot
//! ([`crate::rules::window::snapshot`]): saved tagged with their
//! definitions' identities; at start each window whose definition is
//! unchanged takes its saved state back, and is then caught up with the
//! alerts logged since, while the others are warmed from the store. Windows
//! are addressed by slot (their place in the rule set's window list).

use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::Matcher;
use crate::graph::GraphFeatures;
use crate::model::Alert;
use crate::rules::lang::compiled::GraphCache;
use crate::rules::window::WindowStore;
use crate::rules::window::snapshot::{
    self, SavedWindows, SnapshotHeader, WindowCheckpoint, WindowSnapshotError, Written,
};

/// Why saved windows were not taken at all.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestoreRefused {
    /// `[windows]` lateness or caps differ from those the state was kept under.
    #[error("the window limits changed since the snapshot")]
    Limits,
    /// Hours and weekdays in window filters would read another clock.
    #[error("utc_offset_hours changed since the snapshot ({0} then)")]
    UtcOffset(i32),
}

impl Matcher {
    /// Saves every window in force to `path`, as of the log positions `at`.
    pub fn save_windows(
        &self,
        path: &Path,
        at: WindowCheckpoint,
    ) -> Result<Written, WindowSnapshotError> {
        let header = SnapshotHeader {
            at,
            limits: self.limits,
            utc_offset_hours: self.utc_offset_hours,
        };
        let stores: Vec<(&str, &WindowStore)> = self
            .rules
            .windows
            .iter()
            .map(|w| w.identity.as_str())
            .zip(&self.stores)
            .collect();
        snapshot::save(path, &header, &stores)
    }

    /// Gives each window whose definition is unchanged its saved state;
    /// returns, by slot, which did. Nothing is taken when the windows were
    /// kept under other limits or another UTC offset.
    pub fn restore_windows(&mut self, saved: SavedWindows) -> Result<Vec<bool>, RestoreRefused> {
        let header = saved.header;
        if header.limits != self.limits {
            return Err(RestoreRefused::Limits);
        }
        if header.utc_offset_hours != self.utc_offset_hours {
            return Err(RestoreRefused::UtcOffset(header.utc_offset_hours));
        }
        let mut by_identity: FxHashMap<String, WindowStore> = saved.stores.into_iter().collect();
        let taken = self
            .rules
            .windows
            .iter()
            .zip(&mut self.stores)
            .map(|(def, store)| match by_identity.remove(&def.identity) {
                // The identity names both; checked all the same.
                Some(s) if s.agg() == def.agg && s.duration_ms() == def.duration_ms => {
                    *store = s;
                    true
                }
                _ => false,
            })
            .collect();
        Ok(taken)
    }

    /// Empties the windows of `slots` (restored state found unusable).
    pub fn clear_windows(&mut self, slots: &[bool]) {
        let windows = self.rules.windows.iter().zip(&mut self.stores);
        for ((def, store), _) in windows.zip(slots).filter(|(_, on)| **on) {
            *store = WindowStore::new(def.agg, def.duration_ms, self.limits);
        }
    }

    /// [`Matcher::observe`] into the windows of `slots` only.
    pub fn observe_windows(
        &mut self,
        alert: &Alert,
        graph: &dyn GraphFeatures,
        now_ms: i64,
        slots: &[bool],
    ) {
        let rules = Arc::clone(&self.rules);
        let mut buf = [0u8; 12];
        let cache = GraphCache::default();
        let ctx = self.bare_ctx(&rules, alert, graph, &cache, &mut buf, now_ms);
        let windows = rules.windows.iter().zip(&mut self.stores);
        for ((def, store), _) in windows.zip(slots).filter(|(_, on)| **on) {
            if def.when.as_ref().is_none_or(|w| w.eval(&ctx)) {
                super::observe(def, store, &ctx);
            }
        }
    }

    /// [`Matcher::horizon_ms`] of the windows of `slots` only.
    pub fn horizon_ms_of(&self, slots: &[bool]) -> i64 {
        self.horizon_over(|i| slots.get(i).copied().unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{GraphLimits, LinkGraph};
    use crate::proto::SourceKind;
    use crate::rules::matcher::tests::{T0, alert, set};
    use crate::rules::window::WindowLimits;

    /// Rule `c` on a 1 h count, rule `d` on a count over `d_duration`.
    fn two_windows(d_duration: &str) -> Arc<crate::rules::RuleSet> {
        let rule = |id: &str, duration: &str| {
            format!(
                "[[rule]]\nid = \"{id}\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = 'window.{id} >= 2'\n[[rule.window]]\nname = \"{id}\"\nkey = \"subject.phone\"\nagg = \"count\"\nduration = \"{duration}\"\n"
            )
        };
        set(&(rule("c", "1h") + &rule("d", d_duration)))
    }

    fn fired(m: &mut Matcher, at: i64) -> Vec<String> {
        let g = LinkGraph::new(GraphLimits::default());
        let a = alert(SourceKind::Telecom, at, &[], 0);
        m.match_alert(&a, &g, at)
            .into_iter()
            .map(|h| h.rule_id.to_string())
            .collect()
    }

    /// A matcher of `two_windows("2h")` that saw one alert, saved.
    fn saved_one_alert(path: &Path) {
        let mut m = Matcher::new(two_windows("2h"), WindowLimits::default(), 8);
        assert!(fired(&mut m, T0).is_empty());
        let at = WindowCheckpoint {
            alert_seq: 1,
            import_seq: 0,
        };
        let written = m.save_windows(path, at).unwrap();
        assert_eq!((written.windows, written.keys, written.events), (2, 2, 2));
    }

    #[test]
    fn saved_windows_come_back_only_where_the_definition_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("windows.snap");
        saved_one_alert(&path);
        let mut m = Matcher::new(two_windows("3h"), WindowLimits::default(), 8);
        let saved = snapshot::load(&path).unwrap();
        assert_eq!(m.restore_windows(saved), Ok(vec![true, false]));
        assert_eq!(
            fired(&mut m, T0 + 60_000),
            ["c"],
            "c counted the alert before the save; d, changed, starts empty"
        );
    }

    #[test]
    fn saved_windows_are_refused_under_other_limits_or_another_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("windows.snap");
        saved_one_alert(&path);
        let tighter = WindowLimits {
            max_keys: 10,
            ..WindowLimits::default()
        };
        let mut m = Matcher::new(two_windows("2h"), tighter, 8);
        let saved = snapshot::load(&path).unwrap();
        assert_eq!(m.restore_windows(saved), Err(RestoreRefused::Limits));
        let mut m = Matcher::new(two_windows("2h"), WindowLimits::default(), 0);
        let saved = snapshot::load(&path).unwrap();
        assert_eq!(m.restore_windows(saved), Err(RestoreRefused::UtcOffset(8)));
        assert!(fired(&mut m, T0 + 60_000).is_empty(), "nothing was taken");
    }

    #[test]
    fn observing_and_clearing_by_slot_leave_the_other_windows_alone() {
        let mut m = Matcher::new(two_windows("2h"), WindowLimits::default(), 8);
        let g = LinkGraph::new(GraphLimits::default());
        let a = alert(SourceKind::Telecom, T0, &[], 0);
        m.observe_windows(&a, &g, T0, &[false, true]);
        assert_eq!(fired(&mut m, T0 + 1), ["d"], "only d saw the first");
        m.clear_windows(&[false, true]);
        assert_eq!(
            fired(&mut m, T0 + 2),
            ["c"],
            "c kept its one (of T0 + 1); d, emptied, has this one only"
        );
        assert_eq!(m.horizon_ms_of(&[false, true]), 7_200_000 + 300_000);
        assert_eq!(m.horizon_ms_of(&[false, false]), 0);
    }
}
