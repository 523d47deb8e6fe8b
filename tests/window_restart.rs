//! Windows survive a restart: they are warmed from the stored alerts, so
//! "the third flagged call within the hour" still fires when the first two
//! came before the engine restarted.

mod common;

use std::time::Duration;

use common::*;
use dualwarn::proto;

/// Builds the engine on `data`, retrying while the previous one lets go of its files.
async fn start_on(data: &std::path::Path) -> Server {
    for _ in 0..50 {
        let cfg = config(data);
        if dualwarn::store::EmbeddedStore::open(&cfg.data_dir).is_ok() {
            return Server::start_with(cfg).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the store of the previous engine was never released");
}

#[tokio::test(flavor = "multi_thread")]
async fn count_window_resumes_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let dir = directory();
    let p = persons(&dir, "520103", 1, 31).remove(0);
    let phones = list("flagged_phones", 3);
    let call = |id: &str, phone: &str, ago_min: i64| {
        let mut a = call_alert(id, &p, phone);
        a.occurred_at_ms = now_ms() - ago_min * 60_000;
        a
    };

    let server = start_on(data.path()).await;
    let mut ingest = server.ingest().await;
    submit(
        &mut ingest,
        0,
        vec![call("w-1", &phones[0], 20), call("w-2", &phones[1], 10)],
    )
    .await;
    server.stop().await;

    let server = start_on(data.path()).await;
    let mut ingest = server.ingest().await;
    let ack = submit(&mut ingest, 1, vec![call("w-3", &phones[2], 1)]).await;
    assert_eq!(ack.merged, 1);
    let mut console = server.console().await;
    let tasks = all_tasks(&mut console, &p.division).await;
    let fired = tasks[0]
        .reasons
        .iter()
        .any(|r| r.rule_id == "repeated-flagged-calls-1h" && r.alert_key == "test-telecom/w-3");
    assert!(
        fired,
        "the third call counted the two before the restart: {:#?}",
        tasks[0].reasons
    );
    assert_eq!(tasks[0].level, proto::Level::High as i32);
    server.stop().await;
}
