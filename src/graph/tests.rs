use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;

use super::*;
use crate::directory::DivisionCode;
use crate::model::{AlertKey, Artefact, Link, SourceKind, Subject};

const T0: i64 = 1_772_416_800_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

const SUBJECT: &str = "13812345678";
const CARD_A: &str = "6222020012341234";
const CARD_B: &str = "6217000099998888";

fn phone(v: &str) -> Artefact {
    Artefact {
        kind: ArtefactKind::Phone,
        value: v.into(),
    }
}

fn card(v: &str) -> Artefact {
    Artefact {
        kind: ArtefactKind::BankCard,
        value: v.into(),
    }
}

fn node(a: &Artefact) -> NodeRef {
    NodeRef::new(a.kind, &a.value)
}

fn transfer(from: Artefact, to: Artefact, amount_fen: i64, at_ms: i64) -> Link {
    Link {
        kind: LinkKind::Transfer,
        from,
        to,
        amount_fen,
        at_ms,
    }
}

fn alert(subject_phone: &str, at_ms: i64, counterparts: Vec<Artefact>, links: Vec<Link>) -> Alert {
    Alert {
        key: AlertKey::new("test", &format!("{subject_phone}-{at_ms}")),
        source_kind: SourceKind::Bank,
        occurred_at_ms: at_ms,
        subject: Subject {
            phone: subject_phone.into(),
            id_hash: String::new(),
            name: String::new(),
            division: DivisionCode::parse("520102016001").unwrap(),
            grid_id: None,
            address: String::new(),
            age: 0,
        },
        counterparts,
        links,
        amount_fen: 0,
        fraud_type_hint: String::new(),
        attributes: BTreeMap::new(),
    }
}

fn flagged(nodes: &[&Artefact]) -> FlaggedValues {
    nodes.iter().map(|a| node(a)).collect()
}

/// The subject paid card A 5,000; another report shows A moving 3,000 on to card B.
fn paid_card_then_layered(flag: &[&Artefact]) -> (MemoryGraph<FlaggedValues>, Alert) {
    let mut g = MemoryGraph::new(flagged(flag));
    let mut paid = alert(SUBJECT, T0, vec![card(CARD_A)], vec![]);
    paid.amount_fen = 500_000;
    g.observe(&paid);
    let layer = transfer(card(CARD_A), card(CARD_B), 300_000, T0 + HOUR_MS);
    g.observe(&alert(
        "13900000001",
        T0 + HOUR_MS,
        vec![card(CARD_A), card(CARD_B)],
        vec![layer],
    ));
    (g, paid)
}

#[test]
fn hops_reach_flagged_card_through_paid_card_with_masked_path() {
    let (g, paid) = paid_card_then_layered(&[&card(CARD_B)]);
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
    let text = describe_path(&path);
    assert_eq!(
        text,
        "本人手机 138****5678 → 转账 ¥5,000.00 → 银行卡 6222****1234 → 转账 ¥3,000.00 → 银行卡 6217****8888 (涉诈名单)"
    );
    for raw in [SUBJECT, CARD_A, CARD_B] {
        assert!(!text.contains(raw), "{raw} shown unmasked in {text}");
    }
}

/// As [`paid_card_then_layered`], and card B then moves 1,000 on to a third card, 3 hops from the subject.
fn layered_twice(flag: &[&Artefact]) -> (MemoryGraph<FlaggedValues>, Alert) {
    let (mut g, paid) = paid_card_then_layered(flag);
    let onward = transfer(card(CARD_B), far_card(), 100_000, T0 + 2 * HOUR_MS);
    g.observe(&alert(
        "13900000002",
        T0 + 2 * HOUR_MS,
        vec![far_card()],
        vec![onward],
    ));
    (g, paid)
}

fn far_card() -> Artefact {
    card("6230000000000003")
}

#[test]
fn hops_beyond_max_depth_are_none() {
    let (g, paid) = layered_twice(&[&far_card()]);
    assert_eq!(g.hops_to_flagged(&paid, 2), None);
    assert_eq!(g.hops_to_flagged(&paid, 3).map(|(h, _)| h), Some(3));
}

#[test]
fn hops_are_zero_when_subject_phone_is_flagged() {
    let (g, paid) = paid_card_then_layered(&[&phone(SUBJECT)]);
    let (hops, path) = g.hops_to_flagged(&paid, 3).unwrap();
    assert_eq!(hops, 0);
    assert_eq!(describe_path(&path), "本人手机 138****5678 (涉诈名单)");
}

