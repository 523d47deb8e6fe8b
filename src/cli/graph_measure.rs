//! `dualwarn graph measure`: builds a seeded account-link graph with
//! [`GraphGen`] and measures what the README quotes — node interning, link
//! upserts (by node index, and by key as `observe` does them), bounded hop
//! query latency one query at a time, memory by part and as process RSS,
//! and snapshot save and load. A tool outside the flow; it prints progress
//! on stderr and a Markdown table on stdout.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::graph::generate::{GenLink, GraphGen};
use crate::graph::snapshot::Checkpoint;
use crate::graph::{GraphLimits, HopAnswer, KeyedLink, LinkGraph, MemoryUse, NodeIx, NodeKind};

mod table;

pub use table::render;
use table::{grouped, mib, per_second, si};

/// Link observations generated (untimed) before each timed run of upserts.
const CHUNK: usize = 1 << 20;
/// Least time between two progress lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(3);
/// Hop queries run untimed first, so the code paths are warm.
const WARM_QUERIES: u32 = 1_000;
/// The graph's bit for a node that reached its degree cap (`flag_bits::HUB`,
/// private to the graph module).
const HUB_BIT: u8 = 8;

/// What to build and measure.
#[derive(Clone, Debug)]
pub struct MeasureOptions {
    /// Artefacts.
    pub nodes: u32,
    /// Link observations.
    pub links: u64,
    /// Seed of the generator and of the query starts.
    pub seed: u64,
    /// Hop queries timed one by one.
    pub queries: u32,
    /// Depth of the hop queries.
    pub depth: u32,
    /// The last this many observations are upserted by key: the first
    /// half one at a time, the rest as runs (`LinkGraph::upsert_keyed`).
    pub by_key: u64,
    /// Most links kept at one node (the graph's degree cap).
    pub max_degree: u32,
    /// Where to save (and then load) a snapshot; none skips it.
    pub snapshot: Option<PathBuf>,
}

/// The machine the figures come from.
#[derive(Clone, Debug, Default)]
pub struct Machine {
    /// Logical CPUs.
    pub cpus: usize,
    /// `model name` from /proc/cpuinfo.
    pub model: String,
    /// `MemTotal` from /proc/meminfo, KiB.
    pub mem_kib: u64,
}

/// Resident memory of this process, from /proc/self/status (KiB).
#[derive(Clone, Copy, Debug, Default)]
pub struct Rss {
    /// `VmRSS`: resident now.
    pub now_kib: u64,
    /// `VmHWM`: the peak so far.
    pub peak_kib: u64,
}

/// Latencies of the hop queries and what they answered.
#[derive(Clone, Debug, Default)]
pub struct HopStats {
    /// Queries timed.
    pub queries: u32,
    /// Sorted latencies, ns.
    pub sorted_ns: Vec<u64>,
    /// Found a flagged node, by depth (index 0 = at the start).
    pub found_at: Vec<u32>,
    /// No flagged node within the depth.
    pub none_within: u32,
    /// The visit budget ran out first.
    pub gave_up: u32,
    /// Sorted latencies of the queries that gave up, ns: each reached
    /// exactly the visit budget, so they give a cost per node reached.
    pub gave_up_ns: Vec<u64>,
}

/// Snapshot save and load of the built graph.
#[derive(Clone, Debug)]
pub struct SnapshotStats {
    /// Where.
    pub path: PathBuf,
    /// Time to save (write, fsync, rename).
    pub save: Duration,
    /// File size.
    pub bytes: u64,
    /// Time to load and check it.
    pub load: Duration,
    /// Of that, time the loading thread waited for a CPU.
    pub load_waited: Duration,
    /// The loaded graph has the saved node and link counts.
    pub counts_match: bool,
    /// Memory of the loaded graph.
    pub memory: MemoryUse,
    /// RSS after loading (the built graph dropped first).
    pub rss: Option<Rss>,
}

