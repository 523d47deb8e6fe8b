//! Linked case series (串并案) and flags the graph derives from victims.

use super::*;
use crate::graph::flags::flag_bits;

fn series_of(a: &Alert) -> String {
    series_name(u64::from_str_radix(&a.subject.subject_key(), 16).unwrap())
}

#[test]
fn victims_in_two_counties_paying_one_card_share_the_first_series() {
    let mule = card(CARD_B);
    let mut g = graph();
    let first = alert(
        "13900000031",
        T0,
        vec![mule.clone(), phone("16200000001")],
        vec![],
    );
    let second = alert_in(
        OTHER_DIVISION,
        "13900000032",
        T0 + HOUR_MS,
        vec![mule.clone()],
        vec![],
    );
    assert_eq!(suspect(&mut g, &first), Observed::default());
    let id = g.announce_series(&first).unwrap();
    assert_eq!(id, format!("S-{}", first.subject.subject_key()));

    // The second victim's series was on no task: nothing to alias.
    assert_eq!(suspect(&mut g, &second).merged, vec![]);
    assert_eq!(g.announce_series(&second), Some(id.clone()));
    assert_eq!(g.announce_series(&first), Some(id));
    let now = T0 + HOUR_MS;
    assert_eq!(g.victims_of_counterparts(&second, now, DAY_MS), 2);
    assert_eq!(g.jurisdictions_of_counterparts(&second, now, DAY_MS), 2);
}

#[test]
fn merge_reports_an_alias_only_when_the_absorbed_series_was_announced() {
    let mule = card(CARD_B);
    let mut g = graph();
    let first = alert("13900000041", T0, vec![mule.clone()], vec![]);
    suspect(&mut g, &first);
    // A later victim is on a task of its own before it is linked to the first.
    let alone = alert("13900000042", T0 + HOUR_MS, vec![card(CARD_A)], vec![]);
    suspect(&mut g, &alone);
    assert_eq!(g.announce_series(&alone), Some(series_of(&alone)));

    let linked = alert("13900000042", T0 + 2 * HOUR_MS, vec![mule.clone()], vec![]);
    let seen = suspect(&mut g, &linked);
    assert_eq!(seen.merged, vec![(series_of(&alone), series_of(&first))]);
    assert_eq!(g.announce_series(&alone), Some(series_of(&first)));
    assert_eq!(g.announce_series(&first), Some(series_of(&first)));

    // Already one series: a further link merges nothing.
    let again = alert("13900000042", T0 + 3 * HOUR_MS, vec![mule], vec![]);
    assert_eq!(suspect(&mut g, &again).merged, vec![]);
}

#[test]
fn victims_beyond_the_horizon_start_their_own_series() {
    let mule = card(CARD_B);
    let mut g = graph();
    let first = alert("13900000051", T0, vec![mule.clone()], vec![]);
    suspect(&mut g, &first);
    g.announce_series(&first);
    let late = alert("13900000052", T0 + 31 * DAY_MS, vec![mule], vec![]);
    assert_eq!(suspect(&mut g, &late).merged, vec![]);
    assert_eq!(g.announce_series(&late), Some(series_of(&late)));
    assert_eq!(g.announce_series(&first), Some(series_of(&first)));
}

#[test]
fn series_of_an_unknown_subject_is_none() {
    let mut g = graph();
    assert_eq!(g.announce_series(&alert(SUBJECT, T0, vec![], vec![])), None);
}

#[test]
fn returning_victim_after_expiry_never_aliases_a_series_to_itself() {
    let mut g = LinkGraph::new(GraphLimits {
        link_max_age_s: 10 * DAY_S,
        ..GraphLimits::default()
    });
    let (c1, c2, c3) = (card(CARD_A), card(CARD_B), far_card());
    let p = "13900000061";
    let q = "13900000062";
    let p_first = alert(p, T0, vec![c1.clone()], vec![]);
    suspect(&mut g, &p_first);
    g.announce_series(&p_first);
    suspect(&mut g, &alert(q, T0, vec![c1], vec![]));
    suspect(
        &mut g,
        &alert(q, T0 + 20 * DAY_MS, vec![c2.clone()], vec![]),
    );
    // P's links have aged out, and P with them; Q stays in P's old series.
    g.expire(T0_S + 20 * DAY_S, u32::MAX);
    let p_key = p_first.subject.subject_key();
    assert_eq!(g.find(NodeKind::Person, &p_key), None);

    // P comes back, is on a task, then pays the card Q paid.
    let p_back = alert(p, T0 + 21 * DAY_MS, vec![c3], vec![]);
    suspect(&mut g, &p_back);
    assert_eq!(g.announce_series(&p_back), Some(series_of(&p_back)));
    let seen = suspect(
        &mut g,
        &alert(p, T0 + 21 * DAY_MS + HOUR_MS, vec![c2], vec![]),
    );
    for (gone, kept) in &seen.merged {
        assert_ne!(gone, kept, "a series aliased to itself loops in the store");
    }
    assert_eq!(g.announce_series(&p_back), Some(series_of(&p_back)));
}

