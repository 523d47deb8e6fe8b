//! The durable image: a saved graph loads back answering every question the
//! same way, and a damaged file is refused with a reason, never a panic.

use std::path::Path;

use petgraph::Direction::{Incoming, Outgoing};
use proptest::prelude::*;
use proptest::sample::Index;

use super::*;
use crate::graph::import::ImportRow;
use crate::graph::snapshot::{Checkpoint, SnapshotError};

const AT: Checkpoint = Checkpoint {
    alert_seq: 7,
    import_seq: 3,
};

/// Artefact `i` of a small pool of fraud-side artefacts of mixed kinds.
fn pooled(i: usize) -> Artefact {
    let (kind, value) = match i % 4 {
        0 => (ArtefactKind::BankCard, format!("62220200000000{i:02}")),
        1 => (ArtefactKind::Phone, format!("162000000{i:02}")),
        2 => (ArtefactKind::Url, format!("s{i}.example.cn")),
        _ => (ArtefactKind::Device, format!("dev-{i}")),
    };
    Artefact { kind, value }
}

const POOL: usize = 12;

/// One step of building a graph to snapshot.
#[derive(Clone, Debug)]
enum Op {
    /// Subject, counterparts and links (from, to, kind, fen) from the pool
    /// (`POOL` is the subject's phone), hours after `T0`.
    Alert(usize, Vec<usize>, Vec<(usize, usize, usize, i64)>, u32),
    /// A frozen / case flag on a pooled artefact.
    Flag(usize, bool),
    /// The subject's series put on a task.
    Announce(usize),
    /// An expiry sweep this many hours after `T0`.
    Expire(u32),
}

fn op() -> impl Strategy<Value = Op> {
    let hours = 0..300 * 24u32;
    let link = (0..=POOL, 0..=POOL, 0..5usize, 0..1_000_000i64);
    prop_oneof![
        6 => (0..6usize, prop::collection::vec(0..POOL, 0..3), prop::collection::vec(link, 0..3), hours.clone())
            .prop_map(|(s, c, l, h)| Op::Alert(s, c, l, h)),
        1 => (0..POOL, any::<bool>()).prop_map(|(i, case)| Op::Flag(i, case)),
        2 => (0..6usize).prop_map(Op::Announce),
        1 => hours.prop_map(Op::Expire),
    ]
}

fn subject_alert(
    s: usize,
    counterparts: &[usize],
    links: &[(usize, usize, usize, i64)],
    h: u32,
) -> Alert {
    let subject = format!("1390000000{s}");
    let end = |i: usize| {
        if i == POOL {
            phone(&subject)
        } else {
            pooled(i)
        }
    };
    let kinds = [
        LinkKind::Call,
        LinkKind::Sms,
        LinkKind::Transfer,
        LinkKind::SharedDevice,
        LinkKind::Ownership,
    ];
    let at = T0 + i64::from(h) * HOUR_MS;
    let links = links
        .iter()
        .map(|&(a, b, k, fen)| Link {
            kind: kinds[k],
            from: end(a),
            to: end(b),
            amount_fen: fen,
            at_ms: at,
        })
        .collect();
    let division = if s.is_multiple_of(2) {
        HOME_DIVISION
    } else {
        OTHER_DIVISION
    };
    let mut a = alert_in(
        division,
        &subject,
        at,
        counterparts.iter().map(|&i| pooled(i)).collect(),
        links,
    );
    a.amount_fen = 10_000;
    a
}

/// Runs `ops` on a fresh graph; returns it and each subject's last alert.
fn run(ops: &[Op], limits: GraphLimits) -> (LinkGraph, Vec<Option<Alert>>) {
    let mut g = LinkGraph::new(limits);
    g.set_listed([(pooled(3).value.as_str(), "flagged_devices")].into_iter());
    let mut last: Vec<Option<Alert>> = vec![None; 6];
    for op in ops {
        match op {
            Op::Alert(s, c, l, h) => {
                let a = subject_alert(*s, c, l, *h);
                g.observe(&a);
                last[*s] = Some(a);
            }
            Op::Flag(i, case) => {
                let a = pooled(*i);
                g.apply(&ImportRow::Flag {
                    kind: a.kind,
                    value: a.value,
                    source: if *case {
                        FlagSource::Case
                    } else {
                        FlagSource::Frozen
                    },
                    reason: if *case {
                        "A520102".into()
                    } else {
                        String::new()
                    },
                    date: "2026-03-02".into(),
                });
            }
            Op::Announce(s) => {
                if let Some(a) = &last[*s] {
                    g.announce_series(a);
                }
            }
            Op::Expire(h) => {
                g.expire(T0_S + h * 3600, u32::MAX);
            }
        }
    }
    (g, last)
}

