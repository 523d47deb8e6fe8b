//! Asking memory ahead. At 10 M nodes nearly every step of an upsert by
//! key misses the cache: the key table slot of each end, each end's value
//! and node, the link's index slot. Asked one after the other they cost
//! five or six trips to memory; here every address known early is read at
//! once, so the trips overlap: two rounds (both key slots; then values,
//! nodes and link slot together) for one link, and the same two rounds for
//! a group of sixteen links of a run. The reads are
//! only hints: the work that follows is the plain `intern`/`upsert_link`,
//! which finds them in cache. Part of the graph's storage, used by
//! `observe`, imports and `graph measure`.

use petgraph::Direction::Outgoing;

use super::keys::{clip, key_tag};
use super::links::{LinkGraph, LinkIx, NodeIx, link_tag};
use super::{EdgeKind, NodeKind};

/// Links whose memory [`LinkGraph::upsert_keyed`] asks for at once: their
/// touched lines (seven a link) stay well within L1 and L2 until used, and
/// the misses outnumber what a core keeps in flight.
pub const RUN_GROUP: usize = 16;

/// One link observation with both ends as values.
#[derive(Clone, Copy, Debug)]
pub struct KeyedLink<'a> {
    /// Kind and value of the `from` end.
    pub from: (NodeKind, &'a str),
    /// Kind and value of the `to` end.
    pub to: (NodeKind, &'a str),
    /// What the link is.
    pub kind: EdgeKind,
    /// Money moved, in fen.
    pub amount_fen: i64,
    /// When (unix s): both ends are touched and the link seen at this time.
    pub at_s: u32,
}

impl<'a> KeyedLink<'a> {
    /// Both ends, values clipped as the key table keeps them, with their
    /// key tags.
    fn ends(&self) -> [(NodeKind, &'a str, u32); 2] {
        [self.from, self.to].map(|(kind, value)| {
            let value = clip(value);
            (kind, value, key_tag(kind, value.as_bytes()))
        })
    }
}

impl LinkGraph {
    /// Interns both ends of a link of `kind` from their values, exactly as
    /// `intern(from)` then `intern(to)` would, with what they and an
    /// `upsert_link` of the pair will read asked for ahead, all at once.
    pub fn intern_link_ends(
        &mut self,
        from: (NodeKind, &str),
        to: (NodeKind, &str),
        kind: EdgeKind,
        at_s: u32,
    ) -> (NodeIx, NodeIx) {
        let link = KeyedLink {
            from,
            to,
            kind,
            amount_fen: 0,
            at_s,
        };
        let ends = link.ends();
        self.touch_key_slots(&ends);
        self.touch_named(&ends, kind);
        let [(ka, va, ta), (kb, vb, tb)] = ends;
        (
            self.intern_tagged(ka, va, ta, at_s),
            self.intern_tagged(kb, vb, tb, at_s),
        )
    }

    /// Upserts `links` in order by key, exactly as `intern_link_ends` then
    /// `upsert_link` on each in turn would, [`RUN_GROUP`] links at a time:
    /// first the key slots of the whole group are asked for, then what
    /// they name, then the links go in, finding it all in cache. For a run
    /// of observations at hand (an import, a batch of alerts). Returns what
    /// `upsert_link` returned for each.
    pub fn upsert_keyed(&mut self, links: &[KeyedLink<'_>]) -> Vec<Option<LinkIx>> {
        let mut kept = Vec::with_capacity(links.len());
        let mut ends = Vec::with_capacity(RUN_GROUP);
        for group in links.chunks(RUN_GROUP) {
            ends.clear();
            ends.extend(group.iter().map(KeyedLink::ends));
            for e in &ends {
                self.touch_key_slots(e);
            }
            for (l, e) in group.iter().zip(&ends) {
                self.touch_named(e, l.kind);
            }
            for (l, &[(ka, va, ta), (kb, vb, tb)]) in group.iter().zip(&ends) {
                let a = self.intern_tagged(ka, va, ta, l.at_s);
                let b = self.intern_tagged(kb, vb, tb, l.at_s);
                kept.push(self.upsert_link(a, b, l.kind, l.amount_fen, l.at_s));
            }
        }
        kept
    }

    /// First round: the key table slots where lookups of both ends start.
    fn touch_key_slots(&self, ends: &[(NodeKind, &str, u32); 2]) {
        for &(_, _, tag) in ends {
            self.keys.touch(tag);
        }
    }

    /// Second round, once the key slots are in cache: the values and nodes
    /// they name, and the index slot of the link of `kind` between them.
    fn touch_named(&self, ends: &[(NodeKind, &str, u32); 2], kind: EdgeKind) {
        let [Some((a, at_a)), Some((b, at_b))] = ends.map(|(_, _, t)| self.keys.candidate(t))
        else {
            return; // a new node: nothing to ask for yet
        };
        let (a, b) = (NodeIx::new(a as usize), NodeIx::new(b as usize));
        self.keys.touch_value(at_a);
        self.keys.touch_value(at_b);
        self.touch_node(a);
        self.touch_node(b);
        self.link_index.touch(link_tag(a, b, kind));
    }

    /// Reads node `n`'s slot, its weight and its link-list heads (which may
    /// sit on the next cache line), so a change soon after finds them in
    /// cache.
    pub(super) fn touch_node(&self, n: NodeIx) {
        std::hint::black_box(self.g.edges_directed(n, Outgoing));
    }
}
