//! Asking memory ahead. At 10 M nodes nearly every step of an upsert by
//! key misses the cache: the key table slot of each end, each end's value
//! and node, the link's index slot. Asked one after the other they cost
//! five or six trips to memory; here every address known early is read at
//! once, so the trips overlap (two rounds: both key slots, then values,
//! nodes and link slot together). The reads are only hints: the work that
//! follows is the plain `intern`/`upsert_link`, which finds them in cache.
//! Part of the graph's storage, used by `observe` and bulk loads.

use petgraph::Direction::Outgoing;

use super::keys::{clip, key_tag};
use super::links::{LinkGraph, NodeIx, link_tag};
use super::{EdgeKind, NodeKind};

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
        let (va, vb) = (clip(from.1), clip(to.1));
        let (ta, tb) = (key_tag(from.0, va.as_bytes()), key_tag(to.0, vb.as_bytes()));
        self.keys.touch(ta);
        self.keys.touch(tb);
        if let (Some((a, at_a)), Some((b, at_b))) =
            (self.keys.candidate(ta), self.keys.candidate(tb))
        {
            let (a, b) = (NodeIx::new(a as usize), NodeIx::new(b as usize));
            self.keys.touch_value(at_a);
            self.keys.touch_value(at_b);
            self.touch_node(a);
            self.touch_node(b);
            self.link_index.touch(link_tag(a, b, kind));
        }
        let a = self.intern(from.0, va, at_s);
        let b = self.intern(to.0, vb, at_s);
        (a, b)
    }

    /// Reads node `n`'s slot, its weight and its link-list heads (which may
    /// sit on the next cache line), so a change soon after finds them in
    /// cache.
    pub(super) fn touch_node(&self, n: NodeIx) {
        std::hint::black_box(self.g.edges_directed(n, Outgoing));
    }
}
