//! One [`WindowStore`] as bytes, for the windows snapshot
//! ([`super::snapshot`]). Only what an exact query can still reach is
//! written: events at or before the store's horizon (and keys left with
//! none) are left out, so a loaded store answers every `value(k, t)` with
//! `t >= watermark - lateness` exactly as the saved one did.
//!
//! Layout, little-endian: aggregate code, duration, watermark, the three
//! counters, the number of keys; then per key its hash, its number of events
//! and each event: the time as a LEB128 varint (the first one back from the
//! watermark, the next ones forward from the previous event: both small),
//! then the payload (Count: none; Distinct: the 8-byte hash; Sum: the
//! amount's bits byte-swapped as a varint, short for round amounts).

use std::collections::VecDeque;
use std::io::{self, BufRead, Read, Write};

use super::{Agg, Event, KeyEvents, WindowLimits, WindowStore};

/// Most bytes of a LEB128 `u64`.
const VARINT_MAX: usize = 10;
/// Fewest bytes a key takes: its hash, an event count, one time.
const MIN_KEY_BYTES: u64 = 10;

/// What [`WindowStore::encode`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Encoded {
    /// Keys written.
    pub keys: u64,
    /// Events written.
    pub events: u64,
}

fn agg_code(agg: Agg) -> u8 {
    match agg {
        Agg::Count => 0,
        Agg::Distinct => 1,
        Agg::Sum => 2,
    }
}

