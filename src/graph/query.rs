//! The graph's questions, answered from the petgraph storage: a bounded
//! breadth-first search for the nearest flagged node (depth, links followed
//! per node and nodes reached are all capped, so a hub cannot make a query
//! slow), and per-node counts over a time span (suspected victims and their
//! jurisdictions, persons named, fan-in, fan-out, mean payment), and what a
//! node is (hub-like, allowed). [`GraphFeatures`] lifts them to one alert.

use std::cell::Cell;
use std::collections::hash_map::Entry;

use petgraph::Direction::{self, Incoming, Outgoing};
use petgraph::visit::EdgeRef;
use rustc_hash::FxHashMap;

use super::flags::flag_bits;
use super::labels::LABEL_DEPTH;
use super::links::{LinkGraph, LinkIx, NodeIx};
use super::sides::{counterpart_nodes, secs, subject_side};
use super::{EdgeKind, GraphFeatures, NodeKind, PathStep};
use crate::model::Alert;

/// What a bounded hop search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HopAnswer {
    /// The nearest flagged node at this depth, path from a start to it.
    Found(u32, Vec<(NodeIx, Option<LinkIx>)>),
    /// No flagged node within the depth.
    NoneWithin,
    /// The visit budget ran out first: the answer is not known.
    GaveUp,
}

thread_local! {
    /// Hop searches that gave up on their budget, on this thread.
    static GAVE_UP: Cell<u64> = const { Cell::new(0) };
}

/// Hop searches on this thread that gave up on their visit budget.
pub fn searches_gave_up() -> u64 {
    GAVE_UP.with(Cell::get)
}

impl LinkGraph {
    /// Breadth-first from all `starts` at once, one level at a time, so the
    /// first flagged node met is at the least depth. Follows links either
    /// way but never victim links; from each node follows at most
    /// `max_expand` links (the newest: petgraph keeps them newest first);
    /// gives up after reaching `max_visits` nodes.
    pub fn nearest_flagged(&self, starts: &[NodeIx], max_depth: u32) -> HopAnswer {
        let max_visits = self.limits.max_visits as usize;
        // Sized for the whole budget up front: growing from empty rehashed
        // about 8 times per search (~10 % of a 3-hop search's time).
        let mut reached: FxHashMap<NodeIx, Option<(NodeIx, LinkIx)>> =
            FxHashMap::with_capacity_and_hasher(max_visits + starts.len(), Default::default());
        let mut frontier = Vec::with_capacity(starts.len());
        for &s in starts {
            let Some(n) = self.g.node_weight(s) else {
                continue;
            };
            if n.blocks_hops() {
                continue; // an allowed or hub-like start explains nothing
            }
            if n.is_flagged() {
                return HopAnswer::Found(0, vec![(s, None)]);
            }
            if reached.insert(s, None).is_none() {
                frontier.push(s);
            }
        }
        let mut next = Vec::new();
        for depth in 1..=max_depth {
            for &n in &frontier {
                for (m, e) in self.walkable(n) {
                    let Entry::Vacant(slot) = reached.entry(m) else {
                        continue;
                    };
                    slot.insert(Some((n, e)));
                    if self.g[m].flags & flag_bits::ANY_FLAG != 0 {
                        return HopAnswer::Found(depth, path_to(m, &reached));
                    }
                    if reached.len() >= max_visits {
                        GAVE_UP.with(|c| c.set(c.get() + 1));
                        return HopAnswer::GaveUp;
                    }
                    next.push(m);
                }
            }
            if next.is_empty() {
                break;
            }
            std::mem::swap(&mut frontier, &mut next);
            next.clear();
        }
        HopAnswer::NoneWithin
    }

    /// The nearest flagged node from `starts` within `max_depth`, read from
    /// the distance labels (exact, every link counted) when the depth is
    /// within [`LABEL_DEPTH`]; deeper questions, and a label that does not
    /// lead down (which would be a bug, logged), fall back to the search.
    pub fn nearest_flagged_labelled(&self, starts: &[NodeIx], max_depth: u32) -> HopAnswer {
        if max_depth > LABEL_DEPTH {
            return self.nearest_flagged(starts, max_depth);
        }
        let best = starts
            .iter()
            .filter_map(|&s| self.label(s).map(|d| (d, s)))
            .min_by_key(|&(d, _)| d);
        let Some((d, start)) = best.filter(|&(d, _)| d <= max_depth) else {
            return HopAnswer::NoneWithin;
        };
        match self.path_down(start) {
            Some(path) => HopAnswer::Found(d, path),
            None => {
                tracing::warn!(
                    node = start.index(),
                    "distance label leads nowhere; searching"
                );
                self.nearest_flagged(starts, max_depth)
            }
        }
    }

