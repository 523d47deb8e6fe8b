//! The account-link graph's storage: a petgraph `StableGraph` (indices stay
//! valid while links expire and nodes go) with 4-byte indices, 28-byte node
//! and 16-byte link weights, keys in `Keys`, a link index, and the bounds that keep it
//! safe in production: a degree cap per node (a full node takes no new link
//! and is marked a hub), and expiry of links by age,
//! swept a slice at a time so no single batch pays for the whole graph.

use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableGraph};
use petgraph::visit::{EdgeIndexable, NodeIndexable};
use std::hash::{BuildHasher, Hasher};

use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};

use super::flags::{FlagNote, flag_bits, mark_bits};
use super::keys::{KeySpan, Keys, clip, key_tag};
use super::series::Series;
use super::table::{Slot, SlotTable, tag_of};
use super::{EdgeKind, GraphLimits, NodeKind, NodeRef};

/// Index of a node.
pub type NodeIx = NodeIndex<u32>;
/// Index of a link.
pub type LinkIx = EdgeIndex<u32>;

/// No distance hint.
pub const NO_HINT: u32 = u32::MAX;
/// Bytes per key value reserved ahead (phones 11, cards 16 to 19).
const AVG_KEY_BYTES: usize = 16;
/// Links between two checks of a node's rate of new links.
const HUB_RECHECK_EVERY: u32 = 32;
/// One day, in the graph's time unit.
const DAY_S: u32 = 24 * 3600;

/// What the graph keeps per artefact (28 bytes: `marks` takes the byte
/// that was padding).
#[derive(Clone, Copy, Debug)]
pub struct NodeData {
    /// Offset of the value in the key arena.
    pub key_at: u32,
    /// Last time (unix s) anything touched the node.
    pub last_s: u32,
    /// Series index + 1 for a person; 0 otherwise.
    pub series: u32,
    /// 6-digit county code of a person's division; 0 otherwise.
    pub region: u32,
    /// Links at this node, both directions.
    pub degree: u32,
    /// The link this node's distance label came down by ([`NO_HINT`] when
    /// none): a hint that saves scanning a hub's links; checked before use.
    pub hint: u32,
    /// Length of the value in the key arena.
    pub key_len: u8,
    /// What the node is.
    pub kind: NodeKind,
    /// `flag_bits`, and the distance label in bits 4–6 (see `labels`).
    pub flags: u8,
    /// `mark_bits`: allowed, suspected victim.
    pub marks: u8,
}

impl NodeData {
    /// Where the node's value sits in the key arena.
    pub(super) fn span(&self) -> KeySpan {
        KeySpan {
            at: self.key_at,
            len: self.key_len,
        }
    }

    /// True when any flag (list, import, derived) is set.
    pub fn is_flagged(&self) -> bool {
        self.flags & flag_bits::ANY_FLAG != 0
    }

    /// True for a hub-like node (see [`flag_bits::HUB`]).
    pub fn is_hub(&self) -> bool {
        self.flags & flag_bits::HUB != 0
    }

    /// True for an allow-listed or allow-imported artefact.
    pub fn is_allowed(&self) -> bool {
        self.marks & mark_bits::ALLOWED != 0
    }

    /// True for a person who is a suspected victim.
    pub fn is_suspect(&self) -> bool {
        self.kind == NodeKind::Person && self.marks & mark_bits::SUSPECT != 0
    }

    /// True when hops may not pass through this node: a person, a hub or
    /// an allowed artefact.
    pub fn blocks_hops(&self) -> bool {
        self.kind == NodeKind::Person || self.is_hub() || self.is_allowed()
    }
}

/// What the graph keeps per link (16 bytes). One link per (from, to, kind):
/// repeated observations add up.
#[derive(Clone, Copy, Debug)]
pub struct LinkData {
    /// Money moved, in fen, all observations summed (saturating).
    pub amount_fen: i64,
    /// Last time (unix s) the link was observed.
    pub last_s: u32,
    /// Observations, saturating at `u16::MAX`.
    pub count: u16,
    /// What the link is.
    pub kind: EdgeKind,
}

/// Counters of what the bounds did, for logs and `graph stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BoundCounters {
    /// New links dropped because an end was at its degree cap.
    pub capped_links: u64,
    /// Links removed for age.
    pub expired_links: u64,
    /// Nodes removed when their last link went.
    pub expired_nodes: u64,
}

