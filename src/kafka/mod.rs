//! The Kafka edge (`[kafka]`): alerts read from topics into the same
//! prepare → writer path as gRPC ingest ([`ingest`]), rejected alerts to a
//! dead-letter topic ([`dead_letter`]), and every task event out to a topic
//! keyed by county ([`events`]). Async, at the edge; the core never sees
//! Kafka. Without `[kafka]` none of it starts.

pub mod dead_letter;
pub mod decode;
pub mod events;
pub mod ingest;
pub mod retention;

use std::sync::Arc;

use rdkafka::ClientConfig;

use crate::app::Shared;
use crate::config::KafkaConfig;

/// Starts what `[kafka]` asks for (nothing without it); each task ends
/// after `stop` turns true.
pub fn spawn(
    shared: &Arc<Shared>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(k) = shared.config.kafka.clone() else {
        return Vec::new();
    };
    let mut tasks = Vec::new();
    if !k.topics.is_empty() {
        tasks.push(tokio::spawn(ingest::run(
            shared.clone(),
            k.clone(),
            stop.clone(),
        )));
    }
    if k.events_topic.is_some() {
        tasks.push(tokio::spawn(events::run(shared.clone(), k, stop)));
    }
    tasks
}

/// librdkafka settings every client shares: the brokers and the user's
/// `properties` (security settings and the like).
pub fn client_config(k: &KafkaConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &k.brokers);
    for (name, value) in &k.properties {
        c.set(name, value);
    }
    c
}

/// One message to produce.
pub struct Outgoing<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition; none: the producer's partitioner picks by key.
    pub partition: Option<i32>,
    /// Key.
    pub key: Option<&'a [u8]>,
    /// Body.
    pub payload: &'a [u8],
    /// Headers.
    pub headers: Option<rdkafka::message::OwnedHeaders>,
}

/// Queues every message in order without waiting between them, then waits
/// until the broker has all of them; the first failure is returned (with
/// an idempotent producer, order per partition holds across retries).
pub async fn produce_all(
    producer: &rdkafka::producer::FutureProducer,
    messages: impl IntoIterator<Item = Outgoing<'_>>,
) -> Result<(), rdkafka::error::KafkaError> {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    use rdkafka::producer::FutureRecord;
    let mut waiting = std::collections::VecDeque::new();
    for m in messages {
        let mut record = FutureRecord::<[u8], [u8]>::to(m.topic).payload(m.payload);
        if let Some(k) = m.key {
            record = record.key(k);
        }
        if let Some(p) = m.partition {
            record = record.partition(p);
        }
        if let Some(h) = m.headers {
            record = record.headers(h);
        }
        loop {
            match producer.send_result(record) {
                Ok(delivery) => {
                    waiting.push_back(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    // The local queue is full: wait for the oldest first.
                    match waiting.pop_front() {
                        Some(d) => delivered(d.await)?,
                        None => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                    }
                }
                Err((e, _)) => return Err(e),
            }
        }
    }
    for d in waiting {
        delivered(d.await)?;
    }
    Ok(())
}

/// A delivery's outcome (`E`: the delivery report was dropped).
fn delivered<E>(
    r: Result<rdkafka::producer::future_producer::OwnedDeliveryResult, E>,
) -> Result<(), rdkafka::error::KafkaError> {
    match r {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(e),
        Err(_) => Err(rdkafka::error::KafkaError::Canceled),
    }
}

/// Offsets the group of `consumer` has committed on partitions
/// `0..partitions` of `topic`, summed (a partition with none counts 0):
/// how far a group has read, for tools and tests.
pub fn committed_sum(
    consumer: &rdkafka::consumer::BaseConsumer,
    topic: &str,
    partitions: i32,
    timeout: std::time::Duration,
) -> Result<i64, rdkafka::error::KafkaError> {
    use rdkafka::consumer::Consumer;
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    Ok(consumer
        .committed_offsets(tpl, timeout)?
        .elements()
        .iter()
        .map(|e| match e.offset() {
            rdkafka::Offset::Offset(o) => o,
            _ => 0,
        })
        .sum())
}
