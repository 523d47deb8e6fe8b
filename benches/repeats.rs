//! One noisy person against many people, durable: a batch of 1,000
//! matching alerts decided, dispatched and committed to the embedded store,
//! either all for one person whose pair already holds 10,000 merges, or
//! for 1,000 different people. With bounded tasks and delta events the two
//! cost about the same.
//!
//! `cargo bench --bench repeats`

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dualwarn::config::Deadlines;
use dualwarn::directory::Directory;
use dualwarn::normalize::Checks;
use dualwarn::pipeline::{PreparedBatch, Writer, prepare};
use dualwarn::proto;
use dualwarn::rules::{self, Matcher, window::WindowLimits};
use dualwarn::store::{EmbeddedStore, KnownAlerts, Store, WriterState};

const BATCH: usize = 1000;
/// Merges already in the noisy person's pair before timing starts.
const HISTORY: usize = 10_000;
const NOW_MS: i64 = 1_795_363_200_000;

struct Fixture {
    dir: Directory,
    store: EmbeddedStore,
    writer: Writer,
    next_id: usize,
    _data: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = Directory::load(&root.join("directory/directory.json")).expect("directory");
        let rules = Arc::new(rules::load_dir(&root.join("rules")).expect("rules"));
        let data = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(data.path()).expect("store");
        let writer = Writer::from_state(
            WriterState::default(),
            Deadlines::default(),
            Matcher::new(rules, WindowLimits::default(), 8),
        );
        Fixture {
            dir,
            store,
            writer,
            next_id: 0,
            _data: data,
        }
    }

    /// A call from a flagged number to `phone`, under a new id.
    fn alert(&mut self, phone: String) -> proto::Alert {
        self.next_id += 1;
        proto::Alert {
            source: "bench-telecom".into(),
            source_id: format!("r-{}", self.next_id),
            source_kind: proto::SourceKind::Telecom as i32,
            occurred_at_ms: NOW_MS - 60_000,
            subject: Some(proto::Subject {
                phone,
                division_code: self.dir.villages()[0].code.to_string(),
                ..Default::default()
            }),
            counterparts: vec![proto::Artefact {
                kind: proto::ArtefactKind::Phone as i32,
                value: "16200071583".into(),
            }],
            ..Default::default()
        }
    }

    fn batch(&mut self, one_person: bool) -> PreparedBatch {
        let alerts = (0..BATCH)
            .map(|i| {
                let phone = if one_person {
                    "13900000001".to_string()
                } else {
                    format!("137{:08}", self.next_id + i)
                };
                self.alert(phone)
            })
            .collect();
        prepare(
            &proto::AlertBatch {
                sequence: 0,
                alerts,
            },
            &self.dir,
            Checks::at(NOW_MS),
        )
    }

    fn apply(&mut self, batch: &PreparedBatch) {
        let (commit, counts) = self.writer.apply_batch(batch, &KnownAlerts::new(), NOW_MS);
        assert_eq!(counts.accepted as usize, BATCH);
        self.store.commit(&commit).expect("commit");
    }
}

/// Time to apply and commit `iters` fresh batches (made untimed).
fn timed(f: &mut Fixture, one_person: bool, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let batch = f.batch(one_person);
        let started = Instant::now();
        f.apply(&batch);
        total += started.elapsed();
    }
    total
}

fn bench_repeats(c: &mut Criterion) {
    let mut g = c.benchmark_group("repeats");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(20);
    let mut one = Fixture::new();
    for _ in 0..HISTORY / BATCH {
        let b = one.batch(true);
        one.apply(&b);
    }
    g.bench_function("one_person_1000_durable", |b| {
        b.iter_custom(|iters| timed(&mut one, true, iters))
    });
    let mut many = Fixture::new();
    g.bench_function("many_people_1000_durable", |b| {
        b.iter_custom(|iters| timed(&mut many, false, iters))
    });
    g.finish();
}

criterion_group!(benches, bench_repeats);
criterion_main!(benches);
