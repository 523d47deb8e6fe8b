use std::sync::Arc;

use super::*;
use crate::graph::{GraphLimits, LinkGraph};
use crate::normalize::{Checks, normalize};
use crate::proto;
use crate::rules::source::SourceFile;
use crate::rules::{RuleError, compile_set};

pub(crate) const T0: i64 = 1_772_416_800_000;

/// `rules` compiled with two small flagged lists and a fraud-type table.
pub(crate) fn set(rules: &str) -> Arc<RuleSet> {
    let files = vec![
        SourceFile {
            path: "r.toml".into(),
            text: rules.into(),
        },
        SourceFile {
            path: "lists/flagged_phones.txt".into(),
            text: "17000000001\n17000000002\n".into(),
        },
        SourceFile {
            path: "lists/flagged_cards.txt".into(),
            text: "6222000011112222\n".into(),
        },
        SourceFile {
            path: "fraud_types.toml".into(),
            text: "version = \"2024\"\n[[type]]\ncode = \"touzi\"\nname = \"虚假网络投资理财\"\n"
                .into(),
        },
    ];
    Arc::new(compile_set(&files).unwrap_or_else(|e| panic!("{e}")))
}

fn errors(rules: &str) -> Vec<String> {
    let files = vec![
        SourceFile {
            path: "r.toml".into(),
            text: rules.into(),
        },
        SourceFile {
            path: "lists/flagged_phones.txt".into(),
            text: "17000000001\n".into(),
        },
    ];
    match compile_set(&files) {
        Err(RuleError::Invalid(e)) => e,
        other => panic!("expected errors, got {:?}", other.map(|s| s.version)),
    }
}

pub(crate) fn alert(
    kind: proto::SourceKind,
    at: i64,
    counterparts: &[(proto::ArtefactKind, &str)],
    amount_fen: i64,
) -> Alert {
    let wire = proto::Alert {
        source: "t".into(),
        source_id: format!("{at}"),
        source_kind: kind as i32,
        occurred_at_ms: at,
        subject: Some(proto::Subject {
            phone: "13800000001".into(),
            division_code: "520102016001".into(),
            ..Default::default()
        }),
        counterparts: counterparts
            .iter()
            .map(|(k, v)| proto::Artefact {
                kind: *k as i32,
                value: (*v).into(),
            })
            .collect(),
        amount_fen,
        ..Default::default()
    };
    normalize(&wire, Checks::at(at)).unwrap()
}

fn run(set: &Arc<RuleSet>, alerts: &[Alert]) -> Vec<Vec<String>> {
    let mut m = Matcher::new(set.clone(), WindowLimits::default(), 8);
    let mut g = LinkGraph::new(GraphLimits::default());
    g.set_listed(set.flagged_values());
    alerts
        .iter()
        .map(|a| {
            g.observe(a);
            m.match_alert(a, &g, a.occurred_at_ms)
                .into_iter()
                .map(|h| h.rule_id.to_string())
                .collect()
        })
        .collect()
}

const RULE: &str = r#"
[[rule]]
id = "flagged-call"
name = "n"
description = "接到涉诈电话"
level = "medium"
fraud_type = "touzi"
condition = 'source_kind == "telecom" && counterpart.phone in @flagged_phones'
"#;

#[test]
fn list_rule_fires_only_on_a_flagged_counterpart() {
    let s = set(RULE);
    let hit = alert(
        proto::SourceKind::Telecom,
        T0,
        &[(proto::ArtefactKind::Phone, "170-0000-0001")],
        0,
    );
    let miss = alert(
        proto::SourceKind::Telecom,
        T0,
        &[(proto::ArtefactKind::Phone, "17000000009")],
        0,
    );
    let wrong_source = alert(
        proto::SourceKind::Bank,
        T0,
        &[(proto::ArtefactKind::Phone, "17000000001")],
        0,
    );
    assert_eq!(
        run(&s, &[hit, miss, wrong_source]),
        vec![vec!["flagged-call".to_string()], vec![], vec![]]
    );
}

