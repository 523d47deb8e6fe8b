//! The escalation check over a province's open work: 1,000,000 open tasks
//! (500,000 pairs) held by the writer, scanned for overdue and forgotten
//! tasks as every `escalation.check_every` does. Timed: a check when
//! nothing is due (the steady state), and, once, the check after an outage
//! when every task is due (each gets its station escalation).
//!
//! The same open tasks in the store's deadline index (逾期调度索引), which
//! the engine's check reads: timed, a check when nothing is due (one range
//! read) and one commit's worth of due tasks read from it.
//!
//! `cargo bench --bench escalation`

use std::path::Path;
use std::time::Instant;

#[path = "support/pair.rs"]
mod pair;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dualwarn::config::{Deadlines, EscalationConfig};
use dualwarn::directory::Directory;
use dualwarn::model::escalation::next_due_at;
use dualwarn::pipeline::Writer;
use dualwarn::store::{EmbeddedStore, Store, WriterState};
use pair::{matcher, template};

/// Open pairs under `cargo bench`; `cargo test --all-targets` runs each
/// bench once, on a small province.
fn pairs() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        500_000
    } else {
        1_000
    }
}
const NOW_MS: i64 = 1_795_363_200_000;

/// A writer holding [`pairs`] open pairs like the template's.
fn province(root: &Path) -> Writer {
    let dir = Directory::load(&root.join("directory/directory.json")).expect("directory");
    let pair = template(root, &dir, NOW_MS);
    let n = pairs();
    let mut open_tasks = Vec::with_capacity(2 * n);
    for p in 0..n {
        for t in &pair {
            let mut t = t.clone();
            t.pair_id = format!("P{p:010}");
            t.id = t.id.replacen(&pair[0].pair_id, &t.pair_id, 1);
            open_tasks.push(t);
        }
    }
    let state = WriterState {
        open_tasks,
        next_pair: n as u64 + 1,
        ..WriterState::default()
    };
    Writer::from_state(state, Deadlines::default(), matcher(root))
}

fn bench_escalation(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut w = province(root);
    let policy = EscalationConfig::default().policy();
    let mut g = c.benchmark_group("escalation");
    g.throughput(Throughput::Elements(2 * pairs() as u64));
    g.sample_size(10);
    g.bench_function("check_1m_open_tasks_none_due", |b| {
        b.iter(|| assert!(w.escalations_due(&policy, NOW_MS).is_empty()))
    });
    // The deadline index: built once (timed), then read.
    let data = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(data.path()).expect("store");
    let wakes: Vec<(String, Option<i64>)> = w
        .open_tasks()
        .map(|t| (t.id.clone(), next_due_at(t, &policy)))
        .collect();
    let started = Instant::now();
    store.reindex_deadlines(1, &wakes).expect("index");
    println!(
        "escalation/index_build ({} tasks): {:.2} s",
        wakes.len(),
        started.elapsed().as_secs_f64()
    );
    g.throughput(Throughput::Elements(1));
    g.bench_function("index_check_none_due", |b| {
        b.iter(|| assert!(store.tasks_due(NOW_MS, 1365).expect("read").is_empty()))
    });
    let later = NOW_MS + 24 * 3600 * 1000;
    g.throughput(Throughput::Elements(1365.min(wakes.len() as u64)));
    g.bench_function("index_read_1365_due", |b| {
        b.iter(|| assert!(!store.tasks_due(later, 1365).expect("read").is_empty()))
    });
    g.finish();
    // Once: after an outage every task is overdue.
    let started = Instant::now();
    let later = NOW_MS + 24 * 3600 * 1000;
    let ids = w.escalations_due(&policy, later);
    let (mut events, mut commits) = (0, 0);
    for chunk in ids.chunks(2048) {
        events += w.escalate(chunk, &policy, later).events.len();
        commits += 1;
    }
    println!(
        "escalation/check_open_tasks_all_due ({} tasks): {events} events in {commits} commits, {:.2} s (without the store)",
        2 * pairs(),
        started.elapsed().as_secs_f64()
    );
}

criterion_group!(benches, bench_escalation);
criterion_main!(benches);