/// Everything measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// What was asked.
    pub opts: MeasureOptions,
    /// Where.
    pub machine: Machine,
    /// Time to intern (and flag) every node.
    pub intern: Duration,
    /// Observations upserted by node index, and the time.
    pub by_index: (u64, Duration),
    /// Observations upserted by key (both ends interned from text), one at
    /// a time, and the time.
    pub by_key: (u64, Duration),
    /// Observations upserted by key as runs (groups asked ahead), and the time.
    pub by_key_runs: (u64, Duration),
    /// Of the times by index, by key and as runs, the time waiting for a
    /// CPU (other work on the machine), as Linux counts it.
    pub waited: [Duration; 3],
    /// Time the generator itself took (not in the upsert times).
    pub generate: Duration,
    /// Memory of the built graph.
    pub memory: MemoryUse,
    /// Links dropped at the degree cap while building.
    pub capped: u64,
    /// Nodes that reached the degree cap.
    pub hubs: usize,
    /// Flagged nodes.
    pub flagged: usize,
    /// RSS before building.
    pub rss_before: Option<Rss>,
    /// RSS after building.
    pub rss_built: Option<Rss>,
    /// Hop queries.
    pub hops: HopStats,
    /// The same queries by bounded search (the fallback beyond depth 3).
    pub search: HopStats,
    /// Snapshot, when asked.
    pub snapshot: Option<SnapshotStats>,
    /// The bounds in force.
    pub limits: GraphLimits,
}

/// Builds the graph and measures it.
pub fn measure(opts: &MeasureOptions) -> anyhow::Result<Report> {
    anyhow::ensure!(opts.nodes >= 2, "--nodes {}: at least 2", opts.nodes);
    anyhow::ensure!(
        opts.max_degree >= 2,
        "--max-degree {}: at least 2",
        opts.max_degree
    );
    anyhow::ensure!(
        opts.by_key <= opts.links,
        "--by-key {} is more than --links {}",
        opts.by_key,
        opts.links
    );
    let limits = GraphLimits {
        max_degree: opts.max_degree,
        ..GraphLimits::default()
    };
    let rss_before = rss();
    let generator = GraphGen::new(opts.nodes, opts.links, opts.seed);
    let mut progress = Progress::new("nodes", u64::from(opts.nodes));
    let started = Instant::now();
    let (mut graph, ids) = generator.nodes_into(limits.clone(), |done| progress.tick(done));
    let intern = started.elapsed();
    progress.done(u64::from(opts.nodes));
    let one_by_one = opts.by_key - opts.by_key / 2;
    let build = upsert_all(
        &mut graph,
        &generator,
        &ids,
        opts.links - opts.by_key,
        one_by_one,
    )?;
    let memory = graph.memory();
    let rss_built = rss();
    let (hubs, flagged) = count_hubs_and_flagged(&graph, &ids);
    eprintln!(
        "hop queries: {} from random starts, depth {}",
        opts.queries, opts.depth
    );
    let hops = hop_latencies(&graph, &ids, opts, LinkGraph::nearest_flagged_labelled);
    let search = hop_latencies(&graph, &ids, opts, LinkGraph::nearest_flagged);
    drop(ids);
    let capped = graph.counters().capped_links;
    let snapshot = match &opts.snapshot {
        Some(path) => Some(snapshot_round_trip(graph, path, &limits)?),
        None => None,
    };
    Ok(Report {
        opts: opts.clone(),
        machine: machine(),
        intern,
        by_index: build.by_index,
        by_key: build.by_key,
        by_key_runs: build.by_key_runs,
        waited: build.waited,
        generate: build.generate,
        memory,
        capped,
        hubs,
        flagged,
        rss_before,
        rss_built,
        hops,
        search,
        snapshot,
        limits,
    })
}

/// Times of the upserts, apart from generating them.
struct Build {
    by_index: (u64, Duration),
    by_key: (u64, Duration),
    by_key_runs: (u64, Duration),
    waited: [Duration; 3],
    generate: Duration,
}

