//! `AlertIngest`: the ingest edge, behind the gate (publisher, budget). Each
//! batch is checked against its source's rate limit, prepared (normalize →
//! enrich → match) on a blocking worker with the publisher's sources,
//! queued to the writer through the bounded job queue (a full queue slows
//! the publisher), and acked only once the writer reports it durable. Its
//! share of the byte budget is held until then. A stream keeps a few
//! batches in flight and acks them in order, and reads the next batch only
//! when the budget has room for it.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::budget::{Held, SUBMIT_WAIT, footprint};
use super::gate::{CallSlot, Publisher};
use crate::app::{Job, Shared, now_ms};
use crate::error::Error;
use crate::metrics::{FieldLabel, Metrics};
use crate::pipeline::{BatchCounts, prepare};
use crate::proto;
use crate::proto::alert_ingest_server::AlertIngest;

/// Batches of one stream in flight between prepare and ack.
const IN_FLIGHT_PER_STREAM: usize = 8;

/// The ingest service.
pub struct IngestService {
    shared: Arc<Shared>,
}

impl IngestService {
    /// Serves ingest over `shared`.
    pub fn new(shared: Arc<Shared>) -> IngestService {
        IngestService { shared }
    }
}

/// A batch handed to the writer, waiting for its durable reply.
pub(crate) struct Pending {
    sequence: u64,
    rejections: Vec<proto::Rejection>,
    reply: oneshot::Receiver<Result<BatchCounts, Error>>,
    /// When `submit` started, for the batch latency.
    started: Instant,
    /// Where the ack counts the batch's outcome.
    metrics: Arc<Metrics>,
    /// The batch's share of the byte budget, returned after the ack.
    _held: Held,
}

/// Alerts per source in `batch`, when any source is limited.
fn per_source<'b>(
    shared: &Shared,
    batch: &'b proto::AlertBatch,
    publisher: Option<&Publisher>,
) -> Vec<(&'b str, u32)> {
    if shared.ingest.limiter.is_empty() {
        return Vec::new();
    }
    let mut counts: rustc_hash::FxHashMap<&str, u32> = Default::default();
    // Alerts of a source the publisher may not send are refused anyway;
    // they must not spend that source's own allowance.
    let allowed = |s: &str| publisher.is_none_or(|p| p.sources.contains(s));
    for a in batch.alerts.iter().filter(|a| allowed(&a.source)) {
        *counts.entry(a.source.as_str()).or_default() += 1;
    }
    counts.into_iter().collect()
}

/// Prepares a batch off the async threads and queues it; returns when queued.
pub(crate) async fn submit(
    shared: &Arc<Shared>,
    batch: proto::AlertBatch,
    publisher: Option<Arc<Publisher>>,
    wait: Option<std::time::Duration>,
) -> Result<Pending, Error> {
    let started = Instant::now();
    let max = shared.config.max_batch;
    if batch.alerts.len() > max {
        return Err(Error::invalid(
            "alerts",
            format!(
                "batch {} holds {} alerts, at most {max}",
                batch.sequence,
                batch.alerts.len()
            ),
        ));
    }
    // Room in the byte budget for all that is made from the batch.
    let budget = &shared.ingest.budget;
    let bytes = footprint(&batch);
    let held = match wait {
        None => budget.take(bytes).await,
        Some(w) => budget.take_within(bytes, w).await?,
    };
    // The limiter never waits: taken after the budget, a batch refused
    // for memory has not spent its source's allowance.
    shared
        .ingest
        .limiter
        .take(&per_source(shared, &batch, publisher.as_deref()), now_ms())
        .map_err(|e| match e {
            Error::Exhausted { what, retry_after } => Error::Exhausted {
                what: format!("batch {}: {what}", batch.sequence),
                retry_after,
            },
            other => other,
        })?;
    // Taken: from here each alert is accepted or rejected.
    let arrived_at_ms = (shared.clock)();
    let metrics = shared.metrics.clone();
    metrics.alerts_received.inc_by(batch.alerts.len() as u64);
    let s = shared.clone();
    let mut prepared = tokio::task::spawn_blocking(move || {
        let checks = crate::normalize::Checks {
            sources: publisher.as_deref().map(|p| &p.sources),
            ..s.checks(now_ms())
        };
        prepare(&batch, &s.directory.load(), checks)
    })
    .await
    .map_err(|e| Error::Unavailable(format!("prepare task failed: {e}")))?;
    prepared.arrived_at_ms = arrived_at_ms;
    count_rejections(&metrics, &prepared.rejections);
    // The writer needs the items only; rejections stay here for the ack.
    let rejections = std::mem::take(&mut prepared.rejections);
    let sequence = prepared.sequence;
    let (tx, reply) = oneshot::channel();
    let job = Job::Batch {
        batch: prepared,
        reply: tx,
    };
    shared
        .jobs
        .send(job)
        .await
        .map_err(|_| Error::Unavailable("writer stopped".into()))?;
    Ok(Pending {
        sequence,
        rejections,
        reply,
        started,
        metrics,
        _held: held,
    })
}

