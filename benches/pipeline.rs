//! Benches of the pure path normalize → enrich, then match → decide → dispatch
//! on a seeded, generated alert stream (no I/O, no runtime).
//!
//! `cargo bench --bench pipeline`

use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dualwarn::cli::generate::{GenOptions, generate};
use dualwarn::cli::record::AlertRecord;
use dualwarn::config::Deadlines;
use dualwarn::directory::Directory;
use dualwarn::normalize::Checks;
use dualwarn::pipeline::{Writer, prepare};
use dualwarn::proto;
use dualwarn::rules::{self, Matcher, window::WindowLimits};
use dualwarn::store::WriterState;
use std::sync::Arc;

const BATCH: usize = 1000;
/// Fixed clock: the generated stream starts an hour before it.
const NOW_MS: i64 = 1_795_363_200_000;

fn batch() -> (Directory, Arc<rules::RuleSet>, proto::AlertBatch) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Directory::load(&root.join("directory/directory.json")).expect("bundled directory");
    let rules = Arc::new(rules::load_dir(&root.join("rules")).expect("bundled rules"));
    let opts = GenOptions {
        seed: 7,
        count: BATCH,
        victims: BATCH / 20,
        duplicate_rate: 0.2,
        resend_rate: 0.01,
        malformed_rate: 0.01,
        start_ms: NOW_MS - 3_600_000,
        jurisdiction: String::new(),
        ..GenOptions::default()
    };
    let mut out = Vec::new();
    generate(&dir, &rules, &opts, &mut out).expect("generate");
    let alerts = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice::<AlertRecord>(l)
                .expect("record")
                .to_proto()
        })
        .collect();
    (
        dir,
        rules,
        proto::AlertBatch {
            sequence: 0,
            alerts,
        },
    )
}

fn bench_pipeline(c: &mut Criterion) {
    let (dir, rules, batch) = batch();
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("normalize_enrich_1000", |b| {
        b.iter(|| black_box(prepare(black_box(&batch), &dir, Checks::at(NOW_MS))))
    });
    let prepared = prepare(&batch, &dir, Checks::at(NOW_MS));
    let known = dualwarn::store::KnownAlerts::new();
    g.bench_function("match_decide_dispatch_1000", |b| {
        b.iter_batched(
            || {
                Writer::from_state(
                    WriterState::default(),
                    Deadlines::default(),
                    Matcher::new(rules.clone(), WindowLimits::default(), 8),
                )
            },
            |mut w| black_box(w.apply_batch(&prepared, &known, NOW_MS)),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("normalize_to_dispatch_1000", |b| {
        b.iter_batched(
            || {
                Writer::from_state(
                    WriterState::default(),
                    Deadlines::default(),
                    Matcher::new(rules.clone(), WindowLimits::default(), 8),
                )
            },
            |mut w| {
                let p = prepare(&batch, &dir, Checks::at(NOW_MS));
                black_box(w.apply_batch(&p, &known, NOW_MS))
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
