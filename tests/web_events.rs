//! The web console's live feed: `/api/events` is the task event log as
//! Server-Sent Events, each event's `id` its resume token. A page that loses
//! its connection and comes back with `Last-Event-ID` gets every event after
//! it once, in order; `/api/events/head` lets a page start from now. With no
//! consoles configured the session says so (development mode).

mod common;

use std::time::Duration;

use common::*;
use dualwarn::app;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens the event stream and reads until `want` event ids arrived (or 10 s).
async fn event_ids(port: u16, last_event_id: Option<&str>, want: usize) -> Vec<u64> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let resume = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
    let req = format!("GET /api/events HTTP/1.1\r\nHost: x\r\n{resume}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ids = ids_in(&text);
        if ids.len() >= want {
            return ids;
        }
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => text.push_str(&String::from_utf8_lossy(&buf[..n])),
            _ => panic!(
                "stream ended or stalled with {} of {want} events: {text}",
                ids.len()
            ),
        }
    }
}

fn ids_in(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|id| id.trim().parse().unwrap())
        .collect()
}

async fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_once("\r\n\r\n").unwrap().1.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_reconnects_gets_every_event_after_its_last_id_once() {
    let data = tempfile::tempdir().unwrap();
    let shared = app::build(config(data.path())).unwrap();
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc_url = format!("http://{}", grpc.local_addr().unwrap());
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = http.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve_with_http(shared, grpc, Some(http), async {
        let _ = stopped.await;
    }));
    let session: serde_json::Value =
        serde_json::from_str(&get(port, "/api/session").await).unwrap();
    assert_eq!(session["dev_mode"], true, "{session}");

    let mut ingest = dualwarn::proto::alert_ingest_client::AlertIngestClient::connect(grpc_url)
        .await
        .unwrap();
    let people = persons(&directory(), "520102", 4, 91);
    let card = list("flagged_cards", 1).remove(0);
    let first: Vec<_> = people[..3]
        .iter()
        .enumerate()
        .map(|(i, p)| transfer_alert(&format!("sse-{i}"), p, &card, 600_000))
        .collect();
    assert_eq!(submit(&mut ingest, 1, first).await.pairs_created, 3);

    // Six creations; the page saw four before its connection dropped.
    let seen = event_ids(port, None, 6).await;
    assert_eq!(seen, [1, 2, 3, 4, 5, 6]);
    let head: serde_json::Value =
        serde_json::from_str(&get(port, "/api/events/head").await).unwrap();
    assert_eq!(head["resume_token"], "6");
    let more = vec![transfer_alert("sse-3", &people[3], &card, 600_000)];
    assert_eq!(submit(&mut ingest, 2, more).await.pairs_created, 1);

    // Back with the last id it had: the rest, once each, in order.
    let resumed = event_ids(port, Some("4"), 4).await;
    assert_eq!(resumed, [5, 6, 7, 8]);
    // The same through the query parameter the page uses.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET /api/events?resume=abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut bad = String::new();
    s.read_to_string(&mut bad).await.unwrap();
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    assert!(bad.contains("resume_token"), "{bad}");

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
}
