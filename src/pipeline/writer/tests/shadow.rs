//! Shadow runs on the writer: the per-rule diff, the pairs a candidate
//! would add and remove, the cost bound, and a promotion.

use super::*;

/// The test rules without the URL rule, and with any tip a low warning.
fn candidate() -> Arc<RuleSet> {
    let without_url = TEST_RULES
        .split("[[rule]]")
        .filter(|r| !r.contains("flagged-url"))
        .collect::<Vec<_>>()
        .join("[[rule]]");
    rule_set(&format!(
        "{without_url}\n[[rule]]\nid = \"tip-any\"\nname = \"n\"\ndescription = \"线索\"\nlevel = \"low\"\ncondition = 'source_kind == \"tip\"'\n"
    ))
}

#[test]
fn a_shadow_reports_what_the_candidate_would_add_and_remove_and_makes_no_task() {
    let mut w = writer();
    w.start_shadow(candidate(), 4.0, NOW);
    let (commit, counts) = apply(
        &mut w,
        vec![
            alert("s-1", &phone(1), Some(Level::High)),
            alert("s-2", &phone(2), Some(Level::Low)),
            alert("s-3", &phone(3), None),
        ],
        NOW,
    );
    // Live made what the live set makes, and nothing of the candidate.
    assert_eq!(counts.pairs_created, 2);
    assert_eq!(commit.tasks.len(), 4);
    let f = w.shadow_figures().unwrap();
    assert_eq!(f.alerts, 3);
    assert_eq!((f.live_pairs, f.shadow_pairs), (2, 2));
    assert_eq!((f.added, f.removed), (1, 1));
    assert_eq!(f.added_samples[0].alert_key, "test-src/s-3");
    assert_eq!(f.added_samples[0].rule_ids, ["tip-any"]);
    assert!(f.added_samples[0].subject.contains("****"), "masked");
    assert_eq!(f.removed_samples[0].alert_key, "test-src/s-2");
    assert_eq!(f.rules["reported"], (1, 1));
    assert_eq!(f.rules["flagged-url"], (1, 0));
    assert_eq!(f.rules["tip-any"], (0, 1));
    assert!(f.stopped.is_none());
}

#[test]
fn a_promoted_candidate_decides_the_next_batch() {
    let mut w = writer();
    let candidate = candidate();
    w.start_shadow(candidate.clone(), 4.0, NOW);
    apply(&mut w, vec![alert("p-1", &phone(1), None)], NOW);
    let (rules, _) = w.promote_shadow().unwrap();
    assert_eq!(rules.version, candidate.version);
    assert_eq!(w.rules().version, candidate.version);
    assert!(w.shadow_figures().is_none(), "the run ended");
    // A tip now makes a pair; a flagged URL no longer does.
    let (_, counts) = apply(
        &mut w,
        vec![
            alert("p-2", &phone(2), None),
            alert("p-3", &phone(3), Some(Level::Low)),
        ],
        NOW,
    );
    assert_eq!(counts.pairs_created, 1);
}

#[test]
fn a_shadow_that_costs_too_much_stops_itself_and_says_why() {
    let mut w = writer();
    // Every alert is a tip: live evaluates nothing, the candidate one rule.
    w.start_shadow(candidate(), 0.25, NOW);
    let alerts: Vec<_> = (0..1_200)
        .map(|i| alert(&format!("c-{i}"), &phone(i), None))
        .collect();
    for chunk in alerts.chunks(400) {
        apply(&mut w, chunk.to_vec(), NOW);
    }
    let f = w.shadow_figures().unwrap();
    let why = f.stopped.expect("stopped by the bound");
    assert!(why.contains("shadow_max_cost"), "{why}");
    assert_eq!(f.alerts, crate::pipeline::shadow::MIN_ALERTS_FOR_BOUND);
}
