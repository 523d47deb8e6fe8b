//! The bounds that keep the graph safe on hostile input: degree caps, the
//! hop query's expand and visit budgets, and expiry by age.

use petgraph::Direction::Incoming;

use super::*;
use crate::graph::flags::flag_bits;

fn limits(max_degree: u32, max_expand: u32, max_visits: u32) -> GraphLimits {
    GraphLimits {
        max_degree,
        max_expand,
        max_visits,
        ..GraphLimits::default()
    }
}

/// `count` cards `6228480000000100`, `…101`, … interned at `at_s`.
fn cards(g: &mut LinkGraph, count: usize, at_s: u32) -> Vec<NodeIx> {
    (0..count)
        .map(|i| g.intern(NodeKind::BankCard, &format!("62284800000001{i:02}"), at_s))
        .collect()
}

#[test]
fn degree_cap_refuses_new_links_keeps_refreshing_old_ones_and_marks_hub() {
    let mut g = LinkGraph::new(limits(3, 64, 512));
    let mule = g.intern(NodeKind::BankCard, CARD_B, T0_S);
    let payers = cards(&mut g, 4, T0_S);
    for (i, &p) in payers[..3].iter().enumerate() {
        g.upsert_link(p, mule, EdgeKind::Transfer, 100, T0_S + i as u32);
    }
    let hub = |g: &LinkGraph| g.node(mule).unwrap().flags & flag_bits::HUB != 0;
    assert!(!hub(&g));
    assert_eq!(g.counters().capped_links, 0);

    assert_eq!(
        g.upsert_link(payers[3], mule, EdgeKind::Transfer, 100, T0_S + 11),
        None
    );
    let m = g.node(mule).unwrap();
    assert_eq!(m.degree, 3);
    assert!(hub(&g));
    assert!(!m.is_flagged(), "a hub is not a flagged node");
    assert_eq!(g.counters().capped_links, 1);
    assert_eq!(g.link_count(), 3);
    assert!(
        g.g.find_edge(payers[3], mule).is_none(),
        "the newcomer is dropped"
    );
    assert_eq!(g.node(payers[3]).unwrap().degree, 0);

    // An existing link of the full node still refreshes.
    assert!(
        g.upsert_link(payers[0], mule, EdgeKind::Transfer, 100, T0_S + 12)
            .is_some()
    );
    let again = g.g.find_edge(payers[0], mule).unwrap();
    assert_eq!(
        (g.g[again].count, g.g[again].amount_fen, g.g[again].last_s),
        (2, 200, T0_S + 12)
    );
    assert_eq!(g.fan(mule, Incoming, 0), 3);
}

#[test]
fn hop_query_never_walks_victim_links_or_persons() {
    let mut g = LinkGraph::new(wide_limits());
    let a = g.intern(NodeKind::BankCard, CARD_A, T0_S);
    let b = g.intern(NodeKind::BankCard, CARD_B, T0_S);
    g.set_note(b, frozen("2026-03-02"));
    let victim = g.intern(NodeKind::Person, "00000000000000aa", T0_S);
    let owner = g.intern(NodeKind::Person, "00000000000000bb", T0_S);
    for n in [a, b] {
        g.upsert_link(victim, n, EdgeKind::Victim, 0, T0_S);
        g.upsert_link(owner, n, EdgeKind::Ownership, 0, T0_S);
    }
    assert_eq!(g.nearest_flagged(&[a], 4), HopAnswer::NoneWithin);
    let named = g.upsert_link(a, b, EdgeKind::Named, 0, T0_S).unwrap();
    assert_eq!(
        g.nearest_flagged(&[a], 4),
        HopAnswer::Found(1, vec![(a, None), (b, Some(named))])
    );
}

#[test]
fn hop_query_follows_only_the_newest_max_expand_links() {
    for (max_expand, want_found) in [(4, false), (5, true)] {
        let mut g = LinkGraph::new(limits(1024, max_expand, 512));
        let s = g.intern(NodeKind::Phone, SUBJECT, T0_S);
        let payees = cards(&mut g, 5, T0_S);
        // The flagged payee is the oldest link.
        g.set_note(payees[0], frozen(""));
        for (i, &c) in payees.iter().enumerate() {
            g.upsert_link(s, c, EdgeKind::Transfer, 100, T0_S + i as u32);
        }
        let got = g.nearest_flagged(&[s], 1);
        assert_eq!(
            matches!(got, HopAnswer::Found(1, _)),
            want_found,
            "max_expand {max_expand}: {got:?}"
        );
    }
}

