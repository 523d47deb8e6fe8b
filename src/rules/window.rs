//! Event-time sliding windows for the *match* stage: "how many / how many
//! distinct / how much, for this key, over the last D". The matcher adds each
//! alert to every window it feeds ([`WindowStore::add`]) and then reads the
//! values its rules ask for ([`WindowStore::value`]). Pure and synchronous:
//! time is the events' own timestamps, never a clock read. One store per
//! window definition, owned by the writer thread, so no locks.
//!
//! # Invariant
//!
//! For every query time `t >= watermark - allowed_lateness` (the watermark is
//! the largest timestamp added so far), `value(k, t)` equals the aggregate
//! over every *accepted* observation of `k` (`add` returned `true` and no cap
//! evicted it) with a timestamp in `(t - duration, t]`. Expiry only drops
//! events below that reach, so it never changes such an answer.
//!
//! # Bounds
//!
//! [`WindowLimits`] bound memory; every drop and eviction is counted in
//! [`WindowStats`]. Expiry runs a bounded slice of keys every so many adds,
//! so no single add pays for a full pass (except, rarely, when the key cap
//! must choose victims). In the steady state an update does not allocate:
//! buffers of expired keys are reused and the distinct set is only cleared.
//!
//! # Durability
//!
//! The stores are saved beside the graph's snapshot and read back at start
//! ([`snapshot`]), so a restart replays only the alerts logged since.

use std::collections::VecDeque;

use rustc_hash::{FxHashMap, FxHashSet};

mod codec;
pub mod snapshot;

/// Default for [`WindowLimits::allowed_lateness_ms`]: 5 minutes.
pub const DEFAULT_ALLOWED_LATENESS_MS: i64 = 5 * 60 * 1000;
/// Default for [`WindowLimits::max_events_per_key`].
pub const DEFAULT_MAX_EVENTS_PER_KEY: usize = 4096;
/// Default for [`WindowLimits::max_keys`].
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;

/// Every this many adds, a slice of keys is swept for expired events.
const SWEEP_EVERY_ADDS: u32 = 1024;
/// Keys visited per amortized sweep: twice the adds between sweeps, so
/// sweeping outpaces key creation (at most one new key per add).
const SWEEP_SLICE_KEYS: usize = 2 * SWEEP_EVERY_ADDS as usize;
/// Most victims chosen per key-cap sweep; the sweep is O(keys), so choosing
/// many at once keeps its cost per eviction small.
const VICTIM_BATCH_MAX: usize = 65_536;
/// Emptied per-key buffers kept for reuse by new keys.
const SPARE_BUFFERS_MAX: usize = 4096;
/// Larger buffers are freed rather than kept spare (a burst should not pin
/// memory for every later key).
const SPARE_CAPACITY_MAX: usize = 64;
/// A sweep shrinks a key's buffer above this capacity when it is 3/4 empty.
const SHRINK_FLOOR: usize = 64;

/// What a window computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agg {
    /// Number of events.
    Count,
    /// Number of distinct values (by their 64-bit hash).
    Distinct,
    /// Sum of the events' amounts.
    Sum,
}

/// Bounds shared by every window (from config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowLimits {
    /// Events older than `watermark - allowed_lateness_ms` are dropped and
    /// counted; also how far back a query may look and stay exact.
    pub allowed_lateness_ms: i64,
    /// Beyond this many events a key loses its oldest (counted).
    pub max_events_per_key: usize,
    /// Beyond this many keys the key whose newest event is oldest is evicted
    /// (counted).
    pub max_keys: usize,
}

impl Default for WindowLimits {
    fn default() -> Self {
        WindowLimits {
            allowed_lateness_ms: DEFAULT_ALLOWED_LATENESS_MS,
            max_events_per_key: DEFAULT_MAX_EVENTS_PER_KEY,
            max_keys: DEFAULT_MAX_KEYS,
        }
    }
}

/// One observation for a window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    /// Hash of the key the window is kept per (see [`hash_str`]).
    pub key: u64,
    /// Event time, ms since the Unix epoch.
    pub at_ms: i64,
    /// Sum: the amount. Ignored otherwise.
    pub value: f64,
    /// Distinct: 64-bit hash of the value counted. Ignored otherwise.
    pub distinct: u64,
}

