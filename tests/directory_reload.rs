//! The directory replaced at run time against the real server: a bad file
//! is refused and the old directory stays; a good one is put in force with
//! no restart; open tasks keep their routing while a village moved to
//! another police area sends new pairs to its new officer; a retired code
//! is rejected with the code that replaced it named.

mod common;

use std::process::Command;

use common::*;
use dualwarn::directory::{DirectoryFile, DivisionCode, RetiredEntry};
use dualwarn::proto;
use dualwarn::proto::directory_admin_client::DirectoryAdminClient;

fn police(tasks: &[proto::Task], subject_phone: &str) -> Vec<proto::Task> {
    tasks
        .iter()
        .filter(|t| t.role == proto::Role::PoliceOfficer as i32)
        .filter(|t| t.subject.as_ref().unwrap().phone == subject_phone)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_directory_routes_new_pairs_and_keeps_open_ones() {
    let dir = directory();
    let people = persons(&dir, "520102", 2, 91);
    let (first, second) = (&people[0], &people[1]);
    let village = DivisionCode::parse(&first.division).unwrap();
    let before = dir.place(&first.division, Some(&first.grid)).unwrap();

    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("directory.json");
    std::fs::copy(directory_path(), &path).unwrap();
    let mut file: DirectoryFile = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut cfg = config(data.path());
    cfg.directory = path.clone();
    cfg.admin_token = Some(ADMIN.into());
    let server = Server::start_with(cfg).await;
    let mut admin = DirectoryAdminClient::connect(server.url.clone())
        .await
        .unwrap();
    let mut ingest = server.ingest().await;
    let mut c = server.console().await;
    let phone = list("flagged_phones", 1).remove(0);

    let ack = submit(&mut ingest, 1, vec![call_alert("dr-1", first, &phone)]).await;
    assert_eq!(ack.pairs_created, 1, "{ack:?}");
    let old_version = file.version.clone();

    // Without the admin token: refused.
    let e = admin
        .reload(proto::ReloadDirectoryRequest {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);

    // A broken file is refused, the old directory stays.
    std::fs::write(&path, b"{\"version\": \"half").unwrap();
    let r = admin
        .reload(with_token(proto::ReloadDirectoryRequest {}, ADMIN))
        .await
        .unwrap()
        .into_inner();
    assert!(!r.applied);
    assert!(r.error.contains("directory.json"), "{}", r.error);
    let status = r.status.unwrap();
    assert_eq!(status.version, old_version);
    assert!(!status.last_error.is_empty());

    // The village moves to another area of its station; a code retires,
    // replaced by the village.
    let area_now = before.police_area.clone();
    let new_area = file
        .police_areas
        .iter()
        .find(|a| a.station == before.police_station && a.id != area_now)
        .expect("a second area in the station")
        .clone();
    assert_ne!(new_area.officer.id, before.officer.id);
    file.villages
        .iter_mut()
        .find(|v| v.code == village)
        .unwrap()
        .police_area = new_area.id.clone();
    let retired = DivisionCode::parse(&format!("{}999", &first.division[..9])).unwrap();
    file.retired.push(RetiredEntry {
        code: retired,
        retired_in: "2026".into(),
        replaced_by: Some(village),
    });
    file.version = format!("{old_version}-moved");
    file.write(&path).unwrap();

    // Through the CLI, as an operator would.
    let out = Command::new(env!("CARGO_BIN_EXE_dualwarn"))
        .args([
            "directory",
            "reload",
            "--addr",
            &server.url,
            "--token",
            ADMIN,
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(&file.version), "{said}");
    let status = admin
        .status(with_token(proto::DirectoryStatusRequest {}, ADMIN))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.version, file.version);
    assert!(status.last_error.is_empty(), "{}", status.last_error);

    // A duplicate warning joins the open pair where it is.
    let ack = submit(&mut ingest, 2, vec![call_alert("dr-2", first, &phone)]).await;
    assert_eq!(ack.pairs_created, 0, "{ack:?}");
    let tasks = all_tasks(&mut c, "520102").await;
    let masked = |p: &Person| dualwarn::model::mask::phone(&p.phone);
    let open = police(&tasks, &masked(first));
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].assignee.as_ref().unwrap().id, before.officer.id);

    // A new person in the same village goes to the new officer.
    let mut moved = second.clone();
    moved.division = first.division.clone();
    moved.grid = first.grid.clone();
    let ack = submit(&mut ingest, 3, vec![call_alert("dr-3", &moved, &phone)]).await;
    assert_eq!(ack.pairs_created, 1, "{ack:?}");
    let tasks = all_tasks(&mut c, "520102").await;
    let fresh = police(&tasks, &masked(&moved));
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].assignee.as_ref().unwrap().id, new_area.officer.id);

    // The retired code is rejected, naming what replaced it.
    let mut gone = second.clone();
    gone.division = retired.to_string();
    gone.grid = String::new();
    let ack = submit(&mut ingest, 4, vec![call_alert("dr-4", &gone, &phone)]).await;
    assert_eq!(ack.rejections.len(), 1, "{ack:?}");
    let why = &ack.rejections[0];
    assert_eq!(why.field, "subject.division_code");
    assert!(
        why.reason.contains(&format!("replaced by {village}")),
        "{}",
        why.reason
    );
    server.stop().await;
}