    /// The links a hop search follows out of `n`: both directions (outgoing
    /// first, each newest first), victim links and person nodes excluded,
    /// at most `max_expand`.
    fn walkable(&self, n: NodeIx) -> impl Iterator<Item = (NodeIx, LinkIx)> + '_ {
        self.hop_neighbours(n).take(self.limits.max_expand as usize)
    }

    /// A hop search's path as explanation steps, values unmasked (the task
    /// renderer masks them), the flag's note on the last step.
    pub fn path_steps(&self, path: &[(NodeIx, Option<LinkIx>)]) -> Vec<PathStep> {
        let mut steps: Vec<PathStep> = path
            .iter()
            .filter_map(|&(n, e)| {
                let node = self.node_ref(n)?;
                let link = e.and_then(|e| self.g.edge_weight(e));
                Some(PathStep {
                    node,
                    via: link.and_then(|l| l.kind.link_kind()),
                    amount_fen: link.map_or(0, |l| l.amount_fen),
                    flag: None,
                })
            })
            .collect();
        if let (Some(last), Some(&(n, _))) = (steps.last_mut(), path.last()) {
            last.flag = self.flag_text(n);
        }
        steps
    }

    /// Why `n` is flagged, for the end of an explanation path.
    pub fn flag_text(&self, n: NodeIx) -> Option<String> {
        if let Some(note) = self.notes.get(&(n.index() as u32)) {
            return Some(note.describe());
        }
        let d = self.g.node_weight(n)?;
        if d.flags & flag_bits::LISTED == 0 {
            return None;
        }
        let value = self.node_ref(n)?.value;
        let list = self.listed.get(value.as_str())?;
        Some(format!("涉诈名单 {list}"))
    }

    /// Distinct suspected victims whose warnings named `n` at or after
    /// `from_s`, and their distinct jurisdictions (counties).
    pub fn victims_of(&self, n: NodeIx, from_s: u32) -> (u32, u32) {
        let mut victims = 0u32;
        let mut regions: Vec<u32> = Vec::new();
        for e in self.g.edges_directed(n, Incoming) {
            let l = e.weight();
            if l.kind != EdgeKind::Victim || l.last_s < from_s || !self.g[e.source()].is_suspect() {
                continue;
            }
            victims += 1;
            let region = self.g[e.source()].region;
            if region != 0 && !regions.contains(&region) {
                regions.push(region);
            }
        }
        (victims, regions.len() as u32)
    }

    /// Distinct persons whose warnings named `n` at or after `from_s`,
    /// suspected or not.
    pub fn persons_of(&self, n: NodeIx, from_s: u32) -> u32 {
        self.g
            .edges_directed(n, Incoming)
            .filter(|e| e.weight().kind == EdgeKind::Victim && e.weight().last_s >= from_s)
            .count() as u32
    }

    /// Mean payment into `n`, in fen, over the transfers into it last seen
    /// at or after `from_s` (every observation of each counted); 0 when none.
    pub fn mean_payment_in(&self, n: NodeIx, from_s: u32) -> i64 {
        let (sum, count) = self
            .g
            .edges_directed(n, Incoming)
            .map(|e| e.weight())
            .filter(|l| l.kind == EdgeKind::Transfer && l.last_s >= from_s)
            .fold((0i64, 0i64), |(s, c), l| {
                (s.saturating_add(l.amount_fen), c + i64::from(l.count))
            });
        if count == 0 { 0 } else { sum / count }
    }

    /// Distinct counterparties of transfers into (`Incoming`) or out of
    /// (`Outgoing`) `n` seen at or after `from_s`.
    pub fn fan(&self, n: NodeIx, dir: Direction, from_s: u32) -> u32 {
        self.g
            .edges_directed(n, dir)
            .filter(|e| e.weight().kind == EdgeKind::Transfer && e.weight().last_s >= from_s)
            .count() as u32
    }

    /// The most of `count(node)` over the alert's counterparts (of `kind`).
    fn most_over_counterparts(
        &self,
        alert: &Alert,
        kind: Option<NodeKind>,
        count: impl Fn(NodeIx) -> u32,
    ) -> u32 {
        counterpart_nodes(self, alert)
            .filter(|&n| kind.is_none_or(|k| self.g[n].kind == k))
            .map(count)
            .max()
            .unwrap_or(0)
    }
}

