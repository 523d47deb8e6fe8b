//! 转办 against the real server: the grid worker reports that the person
//! now lives in another county; the county centre cannot decide a transfer
//! out of its county, the city centre above both can. Approved, the pair
//! moves to the new village's officer and grid worker with its deadline
//! unchanged, and the other county now sees it; refused, it stays.

mod common;

use common::*;
use dualwarn::proto;
use dualwarn::proto::task_console_client::TaskConsoleClient;
use tonic::Code;
use tonic::transport::Channel;

const NANMING: &str = "nanming-centre-token-0001";
const YUNYAN: &str = "yunyan-centre-token-00002";
const CITY: &str = "guiyang-city-centre-token";
const WORKER: &str = "nanming-grid-worker-token";

async fn ask(
    c: &mut TaskConsoleClient<Channel>,
    t: &proto::Task,
    to: &str,
) -> Result<proto::Task, tonic::Status> {
    c.request_transfer(with_token(
        proto::RequestTransferRequest {
            task_id: t.id.clone(),
            actor: "网格员".into(),
            to_division_code: to.into(),
            reason: "已搬家到云岩区".into(),
            base_version: Some(t.version),
        },
        WORKER,
    ))
    .await
    .map(|r| r.into_inner())
}

async fn decide(
    c: &mut TaskConsoleClient<Channel>,
    token: &str,
    t: &proto::Task,
    approve: bool,
) -> Result<Vec<proto::Task>, tonic::Status> {
    c.decide_transfer(with_token(
        proto::DecideTransferRequest {
            task_id: t.id.clone(),
            actor: String::new(),
            approve,
            note: "核实".into(),
            base_version: Some(t.version),
        },
        token,
    ))
    .await
    .map(|r| r.into_inner().tasks)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_is_approved_above_both_counties_then_another_refused() {
    let dir = directory();
    let people = persons(&dir, "520102", 2, 71);
    let moved_to = &persons(&dir, "520103", 1, 72)[0];
    let new_home = dir.place(&moved_to.division, None).unwrap();
    let worker = dir
        .place(&people[0].division, Some(&people[0].grid))
        .unwrap()
        .grid_worker;
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.admin_token = Some(ADMIN.into());
    cfg.consoles = vec![
        console("南明区反诈中心", NANMING, "520102"),
        console("云岩区反诈中心", YUNYAN, "520103"),
        console("贵阳市反诈中心", CITY, "5201"),
        person_console("网格员", WORKER, "520102", &worker.id),
    ];
    let server = Server::start_with(cfg).await;
    let mut ingest = server.ingest().await;
    let phone = list("flagged_phones", 1).remove(0);
    submit(&mut ingest, 1, vec![call_alert("t-1", &people[0], &phone)]).await;
    let mut c = server.console().await;
    let mine = tasks_of(&mut c, WORKER).await;
    assert_eq!(mine.len(), 1);
    let grid = mine[0].clone();

    // A code the directory does not know is refused, naming the field.
    let e = ask(&mut c, &grid, "520199999999").await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("to_division_code"), "{}", e.message());

    let asked = ask(&mut c, &grid, &moved_to.division).await.unwrap();
    let pending = asked.transfer.clone().unwrap();
    assert_eq!(pending.to_division_code, moved_to.division);
    // The county cannot send it out of the county; the other county does
    // not even see it.
    let e = decide(&mut c, NANMING, &asked, true).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    let e = decide(&mut c, YUNYAN, &asked, true).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");

    // The city approves: both tasks move, the deadline stays.
    let moved = decide(&mut c, CITY, &asked, true).await.unwrap();
    assert_eq!(moved.len(), 2);
    for t in &moved {
        let j = t.jurisdiction.clone().unwrap();
        assert_eq!(j.division_code, moved_to.division);
        assert_eq!(t.due_at_ms, grid.due_at_ms);
        assert!(t.transfer.is_none());
        let a = t.assignee.clone().unwrap();
        if t.role == proto::Role::GridWorker as i32 {
            assert_eq!(a.id, new_home.grid_worker.id);
            let kinds: Vec<i32> = t.history.iter().map(|h| h.kind).collect();
            use proto::TaskEventKind as K;
            assert_eq!(
                kinds,
                [K::Created, K::TransferRequested, K::TransferApproved].map(|k| k as i32)
            );
        } else {
            assert_eq!(a.id, new_home.officer.id);
        }
    }
    assert_eq!(tasks_of(&mut c, YUNYAN).await.len(), 2);
    // The city lists each task once, in its new place only.
    let city = tasks_of(&mut c, CITY).await;
    assert_eq!(
        city.len(),
        2,
        "{:?}",
        city.iter().map(|t| &t.id).collect::<Vec<_>>()
    );
    assert!(tasks_of(&mut c, NANMING).await.is_empty());
    assert!(tasks_of(&mut c, WORKER).await.is_empty());

    // Another person: asked, refused; the pair stays in 南明区.
    submit(&mut ingest, 2, vec![call_alert("t-2", &people[1], &phone)]).await;
    let theirs: Vec<_> = tasks_of(&mut c, NANMING).await;
    let grid2 = theirs
        .iter()
        .find(|t| t.role == proto::Role::GridWorker as i32)
        .unwrap()
        .clone();
    let worker2 = grid2.assignee.clone().unwrap();
    // The request goes through the county here (the worker token is another grid's).
    let asked = c
        .request_transfer(with_token(
            proto::RequestTransferRequest {
                task_id: grid2.id.clone(),
                actor: worker2.name.clone(),
                to_division_code: moved_to.division.clone(),
                reason: "外出务工".into(),
                base_version: Some(grid2.version),
            },
            NANMING,
        ))
        .await
        .unwrap()
        .into_inner();
    let kept = decide(&mut c, CITY, &asked, false).await.unwrap();
    assert_eq!(
        kept.len(),
        1,
        "only the task that asked records the refusal"
    );
    assert_eq!(
        kept[0].jurisdiction.clone().unwrap().division_code,
        people[1].division
    );
    assert!(kept[0].transfer.is_none());
    assert_eq!(
        kept[0].history.last().unwrap().kind,
        proto::TaskEventKind::TransferRefused as i32
    );
    assert_eq!(tasks_of(&mut c, NANMING).await.len(), 2);
    server.stop().await;
}
