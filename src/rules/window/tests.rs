use std::collections::HashSet;

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

const DURATION: i64 = 1_000;
const LATENESS: i64 = 400;
const AGGS: [Agg; 3] = [Agg::Count, Agg::Distinct, Agg::Sum];

/// Limits no property run reaches, so nothing is evicted by a cap.
fn generous() -> WindowLimits {
    WindowLimits {
        allowed_lateness_ms: LATENESS,
        max_events_per_key: 1 << 20,
        max_keys: 1 << 20,
    }
}

fn obs(key: u64, at_ms: i64, value: f64, distinct: u64) -> Observation {
    Observation {
        key,
        at_ms,
        value,
        distinct,
    }
}

/// The aggregate recomputed from scratch over the accepted observations.
fn brute(agg: Agg, duration: i64, accepted: &[Observation], key: u64, t: i64) -> f64 {
    let hits = accepted
        .iter()
        .filter(|o| o.key == key && o.at_ms > t - duration && o.at_ms <= t);
    match agg {
        Agg::Count => hits.count() as f64,
        Agg::Sum => hits.map(|o| o.value).sum(),
        Agg::Distinct => hits.map(|o| o.distinct).collect::<HashSet<_>>().len() as f64,
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// The clock moves on by `step`; the event is `back` behind it (beyond
    /// the lateness sometimes, so some are dropped).
    Add {
        key: u64,
        step: i64,
        back: i64,
        amount: u8,
        distinct: u8,
    },
    /// Query `ahead` past `watermark - lateness`; key 4 is never added.
    Query { key: u64, ahead: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4u64, 0..300i64, 0..500i64, any::<u8>(), 0..6u8)
            .prop_map(|(key, step, back, amount, distinct)| Op::Add { key, step, back, amount, distinct }),
        1 => (0..5u64, 0..LATENESS + 2 * DURATION).prop_map(|(key, ahead)| Op::Query { key, ahead }),
    ]
}

/// Replays `ops` into a store of `agg`, checking `add`'s verdicts against
/// the lateness rule and every query (plus a spread of query times at the
/// end) against brute force; with `expire_each`, `expire()` follows every add.
fn replay(agg: Agg, ops: &[Op], expire_each: bool) -> Result<(), TestCaseError> {
    let mut store = WindowStore::new(agg, DURATION, generous());
    let (mut clock, mut watermark) = (0i64, i64::MIN);
    let mut accepted = Vec::new();
    for op in ops {
        match *op {
            Op::Add {
                key,
                step,
                back,
                amount,
                distinct,
            } => {
                clock += step;
                let o = obs(key, clock - back, f64::from(amount), u64::from(distinct));
                let expected = o.at_ms >= watermark.saturating_sub(LATENESS);
                prop_assert_eq!(store.add(o), expected);
                if expected {
                    watermark = watermark.max(o.at_ms);
                    accepted.push(o);
                }
                if expire_each {
                    store.expire();
                }
            }
            Op::Query { key, ahead } => {
                let t = watermark.max(0) - LATENESS + ahead;
                prop_assert_eq!(store.value(key, t), brute(agg, DURATION, &accepted, key, t));
            }
        }
    }
    let base = watermark.max(0) - LATENESS;
    for key in 0..5 {
        for t in (base..base + 2 * DURATION).step_by(97) {
            prop_assert_eq!(store.value(key, t), brute(agg, DURATION, &accepted, key, t));
        }
    }
    prop_assert_eq!(
        store.stats().dropped_late as usize,
        ops.iter().filter(|o| matches!(o, Op::Add { .. })).count() - accepted.len()
    );
    Ok(())
}

proptest! {
    #[test]
    fn every_agg_equals_brute_force_over_accepted_events(ops in prop::collection::vec(op(), 1..200)) {
        for agg in AGGS {
            replay(agg, &ops, false)?;
        }
    }

    #[test]
    fn expiring_after_every_add_never_changes_an_answer(ops in prop::collection::vec(op(), 1..200)) {
        for agg in AGGS {
            replay(agg, &ops, true)?;
            let mut lazy = WindowStore::new(agg, DURATION, generous());
            let mut eager = WindowStore::new(agg, DURATION, generous());
            let mut clock = 0;
            for op in &ops {
                if let Op::Add { key, step, back, amount, distinct } = *op {
                    clock += step;
                    let o = obs(key, clock - back, f64::from(amount), u64::from(distinct));
                    prop_assert_eq!(lazy.add(o), eager.add(o));
                    eager.expire();
                }
                if let Op::Query { key, ahead } = *op {
                    let t = clock - LATENESS + ahead;
                    prop_assert_eq!(lazy.value(key, t), eager.value(key, t));
                }
            }
            prop_assert!(eager.stats().events <= lazy.stats().events);
        }
    }
}

