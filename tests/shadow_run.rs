//! Shadow runs (影子运行) on the real server, mid-stream: a candidate set
//! with one extra rule runs beside the live one, its report shows the rule's
//! hits and the pairs it would add while live makes none of them, and its
//! promotion puts it in force between two batches. Across it all no
//! accepted alert is lost and no person gets two open pairs.

mod common;

use std::collections::HashMap;

use common::*;
use dualwarn::proto;
use dualwarn::proto::rule_admin_client::RuleAdminClient;
use dualwarn::rules::source::read_dir;

const EXTRA: &str = r#"
[[rule]]
id = "shadow-tip"
name = "线索渠道"
description = "来自试点线索渠道的预警"
level = "low"
condition = 'source_kind == "tip" && attr.channel == "shadow-pilot"'
"#;

/// The shipped rules and one extra rule, as files.
fn candidate() -> Vec<proto::RuleFile> {
    let mut files: Vec<proto::RuleFile> = read_dir(&rules_path())
        .unwrap()
        .into_iter()
        .map(|f| proto::RuleFile {
            path: f.path,
            text: f.text,
        })
        .collect();
    files.push(proto::RuleFile {
        path: "shadow_pilot.toml".into(),
        text: EXTRA.into(),
    });
    files
}

/// A tip from the pilot channel: no live rule holds for it.
fn pilot_tip(id: &str, p: &Person) -> proto::Alert {
    let mut a = call_alert(id, p, "");
    a.source_kind = proto::SourceKind::Tip as i32;
    a.counterparts.clear();
    a.attributes.insert("channel".into(), "shadow-pilot".into());
    a
}

#[tokio::test(flavor = "multi_thread")]
async fn shadow_then_promote_loses_no_alert_and_doubles_no_pair() {
    let server = Server::start().await;
    let mut ingest = server.ingest().await;
    let mut admin = RuleAdminClient::connect(server.url.clone()).await.unwrap();
    let people = persons(&directory(), "5201", 60, 83);
    let card = list("flagged_cards", 1).remove(0);
    let (mut sent, mut accepted, mut seq) = (0u32, 0u32, 0u64);
    let batch = |round: usize| -> Vec<proto::Alert> {
        // Each round: a flagged transfer for 10 of the first 30 people
        // (new pairs, then duplicates), and a pilot tip for 5 of the others.
        let mut b: Vec<_> = (0..10)
            .map(|i| {
                transfer_alert(
                    &format!("t-{round}-{i}"),
                    &people[(round * 10 + i) % 30],
                    &card,
                    600_000,
                )
            })
            .collect();
        b.extend((0..5).map(|i| {
            pilot_tip(
                &format!("s-{round}-{i}"),
                &people[30 + (round * 5 + i) % 30],
            )
        }));
        b
    };
    for round in 0..12 {
        if round == 3 {
            let r = admin
                .start_shadow(proto::StartShadowRequest { files: candidate() })
                .await
                .unwrap()
                .into_inner();
            assert!(r.running, "{r:?}");
        }
        if round == 8 {
            let r = admin
                .shadow_report(proto::ShadowReportRequest {})
                .await
                .unwrap()
                .into_inner();
            // Five rounds in the shadow: 25 pilot tips, 5 per round, over 25
            // different people of the 30, each a pair the candidate would make.
            assert_eq!(r.alerts, 75, "{r:?}");
            let pilot = r.rules.iter().find(|f| f.rule_id == "shadow-tip").unwrap();
            assert_eq!((pilot.live_hits, pilot.shadow_hits), (0, 25));
            assert_eq!(r.pairs_added, 25);
            assert_eq!(r.pairs_removed, 0);
            assert_eq!(r.added.len(), 5);
            assert!(r.added[0].subject.contains("****"), "{:?}", r.added[0]);
            let promoted = admin
                .promote_shadow(proto::PromoteShadowRequest {})
                .await
                .unwrap()
                .into_inner();
            assert!(promoted.applied);
            assert_eq!(promoted.version, r.candidate_version);
            // Nothing runs now.
            let after = admin
                .shadow_report(proto::ShadowReportRequest {})
                .await
                .unwrap()
                .into_inner();
            assert!(!after.running && after.candidate_version.is_empty());
        }
        let alerts = batch(round);
        sent += alerts.len() as u32;
        seq += 1;
        let ack = submit(&mut ingest, seq, alerts).await;
        assert!(ack.rejections.is_empty(), "{:?}", ack.rejections);
        accepted += ack.accepted;
    }
    assert_eq!(accepted, sent, "every alert accepted");

    // One open pair per person: 30 from the flagged transfers, and one per
    // person the pilot tips reached after the promotion (rounds 8..12).
    let tasks = all_tasks(&mut server.console().await, "").await;
    let mut by_person: HashMap<String, Vec<&proto::Task>> = HashMap::new();
    for t in &tasks {
        let s = t.subject.as_ref().unwrap();
        by_person.entry(s.phone.clone()).or_default().push(t);
    }
    for (who, ts) in &by_person {
        assert_eq!(ts.len(), 2, "{who} has {} tasks", ts.len());
        assert_eq!(ts[0].pair_id, ts[1].pair_id, "{who}");
    }
    let pilot_pairs = tasks
        .iter()
        .filter(|t| t.reasons.iter().any(|r| r.rule_id == "shadow-tip"))
        .count()
        / 2;
    assert_eq!(pilot_pairs, 20, "four rounds of five after the promotion");
    // Before the promotion the candidate made no task.
    assert!(
        tasks
            .iter()
            .flat_map(|t| &t.reasons)
            .filter(|r| r.rule_id == "shadow-tip")
            .all(|r| !r.alert_key.contains("-3-") && !r.alert_key.contains("-7-")),
        "pilot tips of rounds 3..8 made no task"
    );
    server.stop().await;
}