/// Upserts every observation of `generator`: the first `by_index` by node
/// index, the next `one_by_one` by key one at a time, the rest by key as
/// runs (the graph comes out the same every way).
fn upsert_all(
    graph: &mut LinkGraph,
    generator: &GraphGen,
    ids: &[NodeIx],
    by_index: u64,
    one_by_one: u64,
) -> anyhow::Result<Build> {
    let mut build = Build {
        by_index: (0, Duration::ZERO),
        by_key: (0, Duration::ZERO),
        by_key_runs: (0, Duration::ZERO),
        waited: [Duration::ZERO; 3],
        generate: Duration::ZERO,
    };
    let mut stream = generator.links();
    let mut chunk: Vec<GenLink> = Vec::with_capacity(CHUNK);
    let mut keys = KeyChunk::default();
    let mut progress = Progress::new("links", generator.links);
    let mut done = 0u64;
    loop {
        let t = Instant::now();
        chunk.clear();
        chunk.extend(stream.by_ref().take(CHUNK));
        build.generate += t.elapsed();
        if chunk.is_empty() {
            break;
        }
        let split = (by_index.saturating_sub(done) as usize).min(chunk.len());
        let runs_from = ((by_index + one_by_one).saturating_sub(done) as usize).min(chunk.len());
        let t = Stopwatch::start();
        upsert_by_index(graph, ids, &chunk[..split]);
        t.add_to(&mut build.by_index.1, &mut build.waited[0]);
        build.by_index.0 += split as u64;
        if split < chunk.len() {
            keys.render(generator, &chunk[split..]);
            let (single, runs) = chunk[split..].split_at(runs_from - split);
            let t = Stopwatch::start();
            keys.upsert(graph, single);
            t.add_to(&mut build.by_key.1, &mut build.waited[1]);
            build.by_key.0 += single.len() as u64;
            let run = keys.keyed(chunk[split..].iter().zip(0..).skip(single.len()));
            let t = Stopwatch::start();
            graph.upsert_keyed(&run);
            t.add_to(&mut build.by_key_runs.1, &mut build.waited[2]);
            build.by_key_runs.0 += runs.len() as u64;
        }
        done += chunk.len() as u64;
        progress.tick_with(done, || {
            let capped = graph.counters().capped_links;
            format!("  {} refused at the degree cap", grouped(capped))
        });
    }
    progress.done(done);
    anyhow::ensure!(
        done == generator.links,
        "the generator stopped at {done} links"
    );
    Ok(build)
}

fn upsert_by_index(graph: &mut LinkGraph, ids: &[NodeIx], links: &[GenLink]) {
    for &(a, b, kind, fen, at) in links {
        graph.upsert_link(ids[a as usize], ids[b as usize], kind, fen, at);
    }
}

/// The values of both ends of a run of observations, rendered before the
/// clock starts, in one buffer.
#[derive(Default)]
struct KeyChunk {
    text: String,
    /// Per observation: kind and end offset of the `from` value, then of the `to` value.
    ends: Vec<[(NodeKind, usize); 2]>,
}

impl KeyChunk {
    fn render(&mut self, generator: &GraphGen, links: &[GenLink]) {
        self.text.clear();
        self.ends.clear();
        let mut value = String::new();
        for &(a, b, ..) in links {
            let mut pair = [(NodeKind::Person, 0); 2];
            for (slot, n) in pair.iter_mut().zip([a, b]) {
                let kind = generator.node_key(n, &mut value);
                self.text.push_str(&value);
                *slot = (kind, self.text.len());
            }
            self.ends.push(pair);
        }
    }

