//! Duplicate warnings (重复预警) join the open pair; the same alert id twice
//! counts once; a higher level raises the pair, a lower one never lowers it.

mod common;

use common::*;
use dualwarn::proto;

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_warning_joins_open_pair_and_same_id_counts_once() {
    let server = Server::start().await;
    let dir = directory();
    let p = persons(&dir, "520103", 1, 3).remove(0);
    let phones = list("flagged_phones", 2);
    let card = list("flagged_cards", 1).remove(0);
    let mut client = server.ingest().await;

    let a1 = call_alert("a-1", &p, &phones[0]);
    let first = submit(&mut client, 0, vec![a1.clone()]).await;
    assert_eq!(
        (first.accepted, first.pairs_created, first.merged),
        (1, 1, 0)
    );

    // The same record again, alone and twice inside one batch.
    let again = submit(&mut client, 1, vec![a1]).await;
    assert_eq!(
        (
            again.accepted,
            again.duplicates,
            again.pairs_created,
            again.merged
        ),
        (1, 1, 0, 0)
    );
    let twice = submit(&mut client, 2, vec![call_alert("a-2", &p, &phones[1]); 2]).await;
    assert_eq!(
        (twice.duplicates, twice.pairs_created, twice.merged),
        (1, 0, 1)
    );

    // A high-level warning for the same person (found by ID hash, other phone).
    let mut other_phone = p.clone();
    other_phone.phone = "13700000001".into();
    let high = submit(
        &mut client,
        3,
        vec![transfer_alert("b-1", &other_phone, &card, 900_000)],
    )
    .await;
    assert_eq!((high.pairs_created, high.merged), (0, 1));
    // Then a low one must not lower it.
    let mut low = call_alert("a-3", &p, &phones[0]);
    low.source_kind = proto::SourceKind::NationalPush as i32;
    low.counterparts = vec![proto::Artefact {
        kind: proto::ArtefactKind::Url as i32,
        value: list("flagged_urls", 1).remove(0),
    }];
    let low_ack = submit(&mut client, 4, vec![low]).await;
    assert_eq!((low_ack.pairs_created, low_ack.merged), (0, 1));

    let mut console = server.console().await;
    let tasks = all_tasks(&mut console, &p.division).await;
    assert_eq!(tasks.len(), 2, "still one pair");
    for t in &tasks {
        assert_eq!(
            t.alert_keys,
            vec![
                "test-telecom/a-1",
                "test-telecom/a-2",
                "test-bank/b-1",
                "test-telecom/a-3"
            ]
        );
        assert_eq!(t.level, proto::Level::High as i32, "raised, never lowered");
        let kinds: Vec<i32> = t.history.iter().map(|h| h.kind).collect();
        assert_eq!(
            kinds,
            vec![
                proto::TaskEventKind::Created as i32,
                proto::TaskEventKind::Merged as i32,
                proto::TaskEventKind::Escalated as i32,
                proto::TaskEventKind::Merged as i32,
            ]
        );
        assert!(
            t.due_at_ms <= t.created_at_ms + 30 * 60 * 1000 + 5_000,
            "due pulled in to the high deadline"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn warning_after_both_outcomes_makes_a_new_pair() {
    let server = Server::start().await;
    let dir = directory();
    let p = persons(&dir, "520111", 1, 4).remove(0);
    let phone = list("flagged_phones", 1).remove(0);
    let mut client = server.ingest().await;
    submit(&mut client, 0, vec![call_alert("c-1", &p, &phone)]).await;
    let mut console = server.console().await;
    let tasks = all_tasks(&mut console, &p.division).await;
    for t in &tasks {
        let signed = console
            .acknowledge(proto::AcknowledgeRequest {
                task_id: t.id.clone(),
                actor: "张警官".into(),
                base_version: Some(t.version),
            })
            .await
            .unwrap()
            .into_inner();
        let outcome = proto::Outcome {
            code: proto::OutcomeCode::Dissuaded as i32,
            reached: proto::outcome::Reached::Person as i32,
            connected: true,
            defrauded: proto::outcome::Defrauded::No as i32,
            ..Default::default()
        };
        let done = console
            .report_outcome(proto::ReportOutcomeRequest {
                task_id: t.id.clone(),
                actor: String::new(),
                outcome: Some(outcome),
                base_version: Some(signed.version),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(done.status, proto::TaskStatus::Done as i32);
    }
    let again = console
        .report_outcome(proto::ReportOutcomeRequest {
            task_id: tasks[0].id.clone(),
            actor: String::new(),
            outcome: Some(proto::Outcome {
                code: proto::OutcomeCode::Dissuaded as i32,
                reached: 1,
                ..Default::default()
            }),
            base_version: Some(tasks[0].version + 2),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    let next = submit(&mut client, 1, vec![call_alert("c-2", &p, &phone)]).await;
    assert_eq!((next.pairs_created, next.merged), (1, 0));
    assert_eq!(all_tasks(&mut console, &p.division).await.len(), 4);
    server.stop().await;
}
