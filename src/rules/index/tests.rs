use proptest::prelude::*;

use crate::graph::{GraphLimits, LinkGraph};
use crate::model::Alert;
use crate::normalize::{Checks, normalize};
use crate::proto;
use crate::rules::Matcher;
use crate::rules::matcher::tests::set;
use crate::rules::window::WindowLimits;

use super::{Needs, NumField, Side};

const T0: i64 = 1_772_416_800_000;
const PHONES: [&str; 3] = ["17000000001", "17000000002", "13900000003"];
const CARDS: [&str; 2] = ["6222000011112222", "6222000099998888"];
const HINTS: [&str; 3] = ["虚假贷款", "刷单返利", ""];
const SOURCES: [&str; 5] = ["telecom", "bank", "national_push", "police_report", "tip"];

fn needs(condition: &str) -> Needs {
    let s = set(&format!(
        "[[rule]]\nid = \"r\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = '{condition}'\n"
    ));
    Needs::of(&s.rules[0].condition)
}

#[test]
fn needs_read_the_top_level_tests_and_leave_the_rest() {
    let n = needs(
        r#"source_kind in ["bank", "tip"] && (amount >= 5000 && 18 < subject.age) && has(counterpart.app) && (hour < 6 || hour > 22)"#,
    );
    assert_eq!(
        n.fixed(&super::Dim::SourceKind),
        Some(&["bank".into(), "tip".into()][..])
    );
    assert!(n.bounds.contains(&(NumField::Amount, Side::Lower, 5000.0)));
    assert!(n.bounds.contains(&(NumField::Age, Side::Lower, 18.0)));
    assert!(
        !n.bounds.iter().any(|b| b.0 == NumField::Hour),
        "an || is residual"
    );
    assert_eq!(n.kinds, [crate::model::ArtefactKind::App]);
    let tight =
        needs("amount >= 100 && amount > 300 && source_kind == \"bank\" && source_kind == \"tip\"");
    assert!(
        tight
            .bounds
            .contains(&(NumField::Amount, Side::Lower, 300.0))
    );
    assert!(tight.impossible(), "two source kinds at once");
}

/// Conjunct texts a generated rule is made of: every form the index reads,
/// and residual ones it must leave to the evaluator.
fn conjunct() -> impl Strategy<Value = String> {
    let num_field = prop::sample::select(vec!["amount", "amount_fen", "subject.age", "hour"]);
    let cmp = prop::sample::select(vec![">=", ">", "<=", "<", "==", "!="]);
    let kind = prop::sample::select(vec!["phone", "bank_card", "app", "url"]);
    prop_oneof![
        prop::sample::select(SOURCES.to_vec()).prop_map(|s| format!("source_kind == \"{s}\"")),
        prop::sample::subsequence(SOURCES.to_vec(), 1..3)
            .prop_map(|s| format!("source_kind in [{}]", quoted(&s))),
        prop::sample::select(HINTS[..2].to_vec())
            .prop_map(|h| format!("fraud_type_hint == \"{h}\"")),
        prop::sample::subsequence(HINTS[..2].to_vec(), 1..3)
            .prop_map(|h| format!("fraud_type_hint in [{}]", quoted(&h))),
        Just("counterpart.phone in @flagged_phones".to_string()),
        Just("counterpart.bank_card in @flagged_cards".to_string()),
        kind.clone().prop_map(|k| format!("has(counterpart.{k})")),
        kind.clone()
            .prop_map(|k| format!("count(counterpart.{k}) >= 1")),
        (num_field.clone(), cmp.clone(), 0u32..30)
            .prop_map(|(f, c, t)| format!("{f} {c} {}", scaled(f, t))),
        (num_field, cmp, 0u32..30).prop_map(|(f, c, t)| format!("{} {c} {f}", scaled(f, t))),
        prop::sample::select(PHONES.to_vec()).prop_map(|p| format!("counterpart.phone == \"{p}\"")),
        Just("(hour < 6 || amount > 50000)".to_string()),
        Just("!(source_kind == \"bank\")".to_string()),
        Just("subject.phone.starts_with(\"138\")".to_string()),
    ]
}

