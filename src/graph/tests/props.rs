//! Property tests: the bounded hop query against a plain BFS, and the
//! invariants degree caps and expiry must keep after any sequence of updates.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use petgraph::Direction::{Incoming, Outgoing};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use proptest::prelude::*;
use proptest::sample::Index;

use super::*;
use crate::graph::flags::flag_bits;

/// Link kinds a hop query walks.
const WALKED: [EdgeKind; 6] = [
    EdgeKind::Call,
    EdgeKind::Sms,
    EdgeKind::Transfer,
    EdgeKind::SharedDevice,
    EdgeKind::Ownership,
    EdgeKind::Named,
];

const ALL_KINDS: [EdgeKind; 7] = [
    EdgeKind::Call,
    EdgeKind::Sms,
    EdgeKind::Transfer,
    EdgeKind::SharedDevice,
    EdgeKind::Ownership,
    EdgeKind::Named,
    EdgeKind::Victim,
];

/// A random small graph: nodes `0..n`, links (from, to, kind, seconds
/// after `T0_S`) in upsert order, and which nodes are flagged.
#[derive(Clone, Debug)]
struct Spec {
    n: usize,
    links: Vec<(usize, usize, EdgeKind, u32)>,
    flagged: Vec<bool>,
}

fn spec(
    max_nodes: usize,
    max_links: usize,
    kinds: &'static [EdgeKind],
    span_s: u32,
) -> impl Strategy<Value = Spec> {
    (1..=max_nodes)
        .prop_flat_map(move |n| {
            let link = (0..n, 0..n, prop::sample::select(kinds), 0..span_s);
            (
                Just(n),
                prop::collection::vec(link, 0..=max_links),
                prop::collection::vec(prop::bool::weighted(0.15), n),
            )
        })
        .prop_map(|(n, links, flagged)| Spec { n, links, flagged })
}

/// Kind and value of node `i`; every sixth a person when `persons`.
fn key(i: usize, persons: bool) -> (NodeKind, String) {
    let kind = if persons && i % 6 == 5 {
        NodeKind::Person
    } else {
        NodeKind::ARTEFACTS[i % NodeKind::ARTEFACTS.len()]
    };
    (kind, format!("v{i:03}"))
}

/// Interns every node, flags the flagged ones (even ones and persons by an
/// import note, odd ones by a rule list put in force first), then upserts
/// the links. Returns the graph and each node's index.
fn build(spec: &Spec, limits: GraphLimits, persons: bool) -> (LinkGraph, Vec<NodeIx>) {
    let mut g = LinkGraph::new(limits);
    let by_note = |i: usize| i.is_multiple_of(2) || key(i, persons).0 == NodeKind::Person;
    let listed: Vec<String> = (0..spec.n)
        .filter(|&i| spec.flagged[i] && !by_note(i))
        .map(|i| key(i, persons).1)
        .collect();
    g.set_listed(listed.iter().map(|v| (v.as_str(), "flagged_test")));
    let ix: Vec<NodeIx> = (0..spec.n)
        .map(|i| {
            let (kind, value) = key(i, persons);
            g.intern(kind, &value, T0_S)
        })
        .collect();
    for i in (0..spec.n).filter(|&i| spec.flagged[i] && by_note(i)) {
        g.set_note(ix[i], frozen("2026-03-02"));
    }
    for &(a, b, kind, dt) in &spec.links {
        g.upsert_link(ix[a], ix[b], kind, 100, T0_S + dt);
    }
    (g, ix)
}

/// Distance from the nearest of `starts` to the nearest flagged node within
/// `depth`, by plain BFS over the spec's links taken both ways.
fn brute_nearest(spec: &Spec, starts: &[usize], depth: u32) -> Option<u32> {
    let mut adjacent = vec![Vec::new(); spec.n];
    for &(a, b, _, _) in &spec.links {
        if a != b {
            adjacent[a].push(b);
            adjacent[b].push(a);
        }
    }
    let mut dist = vec![u32::MAX; spec.n];
    let mut queue = VecDeque::new();
    for &s in starts {
        if dist[s] == u32::MAX {
            dist[s] = 0;
            queue.push_back(s);
        }
    }
    while let Some(u) = queue.pop_front() {
        for &v in &adjacent[u] {
            if dist[v] == u32::MAX {
                dist[v] = dist[u] + 1;
                queue.push_back(v);
            }
        }
    }
    (0..spec.n)
        .filter(|&i| spec.flagged[i] && dist[i] <= depth)
        .map(|i| dist[i])
        .min()
}

fn joined(spec: &Spec, a: usize, b: usize) -> bool {
    spec.links
        .iter()
        .any(|&(x, y, _, _)| (x, y) == (a, b) || (x, y) == (b, a))
}

