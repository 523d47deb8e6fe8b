//! The in-memory account-link graph: hash maps and adjacency lists, grown by
//! one alert at a time on the writer thread. Good enough until the
//! petgraph-backed graph arrives; it never forgets, so memory grows with the
//! number of distinct artefacts and links seen.

use rustc_hash::FxHashMap;

use super::{FlaggedSet, GraphFeatures, NodeRef, PathStep};
use crate::model::{Alert, Artefact, ArtefactKind, LinkKind};

/// Index of a node in [`MemoryGraph::nodes`].
type NodeId = usize;
/// Index of an edge in [`MemoryGraph::edges`].
type EdgeId = usize;

/// One artefact and what the queries read about it.
struct Node {
    node: NodeRef,
    /// Neighbours in first-seen order with the joining edge: kept in order so
    /// the explanation path is the same run to run.
    adjacent: Vec<(NodeId, EdgeId)>,
    /// Victims (subject keys) who named this artefact as a counterpart, with
    /// the last time (event ms) each did: `victims_of_counterparts`.
    victims: FxHashMap<String, i64>,
    /// Senders of transfers into this card, with the last time each sent:
    /// `card_fan_in`.
    payers: FxHashMap<NodeId, i64>,
}

/// An undirected link; repeated observations of one (pair, kind) add up.
struct Edge {
    via: Option<LinkKind>,
    amount_fen: i64,
}

/// Most nodes one hop search may reach before it gives up; bounds the
/// cost of a query near a super-node until the bounded graph replaces this one.
pub const MAX_VISITS: usize = 4096;

/// The account-link graph in memory. Every observed alert adds its subject's
/// phone joined to each counterpart (the kind taken from the alert's links
/// when they name it, else from the counterpart's kind), and every explicit
/// link (undirected for hops, directed for fan-in). Per node it keeps the
/// victims with the last time seen and the payers into cards with time.
pub struct MemoryGraph<F: FlaggedSet> {
    /// The flagged lists in force; swapped on a rules reload.
    flagged: F,
    /// Node of each artefact.
    ids: FxHashMap<NodeRef, NodeId>,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    /// Edge of each (lower id, higher id, kind): one edge per pair and kind.
    edge_ids: FxHashMap<(NodeId, NodeId, Option<LinkKind>), EdgeId>,
}

impl<F: FlaggedSet> MemoryGraph<F> {
    /// An empty graph judging artefacts by `flagged`.
    pub fn new(flagged: F) -> Self {
        MemoryGraph {
            flagged,
            ids: FxHashMap::default(),
            nodes: Vec::new(),
            edges: Vec::new(),
            edge_ids: FxHashMap::default(),
        }
    }

    /// Puts reloaded flagged lists in force; the graph itself is kept.
    pub fn set_flagged(&mut self, flagged: F) {
        self.flagged = flagged;
    }

    /// Adds what one alert says. Observing the same alert twice counts its
    /// amounts twice (victims and payers are sets, so they do not change).
    pub fn observe(&mut self, alert: &Alert) {
        let at = alert.occurred_at_ms;
        let phone = self.intern(NodeRef::new(ArtefactKind::Phone, &alert.subject.phone));
        for link in &alert.links {
            let from = self.intern_artefact(&link.from);
            let to = self.intern_artefact(&link.to);
            self.join(from, to, Some(link.kind), link.amount_fen);
            if link.kind == LinkKind::Transfer && link.to.kind == ArtefactKind::BankCard {
                // A link without its own time happened when the alert did.
                let sent_at = if link.at_ms > 0 { link.at_ms } else { at };
                record_latest(&mut self.nodes[to].payers, from, sent_at);
            }
        }
        let victim = alert.subject.subject_key();
        for counterpart in &alert.counterparts {
            let node = self.intern_artefact(counterpart);
            if !joins_phone_directly(alert, counterpart) {
                let (via, amount_fen) = implied_link(alert, counterpart);
                self.join(phone, node, via, amount_fen);
            }
            record_latest(&mut self.nodes[node].victims, victim.clone(), at);
            let paid_explicitly = alert
                .links
                .iter()
                .any(|l| l.kind == LinkKind::Transfer && l.to == *counterpart);
            if counterpart.kind == ArtefactKind::BankCard && !paid_explicitly {
                record_latest(&mut self.nodes[node].payers, phone, at);
            }
        }
    }

    /// Number of distinct artefacts seen.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of distinct links: one per pair of artefacts and link kind.
    pub fn link_count(&self) -> usize {
        self.edges.len()
    }

