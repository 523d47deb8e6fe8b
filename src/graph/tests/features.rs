//! The questions the rule language asks about one alert, the explanation
//! paths they give, and the basics of nodes and links under them.

use super::*;

#[test]
fn hops_reach_listed_card_through_paid_card_with_masked_path() {
    let (g, paid) = paid_card_then_layered(&[(&card(CARD_B), "flagged_cards")]);
    let (hops, path) = g.hops_to_flagged(&paid, 3).unwrap();
    assert_eq!(hops, 2);
    let nodes: Vec<NodeRef> = path.iter().map(|s| s.node.clone()).collect();
    assert_eq!(
        nodes,
        vec![
            node(&phone(SUBJECT)),
            node(&card(CARD_A)),
            node(&card(CARD_B))
        ]
    );
    assert_eq!(path[0].via, None);
    assert_eq!(
        (path[1].via, path[1].amount_fen),
        (Some(LinkKind::Transfer), 500_000)
    );
    assert_eq!(
        (path[2].via, path[2].amount_fen),
        (Some(LinkKind::Transfer), 300_000)
    );
    assert_eq!(path[2].flag.as_deref(), Some("涉诈名单 flagged_cards"));
    let text = describe_path(&path);
    assert_eq!(
        text,
        "本人手机 138****5678 → 转账 ¥5,000.00 → 银行卡 6222****1234 → 转账 ¥3,000.00 → 银行卡 6217****8888 (涉诈名单 flagged_cards)"
    );
    for raw in [SUBJECT, CARD_A, CARD_B] {
        assert!(!text.contains(raw), "{raw} shown unmasked in {text}");
    }
}

#[test]
fn hops_beyond_max_depth_are_none() {
    let (g, paid) = layered_twice(&[(&far_card(), "flagged_cards")]);
    assert_eq!(g.hops_to_flagged(&paid, 2), None);
    assert_eq!(g.hops_to_flagged(&paid, 3).map(|(h, _)| h), Some(3));
}

#[test]
fn hops_are_zero_when_subject_phone_is_listed() {
    let (g, paid) = paid_card_then_layered(&[(&phone(SUBJECT), "flagged_phones")]);
    let (hops, path) = g.hops_to_flagged(&paid, 3).unwrap();
    assert_eq!(hops, 0);
    assert_eq!(
        describe_path(&path),
        "本人手机 138****5678 (涉诈名单 flagged_phones)"
    );
}

#[test]
fn hops_start_from_subject_own_paying_card() {
    let own = card("6228480000000001");
    let mule = card("6228480000000009");
    let mut g = graph();
    list(&mut g, &[(&mule, "flagged_cards")]);
    // Earlier, another victim's report shows the subject's own card paying the mule card.
    g.observe(&alert(
        "13900000003",
        T0,
        vec![mule.clone()],
        vec![transfer(own.clone(), mule, 1, T0)],
    ));
    let now = alert(
        SUBJECT,
        T0 + HOUR_MS,
        vec![card(CARD_A)],
        vec![transfer(own.clone(), card(CARD_A), 200_000, T0 + HOUR_MS)],
    );
    g.observe(&now);
    let (hops, path) = g.hops_to_flagged(&now, 3).unwrap();
    assert_eq!(hops, 1, "{path:?}");
    assert_eq!(path[0].node, node(&own));
}

#[test]
fn list_reload_marks_present_nodes_and_unmarks_dropped_ones() {
    let (mut g, paid) = paid_card_then_layered(&[]);
    assert_eq!(g.hops_to_flagged(&paid, 3), None);
    list(&mut g, &[(&card(CARD_B), "flagged_cards")]);
    assert_eq!(g.hops_to_flagged(&paid, 3).map(|(h, _)| h), Some(2));
    list(&mut g, &[(&card(CARD_A), "flagged_mules")]);
    let (hops, path) = g.hops_to_flagged(&paid, 3).unwrap();
    assert_eq!(hops, 1);
    assert_eq!(path[1].flag.as_deref(), Some("涉诈名单 flagged_mules"));
    list(&mut g, &[]);
    assert_eq!(g.hops_to_flagged(&paid, 3), None);
}

