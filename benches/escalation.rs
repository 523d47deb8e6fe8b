//! The escalation check over a province's open work: 1,000,000 open tasks
//! (500,000 pairs) held by the writer, scanned for overdue and forgotten
//! tasks as every `escalation.check_every` does. Timed: a check when
//! nothing is due (the steady state), and, once, the check after an outage
//! when every task is due (each gets its station escalation).
//!
//! `cargo bench --bench escalation`

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dualwarn::config::{Deadlines, EscalationConfig};
use dualwarn::directory::Directory;
use dualwarn::model::Task;
use dualwarn::normalize::Checks;
use dualwarn::pipeline::{Writer, prepare};
use dualwarn::proto;
use dualwarn::rules::{self, Matcher, window::WindowLimits};
use dualwarn::store::{KnownAlerts, WriterState};

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

fn matcher(root: &Path) -> Matcher {
    let rules = Arc::new(rules::load_dir(&root.join("rules")).expect("rules"));
    Matcher::new(rules, WindowLimits::default(), 8)
}

/// One real pair, made by the writer from a matching alert.
fn template(root: &Path) -> Vec<Task> {
    let dir = Directory::load(&root.join("directory/directory.json")).expect("directory");
    let mut w = Writer::from_state(WriterState::default(), Deadlines::default(), matcher(root));
    let alert = proto::Alert {
        source: "bench-telecom".into(),
        source_id: "e-1".into(),
        source_kind: proto::SourceKind::Telecom as i32,
        occurred_at_ms: NOW_MS - 60_000,
        subject: Some(proto::Subject {
            phone: "13900000001".into(),
            division_code: dir.villages()[0].code.to_string(),
            ..Default::default()
        }),
        counterparts: vec![proto::Artefact {
            kind: proto::ArtefactKind::Phone as i32,
            value: "16200071583".into(),
        }],
        ..Default::default()
    };
    let batch = prepare(
        &proto::AlertBatch {
            sequence: 0,
            alerts: vec![alert],
        },
        &dir,
        Checks::at(NOW_MS),
    );
    let (commit, _) = w.apply_batch(&batch, &KnownAlerts::new(), NOW_MS);
    assert_eq!(commit.tasks.len(), 2, "the alert makes a pair");
    commit.tasks
}

/// A writer holding [`pairs`] open pairs like the template's.
fn province(root: &Path) -> Writer {
    let pair = template(root);
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
