//! Distance labels stay exact: after any sequence of link upserts, link
//! removals (expiry, degree caps), imported flags and list reloads, every
//! node's label equals a plain BFS over the graph as it now stands, and a
//! labelled hop answer equals the search's. Allow lists and allow imports
//! come and go among the changes: no hop path ever passes an allowed or
//! hub-like artefact.

use std::collections::VecDeque;

use petgraph::Direction::{Incoming, Outgoing};
use petgraph::visit::EdgeRef;
use proptest::prelude::*;

use super::*;
use crate::graph::labels::LABEL_DEPTH;

/// One change to the graph, over node numbers `0..n`.
#[derive(Clone, Debug)]
enum Op {
    Link(usize, usize, EdgeKind, u32),
    Expire(u32),
    Flag(usize),
    List(Vec<usize>),
    Allow(Vec<usize>),
    AllowImport(usize),
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    let kinds = prop::sample::select(vec![
        EdgeKind::Call,
        EdgeKind::Transfer,
        EdgeKind::Ownership,
        EdgeKind::Named,
        EdgeKind::Victim,
    ]);
    prop_oneof![
        6 => (0..n, 0..n, kinds, 0..40u32).prop_map(|(a, b, k, t)| Op::Link(a, b, k, t)),
        1 => (0..40u32).prop_map(Op::Expire),
        1 => (0..n).prop_map(Op::Flag),
        1 => prop::collection::vec(0..n, 0..4).prop_map(Op::List),
        1 => prop::collection::vec(0..n, 0..3).prop_map(Op::Allow),
        1 => (0..n).prop_map(Op::AllowImport),
    ]
}

/// Node `i`: every fifth a person, the rest artefacts of every kind.
fn key_of(i: usize) -> (NodeKind, String) {
    if i % 5 == 4 {
        return (NodeKind::Person, format!("p{i:02}"));
    }
    (NodeKind::ARTEFACTS[i % 7], format!("v{i:02}"))
}

/// Hops from every node to the nearest flagged node by plain BFS over the
/// links now in the graph (both ways, no victim links, never through a
/// person, a hub or an allowed artefact, which carry no label).
fn brute_labels(g: &LinkGraph) -> Vec<(NodeIx, Option<u32>)> {
    let mut dist: std::collections::HashMap<NodeIx, u32> = Default::default();
    let mut queue = VecDeque::new();
    for n in g.g.node_indices() {
        if g.g[n].is_flagged() && !g.g[n].blocks_hops() {
            dist.insert(n, 0);
            queue.push_back(n);
        }
    }
    while let Some(u) = queue.pop_front() {
        let d = dist[&u];
        let out =
            g.g.edges_directed(u, Outgoing)
                .map(|e| (e.target(), *e.weight()));
        let inc =
            g.g.edges_directed(u, Incoming)
                .map(|e| (e.source(), *e.weight()));
        for (v, l) in out.chain(inc) {
            if l.kind == EdgeKind::Victim || g.g[v].blocks_hops() {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = dist.entry(v) {
                slot.insert(d + 1);
                queue.push_back(v);
            }
        }
    }
    g.g.node_indices()
        .map(|n| (n, dist.get(&n).copied().filter(|&d| d <= LABEL_DEPTH)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn labels_equal_brute_force_bfs_after_any_changes(
        (n, ops, cap) in (3usize..24).prop_flat_map(|n| {
            (Just(n), prop::collection::vec(op(n), 1..80), 2u32..6)
        })
    ) {
        let limits = GraphLimits {
            max_degree: cap,
            link_max_age_s: 10,
            hub_links_per_day: 4,
            ..wide_limits()
        };
        let mut g = LinkGraph::new(limits);
        let mut ix = Vec::new();
        for i in 0..n {
            let (kind, value) = key_of(i);
            ix.push(g.intern(kind, &value, T0_S));
        }
        for op in ops {
            match op {
                Op::Link(a, b, kind, t) => {
                    let (a, b) = (g.find(key_of(a).0, &key_of(a).1), g.find(key_of(b).0, &key_of(b).1));
                    if let (Some(a), Some(b)) = (a, b) {
                        g.upsert_link(a, b, kind, 100, T0_S + t);
                    }
                }
                Op::Expire(t) => {
                    g.expire(T0_S + t, u32::MAX);
                }
                Op::Flag(i) => {
                    let (kind, value) = key_of(i);
                    let node = g.intern(kind, &value, T0_S);
                    g.set_note(node, frozen("2026-03-02"));
                }
                Op::List(members) => {
                    let values: Vec<String> = members.iter().map(|&i| key_of(i).1).collect();
                    g.set_listed(values.iter().map(|v| (v.as_str(), "flagged_test")));
                }
                Op::Allow(members) => {
                    let values: Vec<String> = members.iter().map(|&i| key_of(i).1).collect();
                    g.set_allowed(values.iter().map(String::as_str));
                }
                Op::AllowImport(i) => {
                    let (kind, value) = key_of(i);
                    let node = g.intern(kind, &value, T0_S);
                    g.allow_imported(node);
                }
            }
            for (node, want) in brute_labels(&g) {
                prop_assert_eq!(g.label(node), want, "node {:?}", g.node_ref(node));
                let labelled = g.nearest_flagged_labelled(&[node], LABEL_DEPTH);
                match (want, labelled) {
                    (Some(d), HopAnswer::Found(got, path)) => {
                        prop_assert_eq!(got, d);
                        prop_assert_eq!(path.len() as u32, d + 1);
                        for (step, _) in &path {
                            let w = g.node(*step).unwrap();
                            prop_assert!(!w.is_allowed() && !w.is_hub(), "path through {:?}", g.node_ref(*step));
                        }
                    }
                    (None, HopAnswer::NoneWithin) => {}
                    (w, other) => prop_assert!(false, "want {:?}, got {:?}", w, other),
                }
            }
        }
    }
}

#[test]
fn a_snapshot_keeps_labels_and_a_later_list_reload_unmarks() {
    let mut g = LinkGraph::new(wide_limits());
    let a = g.intern(NodeKind::Phone, "13800000001", T0_S);
    let b = g.intern(NodeKind::BankCard, "6222000011112222", T0_S);
    let c = g.intern(NodeKind::BankCard, "6222000033334444", T0_S);
    g.upsert_link(a, b, EdgeKind::Transfer, 100, T0_S);
    g.upsert_link(b, c, EdgeKind::Transfer, 100, T0_S);
    g.set_listed([("6222000033334444", "flagged_cards")].into_iter());
    assert_eq!(g.label(a), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("graph.snap");
    g.save(&path, Default::default()).unwrap();
    let (mut loaded, _) = LinkGraph::load(&path, wide_limits()).unwrap();
    let a2 = loaded.find(NodeKind::Phone, "13800000001").unwrap();
    assert_eq!(loaded.label(a2), Some(2));
    loaded.set_listed(std::iter::empty());
    assert_eq!(
        loaded.label(a2),
        None,
        "the card left the list after the snapshot"
    );
}