#[test]
fn victims_of_counterparts_counts_distinct_subjects_within_horizon() {
    let fraud = phone("16200071583");
    let quiet = phone("16200070000");
    let mut g = graph();
    suspect(
        &mut g,
        &alert("13900000010", T0 - 40 * DAY_MS, vec![fraud.clone()], vec![]),
    );
    suspect(
        &mut g,
        &alert("13900000011", T0 - DAY_MS, vec![fraud.clone()], vec![]),
    );
    suspect(
        &mut g,
        &alert("13900000011", T0 - HOUR_MS, vec![fraud.clone()], vec![]),
    );
    suspect(
        &mut g,
        &alert(
            "13900000012",
            T0 - HOUR_MS,
            vec![fraud.clone(), quiet.clone()],
            vec![],
        ),
    );
    let now = alert(SUBJECT, T0, vec![quiet, fraud], vec![]);
    g.observe(&now);
    // Suspected victims 11 and 12; subject 10 is outside 30 days, and this
    // alert's own subject is not a suspected victim (yet).
    assert_eq!(g.victims_of_counterparts(&now, T0, 30 * DAY_MS), 2);
    assert_eq!(g.victims_of_counterparts(&now, T0, 50 * DAY_MS), 3);
    assert_eq!(g.victims_of_counterparts(&now, T0, 0), 0);
    // Persons linked count this one too.
    assert_eq!(g.persons_linked(&now, T0, 30 * DAY_MS), 3);
    assert_eq!(g.persons_linked(&now, T0, 50 * DAY_MS), 4);
    assert_eq!(g.persons_linked(&now, T0, 0), 1);
    // All of them live in one county.
    assert_eq!(g.jurisdictions_of_counterparts(&now, T0, 50 * DAY_MS), 1);
    // Once its match is settled, the subject counts for later alerts.
    g.settle(&now, true);
    assert_eq!(g.victims_of_counterparts(&now, T0, 30 * DAY_MS), 3);
}

#[test]
fn card_fan_in_counts_distinct_payers_in_window() {
    let mule = card(CARD_B);
    let mut g = graph();
    let pay = |from: &str, at: i64| transfer(card(from), mule.clone(), 10_000, at);
    let c1 = "6228480000000101";
    g.observe(&alert(
        "13900000020",
        T0 - 2 * DAY_MS,
        vec![mule.clone()],
        vec![pay("6228480000000100", T0 - 2 * DAY_MS)],
    ));
    g.observe(&alert(
        "13900000021",
        T0 - 2 * HOUR_MS,
        vec![mule.clone()],
        vec![pay(c1, T0 - 2 * HOUR_MS)],
    ));
    g.observe(&alert(
        "13900000021",
        T0 - HOUR_MS,
        vec![mule.clone()],
        vec![pay(c1, T0 - HOUR_MS)],
    ));
    // No explicit link: the subject's phone stands for the payer.
    let now = alert(
        SUBJECT,
        T0,
        vec![phone("16200071583"), mule.clone()],
        vec![],
    );
    g.observe(&now);
    assert_eq!(g.card_fan_in(&now, T0, DAY_MS), 2);
    assert_eq!(g.card_fan_in(&now, T0, 3 * DAY_MS), 3);
    assert_eq!(g.card_fan_out(&now, T0, 3 * DAY_MS), 0);
    let only_phone = alert(SUBJECT, T0, vec![phone("16200071583")], vec![]);
    assert_eq!(g.card_fan_in(&only_phone, T0, 3 * DAY_MS), 0);
}

#[test]
fn card_fan_out_counts_distinct_payees_in_window() {
    let mule = card(CARD_A);
    let mut g = graph();
    let onward = |to: &str, at: i64| transfer(mule.clone(), card(to), 10_000, at);
    let links = vec![
        onward("6230000000000001", T0 - 2 * DAY_MS),
        onward("6230000000000002", T0 - HOUR_MS),
        onward("6230000000000002", T0 - HOUR_MS / 2),
        onward("6230000000000003", T0 - HOUR_MS),
    ];
    let now = alert(SUBJECT, T0, vec![mule.clone()], links);
    g.observe(&now);
    assert_eq!(g.card_fan_out(&now, T0, DAY_MS), 2);
    assert_eq!(g.card_fan_out(&now, T0, 3 * DAY_MS), 3);
}

#[test]
fn neighbourhood_flagged_sees_two_hops_not_three() {
    let (g, paid) = layered_twice(&[(&card(CARD_B), "flagged_cards")]);
    assert!(g.neighbourhood_flagged(&paid));
    let (g, paid) = layered_twice(&[(&far_card(), "flagged_cards")]);
    assert!(!g.neighbourhood_flagged(&paid));
}

