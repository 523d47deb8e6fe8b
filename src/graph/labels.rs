//! Distance labels: every node carries its hop distance to the nearest
//! flagged node (0–3, or "farther"), kept exact as links come and go, so a
//! `hops_to_flagged()` query of depth ≤ 3 reads a few labels and walks one
//! path down instead of searching a neighbourhood. Hops follow links either
//! way but never victim links, and never through a person, a hub or an
//! allowed artefact, like the search.
//!
//! A new link or a new flag can only shorten distances: the shorter label
//! spreads outward breadth-first, at most 3 hops. A removed link or flag can
//! only lengthen them: the nodes that may have depended on it are checked
//! again, lowest label first, each taking 1 + the least label around it, and
//! those that grew pass the check on to the nodes that stood one step above
//! them. Labels are stored in three bits of `NodeData::flags` (0 = farther),
//! so they cost no memory and are part of a snapshot.

use petgraph::Direction::{Incoming, Outgoing};
use petgraph::visit::EdgeRef;

use super::EdgeKind;
use super::links::{LinkGraph, LinkIx, NO_HINT, NodeIx};

/// Deepest distance a label holds; farther is "none".
pub const LABEL_DEPTH: u32 = 3;
/// Where the label sits in `NodeData::flags`.
const SHIFT: u8 = 4;
const MASK: u8 = 0b111 << SHIFT;

impl LinkGraph {
    /// Hops from `n` to the nearest flagged node, if within [`LABEL_DEPTH`].
    pub fn label(&self, n: NodeIx) -> Option<u32> {
        let raw = (self.g.node_weight(n)?.flags & MASK) >> SHIFT;
        raw.checked_sub(1).map(u32::from)
    }

    /// Sets `n`'s label, and the link it came down by when known.
    fn set_label(&mut self, n: NodeIx, d: Option<u32>, via: Option<LinkIx>) {
        let raw = d.filter(|&d| d <= LABEL_DEPTH).map_or(0, |d| d as u8 + 1);
        if let Some(w) = self.g.node_weight_mut(n) {
            w.flags = (w.flags & !MASK) | (raw << SHIFT);
            w.hint = via.map_or(NO_HINT, |e| e.index() as u32);
        }
    }

