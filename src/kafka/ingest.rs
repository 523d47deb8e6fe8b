//! Kafka ingest: messages of the `[kafka]` topics, read by one consumer in
//! the group, gathered into batches (`batch` alerts or `linger` after the
//! first), and handed to the same prepare → writer path as a gRPC publish.
//! A few batches are in flight; their acks come in order. The offsets of a
//! batch are committed only after its alerts are durable and its rejected
//! alerts are on the dead-letter topic, so a crash re-reads the batch and
//! the store's `source/source_id` dedupe makes the re-read harmless.
//!
//! Backpressure is pausing: while the writer queue is full, or a source's
//! rate limit is spent, the consumer's partitions are paused (nothing is
//! fetched), and resumed when there is room. A writer failure drops the
//! batches in flight and restarts the consumer from the committed offsets.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};

use super::dead_letter::{self, DeadLetter};
use super::{client_config, decode, retention};
use crate::api::ingest::{Pending, ack, submit};
use crate::app::Shared;
use crate::config::KafkaConfig;
use crate::error::Error;
use crate::model::mask;
use crate::proto;

/// Batches between submit and commit.
const IN_FLIGHT: usize = 8;
/// Pause after a consumer error before reading on.
const ERROR_PAUSE: Duration = Duration::from_millis(200);
/// Wait before the consumer is made again after a failure.
const RESTART_AFTER: Duration = Duration::from_secs(1);

/// Where a batch's alert came from.
#[derive(Clone, Debug)]
struct Origin {
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
}

/// A batch handed to the writer, with what its commit needs.
struct InFlight {
    pending: Pending,
    /// Batch position → its message.
    origins: Vec<Origin>,
    /// Messages that never reached the batch, already dead letters.
    unreadable: Vec<(Option<Vec<u8>>, DeadLetter)>,
    /// Next offset per (topic, partition) once this batch is done.
    next: BTreeMap<(String, i32), i64>,
}

