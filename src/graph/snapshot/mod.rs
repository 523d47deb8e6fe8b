//! The graph's durable image: a binary file written whole (temporary file,
//! fsync, rename), read back at start, then brought up to date by replaying
//! the imports and alerts the store logged after the snapshot's checkpoint.
//! A snapshot that does not check (truncated, wrong version, bad checksum)
//! is refused with a reason, and the graph is rebuilt from the store.
//!
//! Layout, little-endian: magic, checkpoint, nodes, links, notes, series,
//! counters, then an FNV-1a checksum of everything before it. Node indices
//! are written as they are and remapped on load.
//!
//! Loading (`blocks`, `read`) reads the file in large blocks with the
//! checksum summed on a second thread, and rebuilds nodes and links a batch
//! at a time with the batch's memory asked for at once: a 50 M-link graph
//! loads in seconds, where reading it field by field and linking it one
//! link at a time took about a minute. The format is the one written since
//! version 3; nothing about it changed.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc::sync_channel;

use petgraph::visit::{EdgeRef, IntoEdgeReferences};

use super::GraphLimits;
use super::links::LinkGraph;
use blocks::Blocks;
use read::read_body;

mod blocks;
mod read;

const MAGIC: &[u8; 8] = b"DWGRAPH\x03";

/// How far the store's logs were applied when a snapshot was taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Last alert log sequence in the graph.
    pub alert_seq: u64,
    /// Last import log sequence in the graph.
    pub import_seq: u64,
}

/// A snapshot that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file could not be read or written.
    #[error("graph snapshot {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: io::Error,
    },
    /// The file is not a snapshot this version can read.
    #[error("graph snapshot {path} is not valid: {why}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// FNV-1a over every byte passing through.
struct Fnv<T> {
    inner: T,
    hash: u64,
}

impl<T> Fnv<T> {
    fn new(inner: T) -> Self {
        Fnv {
            inner,
            hash: 0xcbf2_9ce4_8422_2325,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.hash ^= u64::from(*b);
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl<W: Write> Fnv<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.feed(bytes);
        self.inner.write_all(bytes)
    }
}

impl LinkGraph {
    /// Writes the graph to `path` atomically; returns the bytes written.
    pub fn save(&self, path: &Path, at: Checkpoint) -> Result<u64, SnapshotError> {
        let io_err = |source| SnapshotError::Io {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("tmp");
        let file = File::create(&tmp).map_err(io_err)?;
        let mut w = Fnv::new(BufWriter::with_capacity(1 << 20, file));
        self.write_body(&mut w, at).map_err(io_err)?;
        let sum = w.hash;
        w.inner.write_all(&sum.to_le_bytes()).map_err(io_err)?;
        let file = w.inner.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        std::fs::rename(&tmp, path).map_err(io_err)?;
        if let Some(dir) = path.parent()
            && let Ok(d) = File::open(dir)
        {
            // Makes the rename itself durable; not all platforms allow it.
            let _ = d.sync_all();
        }
        Ok(len)
    }

    fn write_body<W: Write>(&self, w: &mut Fnv<W>, at: Checkpoint) -> io::Result<()> {
        w.put(MAGIC)?;
        w.put(&at.alert_seq.to_le_bytes())?;
        w.put(&at.import_seq.to_le_bytes())?;
        w.put(&(self.g.node_count() as u64).to_le_bytes())?;
        for ix in self.g.node_indices() {
            let n = &self.g[ix];
            let value = self.keys.value(n.span());
            w.put(&(ix.index() as u32).to_le_bytes())?;
            w.put(&[n.kind as u8, n.flags, n.marks, value.len() as u8])?;
            for x in [n.last_s, n.series, n.region, n.degree] {
                w.put(&x.to_le_bytes())?;
            }
            w.put(value)?;
        }
        w.put(&(self.g.edge_count() as u64).to_le_bytes())?;
        for e in self.g.edge_references() {
            let l = e.weight();
            w.put(&(e.source().index() as u32).to_le_bytes())?;
            w.put(&(e.target().index() as u32).to_le_bytes())?;
            w.put(&[l.kind as u8])?;
            w.put(&l.amount_fen.to_le_bytes())?;
            w.put(&l.last_s.to_le_bytes())?;
            w.put(&l.count.to_le_bytes())?;
        }
        w.put(&(self.notes.len() as u64).to_le_bytes())?;
        for (ix, note) in &self.notes {
            w.put(&ix.to_le_bytes())?;
            w.put(&[note.source.code()])?;
            let reason = &note.reason.as_bytes()[..note.reason.len().min(u16::MAX as usize)];
            w.put(&(reason.len() as u16).to_le_bytes())?;
            w.put(reason)?;
            let date = &note.date.as_bytes()[..note.date.len().min(255)];
            w.put(&[date.len() as u8])?;
            w.put(date)?;
            w.put(&note.at_s.to_le_bytes())?;
        }
        w.put(&(self.series.parent.len() as u64).to_le_bytes())?;
        for i in 0..self.series.parent.len() {
            w.put(&self.series.parent[i].to_le_bytes())?;
            w.put(&self.series.id[i].to_le_bytes())?;
            w.put(&[u8::from(self.series.announced[i])])?;
        }
        let c = self.counters;
        for x in [c.capped_links, c.expired_links, c.expired_nodes] {
            w.put(&x.to_le_bytes())?;
        }
        Ok(())
    }

    /// Reads a snapshot written by [`LinkGraph::save`], bounded by `limits`.
    pub fn load(
        path: &Path,
        limits: GraphLimits,
    ) -> Result<(LinkGraph, Checkpoint), SnapshotError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| SnapshotError::Io {
            path: name.clone(),
            source,
        })?;
        let file_len = file
            .metadata()
            .map_err(|source| SnapshotError::Io {
                path: name.clone(),
                source,
            })?
            .len();
        let invalid = |why: String| SnapshotError::Invalid {
            path: name.clone(),
            why,
        };
        let (read, expected) = std::thread::scope(|s| {
            let (to_sum, parsed) = sync_channel(blocks::QUEUE);
            let (spare, emptied) = sync_channel(blocks::QUEUE + 1);
            let summer = s.spawn(move || blocks::sum(parsed, spare));
            let mut r = Blocks::new(file, blocks::BLOCK, to_sum, emptied);
            let read = match read_body(&mut r, limits, file_len) {
                Ok(body) => r
                    .finish()
                    .map(|sum| (body, sum))
                    .map_err(|e| invalid(format!("no checksum: {e}"))),
                Err(e) => {
                    // Hangs up on the checksum thread, which then ends.
                    drop(r);
                    Err(invalid(e.to_string()))
                }
            };
            (read, summer.join())
        });
        let ((g, at), sum) = read?;
        let expected = expected.map_err(|_| invalid("the checksum thread failed".into()))?;
        if u64::from_le_bytes(sum) != expected {
            return Err(invalid(
                "checksum does not match: the file is damaged".into(),
            ));
        }
        Ok((g, at))
    }
}

fn bad(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// Most entries of any section a snapshot may announce: bounds allocation
/// before the data proves itself.
const MAX_ENTRIES: u64 = 1 << 32;

/// Fewest bytes a node (index, kind, flags, marks, length, four `u32`s) or
/// a link (two ends, kind, amount, time, count) takes in a snapshot.
const MIN_RECORD_BYTES: u64 = 23;

fn count(n: u64) -> io::Result<usize> {
    if n > MAX_ENTRIES {
        return Err(bad(format!(
            "section of {n} entries is beyond any real graph"
        )));
    }
    Ok(n as usize)
}
