//! A streamed batch mixing valid and malformed alerts: valid ones become
//! task pairs routed to the right officer and grid worker; each malformed
//! one is rejected with its index and a reason naming the field.

mod common;

use common::*;
use dualwarn::proto;
use tokio_stream::StreamExt;

#[tokio::test(flavor = "multi_thread")]
async fn mixed_batch_routes_valid_alerts_and_rejects_each_bad_one_by_field() {
    let server = Server::start().await;
    let dir = directory();
    let people = persons(&dir, "520102", 3, 1);
    let phones = list("flagged_phones", 3);
    let card = list("flagged_cards", 1).remove(0);

    let mut bad_division = call_alert("bad-division", &people[0], &phones[0]);
    bad_division.subject.as_mut().unwrap().division_code = "52010201600X".into();
    let mut unknown_division = call_alert("unknown-division", &people[0], &phones[0]);
    unknown_division.subject.as_mut().unwrap().division_code = "520102016999".into();
    let mut bad_phone = call_alert("bad-phone", &people[0], &phones[0]);
    bad_phone.subject.as_mut().unwrap().phone = "1391234".into();
    let mut no_id = call_alert("", &people[0], &phones[0]);
    no_id.source_id.clear();
    let mut bad_kind = call_alert("bad-kind", &people[0], &phones[0]);
    bad_kind.source_kind = 42;

    let alerts = vec![
        call_alert("ok-0", &people[0], &phones[0]), // 0 valid
        bad_division,                               // 1
        transfer_alert("ok-2", &people[1], &card, 800_000), // 2 valid, high
        unknown_division,                           // 3
        bad_phone,                                  // 4
        no_id,                                      // 5
        bad_kind,                                   // 6
        call_alert("ok-7", &people[2], &phones[2]), // 7 valid
    ];
    let mut client = server.ingest().await;
    let outbound = tokio_stream::iter(vec![proto::AlertBatch {
        sequence: 7,
        alerts,
    }]);
    let mut acks = client.publish(outbound).await.unwrap().into_inner();
    let ack = acks.next().await.unwrap().unwrap();
    assert!(acks.next().await.is_none(), "one batch, one ack");

    assert_eq!(ack.sequence, 7);
    assert_eq!(ack.accepted, 3);
    assert_eq!(ack.pairs_created, 3);
    let got: Vec<(u32, &str)> = ack
        .rejections
        .iter()
        .map(|r| (r.index, r.field.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "subject.division_code"),
            (3, "subject.division_code"),
            (4, "subject.phone"),
            (5, "source_id"),
            (6, "source_kind"),
        ]
    );
    for r in &ack.rejections {
        assert!(r.reason.contains(&r.field), "reason names its field: {r:?}");
    }
    assert!(
        ack.rejections[1].reason.contains("520102016999"),
        "{:?}",
        ack.rejections[1]
    );
    assert!(
        !ack.rejections[2].reason.contains("1391234"),
        "phone masked: {:?}",
        ack.rejections[2]
    );

    let mut console = server.console().await;
    let tasks = all_tasks(&mut console, "520102").await;
    assert_eq!(tasks.len(), 6, "three pairs");
    for p in &people {
        let placement = dir.place(&p.division, Some(&p.grid)).unwrap();
        let mine: Vec<&proto::Task> = tasks
            .iter()
            .filter(|t| t.jurisdiction.as_ref().unwrap().division_code == p.division)
            .collect();
        assert_eq!(mine.len(), 2, "one pair for {}", p.division);
        let officer = mine
            .iter()
            .find(|t| t.role == proto::Role::PoliceOfficer as i32)
            .unwrap();
        let worker = mine
            .iter()
            .find(|t| t.role == proto::Role::GridWorker as i32)
            .unwrap();
        assert_eq!(officer.assignee.as_ref().unwrap().id, placement.officer.id);
        assert_eq!(
            officer.jurisdiction.as_ref().unwrap().police_area,
            placement.police_area
        );
        assert_eq!(
            worker.assignee.as_ref().unwrap().id,
            placement.grid_worker.id
        );
        assert_eq!(worker.jurisdiction.as_ref().unwrap().grid_id, p.grid);
        assert_eq!(officer.pair_id, worker.pair_id);
        let s = officer.subject.as_ref().unwrap();
        assert!(
            !s.phone.contains(&p.phone) && s.phone.contains("****"),
            "masked: {}",
            s.phone
        );
    }
    let high = tasks
        .iter()
        .find(|t| t.jurisdiction.as_ref().unwrap().division_code == people[1].division)
        .unwrap();
    assert_eq!(high.level, proto::Level::High as i32);
    assert!(
        high.reasons
            .iter()
            .any(|r| r.rule_id == "transfer-to-flagged-card-large"),
        "{:?}",
        high.reasons
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_of_many_batches_is_acked_in_order() {
    let server = Server::start().await;
    let dir = directory();
    let people = persons(&dir, "5202", 40, 2);
    let phone = list("flagged_phones", 1).remove(0);
    let batches: Vec<proto::AlertBatch> = (0..20u64)
        .map(|s| proto::AlertBatch {
            sequence: s,
            alerts: (0..2)
                .map(|k| {
                    call_alert(
                        &format!("b{s}-{k}"),
                        &people[(s as usize * 2 + k) % 40],
                        &phone,
                    )
                })
                .collect(),
        })
        .collect();
    let mut client = server.ingest().await;
    let acks: Vec<proto::PublishAck> = client
        .publish(tokio_stream::iter(batches))
        .await
        .unwrap()
        .into_inner()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(
        acks.iter().map(|a| a.sequence).collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
    assert_eq!(acks.iter().map(|a| a.accepted).sum::<u32>(), 40);
    assert_eq!(acks.iter().map(|a| a.pairs_created).sum::<u32>(), 40);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_batch_is_refused_and_the_service_keeps_serving() {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.max_batch = 10;
    let server = Server::start_with(cfg).await;
    let dir = directory();
    let p = persons(&dir, "5201", 1, 12).remove(0);
    let phone = list("flagged_phones", 1).remove(0);
    let mut client = server.ingest().await;
    let big: Vec<proto::Alert> = (0..11)
        .map(|i| call_alert(&format!("big-{i}"), &p, &phone))
        .collect();
    let err = client
        .submit(proto::AlertBatch {
            sequence: 1,
            alerts: big,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("alerts") && err.message().contains("11"),
        "{}",
        err.message()
    );
    let ok = submit(&mut client, 2, vec![call_alert("small", &p, &phone)]).await;
    assert_eq!(ok.pairs_created, 1, "nothing of the refused batch was kept");
    server.stop().await;
}
