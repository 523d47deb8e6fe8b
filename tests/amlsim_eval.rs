//! The graph rules of `tests/data/amlsim/rules.toml`, replayed over IBM
//! AMLSim's 10K data set (`dualwarn graph eval-amlsim`), keep finding the
//! planted fan-in / fan-out groups about as well as the README says. Each
//! figure may drop by at most 0.05 from what was measured when the rules
//! were written (README, "AMLSim: graph rules against planted mule groups").

use std::path::PathBuf;

use dualwarn::cli::graph_eval::{EvalOptions, MULE_TYPES, RuleFigures, evaluate};

/// How far a figure may fall below the measured one.
const SLACK: f64 = 0.05;

fn rule<'a>(figures: &'a [RuleFigures], id: &str) -> &'a RuleFigures {
    figures
        .iter()
        .find(|f| f.rule_id == id)
        .unwrap_or_else(|| panic!("rule {id} not in the report"))
}

fn at_least(what: &str, got: f64, measured: f64) {
    assert!(
        got >= measured - SLACK,
        "{what}: {got:.3}, measured {measured:.3} when the rules were written"
    );
}

#[test]
fn fan_rules_find_planted_amlsim_groups() -> anyhow::Result<()> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/amlsim");
    let report = evaluate(&EvalOptions {
        rules: data.join("rules.toml"),
        data,
        limit: None,
    })?;
    // The whole file went in, and the ground truth is the one described.
    assert_eq!((report.transfers, report.bad_rows), (197_905, 0));
    assert_eq!(report.planted_accounts, 742);
    assert_eq!(
        report.capped_links, 0,
        "degree caps must not bite on this data"
    );

    let fan_in = rule(&report.rules, "amlsim-fan-in");
    at_least(
        "fan-in: fan_in group recall",
        fan_in.recall(&["fan_in"]),
        0.80,
    );
    at_least("fan-in: precision", fan_in.precision(), 0.192);

    let fan_out = rule(&report.rules, "amlsim-fan-out");
    at_least(
        "fan-out: fan_out group recall",
        fan_out.recall(&["fan_out"]),
        1.0,
    );
    at_least("fan-out: precision", fan_out.precision(), 1.0);

    let any = &report.any;
    at_least(
        "any rule: fan_in + fan_out recall",
        any.recall(&MULE_TYPES),
        0.93,
    );
    at_least("any rule: precision", any.precision(), 0.277);
    Ok(())
}
