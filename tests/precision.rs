//! Precision at a scale CI affords: the generator's labelled stream —
//! planted victims, mule rings and the benign look-alikes (utility payers,
//! official calls, shopkeepers, elderly family transfers, shared devices,
//! popular apps) — through the real core with the shipped rules, at the
//! density of a province's day. The full run is one command (README,
//! *Precision*): `dualwarn precision --count 1000000 --span 1d --divisions
//! tests/data/divisions-province`.

use std::path::Path;
use std::sync::Arc;

use dualwarn::cli::generate::GenOptions;
use dualwarn::cli::precision::{BENIGN, PLANTED, evaluate, render};
use dualwarn::directory::Directory;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// A province's day is a million alerts; this run keeps its density.
const COUNT: usize = 40_000;
const DAY_MS: i64 = 24 * 3600 * 1000;

#[test]
fn planted_victims_all_get_pairs_and_no_benign_class_above_half_a_percent() {
    let dir = Directory::load(&Path::new(ROOT).join("directory/directory.json")).unwrap();
    let rules = Arc::new(dualwarn::rules::load_dir(&Path::new(ROOT).join("rules")).unwrap());
    let span_ms = DAY_MS * COUNT as i64 / 1_000_000;
    let opts = GenOptions {
        seed: 11,
        count: COUNT,
        victims: COUNT / 400,
        start_ms: 1_772_416_800_000,
        lookalikes: true,
        span_ms: Some(span_ms),
        ..GenOptions::default()
    };
    let report = evaluate(&dir, rules, &opts, 500, |_| {}).unwrap();
    for line in render(&report) {
        println!("{line}");
    }
    for class in BENIGN {
        let f = &report.classes[class];
        assert!(
            f.persons > 50,
            "{class}: too few persons to judge ({})",
            f.persons
        );
        assert!(f.share() <= 0.005, "{class}: {f:?}");
    }
    for class in PLANTED {
        assert!(report.classes[class].persons > 0, "{class} planted");
    }
    assert_eq!(report.recall(), 1.0, "every planted victim gets a pair");
    assert!(
        report.precision() >= 0.95,
        "precision {}",
        report.precision()
    );
}