/// A hop answer with node values in place of indices, comparable across graphs.
fn portable(g: &LinkGraph, answer: HopAnswer) -> (u8, u32, Vec<NodeRef>) {
    match answer {
        HopAnswer::Found(d, path) => (
            0,
            d,
            path.iter().filter_map(|&(n, _)| g.node_ref(n)).collect(),
        ),
        HopAnswer::NoneWithin => (1, 0, vec![]),
        HopAnswer::GaveUp => (2, 0, vec![]),
    }
}

/// Checks `b` answers as `a` does. Paths must match node for node only when
/// `a` never removed a link: removal lets petgraph reuse slots, and the
/// reloaded graph's "newest first" is then file order.
fn assert_same(a: &LinkGraph, b: &LinkGraph) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        (a.node_count(), a.link_count()),
        (b.node_count(), b.link_count())
    );
    prop_assert_eq!(a.counters(), b.counters());
    let c = a.counters();
    let exact_paths = c.capped_links == 0 && c.expired_links == 0;
    let series = |g: &LinkGraph, s: u32| s.checked_sub(1).map(|s| g.series.id_of(s));
    for n in a.g.node_indices() {
        let r = a.node_ref(n).unwrap();
        let m = b.find(r.kind, &r.value);
        prop_assert!(m.is_some(), "{:?} lost", r);
        let m = m.unwrap();
        if exact_paths {
            // The batched load adds links in file order: each node's links
            // come back in the order they had.
            for dir in [Outgoing, Incoming] {
                prop_assert_eq!(adjacency(a, n, dir), adjacency(b, m, dir), "{:?}", r);
            }
        }
        let (x, y) = (a.g[n], b.g[m]);
        prop_assert_eq!(
            (x.kind, x.flags, x.last_s, x.region, x.degree),
            (y.kind, y.flags, y.last_s, y.region, y.degree)
        );
        prop_assert_eq!(series(a, x.series), series(b, y.series));
        prop_assert_eq!(a.flag_text(n), b.flag_text(m));
        for from in [0, T0_S + 100 * DAY_S] {
            prop_assert_eq!(a.victims_of(n, from), b.victims_of(m, from));
            prop_assert_eq!(a.fan(n, Incoming, from), b.fan(m, Incoming, from));
            prop_assert_eq!(a.fan(n, Outgoing, from), b.fan(m, Outgoing, from));
        }
        for depth in 0..=3 {
            let (ka, da, pa) = portable(a, a.nearest_flagged(&[n], depth));
            let (kb, db, pb) = portable(b, b.nearest_flagged(&[m], depth));
            prop_assert_eq!((ka, da), (kb, db), "{:?} depth {}", r, depth);
            if exact_paths {
                prop_assert_eq!(pa, pb);
            } else if let Some(end) = pb.last() {
                let end = b.find(end.kind, &end.value).unwrap();
                prop_assert!(b.g[end].is_flagged());
            }
        }
    }
    Ok(())
}

/// `n`'s links in `dir`, in petgraph's order: the other end's key and the
/// link's data.
fn adjacency(g: &LinkGraph, n: NodeIx, dir: petgraph::Direction) -> Vec<String> {
    use petgraph::visit::EdgeRef;
    g.g.edges_directed(n, dir)
        .map(|e| {
            let other = if dir == Outgoing {
                e.target()
            } else {
                e.source()
            };
            let l = e.weight();
            let data = (l.kind, l.amount_fen, l.last_s, l.count);
            format!("{:?} {data:?}", g.node_ref(other))
        })
        .collect()
}

fn save(g: &LinkGraph, path: &Path) {
    g.save(path, AT).unwrap_or_else(|e| panic!("{e}"));
}

