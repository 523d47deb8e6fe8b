//! Rebuilding the graph from a snapshot's body. Nodes and links are read a
//! batch at a time; before a batch goes in, one tight pass touches what it
//! will write at random places (key table slots; both ends' node slots and
//! link index slots), so the cache misses of the whole batch overlap
//! instead of coming one after the other. Links go into petgraph in file
//! order, so each node's links come out in the same order as a link-by-link
//! load gives them.

use std::io::{self, Read};

use petgraph::stable_graph::NodeIndex;

use super::blocks::Blocks;
use super::{Checkpoint, MAGIC, MIN_RECORD_BYTES, bad, count};
use crate::graph::flags::{FlagNote, FlagSource, flag_bits, mark_bits};
use crate::graph::keys::{KeySpan, key_tag};
use crate::graph::links::{LinkData, LinkGraph, NO_HINT, NodeData, NodeIx, link_tag};
use crate::graph::{EdgeKind, GraphLimits, NodeKind};

/// Nodes or links per batch: a batch's touched lines (up to six per link:
/// two of the link index, up to two per node) stay within a core's 2 MiB
/// L2 until the batch goes in.
const BATCH: usize = 2048;

/// Reads the body of a snapshot of `file_len` bytes. Nothing read is
/// checked by the checksum until the end, so no count or index read may
/// size an allocation beyond what the file could hold.
pub(super) fn read_body<R: Read>(
    r: &mut Blocks<R>,
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
    let olds = read_nodes(r, &mut g, nodes, most)?;
    let links = count(r.u64()?)?;
    g.reserve(0, links.min(most));
    read_links(r, &mut g, links, &olds)?;
    read_notes(r, &mut g, &olds)?;
    read_series(r, &mut g)?;
    g.counters.capped_links = r.u64()?;
    g.counters.expired_links = r.u64()?;
    g.counters.expired_nodes = r.u64()?;
    Ok((g, at))
}

/// The index each node had when saved, ascending as `save` writes them:
/// the i-th node read is node i here.
struct OldIndices {
    olds: Vec<u32>,
    /// No node was removed before the save: every node kept its index.
    same: bool,
}

impl OldIndices {
    fn node_of(&self, old: u32) -> io::Result<NodeIx> {
        let at = if self.same {
            Some(old as usize).filter(|&i| i < self.olds.len())
        } else {
            self.olds.binary_search(&old).ok()
        };
        at.map(NodeIndex::new)
            .ok_or_else(|| bad(format!("link names node {old}, which is not in the file")))
    }
}

/// A node read and added, waiting for its key to be indexed.
type PendingKey = (u32, NodeKind, KeySpan, u32);

fn read_nodes<R: Read>(
    r: &mut Blocks<R>,
    g: &mut LinkGraph,
    nodes: usize,
    most: usize,
) -> io::Result<OldIndices> {
    let mut olds: Vec<u32> = Vec::with_capacity(nodes.min(most));
    let mut batch: Vec<PendingKey> = Vec::with_capacity(BATCH);
    for _ in 0..nodes {
        let old = r.u32()?;
        if olds.last().is_some_and(|&prev| old <= prev) {
            return Err(bad(format!("node {old} is out of order")));
        }
        let [kind, flags, marks, len] = r.take::<4>()?;
        let kind = NodeKind::from_code(kind).ok_or_else(|| bad(format!("node kind {kind}")))?;
        let [last_s, series, region, _degree] = [r.u32()?, r.u32()?, r.u32()?, r.u32()?];
        let value = r.bytes(len as usize)?;
        let tag = key_tag(kind, value);
        let span = g.keys.push_value(value);
        let ix = g.g.add_node(NodeData {
            key_at: span.at,
            last_s,
            series,
            region,
            degree: 0, // recounted from the links
            hint: NO_HINT,
            key_len: span.len,
            kind,
            flags,
            marks,
        });
        let ix = ix.index() as u32;
        if flags & flag_bits::LISTED != 0 {
            // Kept so the next list reload can unmark it if it left the list.
            g.listed_nodes.insert(ix);
        }
        if marks & mark_bits::ALLOW_LISTED != 0 {
            g.allowed_nodes.insert(ix);
        }
        olds.push(old);
        batch.push((ix, kind, span, tag));
        if batch.len() == BATCH {
            index_keys(g, &mut batch);
        }
    }
    index_keys(g, &mut batch);
    let same = olds
        .last()
        .is_none_or(|&last| last as usize == olds.len() - 1);
    Ok(OldIndices { olds, same })
}

