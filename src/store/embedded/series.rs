//! Linked case series (串并案) in the embedded store. The graph decides which
//! series a victim belongs to and when two series merge; the writer hands
//! both to *store* in a [`Commit`]. Here they become three redb tables
//! ([`super::tables`]), written in the commit's one transaction. Reading a
//! series back is the backend-neutral walk of [`crate::store::series`] over
//! those tables.

use redb::{ReadOnlyMultimapTable, ReadOnlyTable, ReadTransaction, WriteTransaction};

use super::EmbeddedStore;
use super::tables::{SERIES_ABSORBED, SERIES_INTO, SERIES_TASKS, TASKS};
use crate::model::Task;
use crate::store::series::{self, SeriesLookup};
use crate::store::{Commit, SeriesTasks, StoreError, backend};

/// Creates the series tables, so that read transactions find them.
pub(super) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_multimap_table(SERIES_TASKS).map_err(backend)?;
    tx.open_table(SERIES_INTO).map_err(backend)?;
    tx.open_multimap_table(SERIES_ABSORBED).map_err(backend)?;
    Ok(())
}

/// Writes the series part of `c`: task membership and merges.
pub(super) fn write(tx: &WriteTransaction, c: &Commit) -> Result<(), StoreError> {
    let mut members = tx.open_multimap_table(SERIES_TASKS).map_err(backend)?;
    for t in c.tasks.iter().filter(|t| !t.series_id.is_empty()) {
        members
            .insert(t.series_id.as_str(), t.id.as_str())
            .map_err(backend)?;
    }
    let mut into = tx.open_table(SERIES_INTO).map_err(backend)?;
    let mut absorbed = tx.open_multimap_table(SERIES_ABSORBED).map_err(backend)?;
    for (from, to) in &c.series_aliases {
        let previous = into
            .insert(from.as_str(), to.as_str())
            .map_err(backend)?
            .map(|v| v.value().to_string());
        // A series merged again leaves its old survivor, so that no two
        // roots claim it.
        if let Some(old) = previous {
            absorbed
                .remove(old.as_str(), from.as_str())
                .map_err(backend)?;
        }
        absorbed
            .insert(to.as_str(), from.as_str())
            .map_err(backend)?;
    }
    Ok(())
}

/// Every task of the series `series_id` ends in, sorted by division then id.
pub(super) fn tasks(tx: &ReadTransaction, series_id: &str) -> Result<SeriesTasks, StoreError> {
    let tables = SeriesTables {
        into: tx.open_table(SERIES_INTO).map_err(backend)?,
        absorbed: tx.open_multimap_table(SERIES_ABSORBED).map_err(backend)?,
        members: tx.open_multimap_table(SERIES_TASKS).map_err(backend)?,
        tasks: tx.open_table(TASKS).map_err(backend)?,
    };
    series::tasks(&tables, series_id)
}

/// The series tables of one read transaction, for the neutral walk.
struct SeriesTables {
    into: ReadOnlyTable<&'static str, &'static str>,
    absorbed: ReadOnlyMultimapTable<&'static str, &'static str>,
    members: ReadOnlyMultimapTable<&'static str, &'static str>,
    tasks: ReadOnlyTable<&'static str, &'static [u8]>,
}

impl SeriesLookup for SeriesTables {
    fn merged_into(&self, series_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .into
            .get(series_id)
            .map_err(backend)?
            .map(|v| v.value().to_string()))
    }

    fn absorbed(&self, series_id: &str) -> Result<Vec<String>, StoreError> {
        strings(&self.absorbed, series_id)
    }

    fn members(&self, series_id: &str) -> Result<Vec<String>, StoreError> {
        strings(&self.members, series_id)
    }

    fn task(&self, task_id: &str) -> Result<Option<Task>, StoreError> {
        EmbeddedStore::read_task(&self.tasks, task_id)
    }
}

