//! Kafka ingest against librdkafka's mock cluster (real Kafka protocol on
//! loopback sockets, in this process): protobuf and JSON topics into the
//! engine, rejected and unreadable alerts on the dead-letter topic with
//! masked reasons, a re-delivered topic making no second task, and offsets
//! committed for everything once it is durable.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use dualwarn::cli::record::{AlertRecord, ArtefactRecord, SubjectRecord};
use dualwarn::config::KafkaConfig;
use dualwarn::kafka::dead_letter::DeadLetter;
use prost::Message as _;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};

const PB: &str = "alerts-pb";
const JSON: &str = "alerts-json";
const DLQ: &str = "dualwarn.dead-letter";

fn kafka_config(brokers: &str) -> KafkaConfig {
    toml::from_str::<KafkaConfig>(&format!(
        r#"
brokers = "{brokers}"
batch = 100
linger = "20ms"
[[topics]]
name = "{PB}"
sources = ["test-telecom", "test-bank"]
[[topics]]
name = "{JSON}"
sources = ["test-telecom"]
format = "json"
"#
    ))
    .unwrap()
}

async fn produce(producer: &FutureProducer, topic: &str, key: &str, payload: &[u8]) {
    producer
        .send(
            FutureRecord::to(topic).key(key).payload(payload),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
}

fn json_alert(source_id: &str, p: &Person, phone: &str) -> Vec<u8> {
    serde_json::to_vec(&AlertRecord {
        source: "test-telecom".into(),
        source_id: source_id.into(),
        source_kind: "telecom".into(),
        occurred_at_ms: now_ms() - 60_000,
        subject: SubjectRecord {
            phone: p.phone.clone(),
            id_hash: p.id_hash.clone(),
            name: p.name.clone(),
            division_code: p.division.clone(),
            grid_id: p.grid.clone(),
            address: "某路1号".into(),
            age: 66,
        },
        counterparts: vec![ArtefactRecord::new("phone", phone)],
        ..Default::default()
    })
    .unwrap()
}

/// Offsets the group committed, summed per topic.
fn committed(brokers: &str, topics: &[(&str, i32)]) -> BTreeMap<String, i64> {
    topics
        .iter()
        .map(|(t, parts)| (t.to_string(), kafka::committed(brokers, t, *parts)))
        .collect()
}

/// Every dead letter on the topic (waits until `n` are there).
fn dead_letters(brokers: &str, n: usize) -> Vec<DeadLetter> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "test-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    c.subscribe(&[DLQ]).unwrap();
    let mut out = Vec::new();
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while out.len() < n && std::time::Instant::now() < until {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            out.push(serde_json::from_slice(m.payload().unwrap()).unwrap());
        }
    }
    // Nothing more than expected.
    if let Some(Ok(m)) = c.poll(Duration::from_millis(500)) {
        panic!("an unexpected dead letter: {:?}", m.payload_view::<str>());
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn topics_in_bad_alerts_to_the_dead_letter_topic_redelivery_makes_no_second_task() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(PB, 3, 1).unwrap();
    mock.create_topic(JSON, 1, 1).unwrap();
    mock.create_topic(DLQ, 1, 1).unwrap();
    let brokers = mock.bootstrap_servers();

    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.kafka = Some(kafka_config(&brokers));
    let server = Server::start_with(cfg).await;

    let dir = directory();
    let people = persons(&dir, "52", 60, 77);
    let phone = list("flagged_phones", 1).remove(0);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    // 40 people on the protobuf topic, two calls each; 20 on the JSON topic.
    for round in 0..2 {
        for (i, p) in people[..40].iter().enumerate() {
            let a = call_alert(&format!("pb-{round}-{i}"), p, &phone);
            produce(&producer, PB, &p.phone, &a.encode_to_vec()).await;
        }
    }
    for (i, p) in people[40..].iter().enumerate() {
        produce(
            &producer,
            JSON,
            &p.phone,
            &json_alert(&format!("js-{i}"), p, &phone),
        )
        .await;
    }
    // Three bad messages: unreadable bytes, a source the topic may not
    // carry, and an alert normalize rejects (a division that is not one).
    produce(&producer, PB, "x", b"\xff\xfe not protobuf").await;
    let mut foreign = call_alert("foreign-1", &people[0], &phone);
    foreign.source = "other-bank".into();
    produce(&producer, PB, "y", &foreign.encode_to_vec()).await;
    let mut bad = call_alert("bad-division-1", &people[1], &phone);
    bad.subject.as_mut().unwrap().division_code = "999999999999".into();
    produce(&producer, PB, "z", &bad.encode_to_vec()).await;

    // Everything is taken and committed: 83 messages on PB, 20 on JSON.
    let until = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let c = committed(&brokers, &[(PB, 3), (JSON, 1)]);
        if c.get(PB) == Some(&83) && c.get(JSON) == Some(&20) {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "offsets committed: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut console = server.console().await;
    let tasks = all_tasks(&mut console, "").await;
    assert_eq!(tasks.len(), 2 * people.len(), "one pair per person");

    let mut letters = dead_letters(&brokers, 3);
    letters.sort_by(|a, b| a.field.cmp(&b.field));
    let fields: Vec<&str> = letters.iter().map(|l| l.field.as_str()).collect();
    assert_eq!(
        fields,
        ["payload", "source", "subject.division_code"],
        "{letters:?}"
    );
    for l in &letters {
        assert_eq!(l.topic, PB);
        assert!(!l.reason.contains(&people[1].phone), "unmasked: {l:?}");
    }

    // The whole protobuf topic again (a re-delivery after a rebalance):
    // duplicates only, no second task.
    for (i, p) in people[..40].iter().enumerate() {
        let a = call_alert(&format!("pb-0-{i}"), p, &phone);
        produce(&producer, PB, &p.phone, &a.encode_to_vec()).await;
    }
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while committed(&brokers, &[(PB, 3)]).get(PB) != Some(&123) {
        assert!(
            std::time::Instant::now() < until,
            "re-delivery not committed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let again = all_tasks(&mut console, "").await;
    assert_eq!(again.len(), tasks.len(), "a re-delivered alert made a task");
    server.stop().await;
}