#[test]
fn hops_start_from_subject_own_paying_card() {
    let own = card("6228480000000001");
    let mule = card("6228480000000009");
    let mut g = MemoryGraph::new(flagged(&[&mule]));
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
fn victims_of_counterparts_counts_distinct_subjects_within_horizon() {
    let fraud = phone("16200071583");
    let quiet = phone("16200070000");
    let mut g = MemoryGraph::new(FlaggedValues::default());
    g.observe(&alert(
        "13900000010",
        T0 - 40 * DAY_MS,
        vec![fraud.clone()],
        vec![],
    ));
    g.observe(&alert(
        "13900000011",
        T0 - DAY_MS,
        vec![fraud.clone()],
        vec![],
    ));
    g.observe(&alert(
        "13900000011",
        T0 - HOUR_MS,
        vec![fraud.clone()],
        vec![],
    ));
    g.observe(&alert(
        "13900000012",
        T0 - HOUR_MS,
        vec![fraud.clone(), quiet.clone()],
        vec![],
    ));
    let now = alert(SUBJECT, T0, vec![quiet, fraud], vec![]);
    g.observe(&now);
    // Subjects 11, 12 and this one; subject 10 is outside 30 days.
    assert_eq!(g.victims_of_counterparts(&now, T0, 30 * DAY_MS), 3);
    assert_eq!(g.victims_of_counterparts(&now, T0, 50 * DAY_MS), 4);
    assert_eq!(g.victims_of_counterparts(&now, T0, 0), 1);
}

#[test]
fn card_fan_in_counts_distinct_payers_in_window() {
    let mule = card(CARD_B);
    let mut g = MemoryGraph::new(FlaggedValues::default());
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
    let only_phone = alert(SUBJECT, T0, vec![phone("16200071583")], vec![]);
    assert_eq!(g.card_fan_in(&only_phone, T0, 3 * DAY_MS), 0);
}

#[test]
fn neighbourhood_flagged_sees_two_hops_not_three() {
    let (g, paid) = layered_twice(&[&card(CARD_B)]);
    assert!(g.neighbourhood_flagged(&paid));
    let (g, paid) = layered_twice(&[&far_card()]);
    assert!(!g.neighbourhood_flagged(&paid));
}

#[test]
fn repeated_link_is_one_edge_with_amounts_summed() {
    let mut g = MemoryGraph::new(flagged(&[&card(CARD_B)]));
    let a = alert(
        SUBJECT,
        T0,
        vec![card(CARD_B)],
        vec![transfer(phone(SUBJECT), card(CARD_B), 100_000, T0)],
    );
    g.observe(&a);
    g.observe(&a);
    assert_eq!((g.node_count(), g.link_count()), (2, 1));
    let (_, path) = g.hops_to_flagged(&a, 1).unwrap();
    assert_eq!(path[1].amount_fen, 200_000);
}

#[test]
fn describe_path_masks_other_kinds_and_unnamed_links() {
    let path = vec![
        PathStep {
            node: NodeRef::new(ArtefactKind::Phone, SUBJECT),
            via: None,
            amount_fen: 0,
        },
        PathStep {
            node: NodeRef::new(ArtefactKind::Url, "baoda915.xyz"),
            via: None,
            amount_fen: 0,
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
}

#[test]
fn node_order_is_kind_then_value() {
    let mut v = vec![node(&card("1")), node(&phone("2")), node(&phone("1"))];
    v.sort();
    assert_eq!(
        v,
        vec![node(&phone("1")), node(&phone("2")), node(&card("1"))]
    );
}

/// Distance from `start` to the nearest flagged node by plain BFS over the edge list.
fn brute_hops(
    n: usize,
    edges: &[(usize, usize)],
    flagged: &[bool],
    start: usize,
    depth: u32,
) -> Option<u32> {
    let mut dist = vec![u32::MAX; n];
    dist[start] = 0;
    let mut queue = VecDeque::from([start]);
    while let Some(u) = queue.pop_front() {
        for &(a, b) in edges {
            let v = match (a == u, b == u) {
                (true, _) => b,
                (_, true) => a,
                _ => continue,
            };
            if dist[v] == u32::MAX {
                dist[v] = dist[u] + 1;
                queue.push_back(v);
            }
        }
    }
    (0..n)
        .filter(|&i| flagged[i] && dist[i] <= depth)
        .map(|i| dist[i])
        .min()
}

fn numbered(i: usize) -> String {
    format!("1390000{i:04}")
}

proptest! {
    #[test]
    fn bounded_hops_equal_brute_force_bfs(
        n in 2usize..12,
        raw_edges in prop::collection::vec((0usize..12, 0usize..12, 0usize..3), 0..30),
        flags in prop::collection::vec(any::<bool>(), 12),
        start in 0usize..12,
        depth in 0u32..5,
    ) {
        let edges: Vec<(usize, usize)> = raw_edges.iter().map(|&(a, b, _)| (a % n, b % n)).collect();
        let start = start % n;
        let kinds = [LinkKind::Call, LinkKind::Sms, LinkKind::Transfer];
        let links = raw_edges
            .iter()
            .zip(&edges)
            .map(|(&(_, _, k), &(a, b))| Link {
                kind: kinds[k],
                from: phone(&numbered(a)),
                to: phone(&numbered(b)),
                amount_fen: 0,
                at_ms: T0,
            })
            .collect();
        let set: FlaggedValues = (0..n).filter(|&i| flags[i]).map(|i| node(&phone(&numbered(i)))).collect();
        let mut g = MemoryGraph::new(set.clone());
        g.observe(&alert(&numbered(0), T0, vec![], links));

        let query = alert(&numbered(start), T0, vec![], vec![]);
        let got = g.hops_to_flagged(&query, depth);
        let want = brute_hops(n, &edges, &flags, start, depth);
        prop_assert_eq!(got.as_ref().map(|(h, _)| *h), want);
        if let Some((hops, path)) = got {
            prop_assert_eq!(path.len() as u32, hops + 1);
            prop_assert_eq!(&path[0].node, &node(&phone(&numbered(start))));
            prop_assert!(set.is_flagged(&path[path.len() - 1].node));
            for pair in path.windows(2) {
                let joined = links_join(&edges, &pair[0].node, &pair[1].node, n);
                prop_assert!(joined, "no edge between {:?} and {:?}", pair[0].node, pair[1].node);
            }
        }
        let near = brute_hops(n, &edges, &flags, start, 2).is_some();
        prop_assert_eq!(g.neighbourhood_flagged(&query), near);
    }
}

fn links_join(edges: &[(usize, usize)], x: &NodeRef, y: &NodeRef, n: usize) -> bool {
    let index = |r: &NodeRef| (0..n).find(|&i| r.value == numbered(i));
    match (index(x), index(y)) {
        (Some(a), Some(b)) => edges.iter().any(|&e| e == (a, b) || e == (b, a)),
        _ => false,
    }
}
