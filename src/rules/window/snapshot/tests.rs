use proptest::prelude::*;

use super::super::codec::Decoder;
use super::super::{Agg, Observation, WindowLimits, WindowStore};
use super::*;

const DURATION: i64 = 1_000;
const LATENESS: i64 = 400;
const AGGS: [Agg; 3] = [Agg::Count, Agg::Distinct, Agg::Sum];

fn limits(max_events_per_key: usize, max_keys: usize) -> WindowLimits {
    WindowLimits {
        allowed_lateness_ms: LATENESS,
        max_events_per_key,
        max_keys,
    }
}

/// The clock moves on by `step`; the event is `back` behind it (beyond the
/// lateness sometimes). Amounts have fractions so that a sum's order shows.
fn obs() -> impl Strategy<Value = (u64, i64, i64, u16, u8)> {
    (0..6u64, 0..300i64, 0..600i64, any::<u16>(), 0..8u8)
}

fn feed(store: &mut WindowStore, clock: &mut i64, ops: &[(u64, i64, i64, u16, u8)]) -> Vec<bool> {
    ops.iter()
        .map(|&(key, step, back, amount, distinct)| {
            *clock += step;
            store.add(Observation {
                key,
                at_ms: *clock - back,
                value: f64::from(amount) / 7.0,
                distinct: u64::from(distinct),
            })
        })
        .collect()
}

/// The store written and read back in memory.
fn round_trip(store: &WindowStore) -> WindowStore {
    let mut bytes = Vec::new();
    store.encode(&mut bytes, &mut Vec::new()).unwrap();
    let mut r = Decoder::new(&bytes[..]);
    let back = WindowStore::decode(&mut r, store.limits, bytes.len() as u64).unwrap();
    assert_eq!(r.taken, bytes.len() as u64, "the whole store is read");
    back
}