#[test]
fn hop_query_gives_up_when_visit_budget_runs_out() {
    let mut g = LinkGraph::new(limits(1024, 64, 3));
    let s = g.intern(NodeKind::Phone, SUBJECT, T0_S);
    let payees = cards(&mut g, 5, T0_S);
    for &c in &payees {
        g.upsert_link(s, c, EdgeKind::Transfer, 100, T0_S);
    }
    let far = g.intern(NodeKind::BankCard, CARD_B, T0_S);
    g.set_note(far, frozen(""));
    g.upsert_link(payees[0], far, EdgeKind::Transfer, 100, T0_S);
    let before = searches_gave_up();
    assert_eq!(g.nearest_flagged(&[s], 2), HopAnswer::GaveUp);
    assert_eq!(searches_gave_up(), before + 1);
    // A flagged start needs no budget at all.
    assert!(matches!(
        g.nearest_flagged(&[s, far], 2),
        HopAnswer::Found(0, _)
    ));
}

#[test]
fn hop_query_of_depth_zero_only_looks_at_the_starts() {
    let (g, paid) = paid_card_then_layered(&[(&card(CARD_A), "flagged_cards")]);
    let phone = g.find(NodeKind::Phone, &paid.subject.phone).unwrap();
    assert_eq!(g.nearest_flagged(&[phone], 0), HopAnswer::NoneWithin);
    let a = g.find(NodeKind::BankCard, CARD_A).unwrap();
    assert_eq!(
        g.nearest_flagged(&[phone, a], 0),
        HopAnswer::Found(0, vec![(a, None)])
    );
    assert_eq!(g.nearest_flagged(&[], 3), HopAnswer::NoneWithin);
}

/// A graph whose links age out after 10 days.
fn ageing() -> LinkGraph {
    LinkGraph::new(GraphLimits {
        link_max_age_s: 10 * DAY_S,
        ..GraphLimits::default()
    })
}

#[test]
fn expiry_removes_stale_links_and_bare_nodes_but_keeps_flagged_ones() {
    let mut g = ageing();
    let [a, b, c, d] = [CARD_A, CARD_B, "6230000000000001", "6230000000000002"]
        .map(|v| g.intern(NodeKind::BankCard, v, T0_S));
    g.set_note(d, frozen("2026-03-02"));
    g.upsert_link(a, b, EdgeKind::Transfer, 1, T0_S);
    g.upsert_link(a, d, EdgeKind::Transfer, 1, T0_S);
    g.upsert_link(b, c, EdgeKind::Transfer, 1, T0_S + 20 * DAY_S);
    // Exactly at the age limit a link stays.
    g.upsert_link(c, d, EdgeKind::Call, 0, T0_S + 10 * DAY_S);

    assert_eq!(g.expire(T0_S + 20 * DAY_S, u32::MAX), 2);
    assert_eq!(g.find(NodeKind::BankCard, CARD_A), None);
    assert!(g.node(a).is_none());
    for (n, v, degree) in [(b, CARD_B, 1), (d, "6230000000000002", 1)] {
        assert_eq!(g.find(NodeKind::BankCard, v), Some(n));
        assert_eq!(g.node(n).unwrap().degree, degree);
    }
    let counters = g.counters();
    assert_eq!((counters.expired_links, counters.expired_nodes), (2, 1));
    assert_eq!((g.node_count(), g.link_count()), (3, 2));

    // Once its last link goes, the flagged node still stays.
    assert_eq!(g.expire(T0_S + 21 * DAY_S, u32::MAX), 1);
    assert_eq!(g.node(d).map(|n| n.degree), Some(0));
    assert_eq!(g.find(NodeKind::BankCard, "6230000000000001"), Some(c));
}

#[test]
fn expiry_sweeps_a_slice_at_a_time_and_wraps_around() {
    let mut g = ageing();
    let hub = g.intern(NodeKind::Phone, SUBJECT, T0_S);
    let payees = cards(&mut g, 10, T0_S);
    for &c in &payees {
        g.upsert_link(hub, c, EdgeKind::Call, 0, T0_S);
    }
    let now = T0_S + 11 * DAY_S;
    let removed: Vec<usize> = (0..5).map(|_| g.expire(now, 3)).collect();
    assert_eq!(removed, vec![3, 3, 3, 1, 0]);
    assert_eq!((g.node_count(), g.link_count()), (0, 0));
    assert_eq!(g.expire(now, u32::MAX), 0);
}

#[test]
fn leaf_refused_by_a_degree_cap_is_removed_by_the_next_sweep() {
    let mut g = LinkGraph::new(limits(2, 64, 512));
    let hub = g.intern(NodeKind::Phone, SUBJECT, T0_S);
    let leaves = cards(&mut g, 3, T0_S);
    for (i, &c) in leaves.iter().enumerate() {
        g.upsert_link(c, hub, EdgeKind::Call, 0, T0_S + i as u32);
    }
    assert_eq!(g.node(leaves[2]).unwrap().degree, 0);
    g.expire(T0_S + 3, u32::MAX);
    assert_eq!(g.find(NodeKind::BankCard, "6228480000000102"), None);
    assert_eq!(g.node_count(), 3);
    assert_eq!(g.link_count(), 2);
}