/// The account-link graph. Owned by the writer thread; queries take `&self`.
pub struct LinkGraph {
    pub(super) g: StableGraph<NodeData, LinkData, petgraph::Directed, u32>,
    pub(super) keys: Keys,
    pub(super) limits: GraphLimits,
    /// Notes of nodes flagged by import or by the graph itself.
    pub(super) notes: FxHashMap<u32, FlagNote>,
    /// Values on the rule set's `flagged_*` lists, with the list's name.
    pub(super) listed: FxHashMap<Box<str>, Box<str>>,
    /// Nodes whose LISTED bit is set, to clear them on a reload.
    pub(super) listed_nodes: FxHashSet<u32>,
    /// Values on the rule set's `allow_*` lists.
    pub(super) allowed: FxHashSet<Box<str>>,
    /// Nodes whose ALLOW_LISTED mark is set, to clear them on a reload.
    pub(super) allowed_nodes: FxHashSet<u32>,
    /// Derived flags by the time they were set, (unix s, node), oldest
    /// first: expiry takes them off the front.
    pub(super) derived_at: std::collections::BTreeSet<(u32, u32)>,
    pub(super) series: Series,
    /// Every link by (from, to, kind), as 8-byte slots (link index and
    /// tag): an upsert finds its link in one probe instead of walking a
    /// node's links, and a new link's probe reads no link at all.
    pub(super) link_index: SlotTable<LinkSlot>,
    /// Where the next expiry sweep starts, as a link index.
    sweep_at: u32,
    /// Where the next sweep for bare nodes starts, as a node index.
    node_sweep_at: u32,
    pub(super) counters: BoundCounters,
}

impl LinkGraph {
    /// An empty graph bounded by `limits`.
    pub fn new(limits: GraphLimits) -> LinkGraph {
        LinkGraph::with_capacity(0, 0, limits)
    }

    /// An empty graph with room for `nodes` and `links` (a bulk load knows).
    pub fn with_capacity(nodes: usize, links: usize, limits: GraphLimits) -> LinkGraph {
        let mut keys = Keys::default();
        keys.reserve(nodes, AVG_KEY_BYTES);
        LinkGraph {
            g: StableGraph::with_capacity(nodes, links),
            keys,
            limits,
            notes: FxHashMap::default(),
            listed: FxHashMap::default(),
            listed_nodes: FxHashSet::default(),
            allowed: FxHashSet::default(),
            allowed_nodes: FxHashSet::default(),
            derived_at: std::collections::BTreeSet::new(),
            series: Series::default(),
            link_index: SlotTable::with_capacity(links),
            sweep_at: 0,
            node_sweep_at: 0,
            counters: BoundCounters::default(),
        }
    }

    /// The bounds in force.
    pub fn limits(&self) -> &GraphLimits {
        &self.limits
    }

    /// Number of artefacts (and persons) in the graph.
    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    /// Number of links.
    pub fn link_count(&self) -> usize {
        self.g.edge_count()
    }

    /// What the bounds did so far.
    pub fn counters(&self) -> BoundCounters {
        self.counters
    }

    /// Numbers of flagged nodes and of hubs (nodes that reached the cap).
    pub fn flagged_and_hubs(&self) -> (u64, u64) {
        self.g.node_weights().fold((0, 0), |(f, h), n| {
            (
                f + u64::from(n.is_flagged()),
                h + u64::from(n.flags & flag_bits::HUB != 0),
            )
        })
    }

    /// The node's data, if it exists.
    pub fn node(&self, ix: NodeIx) -> Option<&NodeData> {
        self.g.node_weight(ix)
    }

    /// The node of (kind, value), if the graph has it.
    pub fn find(&self, kind: NodeKind, value: &str) -> Option<NodeIx> {
        let value = clip(value).as_bytes();
        self.keys
            .find(kind, value)
            .map(|i| NodeIndex::new(i as usize))
    }

    /// The kind and value of a node, for explanations.
    pub fn node_ref(&self, ix: NodeIx) -> Option<NodeRef> {
        let n = self.g.node_weight(ix)?;
        let value = String::from_utf8_lossy(self.keys.value(n.span())).into_owned();
        Some(NodeRef {
            kind: n.kind,
            value,
        })
    }