#[test]
fn hit_explains_with_masked_list_value_and_fraud_type_name() {
    let s = set(RULE);
    let a = alert(
        proto::SourceKind::Telecom,
        T0,
        &[(proto::ArtefactKind::Phone, "17000000001")],
        0,
    );
    let mut m = Matcher::new(s.clone(), WindowLimits::default(), 8);
    let mut g = LinkGraph::new(GraphLimits::default());
    g.set_listed(s.flagged_values());
    let g = g;
    let hits = m.match_alert(&a, &g, T0);
    assert_eq!(&*hits[0].fraud_type, "虚假网络投资理财");
    let why = hits[0].why.render(&a);
    assert!(
        why.contains("170****0001") && why.contains("flagged_phones"),
        "{why}"
    );
    assert!(!why.contains("17000000001"), "{why}");
}

#[test]
fn count_window_fires_on_the_third_flagged_call_within_the_hour() {
    let s = set(r#"
[[rule]]
id = "repeated"
name = "n"
description = "一小时内多次接到涉诈电话"
level = "high"
condition = 'window.calls >= 3'
[[rule.window]]
name = "calls"
key = "subject.phone"
agg = "count"
duration = "1h"
when = 'counterpart.phone in @flagged_phones'
"#);
    let call = |min: i64| {
        alert(
            proto::SourceKind::Telecom,
            T0 + min * 60_000,
            &[(proto::ArtefactKind::Phone, "17000000001")],
            0,
        )
    };
    let other = alert(
        proto::SourceKind::Telecom,
        T0 + 11 * 60_000,
        &[(proto::ArtefactKind::Phone, "13900000000")],
        0,
    );
    let got = run(
        &s,
        &[call(0), call(10), other, call(20), call(90), call(95)],
    );
    let fired: Vec<bool> = got.iter().map(|h| !h.is_empty()).collect();
    assert_eq!(
        fired,
        vec![false, false, false, true, false, false],
        "{got:?}"
    );
}

#[test]
fn distinct_and_sum_windows_over_cards() {
    let s = set(r#"
[[rule]]
id = "new-cards"
name = "n"
description = "一天内向多张银行卡转账"
level = "medium"
condition = 'window.cards >= 3 && window.total >= 3000'
[[rule.window]]
name = "cards"
key = "subject.phone"
agg = "distinct"
of = "counterpart.bank_card"
duration = "1d"
[[rule.window]]
name = "total"
key = "subject.phone"
agg = "sum"
of = "amount"
duration = "1d"
"#);
    let pay = |h: i64, card: &str, fen: i64| {
        alert(
            proto::SourceKind::Bank,
            T0 + h * 3_600_000,
            &[(proto::ArtefactKind::BankCard, card)],
            fen,
        )
    };
    let got = run(
        &s,
        &[
            pay(0, "6222000000000001", 100_000),
            pay(1, "6222000000000001", 100_000),
            pay(2, "6222000000000002", 50_000),
            pay(3, "6222000000000003", 60_000),
        ],
    );
    let fired: Vec<bool> = got.iter().map(|h| !h.is_empty()).collect();
    assert_eq!(fired, vec![false, false, false, true]);
}

#[test]
fn macro_time_of_day_and_arithmetic() {
    let s = set(r#"
[[macro]]
name = "night"
condition = 'hour >= 22 || hour < 6'
[[rule]]
id = "night-transfer"
name = "n"
description = "深夜大额转账"
level = "medium"
condition = 'night && amount_fen / 100 >= 2000 && weekday in [1, 2, 3, 4, 5, 6, 7]'
"#);
    // T0 is 10:00 local; +13h is 23:00.
    let day = alert(proto::SourceKind::Bank, T0, &[], 300_000);
    let night = alert(proto::SourceKind::Bank, T0 + 13 * 3_600_000, &[], 300_000);
    assert_eq!(
        run(&s, &[day, night]),
        vec![vec![], vec!["night-transfer".to_string()]]
    );
}

#[test]
fn string_tests_and_presence() {
    let s = set(r#"
[[rule]]
id = "virtual-number"
name = "n"
description = "虚拟号段来电"
level = "low"
condition = 'has(counterpart.phone) && (counterpart.phone.starts_with("170") || counterpart.phone.matches("^165\\d{8}$")) && !subject.has_id'
"#);
    let a = alert(
        proto::SourceKind::Telecom,
        T0,
        &[(proto::ArtefactKind::Phone, "16512345678")],
        0,
    );
    let b = alert(
        proto::SourceKind::Telecom,
        T0,
        &[(proto::ArtefactKind::Phone, "13912345678")],
        0,
    );
    let c = alert(proto::SourceKind::Telecom, T0, &[], 0);
    assert_eq!(
        run(&s, &[a, b, c]),
        vec![vec!["virtual-number".to_string()], vec![], vec![]]
    );
}

#[test]
fn type_error_is_reported_with_file_line_column_and_caret() {
    let e = errors(
        "[[rule]]\nid = \"x\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = 'amount >= \"5000\"'\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("r.toml:6:14: cannot compare a number with a string"),
        "{}",
        e[0]
    );
    assert!(
        e[0].ends_with("|              ^^^^^^^^^^^^^^^^"),
        "{}",
        e[0]
    );
}

#[test]
fn unknown_names_are_load_errors() {
    let head = "[[rule]]\nid = \"x\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\n";
    for (cond, want) in [
        ("subject.phon == \"1\"", "unknown field `subject.phon`"),
        ("counterpart.phone in @nope", "unknown list @nope"),
        ("window.w > 1", "unknown window `w`"),
        ("frobnicate()", "unknown function frobnicate()"),
        ("amount", "must be true or false"),
        ("amount >=", "syntax error"),
    ] {
        let e = errors(&format!("{head}condition = '{cond}'\n"));
        assert!(e[0].contains(want), "{cond}: {}", e[0]);
        assert!(e[0].starts_with("r.toml:6:"), "{}", e[0]);
    }
}

#[test]
fn macro_cycle_is_an_error() {
    let e = errors(
        "[[macro]]\nname = \"a\"\ncondition = 'b'\n[[macro]]\nname = \"b\"\ncondition = 'a'\n",
    );
    assert!(e.iter().any(|x| x.contains("macro cycle")), "{e:?}");
}

#[test]
fn unchanged_window_keeps_its_state_across_a_swap() {
    let with_window = |level: &str| {
        set(&format!(
            "[[rule]]\nid = \"r\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"{level}\"\ncondition = 'window.c >= 2'\n[[rule.window]]\nname = \"c\"\nkey = \"subject.phone\"\nagg = \"count\"\nduration = \"1h\"\n"
        ))
    };
    let (a, b) = (with_window("low"), with_window("high"));
    let mut m = Matcher::new(a.clone(), WindowLimits::default(), 8);
    let mut g = LinkGraph::new(GraphLimits::default());
    g.set_listed(a.flagged_values());
    let g = g;
    let first = alert(proto::SourceKind::Telecom, T0, &[], 0);
    assert!(m.match_alert(&first, &g, T0).is_empty());
    assert_eq!(m.swap(b), 1, "the window definition did not change");
    let second = alert(proto::SourceKind::Telecom, T0 + 60_000, &[], 0);
    let hits = m.match_alert(&second, &g, T0);
    assert_eq!(hits.len(), 1, "count 2 carried over the reload");
    assert_eq!(hits[0].level, Level::High, "the new rule text is in force");
}

#[test]
fn a_window_survives_a_reload_that_removes_its_rule_and_one_that_restores_it() {
    let windowed = set(
        "[[rule]]\nid = \"r\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = 'window.c >= 2'\n[[rule.window]]\nname = \"c\"\nkey = \"subject.phone\"\nagg = \"count\"\nduration = \"1h\"\n",
    );
    let without = set(
        "[[rule]]\nid = \"other\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = 'amount > 1'\n",
    );
    let mut m = Matcher::new(windowed.clone(), WindowLimits::default(), 8);
    let g = LinkGraph::new(GraphLimits::default());
    assert!(
        m.match_alert(&alert(proto::SourceKind::Telecom, T0, &[], 0), &g, T0)
            .is_empty()
    );
    assert_eq!(m.swap(without), 0, "the window's rule is gone");
    assert_eq!(m.swap(windowed), 1, "restored with its state");
    let hits = m.match_alert(
        &alert(proto::SourceKind::Telecom, T0 + 60_000, &[], 0),
        &g,
        T0,
    );
    assert_eq!(
        hits.len(),
        1,
        "the count from before the removal carried over"
    );
}

#[test]
fn index_skips_rules_whose_list_was_not_hit() {
    let s = set(RULE);
    let miss = alert(
        proto::SourceKind::Telecom,
        T0,
        &[(proto::ArtefactKind::Phone, "13900000000")],
        0,
    );
    let mut out = Vec::new();
    s.index.candidates(&miss, 0, &s.list_values, &mut out);
    assert!(out.is_empty());
    let hit = alert(
        proto::SourceKind::Telecom,
        T0,
        &[(proto::ArtefactKind::Phone, "17000000002")],
        0,
    );
    s.index.candidates(&hit, 0, &s.list_values, &mut out);
    assert_eq!(out, vec![0]);
}

#[test]
fn costly_regex_and_unused_list_are_warnings_not_errors() {
    let s = set(r#"
[[rule]]
id = "slow"
name = "n"
description = "d"
level = "low"
condition = 'source_kind == "telecom" && counterpart.url.matches(".*pay.*")'
"#);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("rule slow") && w.contains("costly")),
        "{:?}",
        s.warnings
    );
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("list flagged_cards is never used")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn misspelt_key_in_a_case_fails_the_case() {
    let s = set(RULE);
    let files = vec![SourceFile {
        path: "tests/t.toml".into(),
        text: "[[case]]\nname = \"typo\"\n[[case.alert]]\namount = 8000\nexpect = []\n".into(),
    }];
    let results = crate::rules::cases::run_cases(&files, &s, 8);
    assert!(
        results[0].failures[0].contains("unknown key `amount`"),
        "{results:?}"
    );
}

#[test]
fn index_buckets_rules_by_fraud_type_hint() {
    let s = set(r#"
[[rule]]
id = "hinted"
name = "n"
description = "d"
level = "low"
condition = 'fraud_type_hint == "虚假贷款" && amount >= 100'
"#);
    let mut a = alert(proto::SourceKind::Bank, T0, &[], 20_000);
    let mut out = Vec::new();
    s.index.candidates(&a, 0, &s.list_values, &mut out);
    assert!(out.is_empty(), "no hint, not a candidate");
    a.fraud_type_hint = "虚假贷款".into();
    s.index.candidates(&a, 0, &s.list_values, &mut out);
    assert_eq!(out, vec![0]);
    assert_eq!(run(&s, &[a]), vec![vec!["hinted".to_string()]]);
}

#[test]
fn exponential_macro_chain_is_refused() {
    let mut text = String::from("[[macro]]\nname = \"m0\"\ncondition = 'amount > 1'\n");
    for i in 1..40 {
        text.push_str(&format!(
            "[[macro]]\nname = \"m{i}\"\ncondition = 'm{p} && m{p}'\n",
            p = i - 1
        ));
    }
    text.push_str("[[rule]]\nid = \"x\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = 'm39'\n");
    let e = errors(&text);
    assert!(e.iter().any(|x| x.contains("10000 terms")), "{e:?}");
}

#[test]
fn nested_boolean_equality_stays_linear() {
    let mut cond = String::from("true");
    for _ in 0..40 {
        cond = format!("({cond} == true)");
    }
    let s = set(&format!(
        "[[rule]]\nid = \"eq\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = '{cond}'\n"
    ));
    assert!(
        s.rules[0].condition.size() < 100,
        "{}",
        s.rules[0].condition.size()
    );
    let a = alert(proto::SourceKind::Tip, T0, &[], 0);
    assert_eq!(run(&s, &[a]), vec![vec!["eq".to_string()]]);
}

#[test]
fn a_window_cannot_read_another_window() {
    let e = errors(
        "[[rule]]\nid = \"c\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = 'window.w2 >= 1'\n\
         [[rule.window]]\nname = \"w1\"\nkey = \"subject.phone\"\nagg = \"count\"\nduration = \"1h\"\n\
         [[rule.window]]\nname = \"w2\"\nkey = \"subject.phone\"\nagg = \"count\"\nduration = \"1h\"\nwhen = 'window.w1 >= 1'\n",
    );
    assert!(e.iter().any(|x| x.contains("unknown window `w1`")), "{e:?}");
}

#[test]
fn windows_differing_inside_a_string_literal_do_not_share_state() {
    let rule = |id: &str, channel: &str| {
        format!(
            "[[rule]]\nid = \"{id}\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = 'window.w >= 1'\n\
             [[rule.window]]\nname = \"w\"\nkey = \"subject.phone\"\nagg = \"count\"\nduration = \"1h\"\nwhen = 'attr.ch == \"{channel}\"'\n"
        )
    };
    let s = set(&format!(
        "{}{}",
        rule("a", "wechat pay"),
        rule("b", "wechat  pay")
    ));
    assert_eq!(s.windows.len(), 2);
}
