use super::*;
use crate::config::Deadlines;
use crate::model::{Outcome, TaskEventRecord};
use crate::pipeline::Writer;
use crate::store::testkit::{NOW, apply_at, matcher, report, villages};
use crate::store::{RetentionCut, Store};

const DAY: i64 = 86_400_000;

/// One person matching `n` times at `now` (ids `tag-0`...), the first
/// making the pair; returns the writer's events.
fn repeats(
    store: &EmbeddedStore,
    w: &mut Writer,
    tag: &str,
    n: usize,
    now: i64,
) -> Vec<TaskEventRecord> {
    let village = &villages()[0];
    let mut out = Vec::new();
    for i in 0..n {
        let mut a = report(&format!("{tag}-{i}"), 1, village);
        a.occurred_at_ms = now - 60_000;
        out.extend(apply_at(store, w, vec![a], now).events);
    }
    out
}

fn writer(store: &EmbeddedStore) -> Writer {
    Writer::from_state(store.load_state().unwrap(), Deadlines::default(), matcher())
}

fn read_all(store: &EmbeddedStore, after: u64, prefix: &str, page: usize) -> Vec<TaskEventRecord> {
    let mut out: Vec<TaskEventRecord> = Vec::new();
    let mut last = after;
    loop {
        let got = store.events_after(last, prefix, page).unwrap();
        let done = got.len() < page;
        if let Some(e) = got.last() {
            last = e.seq;
        }
        out.extend(got);
        if done {
            return out;
        }
    }
}

#[test]
fn every_event_rebuilds_the_task_the_writer_had() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let mut w = writer(&store);
    let mut logged = repeats(&store, &mut w, "a", 100, NOW);
    let id = logged[0].task.id.clone();
    let (c, _) = w.acknowledge(&id, "officer", NOW).unwrap();
    store.commit(&c).unwrap();
    logged.extend(c.events);
    let (c, _) = w
        .report_outcome(
            &id,
            "officer",
            Outcome {
                code: crate::model::OutcomeCode::Dissuaded,
                ..Outcome::default()
            },
            NOW,
        )
        .unwrap();
    store.commit(&c).unwrap();
    logged.extend(c.events);
    assert!(
        logged.iter().filter(|e| e.delta.is_some()).count() > 150,
        "most events are kept as deltas"
    );
    let expected = logged.clone();
    let county = &villages()[0][..6];
    for page in [1, 7, 512] {
        assert_eq!(read_all(&store, 0, "", page), expected, "page {page}");
        assert_eq!(
            read_all(&store, 0, county, page),
            expected,
            "county, page {page}"
        );
    }
    assert_eq!(read_all(&store, 150, "", 9), expected[150..].to_vec());
    // Another county's watcher reads nothing, through its own index.
    assert!(read_all(&store, 0, &villages()[1][..6], 10).is_empty());
}

#[test]
fn retention_removes_old_events_and_an_old_token_says_where_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let mut w = writer(&store);
    let old = repeats(&store, &mut w, "a", 40, NOW);
    let new = repeats(&store, &mut w, "b", 40, NOW + DAY);
    let cut = RetentionCut {
        events_before_ms: NOW + DAY / 2,
        events_through_seq: u64::MAX,
        alerts_before_ms: 0,
    };
    let done = store.compact(&cut).unwrap();
    assert_eq!(done.events, old.len() as u64);
    let through = old.last().unwrap().seq;
    assert_eq!(read_all(&store, 0, "", 5), new.clone());
    assert_eq!(read_all(&store, through, "", 5), new.clone());
    match store.events_after(3, "", 5) {
        Err(crate::store::StoreError::Expired { token, resume_from }) => {
            assert_eq!((token, resume_from), (3, through));
        }
        other => panic!("expected an expired token, got {other:?}"),
    }
    // Everything goes: numbering still goes on after a restart.
    store
        .compact(&RetentionCut {
            events_before_ms: i64::MAX,
            events_through_seq: u64::MAX,
            alerts_before_ms: 0,
        })
        .unwrap();
    drop(store);
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(
        store.load_state().unwrap().last_seq,
        new.last().unwrap().seq
    );
    assert!(read_all(&store, 0, "", 5).is_empty());
}

#[test]
fn alert_retention_forgets_old_alerts_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let mut w = writer(&store);
    repeats(&store, &mut w, "a", 10, NOW);
    repeats(&store, &mut w, "b", 5, NOW + 10 * DAY);
    let done = store
        .compact(&RetentionCut {
            events_before_ms: 0,
            events_through_seq: u64::MAX,
            alerts_before_ms: NOW + DAY,
        })
        .unwrap();
    assert_eq!((done.events, done.alerts), (0, 10));
    assert_eq!(store.alert_count().unwrap(), 5);
    assert!(store.known_alerts(&["test-src/a-1"]).unwrap().is_empty());
    assert_eq!(store.known_alerts(&["test-src/b-1"]).unwrap().len(), 1);
    let logged = store.logged_alerts(0, 100).unwrap();
    assert_eq!(logged.len(), 5);
    assert_eq!(store.alerts_since(0, 100).unwrap().len(), 5);
}

#[test]
fn events_kept_before_deltas_are_indexed_and_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let mut w = writer(&store);
    let logged = repeats(&store, &mut w, "a", 3, NOW);
    // Rewrite the log as an older build kept it: whole records, no indexes.
    {
        let tx = store.begin_write().unwrap();
        {
            let mut events = tx.open_table(EVENTS).unwrap();
            for e in &logged {
                let mut v = e.task.division.to_string().into_bytes();
                v.extend(
                    serde_json::to_vec(&serde_json::json!({
                        "seq": e.seq, "kind": e.kind, "task": e.task,
                    }))
                    .unwrap(),
                );
                events.insert(e.seq, v.as_slice()).unwrap();
            }
            tx.delete_table(TASK_EVENTS).unwrap();
            tx.delete_table(AREA_EVENTS).unwrap();
            tx.open_table(META).unwrap().remove(EVENTS_INDEXED).unwrap();
        }
        tx.commit().unwrap();
    }
    drop(store);
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(read_all(&store, 0, &villages()[0][..9], 2), logged.clone());
    // And new delta events follow them.
    let mut w = writer(&store);
    let more = repeats(&store, &mut w, "b", 2, NOW);
    let mut all = logged.clone();
    all.extend(more.clone());
    assert_eq!(read_all(&store, 0, "", 3), all);
}