    /// Kind and value of both ends of the `i`-th observation rendered.
    fn ends(&self, i: usize) -> [(NodeKind, &str); 2] {
        let at = if i == 0 { 0 } else { self.ends[i - 1][1].1 };
        let [(ka, ea), (kb, eb)] = self.ends[i];
        [(ka, &self.text[at..ea]), (kb, &self.text[ea..eb])]
    }

    /// Interns both ends from their values, then upserts, as `observe` does
    /// (`links` are the first rendered).
    fn upsert(&self, graph: &mut LinkGraph, links: &[GenLink]) {
        for (i, &(_, _, kind, fen, at_s)) in links.iter().enumerate() {
            let [from, to] = self.ends(i);
            let (a, b) = graph.intern_link_ends(from, to, kind, at_s);
            graph.upsert_link(a, b, kind, fen, at_s);
        }
    }

    /// Rendered observations as keyed links, for one run; `links` come
    /// with their place among those rendered.
    fn keyed<'k>(
        &'k self,
        links: impl Iterator<Item = (&'k GenLink, usize)>,
    ) -> Vec<KeyedLink<'k>> {
        links
            .map(|(&(_, _, kind, amount_fen, at_s), i)| {
                let [from, to] = self.ends(i);
                KeyedLink {
                    from,
                    to,
                    kind,
                    amount_fen,
                    at_s,
                }
            })
            .collect()
    }
}

/// Nodes that reached the degree cap, and flagged nodes.
fn count_hubs_and_flagged(graph: &LinkGraph, ids: &[NodeIx]) -> (usize, usize) {
    let nodes = ids.iter().filter_map(|&ix| graph.node(ix));
    nodes.fold((0, 0), |(hubs, flagged), n| {
        (
            hubs + usize::from(n.flags & HUB_BIT != 0),
            flagged + usize::from(n.is_flagged()),
        )
    })
}

/// Times `opts.queries` hop queries from random nodes, one by one.
fn hop_latencies(
    graph: &LinkGraph,
    ids: &[NodeIx],
    opts: &MeasureOptions,
    query: fn(&LinkGraph, &[NodeIx], u32) -> HopAnswer,
) -> HopStats {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x686f_7073);
    let mut stats = HopStats {
        queries: opts.queries,
        found_at: vec![0; opts.depth as usize + 1],
        ..HopStats::default()
    };
    for _ in 0..WARM_QUERIES {
        let start = ids[rng.random_range(0..ids.len())];
        std::hint::black_box(query(graph, &[start], opts.depth));
    }
    let starts: Vec<NodeIx> = (0..opts.queries)
        .map(|_| ids[rng.random_range(0..ids.len())])
        .collect();
    let mut progress = Progress::new("queries", u64::from(opts.queries));
    stats.sorted_ns.reserve(starts.len());
    for (i, start) in starts.iter().enumerate() {
        let t = Instant::now();
        let answer = query(graph, std::slice::from_ref(start), opts.depth);
        let ns = t.elapsed().as_nanos() as u64;
        stats.sorted_ns.push(ns);
        match answer {
            HopAnswer::Found(d, _) => stats.found_at[d as usize] += 1,
            HopAnswer::NoneWithin => stats.none_within += 1,
            HopAnswer::GaveUp => {
                stats.gave_up += 1;
                stats.gave_up_ns.push(ns);
            }
        }
        progress.tick(i as u64 + 1);
    }
    progress.done(u64::from(opts.queries));
    stats.sorted_ns.sort_unstable();
    stats.gave_up_ns.sort_unstable();
    stats
}

impl HopStats {
    /// The latency at quantile `q` (0..=1), ns; 0 with no queries.
    pub fn quantile_ns(&self, q: f64) -> u64 {
        quantile(&self.sorted_ns, q)
    }

    /// Mean latency, ns.
    pub fn mean_ns(&self) -> f64 {
        if self.sorted_ns.is_empty() {
            return 0.0;
        }
        self.sorted_ns.iter().sum::<u64>() as f64 / self.sorted_ns.len() as f64
    }
}

