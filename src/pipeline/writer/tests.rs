use std::collections::HashSet;
use std::path::Path;
use std::sync::LazyLock;

use proptest::prelude::*;

use super::*;
use crate::directory::{Directory, Placement};
use crate::model::{Level, Outcome, Role, TaskStatus};
use crate::pipeline::prepare;
use crate::proto;
use crate::rules::RuleSet;
use std::sync::Arc;

/// 2024-06-01T00:00:00Z.
const NOW: i64 = 1_717_200_000_000;
const MINUTE: i64 = 60_000;

static DIR: LazyLock<Directory> = LazyLock::new(|| {
    Directory::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/directory/directory.json"
    )))
    .unwrap()
});
/// A fixed rule set, so these tests do not move when analysts change `rules/`.
const TEST_RULES: &str = r#"
[[rule]]
id = "reported"
name = "n"
description = "报警称被骗"
level = "high"
condition = 'source_kind == "police_report"'
[[rule]]
id = "flagged-call"
name = "n"
description = "涉诈来电"
level = "medium"
condition = 'source_kind == "telecom" && counterpart.phone in @flagged_phones'
[[rule]]
id = "flagged-url"
name = "n"
description = "涉诈网址"
level = "low"
condition = 'counterpart.url in @flagged_urls'
"#;

static RULES: LazyLock<Arc<RuleSet>> = LazyLock::new(|| rule_set(TEST_RULES));

/// The same rules, one description changed: another version to reload to.
static RULES_B: LazyLock<Arc<RuleSet>> =
    LazyLock::new(|| rule_set(&TEST_RULES.replace("涉诈来电", "涉诈来电（B）")));

fn rule_set(text: &str) -> Arc<RuleSet> {
    let list = |name: &str| crate::rules::source::SourceFile {
        path: format!("lists/{name}.txt"),
        text: std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("rules/lists")
                .join(format!("{name}.txt")),
        )
        .unwrap(),
    };
    let files = vec![
        crate::rules::source::SourceFile {
            path: "test.toml".into(),
            text: text.into(),
        },
        list("flagged_phones"),
        list("flagged_urls"),
    ];
    Arc::new(crate::rules::compile_set(&files).unwrap())
}

/// The first village of the bundled directory and its first grid.
fn village() -> (String, String) {
    let v = &DIR.villages()[0];
    (v.code.to_string(), v.grids[0].to_string())
}

fn placement() -> Placement {
    let (code, grid) = village();
    DIR.place(&code, Some(&grid)).unwrap()
}

/// Smallest value of a flagged list, so tests do not depend on hash order.
fn flagged(list: &str) -> String {
    let id = RULES.list_id(list).unwrap();
    RULES.list_values.values_of(id).min().unwrap().to_string()
}

fn phone(person: usize) -> String {
    format!("139{person:08}")
}

/// A wire alert for `phone` that the bundled rules grade `level`
/// (`None`: no rule holds). High is a 110 report, medium a call from a
/// flagged number, low a visit to a flagged URL.
fn alert(source_id: &str, phone: &str, level: Option<Level>) -> proto::Alert {
    let (code, grid) = village();
    let counterpart = |kind: proto::ArtefactKind, value: String| proto::Artefact {
        kind: kind as i32,
        value,
    };
    let (source_kind, counterparts) = match level {
        Some(Level::High) => (proto::SourceKind::PoliceReport, vec![]),
        Some(Level::Medium) => (
            proto::SourceKind::Telecom,
            vec![counterpart(
                proto::ArtefactKind::Phone,
                flagged("flagged_phones"),
            )],
        ),
        Some(Level::Low) => (
            proto::SourceKind::Telecom,
            vec![counterpart(
                proto::ArtefactKind::Url,
                flagged("flagged_urls"),
            )],
        ),
        None => (proto::SourceKind::Tip, vec![]),
    };
    proto::Alert {
        source: "test-src".into(),
        source_id: source_id.into(),
        source_kind: source_kind as i32,
        occurred_at_ms: NOW - MINUTE,
        subject: Some(proto::Subject {
            phone: phone.into(),
            division_code: code,
            grid_id: grid,
            ..Default::default()
        }),
        counterparts,
        fraud_type_hint: "刷单返利".into(),
        ..Default::default()
    }
}

