//! Tests of the embedded store as a whole: reopen, paging, the event
//! catch-up, and the person-key migration.

use super::*;
use crate::config::Deadlines;
use crate::model::{Outcome, Role, TaskStatus};
use crate::pipeline::{Writer, prepare};
use crate::proto;
use crate::store::testkit::{DIR, NOW, apply, matcher, report, villages};

/// A store kept before keyed person MACs (raw `ph:` open keys, alerts
/// without keys, unkeyed task keys) is re-keyed once, whole.
#[test]
fn a_store_from_before_keyed_macs_is_rekeyed_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let mut w = Writer::from_state(WriterState::default(), Deadlines::default(), matcher());
    let batch = prepare(
        &proto::AlertBatch {
            sequence: 1,
            alerts: vec![report("r1", 1, &villages()[0])],
        },
        &DIR,
        crate::normalize::Checks::at(NOW),
    );
    let (mut c, _) = w.apply_batch(&batch, &KnownAlerts::new(), NOW);
    // Make it look as an older build wrote it.
    c.open_insert = vec![("ph:13900000001".into(), c.open_insert[0].1.clone())];
    for a in &mut c.alerts {
        // An older build kept alerts as JSON, without keys.
        let mut alert = super::alert_codec::decode_alert(&a.key, &a.record).unwrap();
        alert.subject.keys = Default::default();
        a.record = serde_json::to_vec(&alert).unwrap();
    }
    for t in &mut c.tasks {
        t.subject_key = "0123456789abcdef".into();
    }
    store.commit(&c).unwrap();

    let keys = PersonKeys::new(b"a test installation secret");
    let done = store.migrate_person_keys(&keys).unwrap();
    assert_eq!(
        (done.open_keys, done.tasks, done.alerts, done.legacy),
        (1, 2, 1, true)
    );
    let want = keys.key("13900000001", "");
    let state = store.load_state().unwrap();
    assert_eq!(state.open[0].0, want.identity[0]);
    assert!(
        state
            .open_tasks
            .iter()
            .all(|t| t.subject_key == want.subject)
    );
    let alert = &store.alerts_since(0, 10).unwrap()[0];
    assert_eq!(alert.subject.keys, want);
    // A re-send, normalized under the same keys, is a duplicate.
    let known = store.known_alerts(&["test-src/r1"]).unwrap();
    let resend = prepare(
        &proto::AlertBatch {
            sequence: 2,
            alerts: vec![report("r1", 1, &villages()[0])],
        },
        &DIR,
        crate::normalize::Checks {
            keys: &keys,
            ..crate::normalize::Checks::at(NOW)
        },
    );
    assert_eq!(known["test-src/r1"], Some(resend.items[0].digest));
    // Once only.
    assert_eq!(
        store.migrate_person_keys(&keys).unwrap(),
        KeyMigration::default()
    );
}

/// Four persons, two per village, one pair each: 8 tasks, 8 events.
fn fill(store: &EmbeddedStore) -> (Writer, Vec<Commit>) {
    let [a, b] = villages();
    let mut w = Writer::from_state(store.load_state().unwrap(), Deadlines::default(), matcher());
    let first = apply(
        store,
        &mut w,
        vec![report("r1", 1, &a), report("r2", 2, &b)],
    );
    let second = apply(
        store,
        &mut w,
        vec![report("r3", 3, &a), report("r4", 4, &b)],
    );
    (w, vec![first, second])
}

fn all_tasks(commits: &[Commit]) -> Vec<Task> {
    let mut tasks: Vec<Task> = commits.iter().flat_map(|c| c.tasks.clone()).collect();
    tasks.sort_by_key(order_key);
    tasks
}

fn query(prefix: &str, page_size: usize, page_token: Option<String>) -> TaskQuery {
    TaskQuery {
        prefix: prefix.into(),
        page_size,
        page_token,
        ..TaskQuery::default()
    }
}

/// Pages through `prefix` one task at a time; returns the ids in order.
fn page_through(store: &EmbeddedStore, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let page = store.list_tasks(&query(prefix, 1, token)).unwrap();
        assert!(page.tasks.len() <= 1);
        ids.extend(page.tasks.iter().map(|t| t.id.clone()));
        token = page.next_page_token;
        if token.is_none() {
            return ids;
        }
        assert!(ids.len() <= 100, "paging does not end");
    }
}

#[test]
fn committed_state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let (mut w, mut commits) = fill(&store);
    let pair1 = commits[0].tasks[0].pair_id.clone();
    let closing: Vec<String> = commits[0].tasks[..2].iter().map(|t| t.id.clone()).collect();
    for id in &closing {
        let (c, _) = w.acknowledge(id, "officer", NOW).unwrap();
        store.commit(&c).unwrap();
        commits.push(c);
        let (c, _) = w
            .report_outcome(
                id,
                "officer",
                Outcome {
                    code: crate::model::OutcomeCode::Dissuaded,
                    ..Outcome::default()
                },
                NOW,
            )
            .unwrap();
        store.commit(&c).unwrap();
        commits.push(c);
    }
    drop(store);

    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(store.alert_count().unwrap(), 4);
    let known = store
        .known_alerts(&["test-src/r1", "test-src/r4", "test-src/r9"])
        .unwrap();
    let mut keys: Vec<_> = known.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["test-src/r1", "test-src/r4"]);
    assert!(known.values().all(Option::is_some), "{known:?}");

    // The last snapshot of each task is what the store holds.
    let mut latest: std::collections::HashMap<String, Task> = Default::default();
    for t in commits.iter().flat_map(|c| c.tasks.clone()) {
        latest.insert(t.id.clone(), t);
    }
    assert_eq!(latest.len(), 8);
    for t in latest.values() {
        assert_eq!(store.task(&t.id).unwrap().as_ref(), Some(t));
    }
    assert_eq!(
        store.task(&closing[0]).unwrap().unwrap().status,
        TaskStatus::Done
    );
    assert_eq!(store.task("P0000000099-police").unwrap(), None);

    let state = store.load_state().unwrap();
    assert_eq!(state.next_pair, 5);
    assert_eq!(state.last_seq, 12);
    let mut open_keys: Vec<String> = state.open.iter().map(|(k, _)| k.clone()).collect();
    open_keys.sort();
    let keys = crate::model::PersonKeys::offline();
    let mut want: Vec<String> = ["ph:13900000002", "ph:13900000003", "ph:13900000004"]
        .iter()
        .map(|raw| keys.identity_of_raw(raw))
        .collect();
    want.sort();
    assert_eq!(open_keys, want);
    assert!(state.open.iter().all(|(_, p)| *p != pair1));
    assert_eq!(state.open_tasks.len(), 6);
    for t in &state.open_tasks {
        assert_eq!(Some(t), latest.get(&t.id));
        assert_ne!(t.pair_id, pair1);
    }

    let events = store.events_after(0, "", 100).unwrap();
    let written: Vec<TaskEventRecord> = commits.iter().flat_map(|c| c.events.clone()).collect();
    assert_eq!(events, written);
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>()
    );
}

