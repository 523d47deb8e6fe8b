//! The authorization matrix against the real server: every console RPC is
//! called by the task's assignee, another person of the same grid, the
//! police station, the county centre, a sibling county's centre and a
//! person of another county. Each caller works its own pair in the same
//! grid; the test counts allowed and refused calls per caller and asserts
//! that no call reads or writes across a jurisdiction.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use dualwarn::proto;
use dualwarn::proto::task_console_client::TaskConsoleClient;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Code, Status};

const ASSIGNEE: &str = "matrix-assignee-token-01";
const SAME_GRID: &str = "matrix-same-grid-token-02";
const STATION: &str = "matrix-station-token-0003";
const COUNTY: &str = "matrix-county-token-00004";
const SIBLING: &str = "matrix-sibling-token-0005";
const OTHER_PERSON: &str = "matrix-other-person-tok-6";

/// Every console RPC, in the order each caller makes them.
const RPCS: [&str; 18] = [
    "ListTasks",
    "GetTask",
    "WatchTasks",
    "ListSeries",
    "DailyList",
    "Supervision",
    "ListAudit",
    "Acknowledge",
    "RecordCall",
    "RecordVisit",
    "RecordPublicity",
    "RevealContact",
    "RequestTransfer",
    "DecideTransfer",
    "ReportOutcome",
    "FollowUp",
    "AuditAfter",
    "GetTaskAfter",
];

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Seen {
    /// The call went through and showed or changed the target.
    Allowed,
    /// Refused (NOT_FOUND, PERMISSION_DENIED) or showed nothing of the target.
    Refused,
}

fn judge<T>(r: &Result<T, Status>) -> Seen {
    match r {
        Ok(_) => Seen::Allowed,
        Err(s) if matches!(s.code(), Code::NotFound | Code::PermissionDenied) => Seen::Refused,
        Err(s) => panic!("a call failed for another reason than access: {s:?}"),
    }
}

fn person_at(village: &str, grid: &str, n: u32) -> Person {
    Person {
        phone: format!("1360{:07}", 4_000 + n),
        id_hash: format!("{:064x}", 0xa17_0000_u64 + u64::from(n)),
        name: format!("测试{n}"),
        division: village.into(),
        grid: grid.into(),
    }
}

/// The target as it stands, read by the county (always allowed).
async fn current(c: &mut TaskConsoleClient<Channel>, id: &str) -> proto::Task {
    c.get_task(with_token(
        proto::GetTaskRequest { task_id: id.into() },
        COUNTY,
    ))
    .await
    .unwrap()
    .into_inner()
}