/// Counters and sizes of one store, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WindowStats {
    /// Keys held.
    pub keys: usize,
    /// Events held across all keys.
    pub events: usize,
    /// Observations dropped as too late.
    pub dropped_late: u64,
    /// Events evicted by the per-key cap.
    pub evicted_cap: u64,
    /// Keys evicted by the key cap.
    pub evicted_keys: u64,
    /// Rough heap size of the store, in bytes.
    pub approx_bytes: usize,
}

/// One stored event: 16 bytes whatever the aggregate.
#[derive(Clone, Copy, Debug)]
struct Event {
    at_ms: i64,
    /// Sum: the amount's bits; Distinct: the value hash; Count: 0.
    payload: u64,
}

/// One key's events, sorted by time (equal times in arrival order).
#[derive(Debug)]
struct KeyEvents {
    key: u64,
    /// Time of the front event (`i64::MAX` when empty), kept inline so a
    /// sweep passing an unexpired key does not touch its buffer.
    oldest_ms: i64,
    events: VecDeque<Event>,
}

impl KeyEvents {
    /// Pops the events at or before `horizon`; returns how many.
    fn expire(&mut self, horizon: i64) -> usize {
        if self.oldest_ms > horizon {
            return 0;
        }
        let before = self.events.len();
        while self.events.front().is_some_and(|e| e.at_ms <= horizon) {
            self.events.pop_front();
        }
        self.oldest_ms = self.events.front().map_or(i64::MAX, |e| e.at_ms);
        before - self.events.len()
    }

    /// Time of the newest event: what ranks the key for key-cap eviction.
    fn newest_ms(&self) -> i64 {
        self.events.back().map_or(i64::MIN, |e| e.at_ms)
    }

    /// Inserts in time order, first evicting the oldest event if the key
    /// holds `cap`; returns whether an event was evicted (the new one
    /// itself when it is older than all).
    fn insert(&mut self, ev: Event, cap: usize) -> bool {
        let full = self.events.len() >= cap;
        if full {
            if ev.at_ms < self.oldest_ms {
                return true;
            }
            self.events.pop_front();
        }
        if self.events.back().is_none_or(|b| b.at_ms <= ev.at_ms) {
            self.events.push_back(ev);
        } else {
            let at = self.events.partition_point(|e| e.at_ms <= ev.at_ms);
            self.events.insert(at, ev);
        }
        self.oldest_ms = self.events.front().map_or(i64::MAX, |e| e.at_ms);
        full
    }
}

/// One window definition's state across all keys.
#[derive(Debug)]
pub struct WindowStore {
    agg: Agg,
    duration_ms: i64,
    limits: WindowLimits,
    /// Largest timestamp accepted; `i64::MIN` before the first.
    watermark_ms: i64,
    /// Keys in a dense slab so a sweep can resume where it stopped.
    slots: Vec<KeyEvents>,
    /// Key → position in `slots`.
    index: FxHashMap<u64, usize>,
    /// Reused by every distinct-count query.
    scratch: FxHashSet<u64>,
    /// Emptied buffers handed to new keys.
    spare: Vec<VecDeque<Event>>,
    /// Key-cap eviction candidates `(newest_ms, key)`, newest first so
    /// `pop` yields the oldest.
    victims: Vec<(i64, u64)>,
    sweep_cursor: usize,
    adds_since_sweep: u32,
    events: usize,
    dropped_late: u64,
    evicted_cap: u64,
    evicted_keys: u64,
}

impl WindowStore {
    /// An empty store. Caps below 1 and a negative lateness are raised to
    /// 1 and 0.
    pub fn new(agg: Agg, duration_ms: i64, limits: WindowLimits) -> WindowStore {
        let limits = WindowLimits {
            allowed_lateness_ms: limits.allowed_lateness_ms.max(0),
            max_events_per_key: limits.max_events_per_key.max(1),
            max_keys: limits.max_keys.max(1),
        };
        WindowStore {
            agg,
            duration_ms,
            limits,
            watermark_ms: i64::MIN,
            slots: Vec::new(),
            index: FxHashMap::default(),
            scratch: FxHashSet::default(),
            spare: Vec::new(),
            victims: Vec::new(),
            sweep_cursor: 0,
            adds_since_sweep: 0,
            events: 0,
            dropped_late: 0,
            evicted_cap: 0,
            evicted_keys: 0,
        }
    }