    /// The node of (kind, value), made if new; touched at `at_s`.
    pub fn intern(&mut self, kind: NodeKind, value: &str, at_s: u32) -> NodeIx {
        let value = clip(value);
        self.intern_tagged(kind, value, key_tag(kind, value.as_bytes()), at_s)
    }

    /// [`LinkGraph::intern`] of a value already clipped, its key tag known.
    pub(super) fn intern_tagged(
        &mut self,
        kind: NodeKind,
        value: &str,
        tag: u32,
        at_s: u32,
    ) -> NodeIx {
        if let Some(i) = self.keys.find_tagged(tag, kind, value.as_bytes()) {
            let ix = NodeIndex::new(i as usize);
            let n = &mut self.g[ix];
            n.last_s = n.last_s.max(at_s);
            return ix;
        }
        if self.keys.needs_compaction() {
            self.compact_keys();
        }
        let span = self.keys.push_value(value.as_bytes());
        let listed = kind != NodeKind::Person && self.listed.contains_key(value);
        let allowed = kind != NodeKind::Person && self.allowed.contains(value);
        let ix = self.g.add_node(NodeData {
            key_at: span.at,
            last_s: at_s,
            series: 0,
            region: 0,
            degree: 0,
            hint: NO_HINT,
            key_len: span.len,
            kind,
            flags: if listed { flag_bits::LISTED } else { 0 },
            marks: if allowed { mark_bits::ALLOW_LISTED } else { 0 },
        });
        if listed {
            self.label_flag_set(ix);
            self.listed_nodes.insert(ix.index() as u32);
        }
        if allowed {
            self.allowed_nodes.insert(ix.index() as u32);
        }
        self.keys.index(ix.index() as u32, kind, span, tag);
        ix
    }

    /// Adds an observation of `from → to` of `kind`: to the link already
    /// there, or as a new link unless either end is at its degree cap (then
    /// the new link is dropped, counted, and the full end marked a hub; its
    /// existing links still refresh, and expiry makes room again). Dropping
    /// the newcomer costs nothing, where making room would walk a hub's
    /// thousand links. A link from a node to itself explains nothing and is
    /// dropped. `None` when dropped.
    pub fn upsert_link(
        &mut self,
        from: NodeIx,
        to: NodeIx,
        kind: EdgeKind,
        amount_fen: i64,
        at_s: u32,
    ) -> Option<LinkIx> {
        if from == to {
            return None;
        }
        if let Some(e) = self.find_link(from, to, kind) {
            let l = &mut self.g[e];
            l.amount_fen = l.amount_fen.saturating_add(amount_fen);
            l.last_s = l.last_s.max(at_s);
            l.count = l.count.saturating_add(1);
            return Some(e);
        }
        let mut full = false;
        for n in [from, to] {
            if self.g[n].degree >= self.limits.max_degree {
                self.mark_hub(n);
                full = true;
            }
        }
        if full {
            self.counters.capped_links += 1;
            return None;
        }
        let e = self.add_link(
            from,
            to,
            LinkData {
                amount_fen,
                last_s: at_s,
                count: 1,
                kind,
            },
        );
        for n in [from, to] {
            let d = &mut self.g[n];
            d.degree += 1;
            d.last_s = d.last_s.max(at_s);
        }
        self.label_link_added(from, to, kind, e);
        for n in [from, to] {
            self.check_hub_rate(n, at_s);
        }
        Some(e)
    }

    /// Marks `n` hub-like (once): hops stop passing through it.
    pub(super) fn mark_hub(&mut self, n: NodeIx) {
        self.set_blocking(n, |d| d.flags |= flag_bits::HUB);
    }

    /// Applies `mark` to `n` (a hub or allow mark), relabelling when the node
    /// starts to block hops.
    pub(super) fn set_blocking(&mut self, n: NodeIx, mark: impl FnOnce(&mut NodeData)) {
        let Some(d) = self.g.node_weight_mut(n) else {
            return;
        };
        let was_blocked = d.blocks_hops();
        mark(d);
        if !was_blocked && d.blocks_hops() {
            self.label_node_blocked(n);
        }
    }

