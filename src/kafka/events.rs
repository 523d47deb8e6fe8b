//! Task events to Kafka: every event of the store's log (created, merged,
//! signed, outcome, escalated, transferred...) as a protobuf `TaskEvent`,
//! the same message `WatchTasks` streams, keyed by the task's county (6
//! digits) with its log number in the `seq` header.
//!
//! Order and exactly-once without a transactional producer: the partition
//! of a county is chosen here (CRC-32 of the key, modulo the partitions),
//! so each partition holds its counties' events in log order (idempotent
//! producer). The store keeps how far the log is delivered (cursor
//! [`CURSOR`]: every event up to it is on the topic), and retention never
//! removes an event past it. At start the producer reads the last `seq` on
//! each partition and resumes after the cursor, skipping each event its
//! partition already holds: a crash between delivery and the cursor's
//! write neither loses nor doubles an event.

use std::sync::Arc;
use std::time::Duration;

use prost::Message as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};

use super::{Outgoing, client_config, produce_all};
use crate::api::convert::event_to_proto;
use crate::app::Shared;
use crate::config::KafkaConfig;
use crate::model::TaskEventRecord;

/// The store cursor of the events producer.
pub const CURSOR: &str = "kafka-events";
/// Events read from the log per round.
const PAGE: usize = 1_000;
/// Longest wait for a new event before the log is read again.
const IDLE: Duration = Duration::from_millis(500);
/// Wait before starting again after a failure.
const RESTART_AFTER: Duration = Duration::from_secs(1);
/// Broker calls at start (metadata, watermarks, last messages).
const CALL: Duration = Duration::from_secs(10);

/// Produces every task event until `stop`, starting again after failures.
pub async fn run(
    shared: Arc<Shared>,
    k: KafkaConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Some(topic) = k.events_topic.clone() else {
        return;
    };
    loop {
        match produce(&shared, &k, &topic, &mut stop).await {
            Ok(()) => return,
            Err(e) => {
                shared.metrics.kafka_restarts.inc();
                tracing::warn!(error = %e, topic = %topic, "kafka events producer starts again");
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(RESTART_AFTER) => {}
        }
    }
}

/// The partition of `county` among `partitions`.
pub fn partition_of(county: &str, partitions: i32) -> i32 {
    (crc32fast::hash(county.as_bytes()) % partitions.max(1) as u32) as i32
}

/// The key of an event: its task's county.
pub fn county_of(e: &TaskEventRecord) -> String {
    format!("{:06}", e.task.division.county())
}

async fn produce(
    shared: &Arc<Shared>,
    k: &KafkaConfig,
    topic: &str,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    let producer: FutureProducer = client_config(k)
        .set("enable.idempotence", "true")
        .create()
        .map_err(|e| format!("cannot make the events producer: {e}"))?;
    let (k2, t2) = (k.clone(), topic.to_string());
    let last_on_topic = tokio::task::spawn_blocking(move || last_seqs(&k2, &t2))
        .await
        .map_err(|e| e.to_string())??;
    let partitions = last_on_topic.len() as i32;
    let store = shared.store.clone();
    let mut delivered = blocking(move || store.cursor(CURSOR)).await?;
    tracing::info!(
        topic,
        partitions,
        from = delivered,
        on_topic = ?last_on_topic,
        "kafka events producer resumes"
    );
    let mut live = shared.events.subscribe();
    loop {
        let store = shared.store.clone();
        let events = blocking(move || store.events_after(delivered, "", PAGE)).await?;
        if events.is_empty() {
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                r = live.recv() => {
                    // The engine is stopping: no more events will come.
                    if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        return Ok(());
                    }
                }
                () = tokio::time::sleep(IDLE) => {}
            }
            continue;
        }
        let last = events.last().map_or(delivered, |e| e.seq);
        let mut bodies = Vec::with_capacity(events.len());
        for e in &events {
            let county = county_of(e);
            let p = partition_of(&county, partitions);
            // Already there: produced before a crash that lost the cursor.
            if e.seq <= last_on_topic[p as usize] {
                continue;
            }
            bodies.push((p, county, e.seq, event_to_proto(e).encode_to_vec()));
        }
        let mut out = Vec::with_capacity(bodies.len());
        for (p, county, seq, body) in &bodies {
            let seq = seq.to_string();
            out.push(Outgoing {
                topic,
                partition: Some(*p),
                key: Some(county.as_bytes()),
                payload: body,
                headers: Some(OwnedHeaders::new().insert(Header {
                    key: "seq",
                    value: Some(seq.as_str()),
                })),
            });
        }
        produce_all(&producer, out)
            .await
            .map_err(|e| format!("events topic {topic}: {e}"))?;
        shared
            .metrics
            .kafka_events_produced
            .inc_by(bodies.len() as u64);
        delivered = last;
        let store = shared.store.clone();
        blocking(move || store.set_cursor(CURSOR, last)).await?;
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("store: {e}"))
}

/// The `seq` header of the last message on each partition of `topic` (0
/// for an empty partition); the vector's length is the partition count.
pub fn last_seqs(k: &KafkaConfig, topic: &str) -> Result<Vec<u64>, String> {
    let consumer: BaseConsumer = client_config(k)
        .set("group.id", format!("{}-events-readback", k.group))
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| format!("cannot make the read-back consumer: {e}"))?;
    let meta = consumer
        .fetch_metadata(Some(topic), CALL)
        .map_err(|e| format!("no metadata for {topic}: {e}"))?;
    let count = meta
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len())
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("topic {topic} does not exist (create it with its partitions)"))?;
    let mut out = vec![0u64; count];
    for (p, last) in out.iter_mut().enumerate() {
        let p = p as i32;
        let (low, high) = consumer
            .fetch_watermarks(topic, p, CALL)
            .map_err(|e| format!("no watermarks for {topic}/{p}: {e}"))?;
        if high <= low {
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p, Offset::Offset(high - 1))
            .map_err(|e| e.to_string())?;
        consumer.assign(&tpl).map_err(|e| e.to_string())?;
        let until = std::time::Instant::now() + CALL;
        loop {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) if m.partition() == p && m.offset() == high - 1 => {
                    *last = seq_header(&m)
                        .ok_or_else(|| format!("{topic}/{p} offset {}: no seq header", high - 1))?;
                    break;
                }
                Some(Err(e)) => return Err(format!("reading {topic}/{p}: {e}")),
                _ if std::time::Instant::now() > until => {
                    return Err(format!("reading {topic}/{p}: no message at {}", high - 1));
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// The `seq` header of a produced event.
pub fn seq_header(m: &impl Message) -> Option<u64> {
    let headers = m.headers()?;
    headers
        .iter()
        .find(|h| h.key == "seq")
        .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse().ok())
}