impl LinkGraph {
    /// The most of `count(node)` over the counterparts that may tie victims
    /// together: phones and cards, neither hub-like nor allowed (what series
    /// and derived flags go by).
    fn most_over_linking(&self, alert: &Alert, count: impl Fn(NodeIx) -> u32) -> u32 {
        counterpart_nodes(self, alert)
            .filter(|&n| self.may_link_victims(n))
            .map(count)
            .max()
            .unwrap_or(0)
    }
}

/// Walks back from `end` to its start; returns the steps start first.
fn path_to(
    end: NodeIx,
    reached: &FxHashMap<NodeIx, Option<(NodeIx, LinkIx)>>,
) -> Vec<(NodeIx, Option<LinkIx>)> {
    let mut steps = Vec::new();
    let mut at = end;
    while let Some(&Some((prev, e))) = reached.get(&at) {
        steps.push((at, Some(e)));
        at = prev;
    }
    steps.push((at, None));
    steps.reverse();
    steps
}

impl GraphFeatures for LinkGraph {
    fn hops_to_flagged(&self, alert: &Alert, max_depth: u32) -> Option<(u32, Vec<PathStep>)> {
        let starts = subject_side(self, alert);
        match self.nearest_flagged_labelled(&starts, max_depth) {
            HopAnswer::Found(depth, path) => Some((depth, self.path_steps(&path))),
            HopAnswer::NoneWithin | HopAnswer::GaveUp => None,
        }
    }

    fn victims_of_counterparts(&self, alert: &Alert, now_ms: i64, horizon_ms: i64) -> u32 {
        let from_s = secs(now_ms.saturating_sub(horizon_ms));
        self.most_over_linking(alert, |n| self.victims_of(n, from_s).0)
    }

    fn jurisdictions_of_counterparts(&self, alert: &Alert, now_ms: i64, horizon_ms: i64) -> u32 {
        let from_s = secs(now_ms.saturating_sub(horizon_ms));
        self.most_over_linking(alert, |n| self.victims_of(n, from_s).1)
    }

    fn card_fan_in(&self, alert: &Alert, now_ms: i64, window_ms: i64) -> u32 {
        let from_s = secs(now_ms.saturating_sub(window_ms));
        let cards = Some(NodeKind::BankCard);
        self.most_over_counterparts(alert, cards, |n| self.fan(n, Incoming, from_s))
    }

    fn card_fan_out(&self, alert: &Alert, now_ms: i64, window_ms: i64) -> u32 {
        let from_s = secs(now_ms.saturating_sub(window_ms));
        let cards = Some(NodeKind::BankCard);
        self.most_over_counterparts(alert, cards, |n| self.fan(n, Outgoing, from_s))
    }

    fn persons_linked(&self, alert: &Alert, now_ms: i64, horizon_ms: i64) -> u32 {
        let from_s = secs(now_ms.saturating_sub(horizon_ms));
        self.most_over_counterparts(alert, None, |n| self.persons_of(n, from_s))
    }

    fn card_mean_payment_in(&self, alert: &Alert, now_ms: i64, window_ms: i64) -> f64 {
        let from_s = secs(now_ms.saturating_sub(window_ms));
        let most = counterpart_nodes(self, alert)
            .filter(|&n| self.g[n].kind == NodeKind::BankCard)
            .map(|n| self.mean_payment_in(n, from_s))
            .max()
            .unwrap_or(0);
        most as f64 / 100.0
    }

    fn counterpart_is_hub(&self, alert: &Alert) -> bool {
        counterpart_nodes(self, alert).any(|n| self.g[n].is_hub())
    }

    fn counterpart_is_allowed(&self, alert: &Alert) -> bool {
        counterpart_nodes(self, alert).any(|n| self.g[n].is_allowed())
    }

    fn counterpart_degree(&self, alert: &Alert) -> u32 {
        self.most_over_counterparts(alert, None, |n| self.g[n].degree)
    }

    fn neighbourhood_flagged(&self, alert: &Alert) -> bool {
        let Some(phone) = self.find(NodeKind::Phone, &alert.subject.phone) else {
            return false;
        };
        matches!(
            self.nearest_flagged_labelled(&[phone], 2),
            HopAnswer::Found(..)
        )
    }
}
