//! The account-link graph's hot paths on a seeded graph (`GraphGen`, seed
//! 7): link upserts by node index, by key one at a time and by key in runs
//! (`upsert_keyed`), 3-hop questions for the
//! nearest flagged node (by distance labels, as rules ask, and by the
//! bounded search they fall back to), and observing generated alerts.
//! 1 M artefacts and 5 M link observations by default
//! (`DUALWARN_BENCH_GRAPH_NODES` / `DUALWARN_BENCH_GRAPH_LINKS` override),
//! built once per group. Upserts continue the generator's stream past the
//! built links, so they insert into a graph that keeps growing, as in
//! production. The full-size figures (10 M / 50 M, latency percentiles,
//! memory, snapshots) come from `dualwarn graph measure`.
//!
//! `cargo bench --bench graph`

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use dualwarn::graph::generate::{GenLink, GraphGen};
use dualwarn::graph::{EdgeKind, GraphLimits, HopAnswer, KeyedLink, LinkGraph, NodeIx, NodeKind};
use dualwarn::model::Alert;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;

const SEED: u64 = 7;
const DEFAULT_NODES: u32 = 1_000_000;
const DEFAULT_LINKS: u64 = 5_000_000;
/// Upserts per measured iteration.
const UPSERT_BATCH: usize = 50_000;
/// Hop search starts, cycled through.
const STARTS: usize = 1 << 16;
const DEPTH: u32 = 3;
/// Alerts generated, and observed per measured iteration.
const ALERTS: usize = 20_000;
const OBSERVE_BATCH: usize = 1_000;
/// Fixed clock: the generated alerts end about at it.
const NOW_MS: i64 = 1_795_363_200_000;

/// Nodes and link observations of the built graph, from the environment.
fn size() -> (u32, u64) {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let nodes = var("DUALWARN_BENCH_GRAPH_NODES").map_or(DEFAULT_NODES, |n| n as u32);
    let links = var("DUALWARN_BENCH_GRAPH_LINKS").unwrap_or(DEFAULT_LINKS);
    (nodes, links)
}

/// A graph built from the first `links` observations of a generator of
/// `links + extra`; the other `extra` are kept for the benches to upsert.
struct Built {
    generator: GraphGen,
    graph: LinkGraph,
    ids: Vec<NodeIx>,
    rest: Vec<GenLink>,
}

fn build(extra: u64) -> Built {
    let (nodes, links) = size();
    let started = Instant::now();
    let generator = GraphGen::new(nodes, links + extra, SEED);
    let (mut graph, ids) = generator.nodes_into(GraphLimits::default(), |_| {});
    let mut stream = generator.links();
    for (a, b, kind, fen, at) in stream.by_ref().take(links as usize) {
        graph.upsert_link(ids[a as usize], ids[b as usize], kind, fen, at);
    }
    let rest = stream.collect();
    eprintln!(
        "graph: {} nodes, {} links, built in {:.1?}",
        graph.node_count(),
        graph.link_count(),
        started.elapsed()
    );
    Built {
        generator,
        graph,
        ids,
        rest,
    }
}

/// The next `n` kept observations, `taken` so far (past the end they wrap
/// round and re-observe links already there).
fn next_batch(rest: &[GenLink], taken: &Cell<usize>, n: usize) -> Vec<GenLink> {
    let start = taken.get();
    taken.set(start + n);
    let skip = start % rest.len();
    rest.iter().cycle().skip(skip).take(n).copied().collect()
}

/// One observation with both ends as values, as an alert brings them.
type Keyed = (NodeKind, String, NodeKind, String, EdgeKind, i64, u32);

fn keyed(generator: &GraphGen, links: &[GenLink]) -> Vec<Keyed> {
    let mut value = String::new();
    links
        .iter()
        .map(|&(a, b, kind, fen, at)| {
            let ka = generator.node_key(a, &mut value);
            let va = value.clone();
            let kb = generator.node_key(b, &mut value);
            (ka, va, kb, value.clone(), kind, fen, at)
        })
        .collect()
}