#[test]
fn repeated_link_is_one_edge_with_amounts_summed() {
    let mut g = graph();
    list(&mut g, &[(&card(CARD_B), "flagged_cards")]);
    let a = alert(
        SUBJECT,
        T0,
        vec![card(CARD_B)],
        vec![transfer(phone(SUBJECT), card(CARD_B), 100_000, T0)],
    );
    g.observe(&a);
    g.observe(&a);
    // The person, its phone and the card; ownership, transfer and victim links.
    assert_eq!((g.node_count(), g.link_count()), (3, 3));
    let (_, path) = g.hops_to_flagged(&a, 1).unwrap();
    assert_eq!(path[1].amount_fen, 200_000);
}

#[test]
fn link_from_a_node_to_itself_is_dropped() {
    let mut g = graph();
    let a = g.intern(NodeKind::BankCard, CARD_A, T0_S);
    assert_eq!(g.upsert_link(a, a, EdgeKind::Transfer, 1, T0_S), None);
    assert_eq!(g.link_count(), 0);
    assert_eq!(g.node(a).map(|n| n.degree), Some(0));
}

#[test]
fn intern_finds_the_same_node_per_kind_and_value() {
    let mut g = graph();
    let p = g.intern(NodeKind::Phone, "13900000000", T0_S);
    let c = g.intern(NodeKind::BankCard, "13900000000", T0_S + 5);
    assert_ne!(p, c, "one value of two kinds is two nodes");
    assert_eq!(g.intern(NodeKind::Phone, "13900000000", T0_S + 9), p);
    assert_eq!(g.node(p).map(|n| n.last_s), Some(T0_S + 9));
    assert_eq!(g.find(NodeKind::BankCard, "13900000000"), Some(c));
    assert_eq!(g.find(NodeKind::Url, "13900000000"), None);
    // Hostile long values are cut on a character boundary and still found.
    let long = "网".repeat(200);
    let u = g.intern(NodeKind::Url, &long, T0_S);
    assert_eq!(g.find(NodeKind::Url, &long), Some(u));
    let kept = g.node_ref(u).unwrap().value;
    assert!(
        kept.len() <= 255 && long.starts_with(&kept),
        "{}",
        kept.len()
    );
}

#[test]
fn describe_path_masks_other_kinds_and_unnamed_links() {
    let path = vec![
        PathStep {
            node: NodeRef::new(ArtefactKind::Phone, SUBJECT),
            via: None,
            amount_fen: 0,
            flag: None,
        },
        PathStep {
            node: NodeRef::new(ArtefactKind::Url, "baoda915.xyz"),
            via: None,
            amount_fen: 0,
            flag: None,
        },
    ];
    assert_eq!(
        describe_path(&path),
        "本人手机 138****5678 → 关联 → 网址 b****z (涉诈名单)"
    );
    assert_eq!(describe_path(&[]), "");
}

#[test]
fn amounts_are_grouped_yuan() {
    assert_eq!(yuan(0), "¥0.00");
    assert_eq!(yuan(5), "¥0.05");
    assert_eq!(yuan(99_999), "¥999.99");
    assert_eq!(yuan(123_456_789), "¥1,234,567.89");
    assert_eq!(yuan(-150), "-¥1.50");
}

#[test]
fn node_order_is_kind_then_value() {
    let person = NodeRef::new(NodeKind::Person, "ffff");
    let mut v = vec![
        node(&card("1")),
        node(&phone("2")),
        person.clone(),
        node(&phone("1")),
    ];
    v.sort();
    assert_eq!(
        v,
        vec![
            person,
            node(&phone("1")),
            node(&phone("2")),
            node(&card("1"))
        ]
    );
}

#[test]
fn kinds_round_trip_through_snapshot_codes() {
    for k in [NodeKind::Person].iter().chain(&NodeKind::ARTEFACTS) {
        assert_eq!(NodeKind::from_code(*k as u8), Some(*k));
    }
    assert_eq!(NodeKind::from_code(8), None);
    for code in 0..7 {
        let k = EdgeKind::from_code(code).unwrap();
        assert_eq!(k as u8, code);
    }
    assert_eq!(EdgeKind::from_code(7), None);
    assert_eq!(EdgeKind::Victim.link_kind(), None);
    assert_eq!(
        EdgeKind::from(LinkKind::Sms).link_kind(),
        Some(LinkKind::Sms)
    );
}