fn refused(path: &Path) -> Result<String, String> {
    match LinkGraph::load(path, GraphLimits::default()) {
        Err(SnapshotError::Invalid { why, .. }) => Ok(why),
        Err(e) => Err(format!("not refused as invalid: {e}")),
        Ok(_) => Err("damaged snapshot loaded".into()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn snapshot_round_trip_answers_every_question_the_same(
        ops in prop::collection::vec(op(), 0..40),
        max_degree in prop::sample::select(vec![3u32, 1 << 20]),
        flips in prop::collection::vec((any::<Index>(), 1u8..=255), 1..6),
    ) {
        let limits = GraphLimits {
            max_degree,
            max_expand: 1 << 20,
            max_visits: 1 << 20,
            link_max_age_s: 60 * DAY_S,
            derive_flag_victims: 2,
            ..GraphLimits::default()
        };
        let (mut g, last) = run(&ops, limits.clone());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("graph.snap");
        save(&g, &path);
        prop_assert!(!path.with_extension("tmp").exists());

        let (mut loaded, at) = LinkGraph::load(&path, limits).unwrap();
        prop_assert_eq!(at, AT);
        // Rule lists are not in the file: the writer puts them in force again.
        loaded.set_listed([(pooled(3).value.as_str(), "flagged_devices")].into_iter());
        assert_same(&g, &loaded)?;
        for a in last.iter().flatten() {
            prop_assert_eq!(g.announce_series(a), loaded.announce_series(a));
        }

        let bytes = std::fs::read(&path).unwrap();
        let damaged = dir.path().join("damaged.snap");
        for (at, mask) in flips {
            let mut copy = bytes.clone();
            copy[at.index(bytes.len())] ^= mask;
            std::fs::write(&damaged, &copy).unwrap();
            prop_assert!(refused(&damaged).is_ok(), "{:?}", refused(&damaged));
        }
    }
}

/// A small graph with every section filled: persons, series (one merged,
/// announced), notes, and, when `max_degree` binds, a hub and counters.
fn small_graph(max_degree: u32) -> LinkGraph {
    let mut g = LinkGraph::new(GraphLimits {
        max_degree,
        ..GraphLimits::default()
    });
    let mule = card(CARD_B);
    let first = alert(
        SUBJECT,
        T0,
        vec![mule.clone(), phone("16200071583")],
        vec![],
    );
    suspect(&mut g, &first);
    g.announce_series(&first);
    let other = alert_in(
        OTHER_DIVISION,
        "13900000001",
        T0 + HOUR_MS,
        vec![mule.clone()],
        vec![],
    );
    suspect(&mut g, &other);
    for i in 0..3 {
        let payer = card(&format!("62284800000001{i:02}"));
        g.observe(&alert(
            &format!("1390000001{i}"),
            T0 + 2 * HOUR_MS,
            vec![mule.clone()],
            vec![transfer(payer, mule.clone(), 1_000, T0)],
        ));
    }
    let m = g.find(NodeKind::BankCard, CARD_B).unwrap();
    g.set_note(m, frozen("2026-03-02"));
    g
}

#[test]
fn every_flipped_byte_and_every_truncation_is_refused_as_invalid() {
    let g = small_graph(4);
    assert!(g.counters().capped_links > 0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("graph.snap");
    save(&g, &path);
    let bytes = std::fs::read(&path).unwrap();
    let damaged = dir.path().join("damaged.snap");
    for at in 0..bytes.len() {
        for mask in [0x01, 0x80, 0xff] {
            let mut copy = bytes.clone();
            copy[at] ^= mask;
            std::fs::write(&damaged, &copy).unwrap();
            if let Err(e) = refused(&damaged) {
                panic!("byte {at} ^ {mask:#x}: {e}");
            }
        }
    }
    for len in 0..bytes.len() {
        std::fs::write(&damaged, &bytes[..len]).unwrap();
        if let Err(e) = refused(&damaged) {
            panic!("cut at {len}: {e}");
        }
    }
}

#[test]
fn snapshot_of_another_format_is_refused_by_its_magic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("graph.snap");
    save(&small_graph(4), &path);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[7] = 9;
    std::fs::write(&path, &bytes).unwrap();
    let why = refused(&path).unwrap();
    assert!(why.contains("magic"), "{why}");
}

#[test]
fn missing_snapshot_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.snap");
    match LinkGraph::load(&path, GraphLimits::default()) {
        Err(SnapshotError::Io { path: p, .. }) => assert!(p.ends_with("none.snap")),
        other => panic!("{:?}", other.map(|(_, at)| at)),
    }
}

#[test]
fn snapshot_keeps_series_aliases_working_after_load() {
    // No evictions: which of two equally old links a cap evicts may differ
    // after a load, as petgraph's link order is then file order.
    let mut g = small_graph(DEFAULT_MAX_DEGREE);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("graph.snap");
    save(&g, &path);
    let (mut loaded, _) = LinkGraph::load(&path, g.limits().clone()).unwrap();
    // A victim on a task of its own, then linked to the mule, merges into the
    // first series in both graphs alike.
    let alone = alert("13900000099", T0 + 3 * HOUR_MS, vec![card(CARD_A)], vec![]);
    let linked = alert("13900000099", T0 + 4 * HOUR_MS, vec![card(CARD_B)], vec![]);
    let mut seen = Vec::new();
    for graph in [&mut g, &mut loaded] {
        suspect(graph, &alone);
        graph.announce_series(&alone);
        seen.push(suspect(graph, &linked));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0].merged.len(), 1);
    let first = alert(SUBJECT, T0, vec![], vec![]);
    assert_eq!(g.announce_series(&first), loaded.announce_series(&first));
}