/// Every value under `key` in a multimap table.
fn strings(
    table: &ReadOnlyMultimapTable<&'static str, &'static str>,
    key: &str,
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for row in table.get(key).map_err(backend)? {
        out.push(row.map_err(backend)?.value().to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{DivisionCode, Person};
    use crate::model::{Level, Role, Task, TaskStatus};
    use crate::store::Store;
    use crate::store::series::MAX_DEPTH;

    const A: &str = "S-000000000000000a";
    const B: &str = "S-000000000000000b";
    const C: &str = "S-000000000000000c";

    fn task(id: &str, division: &str, series: &str) -> Task {
        Task {
            id: id.into(),
            pair_id: id.split('-').next().unwrap().into(),
            role: Role::PoliceOfficer,
            division: DivisionCode::parse(division).unwrap(),
            police_station: "ps".into(),
            police_area: "pa".into(),
            grid_id: format!("{division}-G01"),
            assignee: Person {
                id: "PO-1".into(),
                name: "officer".into(),
            },
            subject_phone_masked: "139****0001".into(),
            subject_name_masked: "王**".into(),
            subject_address_masked: String::new(),
            subject_key: format!("k-{id}"),
            level: Level::High,
            fraud_type: "x".into(),
            reasons: Vec::new(),
            created_at_ms: 0,
            due_at_ms: 0,
            status: TaskStatus::Open,
            alert_keys: Vec::new(),
            history: Vec::new(),
            outcome: None,
            rule_set_version: "rs-1".into(),
            method: crate::rules::Method::Phone,
            series_id: series.into(),
            alert_keys_omitted: 0,
            reasons_omitted: 0,
            merges_omitted: 0,
            follow_ups: Vec::new(),
            escalated: Default::default(),
            transfer: None,
            publicity: Vec::new(),
            brief: None,
            steps_due: Default::default(),
        }
    }

    fn merges(pairs: &[(&str, &str)]) -> Commit {
        Commit {
            series_aliases: pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..Commit::default()
        }
    }

    fn store() -> (tempfile::TempDir, EmbeddedStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        (dir, store)
    }

    fn ids(s: &SeriesTasks) -> Vec<&str> {
        s.tasks.iter().map(|t| t.id.as_str()).collect()
    }

    #[test]
    fn tasks_of_one_series_come_back_in_division_then_id_order() {
        let (_dir, store) = store();
        let tasks = vec![
            task("P2-police", "520203100200", A),
            task("P1-grid", "520102001001", A),
            task("P1-police", "520102001001", A),
            task("P3-police", "520102001001", B),
            task("P4-police", "520102001001", ""),
        ];
        store
            .commit(&Commit {
                tasks,
                ..Commit::default()
            })
            .unwrap();
        let mut signed = task("P2-police", "520203100200", A);
        signed.status = TaskStatus::Acknowledged;
        store
            .commit(&Commit {
                tasks: vec![signed.clone()],
                ..Commit::default()
            })
            .unwrap();

        let got = store.series_tasks(A).unwrap();
        assert_eq!(got.root, A);
        assert_eq!(ids(&got), ["P1-grid", "P1-police", "P2-police"]);
        assert_eq!(got.tasks[2], signed, "the current state, once");
        assert_eq!(ids(&store.series_tasks(B).unwrap()), ["P3-police"]);
    }

    #[test]
    fn alias_chain_returns_every_task_from_any_member_with_the_last_as_root() {
        let (_dir, store) = store();
        store
            .commit(&Commit {
                tasks: vec![
                    task("P1-police", "520102001001", A),
                    task("P2-police", "520102001001", B),
                    task("P3-police", "520102001001", C),
                ],
                series_aliases: vec![(A.into(), B.into())],
                ..Commit::default()
            })
            .unwrap();
        store.commit(&merges(&[(B, C)])).unwrap();
        for id in [A, B, C] {
            let got = store.series_tasks(id).unwrap();
            assert_eq!(got.root, C, "from {id}");
            assert_eq!(ids(&got), ["P1-police", "P2-police", "P3-police"]);
        }
    }

    #[test]
    fn series_merged_again_leaves_its_old_survivor() {
        let (_dir, store) = store();
        store
            .commit(&Commit {
                tasks: vec![
                    task("P1-police", "520102001001", A),
                    task("P2-police", "520102001001", B),
                ],
                series_aliases: vec![(A.into(), B.into())],
                ..Commit::default()
            })
            .unwrap();
        store.commit(&merges(&[(A, C)])).unwrap();
        assert_eq!(ids(&store.series_tasks(B).unwrap()), ["P2-police"]);
        let c = store.series_tasks(C).unwrap();
        assert_eq!((c.root.as_str(), ids(&c)), (C, vec!["P1-police"]));
    }

    #[test]
    fn task_moved_to_another_series_counts_only_there() {
        let (_dir, store) = store();
        let mut t = task("P1-police", "520102001001", A);
        store
            .commit(&Commit {
                tasks: vec![t.clone()],
                ..Commit::default()
            })
            .unwrap();
        t.series_id = B.into();
        store
            .commit(&Commit {
                tasks: vec![t],
                ..Commit::default()
            })
            .unwrap();
        assert!(store.series_tasks(A).unwrap().tasks.is_empty());
        assert_eq!(ids(&store.series_tasks(B).unwrap()), ["P1-police"]);
    }

    #[test]
    fn unknown_series_is_its_own_root_with_no_tasks() {
        let (_dir, store) = store();
        let got = store.series_tasks(A).unwrap();
        assert_eq!(got.root, A);
        assert!(got.tasks.is_empty());
    }

    #[test]
    fn alias_loop_is_reported_not_followed() {
        let (_dir, store) = store();
        store.commit(&merges(&[(A, B), (B, C), (C, A)])).unwrap();
        for id in [A, B, C] {
            let err = store.series_tasks(id).unwrap_err();
            assert!(
                matches!(&err, StoreError::Corrupt { key, why } if key.contains(id) && why.contains("loop")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn chain_longer_than_max_depth_is_refused() {
        let (_dir, store) = store();
        let id = |n: usize| format!("S-{n:016x}");
        let chain: Vec<(String, String)> = (0..=MAX_DEPTH).map(|n| (id(n), id(n + 1))).collect();
        store
            .commit(&Commit {
                series_aliases: chain,
                ..Commit::default()
            })
            .unwrap();
        assert_eq!(
            store.series_tasks(&id(1)).unwrap().root,
            id(MAX_DEPTH + 1),
            "{MAX_DEPTH} merges are followed"
        );
        let err = store.series_tasks(&id(0)).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn task_stored_before_series_decodes_with_no_series() {
        let mut json = serde_json::to_value(task("P1-police", "520102001001", A)).unwrap();
        json.as_object_mut().unwrap().remove("series_id");
        let old: Task = serde_json::from_value(json).unwrap();
        assert_eq!(old.series_id, "");
    }
}
