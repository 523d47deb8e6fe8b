//! Compact storage of node keys (kind + normalized value) for the
//! account-link graph: every value lives once in one byte arena, and the
//! lookup table ([`SlotTable`]) holds 16-byte slots naming the node, where
//! its value sits, its kind, length and 32 bits of its hash. A lookup reads
//! one slot, then the value, and the node only when the caller touches it:
//! at 10 M nodes that is two cache misses where a `String` key, or a table
//! of bare node indices, takes three or four. Keys cost about 40 bytes per
//! node (value, slot at 7/8 load at most).

use std::hash::{BuildHasher, Hasher};

use rustc_hash::FxBuildHasher;

use super::NodeKind;
use super::table::{Slot, SlotTable, tag_of};

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

/// One entry of the key table.
#[derive(Clone, Copy, Debug, Default)]
struct KeySlot {
    /// Node index + 1; 0 for an empty slot.
    node: u32,
    /// Where the value sits in the arena (the node's `key_at` too).
    at: u32,
    /// [`key_tag`] of the key.
    tag: u32,
    /// The node's kind, as its byte.
    kind: u8,
    /// Length of the value.
    len: u8,
}

impl Slot for KeySlot {
    fn tag(&self) -> u32 {
        self.tag
    }
    fn is_vacant(&self) -> bool {
        self.node == 0
    }
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
    table: SlotTable<KeySlot>,
}

/// The 32-bit tag of a node key: what the key table compares and homes by.
pub fn key_tag(kind: NodeKind, value: &[u8]) -> u32 {
    let mut h = FxBuildHasher.build_hasher();
    h.write_u8(kind as u8);
    h.write(value);
    tag_of(h.finish())
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

    /// The node holding (kind, value).
    pub fn find(&self, kind: NodeKind, value: &[u8]) -> Option<u32> {
        self.find_tagged(key_tag(kind, value), kind, value)
    }

    /// [`Keys::find`] with the tag already computed.
    pub fn find_tagged(&self, tag: u32, kind: NodeKind, value: &[u8]) -> Option<u32> {
        let arena = &self.arena;
        let pos = self.table.find(tag, |s| {
            s.kind == kind as u8
                && s.len as usize == value.len()
                && span_bytes(
                    arena,
                    KeySpan {
                        at: s.at,
                        len: s.len,
                    },
                ) == value
        })?;
        Some(self.table.get(pos).node - 1)
    }

    /// Reads the table slot where a lookup of `tag` starts (see
    /// [`SlotTable::touch`]).
    pub fn touch(&self, tag: u32) {
        self.table.touch(tag);
    }

    /// The node and value offset of the first slot tagged `tag`: the node a
    /// lookup of a key with that tag most likely finds, unchecked.
    pub fn candidate(&self, tag: u32) -> Option<(u32, u32)> {
        let pos = self.table.find(tag, |_| true)?;
        let s = self.table.get(pos);
        Some((s.node - 1, s.at))
    }

    /// Reads the first byte of the value at offset `at`, so a comparison
    /// soon after finds it in cache.
    pub fn touch_value(&self, at: u32) {
        if let Some(b) = self.arena.get(at as usize) {
            std::hint::black_box(*b);
        }
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

    /// Makes node `ix` of `kind`, its value at `span`, findable by `tag`
    /// (the [`key_tag`] of its key; the key must not be in the table yet).
    pub fn index(&mut self, ix: u32, kind: NodeKind, span: KeySpan, tag: u32) {
        self.table.insert(KeySlot {
            node: ix + 1,
            at: span.at,
            tag,
            kind: kind as u8,
            len: span.len,
        });
    }

    /// Forgets node `ix` with key tag `tag`; its arena bytes become garbage.
    pub fn remove(&mut self, ix: u32, tag: u32, len: u8) {
        if let Some(pos) = self.table.find(tag, |s| s.node == ix + 1) {
            self.table.remove_at(pos);
            self.live_bytes = self.live_bytes.saturating_sub(len as usize);
        }
    }

    /// True when more than half the arena is garbage and it is worth copying.
    pub fn needs_compaction(&self) -> bool {
        self.arena.len() > 1 << 20 && self.live_bytes * 2 < self.arena.len()
    }

    /// Copies the live values into a fresh arena. `spans` are every live
    /// node's index and span, by ascending index; returns each node's new
    /// offset, in the same order, for the caller to store.
    pub fn compact(&mut self, spans: impl Iterator<Item = (u32, KeySpan)>) -> Vec<(u32, u32)> {
        let mut arena = Vec::with_capacity(self.live_bytes);
        let mut moved: Vec<(u32, u32)> = Vec::with_capacity(self.table.len());
        for (ix, old) in spans {
            moved.push((ix, arena.len() as u32));
            arena.extend_from_slice(span_bytes(&self.arena, old));
        }
        for s in self.table.slots_mut() {
            if let Ok(i) = moved.binary_search_by_key(&(s.node - 1), |&(ix, _)| ix) {
                s.at = moved[i].1;
            }
        }
        self.live_bytes = arena.len();
        self.arena = arena;
        moved
    }

    /// Number of keys indexed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Bytes allocated: the arena's capacity and the table's slots.
    pub fn allocated_bytes(&self) -> usize {
        self.arena.capacity() + self.table.allocated_bytes()
    }

    /// Reserves room for `nodes` more keys of about `avg_len` bytes.
    pub fn reserve(&mut self, nodes: usize, avg_len: usize) {
        self.arena.reserve(nodes * avg_len);
        self.table.reserve(nodes);
    }
}
