//! Kafka helpers of the tests: what the engine's group committed, what an
//! events topic holds, and alerts put on a topic.

use std::time::Duration;

use dualwarn::kafka::events::seq_header;
use dualwarn::kafka::{Outgoing, committed_sum, produce_all};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureProducer;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// Offsets the engine's group (`dualwarn`) committed on `topic`, summed
/// over its `partitions`; -1 when the broker cannot answer.
pub fn committed(brokers: &str, topic: &str, partitions: i32) -> i64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "dualwarn")
        .create()
        .unwrap();
    committed_sum(&c, topic, partitions, Duration::from_secs(5)).unwrap_or(-1)
}

/// Waits (at most `secs`) until the engine's group committed at least
/// `target` offsets on `topic`; returns how many it had then.
pub async fn wait_committed(
    brokers: &str,
    topic: &str,
    partitions: i32,
    target: i64,
    secs: u64,
) -> i64 {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let (b, t) = (brokers.to_string(), topic.to_string());
        let c = tokio::task::spawn_blocking(move || committed(&b, &t, partitions))
            .await
            .unwrap();
        if c >= target {
            return c;
        }
        assert!(
            std::time::Instant::now() < until,
            "{topic}: {c} offsets committed, waiting for {target}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every message on an events topic: (partition, key, seq header), in
/// partition and offset order.
pub fn events_on(brokers: &str, topic: &str, partitions: i32) -> Vec<(i32, String, u64)> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "test-events-reader")
        .create()
        .unwrap();
    let mut out = Vec::new();
    for p in 0..partitions {
        let (low, high) = c
            .fetch_watermarks(topic, p, Duration::from_secs(5))
            .unwrap();
        if high <= low {
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p, Offset::Offset(low))
            .unwrap();
        c.assign(&tpl).unwrap();
        let mut next = low;
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while next < high {
            assert!(std::time::Instant::now() < until, "partition {p} not read");
            if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
                let key = String::from_utf8(m.key().unwrap_or_default().to_vec()).unwrap();
                out.push((m.partition(), key, seq_header(&m).unwrap()));
                next = m.offset() + 1;
            }
        }
    }
    out
}

/// Puts (key, payload) messages on `topic`, waiting for every delivery.
pub async fn put(producer: &FutureProducer, topic: &str, messages: &[(String, Vec<u8>)]) {
    produce_all(
        producer,
        messages.iter().map(|(k, b)| Outgoing {
            topic,
            partition: None,
            key: Some(k.as_bytes()),
            payload: b,
            headers: None,
        }),
    )
    .await
    .unwrap();
}

/// A producer on `brokers`.
pub fn producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap()
}
