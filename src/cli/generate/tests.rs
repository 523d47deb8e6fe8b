use std::collections::{HashMap, HashSet};
use std::path::Path;

use std::sync::Arc;

use super::*;
use crate::enrich::enrich;
use crate::graph::{GraphLimits, LinkGraph};
use crate::normalize::{Checks, normalize};

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
    // The stream starts 30 days before NOW_MS.
    let checks = Checks {
        max_age_ms: 60 * 24 * 3600 * 1000,
        ..Checks::at(NOW_MS)
    };
    for _ in 0..3000 {
        let (kind, rec) = stream.next_record();
        let checked = normalize(&rec.to_proto(), checks).and_then(|a| enrich(a, &dir));
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

fn lookalike_opts(seed: u64, count: usize, span_ms: i64) -> GenOptions {
    GenOptions {
        lookalikes: true,
        span_ms: Some(span_ms),
        ..opts(seed, count)
    }
}

fn labelled(dir: &Directory, rules: &RuleSet, o: &GenOptions) -> (Vec<AlertRecord>, Labels) {
    let mut out = Vec::new();
    let (_, labels) = generate_labelled(dir, rules, o, &mut out).unwrap();
    let records = std::str::from_utf8(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (records, labels)
}

#[test]
fn lookalike_stream_is_deterministic_fits_its_span_and_labels_every_subject() {
    let (dir, rules) = fixtures();
    let span = 3_600_000;
    let o = lookalike_opts(3, 3_000, span);
    let (records, labels) = labelled(&dir, &rules, &o);
    assert_eq!(records.len(), 3_000);
    let again = labelled(&dir, &rules, &o).0;
    assert_eq!(
        serde_json::to_string(&records).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
    let first = records.first().unwrap().occurred_at_ms;
    let last = records.last().unwrap().occurred_at_ms;
    assert!(
        first >= START_MS && last - START_MS <= span * 11 / 10,
        "{first} {last}"
    );
    for r in &records {
        // Malformed records may have broken the phone on purpose.
        if r.subject.phone.len() == 11 {
            assert!(labels.contains_key(&r.subject.phone), "{}", r.subject.phone);
        }
    }
    let classes: HashSet<&str> = records
        .iter()
        .filter_map(|r| labels.get(&r.subject.phone).copied())
        .collect();
    let every = crate::cli::precision::PLANTED
        .iter()
        .chain(crate::cli::precision::BENIGN.iter());
    for &c in every {
        assert!(classes.contains(c), "no {c} in {classes:?}");
    }
}

#[test]
fn utility_payers_are_many_and_pay_small_sums_to_few_accounts() {
    let (dir, rules) = fixtures();
    let (records, labels) = labelled(&dir, &rules, &lookalike_opts(5, 4_000, 3_600_000));
    let utility: Vec<&AlertRecord> = records
        .iter()
        .filter(|r| labels.get(&r.subject.phone) == Some(&"utility"))
        .collect();
    let accounts: HashSet<&str> = utility
        .iter()
        .map(|r| r.counterparts[0].value.as_str())
        .collect();
    let payers: HashSet<&str> = utility.iter().map(|r| r.subject.phone.as_str()).collect();
    assert!(accounts.len() <= 40);
    assert!(
        payers.len() > 10 * accounts.len(),
        "{} payers",
        payers.len()
    );
    assert!(utility.iter().all(|r| r.amount_fen <= 300_000));
    let listed: HashSet<&str> = rules
        .list_id("allow_collection_accounts")
        .map(|id| rules.list_values.values_of(id).collect())
        .unwrap_or_default();
    assert!(
        accounts.iter().any(|a| listed.contains(a)),
        "some are listed"
    );
    assert!(accounts.iter().any(|a| !listed.contains(a)), "some are not");
}

/// Two seeds never share an id: a second producer's stream is never taken
/// for re-sends of the first.
#[test]
fn ids_are_unique_per_seed() {
    let (dir, rules) = fixtures();
    let ids = |seed| {
        let mut stream = Stream::new(&dir, &rules, &opts(seed, 500)).unwrap();
        (0..500)
            .map(|_| {
                let (_, r) = stream.next_record();
                (r.source, r.source_id)
            })
            // Malformed records may carry an empty id on purpose.
            .filter(|(_, id)| !id.is_empty())
            .collect::<HashSet<_>>()
    };
    let (a, b) = (ids(7), ids(8));
    assert!(a.len() > 400);
    assert_eq!(a.intersection(&b).count(), 0);
}
