//! A console sees only its own jurisdiction: lists are narrowed, other
//! jurisdictions are refused, other jurisdictions' tasks are "not found",
//! and a linked case series (串并案) shows them by count only.

mod common;

use common::*;
use dualwarn::model::{Level, Role, Task, TaskStatus};
use dualwarn::proto;
use dualwarn::store::{Commit, EmbeddedStore, Store};
use tonic::Request;

const NANMING: &str = "nanming-console-token-0001";
const LIUPANSHUI: &str = "liupanshui-console-token-02";

#[tokio::test(flavor = "multi_thread")]
async fn console_sees_and_acts_only_in_its_own_jurisdiction() {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.consoles = vec![
        console("南明区反诈中心", NANMING, "520102"),
        console("六盘水市反诈中心", LIUPANSHUI, "5202"),
    ];
    cfg.admin_token = Some(ADMIN.into());
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
                base_version: Some(theirs.tasks[0].version),
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
                base_version: Some(page.tasks[0].version),
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

/// A stored task of series `series` in village `division`.
fn series_task(id: &str, division: &str, series: &str) -> Task {
    Task {
        id: id.into(),
        pair_id: id.split('-').next().unwrap().into(),
        role: Role::PoliceOfficer,
        division: division.parse().unwrap(),
        police_station: "ps".into(),
        police_area: "pa".into(),
        grid_id: format!("{division}-G01"),
        assignee: dualwarn::directory::Person {
            id: "PO-1".into(),
            name: "李警官".into(),
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
        method: Default::default(),
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

fn list_series(id: &str, token: &str) -> Request<proto::ListSeriesRequest> {
    with_token(
        proto::ListSeriesRequest {
            series_id: id.into(),
        },
        token,
    )
}

fn counts(r: &proto::ListSeriesResponse) -> Vec<(&str, u32)> {
    r.elsewhere
        .iter()
        .map(|e| (e.county.as_str(), e.tasks))
        .collect()
}

fn ids(r: &proto::ListSeriesResponse) -> Vec<&str> {
    r.tasks.iter().map(|t| t.id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn series_shows_own_tasks_and_only_counts_of_other_counties() {
    const OLD: &str = "S-00000000000000aa";
    const NEW: &str = "S-00000000000000bb";
    let data = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(data.path()).unwrap();
        store
            .commit(&Commit {
                tasks: vec![
                    series_task("P1-police", "520102001001", OLD),
                    series_task("P1-grid", "520102001001", OLD),
                    series_task("P2-police", "520201001001", OLD),
                    series_task("P3-police", "520201002001", OLD),
                    series_task("P4-police", "520203001001", OLD),
                    series_task("P5-police", "520102002001", NEW),
                    series_task("P6-police", "520111001001", NEW),
                    series_task("P7-police", "520102001001", ""),
                ],
                series_aliases: vec![(NEW.into(), OLD.into())],
                ..Commit::default()
            })
            .unwrap();
    }
    let mut cfg = config(data.path());
    cfg.consoles = vec![
        console("南明区反诈中心", NANMING, "520102"),
        console("六盘水市反诈中心", LIUPANSHUI, "5202"),
    ];
    cfg.admin_token = Some(ADMIN.into());
    let server = Server::start_with(cfg).await;
    let mut console = server.console().await;

    let nanming = console
        .list_series(list_series(NEW, NANMING))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(nanming.series_id, OLD, "the surviving series");
    assert_eq!(ids(&nanming), ["P1-grid", "P1-police", "P5-police"]);
    assert_eq!(nanming.tasks[0].series_id, OLD);
    assert_eq!(
        counts(&nanming),
        [("520111", 1), ("520201", 2), ("520203", 1)]
    );

    let liupanshui = console
        .list_series(list_series(OLD, LIUPANSHUI))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&liupanshui), ["P2-police", "P3-police", "P4-police"]);
    assert!(liupanshui.tasks.iter().all(|t| {
        t.jurisdiction
            .as_ref()
            .unwrap()
            .division_code
            .starts_with("5202")
    }));
    assert_eq!(counts(&liupanshui), [("520102", 3), ("520111", 1)]);

    let unknown = console
        .list_series(list_series("S-0123456789abcdef", NANMING))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unknown.series_id, "S-0123456789abcdef");
    assert!(unknown.tasks.is_empty() && unknown.elsewhere.is_empty());

    for bad in ["", "S-XYZ", "S-00000000000000AA"] {
        let e = console
            .list_series(list_series(bad, NANMING))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{bad:?}");
        assert!(
            e.message().contains("series_id") && e.message().contains(&format!("{bad:?}")),
            "{}",
            e.message()
        );
    }
    let anonymous = console
        .list_series(proto::ListSeriesRequest {
            series_id: OLD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    server.stop().await;
}
