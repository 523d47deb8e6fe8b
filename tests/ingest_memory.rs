//! Memory bounded in bytes: 16 parallel publishers, half on `Publish`
//! streams and half on `Submit`, each sending batches of nearly the
//! largest message, against the real binary with a small byte budget. The
//! server's peak RSS stays under the bound the README documents, and every
//! batch gets an ack or a clear RESOURCE_EXHAUSTED with a retry hint (and
//! then an ack when retried).

mod common;

use std::time::Duration;

use common::*;
use dualwarn::proto;
use dualwarn::proto::alert_ingest_client::AlertIngestClient;
use prost::Message;
use tonic::Code;

const MIB: u64 = 1024 * 1024;
const MAX_MESSAGE: u64 = 4 * MIB;
const BUDGET: u64 = 32 * MIB;
const STORE_CACHE: u64 = 16 * MIB;
const PUBLISHERS: usize = 16;
const BATCHES_EACH: usize = 3;

/// kB figures of `/proc/<pid>/status`: (VmRSS, VmHWM).
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A batch of valid alerts just under the largest message: each alert
/// carries 32 attributes of 200 characters.
fn big_batch(publisher: usize, seq: u64) -> proto::AlertBatch {
    let dir = directory();
    let p = &persons(&dir, "5201", 1, publisher as u32)[0];
    let mut alerts = Vec::new();
    let mut batch = proto::AlertBatch {
        sequence: seq,
        alerts: Vec::new(),
    };
    let mut i = 0;
    loop {
        let mut a = call_alert(&format!("p{publisher}-b{seq}-{i}"), p, "");
        a.counterparts.clear();
        for k in 0..32 {
            a.attributes
                .insert(format!("k{k:02}"), format!("{i:08}{}", "x".repeat(192)));
        }
        alerts.push(a);
        i += 1;
        if i % 64 == 0 {
            batch.alerts = std::mem::take(&mut alerts);
            if batch.encoded_len() as u64 > MAX_MESSAGE - 64 * 8 * 1024 {
                return batch;
            }
            alerts = std::mem::take(&mut batch.alerts);
        }
    }
}

/// Sends every batch on one stream; returns alerts acked.
async fn stream_publisher(url: String, publisher: usize) -> u64 {
    let mut client = AlertIngestClient::connect(url)
        .await
        .unwrap()
        .max_encoding_message_size(MAX_MESSAGE as usize);
    let batches: Vec<_> = (1..=BATCHES_EACH as u64)
        .map(|s| big_batch(publisher, s))
        .collect();
    let sent: usize = batches.iter().map(|b| b.alerts.len()).sum();
    let mut acks = client
        .publish(tokio_stream::iter(batches))
        .await
        .unwrap()
        .into_inner();
    let mut acked = 0;
    while let Some(ack) = acks.message().await.unwrap() {
        assert!(ack.rejections.is_empty(), "{:?}", ack.rejections.first());
        acked += u64::from(ack.accepted);
    }
    assert_eq!(acked, sent as u64);
    acked
}

/// Submits every batch, retrying after the server's hint when the budget
/// is spent; returns (alerts acked, RESOURCE_EXHAUSTED answers).
async fn unary_publisher(url: String, publisher: usize) -> (u64, u32) {
    let mut client = AlertIngestClient::connect(url)
        .await
        .unwrap()
        .max_encoding_message_size(MAX_MESSAGE as usize);
    let (mut acked, mut exhausted) = (0, 0);
    for s in 1..=BATCHES_EACH as u64 {
        let batch = big_batch(publisher, s);
        loop {
            match client.submit(batch.clone()).await {
                Ok(ack) => {
                    let ack = ack.into_inner();
                    assert_eq!(ack.accepted as usize, batch.alerts.len(), "{ack:?}");
                    acked += u64::from(ack.accepted);
                    break;
                }
                Err(e) => {
                    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
                    let hint = retry_after_ms(&e).expect("a retry hint");
                    exhausted += 1;
                    tokio::time::sleep(Duration::from_millis(hint)).await;
                }
            }
        }
    }
    (acked, exhausted)
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_publishers_of_largest_batches_stay_within_the_rss_bound() {
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("dualwarn.toml");
    std::fs::write(
        &config,
        format!(
            "store_cache_bytes = {STORE_CACHE}\n\
             [ingest]\nmax_message_bytes = {MAX_MESSAGE}\nmax_inflight_bytes = {BUDGET}\nmax_ingest_calls = {PUBLISHERS}\n"
        ),
    )
    .unwrap();
    let (mut child, url) = spawn_server_with(&data.path().join("data"), |cmd| {
        // As the README advises for glibc: fewer malloc arenas.
        cmd.arg("--config")
            .arg(&config)
            .env("MALLOC_ARENA_MAX", "2");
    });
    let pid = child.id();
    // One small batch first, so that the baseline includes a warm writer.
    let mut warm = AlertIngestClient::connect(url.clone()).await.unwrap();
    let dir = directory();
    let p = &persons(&dir, "5201", 1, 99)[0];
    submit(&mut warm, 1, vec![call_alert("warm", p, "")]).await;
    let (base_kib, _) = rss_kib(pid);

    let mut tasks = Vec::new();
    for n in 0..PUBLISHERS {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            if n % 2 == 0 {
                (stream_publisher(url, n).await, 0)
            } else {
                unary_publisher(url, n).await
            }
        }));
    }
    let (mut acked, mut exhausted) = (0, 0);
    for t in tasks {
        let (a, e) = t.await.unwrap();
        acked += a;
        exhausted += e;
    }
    let (_, peak_kib) = rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();

    let grew_mib = (peak_kib.saturating_sub(base_kib)) as f64 / 1024.0;
    let budget_mib = (BUDGET / MIB) as f64;
    // The README's bound: store cache + budget + per open ingest call one
    // decoded batch waiting for the budget, with its encoded buffer
    // (3 × the largest message), and its HTTP/2 window (1 MiB).
    let bound_mib = (STORE_CACHE / MIB) as f64
        + budget_mib
        + PUBLISHERS as f64 * (3.0 * (MAX_MESSAGE / MIB) as f64 + 1.0);
    println!(
        "16 publishers: {acked} alerts acked, {exhausted} RESOURCE_EXHAUSTED retried; \
         RSS {:.0} MiB at start, peak {:.0} MiB (+{grew_mib:.0} MiB; bound +{bound_mib:.0} MiB \
         for a budget of {budget_mib:.0} MiB)",
        base_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0,
    );
    assert!(acked > 0);
    assert!(
        grew_mib <= bound_mib,
        "RSS grew by {grew_mib:.0} MiB, over the bound of {bound_mib:.0} MiB"
    );
}
