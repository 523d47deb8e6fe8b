//! Rule evaluation at 10, 100 and 1,000 rules, and compiling 1,000 rules,
//! on a seeded generator of realistic rules (source kind, a flagged list,
//! amounts, time of day, shared windows) and a seeded alert stream.
//!
//! `cargo bench --bench rules`

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dualwarn::graph::{GraphLimits, LinkGraph};
use dualwarn::model::Alert;
use dualwarn::rules::source::{SourceFile, read_dir};
use dualwarn::rules::window::WindowLimits;
use dualwarn::rules::{Matcher, RuleSet, compile_set};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
#[path = "support/shaped.rs"]
mod shaped;

const ALERTS: usize = 2000;
const NOW_MS: i64 = 1_795_363_200_000;
/// Extra generated lists, each of this many values.
const LIST_SIZE: usize = 2000;

/// The bundled lists plus `n_rules / 10` generated ones, and `n_rules` rules.
fn rule_files(n_rules: usize, seed: u64) -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut files: Vec<SourceFile> = read_dir(&root)
        .expect("bundled rules")
        .into_iter()
        .filter(|f| f.path.starts_with("lists/") || f.path == "fraud_types.toml")
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let extra = (n_rules / 10).max(1);
    for l in 0..extra {
        let values: Vec<String> = (0..LIST_SIZE)
            .map(|_| format!("6{:018}", rng.random_range(0..10u64.pow(18))))
            .collect();
        files.push(SourceFile {
            path: format!("lists/gen_{l:04}.txt"),
            text: values.join("\n"),
        });
    }
    let real = [
        "flagged_phones",
        "flagged_cards",
        "flagged_apps",
        "flagged_urls",
    ];
    let kinds = ["phone", "bank_card", "app", "url"];
    let sources = ["telecom", "bank", "national_push", "telecom"];
    let mut text = String::new();
    for i in 0..n_rules {
        let k = rng.random_range(0..4);
        let list = if rng.random_bool(0.3) {
            real[k].to_string()
        } else {
            format!("gen_{:04}", rng.random_range(0..extra))
        };
        let amount = rng.random_range(0..20) * 500;
        let window = if i % 10 == 0 {
            format!(" && window.w{} >= {}", i % 50, rng.random_range(2..5))
        } else {
            String::new()
        };
        text.push_str(&format!(
            "[[rule]]\nid = \"gen-{i:05}\"\nname = \"generated\"\ndescription = \"generated rule {i}\"\nlevel = \"{}\"\n\
             condition = 'source_kind == \"{}\" && counterpart.{} in @{list} && amount >= {amount} && hour >= {}{window}'\n",
            ["low", "medium", "high"][i % 3],
            sources[k],
            kinds[k],
            rng.random_range(0..6),
        ));
        if i % 10 == 0 {
            text.push_str(&format!(
                "[[rule.window]]\nname = \"w{}\"\nkey = \"subject.phone\"\nagg = \"count\"\nduration = \"{}h\"\nwhen = 'counterpart.{} in @{}'\n",
                i % 50,
                1 + (i % 50) % 5,
                kinds[(i / 10) % 4],
                real[(i / 10) % 4]
            ));
        }
    }
    files.push(SourceFile {
        path: "generated.toml".into(),
        text,
    });
    files
}

fn alerts() -> Vec<Alert> {
    common::generated_alerts(11, ALERTS, NOW_MS - 3_600_000 * 4, NOW_MS)
}

fn bench_eval(c: &mut Criterion) {
    let alerts = alerts();
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(alerts.len() as u64));
    for n in [10, 100, 1000] {
        let set: Arc<RuleSet> =
            Arc::new(compile_set(&rule_files(n, 5)).expect("generated rules compile"));
        let mut graph = LinkGraph::new(GraphLimits::default());
        graph.set_listed(set.flagged_values());
        let graph = graph;
        g.bench_function(format!("eval_{n}_rules"), |b| {
            b.iter_batched(
                || Matcher::new(set.clone(), WindowLimits::default(), 8),
                |mut m| {
                    let mut hits = 0;
                    for a in &alerts {
                        hits += m.match_alert(a, &graph, NOW_MS).len();
                    }
                    black_box(hits)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

/// The amount-threshold shape of issue 13, indexed and (as the control,
/// in the same run) with every rule evaluated.
fn bench_shaped(c: &mut Criterion) {
    let alerts = shaped::alerts(13, ALERTS * 5, NOW_MS);
    let set: Arc<RuleSet> =
        Arc::new(compile_set(&shaped::rule_files(1000, 7)).expect("shaped rules compile"));
    let graph = LinkGraph::new(GraphLimits::default());
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(alerts.len() as u64));
    for indexed in [true, false] {
        let name = if indexed {
            "eval_1000_rules_amount_shape"
        } else {
            "eval_1000_rules_amount_shape_unindexed"
        };
        g.bench_function(name, |b| {
            b.iter_batched(
                || Matcher::new(set.clone(), WindowLimits::default(), 8),
                |mut m| {
                    let mut hits = 0;
                    for a in &alerts {
                        hits += if indexed {
                            m.match_alert(a, &graph, NOW_MS).len()
                        } else {
                            m.match_alert_unindexed(a, &graph, NOW_MS).len()
                        };
                    }
                    black_box(hits)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn bench_reload(c: &mut Criterion) {
    let files = rule_files(1000, 5);
    let mut g = c.benchmark_group("rules");
    g.sample_size(10);
    g.bench_function("reload_1000_rules", |b| {
        b.iter(|| black_box(compile_set(black_box(&files)).expect("compile")))
    });
    g.finish();
}

criterion_group!(benches, bench_eval, bench_shaped, bench_reload);
criterion_main!(benches);
