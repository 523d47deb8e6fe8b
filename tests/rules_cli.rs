//! The analyst tools on the shipped rules: every case under rules/tests
//! passes, `rules check` is clean, and a broken file is refused with its
//! place and a caret.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::*;
use dualwarn::rules::cases::run_cases;
use dualwarn::rules::compile_set;
use dualwarn::rules::source::read_dir;

#[test]
fn every_shipped_rule_case_passes() {
    let files = read_dir(&rules_path()).unwrap();
    let set = Arc::new(compile_set(&files).unwrap());
    let results = run_cases(&files, &set, 8);
    assert!(results.len() >= 20, "only {} cases", results.len());
    let failed: Vec<_> = results.iter().filter(|r| !r.failures.is_empty()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn every_fraud_type_has_an_enabled_rule() {
    let set = compile_set(&read_dir(&rules_path()).unwrap()).unwrap();
    for name in set.fraud_types.names.values() {
        assert!(
            set.rules
                .iter()
                .any(|r| r.enabled && r.fraud_type.as_deref() == Some(name.as_str())),
            "no rule for {name}"
        );
    }
    assert_eq!(set.fraud_types.names.len(), 10);
}

fn dualwarn(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dualwarn"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn rules_check_is_clean_on_the_shipped_rules() {
    let (ok, out) = dualwarn(&["rules", "check", rules_path().to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("0 warnings"), "{out}");
}

#[test]
fn rules_check_refuses_a_broken_file_with_a_caret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[rule]]\nid = \"x\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"high\"\ncondition = 'amount >= 10 && counterpart.phonee in @x'\n",
    )
    .unwrap();
    let (ok, out) = dualwarn(&["rules", "check", dir.path().to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("bad.toml:6:30: unknown counterpart kind `phonee`"),
        "{out}"
    );
    assert!(out.contains("^^^^^^^^^^^^^^^^^"), "{out}");
}

#[test]
fn rules_explain_shows_each_part_of_each_rule() {
    let dir = tempfile::tempdir().unwrap();
    let alert = dir.path().join("a.json");
    let phone = list("flagged_phones", 1).remove(0);
    std::fs::write(
        &alert,
        format!(
            r#"{{"source":"t","source_id":"1","source_kind":"telecom","occurred_at_ms":{},"subject":{{"phone":"13800000001","division_code":"520102016001"}},"counterparts":[{{"kind":"phone","value":"{phone}"}}]}}"#,
            now_ms() - 1000
        ),
    )
    .unwrap();
    let (ok, out) = dualwarn(&[
        "rules",
        "explain",
        alert.to_str().unwrap(),
        "--rules",
        rules_path().to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains(" HIT call-from-flagged-number"), "{out}");
    assert!(
        out.contains("✓ counterpart.phone in @flagged_phones"),
        "{out}"
    );
    assert!(out.contains("✗ source_kind == \"bank\""), "{out}");
}