/// Indexes a batch of keys, their slots touched first.
fn index_keys(g: &mut LinkGraph, batch: &mut Vec<PendingKey>) {
    for &(_, _, _, tag) in batch.iter() {
        g.keys.touch(tag);
    }
    for (ix, kind, span, tag) in batch.drain(..) {
        g.keys.index(ix, kind, span, tag);
    }
}

/// A link read, waiting to go in.
type PendingLink = (NodeIx, NodeIx, LinkData);

fn read_links<R: Read>(
    r: &mut Blocks<R>,
    g: &mut LinkGraph,
    links: usize,
    olds: &OldIndices,
) -> io::Result<()> {
    let mut batch: Vec<PendingLink> = Vec::with_capacity(BATCH);
    let mut tags = Vec::with_capacity(BATCH);
    for _ in 0..links {
        let (a, b) = (olds.node_of(r.u32()?)?, olds.node_of(r.u32()?)?);
        let kind = r.u8()?;
        let kind = EdgeKind::from_code(kind).ok_or_else(|| bad(format!("link kind {kind}")))?;
        let amount_fen = i64::from_le_bytes(r.take()?);
        let (last_s, count) = (r.u32()?, r.u16()?);
        let data = LinkData {
            amount_fen,
            last_s,
            count,
            kind,
        };
        batch.push((a, b, data));
        if batch.len() == BATCH {
            add_links(g, &mut batch, &mut tags);
        }
    }
    add_links(g, &mut batch, &mut tags);
    Ok(())
}

/// Adds a batch of links in order. Tight passes first read each link's
/// index slots, then both ends' node slots, so the whole batch's misses
/// are in flight together; the last adds the links, finding those lines in
/// cache. `tags` is room for the batch's link tags.
fn add_links(g: &mut LinkGraph, batch: &mut Vec<PendingLink>, tags: &mut Vec<u32>) {
    tags.clear();
    tags.extend(batch.iter().map(|&(a, b, data)| link_tag(a, b, data.kind)));
    let mut seen = 0u32;
    for &tag in tags.iter() {
        seen ^= g.link_index.peek(tag);
    }
    for &(a, b, _) in batch.iter() {
        g.touch_node(a);
        g.touch_node(b);
    }
    std::hint::black_box(seen);
    for ((a, b, data), &tag) in batch.drain(..).zip(tags.iter()) {
        g.g[a].degree += 1;
        g.g[b].degree += 1;
        g.add_link_tagged(a, b, data, tag);
    }
}

fn read_notes<R: Read>(r: &mut Blocks<R>, g: &mut LinkGraph, olds: &OldIndices) -> io::Result<()> {
    let notes = count(r.u64()?)?;
    for _ in 0..notes {
        let n = olds.node_of(r.u32()?)?;
        let source = r.u8()?;
        let source =
            FlagSource::from_code(source).ok_or_else(|| bad(format!("flag source {source}")))?;
        let len = r.u16()?;
        let reason = String::from_utf8_lossy(r.bytes(len as usize)?).into();
        let len = r.u8()?;
        let date = String::from_utf8_lossy(r.bytes(len as usize)?).into();
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
    Ok(())
}

fn read_series<R: Read>(r: &mut Blocks<R>, g: &mut LinkGraph) -> io::Result<()> {
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
    Ok(())
}
