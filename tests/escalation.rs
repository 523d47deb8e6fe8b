//! Overdue work escalates on the engine's clock, injected here: first to
//! the police station, then to the county centre, once each; a task signed
//! for and forgotten is re-notified once; escalations that fell due while
//! the engine was down fire at the next start, once; a station's console
//! sees them live on `WatchTasks`.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use common::*;
use dualwarn::proto;
use tokio_stream::StreamExt;
use tonic::Request;

static CLOCK: AtomicI64 = AtomicI64::new(0);
const MIN: i64 = 60_000;
const STATION_TOKEN: &str = "station-console-token-01";

fn clock() -> i64 {
    CLOCK.load(Ordering::SeqCst)
}

fn auth<T>(msg: T) -> Request<T> {
    with_token(msg, STATION_TOKEN)
}

#[tokio::test(flavor = "multi_thread")]
async fn overdue_tasks_escalate_once_each_across_a_restart() {
    CLOCK.store(now_ms(), Ordering::SeqCst);
    let dir = directory();
    let p = persons(&dir, "520102", 1, 61).remove(0);
    let station = dir
        .place(&p.division, Some(&p.grid))
        .unwrap()
        .police_station;
    let data = tempfile::tempdir().unwrap();
    let cfg = || {
        let mut c = config(data.path());
        c.admin_token = Some(ADMIN.into());
        c.consoles = vec![
            station_console("派出所", STATION_TOKEN, "520102", &station),
            console("南明区反诈中心", "nanming-centre-token-09", "520102"),
        ];
        c
    };
    let (server, shared) = Server::start_with_clock(cfg(), clock).await;
    let card = list("flagged_cards", 1).remove(0);
    let mut ingest = server.ingest().await;
    let ack = submit(
        &mut ingest,
        1,
        vec![transfer_alert("e-1", &p, &card, 600_000)],
    )
    .await;
    assert_eq!(ack.pairs_created, 1, "{ack:?}");
    let mut console = server.console().await;
    let tasks = console
        .list_tasks(auth(proto::ListTasksRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t.level == proto::Level::High as i32));
    let due = tasks[0].due_at_ms;
    let mut watch = console
        .watch_tasks(auth(proto::WatchTasksRequest::default()))
        .await
        .unwrap()
        .into_inner();

    // Before the deadline nothing; just after it, the station, once.
    assert_eq!(tick(&shared).await, 0);
    CLOCK.store(due + MIN, Ordering::SeqCst);
    assert_eq!(tick(&shared).await, 2);
    assert_eq!(tick(&shared).await, 0);
    // The grid worker signs for theirs; the officer's stays untouched.
    let grid = tasks
        .iter()
        .find(|t| t.role == proto::Role::GridWorker as i32)
        .unwrap();
    let grid = get_task(&mut console, &grid.id).await;
    assert_eq!(grid.escalated, proto::Escalation::Station as i32);
    console
        .acknowledge(auth(proto::AcknowledgeRequest {
            task_id: grid.id.clone(),
            actor: "网格员".into(),
            base_version: Some(grid.version),
        }))
        .await
        .unwrap();
    // The watcher saw the two escalations live.
    let mut live = 0;
    while let Ok(Some(Ok(e))) = tokio::time::timeout(Duration::from_millis(300), watch.next()).await
    {
        if e.kind == proto::TaskEventKind::Overdue as i32 {
            live += 1;
        }
    }
    assert_eq!(live, 2);
    drop((watch, shared));
    server.stop().await;

    // Down for three hours: at the next start the county centre is told of
    // both, and the signed-for task is re-notified, once each.
    CLOCK.store(due + 3 * 60 * MIN, Ordering::SeqCst);
    let (server, shared) = Server::start_with_clock(cfg(), clock).await;
    for _ in 0..3 {
        tick(&shared).await;
    }
    let mut console = server.console().await;
    let mut events = console
        .watch_tasks(auth(proto::WatchTasksRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let mut kinds = Vec::new();
    while let Ok(Some(Ok(e))) =
        tokio::time::timeout(Duration::from_millis(500), events.next()).await
    {
        kinds.push((e.kind, e.task.unwrap()));
    }
    let overdue: Vec<_> = kinds
        .iter()
        .filter(|(k, _)| *k == proto::TaskEventKind::Overdue as i32)
        .collect();
    assert_eq!(
        overdue.len(),
        4,
        "station and centre, for each task: {kinds:?}"
    );
    let renotified = kinds
        .iter()
        .filter(|(k, _)| *k == proto::TaskEventKind::Renotified as i32)
        .count();
    assert_eq!(renotified, 1);
    let last = &overdue[3].1;
    assert_eq!(last.escalated, proto::Escalation::Centre as i32);
    assert!(
        last.history
            .iter()
            .any(|h| h.detail.contains("县级反诈中心 520102")),
        "{:?}",
        last.history
    );
    server.stop().await;
}

async fn get_task(
    console: &mut dualwarn::proto::task_console_client::TaskConsoleClient<
        tonic::transport::Channel,
    >,
    id: &str,
) -> proto::Task {
    console
        .get_task(auth(proto::GetTaskRequest { task_id: id.into() }))
        .await
        .unwrap()
        .into_inner()
}

static CLOCK2: AtomicI64 = AtomicI64::new(0);

fn clock2() -> i64 {
    CLOCK2.load(Ordering::SeqCst)
}

/// The deadline index holds wake-up times computed under the policy in
/// force; a restart under a shorter `to_centre_after` re-indexes the open
/// tasks, so the centre hears of them by the new policy, not the old.
#[tokio::test(flavor = "multi_thread")]
async fn a_changed_policy_reindexes_the_deadlines_at_start() {
    CLOCK2.store(now_ms(), Ordering::SeqCst);
    let dir = directory();
    let p = persons(&dir, "520102", 1, 62).remove(0);
    let data = tempfile::tempdir().unwrap();
    let cfg = |centre_after_min: u64| {
        let mut c = config(data.path());
        c.escalation.to_centre_after = Duration::from_secs(centre_after_min * 60);
        c
    };
    let (server, shared) = Server::start_with_clock(cfg(120), clock2).await;
    let card = list("flagged_cards", 1).remove(0);
    let ack = submit(
        &mut server.ingest().await,
        1,
        vec![transfer_alert("r-1", &p, &card, 600_000)],
    )
    .await;
    assert_eq!(ack.pairs_created, 1, "{ack:?}");
    let tasks = all_tasks(&mut server.console().await, "").await;
    let due = tasks[0].due_at_ms;
    // At the deadline the station is told of both tasks.
    CLOCK2.store(due + MIN, Ordering::SeqCst);
    assert_eq!(tick(&shared).await, 2);
    let tasks = all_tasks(&mut server.console().await, "").await;
    assert!(
        tasks
            .iter()
            .all(|t| t.escalated == proto::Escalation::Station as i32)
    );
    // 20 minutes late is nothing under a 120-minute centre step...
    CLOCK2.store(due + 20 * MIN, Ordering::SeqCst);
    assert_eq!(tick(&shared).await, 0);
    drop(shared);
    server.stop().await;

    // ...but under a 10-minute one it is due at once.
    // (The start's own check may have fired it already; either way, once.)
    let (server, shared) = Server::start_with_clock(cfg(10), clock2).await;
    tick(&shared).await;
    assert_eq!(tick(&shared).await, 0);
    let tasks = all_tasks(&mut server.console().await, "").await;
    assert!(
        tasks
            .iter()
            .all(|t| t.escalated == proto::Escalation::Centre as i32
                && t.history
                    .iter()
                    .filter(|h| h.detail.contains("县级反诈中心"))
                    .count()
                    == 1),
        "{tasks:?}"
    );
    server.stop().await;
}