/// Every answer an exact query can give, from `watermark - lateness` on.
fn assert_same_answers(a: &mut WindowStore, b: &mut WindowStore) -> Result<(), TestCaseError> {
    let base = a.watermark_ms.max(0) - LATENESS;
    for key in 0..7 {
        for t in (base..base + 2 * DURATION + LATENESS).step_by(13) {
            let (x, y) = (a.value(key, t), b.value(key, t));
            prop_assert!(x.to_bits() == y.to_bits(), "key {key} at {t}: {x} vs {y}");
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn a_loaded_store_answers_and_goes_on_like_the_saved_one(
        before in prop::collection::vec(obs(), 0..300),
        after in prop::collection::vec(obs(), 0..200),
    ) {
        for agg in AGGS {
            let mut saved = WindowStore::new(agg, DURATION, limits(1 << 20, 1 << 20));
            let mut clock = 0;
            feed(&mut saved, &mut clock, &before);
            let mut loaded = round_trip(&saved);
            prop_assert_eq!(loaded.watermark_ms, saved.watermark_ms);
            let (s, l) = (saved.stats(), loaded.stats());
            prop_assert_eq!((l.dropped_late, l.evicted_cap, l.evicted_keys), (s.dropped_late, s.evicted_cap, s.evicted_keys));
            prop_assert!(l.events <= s.events && l.keys <= s.keys);
            assert_same_answers(&mut saved, &mut loaded)?;
            // Same verdicts on what comes next, and still the same answers.
            let mut c2 = clock;
            prop_assert_eq!(feed(&mut saved, &mut clock, &after), feed(&mut loaded, &mut c2, &after));
            assert_same_answers(&mut saved, &mut loaded)?;
        }
    }

    #[test]
    fn a_loaded_store_keeps_what_the_caps_left(ops in prop::collection::vec(obs(), 0..400)) {
        for agg in AGGS {
            let mut saved = WindowStore::new(agg, DURATION, limits(3, 4));
            feed(&mut saved, &mut 0, &ops);
            let mut loaded = round_trip(&saved);
            assert_same_answers(&mut saved, &mut loaded)?;
        }
    }
}

#[test]
fn expired_events_and_emptied_keys_are_not_written() {
    let mut w = WindowStore::new(Agg::Count, 100, limits(16, 16));
    for (key, at) in [(1, 0), (2, 10), (2, 900), (3, 950)] {
        w.add(Observation {
            key,
            at_ms: at,
            value: 0.0,
            distinct: 0,
        });
    }
    // Horizon: 950 - 400 - 100 = 450.
    let mut back = round_trip(&w);
    assert_eq!((back.key_count(), back.event_count()), (2, 2));
    assert_eq!((back.value(2, 950), back.value(3, 950)), (1.0, 1.0));
}

fn sample() -> Vec<(String, WindowStore)> {
    AGGS.iter()
        .enumerate()
        .map(|(i, &agg)| {
            let mut w = WindowStore::new(agg, DURATION, limits(64, 64));
            feed(
                &mut w,
                &mut 0,
                &(0..200u64)
                    .map(|j| (j % 5, 7, (j % 9) as i64, j as u16, (j % 4) as u8))
                    .collect::<Vec<_>>(),
            );
            (format!("window-{i}|{agg:?}"), w)
        })
        .collect()
}

fn header() -> SnapshotHeader {
    SnapshotHeader {
        at: WindowCheckpoint {
            alert_seq: 42,
            import_seq: 3,
        },
        limits: limits(64, 64),
        utc_offset_hours: 8,
    }
}

fn save_sample(path: &Path) -> Written {
    let stores = sample();
    let refs: Vec<(&str, &WindowStore)> = stores.iter().map(|(i, s)| (i.as_str(), s)).collect();
    save(path, &header(), &refs).unwrap()
}

#[test]
fn file_round_trip_keeps_identities_header_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("windows.snap");
    let written = save_sample(&path);
    assert_eq!(written.bytes, std::fs::metadata(&path).unwrap().len());
    assert_eq!(written.windows, 3);
    assert!(!path.with_extension("tmp").exists());
    let back = load(&path).unwrap();
    assert_eq!(back.header, header());
    let mut original = sample();
    assert_eq!(back.stores.len(), 3);
    for ((id, mut loaded), (oid, saved)) in back.stores.into_iter().zip(original.iter_mut()) {
        assert_eq!(&id, oid);
        assert_eq!(loaded.agg(), saved.agg());
        assert_same_answers(saved, &mut loaded).unwrap();
    }
}

#[test]
fn damaged_truncated_or_foreign_files_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("windows.snap");
    save_sample(&path);
    let good = std::fs::read(&path).unwrap();
    type Damage = fn(&mut Vec<u8>);
    let cases: [(&str, Damage, &str); 5] = [
        (
            "flipped byte",
            |b| {
                let n = b.len() - 40;
                b[n] ^= 0x10;
            },
            "",
        ),
        ("truncated", |b| b.truncate(b.len() / 2), "truncated"),
        (
            "no checksum",
            |b| b.truncate(b.len() - 4),
            "checksum is missing",
        ),
        (
            "trailing bytes",
            |b| b.extend_from_slice(&[0; 9]),
            "after the last window",
        ),
        ("other version", |b| b[7] = 2, "magic differs"),
    ];
    for (what, damage, says) in cases {
        let mut bytes = good.clone();
        damage(&mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        match load(&path) {
            Err(WindowSnapshotError::Invalid { why, .. }) => {
                assert!(why.contains(says), "{what}: {why}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    std::fs::write(&path, &good[..3]).unwrap();
    assert!(matches!(
        load(&path),
        Err(WindowSnapshotError::Invalid { .. })
    ));
}

#[test]
fn a_save_that_fails_leaves_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("windows.snap");
    save_sample(&path);
    let before = std::fs::read(&path).unwrap();
    // The temporary file's place is taken by a directory: the save fails.
    std::fs::create_dir(path.with_extension("tmp")).unwrap();
    assert!(matches!(
        save(&path, &header(), &[]),
        Err(WindowSnapshotError::Io { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn varints_round_trip_at_every_length() {
    let values = [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX - 1, u64::MAX];
    let mut bytes = Vec::new();
    for v in values {
        super::super::codec::put_varint(&mut bytes, v);
    }
    // Read from a buffer that runs out, and from one that does not.
    for tail in [0usize, 16] {
        let mut padded = bytes.clone();
        padded.extend(std::iter::repeat_n(0, tail));
        let mut r = Decoder::new(&padded[..]);
        for v in values {
            assert_eq!(r.varint().unwrap(), v);
        }
    }
    let mut r = Decoder::new(&[0xff; 11][..]);
    assert!(r.varint().is_err(), "eleven bytes are refused");
}