#[test]
fn reopened_writer_joins_open_pairs_and_continues_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let (_, commits) = fill(&store);
    drop(store);

    let store = EmbeddedStore::open(dir.path()).unwrap();
    let mut w = Writer::from_state(store.load_state().unwrap(), Deadlines::default(), matcher());
    assert_eq!(w.open_pairs(), 4);
    let [a, _] = villages();
    // r1 again is known; r5 is a duplicate warning for person 1.
    let c = apply(
        &store,
        &mut w,
        vec![
            report("r1", 1, &a),
            report("r5", 1, &a),
            report("r6", 5, &a),
        ],
    );
    assert_eq!(c.alerts.len(), 2);
    assert_eq!(
        c.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [9, 10, 11, 12]
    );
    let merged: Vec<&Task> = c
        .tasks
        .iter()
        .filter(|t| t.pair_id == commits[0].tasks[0].pair_id)
        .collect();
    assert_eq!(merged.len(), 2);
    assert!(
        merged
            .iter()
            .all(|t| t.alert_keys == ["test-src/r1", "test-src/r5"])
    );
    assert!(c.tasks.iter().any(|t| t.pair_id == "P0000000005"));
}

#[test]
fn list_tasks_pages_every_task_once_in_stable_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let (_, commits) = fill(&store);
    let expected: Vec<String> = all_tasks(&commits).into_iter().map(|t| t.id).collect();
    assert_eq!(expected.len(), 8);

    assert_eq!(page_through(&store, ""), expected);
    // Same answer twice: the order is stable.
    assert_eq!(page_through(&store, ""), expected);
    let whole = store.list_tasks(&query("", 100, None)).unwrap();
    assert_eq!(
        whole.tasks.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(whole.next_page_token, None);
}

#[test]
fn list_tasks_under_a_prefix_returns_only_that_jurisdiction() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let (_, commits) = fill(&store);
    let [a, b] = villages();
    for (village, other) in [(&a, &b), (&b, &a)] {
        let prefix = &village[..4];
        assert!(!other.starts_with(prefix), "test needs two prefectures");
        let expected: Vec<String> = all_tasks(&commits)
            .into_iter()
            .filter(|t| t.division.to_string().starts_with(prefix))
            .map(|t| t.id)
            .collect();
        assert_eq!(expected.len(), 4);
        assert_eq!(page_through(&store, prefix), expected);
    }
    let grid_workers = TaskQuery {
        overdue_at: None,
        role: Some(Role::GridWorker),
        ..query(&a[..4], 10, None)
    };
    let page = store.list_tasks(&grid_workers).unwrap();
    assert_eq!(page.tasks.len(), 2);
    assert!(page.tasks.iter().all(|t| t.role == Role::GridWorker));
    assert!(
        store
            .list_tasks(&query("53", 10, None))
            .unwrap()
            .tasks
            .is_empty()
    );
}

#[test]
fn page_token_from_another_prefix_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    fill(&store);
    let [a, b] = villages();
    let token = store
        .list_tasks(&query(&b[..4], 1, None))
        .unwrap()
        .next_page_token
        .unwrap();
    let err = store
        .list_tasks(&query(&a[..4], 1, Some(token.clone())))
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::BadPageToken(t) if *t == token),
        "{err:?}"
    );
}

#[test]
fn events_after_returns_later_events_under_the_prefix_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let (_, commits) = fill(&store);
    let all: Vec<TaskEventRecord> = commits.iter().flat_map(|c| c.events.clone()).collect();
    let [a, b] = villages();
    for prefix in [&a[..4], &b[..4], &a[..], ""] {
        for after in [0, 2, 5, 8] {
            let expected: Vec<TaskEventRecord> = all
                .iter()
                .filter(|e| e.seq > after && e.task.division.to_string().starts_with(prefix))
                .cloned()
                .collect();
            let got = store.events_after(after, prefix, 100).unwrap();
            assert_eq!(got, expected, "after {after} under {prefix:?}");
            let limited = store.events_after(after, prefix, 1).unwrap();
            assert_eq!(
                limited,
                expected.iter().take(1).cloned().collect::<Vec<_>>()
            );
        }
    }
    assert!(store.events_after(u64::MAX, "", 10).unwrap().is_empty());
}

#[test]
fn events_after_with_limit_zero_returns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    fill(&store);
    assert_eq!(store.events_after(0, "", 0).unwrap().len(), 0);
}
