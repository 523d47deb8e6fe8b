//! Suspected victims, allow lists and derived flags: who counts is settled
//! after decide, allowed artefacts never tie victims together nor take a
//! flag from the graph, and a derived flag expires.

use proptest::prelude::*;

use super::*;
use crate::graph::flags::flag_bits;

/// Counterpart `i` of the pool: phones and cards; 0 and 1 are on an allow
/// list, 2 is allowed by import.
fn pooled_artefact(i: usize) -> Artefact {
    if i.is_multiple_of(2) {
        phone(&format!("1710000{i:04}"))
    } else {
        card(&format!("62220000000{i:05}"))
    }
}

fn person_phone(p: usize) -> String {
    format!("1390000{p:04}")
}

/// Union-find root over persons.
fn root(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        x = parent[x];
    }
    x
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn allowed_artefacts_never_join_a_series_or_take_a_derived_flag(
        steps in prop::collection::vec((0..8usize, prop::collection::vec(0..6usize, 1..3), any::<bool>(), 0..6u32), 1..60),
    ) {
        let mut g = LinkGraph::new(GraphLimits { derive_flag_victims: 2, ..GraphLimits::default() });
        let listed = [pooled_artefact(0).value, pooled_artefact(1).value];
        g.set_allowed(listed.iter().map(String::as_str));
        let imported = pooled_artefact(2);
        let ix = g.intern(imported.kind.into(), &imported.value, T0_S);
        g.allow_imported(ix);
        // Persons who named one artefact that may join them are in one component.
        let mut parent: Vec<usize> = (0..8).collect();
        let mut last_naming: Vec<Option<usize>> = vec![None; 6];
        let mut at = T0;
        for (p, arts, matched, gap_h) in steps {
            at += i64::from(gap_h) * HOUR_MS;
            let a = alert(&person_phone(p), at, arts.iter().map(|&i| pooled_artefact(i)).collect(), vec![]);
            g.observe(&a);
            g.settle(&a, matched);
            for &i in &arts {
                if i <= 2 {
                    continue;
                }
                if let Some(q) = last_naming[i] {
                    let (rp, rq) = (root(&mut parent, p), root(&mut parent, q));
                    parent[rp] = rq;
                }
                last_naming[i] = Some(p);
            }
            for i in 0..3 {
                let art = pooled_artefact(i);
                if let Some(n) = g.find(art.kind.into(), &art.value) {
                    let w = g.node(n).unwrap();
                    prop_assert!(w.is_allowed());
                    prop_assert_eq!(w.flags & flag_bits::DERIVED, 0, "allowed {} was flagged", i);
                }
            }
        }
        let series: Vec<Option<String>> = (0..8)
            .map(|p| g.announce_series(&alert(&person_phone(p), at, vec![], vec![])))
            .collect();
        for p in 0..8 {
            for q in p + 1..8 {
                if let (Some(a), Some(b)) = (&series[p], &series[q])
                    && a == b
                {
                    prop_assert_eq!(root(&mut parent, p), root(&mut parent, q), "persons {} and {} joined through an allowed artefact", p, q);
                }
            }
        }
    }

    #[test]
    fn a_derived_flag_expires(victims in 2usize..8, spread_h in 0i64..48, max_age_d in 1u32..40) {
        let max_age_s = max_age_d * DAY_S;
        let mut g = LinkGraph::new(GraphLimits {
            derive_flag_victims: 2,
            derived_flag_max_age_s: max_age_s,
            ..GraphLimits::default()
        });
        let mule = card(CARD_B);
        for v in 0..victims {
            let at = T0 + spread_h * HOUR_MS * v as i64 / victims as i64;
            suspect(&mut g, &alert(&person_phone(v), at, vec![mule.clone()], vec![]));
        }
        let m = g.find(NodeKind::BankCard, CARD_B).unwrap();
        prop_assert!(g.node(m).unwrap().is_flagged());
        let set_s = g.notes[&(m.index() as u32)].at_s;
        g.expire(set_s + max_age_s - 1, 16);
        prop_assert!(g.node(m).unwrap().is_flagged(), "still within its age");
        g.expire(set_s + max_age_s + 1, 16);
        let n = g.node(m).unwrap();
        prop_assert!(!n.is_flagged(), "expired");
        prop_assert!(g.flag_text(m).is_none());
        prop_assert_eq!(g.label(m), None);
    }
}

#[test]
fn a_named_person_is_not_a_suspected_victim_until_a_match_is_settled() {
    let mut g = graph();
    let pooled = card(CARD_A);
    for p in 0..5 {
        let a = alert(
            &person_phone(p),
            T0 + p as i64 * HOUR_MS,
            vec![pooled.clone()],
            vec![],
        );
        g.observe(&a);
        assert_eq!(g.settle(&a, false), Observed::default());
    }
    let next = alert(
        &person_phone(9),
        T0 + 6 * HOUR_MS,
        vec![pooled.clone()],
        vec![],
    );
    g.observe(&next);
    assert_eq!(
        g.victims_of_counterparts(&next, T0 + 6 * HOUR_MS, DAY_MS),
        0
    );
    assert_eq!(g.persons_linked(&next, T0 + 6 * HOUR_MS, DAY_MS), 6);
    let n = g.find(NodeKind::BankCard, CARD_A).unwrap();
    assert!(!g.node(n).unwrap().is_flagged());
}

#[test]
fn a_node_taking_hub_links_per_day_becomes_hub_like_and_stops_carrying_hops() {
    let mut g = LinkGraph::new(GraphLimits {
        hub_links_per_day: 50,
        ..GraphLimits::default()
    });
    let pooled = g.intern(NodeKind::BankCard, CARD_A, T0_S);
    let frozen_card = g.intern(NodeKind::BankCard, CARD_B, T0_S);
    g.set_note(frozen_card, frozen("2026-03-02"));
    // One payer's card is frozen: before the account is hub-like, every
    // payer is 2 hops from it through the account.
    g.upsert_link(frozen_card, pooled, EdgeKind::Transfer, 100, T0_S);
    let first = g.intern(NodeKind::Phone, "13900000001", T0_S);
    g.upsert_link(first, pooled, EdgeKind::Transfer, 100, T0_S);
    assert_eq!(g.label(first), Some(2));
    for i in 2..60u32 {
        let payer = g.intern(NodeKind::Phone, &format!("139{i:08}"), T0_S + i);
        g.upsert_link(payer, pooled, EdgeKind::Transfer, 100, T0_S + i);
    }
    assert!(g.node(pooled).unwrap().is_hub());
    assert_eq!(g.label(first), None, "hops no longer pass the hub");
    assert_eq!(g.label(pooled), None);
}
