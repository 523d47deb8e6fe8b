//! Need-to-know contact against the real server: a task's assignee and the
//! units that supervise it may reveal the full phone, name and address;
//! every reveal is in the audit log; anyone else gets NOT_FOUND. Person and
//! station tokens see only their own tasks; only a centre reads the audit.

mod common;

use common::*;
use dualwarn::proto;
use dualwarn::proto::task_console_client::TaskConsoleClient;
use tonic::Code;
use tonic::transport::Channel;

const COUNTY: &str = "nanming-centre-token-001";
const OTHER_COUNTY: &str = "yunyan-centre-token-0002";
const OFFICER: &str = "officer-person-token-003";
const WORKER: &str = "worker-person-token-0004";
const OTHER_WORKER: &str = "other-worker-token-00005";
const STATION: &str = "station-unit-token-000006";

async fn reveal(
    c: &mut TaskConsoleClient<Channel>,
    token: &str,
    task_id: &str,
    reason: &str,
) -> Result<proto::Contact, tonic::Status> {
    c.reveal_contact(with_token(
        proto::RevealContactRequest {
            task_id: task_id.into(),
            reason: reason.into(),
        },
        token,
    ))
    .await
    .map(|r| r.into_inner())
}

async fn audit(
    c: &mut TaskConsoleClient<Channel>,
    token: &str,
    jurisdiction: &str,
) -> Result<Vec<proto::AuditEntry>, tonic::Status> {
    c.list_audit(with_token(
        proto::ListAuditRequest {
            jurisdiction: jurisdiction.into(),
            ..Default::default()
        },
        token,
    ))
    .await
    .map(|r| r.into_inner().entries)
}

#[tokio::test(flavor = "multi_thread")]
async fn assignee_and_supervisors_reveal_audited_everyone_else_not_found() {
    let dir = directory();
    let victim = &persons(&dir, "520102", 1, 31)[0];
    let elsewhere = &persons(&dir, "520102", 2, 32)[1];
    let place = dir.place(&victim.division, Some(&victim.grid)).unwrap();
    let other = dir
        .place(&elsewhere.division, Some(&elsewhere.grid))
        .unwrap();
    assert_ne!(place.grid_worker.id, other.grid_worker.id);

    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.admin_token = Some(ADMIN.into());
    cfg.consoles = vec![
        console("南明区反诈中心", COUNTY, "520102"),
        console("云岩区反诈中心", OTHER_COUNTY, "520103"),
        person_console("社区民警", OFFICER, "520102", &place.officer.id),
        person_console("网格员", WORKER, "520102", &place.grid_worker.id),
        person_console("别的网格员", OTHER_WORKER, "520102", &other.grid_worker.id),
        station_console("派出所", STATION, "520102", &place.police_station),
    ];
    let server = Server::start_with(cfg).await;
    let mut ingest = server.ingest().await;
    let phone = list_value("flagged_phones");
    let ack = submit(&mut ingest, 1, vec![call_alert("r-1", victim, &phone)]).await;
    assert_eq!(ack.pairs_created, 1, "{ack:?}");
    let mut c = server.console().await;

    // Who sees what: the county both tasks, each person their own.
    let tasks = tasks_of(&mut c, COUNTY).await;
    assert_eq!(tasks.len(), 2);
    let grid_task = tasks
        .iter()
        .find(|t| t.role == proto::Role::GridWorker as i32)
        .unwrap()
        .clone();
    let mine = tasks_of(&mut c, WORKER).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, grid_task.id);
    assert_eq!(tasks_of(&mut c, OFFICER).await.len(), 1);
    assert!(tasks_of(&mut c, OTHER_WORKER).await.is_empty());
    assert!(tasks_of(&mut c, OTHER_COUNTY).await.is_empty());
    assert_eq!(tasks_of(&mut c, STATION).await.len(), 2);
    // The list stays masked.
    let masked = grid_task.subject.clone().unwrap();
    assert_ne!(masked.phone, victim.phone);

    // The assignee reveals; so do the station and the county.
    let contact = reveal(&mut c, WORKER, &grid_task.id, "上门劝阻需要联系本人")
        .await
        .unwrap();
    assert_eq!(contact.phone, victim.phone);
    assert_eq!(contact.name, victim.name);
    assert_eq!(contact.address, "某路1号");
    assert_eq!(contact.division_code, victim.division);
    reveal(&mut c, STATION, &grid_task.id, "督导核查")
        .await
        .unwrap();
    reveal(&mut c, COUNTY, &grid_task.id, "中心复核 13912345678")
        .await
        .unwrap();

    // Anyone else: NOT_FOUND, and nothing audited.
    for token in [OFFICER, OTHER_WORKER, OTHER_COUNTY] {
        let e = reveal(&mut c, token, &grid_task.id, "想看看")
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{token}: {e:?}");
    }
    // A reveal needs a reason.
    let e = reveal(&mut c, WORKER, &grid_task.id, " ")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("reason"), "{}", e.message());

    // The county reads its audit: three reveals, in order, with who and why;
    // a phone in a reason is masked there too.
    let entries = audit(&mut c, COUNTY, "").await.unwrap();
    let who: Vec<_> = entries.iter().map(|e| e.actor.as_str()).collect();
    assert_eq!(who, ["网格员", "派出所", "南明区反诈中心"]);
    assert!(entries.iter().all(|e| e.task_id == grid_task.id));
    assert_eq!(entries[0].reason, "上门劝阻需要联系本人");
    assert!(entries[0].identity.starts_with("person:"));
    assert!(
        !entries[2].reason.contains("13912345678"),
        "{:?}",
        entries[2]
    );
    assert_eq!(contact.audit_seq, entries[0].seq);
    // Another county's audit holds none of it; persons and stations read none.
    assert!(audit(&mut c, OTHER_COUNTY, "").await.unwrap().is_empty());
    for token in [WORKER, STATION] {
        let e = audit(&mut c, token, "").await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    }
    let e = audit(&mut c, OTHER_COUNTY, "520102").await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");

    // The audit survives a restart.
    server.stop().await;
    let mut cfg = config(data.path());
    cfg.admin_token = Some(ADMIN.into());
    cfg.consoles = vec![console("南明区反诈中心", COUNTY, "520102")];
    let server = Server::start_with(cfg).await;
    let mut c = server.console().await;
    assert_eq!(audit(&mut c, COUNTY, "").await.unwrap().len(), 3);
    server.stop().await;
}

fn list_value(name: &str) -> String {
    list(name, 1).remove(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_console_the_directory_does_not_know_is_refused_at_start() {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.admin_token = Some(ADMIN.into());
    cfg.consoles = vec![person_console("谁", WORKER, "520102", "no-such-worker")];
    let e = dualwarn::app::build(cfg)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("consoles.person") && e.contains("no-such-worker"),
        "{e}"
    );
}