fn bench_upsert(c: &mut Criterion) {
    let (_, links) = size();
    let Built {
        generator,
        mut graph,
        ids,
        rest,
    } = build(3 * links);
    let taken = Cell::new(0);
    let mut g = c.benchmark_group("graph");
    // Flat sampling and a short time: the runs insert as many links as
    // their speed allows in ~4 s, and should stay within the kept
    // observations (three times the built links) instead of wrapping round.
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(UPSERT_BATCH as u64));
    g.bench_function("upsert_by_index", |b| {
        b.iter_batched(
            || next_batch(&rest, &taken, UPSERT_BATCH),
            |batch| {
                for (a, b, kind, fen, at_s) in batch {
                    graph.upsert_link(ids[a as usize], ids[b as usize], kind, fen, at_s);
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("upsert_by_key", |b| {
        b.iter_batched(
            || keyed(&generator, &next_batch(&rest, &taken, UPSERT_BATCH)),
            |batch| {
                for (ka, va, kb, vb, kind, fen, at_s) in &batch {
                    let (a, b) = graph.intern_link_ends((*ka, va), (*kb, vb), *kind, *at_s);
                    graph.upsert_link(a, b, *kind, *fen, *at_s);
                }
                batch
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("upsert_by_key_runs", |b| {
        b.iter_batched(
            || keyed(&generator, &next_batch(&rest, &taken, UPSERT_BATCH)),
            |batch| {
                let run: Vec<KeyedLink> = batch
                    .iter()
                    .map(|(ka, va, kb, vb, kind, fen, at_s)| KeyedLink {
                        from: (*ka, va),
                        to: (*kb, vb),
                        kind: *kind,
                        amount_fen: *fen,
                        at_s: *at_s,
                    })
                    .collect();
                black_box(graph.upsert_keyed(&run));
                batch
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
    eprintln!(
        "after upserts: {} links, {} new links refused at the degree cap{}",
        graph.link_count(),
        graph.counters().capped_links,
        if taken.get() > rest.len() {
            "; the kept observations ran out and wrapped round"
        } else {
            ""
        }
    );
}

fn bench_hops(c: &mut Criterion) {
    let Built { graph, ids, .. } = build(0);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 0x686f_7073);
    let starts: Vec<NodeIx> = (0..STARTS)
        .map(|_| ids[rng.random_range(0..ids.len())])
        .collect();
    let (mut found, mut gave_up) = (0, 0);
    for s in &starts {
        match graph.nearest_flagged(std::slice::from_ref(s), DEPTH) {
            HopAnswer::Found(..) => found += 1,
            HopAnswer::GaveUp => gave_up += 1,
            HopAnswer::NoneWithin => {}
        }
    }
    eprintln!("hops3 search: {found} found a flagged node, {gave_up} gave up, of {STARTS}");
    let mut g = c.benchmark_group("graph");
    g.throughput(Throughput::Elements(1));
    // `hops3`: what rules ask (distance labels, one path walked down);
    // `hops3_search`: the bounded breadth-first search it falls back to.
    let queries: [(&str, Query); 2] = [
        ("hops3", LinkGraph::nearest_flagged_labelled),
        ("hops3_search", LinkGraph::nearest_flagged),
    ];
    for (name, query) in queries {
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % starts.len();
                black_box(query(&graph, &starts[i..=i], DEPTH))
            })
        });
    }
    g.finish();
}

/// A hop question: starts and depth to an answer.
type Query = fn(&LinkGraph, &[NodeIx], u32) -> HopAnswer;

/// Generated alerts (noise, planted victims, repeats), normalized.
fn alerts() -> Vec<Alert> {
    common::generated_alerts(SEED, ALERTS, NOW_MS - ALERTS as i64 * 5_500, NOW_MS)
}

fn bench_observe(c: &mut Criterion) {
    let alerts = alerts();
    let Built { mut graph, .. } = build(0);
    let mut g = c.benchmark_group("graph");
    g.throughput(Throughput::Elements(OBSERVE_BATCH as u64));
    let mut at = 0;
    g.bench_function("observe_1000", |b| {
        b.iter(|| {
            for a in alerts.iter().cycle().skip(at).take(OBSERVE_BATCH) {
                graph.observe(a);
            }
            black_box(&graph);
            at = (at + OBSERVE_BATCH) % alerts.len();
        })
    });
    g.finish();
}

criterion_group!(benches, bench_upsert, bench_hops, bench_observe);
criterion_main!(benches);
