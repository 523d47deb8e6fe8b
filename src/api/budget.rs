//! The byte budget of ingest: memory held by batches between decode and
//! ack, in KiB permits of one semaphore. Once a batch is decoded, its
//! reader takes what the batch and everything made from it take until the
//! ack is sent (see [`footprint`]). A spent budget stops a stream from
//! reading its next batch (backpressure) or answers RESOURCE_EXHAUSTED to
//! a `Submit` that waited [`SUBMIT_WAIT`]. What is decoded but still
//! waiting is bounded by the number of ingest calls (`max_ingest_calls`).

use std::mem::size_of;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::Error;
use crate::proto;

const KIB: usize = 1024;

/// Heap overhead counted per allocation (allocator header and rounding).
const PER_ALLOCATION: usize = 16;

/// What is made from a decoded batch until its ack (the normalized
/// alerts, their stored JSON, the store's dirty pages until commit, and
/// allocator slack), as a multiple of the decoded batch. Measured with
/// tests/ingest_memory.rs: RSS grew by about 7 times the decoded size of
/// the batches in flight.
const MADE_FACTOR: usize = 7;

/// How long `Submit` waits for the budget before RESOURCE_EXHAUSTED.
pub const SUBMIT_WAIT: Duration = Duration::from_secs(2);

/// The budget, shared by every ingest call.
#[derive(Clone, Debug)]
pub struct ByteBudget {
    permits: Arc<Semaphore>,
    total_kib: usize,
}

/// Budget held by one request; returned when dropped.
#[derive(Debug)]
pub struct Held(OwnedSemaphorePermit);

impl Held {
    /// KiB held.
    pub fn kib(&self) -> usize {
        self.0.num_permits()
    }
}

impl ByteBudget {
    /// A budget of `total` bytes.
    pub fn new(total: usize) -> ByteBudget {
        let total_kib = (total / KIB).clamp(1, Semaphore::MAX_PERMITS);
        ByteBudget {
            permits: Arc::new(Semaphore::new(total_kib)),
            total_kib,
        }
    }

    /// KiB not held by anyone now.
    pub fn available_kib(&self) -> usize {
        self.permits.available_permits()
    }

    /// The whole budget, in KiB.
    pub fn total_kib(&self) -> usize {
        self.total_kib
    }

    fn kib_of(&self, bytes: usize) -> u32 {
        // A batch larger than the whole budget takes all of it.
        let kib = bytes.div_ceil(KIB).clamp(1, self.total_kib);
        u32::try_from(kib).unwrap_or(u32::MAX)
    }

    /// Waits until `bytes` are free and holds them.
    pub async fn take(&self, bytes: usize) -> Held {
        match self
            .permits
            .clone()
            .acquire_many_owned(self.kib_of(bytes))
            .await
        {
            Ok(p) => Held(p),
            // The semaphore is never closed.
            Err(_) => unreachable!("the ingest budget semaphore is never closed"),
        }
    }

    /// Like [`ByteBudget::take`], giving up after `wait` with
    /// RESOURCE_EXHAUSTED and a retry hint.
    pub async fn take_within(&self, bytes: usize, wait: Duration) -> Result<Held, Error> {
        tokio::time::timeout(wait, self.take(bytes))
            .await
            .map_err(|_| Error::Exhausted {
                what: format!(
                    "ingest memory budget of {} MiB is in use by other requests",
                    self.total_kib / KIB
                ),
                retry_after: Duration::from_secs(1),
            })
    }
}

fn text(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        s.len() + PER_ALLOCATION
    }
}

fn artefact(a: &proto::Artefact) -> usize {
    size_of::<proto::Artefact>() + text(&a.value)
}

/// Bytes a decoded batch takes in memory with its prepared form.
pub fn footprint(batch: &proto::AlertBatch) -> usize {
    let mut bytes = size_of::<proto::AlertBatch>();
    for a in &batch.alerts {
        bytes += size_of::<proto::Alert>() + text(&a.source) + text(&a.source_id);
        bytes += text(&a.fraud_type_hint);
        if let Some(s) = &a.subject {
            bytes += size_of::<proto::Subject>() + PER_ALLOCATION;
            for f in [
                &s.phone,
                &s.id_hash,
                &s.name,
                &s.division_code,
                &s.grid_id,
                &s.address,
            ] {
                bytes += text(f);
            }
        }
        bytes += a.counterparts.iter().map(artefact).sum::<usize>() + PER_ALLOCATION;
        for l in &a.links {
            bytes += size_of::<proto::Link>();
            bytes += l.from.as_ref().map_or(0, artefact) + l.to.as_ref().map_or(0, artefact);
        }
        for (k, v) in &a.attributes {
            // A hash map entry: two strings and the table slot.
            bytes += 2 * size_of::<String>() + 8 + text(k) + text(v);
        }
    }
    bytes * (1 + MADE_FACTOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_spent_budget_gives_resource_exhausted_with_a_hint() {
        let b = ByteBudget::new(512 * KIB);
        let _one = b.take(256 * KIB).await;
        let _two = b.take(256 * KIB).await;
        let e = b
            .take_within(KIB, Duration::from_millis(20))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Exhausted { .. }), "{e}");
        let status = tonic::Status::from(e);
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.metadata().get("retry-after-ms").is_some());
    }

    #[tokio::test]
    async fn a_waiting_reader_goes_on_when_budget_returns() {
        let b = ByteBudget::new(512 * KIB);
        let one = b.take(300 * KIB).await;
        let waiter = tokio::spawn({
            let b = b.clone();
            async move { b.take(300 * KIB).await.kib() }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(one);
        assert_eq!(waiter.await.unwrap(), 300);
        assert_eq!(b.available_kib(), 512);
    }

    #[tokio::test]
    async fn a_batch_over_the_whole_budget_takes_all_of_it() {
        let b = ByteBudget::new(512 * KIB);
        let all = b.take(10 * 1024 * KIB).await;
        assert_eq!((all.kib(), b.available_kib()), (512, 0));
    }

    #[test]
    fn footprint_grows_with_content() {
        let small = proto::AlertBatch {
            sequence: 1,
            alerts: vec![proto::Alert::default()],
        };
        let mut big = small.clone();
        big.alerts[0]
            .attributes
            .insert("k".into(), "v".repeat(10_000));
        assert!(footprint(&big) > footprint(&small) + 2 * 10_000);
    }
}