/// Every node's degree matches its links in petgraph (at most `cap`), and
/// the link count is half the sum of degrees.
fn check_degrees(g: &LinkGraph, cap: u32) -> Result<(), TestCaseError> {
    let mut sum = 0;
    for n in g.g.node_indices() {
        let actual =
            g.g.edges_directed(n, Outgoing).count() + g.g.edges_directed(n, Incoming).count();
        let degree = g.g[n].degree;
        prop_assert_eq!(degree as usize, actual, "node {:?}", n);
        prop_assert!(
            degree <= cap,
            "node {:?} has {} links, cap {}",
            n,
            degree,
            cap
        );
        sum += actual;
    }
    prop_assert_eq!(g.link_count() * 2, sum);
    Ok(())
}

proptest! {
    #[test]
    fn bounded_hop_query_equals_brute_force_bfs(
        spec in spec(40, 120, &WALKED, 1000),
        starts in prop::collection::vec(any::<Index>(), 1..4),
        depth in 0u32..=4,
    ) {
        let (g, ix) = build(&spec, wide_limits(), false);
        let starts: Vec<usize> = starts.iter().map(|s| s.index(spec.n)).collect();
        let start_ix: Vec<NodeIx> = starts.iter().map(|&s| ix[s]).collect();
        let pos = |n: NodeIx| ix.iter().position(|&x| x == n).unwrap();
        let want = brute_nearest(&spec, &starts, depth);
        match g.nearest_flagged(&start_ix, depth) {
            HopAnswer::Found(d, path) => {
                prop_assert_eq!(Some(d), want);
                prop_assert_eq!(path.len() as u32, d + 1);
                prop_assert!(start_ix.contains(&path[0].0));
                prop_assert_eq!(path[0].1, None);
                prop_assert!(spec.flagged[pos(path[path.len() - 1].0)]);
                for pair in path.windows(2) {
                    let ((prev, _), (cur, link)) = (pair[0], pair[1]);
                    let ends = link.and_then(|e| g.g.edge_endpoints(e));
                    prop_assert!(ends == Some((prev, cur)) || ends == Some((cur, prev)), "{:?}", pair);
                    prop_assert!(joined(&spec, pos(prev), pos(cur)));
                }
            }
            other => {
                prop_assert_eq!(other, HopAnswer::NoneWithin);
                prop_assert_eq!(want, None);
            }
        }
    }

    #[test]
    fn alert_hops_and_neighbourhood_equal_brute_force_bfs(
        n in 2usize..12,
        raw_edges in prop::collection::vec((0usize..12, 0usize..12, 0usize..3), 0..30),
        flags in prop::collection::vec(any::<bool>(), 12),
        start in 0usize..12,
        depth in 0u32..5,
    ) {
        let numbered = |i: usize| format!("1390000{i:04}");
        let kinds = [LinkKind::Call, LinkKind::Sms, LinkKind::Transfer];
        let spec = Spec {
            n,
            links: raw_edges.iter().map(|&(a, b, k)| (a % n, b % n, kinds[k].into(), 0)).collect(),
            flagged: flags[..n].to_vec(),
        };
        let start = start % n;
        let links = spec.links.iter().zip(&raw_edges).map(|(&(a, b, _, _), &(_, _, k))| Link {
            kind: kinds[k],
            from: phone(&numbered(a)),
            to: phone(&numbered(b)),
            amount_fen: 0,
            at_ms: T0,
        }).collect();
        let mut g = graph();
        let listed: Vec<String> = (0..n).filter(|&i| flags[i]).map(numbered).collect();
        g.set_listed(listed.iter().map(|v| (v.as_str(), "flagged_phones")));
        g.observe(&alert(&numbered(0), T0, vec![], links));
        let query = alert(&numbered(start), T0, vec![], vec![]);
        g.observe(&query);

        let got = g.hops_to_flagged(&query, depth);
        prop_assert_eq!(got.as_ref().map(|(h, _)| *h), brute_nearest(&spec, &[start], depth));
        if let Some((hops, path)) = got {
            prop_assert_eq!(path.len() as u32, hops + 1);
            prop_assert_eq!(&path[0].node, &node(&phone(&numbered(start))));
            let index = |r: &NodeRef| (0..n).find(|&i| r.value == numbered(i)).unwrap();
            prop_assert!(flags[index(&path[path.len() - 1].node)]);
            for pair in path.windows(2) {
                prop_assert!(joined(&spec, index(&pair[0].node), index(&pair[1].node)));
            }
        }
        let near = brute_nearest(&spec, &[start], 2).is_some();
        prop_assert_eq!(g.neighbourhood_flagged(&query), near);
    }

    #[test]
    fn degree_cap_holds_and_degrees_match_links_after_any_upserts(
        max_degree in 3u32..8,
        spec in spec(20, 200, &ALL_KINDS, 1000),
    ) {
        let limits = GraphLimits { max_degree, ..GraphLimits::default() };
        let mut g = LinkGraph::new(limits);
        let ix: Vec<NodeIx> = (0..spec.n).map(|i| g.intern(key(i, true).0, &key(i, true).1, T0_S)).collect();
        for &(a, b, kind, dt) in &spec.links {
            let full = |g: &LinkGraph, n: NodeIx| g.node(n).unwrap().degree >= max_degree;
            let refused_at_cap = a != b && (full(&g, ix[a]) || full(&g, ix[b]));
            let existed = g.g.edges_connecting(ix[a], ix[b]).any(|e| e.weight().kind == kind);
            let got = g.upsert_link(ix[a], ix[b], kind, 100, T0_S + dt);
            prop_assert_eq!(got.is_some(), a != b && (existed || !refused_at_cap));
            if let Some(e) = got {
                prop_assert_eq!(g.g.edge_endpoints(e), Some((ix[a], ix[b])));
                prop_assert_eq!(g.g[e].kind, kind);
            }
            check_degrees(&g, max_degree)?;
        }
        let hubs = g.g.node_weights().filter(|n| n.flags & flag_bits::HUB != 0).count();
        prop_assert_eq!(hubs > 0, g.counters().capped_links > 0);
    }

    #[test]
    fn expiry_keeps_only_fresh_upserted_links_and_a_consistent_key_table(
        spec in spec(30, 120, &ALL_KINDS, 400 * DAY_S),
        max_degree in prop::sample::select(vec![2u32, 4, 8, 1 << 20]),
        now_days in 0u32..=420,
    ) {
        let max_age = 180 * DAY_S;
        let limits = GraphLimits { max_degree, link_max_age_s: max_age, ..GraphLimits::default() };
        let (mut g, ix) = build(&spec, limits, true);
        // Every time each link was upserted at.
        let mut upserted: BTreeMap<(usize, usize, u8), BTreeSet<u32>> = BTreeMap::new();
        for &(a, b, kind, dt) in spec.links.iter().filter(|l| l.0 != l.1) {
            upserted.entry((a, b, kind as u8)).or_default().insert(T0_S + dt);
        }
        let now = T0_S + now_days * DAY_S;
        let oldest_kept = now.saturating_sub(max_age);

        g.expire(now, u32::MAX);

        let pos = |n: NodeIx| ix.iter().position(|&x| x == n).unwrap();
        let mut kept = BTreeSet::new();
        for e in g.g.edge_references() {
            let l = e.weight();
            prop_assert!(l.last_s >= oldest_kept, "{} older than {}", l.last_s, oldest_kept);
            let k = (pos(e.source()), pos(e.target()), l.kind as u8);
            let times = upserted.get(&k);
            prop_assert!(times.is_some_and(|t| t.contains(&l.last_s)), "never upserted: {:?}", k);
            kept.insert(k);
        }
        if g.counters().capped_links == 0 {
            let fresh: BTreeSet<_> = upserted
                .iter()
                .filter(|(_, t)| t.last().is_some_and(|&last| last >= oldest_kept))
                .map(|(k, _)| *k)
                .collect();
            prop_assert_eq!(kept, fresh);
        }
        check_degrees(&g, max_degree)?;
        let mut present = 0;
        for (i, &n) in ix.iter().enumerate() {
            let (kind, value) = key(i, true);
            match g.node(n) {
                Some(d) => {
                    present += 1;
                    prop_assert!(d.degree > 0 || d.is_flagged(), "bare node {} left", i);
                    prop_assert_eq!(g.node_ref(n), Some(NodeRef::new(kind, value.clone())));
                    prop_assert_eq!(g.find(kind, &value), Some(n));
                }
                None => {
                    prop_assert!(!spec.flagged[i], "flagged node {} removed", i);
                    prop_assert_eq!(g.find(kind, &value), None);
                }
            }
        }
        prop_assert_eq!(g.node_count(), present);
        prop_assert_eq!(g.keys.len(), present, "key table holds removed nodes");

        // Everything removed can come back, each value once.
        let survived: Vec<bool> = ix.iter().map(|&n| g.node(n).is_some()).collect();
        for i in 0..spec.n {
            let (kind, value) = key(i, true);
            let again = g.intern(kind, &value, now);
            if survived[i] {
                prop_assert_eq!(again, ix[i]);
            }
            prop_assert_eq!(g.find(kind, &value), Some(again));
            prop_assert_eq!(g.node_ref(again), Some(NodeRef::new(kind, value)));
        }
        prop_assert_eq!(g.node_count(), spec.n);
        prop_assert_eq!(g.keys.len(), spec.n);
    }
}