    /// What the window computes.
    pub fn agg(&self) -> Agg {
        self.agg
    }

    /// How far back the window reaches.
    pub fn duration_ms(&self) -> i64 {
        self.duration_ms
    }

    /// Keys held, each its own sliding window; cheap, unlike [`Self::stats`].
    pub fn key_count(&self) -> usize {
        self.slots.len()
    }

    /// Events held across all keys; cheap, unlike [`Self::stats`].
    pub fn event_count(&self) -> usize {
        self.events
    }

    /// Adds an observation; `false` when it is too late
    /// (`at_ms < watermark - lateness`) and was dropped. An accepted event
    /// older than every event of a full key is evicted at once (counted).
    pub fn add(&mut self, o: Observation) -> bool {
        if o.at_ms < self.late_bound() {
            self.dropped_late += 1;
            return false;
        }
        self.watermark_ms = self.watermark_ms.max(o.at_ms);
        let payload = match self.agg {
            Agg::Count => 0,
            Agg::Distinct => o.distinct,
            Agg::Sum => o.value.to_bits(),
        };
        let i = self.slot_for(o.key);
        self.insert_event(
            i,
            Event {
                at_ms: o.at_ms,
                payload,
            },
        );
        self.adds_since_sweep += 1;
        if self.adds_since_sweep >= SWEEP_EVERY_ADDS {
            self.adds_since_sweep = 0;
            self.sweep(SWEEP_SLICE_KEYS);
        }
        true
    }

    /// Aggregate over the key's events with time in `(at_ms - duration,
    /// at_ms]`; 0 for an unknown key. Exact for `at_ms >= watermark -
    /// lateness` (see the module invariant).
    pub fn value(&mut self, key: u64, at_ms: i64) -> f64 {
        let Some(&i) = self.index.get(&key) else {
            return 0.0;
        };
        let events = &self.slots[i].events;
        let from = at_ms.saturating_sub(self.duration_ms);
        let lo = events.partition_point(|e| e.at_ms <= from);
        let hi = events.partition_point(|e| e.at_ms <= at_ms);
        if hi <= lo {
            return 0.0;
        }
        let in_range = events.range(lo..hi);
        match self.agg {
            Agg::Count => (hi - lo) as f64,
            Agg::Sum => in_range.map(|e| f64::from_bits(e.payload)).sum(),
            Agg::Distinct => {
                self.scratch.clear();
                self.scratch.extend(in_range.map(|e| e.payload));
                self.scratch.len() as f64
            }
        }
    }

    /// Drops, over every key, the events no exact query can reach any more
    /// (`at_ms <= watermark - lateness - duration`) and keys left empty.
    /// `add` does the same a bounded slice of keys at a time; this is the
    /// full pass.
    pub fn expire(&mut self) {
        self.sweep_cursor = 0;
        self.sweep(usize::MAX);
    }

    /// Counters and sizes. Walks every key for the byte estimate: meant for
    /// a metrics scrape, not per alert.
    pub fn stats(&self) -> WindowStats {
        let event_slots: usize = self
            .slots
            .iter()
            .map(|s| s.events.capacity())
            .sum::<usize>()
            + self.spare.iter().map(VecDeque::capacity).sum::<usize>();
        let approx_bytes = event_slots * size_of::<Event>()
            + self.slots.capacity() * size_of::<KeyEvents>()
            + self.index.capacity() * (size_of::<(u64, usize)>() + 1)
            + self.scratch.capacity() * (size_of::<u64>() + 1)
            + self.spare.capacity() * size_of::<VecDeque<Event>>()
            + self.victims.capacity() * size_of::<(i64, u64)>();
        WindowStats {
            keys: self.slots.len(),
            events: self.events,
            dropped_late: self.dropped_late,
            evicted_cap: self.evicted_cap,
            evicted_keys: self.evicted_keys,
            approx_bytes,
        }
    }

    /// Oldest timestamp still accepted.
    fn late_bound(&self) -> i64 {
        self.watermark_ms
            .saturating_sub(self.limits.allowed_lateness_ms)
    }