/// The open-pair key of a raw `ph:`/`id:` identity, as normalize keys it.
fn raw_key(raw: &str) -> String {
    crate::model::PersonKeys::offline().identity_of_raw(raw)
}

fn batch(alerts: Vec<proto::Alert>, now: i64) -> PreparedBatch {
    let prepared = prepare(
        &proto::AlertBatch {
            sequence: 1,
            alerts,
        },
        &DIR,
        crate::normalize::Checks::at(now),
    );
    assert!(prepared.rejections.is_empty(), "{:?}", prepared.rejections);
    prepared
}

fn matcher() -> crate::rules::Matcher {
    crate::rules::Matcher::new(
        RULES.clone(),
        crate::rules::window::WindowLimits::default(),
        8,
    )
}

fn writer() -> Writer {
    Writer::from_state(WriterState::default(), Deadlines::default(), matcher())
}

/// Applies one batch with nothing known before.
fn apply(w: &mut Writer, alerts: Vec<proto::Alert>, now: i64) -> (Commit, BatchCounts) {
    w.apply_batch(&batch(alerts, now), &KnownAlerts::new(), now)
}

fn due(level: Level, now: i64) -> i64 {
    now + i64::try_from(
        Deadlines::default()
            .due_within(level, &village().0)
            .as_millis(),
    )
    .unwrap()
}

fn kinds(c: &Commit) -> Vec<TaskEventKind> {
    c.events.iter().map(|e| e.kind).collect()
}

fn outcome() -> Outcome {
    Outcome {
        code: crate::model::OutcomeCode::Dissuaded,
        reached: "person".into(),
        defrauded: "no".into(),
        ..Outcome::default()
    }
}

#[test]
fn matching_alert_creates_one_pair_of_two_tasks() {
    let mut w = writer();
    let (c, counts) = apply(
        &mut w,
        vec![alert("a1", &phone(1), Some(Level::Medium))],
        NOW,
    );

    assert_eq!(
        counts,
        BatchCounts {
            accepted: 1,
            duplicates: 0,
            pairs_created: 1,
            merged: 0,
            ..BatchCounts::default()
        }
    );
    assert_eq!(w.open_pairs(), 1);
    assert_eq!(c.alerts.len(), 1);
    assert_eq!(c.alerts[0].key, "test-src/a1");
    assert_eq!(c.tasks.len(), 2);
    assert_eq!(kinds(&c), [TaskEventKind::Created, TaskEventKind::Created]);
    let p = placement();
    let [police, grid] = [&c.tasks[0], &c.tasks[1]];
    assert_eq!(
        (police.role, grid.role),
        (Role::PoliceOfficer, Role::GridWorker)
    );
    assert_eq!(police.assignee, p.officer);
    assert_eq!(grid.assignee, p.grid_worker);
    assert_eq!(police.pair_id, grid.pair_id);
    assert_ne!(police.id, grid.id);
    for t in &c.tasks {
        assert_eq!(t.level, Level::Medium);
        assert_eq!(t.status, TaskStatus::Open);
        assert_eq!(t.division, p.division_code);
        assert_eq!(t.grid_id, p.grid_id);
        assert_eq!(t.created_at_ms, NOW);
        assert_eq!(t.due_at_ms, due(Level::Medium, NOW));
        assert_eq!(t.alert_keys, ["test-src/a1"]);
        assert_eq!(t.reasons[0].rule_id, "flagged-call");
        assert_eq!(t.subject_phone_masked, "139****0001");
    }
    assert_eq!(
        c.open_insert,
        [(raw_key(&format!("ph:{}", phone(1))), police.pair_id.clone())]
    );
    assert!(c.open_remove.is_empty());
}

#[test]
fn due_time_follows_the_level_deadline() {
    for level in [Level::High, Level::Medium, Level::Low] {
        let (c, _) = apply(
            &mut writer(),
            vec![alert("a1", &phone(1), Some(level))],
            NOW,
        );
        assert_eq!(c.tasks[0].level, level);
        assert_eq!(c.tasks[0].due_at_ms, due(level, NOW), "{level:?}");
        assert_eq!(c.tasks[1].due_at_ms, due(level, NOW), "{level:?}");
    }
}