    /// Marks `n` hub-like when it took `hub_links_per_day` links seen within
    /// the last day. Checked when its degree reaches that figure and every
    /// [`HUB_RECHECK_EVERY`] links after, so the cost per link stays O(1).
    fn check_hub_rate(&mut self, n: NodeIx, at_s: u32) {
        let need = self.limits.hub_links_per_day;
        let d = self.g[n];
        if need == 0 || d.degree < need || d.is_hub() || d.kind == NodeKind::Person {
            return;
        }
        if !(d.degree - need).is_multiple_of(HUB_RECHECK_EVERY) {
            return;
        }
        let from_s = at_s.saturating_sub(DAY_S);
        let recent = self
            .any_neighbours(n)
            .filter(|&(_, e)| self.g[e].kind != EdgeKind::Victim && self.g[e].last_s >= from_s)
            .count() as u32;
        if recent >= need {
            self.mark_hub(n);
        }
    }

    /// The link `from → to` of `kind`: one probe of the link index, which
    /// reads the candidate link itself to compare (no adjacency walk).
    fn find_link(&self, from: NodeIx, to: NodeIx, kind: EdgeKind) -> Option<LinkIx> {
        let pos = self.link_index.find(link_tag(from, to, kind), |s| {
            let e = s.link();
            self.g.edge_endpoints(e) == Some((from, to)) && self.g[e].kind == kind
        })?;
        Some(self.link_index.get(pos).link())
    }

    /// Adds a link to petgraph and to the link index.
    pub(super) fn add_link(&mut self, from: NodeIx, to: NodeIx, data: LinkData) -> LinkIx {
        self.add_link_tagged(from, to, data, link_tag(from, to, data.kind))
    }

    /// [`LinkGraph::add_link`] with the link's tag already computed.
    pub(super) fn add_link_tagged(
        &mut self,
        from: NodeIx,
        to: NodeIx,
        data: LinkData,
        tag: u32,
    ) -> LinkIx {
        let e = self.g.add_edge(from, to, data);
        self.link_index.insert(LinkSlot::new(e, tag));
        e
    }

    /// Removes a link and updates both ends' degrees.
    pub(super) fn remove_link(&mut self, e: LinkIx) {
        let Some((a, b)) = self.g.edge_endpoints(e) else {
            return;
        };
        let kind = self.g[e].kind;
        if let Some(pos) = self
            .link_index
            .find(link_tag(a, b, kind), |s| s.link() == e)
        {
            self.link_index.remove_at(pos);
        }
        self.g.remove_edge(e);
        for n in [a, b] {
            let d = &mut self.g[n];
            d.degree = d.degree.saturating_sub(1);
        }
        self.label_link_removed(a, b, kind);
    }

    /// Looks at up to `budget` link slots from where the last sweep stopped
    /// and removes links last seen before `now_s - link_max_age`, after the
    /// derived flags older than `derived_flag_max_age`; then nodes
    /// left without links, unless flagged (a person's series link survives
    /// in the series table). First looks at as many node slots for nodes
    /// left bare another way. Returns the links removed.
    pub fn expire(&mut self, now_s: u32, budget: u32) -> usize {
        self.expire_derived(now_s);
        self.sweep_bare_nodes(budget);
        let bound = EdgeIndexable::edge_bound(&self.g) as u32;
        if bound == 0 {
            return 0;
        }
        let oldest_kept = now_s.saturating_sub(self.limits.link_max_age_s);
        let mut removed = 0;
        for _ in 0..budget.min(bound) {
            if self.sweep_at >= bound {
                self.sweep_at = 0;
            }
            let e = EdgeIndex::new(self.sweep_at as usize);
            self.sweep_at += 1;
            let stale = self
                .g
                .edge_weight(e)
                .is_some_and(|l| l.last_s < oldest_kept);
            if !stale {
                continue;
            }
            let Some((a, b)) = self.g.edge_endpoints(e) else {
                continue;
            };
            self.remove_link(e);
            removed += 1;
            self.counters.expired_links += 1;
            self.drop_if_bare(a);
            self.drop_if_bare(b);
        }
        removed
    }

    /// Looks at up to `budget` node slots from where the last sweep stopped
    /// and removes those left bare other than by expiry: the far end of a
    /// link a degree cap refused, a node only ever linked to itself, a node
    /// a reloaded list no longer flags. Nothing else would ever remove them.
    fn sweep_bare_nodes(&mut self, budget: u32) {
        let bound = NodeIndexable::node_bound(&self.g) as u32;
        for _ in 0..budget.min(bound) {
            if self.node_sweep_at >= bound {
                self.node_sweep_at = 0;
            }
            let n = NodeIndex::new(self.node_sweep_at as usize);
            self.node_sweep_at += 1;
            self.drop_if_bare(n);
        }
    }

