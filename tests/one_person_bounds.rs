//! One noisy person costs what as many different people cost: 10,000
//! matching alerts for one phone keep one pair whose tasks stay within a
//! stated size, and the store grows no more than for 10,000 people. A
//! watcher reads the whole story back, each task rebuilt from deltas.

mod common;

use common::*;
use dualwarn::proto;
use prost::Message;
use tokio_stream::StreamExt;

const ALERTS: usize = 10_000;
const BATCH: usize = 1_000;
/// The bound the README states for one task on the wire.
const TASK_BOUND_BYTES: usize = 32 * 1024;

/// Sends `alerts` in batches; returns the server's data directory size.
async fn send_all(server: &Server, alerts: Vec<proto::Alert>) -> u64 {
    let mut client = server.ingest().await;
    for (i, chunk) in alerts.chunks(BATCH).enumerate() {
        let ack = submit(&mut client, i as u64, chunk.to_vec()).await;
        assert_eq!(ack.accepted as usize, chunk.len(), "{ack:?}");
    }
    dir_size(server._data.as_ref().unwrap().path())
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_alerts_for_one_person_stay_bounded() {
    let dir = directory();
    let phone = list("flagged_phones", 1).remove(0);
    let one = persons(&dir, "520102", 1, 7).remove(0);
    let county = &one.division[..6];

    let server = Server::start().await;
    let same: Vec<proto::Alert> = (0..ALERTS)
        .map(|i| call_alert(&format!("one-{i}"), &one, &phone))
        .collect();
    let one_bytes = send_all(&server, same).await;
    let mut console = server.console().await;
    let tasks = all_tasks(&mut console, county).await;
    assert_eq!(tasks.len(), 2, "one pair for one person");
    for t in &tasks {
        let size = t.encoded_len();
        println!("task {} on the wire: {size} bytes", t.id);
        assert!(size <= TASK_BOUND_BYTES, "{} is {size} bytes", t.id);
        assert_eq!(
            t.alert_keys.len() as u64 + t.alert_keys_omitted,
            ALERTS as u64
        );
        assert_eq!(t.alert_keys.first().unwrap(), "test-telecom/one-0");
        assert_eq!(
            t.alert_keys.last().unwrap(),
            &format!("test-telecom/one-{}", ALERTS - 1)
        );
    }
    // The whole log, rebuilt event by event, ends in the tasks as stored.
    let mut watch = console
        .watch_tasks(proto::WatchTasksRequest {
            jurisdiction: county.into(),
            resume_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut last = std::collections::HashMap::new();
    let mut events = 0;
    while events < 2 * ALERTS {
        let e = tokio::time::timeout(std::time::Duration::from_secs(60), watch.next())
            .await
            .expect("the catch-up keeps coming")
            .unwrap()
            .unwrap();
        events += 1;
        let t = e.task.unwrap();
        assert!(t.encoded_len() <= TASK_BOUND_BYTES);
        last.insert(t.id.clone(), t);
    }
    for t in &tasks {
        assert_eq!(
            last.get(&t.id),
            Some(t),
            "the last event of {} is the task",
            t.id
        );
    }
    server.stop().await;

    let server = Server::start().await;
    let many: Vec<proto::Alert> = (0..ALERTS)
        .map(|i| {
            let mut p = one.clone();
            p.phone = format!("137{i:08}");
            p.id_hash = format!("{i:032x}");
            call_alert(&format!("many-{i}"), &p, &phone)
        })
        .collect();
    let many_bytes = send_all(&server, many).await;
    server.stop().await;
    println!(
        "store after {ALERTS} alerts: one person {one_bytes} bytes, {ALERTS} people {many_bytes} bytes"
    );
    assert!(
        one_bytes <= many_bytes + many_bytes / 2,
        "one person {one_bytes} bytes against {ALERTS} people {many_bytes} bytes"
    );
}