fn agg_of(code: u8) -> Option<Agg> {
    match code {
        0 => Some(Agg::Count),
        1 => Some(Agg::Distinct),
        2 => Some(Agg::Sum),
        _ => None,
    }
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn bad(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

impl WindowStore {
    /// Writes the store's reachable state to `out`; `scratch` is reused
    /// between keys (one write per key).
    pub(super) fn encode(
        &self,
        out: &mut impl Write,
        scratch: &mut Vec<u8>,
    ) -> io::Result<Encoded> {
        let horizon = self.horizon();
        // Events are sorted, so a key with its newest event at or before the
        // horizon has nothing left to save.
        let live = |s: &&KeyEvents| s.newest_ms() > horizon;
        let keys = self.slots.iter().filter(live).count() as u64;
        scratch.clear();
        scratch.push(agg_code(self.agg));
        for x in [self.duration_ms, self.watermark_ms] {
            scratch.extend_from_slice(&x.to_le_bytes());
        }
        for x in [self.dropped_late, self.evicted_cap, self.evicted_keys, keys] {
            scratch.extend_from_slice(&x.to_le_bytes());
        }
        out.write_all(scratch)?;
        let mut events = 0u64;
        for s in self.slots.iter().filter(live) {
            let from = s.events.partition_point(|e| e.at_ms <= horizon);
            let kept = s.events.range(from..);
            scratch.clear();
            scratch.extend_from_slice(&s.key.to_le_bytes());
            put_varint(scratch, kept.len() as u64);
            let mut prev = self.watermark_ms;
            for e in kept {
                // Every event is at or before the watermark, and sorted:
                // back from the watermark first, then forward.
                put_varint(scratch, prev.abs_diff(e.at_ms));
                prev = e.at_ms;
                match self.agg {
                    Agg::Count => {}
                    Agg::Distinct => scratch.extend_from_slice(&e.payload.to_le_bytes()),
                    Agg::Sum => put_varint(scratch, e.payload.swap_bytes()),
                }
            }
            events += (s.events.len() - from) as u64;
            out.write_all(scratch)?;
        }
        Ok(Encoded { keys, events })
    }

    /// Reads a store written by [`WindowStore::encode`], bounded by
    /// `limits` (those it was saved under). Nothing read is trusted yet (the
    /// checksum comes last): counts are checked against `file_len` before
    /// they size anything, and times must stay sorted and within the
    /// watermark.
    pub(super) fn decode<R: BufRead>(
        r: &mut Decoder<R>,
        limits: WindowLimits,
        file_len: u64,
    ) -> io::Result<WindowStore> {
        let code = r.u8()?;
        let agg = agg_of(code).ok_or_else(|| bad(format!("aggregate code {code}")))?;
        let (duration_ms, watermark_ms) = (r.i64()?, r.i64()?);
        let mut w = WindowStore::new(agg, duration_ms, limits);
        w.watermark_ms = watermark_ms;
        (w.dropped_late, w.evicted_cap, w.evicted_keys) = (r.u64()?, r.u64()?, r.u64()?);
        let keys = r.u64()?;
        if keys > w.limits.max_keys as u64 || keys > file_len / MIN_KEY_BYTES {
            return Err(bad(format!("{keys} keys: beyond the key cap or the file")));
        }
        w.slots.reserve_exact(keys as usize);
        w.index.reserve(keys as usize);
        for _ in 0..keys {
            let key = r.u64()?;
            let events = w.decode_events(r)?;
            if w.index.insert(key, w.slots.len()).is_some() {
                return Err(bad(format!("key {key:#x} appears twice")));
            }
            w.events += events.len();
            w.slots.push(KeyEvents {
                key,
                oldest_ms: events.front().map_or(i64::MAX, |e| e.at_ms),
                events,
            });
        }
        Ok(w)
    }

    /// One key's events, as [`WindowStore::encode`] wrote them.
    fn decode_events<R: BufRead>(&self, r: &mut Decoder<R>) -> io::Result<VecDeque<Event>> {
        let n = r.varint()?;
        if n == 0 || n > self.limits.max_events_per_key as u64 {
            return Err(bad(format!("a key with {n} events")));
        }
        let mut events = VecDeque::with_capacity(n as usize);
        let mut prev = self.watermark_ms;
        for i in 0..n {
            let step = r.varint()?;
            let at_ms = if i == 0 {
                prev.checked_sub_unsigned(step)
            } else {
                prev.checked_add_unsigned(step)
                    .filter(|&t| t <= self.watermark_ms)
            }
            .ok_or_else(|| bad("event time beyond the watermark"))?;
            let payload = match self.agg {
                Agg::Count => 0,
                Agg::Distinct => r.u64()?,
                Agg::Sum => r.varint()?.swap_bytes(),
            };
            events.push_back(Event { at_ms, payload });
            prev = at_ms;
        }
        Ok(events)
    }
}

/// Reads fixed-width numbers and varints from a buffered reader, counting
/// the bytes taken (the caller checks the body ends where the file says).
pub(super) struct Decoder<R> {
    inner: R,
    /// Bytes taken so far.
    pub taken: u64,
}

impl<R: BufRead> Decoder<R> {
    /// A decoder at the start of `inner`.
    pub fn new(inner: R) -> Self {
        Decoder { inner, taken: 0 }
    }

    /// The reader, for the checksum after the body.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// `N` bytes.
    pub fn take<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut buf = [0u8; N];
        self.inner.read_exact(&mut buf)?;
        self.taken += N as u64;
        Ok(buf)
    }

    /// `n` bytes, read in bounded steps so a damaged length cannot make a
    /// large allocation before the file runs out.
    pub fn bytes(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        let got = (&mut self.inner).take(n as u64).read_to_end(&mut buf)?;
        self.taken += got as u64;
        if got < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(buf)
    }

    /// One byte.
    pub fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take::<1>()?[0])
    }
    /// A little-endian `u32`.
    pub fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    /// A little-endian `u64`.
    pub fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    /// A little-endian `i64`.
    pub fn i64(&mut self) -> io::Result<i64> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    /// A LEB128 `u64`: straight from the buffer when it holds the longest
    /// one, byte by byte near its end.
    pub fn varint(&mut self) -> io::Result<u64> {
        let buf = self.inner.fill_buf()?;
        if buf.len() >= VARINT_MAX {
            let (v, len) = varint_in(&buf[..VARINT_MAX])?;
            self.inner.consume(len);
            self.taken += len as u64;
            return Ok(v);
        }
        let mut v = 0u64;
        for i in 0..VARINT_MAX {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return check_last(v, i, b);
            }
        }
        Err(bad("varint longer than 10 bytes"))
    }
}

/// The varint at the start of `buf` (which holds at least the longest) and
/// its length.
fn varint_in(buf: &[u8]) -> io::Result<(u64, usize)> {
    let mut v = 0u64;
    for (i, &b) in buf.iter().enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return check_last(v, i, b).map(|v| (v, i + 1));
        }
    }
    Err(bad("varint longer than 10 bytes"))
}

/// The tenth byte of a varint may hold one bit only.
fn check_last(v: u64, i: usize, b: u8) -> io::Result<u64> {
    if i == VARINT_MAX - 1 && b > 1 {
        return Err(bad("varint beyond 64 bits"));
    }
    Ok(v)
}