/// Runs Kafka ingest until `stop` fires: makes the consumer, and makes it
/// again after a failure (from the committed offsets).
pub async fn run(
    shared: Arc<Shared>,
    k: KafkaConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // Beside ingest, never in its way (a broker may be slow to answer).
    tokio::spawn({
        let (k, keep) = (k.clone(), shared.config.alert_retention);
        async move { retention::check(&k, keep).await }
    });
    loop {
        match consume(&shared, &k, &mut stop).await {
            Ok(()) => return,
            Err(e) => {
                shared.metrics.kafka_restarts.inc();
                tracing::warn!(error = %e, "kafka ingest restarts from the committed offsets");
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(RESTART_AFTER) => {}
        }
    }
}

/// One consumer's life: Ok at `stop`, Err on a failure that needs a fresh
/// start from the committed offsets.
async fn consume(
    shared: &Arc<Shared>,
    k: &KafkaConfig,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    let consumer: Arc<StreamConsumer> = client_config(k)
        .set("group.id", &k.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // What librdkafka fetches ahead is bounded: the rest waits on the broker.
        .set("queued.max.messages.kbytes", "16384")
        .create()
        .map(Arc::new)
        .map_err(|e| format!("cannot make the consumer: {e}"))?;
    let producer: FutureProducer = client_config(k)
        .set("enable.idempotence", "true")
        .create()
        .map_err(|e| format!("cannot make the dead-letter producer: {e}"))?;
    let names: Vec<&str> = k.topics.iter().map(|t| t.name.as_str()).collect();
    consumer
        .subscribe(&names)
        .map_err(|e| format!("cannot subscribe to {names:?}: {e}"))?;
    tracing::info!(topics = ?names, group = %k.group, "kafka ingest consuming");
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut sequence = 0u64;
    loop {
        // Idle with batches in flight: finish them rather than wait.
        let wait_first = if in_flight.is_empty() {
            None
        } else {
            Some(k.linger)
        };
        let gathered = tokio::select! {
            _ = stop.changed() => None,
            g = gather(&consumer, k, wait_first, &shared.metrics) => Some(g?),
        };
        let Some((batch, origins, unreadable, next)) = gathered else {
            // Stopping: what is in flight is finished, and its offsets
            // committed before the consumer leaves (a graceful restart
            // then re-reads nothing).
            let mut last = BTreeMap::new();
            while let Some(f) = in_flight.pop_front() {
                last.extend(f.next.clone());
                finish(shared, &consumer, &producer, k, f).await?;
            }
            if !last.is_empty() {
                let consumer = consumer.clone();
                tokio::task::spawn_blocking(move || commit(&consumer, &last, CommitMode::Sync))
                    .await
                    .map_err(|e| e.to_string())??;
            }
            return Ok(());
        };
        if origins.is_empty() && unreadable.is_empty() {
            match in_flight.pop_front() {
                Some(f) => finish(shared, &consumer, &producer, k, f).await?,
                // Only an error ends a wait with nothing in flight.
                None => tokio::time::sleep(ERROR_PAUSE).await,
            }
            continue;
        }
        let batch = proto::AlertBatch {
            sequence,
            alerts: batch,
        };
        sequence += 1;
        let pending = hand_over(shared, &consumer, batch).await?;
        in_flight.push_back(InFlight {
            pending,
            origins,
            unreadable,
            next,
        });
        if in_flight.len() >= IN_FLIGHT
            && let Some(f) = in_flight.pop_front()
        {
            finish(shared, &consumer, &producer, k, f).await?;
        }
    }
}

type Gathered = (
    Vec<proto::Alert>,
    Vec<Origin>,
    Vec<(Option<Vec<u8>>, DeadLetter)>,
    BTreeMap<(String, i32), i64>,
);

/// Reads up to `batch` messages: waits for the first (at most `first`
/// when given), then up to `linger` for the rest.
async fn gather(
    consumer: &StreamConsumer,
    k: &KafkaConfig,
    first: Option<Duration>,
    metrics: &crate::metrics::Metrics,
) -> Result<Gathered, String> {
    let mut out: Gathered = Default::default();
    let first_msg = match first {
        None => Some(consumer.recv().await),
        Some(w) => tokio::time::timeout(w, consumer.recv()).await.ok(),
    };
    let first_msg = match first_msg {
        None => return Ok(out),
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            transient(&e, metrics);
            return Ok(out);
        }
    };
    take(k, first_msg, &mut out);
    let deadline = tokio::time::Instant::now() + k.linger;
    while out.1.len() + out.2.len() < k.batch {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(m)) => take(k, m, &mut out),
            Ok(Err(e)) => {
                transient(&e, metrics);
                break;
            }
            Err(_) => break,
        }
    }
    Ok(out)
}

/// A consumer error (a broker down, a connection lost): librdkafka
/// reconnects by itself, and nothing read is lost, so the consumer goes on;
/// a pause keeps an error that repeats from spinning.
fn transient(e: &KafkaError, metrics: &crate::metrics::Metrics) {
    metrics.kafka_errors.inc();
    tracing::warn!(error = %e, "kafka consumer error; librdkafka reconnects, reading goes on");
}

fn kafka_error(e: KafkaError) -> String {
    format!("kafka: {e}")
}

