//! `/metrics` counts what the engine did: the real binary takes two batches
//! (new pairs, a duplicate warning joining a pair, a re-send and a bad
//! alert), and its `/metrics` page, fetched over plain HTTP and read with
//! the Prometheus client's own OpenMetrics parser (tests/tools/
//! parse_metrics.py), adds up to what the acks said. Reloads count by
//! result (on an in-process server: the binary's rule directory is fixed
//! by the test harness).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use dualwarn::proto;
use dualwarn::proto::directory_admin_client::DirectoryAdminClient;
use dualwarn::proto::rule_admin_client::RuleAdminClient;
use serde_json::Value;

/// The `/metrics` text of the web console at `addr` (`host:port`).
fn fetch_metrics(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase()
            .contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    body.to_string()
}

/// Every sample of `text`, as the Prometheus client's parser reads it.
fn parse(text: &str) -> Vec<Value> {
    let mut child = std::process::Command::new(python())
        .arg(PathBuf::from(ROOT).join("tests/tools/parse_metrics.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The sum of the samples named `name` whose labels include `labels`.
fn sum(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s["name"] == name)
        .filter(|s| labels.iter().all(|(k, v)| s["labels"][k] == *v))
        .map(|s| s["value"].as_f64().unwrap())
        .sum()
}

/// Checks open tasks every second, so that the gauges catch up quickly.
fn write_config(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("dualwarn.toml");
    std::fs::write(&path, "[escalation]\ncheck_every = \"1s\"\n").unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_add_up_to_what_ingest_acknowledged() {
    let data = tempfile::tempdir().unwrap();
    let config = write_config(data.path());
    let (mut child, url, log) = spawn_server_at(data.path(), "127.0.0.1:0", |c| {
        c.arg("--config").arg(&config);
    });
    let http = log
        .split("http_addr=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("the web console's address in the log")
        .to_string();

    let dir = directory();
    let ps = persons(&dir, "520102", 3, 4242);
    let card = list("flagged_cards", 1).remove(0);
    let phone = list("flagged_phones", 1).remove(0);
    let first = transfer_alert("metrics-1", &ps[0], &card, 600_000);
    let mut bad = call_alert("metrics-bad", &ps[1], &phone);
    bad.occurred_at_ms = 0;
    let mut ingest = proto::alert_ingest_client::AlertIngestClient::connect(url)
        .await
        .unwrap();
    let a1 = submit(
        &mut ingest,
        1,
        vec![first.clone(), call_alert("metrics-2", &ps[1], &phone), bad],
    )
    .await;
    // A duplicate warning joins the first pair, a re-send, a third person.
    let a2 = submit(
        &mut ingest,
        2,
        vec![
            transfer_alert("metrics-3", &ps[0], &card, 700_000),
            first,
            call_alert("metrics-4", &ps[2], &phone),
        ],
    )
    .await;
    let acks = [&a1, &a2];
    let total =
        |f: fn(&proto::PublishAck) -> u32| -> f64 { acks.iter().map(|a| f64::from(f(a))).sum() };
    let (accepted, duplicates) = (total(|a| a.accepted), total(|a| a.duplicates));
    let (pairs, merged) = (total(|a| a.pairs_created), total(|a| a.merged));
    assert_eq!((accepted, duplicates, pairs, merged), (5.0, 1.0, 3.0, 1.0));
    assert_eq!(a1.rejections.len(), 1);
    assert_eq!(a1.rejections[0].field, "occurred_at_ms");

    // The task gauges follow at the next escalation check (every second).
    let deadline = Instant::now() + Duration::from_secs(20);
    let samples = loop {
        let samples = parse(&fetch_metrics(&http));
        if sum(&samples, "dualwarn_open_tasks", &[]) == 2.0 * pairs {
            break samples;
        }
        assert!(
            Instant::now() < deadline,
            "open tasks never reached {}: {samples:?}",
            2.0 * pairs
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();

    let get = |name: &str, labels: &[(&str, &str)]| sum(&samples, name, labels);
    assert_eq!(get("dualwarn_alerts_received_total", &[]), 6.0);
    assert_eq!(
        get(
            "dualwarn_alerts_rejected_total",
            &[("field", "occurred_at_ms")]
        ),
        1.0
    );
    assert_eq!(get("dualwarn_alerts_rejected_total", &[]), 1.0);
    assert_eq!(get("dualwarn_alerts_accepted_total", &[]), accepted);
    assert_eq!(get("dualwarn_alerts_duplicate_total", &[]), duplicates);
    assert_eq!(get("dualwarn_pairs_created_total", &[]), pairs);
    assert_eq!(get("dualwarn_batch_seconds_count", &[]), 2.0);
    assert!(get("dualwarn_commit_seconds_count", &[]) >= 1.0);
    // One observation per alert that made or joined a pair, on each clock.
    for kind in ["event", "arrival"] {
        let n = get("dualwarn_alert_to_task_seconds_count", &[("kind", kind)]);
        assert_eq!(n, pairs + merged, "{kind}");
    }
    // The alerts are a minute old: their event-time latency says so.
    assert!(get("dualwarn_alert_to_task_seconds_sum", &[("kind", "event")]) >= 60.0 * 4.0);
    // Each alert that made or joined a pair had at least one rule hit.
    assert!(get("dualwarn_rule_hits_total", &[]) >= pairs + merged);
    let high = get(
        "dualwarn_open_tasks",
        &[("status", "open"), ("level", "high")],
    );
    assert_eq!(high, 2.0, "the bank transfer's pair is high");
    let combinations = samples
        .iter()
        .filter(|s| s["name"] == "dualwarn_open_tasks")
        .count();
    assert_eq!(combinations, 9, "every status and level, zeros too");
    assert_eq!(get("dualwarn_overdue_tasks", &[]), 0.0);
    assert!(get("dualwarn_windows", &[]) > 0.0);
    assert!(get("dualwarn_graph_nodes", &[]) > 0.0);
    assert!(get("dualwarn_graph_links", &[]) > 0.0);
    assert_eq!(get("dualwarn_writer_queue_depth", &[]), 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn reloads_count_by_result_and_an_unchanged_rule_set_not_at_all() {
    let root = tempfile::tempdir().unwrap();
    let rules_dir = root.path().join("rules");
    copy_dir(&rules_path(), &rules_dir);
    let mut cfg = config(&root.path().join("data"));
    cfg.rules_dir = rules_dir.clone();
    cfg.watch_rules = false;
    let (server, shared) = Server::start_with_clock(cfg, dualwarn::app::now_ms).await;
    let mut rules = RuleAdminClient::connect(server.url.clone()).await.unwrap();
    let mut directory = DirectoryAdminClient::connect(server.url.clone())
        .await
        .unwrap();

    directory
        .reload(proto::ReloadDirectoryRequest {})
        .await
        .unwrap();
    let same = rules.reload(proto::ReloadRequest { force: false }).await;
    assert!(same.unwrap().into_inner().errors.is_empty());
    let broken = "[[rule]]\nid = \"b\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"high\"\ncondition = 'amount >= '\n";
    std::fs::write(rules_dir.join("broken.toml"), broken).unwrap();
    let refused = rules.reload(proto::ReloadRequest { force: false }).await;
    assert!(!refused.unwrap().into_inner().errors.is_empty());

    let samples = parse(&shared.metrics.render());
    server.stop().await;
    let reloads = |kind| sum(&samples, "dualwarn_reloads_total", &[("kind", kind)]);
    assert_eq!(reloads("ok"), 1.0, "the directory reload");
    assert_eq!(reloads("failed"), 1.0, "the broken rule file");
}
