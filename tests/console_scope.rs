//! A console sees only its own jurisdiction: lists are narrowed, other
//! jurisdictions are refused, other jurisdictions' tasks are "not found".

mod common;

use common::*;
use dualwarn::proto;
use tonic::Request;

const NANMING: &str = "nanming-console-token-0001";
const LIUPANSHUI: &str = "liupanshui-console-token-02";

fn with_token<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

#[tokio::test(flavor = "multi_thread")]
async fn console_sees_and_acts_only_in_its_own_jurisdiction() {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.consoles = vec![
        console("南明区反诈中心", NANMING, "520102"),
        console("六盘水市反诈中心", LIUPANSHUI, "5202"),
    ];
    let server = Server::start_with(cfg).await;
    let dir = directory();
    let a = persons(&dir, "520102", 2, 7);
    let b = persons(&dir, "5202", 2, 8);
    let phone = list("flagged_phones", 1).remove(0);
    let mut ingest = server.ingest().await;
    let alerts = vec![
        call_alert("s-0", &a[0], &phone),
        call_alert("s-1", &a[1], &phone),
        call_alert("s-2", &b[0], &phone),
        call_alert("s-3", &b[1], &phone),
    ];
    submit(&mut ingest, 0, alerts).await;

    let mut console = server.console().await;
    let none = console
        .list_tasks(proto::ListTasksRequest::default())
        .await
        .unwrap_err();
    assert_eq!(none.code(), tonic::Code::Unauthenticated);
    let wrong = console
        .list_tasks(with_token(
            proto::ListTasksRequest::default(),
            "not-a-real-token-at-all",
        ))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), tonic::Code::Unauthenticated);

    let page = console
        .list_tasks(with_token(proto::ListTasksRequest::default(), NANMING))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.tasks.len(), 4);
    assert!(page.tasks.iter().all(|t| {
        t.jurisdiction
            .as_ref()
            .unwrap()
            .division_code
            .starts_with("520102")
    }));

    let wider = console
        .list_tasks(with_token(
            proto::ListTasksRequest {
                jurisdiction: "52".into(),
                ..Default::default()
            },
            NANMING,
        ))
        .await
        .unwrap_err();
    assert_eq!(wider.code(), tonic::Code::PermissionDenied);
    let watch = console
        .watch_tasks(with_token(
            proto::WatchTasksRequest {
                jurisdiction: "5202".into(),
                resume_token: String::new(),
            },
            NANMING,
        ))
        .await
        .unwrap_err();
    assert_eq!(watch.code(), tonic::Code::PermissionDenied);

    let theirs = console
        .list_tasks(with_token(proto::ListTasksRequest::default(), LIUPANSHUI))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(theirs.tasks.len(), 4);
    let foreign = &theirs.tasks[0].id;
    let denied = console
        .acknowledge(with_token(
            proto::AcknowledgeRequest {
                task_id: foreign.clone(),
                actor: String::new(),
            },
            NANMING,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        denied.code(),
        tonic::Code::NotFound,
        "another jurisdiction's task does not exist for this console"
    );

    let own = &page.tasks[0].id;
    let acked = console
        .acknowledge(with_token(
            proto::AcknowledgeRequest {
                task_id: own.clone(),
                actor: "李警官".into(),
            },
            NANMING,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(acked.status, proto::TaskStatus::Acknowledged as i32);
    assert_eq!(acked.history.last().unwrap().actor, "南明区反诈中心/李警官");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn list_filters_and_pages_in_stable_order() {
    let server = Server::start().await;
    let dir = directory();
    let people = persons(&dir, "520103", 9, 9);
    let phone = list("flagged_phones", 1).remove(0);
    let card = list("flagged_cards", 1).remove(0);
    let mut ingest = server.ingest().await;
    let alerts: Vec<proto::Alert> = people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 3 == 0 {
                transfer_alert(&format!("f-{i}"), p, &card, 1_000_000)
            } else {
                call_alert(&format!("f-{i}"), p, &phone)
            }
        })
        .collect();
    submit(&mut ingest, 0, alerts).await;
    let mut console = server.console().await;
    let all = all_tasks(&mut console, "520103").await;
    assert_eq!(all.len(), 18);
    let ids: Vec<&str> = all.iter().map(|t| t.id.as_str()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "no task twice across pages");
    let again = all_tasks(&mut console, "520103").await;
    assert_eq!(all, again, "stable order");

    let high_police = console
        .list_tasks(proto::ListTasksRequest {
            jurisdiction: "520103".into(),
            role: proto::Role::PoliceOfficer as i32,
            level: proto::Level::High as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(high_police.tasks.len(), 3);
    let bad_day = console
        .list_tasks(proto::ListTasksRequest {
            jurisdiction: "520103".into(),
            created_day: "2026-13-01".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        bad_day.message().contains("created_day"),
        "{}",
        bad_day.message()
    );
    server.stop().await;
}
