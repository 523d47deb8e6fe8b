//! What the benches share: a seeded alert stream (noise, planted victims,
//! repeats) from the bundled directory and rules, normalized as ingest would.

use std::path::Path;

use dualwarn::cli::generate::{GenOptions, generate};
use dualwarn::cli::record::AlertRecord;
use dualwarn::directory::Directory;
use dualwarn::model::Alert;
use dualwarn::normalize::{Checks, normalize};

/// `count` generated alerts from `seed`, starting at `start_ms`, normalized
/// at `now_ms`; a fifth of them repeat a person.
pub fn generated_alerts(seed: u64, count: usize, start_ms: i64, now_ms: i64) -> Vec<Alert> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Directory::load(&root.join("directory/directory.json")).expect("directory");
    let rules = dualwarn::rules::load_dir(&root.join("rules")).expect("rules");
    let opts = GenOptions {
        seed,
        count,
        victims: count / 20,
        duplicate_rate: 0.2,
        resend_rate: 0.0,
        malformed_rate: 0.0,
        start_ms,
        jurisdiction: String::new(),
        ..GenOptions::default()
    };
    let mut out = Vec::new();
    generate(&dir, &rules, &opts, &mut out).expect("generate");
    out.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice::<AlertRecord>(l).ok())
        .filter_map(|r| normalize(&r.to_proto(), Checks::at(now_ms)).ok())
        .collect()
}