    /// Removes a node with no links left that nothing else needs.
    fn drop_if_bare(&mut self, n: NodeIx) {
        let Some(d) = self.g.node_weight(n).copied() else {
            return;
        };
        if d.degree > 0 || d.is_flagged() || d.marks & mark_bits::ALLOW_IMPORTED != 0 {
            return;
        }
        let tag = key_tag(d.kind, self.keys.value(d.span()));
        self.keys.remove(n.index() as u32, tag, d.key_len);
        // The index may be handed to a new node: it must not inherit a mark.
        self.allowed_nodes.remove(&(n.index() as u32));
        self.g.remove_node(n);
        self.counters.expired_nodes += 1;
    }

    /// Copies live keys into a fresh arena (removed nodes leave garbage).
    fn compact_keys(&mut self) {
        let g = &self.g;
        let spans = g.node_indices().map(|ix| (ix.index() as u32, g[ix].span()));
        for (ix, at) in self.keys.compact(spans) {
            self.g[NodeIndex::new(ix as usize)].key_at = at;
        }
    }

    /// Reserves room for `nodes` more nodes and `links` more links.
    pub fn reserve(&mut self, nodes: usize, links: usize) {
        self.g.reserve_nodes(nodes);
        self.g.reserve_edges(links);
        self.link_index.reserve(links);
        self.keys.reserve(nodes, AVG_KEY_BYTES);
    }

    /// Bytes the graph has allocated, by part.
    pub fn memory(&self) -> MemoryUse {
        // StableGraph keeps, per slot, the weight (an Option, same size
        // thanks to the enum niche) and two 4-byte next-pointers; links
        // also their two endpoints.
        let node_slot = std::mem::size_of::<Option<NodeData>>() + 2 * 4;
        let link_slot = std::mem::size_of::<Option<LinkData>>() + 4 * 4;
        let (node_cap, link_cap) = self.g.capacity();
        let note_entry = std::mem::size_of::<(u32, FlagNote)>() + 1;
        MemoryUse {
            nodes: node_cap * node_slot,
            links: link_cap * link_slot,
            keys: self.keys.allocated_bytes() + self.link_index.allocated_bytes(),
            other: self.notes.capacity() * note_entry + self.series.allocated_bytes(),
            node_count: self.node_count(),
            link_count: self.link_count(),
        }
    }
}

/// Bytes allocated by the graph, counted from the capacities of its parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUse {
    /// Node slots.
    pub nodes: usize,
    /// Link slots.
    pub links: usize,
    /// Key arena, key lookup table and link index.
    pub keys: usize,
    /// Flag notes and series.
    pub other: usize,
    /// Live nodes.
    pub node_count: usize,
    /// Live links.
    pub link_count: usize,
}

impl MemoryUse {
    /// All bytes.
    pub fn total(&self) -> usize {
        self.nodes + self.links + self.keys + self.other
    }

    /// All bytes over the number of links (0 when there are none).
    pub fn per_link(&self) -> f64 {
        if self.link_count == 0 {
            return 0.0;
        }
        self.total() as f64 / self.link_count as f64
    }
}

/// The tag of a link's identity: its two ends and kind.
pub(super) fn link_tag(from: NodeIx, to: NodeIx, kind: EdgeKind) -> u32 {
    let mut h = FxBuildHasher.build_hasher();
    h.write_u32(from.index() as u32);
    h.write_u32(to.index() as u32);
    h.write_u8(kind as u8);
    tag_of(h.finish())
}

/// One entry of the link index.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LinkSlot {
    /// Link index + 1; 0 for an empty slot.
    link: u32,
    /// [`link_tag`] of the link.
    tag: u32,
}

impl LinkSlot {
    pub(super) fn new(e: LinkIx, tag: u32) -> LinkSlot {
        LinkSlot {
            link: e.index() as u32 + 1,
            tag,
        }
    }

    fn link(&self) -> LinkIx {
        EdgeIndex::new(self.link as usize - 1)
    }
}

impl Slot for LinkSlot {
    fn tag(&self) -> u32 {
        self.tag
    }
    fn is_vacant(&self) -> bool {
        self.link == 0
    }
}