fn quoted(xs: &[&str]) -> String {
    xs.iter()
        .map(|x| format!("\"{x}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A threshold on the scale of its field.
fn scaled(field: &str, t: u32) -> String {
    match field {
        "amount" => format!("{}", t * 1000),
        "amount_fen" => format!("{}", t * 100_000),
        "subject.age" => format!("{}", t * 4),
        _ => format!("{}", t % 24),
    }
}

fn rule_set() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (prop::collection::vec(conjunct(), 1..5), any::<bool>()),
        1..25,
    )
    .prop_map(|rules| {
        rules
            .iter()
            .enumerate()
            .map(|(i, (parts, enabled))| {
                format!(
                    "[[rule]]\nid = \"g{i}\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\nenabled = {enabled}\ncondition = '{}'\n",
                    parts.join(" && ")
                )
            })
            .collect()
    })
}

fn an_alert() -> impl Strategy<Value = Alert> {
    (
        0usize..5,
        0usize..3,
        prop::collection::vec((0usize..4, 0usize..3), 0..4),
        prop_oneof![Just(0i64), 0i64..4_000_000],
        0u32..100,
        0i64..86_400_000,
    )
        .prop_map(|(source, hint, counterparts, amount_fen, age, offset)| {
            let kinds = [
                (proto::ArtefactKind::Phone, PHONES[0]),
                (proto::ArtefactKind::BankCard, CARDS[0]),
                (proto::ArtefactKind::App, "com.example.loan"),
                (proto::ArtefactKind::Url, "http://pay.example.cn"),
            ];
            let at = T0 + offset;
            let wire = proto::Alert {
                source: "t".into(),
                source_id: format!("{at}"),
                source_kind: [
                    proto::SourceKind::Telecom,
                    proto::SourceKind::Bank,
                    proto::SourceKind::NationalPush,
                    proto::SourceKind::PoliceReport,
                    proto::SourceKind::Tip,
                ][source] as i32,
                occurred_at_ms: at,
                subject: Some(proto::Subject {
                    phone: "13800000001".into(),
                    division_code: "520102016001".into(),
                    age,
                    ..Default::default()
                }),
                counterparts: counterparts
                    .iter()
                    .map(|&(k, v)| proto::Artefact {
                        kind: kinds[k].0 as i32,
                        value: match kinds[k].0 {
                            proto::ArtefactKind::Phone => PHONES[v].into(),
                            proto::ArtefactKind::BankCard => CARDS[v % 2].into(),
                            _ => kinds[k].1.into(),
                        },
                    })
                    .collect(),
                amount_fen,
                fraud_type_hint: HINTS[hint].into(),
                ..Default::default()
            };
            normalize(&wire, Checks::at(at + 1)).unwrap()
        })
}

fn ids(hits: &[crate::rules::RuleHit]) -> Vec<String> {
    hits.iter().map(|h| h.rule_id.to_string()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// The index never changes an answer: indexed matching gives the same
    /// hits as evaluating every enabled rule, on random rule sets and alerts.
    #[test]
    fn indexed_matching_equals_evaluating_every_rule(
        rules in rule_set(),
        alerts in prop::collection::vec(an_alert(), 1..20),
    ) {
        let s = set(&rules);
        let graph = LinkGraph::new(GraphLimits::default());
        let mut indexed = Matcher::new(s.clone(), WindowLimits::default(), 8);
        let mut every = Matcher::new(s, WindowLimits::default(), 8);
        for a in &alerts {
            let now = a.occurred_at_ms + 1;
            let want = ids(&every.match_alert_unindexed(a, &graph, now));
            let got = ids(&indexed.match_alert(a, &graph, now));
            prop_assert_eq!(got, want, "rules:\n{}\nalert: {:?}", rules, a);
        }
    }
}
