//! The work after the pair, against the real server: 签收 → 电话劝阻 → 反馈
//! 暂时找不到 (stays open, new deadline) → 上门 → 反馈 已劝阻 (closed) → 回访
//! rounds on the closed task; a step may be skipped; every write names the
//! version it was based on and a stale one changes nothing; the pair closes
//! when both tasks have; the event log rebuilds every step.

mod common;

use common::*;
use dualwarn::proto;
use dualwarn::proto::task_console_client::TaskConsoleClient;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

async fn get(c: &mut TaskConsoleClient<Channel>, id: &str) -> proto::Task {
    c.get_task(proto::GetTaskRequest { task_id: id.into() })
        .await
        .unwrap()
        .into_inner()
}

fn outcome(code: proto::OutcomeCode) -> proto::Outcome {
    proto::Outcome {
        code: code as i32,
        reached: proto::outcome::Reached::Person as i32,
        ..Default::default()
    }
}

async fn report(
    c: &mut TaskConsoleClient<Channel>,
    t: &proto::Task,
    o: proto::Outcome,
) -> Result<proto::Task, tonic::Status> {
    c.report_outcome(proto::ReportOutcomeRequest {
        task_id: t.id.clone(),
        actor: "王网格员".into(),
        outcome: Some(o),
        base_version: Some(t.version),
    })
    .await
    .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pair_is_worked_to_its_outcome_and_followed_up() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(config(data.path())).await;
    let dir = directory();
    let p = persons(&dir, "520102", 1, 51).remove(0);
    let phone = list("flagged_phones", 1).remove(0);
    let mut ingest = server.ingest().await;
    submit(&mut ingest, 1, vec![call_alert("l-1", &p, &phone)]).await;
    let mut c = server.console().await;
    let tasks = all_tasks(&mut c, &p.division).await;
    let grid = tasks
        .iter()
        .find(|t| t.role == proto::Role::GridWorker as i32)
        .unwrap()
        .clone();
    let police = tasks
        .iter()
        .find(|t| t.role == proto::Role::PoliceOfficer as i32)
        .unwrap()
        .clone();
    assert_eq!(grid.version, 1);

    // No version, then a stale one: refused, nothing changes.
    let e = c
        .acknowledge(proto::AcknowledgeRequest {
            task_id: grid.id.clone(),
            actor: String::new(),
            base_version: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("base_version"), "{}", e.message());
    let e = c
        .acknowledge(proto::AcknowledgeRequest {
            task_id: grid.id.clone(),
            actor: String::new(),
            base_version: Some(grid.version + 5),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("version"), "{}", e.message());
    assert_eq!(get(&mut c, &grid.id).await, grid);

    // 签收, then a call that did not connect.
    let t = c
        .acknowledge(proto::AcknowledgeRequest {
            task_id: grid.id.clone(),
            actor: "王网格员".into(),
            base_version: Some(grid.version),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.status, proto::TaskStatus::Acknowledged as i32);
    let e = c
        .record_call(proto::RecordCallRequest {
            task_id: t.id.clone(),
            connected: false,
            base_version: Some(t.version),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Code::InvalidArgument,
        "a missed call needs a reason"
    );
    let t = c
        .record_call(proto::RecordCallRequest {
            task_id: t.id.clone(),
            actor: "王网格员".into(),
            connected: false,
            reason: "关机".into(),
            base_version: Some(t.version),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.status, proto::TaskStatus::InProgress as i32);

    // 暂时找不到: still open, with a new deadline.
    let before = t.due_at_ms;
    let t = report(&mut c, &t, outcome(proto::OutcomeCode::NotFoundYet))
        .await
        .unwrap();
    assert_eq!(t.status, proto::TaskStatus::InProgress as i32);
    assert!(t.due_at_ms > before, "{} > {before}", t.due_at_ms);

    // 上门, met, and 已劝阻 closes the grid task.
    let t = c
        .record_visit(proto::RecordVisitRequest {
            task_id: t.id.clone(),
            actor: "王网格员".into(),
            met: true,
            note: "本人在家, 已讲解刷单诈骗".into(),
            base_version: Some(t.version),
        })
        .await
        .unwrap()
        .into_inner();
    let t = report(&mut c, &t, outcome(proto::OutcomeCode::Dissuaded))
        .await
        .unwrap();
    assert_eq!(t.status, proto::TaskStatus::Done as i32);
    let kinds: Vec<i32> = t.history.iter().map(|h| h.kind).collect();
    use proto::TaskEventKind as K;
    assert_eq!(
        kinds,
        [
            K::Created,
            K::Acknowledged,
            K::Called,
            K::Outcome,
            K::Visited,
            K::Outcome
        ]
        .map(|k| k as i32)
    );
    let e = report(&mut c, &t, outcome(proto::OutcomeCode::Dissuaded))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);

    // The police task skips to its outcome. 已被骗 needs the amount.
    let e = report(&mut c, &police, outcome(proto::OutcomeCode::Defrauded))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("amount_lost_fen"), "{}", e.message());
    let lost = proto::Outcome {
        amount_lost_fen: 3_000_000,
        ..outcome(proto::OutcomeCode::Defrauded)
    };
    let closed = report(&mut c, &police, lost).await.unwrap();
    assert_eq!(closed.status, proto::TaskStatus::Done as i32);
    // Both closed: the pair is closed, a new warning makes a new pair.
    let next = submit(&mut ingest, 2, vec![call_alert("l-2", &p, &phone)]).await;
    assert_eq!((next.pairs_created, next.merged), (1, 0));

    // 回访 on the closed grid task: a round, not two open at once, then done.
    let due = now_ms() + 3 * 24 * 3600 * 1000;
    let f = c
        .follow_up(proto::FollowUpRequest {
            task_id: t.id.clone(),
            actor: "王网格员".into(),
            due_at_ms: due,
            note: "三天后回访".into(),
            base_version: Some(t.version),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(f.follow_ups.len(), 1);
    assert_eq!((f.follow_ups[0].round, f.follow_ups[0].due_at_ms), (1, due));
    assert_eq!(f.status, proto::TaskStatus::Done as i32);
    let e = c
        .follow_up(proto::FollowUpRequest {
            task_id: f.id.clone(),
            due_at_ms: due + 1,
            base_version: Some(f.version),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let f = c
        .follow_up(proto::FollowUpRequest {
            task_id: f.id.clone(),
            actor: "王网格员".into(),
            due_at_ms: 0,
            note: "未再接到诈骗电话".into(),
            base_version: Some(f.version),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(f.follow_ups[0].done_at_ms > 0);

    // The event log rebuilds the task exactly, after a restart too.
    server.stop().await;
    let server = Server::start_with(config(data.path())).await;
    let mut c = server.console().await;
    assert_eq!(get(&mut c, &f.id).await, f);
    let mut events = c
        .watch_tasks(proto::WatchTasksRequest {
            jurisdiction: p.division.clone(),
            resume_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Ok(Some(Ok(e))) =
        tokio::time::timeout(std::time::Duration::from_millis(500), events.next()).await
    {
        if e.task.as_ref().is_some_and(|t| t.id == f.id) {
            last = e.task;
        }
    }
    assert_eq!(last.as_ref(), Some(&f));
    server.stop().await;
}