    fn intern_artefact(&mut self, a: &Artefact) -> NodeId {
        self.intern(NodeRef::new(a.kind, &a.value))
    }

    fn intern(&mut self, node: NodeRef) -> NodeId {
        if let Some(&id) = self.ids.get(&node) {
            return id;
        }
        let id = self.nodes.len();
        self.ids.insert(node.clone(), id);
        self.nodes.push(Node {
            node,
            adjacent: Vec::new(),
            victims: FxHashMap::default(),
            payers: FxHashMap::default(),
        });
        id
    }

    /// Joins two nodes, or adds `amount_fen` to the edge already joining them
    /// by that kind. A link from a node to itself explains nothing; dropped.
    fn join(&mut self, a: NodeId, b: NodeId, via: Option<LinkKind>, amount_fen: i64) {
        if a == b {
            return;
        }
        let key = (a.min(b), a.max(b), via);
        if let Some(&e) = self.edge_ids.get(&key) {
            self.edges[e].amount_fen = self.edges[e].amount_fen.saturating_add(amount_fen);
            return;
        }
        let e = self.edges.len();
        self.edges.push(Edge { via, amount_fen });
        self.edge_ids.insert(key, e);
        self.nodes[a].adjacent.push((b, e));
        self.nodes[b].adjacent.push((a, e));
    }

    fn id_of(&self, kind: ArtefactKind, value: &str) -> Option<NodeId> {
        self.ids.get(&NodeRef::new(kind, value)).copied()
    }

