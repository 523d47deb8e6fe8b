//! The byte budget of ingest: memory held by requests between decode and
//! ack, in KiB permits of one semaphore. A reader reserves the largest
//! message before it decodes one, then keeps what the decoded batch and its
//! prepared form take until the ack is sent. A spent budget stops reading
//! (streams) or answers RESOURCE_EXHAUSTED (`Submit`).

use std::mem::size_of;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::Error;
use crate::proto;

const KIB: usize = 1024;

/// Heap overhead counted per allocation (allocator header and rounding).
const PER_ALLOCATION: usize = 16;

/// The prepared form (normalized alert, stored JSON) is counted as this
/// many times the decoded batch.
const PREPARED_FACTOR: usize = 2;

/// How long `Submit` waits for the budget before RESOURCE_EXHAUSTED.
pub const SUBMIT_WAIT: Duration = Duration::from_secs(2);

/// The budget, shared by every ingest call.
#[derive(Clone, Debug)]
pub struct ByteBudget {
    permits: Arc<Semaphore>,
    total_kib: usize,
    message_kib: usize,
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
    /// A budget of `total` bytes for messages of at most `max_message` bytes.
    pub fn new(total: usize, max_message: usize) -> ByteBudget {
        let total_kib = (total / KIB).clamp(1, Semaphore::MAX_PERMITS);
        ByteBudget {
            permits: Arc::new(Semaphore::new(total_kib)),
            total_kib,
            message_kib: max_message.div_ceil(KIB).clamp(1, total_kib),
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

    /// Waits for room to decode one message of the largest size.
    pub async fn reserve(&self) -> Held {
        // The semaphore is never closed, so acquiring cannot fail.
        match self
            .permits
            .clone()
            .acquire_many_owned(self.message_kib as u32)
            .await
        {
            Ok(p) => Held(p),
            Err(_) => unreachable!("the ingest budget semaphore is never closed"),
        }
    }

    /// Like [`ByteBudget::reserve`], giving up after `wait` with
    /// RESOURCE_EXHAUSTED and a retry hint.
    pub async fn reserve_within(&self, wait: Duration) -> Result<Held, Error> {
        tokio::time::timeout(wait, self.reserve())
            .await
            .map_err(|_| Error::Exhausted {
                what: format!(
                    "ingest memory budget of {} MiB is in use by other requests",
                    self.total_kib / KIB
                ),
                retry_after: Duration::from_secs(1),
            })
    }

    /// Makes `held` cover `bytes`: returns what it holds beyond, or takes
    /// more if it is free now. It never waits here: the memory is already
    /// allocated, and waiting while holding could deadlock two readers.
    pub fn settle(&self, held: &mut Held, bytes: usize) {
        let want = bytes.div_ceil(KIB).max(1);
        let have = held.kib();
        if want < have {
            drop(held.0.split(have - want));
        } else if want > have {
            let more = (want - have).min(self.total_kib) as u32;
            if let Ok(p) = self.permits.clone().try_acquire_many_owned(more) {
                held.0.merge(p);
            }
        }
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
    bytes * (1 + PREPARED_FACTOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settle_returns_the_unused_part_of_a_reservation() {
        let b = ByteBudget::new(1024 * KIB, 256 * KIB);
        let mut held = b.reserve().await;
        assert_eq!(b.available_kib(), 768);
        b.settle(&mut held, 10 * KIB);
        assert_eq!((held.kib(), b.available_kib()), (10, 1014));
        b.settle(&mut held, 100 * KIB);
        assert_eq!(held.kib(), 100);
        drop(held);
        assert_eq!(b.available_kib(), 1024);
    }

    #[tokio::test]
    async fn a_spent_budget_gives_resource_exhausted_with_a_hint() {
        let b = ByteBudget::new(512 * KIB, 256 * KIB);
        let _one = b.reserve().await;
        let _two = b.reserve().await;
        let e = b
            .reserve_within(Duration::from_millis(20))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Exhausted { .. }), "{e}");
        let status = tonic::Status::from(e);
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.metadata().get("retry-after-ms").is_some());
    }

    #[tokio::test]
    async fn a_waiting_reader_goes_on_when_budget_returns() {
        let b = ByteBudget::new(512 * KIB, 256 * KIB);
        let one = b.reserve().await;
        let _two = b.reserve().await;
        let waiter = tokio::spawn({
            let b = b.clone();
            async move { b.reserve().await.kib() }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(one);
        assert_eq!(waiter.await.unwrap(), 256);
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