/// The value at quantile `q` (0..=1) of sorted values; 0 when none.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    let n = sorted.len();
    if n == 0 {
        return 0;
    }
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// Saves the graph, drops it (as a restart would), loads the file back.
fn snapshot_round_trip(
    graph: LinkGraph,
    path: &std::path::Path,
    limits: &GraphLimits,
) -> anyhow::Result<SnapshotStats> {
    eprintln!("snapshot: saving to {}", path.display());
    let t = Instant::now();
    let bytes = graph
        .save(path, Checkpoint::default())
        .context("cannot save the snapshot")?;
    let save = t.elapsed();
    let counts = (graph.node_count(), graph.link_count());
    drop(graph);
    eprintln!(
        "snapshot: {} written in {:.1} s; loading",
        mib(bytes),
        save.as_secs_f64()
    );
    let t = Stopwatch::start();
    let (loaded, _) = LinkGraph::load(path, limits.clone()).context("cannot load the snapshot")?;
    let (mut load, mut load_waited) = (Duration::ZERO, Duration::ZERO);
    t.add_to(&mut load, &mut load_waited);
    let counts_match = (loaded.node_count(), loaded.link_count()) == counts;
    Ok(SnapshotStats {
        path: path.to_path_buf(),
        save,
        bytes,
        load,
        load_waited,
        counts_match,
        memory: loaded.memory(),
        rss: rss(),
    })
}

/// A progress line on stderr every few seconds: done, total, the rate so
/// far and since the last line (a slowdown shows), and a note.
struct Progress {
    what: &'static str,
    total: u64,
    started: Instant,
    last: Instant,
    last_done: u64,
}

impl Progress {
    fn new(what: &'static str, total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            what,
            total,
            started: now,
            last: now,
            last_done: 0,
        }
    }

    fn tick(&mut self, done: u64) {
        self.tick_with(done, String::new);
    }

    fn tick_with(&mut self, done: u64, note: impl FnOnce() -> String) {
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.line(done, &note());
        }
    }

    fn done(&mut self, done: u64) {
        if done != self.last_done || done == 0 {
            self.line(done, "");
        }
    }

    fn line(&mut self, done: u64, note: &str) {
        let overall = per_second(done, self.started.elapsed());
        let recent = per_second(done.saturating_sub(self.last_done), self.last.elapsed());
        eprintln!(
            "{} {} / {}  {}/s (lately {}/s){note}",
            self.what,
            grouped(done),
            grouped(self.total),
            si(overall),
            si(recent)
        );
        self.last = Instant::now();
        self.last_done = done;
    }
}

/// Wall time of a timed step, and how long this thread waited for a CPU
/// meanwhile: figures taken beside other work say how much of them that was.
struct Stopwatch {
    started: Instant,
    waited: Duration,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch {
            started: Instant::now(),
            waited: cpu_wait(),
        }
    }

    /// Adds the time since the start to `wall`, and the wait to `waited`.
    fn add_to(&self, wall: &mut Duration, waited: &mut Duration) {
        *wall += self.started.elapsed();
        *waited += cpu_wait().saturating_sub(self.waited);
    }
}

/// Time this thread has spent runnable but waiting for a CPU
/// (/proc/thread-self/schedstat); zero where Linux does not tell.
fn cpu_wait() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text.split_whitespace().nth(1).and_then(|n| n.parse().ok());
    Duration::from_nanos(ns.unwrap_or(0))
}

fn status_kib(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// This process's resident memory; `None` off Linux.
pub fn rss() -> Option<Rss> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    Some(Rss {
        now_kib: status_kib(&text, "VmRSS:")?,
        peak_kib: status_kib(&text, "VmHWM:")?,
    })
}

/// CPUs, CPU model and memory of this machine, as far as Linux tells.
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_string(), |(_, m)| m.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        model,
        mem_kib: status_kib(&meminfo, "MemTotal:").unwrap_or(0),
    }
}
