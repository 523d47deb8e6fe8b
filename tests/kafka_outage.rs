//! A broker outage of 30 s (librdkafka's mock cluster takes its broker
//! down and brings it back) under both Kafka paths at once: alerts on a
//! topic before, during and after, and task events made during the outage
//! by gRPC ingest. The engine pauses and recovers by itself: afterwards
//! every alert is in, every offset committed, and every event of the log
//! is on the events topic exactly once.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use dualwarn::config::KafkaConfig;
use prost::Message as _;
use rdkafka::mocking::MockCluster;

const ALERTS: &str = "alerts";
const EVENTS: &str = "dualwarn.task-events";
const OUTAGE: Duration = Duration::from_secs(30);

/// seq → how many times it is on the events topic.
fn events_on_topic(brokers: &str) -> BTreeMap<u64, usize> {
    let mut seen = BTreeMap::new();
    for (_, _, seq) in kafka::events_on(brokers, EVENTS, 3) {
        *seen.entry(seq).or_insert(0) += 1;
    }
    seen
}

async fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(std::time::Instant::now() < until, "{what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thirty_second_broker_outage_loses_nothing_and_doubles_nothing() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(ALERTS, 3, 1).unwrap();
    mock.create_topic("dualwarn.dead-letter", 1, 1).unwrap();
    mock.create_topic(EVENTS, 3, 1).unwrap();
    let brokers = mock.bootstrap_servers();
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.kafka = Some(
        toml::from_str::<KafkaConfig>(&format!(
            "brokers = \"{brokers}\"\nevents_topic = \"{EVENTS}\"\n\
             [[topics]]\nname = \"{ALERTS}\"\nsources = [\"test-telecom\"]\n"
        ))
        .unwrap(),
    );
    let (server, shared) = Server::start_with_clock(cfg, dualwarn::app::now_ms).await;

    let dir = directory();
    let people = persons(&dir, "52", 300, 13);
    let phone = list("flagged_phones", 1).remove(0);
    let on_topic = |range: std::ops::Range<usize>, tag: &str| -> Vec<(String, Vec<u8>)> {
        people[range]
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let a = call_alert(&format!("{tag}-{i}"), p, &phone);
                (p.phone.clone(), a.encode_to_vec())
            })
            .collect()
    };
    let producer = kafka::producer(&brokers);
    kafka::put(&producer, ALERTS, &on_topic(0..100, "before")).await;
    assert_eq!(
        kafka::wait_committed(&brokers, ALERTS, 3, 100, 60).await,
        100
    );

    // The broker goes away; meanwhile gRPC ingest makes 100 pairs, whose
    // events must wait for it.
    mock.broker_down(1).unwrap();
    let mut ingest = server.ingest().await;
    let during = people[100..200]
        .iter()
        .enumerate()
        .map(|(i, p)| call_alert(&format!("grpc-{i}"), p, &phone))
        .collect();
    let ack = submit(&mut ingest, 0, during).await;
    assert_eq!(ack.pairs_created, 100);
    tokio::time::sleep(OUTAGE).await;
    mock.broker_up(1).unwrap();

    kafka::put(&producer, ALERTS, &on_topic(200..300, "after")).await;
    assert_eq!(
        kafka::wait_committed(&brokers, ALERTS, 3, 200, 120).await,
        200
    );
    let last = shared.store.last_event_seq().unwrap();
    assert_eq!(last, 600, "300 pairs, two created events each");
    let b = brokers.clone();
    wait_for("every event on the topic", 120, || {
        events_on_topic(&b).len() as u64 == last
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let seen = events_on_topic(&brokers);
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "events twice: {twice:?}");
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (1..=last).collect::<Vec<_>>()
    );
    let tasks = all_tasks(&mut server.console().await, "").await;
    assert_eq!(tasks.len(), 600, "one pair per person");
    eprintln!(
        "outage {OUTAGE:?}: alerts 300 (200 from Kafka, 100 gRPC), events {last} on the topic once each, kafka consumer errors {}, restarts {}",
        shared.metrics.kafka_errors.get(),
        shared.metrics.kafka_restarts.get()
    );
    assert!(
        shared.metrics.kafka_errors.get() + shared.metrics.kafka_restarts.get() > 0,
        "the outage left no trace in the metrics"
    );
    server.stop().await;
}
