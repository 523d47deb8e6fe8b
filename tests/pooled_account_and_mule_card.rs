//! Precision both ways, end to end over gRPC with the shipped rules: a
//! pooled collection account that 5,000 people pay in one day, with no other
//! signal, makes no pair, no case series and no flag; a mule card that takes
//! 20,000 yuan from each of four people and passes it on to six cards within
//! two hours is flagged by the graph (自动研判), and every payer gets a pair.

mod common;

use common::*;
use dualwarn::proto;
use dualwarn::proto::graph_admin_client::GraphAdminClient;

const POOLED: &str = "6228480099990001";
const MULE: &str = "6214830077770001";
const MINUTE_MS: i64 = 60_000;

/// `n` distinct persons over the bundled villages (several per village).
fn payers(n: usize, salt: u32) -> Vec<Person> {
    let dir = directory();
    let villages = dir.villages();
    (0..n)
        .map(|i| {
            let v = &villages[i % villages.len()];
            Person {
                phone: format!("13{salt:01}{i:08}"),
                id_hash: format!("{salt:016x}{i:016x}"),
                name: "李四".into(),
                division: v.code.to_string(),
                grid: v.grids[0].to_string(),
            }
        })
        .collect()
}

fn card(value: &str) -> proto::Artefact {
    proto::Artefact {
        kind: proto::ArtefactKind::BankCard as i32,
        value: value.into(),
    }
}

/// `p` paid `amount_fen` to `to` at `at_ms`, with the onward transfers the
/// bank traced from `to` (资金流向).
fn payment(
    id: &str,
    p: &Person,
    to: &str,
    amount_fen: i64,
    at_ms: i64,
    onward: &[&str],
) -> proto::Alert {
    let mut a = transfer_alert(id, p, to, amount_fen);
    a.occurred_at_ms = at_ms;
    a.links = onward
        .iter()
        .map(|next| proto::Link {
            kind: proto::LinkKind::Transfer as i32,
            from: Some(card(to)),
            to: Some(card(next)),
            amount_fen: amount_fen / 2,
            at_ms,
        })
        .collect();
    a
}

async fn graph_stats(s: &Server) -> proto::GraphStats {
    let mut admin = GraphAdminClient::connect(s.url.clone()).await.unwrap();
    admin
        .stats(proto::GraphStatsRequest {})
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn pooled_account_with_5000_payers_a_day_makes_no_pair_series_or_flag() {
    let s = Server::start().await;
    let mut ingest = s.ingest().await;
    let people = payers(5_000, 7);
    // Spread over the last day, oldest first, 20 to 500 yuan each.
    let start = now_ms() - 24 * 3600 * 1000 + 10 * MINUTE_MS;
    let step = (23 * 3600 * 1000) / people.len() as i64;
    let alerts: Vec<proto::Alert> = people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let yuan = 20 + (i as i64 * 37) % 481;
            payment(
                &format!("pool-{i}"),
                p,
                POOLED,
                yuan * 100,
                start + i as i64 * step,
                &[],
            )
        })
        .collect();
    let mut created = 0;
    for (seq, chunk) in alerts.chunks(500).enumerate() {
        let ack = submit(&mut ingest, seq as u64 + 1, chunk.to_vec()).await;
        assert_eq!(ack.rejections.len(), 0, "{:?}", ack.rejections.first());
        created += ack.pairs_created;
    }
    assert_eq!(created, 0, "a utility's payers are not victims");
    let mut console = s.console().await;
    assert!(all_tasks(&mut console, "").await.is_empty());
    let stats = graph_stats(&s).await;
    assert_eq!(
        stats.flagged, 0,
        "the pooled account is never flagged by the graph"
    );
    assert!(stats.hubs >= 1, "it is hub-like by its rate of new payers");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mule_card_taking_four_large_payments_and_fanning_out_is_flagged_and_its_payers_get_pairs()
{
    let s = Server::start().await;
    let mut ingest = s.ingest().await;
    let people = payers(5, 8);
    // Recent: graph spans count back from the matching time.
    let start = now_ms() - 100 * MINUTE_MS;
    // Four payers 20 minutes apart; each payment passes on to two new cards,
    // six in all within two hours.
    let onward = [
        vec!["6212000055550001", "6212000055550002"],
        vec!["6212000055550003", "6212000055550004"],
        vec!["6212000055550005", "6212000055550006"],
        vec![],
    ];
    let mut pairs = Vec::new();
    for (i, next) in onward.iter().enumerate() {
        let at = start + i as i64 * 20 * MINUTE_MS;
        let a = payment(&format!("mule-{i}"), &people[i], MULE, 2_000_000, at, next);
        let ack = submit(&mut ingest, i as u64 + 1, vec![a]).await;
        pairs.push(ack.pairs_created);
    }
    // The first payer is caught by the bank's trace of the payment moving
    // straight on (paid-card-passes-money-on-2h), the rest as a mule card.
    assert_eq!(pairs, vec![1, 1, 1, 1]);
    let stats = graph_stats(&s).await;
    assert_eq!(
        stats.flagged, 1,
        "three suspected victims flag the mule card"
    );

    // The next person to pay it is one hop from a flagged card.
    let later = payment(
        "mule-4",
        &people[4],
        MULE,
        600_000,
        start + 2 * 3600 * 1000,
        &[],
    );
    let ack = submit(&mut ingest, 9, vec![later]).await;
    assert_eq!(ack.pairs_created, 1);
    let mut console = s.console().await;
    let tasks = all_tasks(&mut console, "").await;
    assert_eq!(tasks.len(), 10, "five pairs");
    let series: std::collections::BTreeSet<&str> =
        tasks.iter().map(|t| t.series_id.as_str()).collect();
    assert_eq!(series.len(), 1, "one case series: {series:?}");
    let flagged_reason = tasks
        .iter()
        .flat_map(|t| t.reasons.iter())
        .any(|r| r.why.contains("自动研判"));
    assert!(flagged_reason, "the path names the derived flag");
    s.stop().await;
}