#[test]
fn alert_without_a_hit_is_kept_but_makes_no_task() {
    let mut w = writer();
    let (c, counts) = apply(&mut w, vec![alert("a1", &phone(1), None)], NOW);
    assert_eq!(
        counts,
        BatchCounts {
            accepted: 1,
            ..BatchCounts::default()
        }
    );
    assert_eq!(c.alerts.len(), 1);
    assert!(c.tasks.is_empty() && c.events.is_empty() && c.open_insert.is_empty());
    assert_eq!(w.open_pairs(), 0);
}

#[test]
fn duplicate_warning_joins_open_pair() {
    let mut w = writer();
    let (first, _) = apply(
        &mut w,
        vec![alert("a1", &phone(1), Some(Level::Medium))],
        NOW,
    );
    let (c, counts) = apply(
        &mut w,
        vec![alert("a2", &phone(1), Some(Level::Medium))],
        NOW + MINUTE,
    );

    assert_eq!(
        counts,
        BatchCounts {
            accepted: 1,
            duplicates: 0,
            pairs_created: 0,
            merged: 1,
            ..BatchCounts::default()
        }
    );
    assert_eq!(w.open_pairs(), 1);
    assert_eq!(kinds(&c), [TaskEventKind::Merged, TaskEventKind::Merged]);
    assert_eq!(c.tasks.len(), 2);
    for (t, before) in c.tasks.iter().zip(&first.tasks) {
        assert_eq!(t.id, before.id);
        assert_eq!(t.alert_keys, ["test-src/a1", "test-src/a2"]);
        assert_eq!(t.level, Level::Medium);
        assert_eq!(t.due_at_ms, before.due_at_ms);
        assert_eq!(t.history.last().unwrap().kind, TaskEventKind::Merged);
    }
    assert!(
        c.open_insert.is_empty(),
        "no new identity key: {:?}",
        c.open_insert
    );
}

#[test]
fn duplicate_warning_with_a_new_id_hash_records_the_new_key() {
    let mut w = writer();
    let (first, _) = apply(
        &mut w,
        vec![alert("a1", &phone(1), Some(Level::Medium))],
        NOW,
    );
    let mut a2 = alert("a2", &phone(1), Some(Level::Medium));
    a2.subject.as_mut().unwrap().id_hash = "ab".repeat(16);
    let (c, counts) = apply(&mut w, vec![a2], NOW);
    assert_eq!(counts.merged, 1);
    assert_eq!(
        c.open_insert,
        [(
            raw_key(&format!("id:{}", "ab".repeat(16))),
            first.tasks[0].pair_id.clone()
        )]
    );
}

#[test]
fn higher_level_duplicate_escalates_and_pulls_due_time_in() {
    let mut w = writer();
    apply(&mut w, vec![alert("a1", &phone(1), Some(Level::Low))], NOW);
    let later = NOW + 10 * MINUTE;
    let (c, counts) = apply(
        &mut w,
        vec![alert("a2", &phone(1), Some(Level::High))],
        later,
    );

    assert_eq!(counts.merged, 1);
    assert_eq!(counts.pairs_created, 0);
    assert_eq!(
        kinds(&c),
        [TaskEventKind::Escalated, TaskEventKind::Escalated]
    );
    for t in &c.tasks {
        assert_eq!(t.level, Level::High);
        assert_eq!(t.due_at_ms, due(Level::High, later));
        assert!(t.due_at_ms < due(Level::Low, NOW));
        assert_eq!(t.created_at_ms, NOW);
    }
}

#[test]
fn lower_level_duplicate_never_lowers_level_or_due_time() {
    let mut w = writer();
    let (first, _) = apply(&mut w, vec![alert("a1", &phone(1), Some(Level::High))], NOW);
    let (c, _) = apply(
        &mut w,
        vec![alert("a2", &phone(1), Some(Level::Low))],
        NOW + MINUTE,
    );
    assert_eq!(kinds(&c), [TaskEventKind::Merged, TaskEventKind::Merged]);
    for (t, before) in c.tasks.iter().zip(&first.tasks) {
        assert_eq!(t.level, Level::High);
        assert_eq!(t.due_at_ms, before.due_at_ms);
    }
}

