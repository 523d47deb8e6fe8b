//! The real binary is killed with SIGKILL right after acks; after restart
//! nothing acked is lost and re-sending makes no duplicate pair.

mod common;

use std::collections::HashSet;

use common::*;
use dualwarn::proto;
use dualwarn::proto::alert_ingest_client::AlertIngestClient;
use dualwarn::proto::task_console_client::TaskConsoleClient;
use tokio_stream::StreamExt;

fn batches(people: &[Person], phone: &str) -> Vec<proto::AlertBatch> {
    (0..40u64)
        .map(|s| proto::AlertBatch {
            sequence: s,
            // Each person gets several alerts: pairs plus duplicate warnings.
            alerts: (0..25u64)
                .map(|k| {
                    call_alert(
                        &format!("k{s}-{k}"),
                        &people[((s * 25 + k) % people.len() as u64) as usize],
                        phone,
                    )
                })
                .collect(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_after_acks_loses_nothing_and_resend_makes_no_duplicate_pair() {
    let data = tempfile::tempdir().unwrap();
    let dir = directory();
    let people = persons(&dir, "52", 60, 11);
    let phone = list("flagged_phones", 1).remove(0);
    let all = batches(&people, &phone);

    let (mut child, url) = spawn_server(data.path());
    let mut client = AlertIngestClient::connect(url.clone()).await.unwrap();
    let mut acks = client
        .publish(tokio_stream::iter(all.clone()))
        .await
        .unwrap()
        .into_inner();
    let mut acked_keys = HashSet::new();
    for _ in 0..12 {
        let ack = acks.next().await.unwrap().unwrap();
        assert!(ack.rejections.is_empty());
        for a in &all[ack.sequence as usize].alerts {
            acked_keys.insert(format!("{}/{}", a.source, a.source_id));
        }
    }
    // Later batches are still in flight: kill the process mid-stream.
    child.kill().unwrap();
    child.wait().unwrap();
    drop(acks);

    let (mut child, url) = spawn_server(data.path());
    let mut console = TaskConsoleClient::connect(url.clone()).await.unwrap();
    let tasks = all_tasks(&mut console, "52").await;
    let kept: HashSet<String> = tasks
        .iter()
        .flat_map(|t| t.alert_keys.iter().cloned())
        .collect();
    let lost: Vec<&String> = acked_keys.iter().filter(|k| !kept.contains(*k)).collect();
    assert!(lost.is_empty(), "acked alerts lost after SIGKILL: {lost:?}");
    let pairs: HashSet<&str> = tasks.iter().map(|t| t.pair_id.as_str()).collect();
    assert_eq!(tasks.len(), pairs.len() * 2, "every pair whole");

    // Re-send everything: known alerts count once, nobody gets a second pair.
    let mut client = AlertIngestClient::connect(url.clone()).await.unwrap();
    let acks: Vec<proto::PublishAck> = client
        .publish(tokio_stream::iter(all))
        .await
        .unwrap()
        .into_inner()
        .map(Result::unwrap)
        .collect()
        .await;
    let dups: u32 = acks.iter().map(|a| a.duplicates).sum();
    assert!(
        dups as usize >= acked_keys.len(),
        "{dups} duplicates < {} acked",
        acked_keys.len()
    );
    let tasks = all_tasks(&mut console, "52").await;
    let subjects: HashSet<String> = tasks
        .iter()
        .map(|t| t.subject.as_ref().unwrap().subject_key.clone())
        .collect();
    assert_eq!(subjects.len(), people.len());
    assert_eq!(
        tasks.len(),
        people.len() * 2,
        "one pair per person, no duplicate pair after re-send"
    );
    let total_keys: usize = tasks
        .iter()
        .filter(|t| t.role == proto::Role::PoliceOfficer as i32)
        .map(|t| t.alert_keys.len())
        .sum();
    assert_eq!(
        total_keys,
        40 * 25,
        "every alert joined exactly one pair, once"
    );

    child.kill().unwrap();
    child.wait().unwrap();
}
