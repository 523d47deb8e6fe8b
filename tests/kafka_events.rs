//! Task events to Kafka against librdkafka's mock cluster: every event of
//! the log on the topic once, keyed by county, in log order per partition;
//! and after a restart that lost the producer's cursor (as a crash between
//! delivery and the cursor's write would), nothing is produced twice and
//! nothing is missing.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use dualwarn::config::KafkaConfig;
use dualwarn::kafka::events::{CURSOR, partition_of};
use dualwarn::store::{EmbeddedStore, Store};
use rdkafka::mocking::MockCluster;

const TOPIC: &str = "dualwarn.task-events";
const PARTITIONS: i32 = 3;

fn kafka(brokers: &str) -> KafkaConfig {
    toml::from_str(&format!(
        "brokers = \"{brokers}\"\nevents_topic = \"{TOPIC}\"\n"
    ))
    .unwrap()
}

/// Every message on the topic: (partition, key, seq), in partition order.
fn read_all(brokers: &str) -> Vec<(i32, String, u64)> {
    kafka::events_on(brokers, TOPIC, PARTITIONS)
}

/// Waits until the topic holds `n` events; returns them.
async fn until_on_topic(brokers: &str, n: usize) -> Vec<(i32, String, u64)> {
    let until = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let b = brokers.to_string();
        let got = tokio::task::spawn_blocking(move || read_all(&b))
            .await
            .unwrap();
        if got.len() >= n {
            return got;
        }
        assert!(
            std::time::Instant::now() < until,
            "{} of {n} events on the topic",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn check(events: &[(i32, String, u64)], last: u64) {
    let mut seen = BTreeMap::new();
    let mut per_partition: BTreeMap<i32, u64> = BTreeMap::new();
    for (p, key, seq) in events {
        assert_eq!(key.len(), 6, "the key is a county code: {key}");
        assert_eq!(
            *p,
            partition_of(key, PARTITIONS),
            "county {key} on partition {p}"
        );
        let prev = per_partition.insert(*p, *seq).unwrap_or(0);
        assert!(*seq > prev, "partition {p}: event {seq} after {prev}");
        *seen.entry(*seq).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "events on the topic twice: {twice:?}");
    let missing: Vec<u64> = (1..=last).filter(|s| !seen.contains_key(s)).collect();
    assert!(
        missing.is_empty(),
        "events missing from the topic: {missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_once_in_order_per_county_across_a_restart_that_lost_the_cursor() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(TOPIC, PARTITIONS, 1).unwrap();
    let brokers = mock.bootstrap_servers();
    let data = tempfile::tempdir().unwrap();
    let dir = directory();
    let people = persons(&dir, "52", 80, 91);
    let phone = list("flagged_phones", 1).remove(0);

    let mut cfg = config(data.path());
    cfg.kafka = Some(kafka(&brokers));
    let server = Server::start_with(cfg.clone()).await;
    let mut ingest = server.ingest().await;
    let alerts = people[..50]
        .iter()
        .enumerate()
        .map(|(i, p)| call_alert(&format!("ev-a-{i}"), p, &phone))
        .collect();
    submit(&mut ingest, 0, alerts).await;
    let store_last = 100; // 50 pairs: two created events each
    let first = until_on_topic(&brokers, store_last).await;
    check(&first, store_last as u64);
    server.stop().await;

    // A crash after delivery but before the cursor was written.
    {
        let store = EmbeddedStore::open(data.path()).unwrap();
        assert_eq!(store.last_event_seq().unwrap(), store_last as u64);
        store.set_cursor(CURSOR, 10).unwrap();
        store.close().unwrap();
    }
    let server = Server::start_with(cfg).await;
    let mut ingest = server.ingest().await;
    let alerts = people[50..]
        .iter()
        .enumerate()
        .map(|(i, p)| call_alert(&format!("ev-b-{i}"), p, &phone))
        .collect();
    submit(&mut ingest, 0, alerts).await;
    let all = until_on_topic(&brokers, 160).await;
    // A moment for anything doubled to show up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let b = brokers.clone();
    let all_now = tokio::task::spawn_blocking(move || read_all(&b))
        .await
        .unwrap();
    assert_eq!(all.len(), all_now.len());
    check(&all_now, 160);
    server.stop().await;
}
