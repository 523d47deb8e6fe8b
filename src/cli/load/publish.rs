//! One publish stream of a load run: a sender paced to its share of the
//! offered rate, and the ack reader beside it timing every batch from the
//! moment it was handed to the stream.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use hdrhistogram::Histogram;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use super::pool::{Pool, RunTag};
use super::report::{self, AckTotals};
use crate::cli::conn::Conn;
use crate::proto;
use crate::proto::alert_ingest_client::AlertIngestClient;

/// Batches handed to a stream and not yet taken by the transport.
const IN_FLIGHT: usize = 64;

/// What the streams and the watch of one run share.
#[derive(Default)]
pub struct SendLog {
    /// Batch number → when it was handed to its stream. Keyed by batch,
    /// not by alert: the alerts of a batch leave together, and a run of a
    /// million alerts keeps ten thousand entries, not a million.
    sends: Mutex<HashMap<u64, Instant>>,
    /// Alerts handed to the streams.
    pub sent: AtomicU64,
    /// Alerts acked.
    pub acked: AtomicU64,
    /// Alerts seen on the watch.
    pub tasks: AtomicU64,
}

impl SendLog {
    /// When batch `k` was handed to its stream.
    pub fn sent_at(&self, k: u64) -> Option<Instant> {
        self.lock().get(&k).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Instant>> {
        // The map stays whole if a holder panicked: inserts and reads only.
        self.sends.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The schedule of one stream.
#[derive(Clone, Debug)]
pub struct StreamPlan {
    /// This stream's number, which is also its first batch number.
    pub index: u64,
    /// Streams in the run: batch numbers step by this.
    pub streams: u64,
    /// Alerts per batch.
    pub batch: usize,
    /// First send.
    pub start: Instant,
    /// Time between two batches of this stream; `None`: as fast as the
    /// stream takes them.
    pub period: Option<Duration>,
    /// No batch is sent at or after this.
    pub deadline: Instant,
}

/// What one stream measured.
pub struct StreamOutcome {
    /// Ack latency per alert, µs.
    pub ack: Histogram<u64>,
    /// The acks added up.
    pub totals: AckTotals,
    /// Furthest the sender fell behind its schedule.
    pub behind: Duration,
    /// When the last ack came.
    pub last_ack: Option<Instant>,
    /// Alerts sent.
    pub sent: u64,
}

/// Runs one publish stream over its own connection to the end of `plan`
/// and until every batch is acked.
pub async fn run(
    conn: Conn,
    pool: Arc<Pool>,
    tag: RunTag,
    plan: StreamPlan,
    log: Arc<SendLog>,
) -> anyhow::Result<StreamOutcome> {
    let mut client =
        AlertIngestClient::new(conn.channel().await?).max_encoding_message_size(64 * 1024 * 1024);
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let mut acks = client
        .publish(conn.request(ReceiverStream::new(rx))?)
        .await
        .map_err(refused)?
        .into_inner();
    let sender = tokio::spawn(send(tx, pool, tag, plan, log.clone()));
    let mut out = StreamOutcome {
        ack: report::histogram(),
        totals: AckTotals::default(),
        behind: Duration::ZERO,
        last_ack: None,
        sent: 0,
    };
    while let Some(ack) = acks.message().await.map_err(refused)? {
        let now = Instant::now();
        let n = u64::from(ack.accepted) + ack.rejections.len() as u64;
        if let Some(at) = log.sent_at(ack.sequence) {
            report::record(&mut out.ack, (now - at).as_micros(), n);
        }
        out.totals.add(&ack);
        out.last_ack = Some(now);
        log.acked.fetch_add(n, Ordering::Relaxed);
    }
    (out.sent, out.behind) = sender.await.context("sender task failed")?;
    Ok(out)
}

/// Hands batches to the stream on `plan`'s schedule; returns the alerts
/// sent and how far it fell behind. A sender that is behind catches up at
/// once (the offered rate is kept, not silently lowered).
async fn send(
    tx: mpsc::Sender<proto::AlertBatch>,
    pool: Arc<Pool>,
    tag: RunTag,
    plan: StreamPlan,
    log: Arc<SendLog>,
) -> (u64, Duration) {
    let (mut k, mut next, mut sent, mut behind) = (plan.index, plan.start, 0u64, Duration::ZERO);
    tokio::time::sleep_until(plan.start).await;
    loop {
        if let Some(period) = plan.period {
            if next >= plan.deadline {
                break;
            }
            tokio::time::sleep_until(next).await;
            behind = behind.max(Instant::now().saturating_duration_since(next));
            next += period;
        } else if Instant::now() >= plan.deadline {
            break;
        }
        let batch = pool.batch(&tag, k, plan.batch);
        let n = batch.alerts.len() as u64;
        log.lock().insert(k, Instant::now());
        if tx.send(batch).await.is_err() {
            // The server ended the stream; the ack reader says why.
            break;
        }
        sent += n;
        log.sent.fetch_add(n, Ordering::Relaxed);
        k += plan.streams;
    }
    (sent, behind)
}

/// A refusal worded for the person running the tool.
fn refused(s: tonic::Status) -> anyhow::Error {
    match s.code() {
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => anyhow::anyhow!(
            "the server refused to publish ({:?}: {}); pass a publisher token with --token or DUALWARN_PUBLISH_TOKEN",
            s.code(),
            s.message()
        ),
        code => anyhow::anyhow!("publish stream failed ({code:?}): {}", s.message()),
    }
}