#[test]
fn late_event_beyond_lateness_is_dropped_and_counted() {
    let limits = WindowLimits {
        allowed_lateness_ms: 100,
        ..WindowLimits::default()
    };
    let mut w = WindowStore::new(Agg::Count, 10_000, limits);
    assert!(w.add(obs(1, 1_000, 0.0, 0)));
    assert!(!w.add(obs(1, 899, 0.0, 0)));
    assert!(
        w.add(obs(1, 900, 0.0, 0)),
        "exactly at the lateness bound is accepted"
    );
    assert_eq!(w.value(1, 1_000), 2.0);
    assert_eq!(w.stats().dropped_late, 1);
}

#[test]
fn window_excludes_its_start_and_includes_its_end() {
    let mut w = WindowStore::new(Agg::Count, 100, WindowLimits::default());
    for at in [900, 901, 1_000, 1_001] {
        assert!(w.add(obs(7, at, 0.0, 0)));
    }
    assert_eq!(w.value(7, 1_000), 2.0);
}

#[test]
fn unknown_key_reads_zero() {
    let mut w = WindowStore::new(Agg::Sum, 100, WindowLimits::default());
    w.add(obs(1, 10, 5.0, 0));
    assert_eq!(w.value(2, 10), 0.0);
}

#[test]
fn distinct_counts_each_value_once_and_sum_adds_amounts() {
    let mut d = WindowStore::new(Agg::Distinct, 1_000, WindowLimits::default());
    let mut s = WindowStore::new(Agg::Sum, 1_000, WindowLimits::default());
    for (i, v) in ["a", "b", "a", "c", "b"].into_iter().enumerate() {
        let o = obs(1, i as i64, 10.0 * (i as f64 + 1.0), hash_str(v));
        d.add(o);
        s.add(o);
    }
    assert_eq!(d.value(1, 10), 3.0);
    assert_eq!(s.value(1, 10), 150.0);
    assert_eq!(s.value(1, 1), 30.0);
}

#[test]
fn per_key_cap_evicts_oldest_and_counts() {
    let limits = WindowLimits {
        max_events_per_key: 3,
        ..WindowLimits::default()
    };
    let mut w = WindowStore::new(Agg::Sum, 10_000, limits);
    for at in [10, 20, 30, 40, 50] {
        assert!(w.add(obs(1, at, at as f64, 0)));
    }
    assert_eq!(w.value(1, 50), 120.0, "the three newest remain");
    let stats = w.stats();
    assert_eq!((stats.evicted_cap, stats.events), (2, 3));
}

#[test]
fn event_older_than_a_full_key_is_evicted_at_once() {
    let limits = WindowLimits {
        max_events_per_key: 2,
        ..WindowLimits::default()
    };
    let mut w = WindowStore::new(Agg::Sum, 10_000, limits);
    w.add(obs(1, 20, 20.0, 0));
    w.add(obs(1, 30, 30.0, 0));
    assert!(w.add(obs(1, 10, 10.0, 0)), "within lateness, so accepted");
    assert_eq!(w.value(1, 30), 50.0);
    assert_eq!(w.stats().evicted_cap, 1);
}

#[test]
fn key_cap_evicts_the_key_whose_newest_event_is_oldest() {
    let limits = WindowLimits {
        max_keys: 3,
        ..WindowLimits::default()
    };
    let mut w = WindowStore::new(Agg::Count, 10_000, limits);
    let (a, b, c, d) = (1, 2, 3, 4);
    for (key, at) in [(a, 100), (b, 110), (c, 120), (b, 130), (a, 140), (d, 150)] {
        assert!(w.add(obs(key, at, 0.0, 0)));
    }
    assert_eq!(
        w.value(c, 150),
        0.0,
        "c's newest event (120) was the oldest"
    );
    assert_eq!(
        (w.value(a, 150), w.value(b, 150), w.value(d, 150)),
        (2.0, 2.0, 1.0)
    );
    let stats = w.stats();
    assert_eq!((stats.keys, stats.evicted_keys), (3, 1));
}

#[test]
fn key_cap_frees_expired_keys_before_evicting_live_ones() {
    let limits = WindowLimits {
        allowed_lateness_ms: 0,
        max_events_per_key: 16,
        max_keys: 2,
    };
    let mut w = WindowStore::new(Agg::Count, 100, limits);
    w.add(obs(1, 0, 0.0, 0));
    w.add(obs(2, 550, 0.0, 0));
    w.add(obs(3, 600, 0.0, 0));
    let stats = w.stats();
    assert_eq!((stats.keys, stats.evicted_keys), (2, 0));
    assert_eq!((w.value(2, 600), w.value(3, 600)), (1.0, 1.0));
}

