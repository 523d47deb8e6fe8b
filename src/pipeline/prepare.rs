//! normalize → enrich for one batch: pure and stateless, so it runs
//! on each publisher's task in parallel before the bounded queue to the
//! writer.

use crate::directory::Directory;
use crate::enrich::{Enriched, enrich};
use crate::normalize::{Checks, Rejection, normalize};
use crate::proto;
use crate::store::Digest;
use crate::store::alert_codec::encode_alert;

/// One alert that passed normalize and enrich.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Position in the batch.
    pub index: u32,
    /// The placed alert.
    pub item: Enriched,
    /// The alert encoded for the store, made here because this side runs
    /// in parallel and the writer is serial.
    pub stored: Vec<u8>,
    /// Content hash of the alert in `stored`: a true re-send hashes the same, an id
    /// reused for another record does not.
    pub digest: Digest,
}

/// A batch after the stateless stages.
#[derive(Clone, Debug, Default)]
pub struct PreparedBatch {
    /// Client's batch sequence number.
    pub sequence: u64,
    /// Alerts to decide on, in batch order.
    pub items: Vec<Prepared>,
    /// Alerts refused, with index and reason.
    pub rejections: Vec<proto::Rejection>,
    /// When the engine received the batch, unix ms on the engine's clock:
    /// the start of its alerts' arrival-to-task latency. [`prepare`] sets
    /// the checks' `now`; ingest sets the moment it took the batch.
    pub arrived_at_ms: i64,
}

/// Runs the stateless stages over `batch`; a bad alert never affects the rest.
pub fn prepare(
    batch: &proto::AlertBatch,
    directory: &Directory,
    checks: Checks<'_>,
) -> PreparedBatch {
    let mut out = PreparedBatch {
        sequence: batch.sequence,
        arrived_at_ms: checks.now_ms,
        ..PreparedBatch::default()
    };
    for (i, wire) in batch.alerts.iter().enumerate() {
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        match normalize(wire, checks).and_then(|a| enrich(a, directory)) {
            Ok(item) => {
                let (stored, digest) = encode_alert(&item.alert);
                out.items.push(Prepared {
                    index,
                    item,
                    digest,
                    stored,
                });
            }
            Err(Rejection { field, reason }) => out.rejections.push(proto::Rejection {
                index,
                source_id: crate::model::mask::echo(&wire.source_id),
                field,
                reason,
            }),
        }
    }
    out
}