/// One caller's RPCs on `target`; the result of each, by name.
async fn calls(
    c: &mut TaskConsoleClient<Channel>,
    token: &str,
    target_id: &str,
    elsewhere: &str,
    day: &str,
) -> BTreeMap<&'static str, Seen> {
    let mut out = BTreeMap::new();
    let t = current(c, target_id).await;
    let v = |t: &proto::Task| Some(t.version);

    let r = c
        .list_tasks(with_token(proto::ListTasksRequest::default(), token))
        .await;
    let listed = judge(&r) == Seen::Allowed
        && r.unwrap()
            .into_inner()
            .tasks
            .iter()
            .any(|x| x.id == target_id);
    out.insert(
        "ListTasks",
        if listed { Seen::Allowed } else { Seen::Refused },
    );
    let r = c
        .get_task(with_token(
            proto::GetTaskRequest {
                task_id: target_id.into(),
            },
            token,
        ))
        .await;
    out.insert("GetTask", judge(&r));

    let mut watch = c
        .watch_tasks(with_token(proto::WatchTasksRequest::default(), token))
        .await
        .unwrap()
        .into_inner();
    let mut watched = Seen::Refused;
    while let Ok(Some(Ok(e))) = tokio::time::timeout(Duration::from_millis(700), watch.next()).await
    {
        if e.task.is_some_and(|x| x.id == target_id) {
            watched = Seen::Allowed;
            break;
        }
    }
    out.insert("WatchTasks", watched);

    let series = if t.series_id.is_empty() {
        Seen::Refused
    } else {
        let r = c
            .list_series(with_token(
                proto::ListSeriesRequest {
                    series_id: t.series_id.clone(),
                },
                token,
            ))
            .await;
        let shown = judge(&r) == Seen::Allowed
            && r.unwrap()
                .into_inner()
                .tasks
                .iter()
                .any(|x| x.id == target_id);
        if shown { Seen::Allowed } else { Seen::Refused }
    };
    out.insert("ListSeries", series);

    let r = c
        .daily_list(with_token(
            proto::DailyListRequest {
                jurisdiction: String::new(),
                day: day.into(),
                format: "csv".into(),
            },
            token,
        ))
        .await;
    let mut text = Vec::new();
    if let Ok(s) = r {
        let mut s = s.into_inner();
        while let Some(chunk) = s.message().await.unwrap() {
            text.extend_from_slice(&chunk.data);
        }
    }
    let in_list = String::from_utf8(text).unwrap().contains(target_id);
    out.insert(
        "DailyList",
        if in_list {
            Seen::Allowed
        } else {
            Seen::Refused
        },
    );

    let r = c
        .supervision(with_token(
            proto::SupervisionRequest {
                jurisdiction: t.jurisdiction.clone().unwrap().division_code,
                from_day: day.into(),
                to_day: day.into(),
            },
            token,
        ))
        .await;
    let counted = r.is_ok_and(|r| r.into_inner().total.unwrap().tasks > 0);
    out.insert(
        "Supervision",
        if counted {
            Seen::Allowed
        } else {
            Seen::Refused
        },
    );

    let r = c
        .list_audit(with_token(
            proto::ListAuditRequest {
                jurisdiction: "520102".into(),
                ..Default::default()
            },
            token,
        ))
        .await;
    out.insert("ListAudit", judge(&r));

    let r = c
        .acknowledge(with_token(
            proto::AcknowledgeRequest {
                task_id: target_id.into(),
                actor: String::new(),
                base_version: v(&t),
            },
            token,
        ))
        .await;
    out.insert("Acknowledge", judge(&r));
    let t = current(c, target_id).await;
    let r = c
        .record_call(with_token(
            proto::RecordCallRequest {
                task_id: target_id.into(),
                actor: String::new(),
                connected: true,
                reason: String::new(),
                base_version: v(&t),
            },
            token,
        ))
        .await;
    out.insert("RecordCall", judge(&r));
    let t = current(c, target_id).await;
    let r = c
        .record_visit(with_token(
            proto::RecordVisitRequest {
                task_id: target_id.into(),
                actor: String::new(),
                met: true,
                note: String::new(),
                base_version: v(&t),
            },
            token,
        ))
        .await;
    out.insert("RecordVisit", judge(&r));
    let t = current(c, target_id).await;
    let r = c
        .record_publicity(with_token(
            proto::RecordPublicityRequest {
                task_id: target_id.into(),
                actor: String::new(),
                method: proto::PublicityMethod::Door as i32,
                done: true,
                households: 1,
                note: String::new(),
                base_version: v(&t),
            },
            token,
        ))
        .await;
    out.insert("RecordPublicity", judge(&r));
    let r = c
        .reveal_contact(with_token(
            proto::RevealContactRequest {
                task_id: target_id.into(),
                reason: "授权矩阵测试".into(),
            },
            token,
        ))
        .await;
    out.insert("RevealContact", judge(&r));
    let t = current(c, target_id).await;
    let r = c
        .request_transfer(with_token(
            proto::RequestTransferRequest {
                task_id: target_id.into(),
                actor: String::new(),
                to_division_code: elsewhere.into(),
                reason: "已搬家".into(),
                base_version: v(&t),
            },
            token,
        ))
        .await;
    out.insert("RequestTransfer", judge(&r));
    let t = current(c, target_id).await;
    let r = c
        .decide_transfer(with_token(
            proto::DecideTransferRequest {
                task_id: target_id.into(),
                actor: String::new(),
                approve: false,
                note: String::new(),
                base_version: v(&t),
            },
            token,
        ))
        .await;
    out.insert("DecideTransfer", judge(&r));
    // A transfer left pending by a caller who may not decide: the county refuses it.
    let t = current(c, target_id).await;
    if t.transfer.is_some() {
        c.decide_transfer(with_token(
            proto::DecideTransferRequest {
                task_id: target_id.into(),
                actor: String::new(),
                approve: false,
                note: String::new(),
                base_version: v(&t),
            },
            COUNTY,
        ))
        .await
        .unwrap();
    }
    let t = current(c, target_id).await;
    let outcome = proto::Outcome {
        code: proto::OutcomeCode::Dissuaded as i32,
        reached: proto::outcome::Reached::Person as i32,
        ..Default::default()
    };
    let r = c
        .report_outcome(with_token(
            proto::ReportOutcomeRequest {
                task_id: target_id.into(),
                actor: String::new(),
                outcome: Some(outcome),
                base_version: v(&t),
            },
            token,
        ))
        .await;
    out.insert("ReportOutcome", judge(&r));
    let t = current(c, target_id).await;
    let r = c
        .follow_up(with_token(
            proto::FollowUpRequest {
                task_id: target_id.into(),
                actor: String::new(),
                due_at_ms: now_ms() + 86_400_000,
                note: String::new(),
                base_version: v(&t),
            },
            token,
        ))
        .await;
    out.insert(
        "FollowUp",
        if t.status == proto::TaskStatus::Done as i32 {
            judge(&r)
        } else {
            Seen::Refused
        },
    );
    // What the county sees afterwards: the reveal audited, the task untouched by refusals.
    let audit = c
        .list_audit(with_token(
            proto::ListAuditRequest {
                jurisdiction: "520102".into(),
                ..Default::default()
            },
            COUNTY,
        ))
        .await
        .unwrap()
        .into_inner();
    let audited = audit.entries.iter().any(|e| e.task_id == target_id);
    out.insert(
        "AuditAfter",
        if audited {
            Seen::Allowed
        } else {
            Seen::Refused
        },
    );
    let after = current(c, target_id).await;
    let touched = after.history.len() > 1;
    out.insert(
        "GetTaskAfter",
        if touched {
            Seen::Allowed
        } else {
            Seen::Refused
        },
    );
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_console_rpc_by_every_kind_of_caller() {
    let dir = directory();
    let file: dualwarn::directory::DirectoryFile =
        serde_json::from_slice(&std::fs::read(directory_path()).unwrap()).unwrap();
    let grid = file
        .grids
        .iter()
        .find(|g| g.village.to_string().starts_with("520102") && g.workers.len() == 2)
        .expect("a 南明区 grid with two workers");
    let village = grid.village.to_string();
    let place = dir.place(&village, Some(&grid.id)).unwrap();
    let elsewhere = dir
        .villages()
        .into_iter()
        .find(|v| v.code.to_string().starts_with("520102") && v.code.to_string() != village)
        .unwrap()
        .code
        .to_string();
    let other = &persons(&dir, "520103", 1, 81)[0];
    let other_worker = dir
        .place(&other.division, Some(&other.grid))
        .unwrap()
        .grid_worker;

    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.admin_token = Some(ADMIN.into());
    cfg.consoles = vec![
        person_console("网格员", ASSIGNEE, "520102", &grid.workers[0].id),
        person_console("同网格另一网格员", SAME_GRID, "520102", &grid.workers[1].id),
        station_console("派出所", STATION, "520102", &place.police_station),
        console("南明区反诈中心", COUNTY, "520102"),
        console("云岩区反诈中心", SIBLING, "520103"),
        person_console("云岩区网格员", OTHER_PERSON, "520103", &other_worker.id),
    ];
    let server = Server::start_with(cfg).await;
    let mut ingest = server.ingest().await;
    let phone = list("flagged_phones", 1).remove(0);
    let callers = [ASSIGNEE, SAME_GRID, STATION, COUNTY, SIBLING, OTHER_PERSON];
    let alerts = (0..callers.len() as u32)
        .map(|n| call_alert(&format!("m-{n}"), &person_at(&village, &grid.id, n), &phone))
        .collect();
    let ack = submit(&mut ingest, 1, alerts).await;
    assert_eq!(ack.pairs_created, callers.len() as u32, "{ack:?}");
    let mut c = server.console().await;
    let mut targets: Vec<proto::Task> = tasks_of(&mut c, COUNTY)
        .await
        .into_iter()
        .filter(|t| t.role == proto::Role::GridWorker as i32)
        .collect();
    targets.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(targets.len(), callers.len());
    assert!(
        targets
            .iter()
            .all(|t| t.assignee.as_ref().unwrap().id == grid.workers[0].id)
    );
    let day = dualwarn::model::calendar::local_date(now_ms() / 1000, 8);

    let mut table = BTreeMap::new();
    for (token, target) in callers.iter().zip(&targets) {
        table.insert(
            *token,
            calls(&mut c, token, &target.id, &elsewhere, &day).await,
        );
    }
    let tally = |token: &str| {
        let row = &table[token];
        let allowed: Vec<&str> = RPCS
            .iter()
            .copied()
            .filter(|r| row[r] == Seen::Allowed)
            .collect();
        (allowed.len(), RPCS.len() - allowed.len(), allowed)
    };
    for token in callers {
        let (a, r, _) = tally(token);
        eprintln!("{token}: {a} allowed, {r} refused");
    }

    // Outside the task's reach: not one read or write.
    for token in [SAME_GRID, SIBLING, OTHER_PERSON] {
        let (_, _, which) = tally(token);
        assert!(
            which.is_empty(),
            "{token} reached the target through {which:?}"
        );
    }

    // The assignee, the station and the county do the work.
    let work = [
        "ListTasks",
        "GetTask",
        "WatchTasks",
        "DailyList",
        "Supervision",
        "Acknowledge",
        "RecordCall",
        "RecordVisit",
        "RecordPublicity",
        "RevealContact",
        "RequestTransfer",
        "ReportOutcome",
        "FollowUp",
        "AuditAfter",
        "GetTaskAfter",
    ];
    for token in [ASSIGNEE, STATION, COUNTY] {
        for rpc in work {
            assert_eq!(table[token][rpc], Seen::Allowed, "{token} {rpc}");
        }
    }
    // Only a centre reads the audit log and decides a transfer.
    for (token, allowed) in [(ASSIGNEE, false), (STATION, false), (COUNTY, true)] {
        let want = if allowed {
            Seen::Allowed
        } else {
            Seen::Refused
        };
        assert_eq!(table[token]["ListAudit"], want, "{token}");
        assert_eq!(table[token]["DecideTransfer"], want, "{token}");
    }
    server.stop().await;
}