#[test]
fn card_linked_to_enough_victims_is_flagged_by_the_graph() {
    let mule = card(CARD_B);
    let mut g = LinkGraph::new(GraphLimits {
        derive_flag_victims: 3,
        ..GraphLimits::default()
    });
    let victims = [
        alert("13900000071", T0, vec![mule.clone()], vec![]),
        alert("13900000072", T0 + HOUR_MS, vec![mule.clone()], vec![]),
        alert_in(
            OTHER_DIVISION,
            "13900000073",
            T0 + 2 * HOUR_MS,
            vec![mule.clone()],
            vec![],
        ),
    ];
    let derived: Vec<u32> = victims
        .iter()
        .map(|a| suspect(&mut g, a).derived_flags)
        .collect();
    assert_eq!(derived, vec![0, 0, 1]);
    let m = g.find(NodeKind::BankCard, CARD_B).unwrap();
    assert_ne!(g.node(m).unwrap().flags & flag_bits::DERIVED, 0);
    let note = g.flag_text(m).unwrap();
    assert_eq!(note, "自动研判 2026-03-02: 关联 3 名疑似受害人, 2 个区县");

    // The next victim is one hop from a flagged card, and it is flagged once only.
    let next = alert("13900000074", T0 + 3 * HOUR_MS, vec![mule], vec![]);
    assert_eq!(suspect(&mut g, &next).derived_flags, 0);
    let (hops, path) = g.hops_to_flagged(&next, 2).unwrap();
    assert_eq!(hops, 1);
    let text = describe_path(&path);
    assert!(
        text.ends_with("(自动研判 2026-03-02: 关联 3 名疑似受害人, 2 个区县)"),
        "{text}"
    );
    assert_eq!(g.flag_text(m).unwrap(), note);
}

#[test]
fn derived_flags_are_off_when_the_threshold_is_zero() {
    let mule = card(CARD_B);
    let mut g = LinkGraph::new(GraphLimits {
        derive_flag_victims: 0,
        ..GraphLimits::default()
    });
    for i in 0..8 {
        let a = alert(&format!("1390000008{i}"), T0, vec![mule.clone()], vec![]);
        assert_eq!(suspect(&mut g, &a).derived_flags, 0);
    }
    let m = g.find(NodeKind::BankCard, CARD_B).unwrap();
    assert!(!g.node(m).unwrap().is_flagged());
    assert_eq!(g.victims_of(m, 0), (8, 1));
}

#[test]
fn victims_outside_the_horizon_do_not_derive_a_flag() {
    let mule = card(CARD_B);
    let mut g = LinkGraph::new(GraphLimits {
        derive_flag_victims: 2,
        ..GraphLimits::default()
    });
    suspect(
        &mut g,
        &alert("13900000091", T0, vec![mule.clone()], vec![]),
    );
    let late = alert("13900000092", T0 + 31 * DAY_MS, vec![mule], vec![]);
    assert_eq!(suspect(&mut g, &late).derived_flags, 0);
}

#[test]
fn an_app_everyone_names_is_never_flagged_by_the_graph() {
    let app = Artefact {
        kind: ArtefactKind::App,
        value: "wechat".into(),
    };
    let mut g = LinkGraph::new(GraphLimits {
        derive_flag_victims: 2,
        ..GraphLimits::default()
    });
    for i in 0..5 {
        let a = alert(
            &format!("1390000008{i}"),
            T0 + i * HOUR_MS,
            vec![app.clone()],
            vec![],
        );
        assert_eq!(suspect(&mut g, &a).derived_flags, 0);
    }
    let n = g.find(NodeKind::App, "wechat").unwrap();
    assert!(!g.node(n).unwrap().is_flagged());
    assert_eq!(g.victims_of(n, 0).0, 5, "its victims are still counted");
}

#[test]
fn victims_naming_the_same_app_are_not_one_series() {
    let app = Artefact {
        kind: ArtefactKind::App,
        value: "taobao".into(),
    };
    let mut g = graph();
    let a = alert("13900000091", T0, vec![app.clone()], vec![]);
    let b = alert("13900000092", T0 + HOUR_MS, vec![app], vec![]);
    suspect(&mut g, &a);
    suspect(&mut g, &b);
    assert_ne!(g.announce_series(&a), g.announce_series(&b));
}
