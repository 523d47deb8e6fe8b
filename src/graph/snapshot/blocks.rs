//! Reading a snapshot in large blocks, its FNV-1a checksum kept on a
//! second thread: the parser hands each block on once it has read past it,
//! so summing 1.4 GB (about 2 s, one byte at a time by its definition)
//! overlaps rebuilding the graph instead of adding to it. Fields are taken
//! from the block in memory, not by a `read` call each.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender};

use super::Fnv;

/// Bytes read from the file at a time.
pub const BLOCK: usize = 4 << 20;
/// Blocks waiting for the checksum thread before the parser waits for it.
pub const QUEUE: usize = 4;

/// A block parsed past, and how many of its bytes belong to the body.
pub type Parsed = (Vec<u8>, usize);

/// The parser's side: the current block and where it is in it.
pub struct Blocks<R> {
    inner: R,
    /// Bytes to read at a time ([`BLOCK`]; tests use a few).
    size: usize,
    block: Vec<u8>,
    pos: usize,
    to_sum: SyncSender<Parsed>,
    spare: Receiver<Vec<u8>>,
}

impl<R: Read> Blocks<R> {
    /// Reads `inner` `size` bytes at a time, sending blocks parsed past to
    /// `to_sum` and taking emptied ones back from `spare`.
    pub fn new(
        inner: R,
        size: usize,
        to_sum: SyncSender<Parsed>,
        spare: Receiver<Vec<u8>>,
    ) -> Blocks<R> {
        Blocks {
            inner,
            size,
            block: Vec::new(),
            pos: 0,
            to_sum,
            spare,
        }
    }

    /// Makes at least `n` unread bytes available: hands the block on, keeps
    /// its unread tail, reads on. `UnexpectedEof` when the file ends first.
    fn fill(&mut self, n: usize) -> io::Result<()> {
        let mut next = self.spare.try_recv().unwrap_or_default();
        next.clear();
        next.reserve(self.size.max(n));
        next.extend_from_slice(&self.block[self.pos..]);
        let parsed = std::mem::replace(&mut self.block, next);
        if self.pos > 0 {
            // The checksum thread only stops early when the load is over.
            let _ = self.to_sum.send((parsed, self.pos));
        }
        self.pos = 0;
        while self.block.len() < n {
            let room = (self.size.max(n) - self.block.len()) as u64;
            if (&mut self.inner).take(room).read_to_end(&mut self.block)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "failed to fill whole buffer",
                ));
            }
        }
        Ok(())
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.block.len() - self.pos < n {
            self.fill(n)?;
        }
        let at = self.pos;
        self.pos += n;
        Ok(&self.block[at..at + n])
    }

    /// The next `N` bytes.
    pub fn take<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// The next byte.
    pub fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take::<1>()?[0])
    }
    /// The next little-endian `u16`.
    pub fn u16(&mut self) -> io::Result<u16> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    /// The next little-endian `u32`.
    pub fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    /// The next little-endian `u64`.
    pub fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    /// Ends the body here: hands its last bytes on and returns the 8 bytes
    /// after it (the checksum, which is not part of what it sums).
    pub fn finish(mut self) -> io::Result<[u8; 8]> {
        if self.block.len() - self.pos < 8 {
            self.fill(8)?;
        }
        let mut sum = [0u8; 8];
        sum.copy_from_slice(&self.block[self.pos..self.pos + 8]);
        let _ = self
            .to_sum
            .send((std::mem::take(&mut self.block), self.pos));
        Ok(sum)
    }
}

/// The checksum thread: FNV-1a over the body bytes of every block, in
/// order, until the parser hangs up; blocks go back to `spare` for reuse.
pub fn sum(parsed: Receiver<Parsed>, spare: SyncSender<Vec<u8>>) -> u64 {
    let mut fnv = Fnv::new(());
    for (block, body) in parsed {
        fnv.feed(&block[..body]);
        // A full or closed return queue only means a fresh block next time.
        let _ = spare.try_send(block);
    }
    fnv.hash
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

    use super::*;

    /// Reads `fields` (widths 1, 2, 4, 8 or a run of bytes) back from their
    /// bytes with blocks of `size`, and the checksum of all but the last 8.
    fn read_back(bytes: &[u8], widths: &[usize], size: usize) -> (Vec<Vec<u8>>, [u8; 8], u64) {
        std::thread::scope(|s| {
            let (to_sum, parsed) = sync_channel(QUEUE);
            let (spare, emptied) = sync_channel(QUEUE + 1);
            let summer = s.spawn(move || sum(parsed, spare));
            let mut r = Blocks::new(bytes, size, to_sum, emptied);
            let got = widths
                .iter()
                .map(|&w| match w {
                    2 => r.u16().unwrap().to_le_bytes().to_vec(),
                    4 => r.u32().unwrap().to_le_bytes().to_vec(),
                    8 => r.u64().unwrap().to_le_bytes().to_vec(),
                    w => r.bytes(w).unwrap().to_vec(),
                })
                .collect();
            let tail = r.finish().unwrap();
            (got, tail, summer.join().unwrap())
        })
    }

    #[test]
    fn fields_across_block_edges_read_back_and_sum_as_one_pass() {
        let bytes: Vec<u8> = (0..600u32).map(|i| (i * 7 % 251) as u8).collect();
        let widths = [1, 2, 4, 8, 3, 17, 0, 4, 8, 2, 255, 1, 9];
        let body: usize = widths.iter().sum();
        let mut whole = Fnv::new(());
        whole.feed(&bytes[..body]);
        for size in [1, 2, 3, 5, 8, 64, 1 << 20] {
            let (got, tail, sum) = read_back(&bytes, &widths, size);
            let mut at = 0;
            for (field, &w) in got.iter().zip(&widths) {
                assert_eq!(field.as_slice(), &bytes[at..at + w], "size {size}");
                at += w;
            }
            assert_eq!(tail.as_slice(), &bytes[body..body + 8], "size {size}");
            assert_eq!(sum, whole.hash, "size {size}");
        }
    }

    #[test]
    fn a_body_cut_short_is_an_unexpected_end() {
        let bytes = [1u8; 10];
        std::thread::scope(|s| {
            let (to_sum, parsed) = sync_channel(QUEUE);
            let (spare, emptied) = sync_channel(QUEUE + 1);
            let summer = s.spawn(move || sum(parsed, spare));
            let mut r = Blocks::new(&bytes[..], 4, to_sum, emptied);
            assert_eq!(r.u64().unwrap(), u64::from_le_bytes([1; 8]));
            let e = r.u32().unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
            drop(r);
            summer.join().unwrap();
        });
    }
}