    /// The neighbours a hop counts through: both directions, no victim
    /// links, no node that blocks hops (persons, hubs, allowed artefacts);
    /// every link (no sampling: labels are exact).
    pub(super) fn hop_neighbours(&self, n: NodeIx) -> impl Iterator<Item = (NodeIx, LinkIx)> + '_ {
        self.any_neighbours(n)
            .filter(|&(m, e)| self.g[e].kind != EdgeKind::Victim && !self.g[m].blocks_hops())
    }

    /// Every neighbour of `n`, both directions, with the link.
    pub(super) fn any_neighbours(&self, n: NodeIx) -> impl Iterator<Item = (NodeIx, LinkIx)> + '_ {
        let out = self
            .g
            .edges_directed(n, Outgoing)
            .map(|e| (e.target(), e.id()));
        let inc = self
            .g
            .edges_directed(n, Incoming)
            .map(|e| (e.source(), e.id()));
        out.chain(inc)
    }

    fn counts_for_hops(&self, a: NodeIx, b: NodeIx, kind: EdgeKind) -> bool {
        let walkable = |x: NodeIx| self.g.node_weight(x).is_some_and(|n| !n.blocks_hops());
        kind != EdgeKind::Victim && walkable(a) && walkable(b)
    }

    /// `n` now blocks hops (became a hub or allowed): it loses its label,
    /// and the nodes that stood one above it through it are checked again.
    pub(super) fn label_node_blocked(&mut self, n: NodeIx) {
        let Some(old) = self.label(n) else {
            return; // nobody's distance went through an unlabelled node
        };
        let above: Vec<(u32, NodeIx)> = self
            .hop_neighbours(n)
            .filter(|&(y, _)| self.label(y) == Some(old + 1))
            .map(|(y, _)| (old + 1, y))
            .collect();
        self.set_label(n, None, None);
        self.recheck(above);
    }

    /// `n` no longer blocks hops: it takes its distance from around it
    /// (0 when flagged) and spreads it outward.
    pub(super) fn label_node_unblocked(&mut self, n: NodeIx) {
        if let (Some(d), via) = self.distance_from_neighbours(n) {
            self.lower(n, d, via);
        }
    }

    /// Link `e`, `a → b` of `kind`, was added.
    pub(super) fn label_link_added(&mut self, a: NodeIx, b: NodeIx, kind: EdgeKind, e: LinkIx) {
        if !self.counts_for_hops(a, b, kind) {
            return;
        }
        let (la, lb) = (self.label(a), self.label(b));
        let via = Some(e);
        if let Some(d) = la.map(|d| d + 1).filter(|&d| lb.is_none_or(|l| d < l)) {
            self.lower(b, d, via);
        }
        if let Some(d) = lb.map(|d| d + 1).filter(|&d| la.is_none_or(|l| d < l)) {
            self.lower(a, d, via);
        }
    }

    /// `n` became flagged. Nodes that block hops (persons, hubs, allowed
    /// artefacts) never carry a distance: hops do not pass through them.
    pub(super) fn label_flag_set(&mut self, n: NodeIx) {
        let blocked = self.g.node_weight(n).is_none_or(|w| w.blocks_hops());
        if !blocked && self.label(n) != Some(0) {
            self.lower(n, 0, None);
        }
    }

    /// Sets `n` to the shorter distance `d` and spreads it outward.
    fn lower(&mut self, n: NodeIx, d: u32, via: Option<LinkIx>) {
        if d > LABEL_DEPTH {
            return;
        }
        self.set_label(n, Some(d), via);
        let mut frontier = vec![n];
        let mut next = Vec::new();
        for depth in d + 1..=LABEL_DEPTH {
            for &x in &frontier {
                let shorter: Vec<(NodeIx, LinkIx)> = self
                    .hop_neighbours(x)
                    .filter(|&(y, _)| self.label(y).is_none_or(|l| l > depth))
                    .collect();
                for (y, e) in shorter {
                    if self.label(y).is_some_and(|l| l <= depth) {
                        continue; // reached twice from this level
                    }
                    self.set_label(y, Some(depth), Some(e));
                    next.push(y);
                }
            }
            if next.is_empty() {
                return;
            }
            std::mem::swap(&mut frontier, &mut next);
            next.clear();
        }
    }

    /// A link between `a` and `b` of `kind` is gone: the end one step above
    /// the other may have stood on it.
    pub(super) fn label_link_removed(&mut self, a: NodeIx, b: NodeIx, kind: EdgeKind) {
        if !self.counts_for_hops(a, b, kind) {
            return;
        }
        let (la, lb) = (self.label(a), self.label(b));
        let mut seeds = Vec::with_capacity(1);
        if let (Some(la), Some(lb)) = (la, lb) {
            if lb == la + 1 {
                seeds.push((lb, b));
            } else if la == lb + 1 {
                seeds.push((la, a));
            }
        }
        self.recheck(seeds);
    }

    /// `n` may no longer be flagged.
    pub(super) fn label_flag_cleared(&mut self, n: NodeIx) {
        let flagged = self.g.node_weight(n).is_some_and(|w| w.is_flagged());
        if !flagged && self.label(n) == Some(0) {
            self.recheck(vec![(0, n)]);
        }
    }

    /// Checks nodes again, lowest old label first; one that grew passes the
    /// check to its neighbours that stood one above it.
    fn recheck(&mut self, seeds: Vec<(u32, NodeIx)>) {
        let mut levels: Vec<Vec<NodeIx>> = vec![Vec::new(); LABEL_DEPTH as usize + 1];
        for (l, n) in seeds {
            if let Some(level) = levels.get_mut(l as usize) {
                level.push(n);
            }
        }
        for old in 0..=LABEL_DEPTH {
            let todo = std::mem::take(&mut levels[old as usize]);
            for x in todo {
                if self.label(x) != Some(old) {
                    continue; // already checked on another path
                }
                let (now, via) = self.distance_from_neighbours(x);
                if now == Some(old) {
                    self.set_label(x, now, via);
                    continue;
                }
                self.set_label(x, now, via);
                let above: Vec<NodeIx> = self
                    .hop_neighbours(x)
                    .map(|(y, _)| y)
                    .filter(|&y| self.label(y) == Some(old + 1))
                    .collect();
                if let Some(level) = levels.get_mut(old as usize + 1) {
                    level.extend(above);
                }
            }
        }
    }

    /// 0 when flagged, else 1 + the least label around (with the link to
    /// it), if within depth.
    fn distance_from_neighbours(&self, x: NodeIx) -> (Option<u32>, Option<LinkIx>) {
        let Some(w) = self.g.node_weight(x) else {
            return (None, None);
        };
        if w.blocks_hops() {
            return (None, None);
        }
        if w.is_flagged() {
            return (Some(0), None);
        }
        let best = self
            .hop_neighbours(x)
            .filter_map(|(y, e)| self.label(y).map(|d| (d, e)))
            .min_by_key(|&(d, _)| d)
            .filter(|&(d, _)| d < LABEL_DEPTH);
        match best {
            Some((d, e)) => (Some(d + 1), Some(e)),
            None => (None, None),
        }
    }

    /// The path down the labels from `start` (label `d`) to a flagged node:
    /// `d + 1` steps. `None` if a label is inconsistent (a bug: the caller
    /// then searches instead).
    pub(super) fn path_down(&self, start: NodeIx) -> Option<Vec<(NodeIx, Option<LinkIx>)>> {
        let mut d = self.label(start)?;
        let mut path = vec![(start, None)];
        let mut at = start;
        while d > 0 {
            let (next, e) = match self.hinted_step(at, d - 1) {
                Some(step) => step,
                None => self
                    .hop_neighbours(at)
                    .find(|&(y, _)| self.label(y) == Some(d - 1))?,
            };
            path.push((next, Some(e)));
            at = next;
            d -= 1;
        }
        self.g.node_weight(at)?.is_flagged().then_some(path)
    }

    /// The step down `at`'s hint, if the hint still names a link from `at`
    /// a hop may take to a node labelled `want`.
    fn hinted_step(&self, at: NodeIx, want: u32) -> Option<(NodeIx, LinkIx)> {
        let hint = self.g.node_weight(at)?.hint;
        if hint == NO_HINT {
            return None;
        }
        let e = LinkIx::new(hint as usize);
        let (a, b) = self.g.edge_endpoints(e)?;
        let other = if a == at {
            b
        } else if b == at {
            a
        } else {
            return None;
        };
        let walkable = self.g[e].kind != EdgeKind::Victim && !self.g[other].blocks_hops();
        (walkable && self.label(other) == Some(want)).then_some((other, e))
    }
}