/// Counts a batch's rejections: one update per field named, not per alert.
fn count_rejections(metrics: &Metrics, rejections: &[proto::Rejection]) {
    let mut by_field: rustc_hash::FxHashMap<&str, u64> = Default::default();
    for r in rejections {
        *by_field.entry(r.field.as_str()).or_default() += 1;
    }
    for (field, n) in by_field {
        let label = FieldLabel {
            field: metric_field(field),
        };
        metrics.alerts_rejected.get_or_create(&label).inc_by(n);
    }
}

/// A rejection's field as a label from a fixed set: positions and attribute
/// names come from the sender, and must not grow the figures without bound
/// (`links[3].from.value` → `links[].from.value`, `attributes.x` → `attributes`).
fn metric_field(field: &str) -> String {
    if field.starts_with("attributes") {
        return "attributes".into();
    }
    let mut out = String::with_capacity(field.len());
    let mut in_index = false;
    for c in field.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            _ if in_index => {}
            c => out.push(c),
        }
    }
    out
}

/// Waits for durability and builds the ack.
pub(crate) async fn ack(p: Pending) -> Result<proto::PublishAck, Error> {
    let counts = p
        .reply
        .await
        .map_err(|_| Error::Unavailable("writer stopped".into()))??;
    let m = &p.metrics;
    // What the batch did is counted by the writer once durable, acked or not.
    m.batch_seconds.observe(p.started.elapsed().as_secs_f64());
    let mut rejections = p.rejections;
    for (index, key) in &counts.reused {
        let source_id = key.split_once('/').map_or(key.as_str(), |(_, id)| id);
        rejections.push(proto::Rejection {
            index: *index,
            source_id: crate::model::mask::echo(source_id),
            field: "source_id".into(),
            reason: "source_id: reused with different content; a re-send must repeat the record exactly, a new record needs a new id".into(),
        });
    }
    rejections.sort_by_key(|r| r.index);
    Ok(proto::PublishAck {
        sequence: p.sequence,
        accepted: counts.accepted,
        duplicates: counts.duplicates,
        reused: counts.reused.len() as u32,
        rejections,
        pairs_created: counts.pairs_created,
        merged: counts.merged,
    })
}

type AckStream = Pin<Box<dyn Stream<Item = Result<proto::PublishAck, Status>> + Send>>;

#[tonic::async_trait]
impl AlertIngest for IngestService {
    type PublishStream = AckStream;

    async fn publish(
        &self,
        request: Request<Streaming<proto::AlertBatch>>,
    ) -> Result<Response<AckStream>, Status> {
        let publisher = request.extensions().get::<Arc<Publisher>>().cloned();
        let slot = request.extensions().get::<CallSlot>().cloned();
        let mut inbound = request.into_inner();
        let (pending_tx, mut pending_rx) =
            mpsc::channel::<Result<Pending, Error>>(IN_FLIGHT_PER_STREAM);
        let (ack_tx, ack_rx) =
            mpsc::channel::<Result<proto::PublishAck, Status>>(IN_FLIGHT_PER_STREAM);
        let shared = self.shared.clone();
        tokio::spawn(async move {
            // The last batch that decoded, to name where a broken stream broke.
            let mut last: Option<u64> = None;
            // The call's slot lives as long as the stream is read.
            let _slot = slot;
            while let Some(next) = inbound.next().await {
                let item = match next {
                    Ok(batch) => {
                        last = Some(batch.sequence);
                        // A spent budget waits here: the stream is not read
                        // on until the batch has room (backpressure).
                        submit(&shared, batch, publisher.clone(), None).await
                    }
                    Err(status) => {
                        tracing::warn!(code = ?status.code(), "publish stream broke; ending it with an error");
                        let after = last.map_or("at the first batch".to_string(), |s| {
                            format!("after batch {s}")
                        });
                        // Never a clean end: the client must know that what
                        // follows was not read.
                        Err(Error::invalid(
                            "batch",
                            format!(
                                "the stream broke {after}: {}; nothing after it was read, resend from there",
                                crate::model::mask::bounded(status.message(), 80)
                            ),
                        ))
                    }
                };
                let failed = item.is_err();
                if pending_tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            while let Some(item) = pending_rx.recv().await {
                let out = match item {
                    Ok(p) => ack(p).await.map_err(Status::from),
                    Err(e) => Err(Status::from(e)),
                };
                let failed = out.is_err();
                // A failed send means the client left.
                if ack_tx.send(out).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(ack_rx))))
    }

    async fn submit(
        &self,
        request: Request<proto::AlertBatch>,
    ) -> Result<Response<proto::PublishAck>, Status> {
        let publisher = request.extensions().get::<Arc<Publisher>>().cloned();
        let pending = submit(
            &self.shared,
            request.into_inner(),
            publisher,
            Some(SUBMIT_WAIT),
        )
        .await?;
        Ok(Response::new(ack(pending).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::metric_field;

    #[test]
    fn rejection_labels_come_from_a_fixed_set_whatever_the_sender_sends() {
        assert_eq!(metric_field("subject.phone"), "subject.phone");
        assert_eq!(metric_field("links[12].from.value"), "links[].from.value");
        assert_eq!(metric_field("counterparts[0].kind"), "counterparts[].kind");
        assert_eq!(metric_field("attributes.k9f3a"), "attributes");
    }
}