/// Adds one message to the batch, or to the dead letters.
fn take(k: &KafkaConfig, m: BorrowedMessage<'_>, out: &mut Gathered) {
    let origin = Origin {
        topic: m.topic().to_string(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
    };
    out.3
        .insert((origin.topic.clone(), origin.partition), origin.offset + 1);
    let read = match k.topic(&origin.topic) {
        Some(t) => decode::alert(t, m.payload()),
        None => Err(decode::Unreadable {
            field: "topic",
            reason: format!("topic {:?} is not in [kafka] topics", origin.topic),
        }),
    };
    match read {
        Ok(alert) => {
            out.0.push(alert);
            out.1.push(origin);
        }
        Err(u) => out.2.push((
            origin.key.clone(),
            DeadLetter {
                topic: origin.topic,
                partition: origin.partition,
                offset: origin.offset,
                field: u.field.into(),
                reason: u.reason,
                source_id: String::new(),
            },
        )),
    }
}

/// Queues the batch to the writer; pauses the partitions while the queue
/// is full or a rate limit is spent.
async fn hand_over(
    shared: &Arc<Shared>,
    consumer: &StreamConsumer,
    batch: proto::AlertBatch,
) -> Result<Pending, String> {
    let mut paused: Option<TopicPartitionList> = None;
    let pause = |paused: &mut Option<TopicPartitionList>, why: &str| -> Result<(), String> {
        if paused.is_none() {
            let parts = consumer.assignment().map_err(kafka_error)?;
            consumer.pause(&parts).map_err(kafka_error)?;
            shared.metrics.kafka_pauses.inc();
            tracing::debug!(why, partitions = parts.count(), "kafka partitions paused");
            *paused = Some(parts);
        }
        Ok(())
    };
    if shared.jobs.capacity() == 0 {
        pause(&mut paused, "writer queue full")?;
    }
    // Without rate limits nothing is retried: no copy of the batch.
    let result = if shared.ingest.limiter.is_empty() {
        submit(shared, batch, None, None).await
    } else {
        loop {
            match submit(shared, batch.clone(), None, None).await {
                Err(Error::Exhausted { what, retry_after }) => {
                    pause(&mut paused, "rate limit")?;
                    tracing::debug!(limit = %what, "kafka ingest waits for its rate limit");
                    tokio::time::sleep(retry_after).await;
                }
                other => break other,
            }
        }
    };
    if let Some(parts) = paused {
        consumer.resume(&parts).map_err(kafka_error)?;
    }
    result.map_err(|e| format!("batch not taken: {e}"))
}

/// Waits for a batch to be durable, dead-letters its rejections, and
/// commits its offsets.
async fn finish(
    shared: &Shared,
    consumer: &StreamConsumer,
    producer: &FutureProducer,
    k: &KafkaConfig,
    f: InFlight,
) -> Result<(), String> {
    let acked = ack(f.pending)
        .await
        .map_err(|e| format!("batch not durable: {e}"))?;
    let mut letters = f.unreadable;
    for r in &acked.rejections {
        let Some(o) = f.origins.get(r.index as usize) else {
            continue;
        };
        letters.push((
            o.key.clone(),
            DeadLetter {
                topic: o.topic.clone(),
                partition: o.partition,
                offset: o.offset,
                field: r.field.clone(),
                reason: mask::bounded(&r.reason, 500),
                source_id: r.source_id.clone(),
            },
        ));
    }
    if !letters.is_empty() {
        dead_letter::send(producer, &k.dead_letter_topic, &letters).await?;
        shared
            .metrics
            .kafka_dead_letters
            .inc_by(letters.len() as u64);
    }
    tracing::debug!(
        batch = acked.sequence,
        messages = f.origins.len(),
        accepted = acked.accepted,
        duplicates = acked.duplicates,
        rejected = acked.rejections.len(),
        next = ?f.next,
        "kafka batch durable"
    );
    commit(consumer, &f.next, CommitMode::Async)
}

/// Commits the next offset of each (topic, partition).
fn commit(
    consumer: &StreamConsumer,
    next: &BTreeMap<(String, i32), i64>,
    mode: CommitMode,
) -> Result<(), String> {
    let mut offsets = TopicPartitionList::new();
    for ((topic, partition), next) in next {
        offsets
            .add_partition_offset(topic, *partition, Offset::Offset(*next))
            .map_err(kafka_error)?;
    }
    consumer
        .commit(&offsets, mode)
        .map_err(|e| format!("cannot commit offsets: {e}"))
}
