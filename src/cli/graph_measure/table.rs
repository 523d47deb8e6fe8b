//! The Markdown table of `dualwarn graph measure`, and the number formats
//! it shares with the progress lines.

use std::time::Duration;

use super::{HopStats, MeasureOptions, Report, Rss, SnapshotStats, quantile};

/// The report in Markdown, ready for the README: machine, command, bounds,
/// then one table of figures against the targets.
pub fn render(r: &Report) -> Vec<String> {
    let o = &r.opts;
    let mut out = vec![
        format!(
            "Machine: {} × {} (nproc {}), {} RAM; release build.",
            r.machine.cpus,
            r.machine.model,
            r.machine.cpus,
            mib(r.machine.mem_kib * 1024)
        ),
        String::new(),
        format!("Command: `{}`", command_line(o)),
        String::new(),
        format!(
            "Bounds: degree cap {}, {} links followed per node, {} nodes reached per query.",
            grouped(u64::from(r.limits.max_degree)),
            r.limits.max_expand,
            r.limits.max_visits
        ),
        String::new(),
        "| measure | result | target |".into(),
        "|---|---|---|".into(),
    ];
    out.extend(build_rows(r));
    out.extend(hop_rows(r));
    out.extend(memory_rows(r));
    if let Some(s) = &r.snapshot {
        out.extend(snapshot_rows(s));
    }
    out
}

fn command_line(o: &MeasureOptions) -> String {
    let mut c = format!(
        "dualwarn graph measure --nodes {} --links {} --seed {} --queries {} --depth {} --by-key {}",
        o.nodes, o.links, o.seed, o.queries, o.depth, o.by_key
    );
    if o.max_degree != crate::graph::DEFAULT_MAX_DEGREE {
        c.push_str(&format!(" --max-degree {}", o.max_degree));
    }
    if let Some(p) = &o.snapshot {
        c.push_str(&format!(" --snapshot {}", p.display()));
    }
    c
}

fn build_rows(r: &Report) -> Vec<String> {
    let o = &r.opts;
    let m = &r.memory;
    let (ni, ti) = r.by_index;
    let (nk, tk) = r.by_key;
    let (nr, tr) = r.by_key_runs;
    let rate = |n, t| format!("{} links/s", si(per_second(n, t)));
    vec![
        format!(
            "| graph (seed {}) | {} artefacts ({} flagged), {} link observations → {} links ({} new links refused at the degree cap, {} hub nodes) | 10 M / 50 M |",
            o.seed,
            grouped(m.node_count as u64),
            grouped(r.flagged as u64),
            grouped(o.links),
            grouped(m.link_count as u64),
            grouped(r.capped),
            grouped(r.hubs as u64)
        ),
        format!(
            "| node intern (new values) | {} nodes/s ({:.1} s) | |",
            si(per_second(u64::from(o.nodes), r.intern)),
            r.intern.as_secs_f64()
        ),
        format!(
            "| link upsert by node index | {} (the first {} in {:.1} s{}) | ≥ 1 M/s |",
            rate(ni, ti),
            grouped(ni),
            ti.as_secs_f64(),
            waited(ti, r.waited[0])
        ),
        format!(
            "| link upsert by key (both ends interned from their values, as `observe` does), one at a time | {} ({} after those, in {:.2} s{}) | ≥ 1 M/s |",
            rate(nk, tk),
            grouped(nk),
            tk.as_secs_f64(),
            waited(tk, r.waited[1])
        ),
        format!(
            "| link upsert by key, as runs (`upsert_keyed`: 16 at a time asked ahead, as an import can) | {} (the last {} in {:.2} s{}) | ≥ 1 M/s |",
            rate(nr, tr),
            grouped(nr),
            tr.as_secs_f64(),
            waited(tr, r.waited[2])
        ),
        format!(
            "| link upsert, all observations | {} ({} in {:.1} s; generating them took {:.1} s more, not counted) | ≥ 1 M/s |",
            rate(ni + nk + nr, ti + tk + tr),
            grouped(ni + nk + nr),
            (ti + tk + tr).as_secs_f64(),
            r.generate.as_secs_f64()
        ),
    ]
}

/// "; 1.2 s of it waiting for a CPU" when other work took a share worth
/// saying (over 2 %) of a timed step; empty otherwise.
fn waited(wall: Duration, waited: Duration) -> String {
    if waited.as_secs_f64() <= 0.02 * wall.as_secs_f64() {
        return String::new();
    }
    format!("; {:.2} s of it waiting for a CPU", waited.as_secs_f64())
}

fn us(ns: u64) -> String {
    let us = ns as f64 / 1000.0;
    if us >= 100.0 {
        format!("{us:.0}")
    } else {
        format!("{us:.1}")
    }
}