#[test]
fn same_alert_key_twice_in_one_batch_counts_as_duplicate() {
    let mut w = writer();
    let a = alert("a1", &phone(1), Some(Level::Medium));
    let (c, counts) = apply(&mut w, vec![a.clone(), a], NOW);
    assert_eq!(
        counts,
        BatchCounts {
            accepted: 2,
            duplicates: 1,
            pairs_created: 1,
            merged: 0,
            ..BatchCounts::default()
        }
    );
    assert_eq!(c.alerts.len(), 1);
    assert_eq!(c.events.len(), 2);
    assert!(c.tasks.iter().all(|t| t.alert_keys == ["test-src/a1"]));
}

#[test]
fn known_alert_key_counts_as_duplicate_and_creates_nothing() {
    let b = batch(vec![alert("a1", &phone(1), Some(Level::High))], NOW);
    // Kept with its content hash, and kept before hashes were.
    for digest in [Some(b.items[0].digest), None] {
        let mut w = writer();
        let known = KnownAlerts::from([("test-src/a1".to_string(), digest)]);
        let (c, counts) = w.apply_batch(&b, &known, NOW);
        assert_eq!(
            counts,
            BatchCounts {
                accepted: 1,
                duplicates: 1,
                ..BatchCounts::default()
            }
        );
        assert!(c.is_empty(), "{c:?}");
        assert_eq!(w.open_pairs(), 0);
        assert_eq!(w.last_seq(), 0);
    }
}

#[test]
fn a_reused_key_with_other_content_is_refused_not_dropped() {
    let mut w = writer();
    let first = batch(vec![alert("a1", &phone(1), Some(Level::High))], NOW);
    let known = KnownAlerts::from([("test-src/a1".to_string(), Some(first.items[0].digest))]);
    // Another person under the same id, and a reuse within one batch.
    let other = batch(
        vec![
            alert("a1", &phone(2), Some(Level::High)),
            alert("b1", &phone(3), Some(Level::High)),
            alert("b1", &phone(4), Some(Level::High)),
            alert("b1", &phone(3), Some(Level::High)),
        ],
        NOW,
    );
    let (c, counts) = w.apply_batch(&other, &known, NOW);
    assert_eq!(
        counts,
        BatchCounts {
            accepted: 2,
            duplicates: 1,
            pairs_created: 1,
            reused: vec![(0, "test-src/a1".into()), (2, "test-src/b1".into())],
            ..BatchCounts::default()
        }
    );
    assert_eq!(c.alerts.len(), 1);
}

#[test]
fn closed_pair_makes_way_for_a_new_pair() {
    let mut w = writer();
    let (c, _) = apply(
        &mut w,
        vec![alert("a1", &phone(1), Some(Level::Medium))],
        NOW,
    );
    let ids: Vec<String> = c.tasks.iter().map(|t| t.id.clone()).collect();
    let pair = c.tasks[0].pair_id.clone();

    let (ack, t) = w.acknowledge(&ids[0], "officer", NOW + MINUTE).unwrap();
    assert_eq!(t.status, TaskStatus::Acknowledged);
    assert_eq!(kinds(&ack), [TaskEventKind::Acknowledged]);
    assert_eq!(ack.tasks, [t]);

    let (first, t) = w
        .report_outcome(&ids[0], "officer", outcome(), NOW + 2 * MINUTE)
        .unwrap();
    assert_eq!(t.status, TaskStatus::Done);
    assert_eq!(t.outcome, Some(outcome()));
    assert!(first.open_remove.is_empty(), "pair still half open");
    assert_eq!(w.open_pairs(), 1);
    assert_eq!(
        w.report_outcome(&ids[0], "officer", outcome(), NOW)
            .unwrap_err(),
        WriteError::AlreadyDone(ids[0].clone())
    );

    // A duplicate while half done joins only the task still open.
    let (half, counts) = apply(
        &mut w,
        vec![alert("a2", &phone(1), Some(Level::Medium))],
        NOW + 3 * MINUTE,
    );
    assert_eq!((counts.pairs_created, counts.merged), (0, 1));
    assert_eq!(half.tasks.len(), 1);
    assert_eq!(half.tasks[0].id, ids[1]);

    w.acknowledge(&ids[1], "grid", NOW + 4 * MINUTE).unwrap();
    let (second, _) = w
        .report_outcome(&ids[1], "grid", outcome(), NOW + 5 * MINUTE)
        .unwrap();
    assert_eq!(second.open_remove, [raw_key(&format!("ph:{}", phone(1)))]);
    assert_eq!(w.open_pairs(), 0);
    assert_eq!(
        w.acknowledge(&ids[0], "officer", NOW).unwrap_err(),
        WriteError::NotOpen(ids[0].clone())
    );

    let (again, counts) = apply(
        &mut w,
        vec![alert("a3", &phone(1), Some(Level::Medium))],
        NOW + 6 * MINUTE,
    );
    assert_eq!(counts.pairs_created, 1);
    assert_eq!(
        kinds(&again),
        [TaskEventKind::Created, TaskEventKind::Created]
    );
    assert_ne!(again.tasks[0].pair_id, pair);
    assert_eq!(again.tasks[0].alert_keys, ["test-src/a3"]);
}

