//! Compact storage of node keys (kind + normalized value) for the
//! account-link graph: every value lives once in one byte arena, and the
//! lookup table holds only 4-byte node indices, hashing the arena bytes.
//! This keeps a 10-million-node graph's keys near 25 bytes per node instead
//! of a `String` and a map entry each.

use std::hash::{BuildHasher, Hasher};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use super::NodeKind;

/// Longest value kept, in bytes; longer values are cut at a character
/// boundary (URLs arrive as hosts, so this only trims hostile input).
pub const MAX_VALUE_BYTES: usize = 255;

/// Where one node's value sits in the arena.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeySpan {
    /// Offset of the first byte.
    pub at: u32,
    /// Length in bytes.
    pub len: u8,
}

fn span_bytes(arena: &[u8], span: KeySpan) -> &[u8] {
    let at = span.at as usize;
    arena.get(at..at + span.len as usize).unwrap_or_default()
}

/// The values of all live nodes, and the table from (kind, value) to node.
#[derive(Default)]
pub struct Keys {
    arena: Vec<u8>,
    /// Bytes of the arena still used by live nodes; the rest is garbage
    /// left by removed nodes, reclaimed by [`Keys::compact`].
    live_bytes: usize,
    table: HashTable<u32>,
}

/// Hash of a node key.
pub fn key_hash(kind: NodeKind, value: &[u8]) -> u64 {
    let mut h = FxBuildHasher.build_hasher();
    h.write_u8(kind as u8);
    h.write(value);
    h.finish()
}

/// Cuts `value` to at most [`MAX_VALUE_BYTES`] on a character boundary.
pub fn clip(value: &str) -> &str {
    if value.len() <= MAX_VALUE_BYTES {
        return value;
    }
    let mut end = MAX_VALUE_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

impl Keys {
    /// The bytes of `span`.
    pub fn value(&self, span: KeySpan) -> &[u8] {
        span_bytes(&self.arena, span)
    }

    /// The node holding (kind, value); `kind_value(ix)` gives any node's key.
    pub fn find(
        &self,
        kind: NodeKind,
        value: &[u8],
        kind_span: impl Fn(u32) -> (NodeKind, KeySpan),
    ) -> Option<u32> {
        let hash = key_hash(kind, value);
        self.table
            .find(hash, |&ix| {
                let (k, span) = kind_span(ix);
                k == kind && self.value(span) == value
            })
            .copied()
    }

    /// Stores `value` and returns its span (the caller then calls [`Keys::index`]).
    pub fn push_value(&mut self, value: &[u8]) -> KeySpan {
        let value = &value[..value.len().min(MAX_VALUE_BYTES)];
        if self.arena.len() + value.len() > u32::MAX as usize {
            // The offsets are u32: a 4 GiB arena would have to be compacted
            // first; callers compact well before (see `needs_compaction`).
            return KeySpan::default();
        }
        let at = self.arena.len() as u32;
        self.arena.extend_from_slice(value);
        self.live_bytes += value.len();
        KeySpan {
            at,
            len: value.len() as u8,
        }
    }

    /// Makes node `ix` (already holding its key) findable; `kind_span`
    /// gives any node's key, for moving entries when the table grows.
    pub fn index(&mut self, ix: u32, hash: u64, kind_span: impl Fn(u32) -> (NodeKind, KeySpan)) {
        let Keys { arena, table, .. } = self;
        table.insert_unique(hash, ix, |&i| {
            let (k, span) = kind_span(i);
            key_hash(k, span_bytes(arena, span))
        });
    }

    /// Forgets node `ix` with key hash `hash`; its arena bytes become garbage.
    pub fn remove(&mut self, ix: u32, hash: u64, len: u8) {
        if let Ok(entry) = self.table.find_entry(hash, |&i| i == ix) {
            entry.remove();
            self.live_bytes = self.live_bytes.saturating_sub(len as usize);
        }
    }

    /// True when more than half the arena is garbage and it is worth copying.
    pub fn needs_compaction(&self) -> bool {
        self.arena.len() > 1 << 20 && self.live_bytes * 2 < self.arena.len()
    }

    /// Copies the live values into a fresh arena; `spans` are every live
    /// node's span offset and length, offsets rewritten in place.
    pub fn compact<'s>(&mut self, spans: impl Iterator<Item = (&'s mut u32, u8)>) {
        let mut arena = Vec::with_capacity(self.live_bytes);
        for (at, len) in spans {
            let old = KeySpan { at: *at, len };
            *at = arena.len() as u32;
            arena.extend_from_slice(span_bytes(&self.arena, old));
        }
        self.live_bytes = arena.len();
        self.arena = arena;
    }

    /// Number of keys indexed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Bytes allocated: the arena's capacity and the table's buckets
    /// (4 bytes and one control byte each).
    pub fn allocated_bytes(&self) -> usize {
        self.arena.capacity() + self.table.capacity() * (4 + 1)
    }

    /// Reserves room for `nodes` more keys of about `avg_len` bytes.
    pub fn reserve(
        &mut self,
        nodes: usize,
        avg_len: usize,
        kind_span: impl Fn(u32) -> (NodeKind, KeySpan),
    ) {
        let Keys { arena, table, .. } = self;
        arena.reserve(nodes * avg_len);
        table.reserve(nodes, |&i| {
            let (k, span) = kind_span(i);
            key_hash(k, span_bytes(arena, span))
        });
    }
}
