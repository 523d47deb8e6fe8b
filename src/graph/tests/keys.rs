//! The key arena: lookups stay right across removal and compaction, and
//! interning both ends of a link with their memory asked ahead, alone or
//! in runs, changes nothing but speed.

use super::*;
use crate::graph::keys::{KeySpan, Keys, key_tag};

/// Values long enough that a few thousand pass the 1 MiB compaction floor.
fn long_value(i: usize) -> String {
    format!("{i:06}.{}", "a".repeat(243))
}

fn kind_of(i: usize) -> NodeKind {
    NodeKind::ARTEFACTS[i % NodeKind::ARTEFACTS.len()]
}

#[test]
fn keys_compaction_keeps_every_live_lookup() {
    let mut keys = Keys::default();
    // What the graph would hold per node: its kind and span, `None` once removed.
    let mut nodes: Vec<Option<(NodeKind, KeySpan)>> = Vec::new();
    for i in 0..5000 {
        let v = long_value(i);
        let span = keys.push_value(v.as_bytes());
        nodes.push(Some((kind_of(i), span)));
        let tag = key_tag(kind_of(i), v.as_bytes());
        keys.index(i as u32, kind_of(i), span, tag);
    }
    assert!(!keys.needs_compaction(), "no garbage yet");
    for (i, n) in nodes.iter_mut().enumerate() {
        if i % 5 != 0 {
            let (kind, span) = n.take().unwrap();
            keys.remove(i as u32, key_tag(kind, long_value(i).as_bytes()), span.len);
        }
    }
    assert!(keys.needs_compaction());
    let before = keys.allocated_bytes();

    let spans = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.map(|(_, s)| (i as u32, s)));
    for (i, at) in keys.compact(spans) {
        if let Some((_, span)) = &mut nodes[i as usize] {
            span.at = at;
        }
    }

    assert!(!keys.needs_compaction());
    assert!(
        keys.allocated_bytes() < before / 2,
        "{} of {before}",
        keys.allocated_bytes()
    );
    assert_eq!(keys.len(), 1000);
    for (i, node) in nodes.iter().enumerate() {
        let v = long_value(i);
        let found = keys.find(kind_of(i), v.as_bytes());
        if i % 5 == 0 {
            assert_eq!(found, Some(i as u32));
            assert_eq!(keys.value(node.unwrap().1), v.as_bytes());
        } else {
            assert_eq!(found, None, "removed key {i} still found");
        }
        let other_kind = kind_of(i + 1);
        let found = keys.find(other_kind, v.as_bytes());
        assert_eq!(found, None);
    }
}

#[test]
fn graph_compacts_its_keys_after_mass_expiry_and_finds_survivors() {
    let mut g = LinkGraph::new(GraphLimits {
        link_max_age_s: 10 * DAY_S,
        ..GraphLimits::default()
    });
    let nodes: Vec<NodeIx> = (0..5000)
        .map(|i| g.intern(NodeKind::Url, &long_value(i), T0_S))
        .collect();
    for (i, &n) in nodes.iter().enumerate() {
        if i % 5 == 0 {
            g.set_note(n, frozen(""));
        } else {
            g.upsert_link(n, nodes[i / 5 * 5], EdgeKind::Named, 0, T0_S);
        }
    }
    g.expire(T0_S + 20 * DAY_S, u32::MAX);
    assert_eq!(g.node_count(), 1000);
    assert!(g.keys.needs_compaction());
    let before = g.keys.allocated_bytes();

    let fresh = g.intern(NodeKind::Url, "fresh.example.cn", T0_S + 20 * DAY_S);

    assert!(!g.keys.needs_compaction());
    assert!(g.keys.allocated_bytes() < before / 2);
    assert_eq!(g.find(NodeKind::Url, "fresh.example.cn"), Some(fresh));
    for (i, &n) in nodes.iter().enumerate() {
        let v = long_value(i);
        if i % 5 == 0 {
            assert_eq!(g.find(NodeKind::Url, &v), Some(n));
            assert_eq!(g.node_ref(n), Some(NodeRef::new(NodeKind::Url, v)));
        } else {
            assert_eq!(g.find(NodeKind::Url, &v), None);
        }
    }
}

/// Everything the graph holds, by index: nodes, links in index order.
fn state(g: &LinkGraph) -> (Vec<String>, Vec<String>) {
    use petgraph::visit::{EdgeRef, IntoEdgeReferences};
    let nodes =
        g.g.node_indices()
            .map(|n| format!("{n:?} {:?} {:?}", g.node_ref(n), g.g[n]))
            .collect();
    let links =
        g.g.edge_references()
            .map(|e| format!("{:?} {:?}", (e.id(), e.source(), e.target()), e.weight()))
            .collect();
    (nodes, links)
}

proptest::proptest! {
    #[test]
    fn interning_link_ends_ahead_equals_two_interns(
        obs in proptest::collection::vec((0..12usize, 0..12usize, 0..4usize, 0..40u32, 0..30u8), 1..120),
    ) {
        use proptest::prelude::*;
        let limits = GraphLimits {
            max_degree: 4,
            link_max_age_s: 10 * DAY_S,
            ..GraphLimits::default()
        };
        let mut plain = LinkGraph::new(limits.clone());
        let mut ahead = LinkGraph::new(limits.clone());
        let mut runs = LinkGraph::new(limits);
        let kinds = [EdgeKind::Call, EdgeKind::Transfer, EdgeKind::Named, EdgeKind::Victim];
        // Values shared by two kinds, so (kind, value) is what tells them apart.
        let end = |i: usize| (NodeKind::ARTEFACTS[i % 3], format!("v{}", i / 2));
        let values: Vec<_> = (0..12).map(end).collect();
        // Observations between two expiry sweeps (runs of about 30, more
        // than a group) go to `runs` as one run.
        let mut run = Vec::new();
        let mut run_kept = Vec::new();
        for (n, &(a, b, k, day, sweep)) in obs.iter().enumerate() {
            let at_s = T0_S + day * DAY_S;
            let ((ka, va), (kb, vb)) = (&values[a], &values[b]);
            if sweep == 0 {
                prop_assert_eq!(runs.upsert_keyed(&run), std::mem::take(&mut run_kept));
                run.clear();
                for g in [&mut plain, &mut ahead, &mut runs] {
                    g.expire(at_s, u32::MAX);
                }
            }
            let x = plain.intern(*ka, va, at_s);
            let y = plain.intern(*kb, vb, at_s);
            let (p, q) = ahead.intern_link_ends((*ka, va), (*kb, vb), kinds[k], at_s);
            prop_assert_eq!((x, y), (p, q));
            let e = plain.upsert_link(x, y, kinds[k], 100 + n as i64, at_s);
            prop_assert_eq!(e, ahead.upsert_link(p, q, kinds[k], 100 + n as i64, at_s));
            run.push(KeyedLink {
                from: (*ka, va),
                to: (*kb, vb),
                kind: kinds[k],
                amount_fen: 100 + n as i64,
                at_s,
            });
            run_kept.push(e);
        }
        prop_assert_eq!(runs.upsert_keyed(&run), run_kept);
        prop_assert_eq!(state(&plain), state(&ahead));
        prop_assert_eq!(state(&plain), state(&runs));
        for (kind, value) in &values {
            prop_assert_eq!(plain.find(*kind, value), ahead.find(*kind, value));
            prop_assert_eq!(plain.find(*kind, value), runs.find(*kind, value));
        }
    }
}