#[test]
fn acknowledging_twice_changes_nothing() {
    let mut w = writer();
    let (c, _) = apply(
        &mut w,
        vec![alert("a1", &phone(1), Some(Level::Medium))],
        NOW,
    );
    let (_, first) = w.acknowledge(&c.tasks[0].id, "officer", NOW).unwrap();
    let seq = w.last_seq();
    let (again, t) = w
        .acknowledge(&c.tasks[0].id, "officer", NOW + MINUTE)
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(t, first);
    assert_eq!(w.last_seq(), seq);
}

#[test]
fn acknowledging_unknown_task_is_not_open() {
    let mut w = writer();
    assert_eq!(
        w.acknowledge("P0000000001-police", "x", NOW).unwrap_err(),
        WriteError::NotOpen("P0000000001-police".into())
    );
    assert_eq!(
        w.acknowledge("nope", "x", NOW).unwrap_err(),
        WriteError::NotOpen("nope".into())
    );
    assert_eq!(
        w.report_outcome("nope", "x", outcome(), NOW).unwrap_err(),
        WriteError::NotOpen("nope".into())
    );
}

#[test]
fn event_sequence_numbers_are_consecutive_from_one() {
    let mut w = writer();
    let mut seqs = Vec::new();
    let (c, _) = apply(
        &mut w,
        vec![
            alert("a1", &phone(1), Some(Level::Low)),
            alert("b1", &phone(2), Some(Level::Medium)),
        ],
        NOW,
    );
    seqs.extend(c.events.iter().map(|e| e.seq));
    let police = c.tasks[0].id.clone();
    let (c, _) = apply(
        &mut w,
        vec![
            alert("a2", &phone(1), Some(Level::High)),
            alert("z", &phone(3), None),
        ],
        NOW,
    );
    seqs.extend(c.events.iter().map(|e| e.seq));
    let (c, _) = w.acknowledge(&police, "officer", NOW).unwrap();
    seqs.extend(c.events.iter().map(|e| e.seq));
    let (c, _) = w
        .report_outcome(&police, "officer", outcome(), NOW)
        .unwrap();
    seqs.extend(c.events.iter().map(|e| e.seq));

    let expected: Vec<u64> = (1..=8).collect();
    assert_eq!(seqs, expected);
    assert_eq!(w.last_seq(), 8);
}

#[test]
fn writer_resumes_sequence_and_pair_numbers_from_state() {
    let state = WriterState {
        next_pair: 41,
        last_seq: 100,
        ..WriterState::default()
    };
    let mut w = Writer::from_state(state, Deadlines::default(), matcher());
    let (c, _) = apply(
        &mut w,
        vec![alert("a1", &phone(1), Some(Level::Medium))],
        NOW,
    );
    assert_eq!(
        c.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [101, 102]
    );
    assert_eq!(c.tasks[0].pair_id, "P0000000041");
    assert_eq!(c.next_pair, 42);
}

