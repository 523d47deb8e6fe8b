//! Linked case series (串并案) as every backend reads them. The graph
//! decides which series a victim belongs to and when two series merge; the
//! writer hands both to *store* in a [`super::Commit`], and a backend keeps
//! three relations: series → its tasks, absorbed series → the series it
//! merged into, and series → the series merged straight into it.
//!
//! Reading a series back is the same walk over those relations whatever
//! keeps them, with the same guards against broken data (a loop, a chain
//! too long): a backend answers [`SeriesLookup`] and calls [`tasks`].

use std::collections::{BTreeMap, HashSet};

use super::query::order_key;
use super::{SeriesTasks, StoreError};
use crate::model::Task;

/// Most merges followed from a series to its root; the graph merges into the
/// older series, so a longer chain means broken data, not a busy series.
pub(super) const MAX_DEPTH: usize = 64;

/// What a backend answers about the series it keeps.
pub(super) trait SeriesLookup {
    /// The series `series_id` merged into, if it did.
    fn merged_into(&self, series_id: &str) -> Result<Option<String>, StoreError>;
    /// Every series merged straight into `series_id`.
    fn absorbed(&self, series_id: &str) -> Result<Vec<String>, StoreError>;
    /// The id of every task ever placed in `series_id`, moved ones included.
    fn members(&self, series_id: &str) -> Result<Vec<String>, StoreError>;
    /// The task `task_id` as it now stands.
    fn task(&self, task_id: &str) -> Result<Option<Task>, StoreError>;
}

/// Every task of the series `series_id` ends in, sorted by division then id.
pub(super) fn tasks(
    lookup: &impl SeriesLookup,
    series_id: &str,
) -> Result<SeriesTasks, StoreError> {
    let root = root_of(lookup, series_id)?;
    let ids = merged_into(lookup, &root)?;
    let mut found = BTreeMap::new();
    for id in &ids {
        for task_id in lookup.members(id)? {
            let Some(task) = lookup.task(&task_id)? else {
                continue;
            };
            // Membership is never removed: a task the graph moved to
            // another series counts only where it now is.
            if ids.contains(&task.series_id) {
                found.insert(order_key(&task), task);
            }
        }
    }
    Ok(SeriesTasks {
        root,
        tasks: found.into_values().collect(),
    })
}

/// Follows merges from `series_id` to the series that survives.
pub(super) fn root_of(lookup: &impl SeriesLookup, series_id: &str) -> Result<String, StoreError> {
    let mut current = series_id.to_string();
    let mut seen = vec![current.clone()];
    while let Some(next) = lookup.merged_into(&current)? {
        if seen.contains(&next) {
            return Err(broken(series_id, format!("merges loop back to {next}")));
        }
        if seen.len() > MAX_DEPTH {
            return Err(broken(
                series_id,
                format!("more than {MAX_DEPTH} merges to a surviving series"),
            ));
        }
        seen.push(next.clone());
        current = next;
    }
    Ok(current)
}

/// `root` and every series merged into it, directly or through others.
pub(super) fn merged_into(
    lookup: &impl SeriesLookup,
    root: &str,
) -> Result<HashSet<String>, StoreError> {
    let mut ids = HashSet::from([root.to_string()]);
    let mut todo = vec![root.to_string()];
    while let Some(id) = todo.pop() {
        for child in lookup.absorbed(&id)? {
            if ids.insert(child.clone()) {
                todo.push(child);
            }
        }
    }
    Ok(ids)
}

fn broken(series_id: &str, why: String) -> StoreError {
    StoreError::Corrupt {
        key: format!("series {series_id}"),
        why,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Merges only, kept in memory: the walk without any backend.
    #[derive(Default)]
    struct Merges(HashMap<String, String>);

    impl Merges {
        fn of(pairs: &[(&str, &str)]) -> Merges {
            Merges(
                pairs
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            )
        }
    }

    impl SeriesLookup for Merges {
        fn merged_into(&self, series_id: &str) -> Result<Option<String>, StoreError> {
            Ok(self.0.get(series_id).cloned())
        }
        fn absorbed(&self, series_id: &str) -> Result<Vec<String>, StoreError> {
            let mut from: Vec<String> = (self.0.iter())
                .filter(|(_, to)| *to == series_id)
                .map(|(from, _)| from.clone())
                .collect();
            from.sort();
            Ok(from)
        }
        fn members(&self, _: &str) -> Result<Vec<String>, StoreError> {
            Ok(Vec::new())
        }
        fn task(&self, _: &str) -> Result<Option<Task>, StoreError> {
            Ok(None)
        }
    }

    #[test]
    fn root_is_where_the_merges_end_and_collects_every_merged_series() {
        let m = Merges::of(&[("a", "b"), ("b", "d"), ("c", "d")]);
        for id in ["a", "b", "c", "d"] {
            assert_eq!(root_of(&m, id).unwrap(), "d", "from {id}");
        }
        let mut all: Vec<String> = merged_into(&m, "d").unwrap().into_iter().collect();
        all.sort();
        assert_eq!(all, ["a", "b", "c", "d"]);
        assert_eq!(root_of(&m, "x").unwrap(), "x");
    }

    #[test]
    fn a_merge_loop_is_reported_with_the_series_asked_for() {
        let m = Merges::of(&[("a", "b"), ("b", "a")]);
        let err = root_of(&m, "a").unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt { key, why } if key == "series a" && why.contains("loop back to a")),
            "{err:?}"
        );
    }

    #[test]
    fn max_depth_merges_are_followed_and_one_more_is_refused() {
        let id = |n: usize| format!("s{n}");
        let chain: Vec<(String, String)> = (0..=MAX_DEPTH).map(|n| (id(n), id(n + 1))).collect();
        let m = Merges(chain.into_iter().collect());
        assert_eq!(root_of(&m, &id(1)).unwrap(), id(MAX_DEPTH + 1));
        let err = root_of(&m, &id(0)).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }
}