    /// Events at or before this time are out of every exact query's reach.
    fn horizon(&self) -> i64 {
        self.late_bound().saturating_sub(self.duration_ms.max(0))
    }

    /// The key's slot, created (evicting another key if full) when new.
    fn slot_for(&mut self, key: u64) -> usize {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.make_room();
        let events = self.spare.pop().unwrap_or_default();
        self.slots.push(KeyEvents {
            key,
            oldest_ms: i64::MAX,
            events,
        });
        let i = self.slots.len() - 1;
        self.index.insert(key, i);
        i
    }

    /// Drops the key's expired events, then inserts (evicting its oldest
    /// event if it is full).
    fn insert_event(&mut self, i: usize, ev: Event) {
        let horizon = self.horizon();
        let s = &mut self.slots[i];
        self.events -= s.expire(horizon);
        if s.insert(ev, self.limits.max_events_per_key) {
            self.evicted_cap += 1;
        } else {
            self.events += 1;
        }
    }

    /// Expires up to `budget` keys from the sweep cursor on, stopping (and
    /// rewinding) at the end of the slab.
    fn sweep(&mut self, budget: usize) {
        let horizon = self.horizon();
        for _ in 0..budget {
            if self.sweep_cursor >= self.slots.len() {
                self.sweep_cursor = 0;
                return;
            }
            // A removed slot is refilled by the last one: visit it again.
            if !self.expire_slot(self.sweep_cursor, horizon) {
                self.sweep_cursor += 1;
            }
        }
    }

    /// Drops the slot's expired events; removes the slot if that empties
    /// it (returns `true`), else shrinks a mostly empty buffer.
    fn expire_slot(&mut self, i: usize, horizon: i64) -> bool {
        let s = &mut self.slots[i];
        self.events -= s.expire(horizon);
        if s.events.is_empty() {
            self.remove_slot(i);
            return true;
        }
        let (len, cap) = (s.events.len(), s.events.capacity());
        if cap > SHRINK_FLOOR && len * 4 < cap {
            s.events.shrink_to((len * 2).max(SHRINK_FLOOR));
        }
        false
    }

    /// Removes a slot, moving the last one into its place.
    fn remove_slot(&mut self, i: usize) {
        let mut gone = self.slots.swap_remove(i);
        self.index.remove(&gone.key);
        if let Some(moved) = self.slots.get(i)
            && let Some(pos) = self.index.get_mut(&moved.key)
        {
            *pos = i;
        }
        self.events -= gone.events.len();
        gone.events.clear();
        let small = gone.events.capacity() <= SPARE_CAPACITY_MAX;
        if small && self.spare.len() < SPARE_BUFFERS_MAX {
            self.spare.push(gone.events);
        }
    }

    /// Evicts keys until a new one fits: the cheapest first (empty keys, by
    /// a full expiry), then the victims of the last key-cap sweep, oldest
    /// newest-event first, skipping any touched since.
    fn make_room(&mut self) {
        while self.slots.len() >= self.limits.max_keys {
            let Some((newest_ms, key)) = self.victims.pop() else {
                self.choose_victims();
                continue;
            };
            if let Some(&i) = self.index.get(&key)
                && self.slots[i].newest_ms() == newest_ms
            {
                self.remove_slot(i);
                self.evicted_keys += 1;
            }
        }
    }

    /// Full expiry, then, if still full, picks the keys whose newest events
    /// are oldest: a batch so the O(keys) pass is paid once per many
    /// evictions. Right after it the first victim is always current.
    fn choose_victims(&mut self) {
        self.expire();
        self.victims.clear();
        if self.slots.len() < self.limits.max_keys {
            return;
        }
        self.victims
            .extend(self.slots.iter().map(|s| (s.newest_ms(), s.key)));
        let batch = (self.limits.max_keys / 16).clamp(1, VICTIM_BATCH_MAX);
        if batch < self.victims.len() {
            self.victims.select_nth_unstable(batch);
            self.victims.truncate(batch);
        }
        self.victims.sort_unstable_by(|a, b| b.cmp(a));
    }
}

/// Stable 64-bit hash (FNV-1a) for window keys and distinct values: fixed
/// by its definition, so equal across runs, builds and platforms.
pub fn hash_str(s: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    s.bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests;
