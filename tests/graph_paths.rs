//! The account-link graph end to end over gRPC: an imported frozen card two
//! hops from what a person paid shows as a masked path on the task; victims
//! in two counties paying one card share a case series (串并案), which a
//! console lists for its own county and counts for the other; and the graph
//! comes back after a restart, from its snapshot or from the store's log.

mod common;

use common::*;
use dualwarn::proto;
use dualwarn::proto::graph_admin_client::GraphAdminClient;
use tonic::Request;

const CARD_A: &str = "6222020012341234";
const CARD_B: &str = "6217000099998888";
const NANMING: &str = "nanming-console-token-0001";

async fn graph_admin(s: &Server) -> GraphAdminClient<tonic::transport::Channel> {
    GraphAdminClient::connect(s.url.clone()).await.unwrap()
}

fn frozen(card: &str) -> proto::ImportRow {
    proto::ImportRow {
        row: Some(proto::import_row::Row::Flag(proto::FlagRow {
            kind: proto::ArtefactKind::BankCard as i32,
            value: card.into(),
            source: proto::FlagSource::Frozen as i32,
            reason: "公安冻结".into(),
            date: "2026-03-02".into(),
        })),
    }
}

fn transfer(from: &str, to: &str, amount_fen: i64) -> proto::ImportRow {
    proto::ImportRow {
        row: Some(proto::import_row::Row::Transfer(proto::TransferRow {
            from_kind: proto::ArtefactKind::BankCard as i32,
            from: from.into(),
            to_kind: proto::ArtefactKind::BankCard as i32,
            to: to.into(),
            amount_fen,
            at_ms: now_ms() - 3_600_000,
        })),
    }
}

/// Card B frozen; card A paid card B ¥3,000 an hour ago.
async fn import_layering(s: &Server) {
    let rows = vec![frozen(CARD_B), transfer(CARD_A, CARD_B, 300_000)];
    let r = graph_admin(s)
        .await
        .import(proto::ImportRequest { rows })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.applied, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn paid_card_two_hops_from_frozen_card_shows_the_path_on_the_task() {
    let s = Server::start().await;
    import_layering(&s).await;
    let p = &persons(&directory(), "520102", 1, 41)[0];
    let ack = submit(
        &mut s.ingest().await,
        1,
        vec![transfer_alert("hop-1", p, CARD_A, 600_000)],
    )
    .await;
    assert_eq!(ack.pairs_created, 1, "{ack:?}");
    let tasks = all_tasks(&mut s.console().await, "").await;
    assert_eq!(tasks.len(), 2);
    let why: Vec<String> = tasks[0].reasons.iter().map(|r| r.why.clone()).collect();
    let path = why
        .iter()
        .find(|w| w.contains("2 跳"))
        .unwrap_or_else(|| panic!("no path among {why:?}"));
    assert!(
        path.contains("转账 ¥6,000.00 → 银行卡 6222****1234 → 转账 ¥3,000.00 → 银行卡 6217****8888 (冻结 2026-03-02: 公安冻结)"),
        "{path}"
    );
    assert!(!path.contains(CARD_A) && !path.contains(&p.phone), "{path}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn victims_in_two_counties_through_one_card_share_a_series() {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.consoles = vec![console("南明区反诈中心", NANMING, "520102")];
    cfg.admin_token = Some(ADMIN.into());
    let s = Server::start_with(cfg).await;
    let dir = directory();
    let a = &persons(&dir, "520102", 1, 42)[0];
    let b = &persons(&dir, "520103", 1, 43)[0];
    let card = &list("flagged_cards", 1)[0];
    let mut ingest = s.ingest().await;
    submit(
        &mut ingest,
        1,
        vec![transfer_alert("s-a", a, card, 900_000)],
    )
    .await;
    submit(
        &mut ingest,
        2,
        vec![transfer_alert("s-b", b, card, 800_000)],
    )
    .await;

    let mut req = Request::new(proto::ListTasksRequest {
        page_size: 100,
        ..Default::default()
    });
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {NANMING}").parse().unwrap(),
    );
    let mut console = s.console().await;
    let mine = console.list_tasks(req).await.unwrap().into_inner().tasks;
    assert_eq!(mine.len(), 2, "Nanming sees its own pair only");
    let series = mine[0].series_id.clone();
    assert!(series.starts_with("S-"), "{series:?}");
    assert!(mine.iter().all(|t| t.series_id == series));

    let mut req = Request::new(proto::ListSeriesRequest {
        series_id: series.clone(),
    });
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {NANMING}").parse().unwrap(),
    );
    let listed = console.list_series(req).await.unwrap().into_inner();
    assert_eq!(listed.tasks.len(), 2);
    assert!(listed.tasks.iter().all(|t| {
        t.jurisdiction
            .as_ref()
            .is_some_and(|j| j.division_code.starts_with("520102"))
    }));
    assert_eq!(listed.elsewhere.len(), 1, "{:?}", listed.elsewhere);
    assert_eq!(listed.elsewhere[0].county, "520103");
    assert_eq!(listed.elsewhere[0].tasks, 2);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_comes_back_after_restart_from_snapshot_or_log() {
    let data = tempfile::tempdir().unwrap();
    let s = Server::start_with(config(data.path())).await;
    import_layering(&s).await;
    let p = &persons(&directory(), "520102", 1, 44)[0];
    submit(
        &mut s.ingest().await,
        1,
        vec![call_alert("r-1", p, "17012345678")],
    )
    .await;
    let before = graph_admin(&s)
        .await
        .stats(proto::GraphStatsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(before.nodes >= 5 && before.links >= 4, "{before:?}");
    s.stop().await;
    let snap = data.path().join("graph.snap");
    assert!(snap.exists(), "a snapshot is written at shutdown");

    for from_log_only in [false, true] {
        if from_log_only {
            std::fs::remove_file(&snap).unwrap();
        }
        let s = Server::start_with(config(data.path())).await;
        let after = graph_admin(&s)
            .await
            .stats(proto::GraphStatsRequest {})
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (after.nodes, after.links, after.flagged),
            (before.nodes, before.links, before.flagged),
            "from_log_only = {from_log_only}"
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_import_rows_are_refused_with_the_row_and_field() {
    let s = Server::start().await;
    let mut bad = frozen("");
    if let Some(proto::import_row::Row::Flag(f)) = &mut bad.row {
        f.date = "2026/03/02".into();
        f.value = CARD_A.into();
    }
    let err = graph_admin(&s)
        .await
        .import(proto::ImportRequest {
            rows: vec![frozen(CARD_B), bad],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("row 1: date"), "{}", err.message());
    let stats = graph_admin(&s)
        .await
        .stats(proto::GraphStatsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.flagged, 0, "a refused batch applies nothing");
    s.stop().await;
}
