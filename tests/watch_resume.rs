//! A console watching one county sees exactly that county's tasks, in
//! order, and resumes from a token with no gap and no repeat.

mod common;

use std::time::Duration;

use common::*;
use dualwarn::proto;
use tokio_stream::StreamExt;

async fn next_event(stream: &mut tonic::Streaming<proto::TaskEvent>) -> proto::TaskEvent {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("event within 10s")
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn county_watcher_sees_only_its_county_in_order_and_resumes_without_gap_or_repeat() {
    let server = Server::start().await;
    let dir = directory();
    let county = "520102";
    let mine = persons(&dir, county, 6, 5);
    let others = persons(&dir, "520201", 6, 6);
    let phone = list("flagged_phones", 1).remove(0);
    let mut ingest = server.ingest().await;

    // Two pairs exist before the console connects (backlog from the store).
    let before: Vec<proto::Alert> = vec![
        call_alert("w-0", &mine[0], &phone),
        call_alert("x-0", &others[0], &phone),
        call_alert("w-1", &mine[1], &phone),
    ];
    submit(&mut ingest, 0, before).await;

    let mut console = server.console().await;
    let mut stream = console
        .watch_tasks(proto::WatchTasksRequest {
            jurisdiction: county.into(),
            resume_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(next_event(&mut stream).await);
    }
    // Live events, interleaved with another county's.
    for i in 2..4 {
        submit(
            &mut ingest,
            i as u64,
            vec![
                call_alert(&format!("x-{i}"), &others[i], &phone),
                call_alert(&format!("w-{i}"), &mine[i], &phone),
            ],
        )
        .await;
    }
    for _ in 0..4 {
        seen.push(next_event(&mut stream).await);
    }
    let resume_at = seen.last().unwrap().resume_token.clone();
    drop(stream);

    // While the console is away: more events in both counties.
    for i in 4..6 {
        submit(
            &mut ingest,
            i as u64,
            vec![
                call_alert(&format!("w-{i}"), &mine[i], &phone),
                call_alert(&format!("x-{i}"), &others[i], &phone),
            ],
        )
        .await;
    }
    let mut resumed = console
        .watch_tasks(proto::WatchTasksRequest {
            jurisdiction: county.into(),
            resume_token: resume_at.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    for _ in 0..4 {
        seen.push(next_event(&mut resumed).await);
    }
    // Nothing more for this county.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), resumed.next())
            .await
            .is_err(),
        "no extra event"
    );

    let tokens: Vec<u64> = seen
        .iter()
        .map(|e| e.resume_token.parse().unwrap())
        .collect();
    assert!(
        tokens.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing, no repeat: {tokens:?}"
    );
    for e in &seen {
        let t = e.task.as_ref().unwrap();
        assert!(
            t.jurisdiction
                .as_ref()
                .unwrap()
                .division_code
                .starts_with(county),
            "only this county"
        );
        assert_eq!(e.kind, proto::TaskEventKind::Created as i32);
    }
    let mut divisions: Vec<String> = seen
        .iter()
        .map(|e| {
            e.task
                .as_ref()
                .unwrap()
                .jurisdiction
                .as_ref()
                .unwrap()
                .division_code
                .clone()
        })
        .collect();
    divisions.dedup();
    let expected: Vec<String> = mine.iter().map(|p| p.division.clone()).collect();
    assert_eq!(
        divisions, expected,
        "every pair of this county, in creation order, none missing"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_resume_token_names_the_field() {
    let server = Server::start().await;
    let mut console = server.console().await;
    let err = console
        .watch_tasks(proto::WatchTasksRequest {
            jurisdiction: "52".into(),
            resume_token: "abc".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("resume_token"), "{}", err.message());
    server.stop().await;
}
