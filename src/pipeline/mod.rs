//! The pure core of the flow, in stage order:
//! [`mod@prepare`] runs normalize → enrich → match on a batch (stateless, on the
//! ingest side of the queue); [`writer`] runs decide → dispatch on the one
//! writer thread and produces the [`crate::store::Commit`] to persist.

pub mod prepare;
pub mod shadow;
pub mod writer;

pub use prepare::{Prepared, PreparedBatch, prepare};
pub use writer::{BatchCounts, Covered, WriteError, Writer};
