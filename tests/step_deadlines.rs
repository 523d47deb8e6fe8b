//! Step deadlines per level and role against the real server, on an
//! injected clock: a high pair's officer must phone within the county's
//! override (5 min) and both must visit within 30 min; the policy is
//! snapshotted on the task, so a restart with another policy does not move
//! it; a missed call escalates the officer's task alone, naming the step.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use common::*;
use dualwarn::config::{Config, StepDeadline};
use dualwarn::proto;

static CLOCK: AtomicI64 = AtomicI64::new(0);
const MIN: i64 = 60_000;

fn clock() -> i64 {
    CLOCK.load(Ordering::SeqCst)
}

fn by_role(tasks: &[proto::Task], role: proto::Role) -> proto::Task {
    tasks
        .iter()
        .find(|t| t.role == role as i32)
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_officer_phones_within_the_county_override_and_a_missed_call_escalates() {
    let t0 = now_ms();
    CLOCK.store(t0, Ordering::SeqCst);
    let data = tempfile::tempdir().unwrap();
    let base = |c: &mut Config| {
        c.admin_token = Some(ADMIN.into());
    };
    let mut cfg = config(data.path());
    base(&mut cfg);
    let mut steps = cfg.deadlines.steps.clone();
    steps.push(StepDeadline {
        level: "high".into(),
        role: "police".into(),
        prefix: "520102".into(),
        call: Some(Duration::from_secs(5 * 60)),
        visit: Some(Duration::from_secs(30 * 60)),
    });
    cfg.deadlines.steps = steps;
    let (server, shared) = Server::start_with_clock(cfg, clock).await;
    let dir = directory();
    let p = persons(&dir, "520102", 1, 67).remove(0);
    let card = list("flagged_cards", 1).remove(0);
    let mut ingest = server.ingest().await;
    let ack = submit(
        &mut ingest,
        1,
        vec![transfer_alert("sd-1", &p, &card, 600_000)],
    )
    .await;
    assert_eq!(ack.pairs_created, 1, "{ack:?}");
    let mut c = server.console().await;
    let tasks = all_tasks(&mut c, "520102").await;
    let police = by_role(&tasks, proto::Role::PoliceOfficer);
    let grid = by_role(&tasks, proto::Role::GridWorker);
    assert_eq!(police.level, proto::Level::High as i32);
    assert_eq!(police.call_by_ms, t0 + 5 * MIN);
    assert_eq!(police.visit_by_ms, t0 + 30 * MIN);
    assert_eq!(
        police.deadline_policy,
        "high/police: call 5m, visit 30m (520102)"
    );
    assert_eq!(grid.call_by_ms, 0, "phoning is the officer's step");
    assert_eq!(grid.visit_by_ms, t0 + 30 * MIN);

    // Four minutes in: nothing. Six: the officer's task, not the grid worker's.
    CLOCK.store(t0 + 4 * MIN, Ordering::SeqCst);
    assert_eq!(tick(&shared).await, 0);
    CLOCK.store(t0 + 6 * MIN, Ordering::SeqCst);
    assert_eq!(tick(&shared).await, 1);
    let tasks = all_tasks(&mut c, "520102").await;
    let police = by_role(&tasks, proto::Role::PoliceOfficer);
    assert_eq!(police.escalated, proto::Escalation::Station as i32);
    let last = police.history.last().unwrap();
    assert!(last.detail.starts_with("电话逾期"), "{}", last.detail);
    assert_eq!(
        by_role(&tasks, proto::Role::GridWorker).escalated,
        proto::Escalation::None as i32
    );
    server.stop().await;
    drop(shared);

    // Restarted without the override: the tasks keep the policy they were made with.
    let mut cfg = config(data.path());
    base(&mut cfg);
    let (server, _shared) = Server::start_with_clock(cfg, clock).await;
    let mut c = server.console().await;
    let tasks = all_tasks(&mut c, "520102").await;
    let police = by_role(&tasks, proto::Role::PoliceOfficer);
    assert_eq!(police.call_by_ms, t0 + 5 * MIN);
    assert_eq!(
        police.deadline_policy,
        "high/police: call 5m, visit 30m (520102)"
    );
    server.stop().await;
}
