//! A crash loop: the real binary is SIGKILLed 20 times during a steady
//! stream of batches, each time restarted on the same store, while a
//! watcher follows the whole event log across every restart with its
//! resume token. Afterwards every acked alert is in the store, nobody has
//! two open pairs, and the watcher saw every event exactly once, in order.
//!
//! The stream is sent by the test's own publisher (one batch in flight, as
//! `dualwarn send` does per stream), so that it knows exactly what was acked.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::*;
use dualwarn::proto;
use dualwarn::proto::alert_ingest_client::AlertIngestClient;
use dualwarn::proto::task_console_client::TaskConsoleClient;
use tokio_stream::StreamExt;

const KILLS: usize = 20;
const BATCHES: usize = 200;
const PER_BATCH: usize = 20;

#[tokio::test(flavor = "multi_thread")]
async fn twenty_sigkills_lose_no_acked_alert_make_no_second_pair_and_leave_no_gap() {
    let data = tempfile::tempdir().unwrap();
    let dir = directory();
    let people = persons(&dir, "52", 150, 41);
    let phone = list("flagged_phones", 1).remove(0);
    let batches: Vec<proto::AlertBatch> = (0..BATCHES)
        .map(|s| proto::AlertBatch {
            sequence: s as u64,
            alerts: (0..PER_BATCH)
                .map(|k| {
                    let p = &people[(s * PER_BATCH + k) % people.len()];
                    call_alert(&format!("loop-{s}-{k}"), p, &phone)
                })
                .collect(),
        })
        .collect();

    let mut next = 0usize; // first batch not yet acked
    let mut acked = 0usize;
    let mut sent = 0usize;
    let mut last_seq = 0u64; // the watcher's resume token
    let mut events_seen = 0u64;
    for round in 0..=KILLS {
        let (mut child, url) = spawn_server(data.path());
        // The watcher resumes where it left off; it must see seq last+1 next.
        let mut console = TaskConsoleClient::connect(url.clone()).await.unwrap();
        let mut watch = console
            .watch_tasks(proto::WatchTasksRequest {
                jurisdiction: String::new(),
                resume_token: if last_seq == 0 {
                    String::new()
                } else {
                    last_seq.to_string()
                },
            })
            .await
            .unwrap()
            .into_inner();
        let mut client = AlertIngestClient::connect(url).await.unwrap();
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(if round == KILLS {
                60_000
            } else {
                300 + (round as u64 * 53) % 400
            });
        while next < BATCHES && tokio::time::Instant::now() < deadline {
            sent += 1;
            match client.submit(batches[next].clone()).await {
                Ok(_) => {
                    acked += 1;
                    next += 1;
                }
                Err(s) => panic!("batch {next} refused: {s:?}"),
            }
            // Drain what the watcher has, checking the sequence.
            while let Ok(Some(e)) =
                tokio::time::timeout(Duration::from_millis(1), watch.next()).await
            {
                let seq: u64 = e.unwrap().resume_token.parse().unwrap();
                assert_eq!(seq, last_seq + 1, "a gap or a repeat in the watch");
                last_seq = seq;
                events_seen += 1;
            }
        }
        if round < KILLS {
            // One more batch in flight while the process dies.
            let in_flight = batches[next.min(BATCHES - 1)].clone();
            let pending = tokio::spawn(async move { client.submit(in_flight).await });
            tokio::time::sleep(Duration::from_millis(5)).await;
            child.kill().unwrap();
            child.wait().unwrap();
            sent += 1;
            if let Ok(Ok(_)) = pending.await {
                acked += 1;
                next = (next + 1).min(BATCHES);
            }
        } else {
            // The last round runs to the end; catch the watcher up.
            let total = loop {
                match tokio::time::timeout(Duration::from_secs(2), watch.next()).await {
                    Ok(Some(e)) => {
                        let seq: u64 = e.unwrap().resume_token.parse().unwrap();
                        assert_eq!(seq, last_seq + 1, "a gap or a repeat in the watch");
                        last_seq = seq;
                        events_seen += 1;
                    }
                    _ => break last_seq,
                }
            };
            assert_eq!(next, BATCHES, "the last round sends what is left");

            let tasks = all_tasks(&mut console, "52").await;
            let pairs: HashSet<&str> = tasks.iter().map(|t| t.pair_id.as_str()).collect();
            let mut open_pairs: HashMap<String, HashSet<String>> = HashMap::new();
            for t in &tasks {
                if t.status != proto::TaskStatus::Done as i32 {
                    open_pairs
                        .entry(t.subject.as_ref().unwrap().subject_key.clone())
                        .or_default()
                        .insert(t.pair_id.clone());
                }
            }
            let duplicate_pairs = open_pairs.values().filter(|p| p.len() > 1).count();
            let stored: u64 = tasks
                .iter()
                .filter(|t| t.role == proto::Role::PoliceOfficer as i32)
                .map(|t| t.alert_keys.len() as u64 + t.alert_keys_omitted)
                .sum();
            println!(
                "crash loop: {KILLS} SIGKILLs; batches sent {sent}, acked {acked}; alerts acked {}, stored {stored}; pairs {}; duplicate pairs {duplicate_pairs}; events watched {events_seen} (last {total})",
                acked * PER_BATCH,
                pairs.len()
            );
            assert_eq!(duplicate_pairs, 0, "a person with two open pairs");
            assert_eq!(
                stored as usize,
                BATCHES * PER_BATCH,
                "every alert, acked once or re-sent after a kill, is in a task once"
            );
            // Every alert matched: two events each (created or merged, per role).
            assert_eq!(total, 2 * stored, "the log holds every event");
            assert_eq!(events_seen, total, "the watcher saw every event once");
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}
