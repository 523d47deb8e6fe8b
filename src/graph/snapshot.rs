//! The graph's durable image: a binary file written whole (temporary file,
//! fsync, rename), read back at start, then brought up to date by replaying
//! the imports and alerts the store logged after the snapshot's checkpoint.
//! A snapshot that does not check (truncated, wrong version, bad checksum)
//! is refused with a reason, and the graph is rebuilt from the store.
//!
//! Layout, little-endian: magic, checkpoint, nodes, links, notes, series,
//! counters, then an FNV-1a checksum of everything before it. Node indices
//! are written as they are and remapped on load.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use petgraph::stable_graph::NodeIndex;
use petgraph::visit::{EdgeRef, IntoEdgeReferences};

use super::flags::{FlagNote, FlagSource, flag_bits, mark_bits};
use super::keys::key_tag;
use super::links::{LinkData, LinkGraph, NodeData};
use super::{EdgeKind, GraphLimits, NodeKind};

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

impl<R: Read> Fnv<R> {
    fn take<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut buf = [0u8; N];
        self.inner.read_exact(&mut buf)?;
        self.feed(&buf);
        Ok(buf)
    }

    fn bytes(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        self.inner.read_exact(&mut buf)?;
        self.feed(&buf);
        Ok(buf)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> io::Result<u16> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.take()?))
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
        let mut r = Fnv::new(BufReader::with_capacity(1 << 20, file));
        let invalid = |why: String| SnapshotError::Invalid {
            path: name.clone(),
            why,
        };
        let (g, at) = read_body(&mut r, limits, file_len).map_err(|e| invalid(e.to_string()))?;
        let expected = r.hash;
        let mut sum = [0u8; 8];
        r.inner
            .read_exact(&mut sum)
            .map_err(|e| invalid(format!("no checksum: {e}")))?;
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

/// Reads the body of a snapshot of `file_len` bytes. Nothing read is
/// checked by the checksum until the end, so no count or index read may
/// size an allocation beyond what the file could hold.
fn read_body<R: Read>(
    r: &mut Fnv<R>,
    limits: GraphLimits,
    file_len: u64,
) -> io::Result<(LinkGraph, Checkpoint)> {
    if &r.take::<8>()? != MAGIC {
        return Err(bad("not a dualwarn graph snapshot (magic differs)"));
    }
    let at = Checkpoint {
        alert_seq: r.u64()?,
        import_seq: r.u64()?,
    };
    let most = usize::try_from(file_len / MIN_RECORD_BYTES).unwrap_or(usize::MAX);
    let nodes = count(r.u64()?)?;
    let mut g = LinkGraph::with_capacity(nodes.min(most), 0, limits);
    // The index each node had when saved, ascending as `save` writes them:
    // the i-th node read is node i here.
    let mut olds: Vec<u32> = Vec::with_capacity(nodes.min(most));
    for _ in 0..nodes {
        let old = r.u32()?;
        if olds.last().is_some_and(|&prev| old <= prev) {
            return Err(bad(format!("node {old} is out of order")));
        }
        let [kind, flags, marks, len] = r.take::<4>()?;
        let kind = NodeKind::from_code(kind).ok_or_else(|| bad(format!("node kind {kind}")))?;
        let [last_s, series, region, degree] = [r.u32()?, r.u32()?, r.u32()?, r.u32()?];
        let value = r.bytes(len as usize)?;
        let span = g.keys.push_value(&value);
        let ix = g.g.add_node(NodeData {
            key_at: span.at,
            last_s,
            series,
            region,
            degree: 0,
            hint: super::links::NO_HINT,
            key_len: span.len,
            kind,
            flags,
            marks,
        });
        let _ = degree; // recounted from the links below
        g.keys
            .index(ix.index() as u32, kind, span, key_tag(kind, &value));
        if flags & flag_bits::LISTED != 0 {
            // Kept so the next list reload can unmark it if it left the list.
            g.listed_nodes.insert(ix.index() as u32);
        }
        if marks & mark_bits::ALLOW_LISTED != 0 {
            g.allowed_nodes.insert(ix.index() as u32);
        }
        olds.push(old);
    }
    let node_of = |old: u32| -> io::Result<NodeIndex<u32>> {
        // With no node removed before it, node `old` kept its place.
        let at = match olds.get(old as usize) {
            Some(&o) if o == old => Ok(old as usize),
            _ => olds.binary_search(&old),
        };
        at.map(NodeIndex::new)
            .map_err(|_| bad(format!("link names node {old}, which is not in the file")))
    };
    let links = count(r.u64()?)?;
    g.reserve(0, links.min(most));
    for _ in 0..links {
        let (a, b) = (node_of(r.u32()?)?, node_of(r.u32()?)?);
        let kind = r.u8()?;
        let kind = EdgeKind::from_code(kind).ok_or_else(|| bad(format!("link kind {kind}")))?;
        let amount_fen = i64::from_le_bytes(r.take()?);
        let (last_s, count) = (r.u32()?, r.u16()?);
        g.add_link(
            a,
            b,
            LinkData {
                amount_fen,
                last_s,
                count,
                kind,
            },
        );
        g.g[a].degree += 1;
        g.g[b].degree += 1;
    }
    let notes = count(r.u64()?)?;
    for _ in 0..notes {
        let n = node_of(r.u32()?)?;
        let source = r.u8()?;
        let source =
            FlagSource::from_code(source).ok_or_else(|| bad(format!("flag source {source}")))?;
        let len = r.u16()?;
        let reason = String::from_utf8_lossy(&r.bytes(len as usize)?).into();
        let len = r.u8()?;
        let date = String::from_utf8_lossy(&r.bytes(len as usize)?).into();
        let at_s = r.u32()?;
        if source == FlagSource::Derived {
            g.derived_at.insert((at_s, n.index() as u32));
        }
        g.notes.insert(
            n.index() as u32,
            FlagNote {
                source,
                reason,
                date,
                at_s,
            },
        );
    }
    let series = count(r.u64()?)?;
    for i in 0..series {
        let (parent, id, announced) = (r.u32()?, r.u64()?, r.u8()? != 0);
        if parent as usize > i {
            return Err(bad(format!("series {i} has a younger parent {parent}")));
        }
        g.series.parent.push(parent);
        g.series.id.push(id);
        g.series.announced.push(announced);
    }
    let founded = g.series.parent.len() as u32;
    if let Some(n) = g.g.node_weights().find(|n| n.series > founded) {
        return Err(bad(format!(
            "a person names series {}, beyond the {founded} in the file",
            n.series
        )));
    }
    g.counters.capped_links = r.u64()?;
    g.counters.expired_links = r.u64()?;
    g.counters.expired_nodes = r.u64()?;
    Ok((g, at))
}

fn count(n: u64) -> io::Result<usize> {
    if n > MAX_ENTRIES {
        return Err(bad(format!(
            "section of {n} entries is beyond any real graph"
        )));
    }
    Ok(n as usize)
}
