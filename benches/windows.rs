//! Sliding-window updates as the *match* stage does them: add one
//! observation, then read the key's value. 100,000 keys, timestamps in
//! order with up to a second of jitter, a 10-minute window (a few events per
//! key in range), on a seeded stream so runs compare.
//!
//! `cargo bench --bench windows`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dualwarn::rules::window::{Agg, Observation, WindowLimits, WindowStore, hash_str};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const KEYS: u64 = 100_000;
/// Pre-generated observations, replayed with a moving clock.
const STREAM: usize = 1 << 20;
/// Updates per measured iteration.
const BATCH: u64 = 1_000;
const DURATION_MS: i64 = 10 * 60 * 1000;
const JITTER_MS: i64 = 1_000;
/// Stream time per observation: a key recurs about every 100 s.
const STEP_MS: i64 = 1;
const START_MS: i64 = 1_795_363_200_000;

/// One pre-generated update; the clock supplies the time.
struct Draw {
    key: u64,
    jitter_ms: i64,
    value: f64,
    distinct: u64,
}

fn stream(seed: u64) -> Vec<Draw> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let phones: Vec<u64> = (0..KEYS)
        .map(|i| hash_str(&format!("1{:010}", 3_000_000_000 + i)))
        .collect();
    (0..STREAM)
        .map(|_| {
            let k = rng.random_range(0..KEYS);
            let key = phones[k as usize];
            let jitter_ms = rng.random_range(0..JITTER_MS);
            let value = f64::from(rng.random_range(1..100_000u32));
            let distinct = hash_str(&format!("62{k:08}{}", rng.random_range(0..8u8)));
            Draw {
                key,
                jitter_ms,
                value,
                distinct,
            }
        })
        .collect()
}

/// A store fed by the replayed stream, one `add` + `value` per step.
struct Feed<'s> {
    draws: &'s [Draw],
    store: WindowStore,
    pos: usize,
    clock_ms: i64,
}

impl Feed<'_> {
    fn step(&mut self) -> f64 {
        let d = &self.draws[self.pos];
        self.pos = (self.pos + 1) % self.draws.len();
        self.clock_ms += STEP_MS;
        let at_ms = self.clock_ms - d.jitter_ms;
        self.store.add(Observation {
            key: d.key,
            at_ms,
            value: d.value,
            distinct: d.distinct,
        });
        self.store.value(d.key, at_ms)
    }
}

fn bench_windows(c: &mut Criterion) {
    let draws = stream(7);
    let mut group = c.benchmark_group("windows");
    group.throughput(Throughput::Elements(BATCH));
    for (name, agg) in [
        ("update_count", Agg::Count),
        ("update_distinct", Agg::Distinct),
        ("update_sum", Agg::Sum),
    ] {
        let store = WindowStore::new(agg, DURATION_MS, WindowLimits::default());
        let mut feed = Feed {
            draws: &draws,
            store,
            pos: 0,
            clock_ms: START_MS,
        };
        // Reach the steady state (every key seen, windows full) first.
        for _ in 0..STREAM {
            feed.step();
        }
        group.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    black_box(feed.step());
                }
            })
        });
        let stats = feed.store.stats();
        eprintln!("{name}: {stats:?}");
    }
    group.finish();
}

criterion_group!(benches, bench_windows);
criterion_main!(benches);