/// One alert of the property: person, key slot and grade (0: no hit).
fn wire(person: usize, slot: u8, grade: u8) -> proto::Alert {
    let level = [
        None,
        Some(Level::Low),
        Some(Level::Medium),
        Some(Level::High),
    ][usize::from(grade)];
    // The key names the content, so a repeated key is the same alert.
    alert(
        &format!("p{person}-s{slot}-g{grade}"),
        &phone(person),
        level,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn one_pair_per_person_and_two_events_per_change_across_reloads(
        alerts in prop::collection::vec((0..4usize, 0..3u8, 0..4u8), 1..40),
        cuts in prop::collection::vec(1..6usize, 1..10),
        reloads in prop::collection::vec(any::<bool>(), 1..10),
    ) {
        let mut w = writer();
        // Rule reloads land between batches, as the writer thread does them.
        let mut reload = reloads.iter().cycle();
        let mut use_b = false;
        // What the store would know: every key committed so far.
        let mut known = KnownAlerts::new();
        let mut totals = BatchCounts::default();
        let mut events = Vec::new();
        let mut tasks: HashMap<String, Task> = HashMap::new();
        // The model: keys seen, persons with a pair, alerts merged per person.
        let mut seen = HashSet::new();
        let mut with_pair = HashSet::new();
        let mut merges = 0u32;
        let mut keys_of: HashMap<usize, Vec<String>> = HashMap::new();

        let mut rest = &alerts[..];
        let mut cut = cuts.iter().cycle();
        let mut now = NOW;
        while !rest.is_empty() {
            let n = (*cut.next().unwrap()).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            now += MINUTE;
            for &(p, s, g) in chunk {
                let key = format!("test-src/p{p}-s{s}-g{g}");
                if !seen.insert(key.clone()) || g == 0 {
                    continue;
                }
                if !with_pair.insert(p) {
                    merges += 1;
                }
                keys_of.entry(p).or_default().push(key);
            }
            if *reload.next().unwrap() {
                use_b = !use_b;
                w.swap_rules(if use_b { RULES_B.clone() } else { RULES.clone() });
            }
            let version = w.rules().version.clone();
            let prepared = batch(chunk.iter().map(|&(p, s, g)| wire(p, s, g)).collect(), now);
            let (c, counts) = w.apply_batch(&prepared, &known, now);
            for e in c.events.iter().filter(|e| e.kind == TaskEventKind::Created) {
                prop_assert_eq!(&e.task.rule_set_version, &version, "a task records the set in force");
            }
            known.extend(c.alerts.iter().map(|a| (a.key.clone(), Some(a.digest))));
            let mut ids: Vec<&str> = c.tasks.iter().map(|t| t.id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            prop_assert_eq!(ids.len(), c.tasks.len(), "a task twice in one commit");
            for t in c.tasks {
                tasks.insert(t.id.clone(), t);
            }
            events.extend(c.events);
            totals.accepted += counts.accepted;
            totals.duplicates += counts.duplicates;
            totals.pairs_created += counts.pairs_created;
            totals.merged += counts.merged;
        }

        prop_assert_eq!(totals.accepted as usize, alerts.len());
        prop_assert_eq!(totals.duplicates as usize, alerts.len() - seen.len());
        prop_assert_eq!(known.len(), seen.len());
        prop_assert_eq!(totals.pairs_created as usize, with_pair.len());
        prop_assert_eq!(w.open_pairs(), with_pair.len());
        prop_assert_eq!(totals.merged, merges);
        prop_assert_eq!(events.len(), 2 * (totals.pairs_created + totals.merged) as usize);
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        prop_assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());

        // Each person's pair lists exactly their matching alerts, in order.
        prop_assert_eq!(tasks.len(), 2 * with_pair.len());
        for t in tasks.values() {
            let person = t.subject_phone_masked[7..].parse::<usize>().unwrap();
            prop_assert_eq!(&t.alert_keys, &keys_of[&person]);
        }
    }
}

#[test]
fn reload_target_is_a_different_version() {
    assert_ne!(RULES.version, RULES_B.version);
}

mod shadow;
