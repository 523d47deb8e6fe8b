//! A seeded generator of large account-link graphs, for benches and the
//! `graph measure` tool: the same seed gives the same graph, so figures are
//! comparable run to run. Node `i` has a fixed kind and value; links join
//! uniformly random nodes, except a share that lands on a few hubs (a pooled
//! account, a call centre) so the degree caps are exercised.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::links::{LinkGraph, NodeIx};
use super::{EdgeKind, GraphLimits, NodeKind};

/// The shape of a generated graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraphGen {
    /// Artefacts.
    pub nodes: u32,
    /// Link observations (a few repeat a pair and become one link).
    pub links: u64,
    /// Seed of everything random.
    pub seed: u64,
    /// Flagged artefacts per million.
    pub flagged_per_million: u32,
    /// Hub nodes.
    pub hubs: u32,
    /// Percent of link ends that land on a hub.
    pub hub_percent: u32,
}

/// One generated link: from, to (node numbers), kind, fen, unix s.
pub type GenLink = (u32, u32, EdgeKind, i64, u32);

/// Start of generated time (2026-01-01 UTC), unix s.
pub const GEN_T0_S: u32 = 1_767_225_600;
/// Span of generated link times.
pub const GEN_SPAN_S: u32 = 90 * 24 * 3600;

impl GraphGen {
    /// A graph of `nodes` and `links` from `seed`, with 1,000 flagged per
    /// million, 100 hubs taking 1% of link ends.
    pub fn new(nodes: u32, links: u64, seed: u64) -> GraphGen {
        GraphGen {
            nodes: nodes.max(2),
            links,
            seed,
            flagged_per_million: 1_000,
            hubs: 100.min(nodes / 10),
            hub_percent: 1,
        }
    }

    /// Kind and value of node `i`: phones, cards, devices, URLs and apps
    /// in a fixed mix, values shaped like real ones.
    pub fn node_key(&self, i: u32, out: &mut String) -> NodeKind {
        use std::fmt::Write;
        out.clear();
        let kind = match i % 10 {
            0..=3 => NodeKind::Phone,
            4..=7 => NodeKind::BankCard,
            8 => NodeKind::Device,
            _ => NodeKind::Url,
        };
        // Writing into a String cannot fail.
        let _ = match kind {
            NodeKind::Phone => write!(out, "13{i:09}"),
            NodeKind::BankCard => write!(out, "6222{i:012}"),
            NodeKind::Device => write!(out, "dev-{i:x}"),
            _ => write!(out, "s{i:x}.example.cn"),
        };
        kind
    }

    /// True when node `i` is flagged (a fixed, spread-out subset).
    pub fn is_flagged(&self, i: u32) -> bool {
        let h = (u64::from(i) ^ self.seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        h % 1_000_000 < u64::from(self.flagged_per_million)
    }

    /// The link observations, in order.
    pub fn links(&self) -> impl Iterator<Item = GenLink> + '_ {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        (0..self.links).map(move |k| {
            let a = self.end(&mut rng);
            let mut b = self.end(&mut rng);
            if a == b {
                b = (b + 1) % self.nodes;
            }
            let kind = match rng.random_range(0..10u8) {
                0..=5 => EdgeKind::Transfer,
                6..=7 => EdgeKind::Call,
                8 => EdgeKind::Sms,
                _ => EdgeKind::SharedDevice,
            };
            let amount = if kind == EdgeKind::Transfer {
                rng.random_range(100..5_000_000)
            } else {
                0
            };
            let at = GEN_T0_S + ((k * u64::from(GEN_SPAN_S)) / self.links.max(1)) as u32;
            (a, b, kind, amount, at)
        })
    }

    fn end(&self, rng: &mut ChaCha8Rng) -> u32 {
        if self.hubs > 0 && rng.random_range(0..100) < self.hub_percent {
            rng.random_range(0..self.hubs) * 7 % self.nodes
        } else {
            rng.random_range(0..self.nodes)
        }
    }

    /// Interns every node (flagging the flagged ones); returns the graph
    /// and the index of each node number. `progress` gets nodes done.
    pub fn nodes_into(
        &self,
        limits: GraphLimits,
        mut progress: impl FnMut(u64),
    ) -> (LinkGraph, Vec<NodeIx>) {
        let mut g = LinkGraph::with_capacity(self.nodes as usize, self.links as usize, limits);
        let mut ids = Vec::with_capacity(self.nodes as usize);
        let mut value = String::new();
        for i in 0..self.nodes {
            let kind = self.node_key(i, &mut value);
            let ix = g.intern(kind, &value, GEN_T0_S);
            if self.is_flagged(i) {
                g.set_note(
                    ix,
                    super::FlagNote {
                        source: super::FlagSource::Frozen,
                        reason: "generated".into(),
                        date: "2026-01-01".into(),
                        at_s: GEN_T0_S,
                    },
                );
            }
            ids.push(ix);
            if i % 1_000_000 == 999_999 {
                progress(u64::from(i) + 1);
            }
        }
        (g, ids)
    }
}
