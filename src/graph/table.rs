//! The open-addressing table under the graph's two lookups, the key table
//! (`keys`) and the link index (`links`): linear probing over small `Copy`
//! slots that carry 32 bits of their key's hash. A probe compares those
//! bits in the slot itself and reads nothing else until they match, so a
//! lookup at 10 M nodes costs one cache miss for the slot instead of the two
//! (control byte, then bucket) of a SIMD-group table; the leading bits of
//! the tag pick the home slot, so growing re-homes every slot without
//! reading a key again. Removal shifts the run back (no tombstones).

/// A slot of a [`SlotTable`].
pub trait Slot: Copy + Default {
    /// The top 32 bits of the key's hash (see [`tag_of`]).
    fn tag(&self) -> u32;
    /// True for an empty slot (`Default` makes one).
    fn is_vacant(&self) -> bool;
}

/// Bytes of a cache line.
const LINE_BYTES: usize = 64;
/// Fewest slots of a table holding anything (as a power of two).
const MIN_BITS: u32 = 4;
/// Most slots: tags have 32 bits, and indices are `u32` anyway.
const MAX_BITS: u32 = 32;

/// The tag of a 64-bit hash: its top 32 bits after a full mix (murmur3's
/// finalizer), so tags and home slots are spread even when the hash's own
/// high bits are not (FxHash keeps its entropy in the middle).
pub fn tag_of(hash: u64) -> u32 {
    let mut h = hash;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h >> 32) as u32
}

/// Linear probing over `2^bits` slots, at most 7/8 full.
#[derive(Clone, Debug, Default)]
pub struct SlotTable<S> {
    slots: Vec<S>,
    len: usize,
    bits: u32,
}

impl<S: Slot> SlotTable<S> {
    /// A table with room for `n` slots before it grows.
    pub fn with_capacity(n: usize) -> SlotTable<S> {
        let mut t = SlotTable {
            slots: Vec::new(),
            len: 0,
            bits: 0,
        };
        t.reserve(n);
        t
    }

    /// Slots in use.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Slots that may be used before the table grows.
    pub fn capacity(&self) -> usize {
        max_len(self.bits, self.slots.len())
    }

    /// Bytes allocated.
    pub fn allocated_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<S>()
    }

    fn home(&self, tag: u32) -> usize {
        // `bits` is at least MIN_BITS whenever there are slots.
        (tag >> (MAX_BITS - self.bits)) as usize
    }

    /// Position of the first slot with `tag` that `eq` accepts.
    pub fn find(&self, tag: u32, mut eq: impl FnMut(&S) -> bool) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(tag);
        loop {
            let s = &self.slots[i];
            if s.is_vacant() {
                return None;
            }
            if s.tag() == tag && eq(s) {
                return Some(i);
            }
            // Never full (7/8 at most): a vacant slot ends every run.
            i = (i + 1) & mask;
        }
    }

    /// Reads the home slot of `tag` and the line after ([`SlotTable::peek`]),
    /// so a lookup soon after finds them in cache: several touches in a row
    /// wait for memory together.
    pub fn touch(&self, tag: u32) {
        std::hint::black_box(self.peek(tag));
    }

    /// The tags in the home slot of `tag` and one cache line on (a run
    /// often reaches it), xor'd; 0 when there are no slots. A plain read
    /// for a tight loop of many, whose misses then overlap: the caller
    /// folds the results into one value it keeps.
    pub fn peek(&self, tag: u32) -> u32 {
        if self.slots.is_empty() {
            return 0;
        }
        let home = self.home(tag);
        let on = (home + LINE_BYTES / std::mem::size_of::<S>().max(1)) & (self.slots.len() - 1);
        self.slots[home].tag() ^ self.slots[on].tag()
    }

    /// The slot at `pos` (from [`SlotTable::find`]).
    pub fn get(&self, pos: usize) -> &S {
        &self.slots[pos]
    }

    /// Every slot in use, in table order, mutably (the tag must stay).
    pub fn slots_mut(&mut self) -> impl Iterator<Item = &mut S> {
        self.slots.iter_mut().filter(|s| !s.is_vacant())
    }

    /// Adds `slot`, whose key the caller knows is absent; returns where.
    pub fn insert(&mut self, slot: S) -> usize {
        self.reserve(1);
        let pos = self.vacant_from(self.home(slot.tag()));
        self.slots[pos] = slot;
        self.len += 1;
        pos
    }

    fn vacant_from(&self, mut i: usize) -> usize {
        let mask = self.slots.len() - 1;
        while !self.slots[i].is_vacant() {
            i = (i + 1) & mask;
        }
        i
    }

    /// Empties the slot at `pos`, moving later slots of the run back so
    /// every lookup still reaches its slot without passing a hole.
    pub fn remove_at(&mut self, pos: usize) {
        let mask = self.slots.len() - 1;
        let mut hole = pos;
        let mut j = pos;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s.is_vacant() {
                break;
            }
            // `s` may fill the hole when its home is not after the hole
            // (cyclically): probing from its home passes the hole first.
            let from_home = j.wrapping_sub(self.home(s.tag())) & mask;
            let from_hole = j.wrapping_sub(hole) & mask;
            if from_home >= from_hole {
                self.slots[hole] = s;
                hole = j;
            }
        }
        self.slots[hole] = S::default();
        self.len -= 1;
    }

    /// Makes room for `additional` more slots without growing again.
    pub fn reserve(&mut self, additional: usize) {
        let need = self.len.saturating_add(additional);
        if need <= self.capacity() {
            return;
        }
        let mut bits = self.bits.max(MIN_BITS);
        while bits < MAX_BITS && need > max_len(bits, 1 << bits) {
            bits += 1;
        }
        self.rehome(bits);
    }

    /// Moves every slot into a table of `2^bits` slots. The old slots come
    /// in about home order, so the new table fills about front to back.
    fn rehome(&mut self, bits: u32) {
        let old = std::mem::replace(&mut self.slots, vec![S::default(); 1 << bits]);
        self.bits = bits;
        for s in old.into_iter().filter(|s| !s.is_vacant()) {
            let pos = self.vacant_from(self.home(s.tag()));
            self.slots[pos] = s;
        }
    }
}

/// Most slots used in a table of `slots` (`2^bits`) slots: 7/8 of them.
fn max_len(bits: u32, slots: usize) -> usize {
    if bits == 0 {
        return 0;
    }
    slots - slots / 8
}
