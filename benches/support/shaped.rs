//! The rule shape of issue 13 that the old index handled badly: 1,000 rules
//! of 2–4 `&&`ed tests. About 30 % test a counterpart in a list plus 1–3
//! cheap tests; the rest test `amount >= T` (T log-uniform over 50,000 –
//! 1,000,000 yuan) plus 1–3 equality tests (source kind, a counterpart kind
//! present, fraud-type hint, source, an attribute). The stream: about 2 %
//! of alerts carry a listed counterpart, 40 % carry an amount.

use dualwarn::model::Alert;
use dualwarn::normalize::{Checks, normalize};
use dualwarn::proto;
use dualwarn::rules::source::SourceFile;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SOURCES: [&str; 5] = ["telecom", "bank", "national_push", "police_report", "tip"];
const KINDS: [&str; 4] = ["phone", "bank_card", "app", "url"];
const HINTS: [&str; 8] = [
    "刷单返利",
    "虚假网络投资理财",
    "虚假贷款",
    "冒充电商物流客服",
    "冒充公检法",
    "虚假征信",
    "网络游戏产品虚假交易",
    "冒充领导熟人",
];
const FEEDS: [&str; 4] = ["gz-telecom", "gz-bank-ccb", "national-push", "gz-110"];
/// Values of each generated list.
const LIST_VALUES: usize = 500;
/// Generated lists, one per counterpart kind.
const LISTS: usize = 4;

fn list_value(kind: usize, i: usize) -> String {
    match kind {
        0 => format!("170{i:08}"),
        1 => format!("62220000{i:08}"),
        2 => format!("com.fraud.app{i}"),
        _ => format!("http://fraud{i}.example.cn"),
    }
}

/// The rule files: `n` rules of the shape, and their lists.
pub fn rule_files(n: usize, seed: u64) -> Vec<SourceFile> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut files: Vec<SourceFile> = (0..LISTS)
        .map(|k| SourceFile {
            path: format!("lists/shape_{}.txt", KINDS[k]),
            text: (0..LIST_VALUES)
                .map(|i| list_value(k, i))
                .collect::<Vec<_>>()
                .join("\n"),
        })
        .collect();
    let mut text = String::new();
    for i in 0..n {
        let mut parts = Vec::new();
        let cheap = rng.random_range(1..=3);
        if rng.random_bool(0.3) {
            let k = rng.random_range(0..LISTS);
            parts.push(format!("counterpart.{} in @shape_{}", KINDS[k], KINDS[k]));
        } else {
            let t =
                (50_000f64.ln() + rng.random::<f64>() * (1_000_000f64.ln() - 50_000f64.ln())).exp();
            parts.push(format!("amount >= {}", t.round()));
        }
        for _ in 0..cheap {
            parts.push(match rng.random_range(0..5) {
                0 => format!("source_kind == \"{}\"", SOURCES[rng.random_range(0..5)]),
                1 => format!("has(counterpart.{})", KINDS[rng.random_range(0..4)]),
                2 => format!(
                    "fraud_type_hint == \"{}\"",
                    HINTS[rng.random_range(0..HINTS.len())]
                ),
                3 => format!("source == \"{}\"", FEEDS[rng.random_range(0..FEEDS.len())]),
                _ => format!("attr.channel == \"c{}\"", rng.random_range(0..4)),
            });
        }
        text.push_str(&format!(
            "[[rule]]\nid = \"shape-{i:05}\"\nname = \"shaped\"\ndescription = \"shaped rule {i}\"\nlevel = \"{}\"\ncondition = '{}'\n",
            ["low", "medium", "high"][i % 3],
            parts.join(" && ")
        ));
    }
    files.push(SourceFile {
        path: "shaped.toml".into(),
        text,
    });
    files
}

/// `count` alerts of the stream, normalized at `now_ms`.
pub fn alerts(seed: u64, count: usize, now_ms: i64) -> Vec<Alert> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let kinds = [
        proto::ArtefactKind::Phone,
        proto::ArtefactKind::BankCard,
        proto::ArtefactKind::App,
        proto::ArtefactKind::Url,
    ];
    (0..count)
        .map(|i| {
            let n = rng.random_range(0..3);
            let listed = rng.random_bool(0.02);
            let counterparts = (0..n.max(usize::from(listed)))
                .map(|j| {
                    let k = rng.random_range(0..4);
                    let value = if listed && j == 0 {
                        list_value(k, rng.random_range(0..LIST_VALUES))
                    } else {
                        list_value(k, LIST_VALUES + rng.random_range(0..1_000_000))
                    };
                    proto::Artefact {
                        kind: kinds[k] as i32,
                        value,
                    }
                })
                .collect();
            let amount_fen = if rng.random_bool(0.4) {
                ((100f64.ln() + rng.random::<f64>() * (2_000_000f64.ln() - 100f64.ln())).exp()
                    * 100.0) as i64
            } else {
                0
            };
            let wire = proto::Alert {
                source: FEEDS[rng.random_range(0..FEEDS.len())].into(),
                source_id: format!("shaped-{i}"),
                source_kind: [
                    proto::SourceKind::Telecom,
                    proto::SourceKind::Bank,
                    proto::SourceKind::NationalPush,
                    proto::SourceKind::PoliceReport,
                    proto::SourceKind::Tip,
                ][rng.random_range(0..5)] as i32,
                occurred_at_ms: now_ms - rng.random_range(0..3_600_000),
                subject: Some(proto::Subject {
                    phone: format!("139{:08}", rng.random_range(0..100_000_000)),
                    division_code: "520102016001".into(),
                    age: rng.random_range(16..90),
                    ..Default::default()
                }),
                counterparts,
                amount_fen,
                fraud_type_hint: if rng.random_bool(0.3) {
                    HINTS[rng.random_range(0..HINTS.len())].into()
                } else {
                    String::new()
                },
                attributes: [(
                    "channel".to_string(),
                    format!("c{}", rng.random_range(0..4)),
                )]
                .into_iter()
                .collect(),
                ..Default::default()
            };
            normalize(&wire, Checks::at(now_ms)).expect("a shaped alert is valid")
        })
        .collect()
}
