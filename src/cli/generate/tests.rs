use std::collections::{HashMap, HashSet};
use std::path::Path;

use std::sync::Arc;

use super::*;
use crate::enrich::enrich;
use crate::graph::{GraphLimits, LinkGraph};
use crate::normalize::normalize;

/// 2025-01-01T00:00:00Z.
const START_MS: i64 = 1_735_689_600_000;
/// A clock well after any generated event.
const NOW_MS: i64 = START_MS + 30 * 24 * 3600 * 1000;

/// The directory, and the core rules with the lists (not every analyst
/// rule: the generator plants the core patterns; other rules may fire on
/// noise by design).
fn fixtures() -> (Directory, Arc<RuleSet>) {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = Directory::load(Path::new(&format!("{root}/directory/directory.json"))).unwrap();
    let files: Vec<_> = crate::rules::source::read_dir(Path::new(&format!("{root}/rules")))
        .unwrap()
        .into_iter()
        .filter(|f| {
            f.path == "core.toml" || f.path == "fraud_types.toml" || f.path.starts_with("lists/")
        })
        .collect();
    (dir, Arc::new(crate::rules::compile_set(&files).unwrap()))
}

fn evaluate(rules: &Arc<RuleSet>, alert: &crate::model::Alert) -> Vec<crate::rules::RuleHit> {
    let mut m = crate::rules::Matcher::new(
        rules.clone(),
        crate::rules::window::WindowLimits::default(),
        8,
    );
    let mut g = LinkGraph::new(GraphLimits::default());
    g.set_listed(rules.flagged_values());
    let g = g;
    m.match_alert(alert, &g, NOW_MS)
}

fn opts(seed: u64, count: usize) -> GenOptions {
    GenOptions {
        seed,
        count,
        victims: count / 10,
        duplicate_rate: 0.2,
        resend_rate: 0.02,
        malformed_rate: 0.05,
        start_ms: START_MS,
        jurisdiction: String::new(),
        ..GenOptions::default()
    }
}

fn bytes(dir: &Directory, rules: &RuleSet, o: &GenOptions) -> (Vec<u8>, GenSummary) {
    let mut out = Vec::new();
    let summary = generate(dir, rules, o, &mut out).unwrap();
    (out, summary)
}

#[test]
fn same_seed_gives_identical_bytes_of_parseable_lines() {
    let (dir, rules) = fixtures();
    let (a, summary) = bytes(&dir, &rules, &opts(7, 400));
    assert_eq!(a, bytes(&dir, &rules, &opts(7, 400)).0);
    let lines: Vec<&str> = std::str::from_utf8(&a).unwrap().lines().collect();
    assert_eq!(lines.len(), summary.written);
    for line in lines {
        serde_json::from_str::<AlertRecord>(line).unwrap();
    }
}

#[test]
fn different_seed_gives_a_different_stream() {
    let (dir, rules) = fixtures();
    assert_ne!(
        bytes(&dir, &rules, &opts(1, 200)).0,
        bytes(&dir, &rules, &opts(2, 200)).0
    );
}

#[test]
fn summary_counts_add_up_to_count() {
    let (dir, rules) = fixtures();
    for count in [0, 1, 2, 9, 1000] {
        let mut o = opts(3, count);
        o.resend_rate = 0.5;
        let s = bytes(&dir, &rules, &o).1;
        assert_eq!(s.written, count);
        assert_eq!(
            s.noise + s.planted + s.duplicates + s.resends + s.malformed,
            count,
            "{s:?}"
        );
    }
    let s = bytes(&dir, &rules, &opts(3, 1000)).1;
    assert_eq!(
        (s.planted, s.duplicates, s.resends, s.malformed),
        (100, 25, 20, 50)
    );
}

/// Every record passes normalize + enrich unless malformed; planted and
/// repeat warnings hit a rule, noise hits none; re-sends copy an earlier record.
#[test]
fn records_behave_on_the_server_as_their_kind_says() {
    let (dir, rules) = fixtures();
    let mut stream = Stream::new(&dir, &rules, &opts(11, 3000)).unwrap();
    let mut seen: HashMap<(String, String), AlertRecord> = HashMap::new();
    let (mut faults, mut hit_rules) = (HashSet::new(), HashSet::new());
    for _ in 0..3000 {
        let (kind, rec) = stream.next_record();
        let checked = normalize(&rec.to_proto(), NOW_MS).and_then(|a| enrich(a, &dir));
        if kind == Kind::Malformed {
            faults.insert(checked.expect_err("malformed record accepted").field);
            continue;
        }
        let hits = evaluate(&rules, &checked.unwrap().alert);
        hit_rules.extend(hits.iter().map(|h| h.rule_id.clone()));
        let key = (rec.source.clone(), rec.source_id.clone());
        match kind {
            Kind::Noise => assert!(hits.is_empty(), "noise hit {hits:?}: {rec:?}"),
            Kind::Resend => assert_eq!(seen.get(&key), Some(&rec)),
            _ => assert!(!hits.is_empty(), "{kind:?} hit nothing: {rec:?}"),
        }
        assert!(
            kind == Kind::Resend || seen.insert(key, rec).is_none(),
            "source_id reused"
        );
    }
    assert!(faults.len() >= 5, "faults: {faults:?}");
    assert_eq!(
        hit_rules.len(),
        rules.rules.len(),
        "rules hit: {hit_rules:?}"
    );
}

#[test]
fn repeat_warnings_are_for_planted_people() {
    let (dir, rules) = fixtures();
    let mut stream = Stream::new(&dir, &rules, &opts(5, 2000)).unwrap();
    let mut planted = HashSet::new();
    for _ in 0..2000 {
        let (kind, rec) = stream.next_record();
        let person = (rec.subject.phone.clone(), rec.subject.id_hash.clone());
        match kind {
            Kind::Planted => assert!(planted.insert(person)),
            Kind::Duplicate => assert!(planted.contains(&person)),
            _ => {}
        }
    }
}

#[test]
fn jurisdiction_limits_villages_and_an_empty_one_is_an_error() {
    let (dir, rules) = fixtures();
    let mut o = opts(9, 300);
    o.jurisdiction = dir.villages()[0].code.to_string()[..6].to_string();
    let (out, _) = bytes(&dir, &rules, &o);
    for line in std::str::from_utf8(&out).unwrap().lines() {
        let rec: AlertRecord = serde_json::from_str(line).unwrap();
        let code = &rec.subject.division_code;
        assert!(
            code.starts_with(&o.jurisdiction) || code.contains("ab"),
            "{code}"
        );
    }
    o.jurisdiction = "119999".into();
    assert!(matches!(
        generate(&dir, &rules, &o, &mut Vec::new()),
        Err(GenError::NoVillages { .. })
    ));
}