    /// Breadth-first from all `starts` at once, one level at a time; the
    /// first flagged node found is at the least depth. Starts not yet in the
    /// graph are still checked themselves.
    fn nearest_flagged(&self, starts: &[NodeRef], max_depth: u32) -> Option<(u32, Vec<PathStep>)> {
        if let Some(s) = starts.iter().find(|s| self.flagged.is_flagged(s)) {
            return Some((0, vec![first_step(s.clone())]));
        }
        // Each reached node with the node and edge it was reached by; `None` for a start.
        let mut reached: FxHashMap<NodeId, Option<(NodeId, EdgeId)>> = FxHashMap::default();
        let mut frontier = Vec::new();
        for s in starts {
            if let Some(id) = self.ids.get(s).copied()
                && reached.insert(id, None).is_none()
            {
                frontier.push(id);
            }
        }
        for depth in 1..=max_depth {
            let mut next = Vec::new();
            for &n in &frontier {
                for &(m, e) in &self.nodes[n].adjacent {
                    if reached.contains_key(&m) {
                        continue;
                    }
                    reached.insert(m, Some((n, e)));
                    if self.flagged.is_flagged(&self.nodes[m].node) {
                        return Some((depth, self.path_to(m, &reached)));
                    }
                    if reached.len() >= MAX_VISITS {
                        // A hub (a pooled account, a popular app) would make every
                        // query walk much of the graph: give up, as "not found".
                        return None;
                    }
                    next.push(m);
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        None
    }

    /// Walks back from `end` to its start; returns the steps start first.
    fn path_to(
        &self,
        end: NodeId,
        reached: &FxHashMap<NodeId, Option<(NodeId, EdgeId)>>,
    ) -> Vec<PathStep> {
        let mut steps = Vec::new();
        let mut at = end;
        while let Some(&Some((prev, e))) = reached.get(&at) {
            steps.push(PathStep {
                node: self.nodes[at].node.clone(),
                via: self.edges[e].via,
                amount_fen: self.edges[e].amount_fen,
            });
            at = prev;
        }
        steps.push(first_step(self.nodes[at].node.clone()));
        steps.reverse();
        steps
    }

    /// Most entries of `pick(node)` timed within `[from_ms, to_ms]` over the
    /// alert's counterparts of `kind` (any kind when `None`).
    fn most_within<T>(
        &self,
        alert: &Alert,
        kind: Option<ArtefactKind>,
        pick: impl Fn(&Node) -> &FxHashMap<T, i64>,
        now_ms: i64,
        span_ms: i64,
    ) -> u32 {
        let from_ms = now_ms.saturating_sub(span_ms);
        let best = alert
            .counterparts
            .iter()
            .filter(|c| kind.is_none_or(|k| c.kind == k))
            .filter_map(|c| self.id_of(c.kind, &c.value))
            .map(|id| {
                let times = pick(&self.nodes[id]);
                times
                    .values()
                    .filter(|&&t| from_ms <= t && t <= now_ms)
                    .count()
            })
            .max()
            .unwrap_or(0);
        u32::try_from(best).unwrap_or(u32::MAX)
    }
}

impl<F: FlaggedSet> GraphFeatures for MemoryGraph<F> {
    fn hops_to_flagged(&self, alert: &Alert, max_depth: u32) -> Option<(u32, Vec<PathStep>)> {
        self.nearest_flagged(&subject_side(alert), max_depth)
    }

    fn victims_of_counterparts(&self, alert: &Alert, now_ms: i64, horizon_ms: i64) -> u32 {
        self.most_within(alert, None, |n| &n.victims, now_ms, horizon_ms)
    }

    fn card_fan_in(&self, alert: &Alert, now_ms: i64, window_ms: i64) -> u32 {
        let cards = Some(ArtefactKind::BankCard);
        self.most_within(alert, cards, |n| &n.payers, now_ms, window_ms)
    }

    fn neighbourhood_flagged(&self, alert: &Alert) -> bool {
        let phone = NodeRef::new(ArtefactKind::Phone, &alert.subject.phone);
        self.nearest_flagged(&[phone], 2).is_some()
    }
}

fn first_step(node: NodeRef) -> PathStep {
    PathStep {
        node,
        via: None,
        amount_fen: 0,
    }
}

fn record_latest<K: std::hash::Hash + Eq>(times: &mut FxHashMap<K, i64>, key: K, at_ms: i64) {
    let t = times.entry(key).or_insert(at_ms);
    *t = (*t).max(at_ms);
}

fn is_subject_phone(alert: &Alert, a: &Artefact) -> bool {
    a.kind == ArtefactKind::Phone && a.value == alert.subject.phone
}

/// Whether `a`, the origin of one of the alert's links, is the subject's:
/// its phone, a card it owns by an ownership link from the phone, or a card
/// that is not a counterpart (counterparts are the fraud side, so a card
/// paying from the victim's side is the victim's own).
fn is_subject_origin(alert: &Alert, a: &Artefact) -> bool {
    if is_subject_phone(alert, a) {
        return true;
    }
    let owned = alert
        .links
        .iter()
        .any(|l| l.kind == LinkKind::Ownership && is_subject_phone(alert, &l.from) && l.to == *a);
    owned || (a.kind == ArtefactKind::BankCard && !alert.counterparts.contains(a))
}

/// Where hops are counted from: the subject's phone, then the origin of
/// each link that starts on the subject's side, in link order, no repeats.
fn subject_side(alert: &Alert) -> Vec<NodeRef> {
    let mut starts = vec![NodeRef::new(ArtefactKind::Phone, &alert.subject.phone)];
    for link in &alert.links {
        let origin = NodeRef::new(link.from.kind, &link.from.value);
        if is_subject_origin(alert, &link.from) && !starts.contains(&origin) {
            starts.push(origin);
        }
    }
    starts
}

/// Whether one of the alert's links already joins the subject's phone and
/// `counterpart` (either way round), so no implied link is needed.
fn joins_phone_directly(alert: &Alert, counterpart: &Artefact) -> bool {
    alert.links.iter().any(|l| {
        (l.from == *counterpart && is_subject_phone(alert, &l.to))
            || (l.to == *counterpart && is_subject_phone(alert, &l.from))
    })
}

/// The kind and amount of the subject-phone-to-counterpart link an alert
/// implies: those of a link from the subject's side into the counterpart
/// when there is one, else by what the counterpart is (a card was paid —
/// the alert's amount when it is the only card — a phone called, a device
/// or IP shared; a URL, app or account just named, no kind).
fn implied_link(alert: &Alert, counterpart: &Artefact) -> (Option<LinkKind>, i64) {
    let from_subject = alert
        .links
        .iter()
        .find(|l| l.to == *counterpart && is_subject_origin(alert, &l.from));
    if let Some(l) = from_subject {
        return (Some(l.kind), l.amount_fen);
    }
    match counterpart.kind {
        ArtefactKind::BankCard => {
            let cards = alert
                .counterparts
                .iter()
                .filter(|c| c.kind == ArtefactKind::BankCard)
                .count();
            let amount = if cards == 1 { alert.amount_fen } else { 0 };
            (Some(LinkKind::Transfer), amount)
        }
        ArtefactKind::Phone => (Some(LinkKind::Call), 0),
        ArtefactKind::Device | ArtefactKind::Ip => (Some(LinkKind::SharedDevice), 0),
        ArtefactKind::Url | ArtefactKind::App | ArtefactKind::SocialAccount => (None, 0),
    }
}