#[test]
fn events_stay_within_key_and_event_caps_under_a_long_random_stream() {
    let limits = WindowLimits {
        allowed_lateness_ms: 1_000,
        max_events_per_key: 20,
        max_keys: 50,
    };
    let mut w = WindowStore::new(Agg::Distinct, 3_600_000, limits);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for i in 0..100_000i64 {
        let at = i * 10 - rng.random_range(0..1_500);
        // Half the events on 5 hot keys (they fill up), half spread thin.
        let key = if rng.random_bool(0.5) {
            rng.random_range(0..5)
        } else {
            rng.random_range(0..500)
        };
        w.add(obs(key, at, 0.0, rng.random_range(0..8)));
        if i % 97 == 0 {
            let stats = w.stats();
            assert!(stats.keys <= 50 && stats.events <= 50 * 20, "{stats:?}");
        }
    }
    let stats = w.stats();
    assert!(
        stats.evicted_keys > 0 && stats.evicted_cap > 0 && stats.dropped_late > 0,
        "{stats:?}"
    );
}

#[test]
fn expire_drops_unreachable_events_and_empty_keys() {
    let limits = WindowLimits {
        allowed_lateness_ms: 50,
        ..WindowLimits::default()
    };
    let mut w = WindowStore::new(Agg::Count, 100, limits);
    w.add(obs(1, 0, 0.0, 0));
    w.add(obs(2, 1_000, 0.0, 0));
    assert_eq!(w.stats().keys, 2, "key 1 is untouched by the add of key 2");
    w.expire();
    let stats = w.stats();
    assert_eq!((stats.keys, stats.events), (1, 1));
    assert_eq!(w.value(2, 1_000), 1.0);
}

#[test]
fn add_sweeps_idle_keys_without_an_explicit_expire() {
    let limits = WindowLimits {
        allowed_lateness_ms: 0,
        ..WindowLimits::default()
    };
    let mut w = WindowStore::new(Agg::Count, 10, limits);
    for key in 0..10_000u64 {
        w.add(obs(key, key as i64 * 100, 0.0, 0));
    }
    let keys = w.stats().keys;
    assert!(
        keys <= 2 * SWEEP_EVERY_ADDS as usize,
        "{keys} of 10000 keys left"
    );
}

#[test]
fn long_stream_with_amortized_sweeps_matches_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for agg in AGGS {
        let mut w = WindowStore::new(agg, DURATION, generous());
        let mut accepted = Vec::new();
        for i in 0..20_000i64 {
            let o = obs(
                rng.random_range(0..300),
                i * 3 - rng.random_range(0..500),
                f64::from(rng.random_range(0..100u8)),
                rng.random_range(0..5),
            );
            if w.add(o) {
                accepted.push(o);
            }
            if i % 500 == 499 {
                let t = i * 3 - LATENESS + rng.random_range(0..2 * DURATION);
                let key = rng.random_range(0..300);
                assert_eq!(
                    w.value(key, t),
                    brute(agg, DURATION, &accepted, key, t),
                    "{agg:?} at {i}"
                );
            }
        }
        assert!(
            w.stats().events < accepted.len() / 5,
            "sweeps keep only recent events"
        );
    }
}

#[test]
fn steady_stream_memory_levels_off_as_buffers_are_reused() {
    // 2,000 keys that keep emptying and coming back: their buffers are
    // recycled, so memory grows only until each has reached its peak size.
    let mut w = WindowStore::new(Agg::Distinct, 1_000, generous());
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut sizes = Vec::new();
    for round in 0..20i64 {
        for i in round * 100_000..(round + 1) * 100_000 {
            w.add(obs(
                rng.random_range(0..2_000),
                i,
                0.0,
                rng.random_range(0..8),
            ));
        }
        sizes.push(w.stats().approx_bytes);
    }
    let (early, late) = (sizes[5] - sizes[0], sizes[19] - sizes[14]);
    assert!(late * 20 < early, "{sizes:?}");
}

#[test]
fn hash_str_is_fnv1a_and_stable() {
    assert_eq!(hash_str(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(hash_str("a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(hash_str("foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn agg_reads_and_writes_snake_case() {
    assert_eq!(
        serde_json::to_string(&Agg::Distinct).ok().as_deref(),
        Some("\"distinct\"")
    );
    assert_eq!(serde_json::from_str::<Agg>("\"sum\"").ok(), Some(Agg::Sum));
}

#[test]
fn limits_default_to_the_named_constants() {
    let d = WindowLimits::default();
    assert_eq!(d.allowed_lateness_ms, DEFAULT_ALLOWED_LATENESS_MS);
    assert_eq!(d.max_events_per_key, DEFAULT_MAX_EVENTS_PER_KEY);
    assert_eq!(d.max_keys, DEFAULT_MAX_KEYS);
}