fn hop_rows(r: &Report) -> Vec<String> {
    let mut rows = hop_rows_of(r, &r.hops, "query (distance labels, as rules ask)");
    rows.extend(hop_rows_of(
        r,
        &r.search,
        "search (bounded BFS, for comparison)",
    ));
    rows
}

fn hop_rows_of(r: &Report, h: &HopStats, what: &str) -> Vec<String> {
    let d = r.opts.depth;
    let pct = |n: u32| 100.0 * f64::from(n) / f64::from(h.queries.max(1));
    let found: u32 = h.found_at.iter().sum();
    let by_depth: Vec<String> = h
        .found_at
        .iter()
        .enumerate()
        .map(|(depth, &n)| format!("{depth}: {:.1} %", pct(n)))
        .collect();
    let mut rows = vec![
        format!(
            "| {d}-hop {what}, p50 / p90 / p99 / p99.9 / max | {} / {} / {} / {} / {} µs (mean {} µs; {} random starts, one at a time) | p99 ≤ 20 µs |",
            us(h.quantile_ns(0.5)),
            us(h.quantile_ns(0.9)),
            us(h.quantile_ns(0.99)),
            us(h.quantile_ns(0.999)),
            us(h.quantile_ns(1.0)),
            us(h.mean_ns() as u64),
            grouped(u64::from(h.queries))
        ),
        format!(
            "| {d}-hop {what}: answers | flagged found {:.1} % (at depth {}), none within {d} {:.1} %, gave up on the visit budget {:.1} % | |",
            pct(found),
            by_depth.join(", "),
            pct(h.none_within),
            pct(h.gave_up)
        ),
    ];
    if h.gave_up > 0 {
        rows.push(format!(
            "| {d}-hop {what}: queries that reached the {}-node budget | p50 {} µs, p99 {} µs: {:.0} ns per node reached | |",
            r.limits.max_visits,
            us(quantile(&h.gave_up_ns, 0.5)),
            us(quantile(&h.gave_up_ns, 0.99)),
            quantile(&h.gave_up_ns, 0.5) as f64 / f64::from(r.limits.max_visits.max(1))
        ));
    }
    rows
}

fn memory_rows(r: &Report) -> Vec<String> {
    let m = &r.memory;
    let links = m.link_count.max(1) as f64;
    let rss =
        |x: Option<Rss>, f: fn(&Rss) -> u64| x.as_ref().map_or("n/a".into(), |x| mib(f(x) * 1024));
    vec![
        format!(
            "| graph memory (`LinkGraph::memory()`) | {} = links {} + nodes {} + keys {} + notes and series {} | |",
            mib(m.total() as u64),
            mib(m.links as u64),
            mib(m.nodes as u64),
            mib(m.keys as u64),
            mib(m.other as u64)
        ),
        format!(
            "| bytes per link | {:.1} all parts; {:.1} link slots alone | ≤ 64 |",
            m.per_link(),
            m.links as f64 / links
        ),
        format!(
            "| process RSS (VmRSS) | {} before, {} after building; peak (VmHWM) {} | |",
            rss(r.rss_before, |x| x.now_kib),
            rss(r.rss_built, |x| x.now_kib),
            rss(r.rss_built, |x| x.peak_kib)
        ),
    ]
}

fn snapshot_rows(s: &SnapshotStats) -> Vec<String> {
    let links = s.memory.link_count as u64;
    let rss = s.rss.map_or("n/a".into(), |x| mib(x.now_kib * 1024));
    vec![
        format!(
            "| snapshot save (write, fsync, rename) | {:.1} s, {} file ({:.0} MiB/s) | |",
            s.save.as_secs_f64(),
            mib(s.bytes),
            s.bytes as f64 / (1024.0 * 1024.0) / s.save.as_secs_f64().max(1e-9)
        ),
        format!(
            "| snapshot load (read, checksum, rebuild) | {:.1} s ({} links/s{}); node and link counts {}; RSS after load {} | ≤ 10 s |",
            s.load.as_secs_f64(),
            si(per_second(links, s.load)),
            waited(s.load, s.load_waited),
            if s.counts_match { "match" } else { "DIFFER" },
            rss
        ),
    ]
}

/// Events per second; 0 for no time.
pub fn per_second(n: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 { n as f64 / s } else { 0.0 }
}

/// `12345678` → `12,345,678`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1_400_000.0` → `1.40 M`.
pub fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} K", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// Bytes as MiB, or GiB from 4 GiB up.
pub fn mib(bytes: u64) -> String {
    let m = bytes as f64 / (1024.0 * 1024.0);
    if m >= 4096.0 {
        format!("{:.2} GiB", m / 1024.0)
    } else {
        format!("{m:.0} MiB")
    }
}
