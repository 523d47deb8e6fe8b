//! The replay report for people (text tables) and for CI (JUnit XML).

use super::figures::{OtherLevel, PairSample, PairSide, RuleChange, RunFigures};
use super::{ReplayReport, RulePrecision};
use crate::model::Level;

/// Width of the label column.
const LABEL: usize = 40;

/// The report as lines.
pub fn text(r: &ReplayReport) -> Vec<String> {
    let runs: Vec<&RunFigures> = std::iter::once(&r.base).chain(&r.compare).collect();
    let mut out = vec![
        format!(
            "replay of {}: {} lines ({} unparsable) in {} batches, clock {}, {:.2} s (reading {:.2} s)",
            r.file, r.lines, r.unparsable, r.batches, r.clock, r.seconds, r.read_seconds
        ),
        String::new(),
    ];
    let names = ["A", "B"];
    let head: Vec<String> = runs
        .iter()
        .zip(names)
        .map(|(f, n)| format!("{n}: {}", f.rules))
        .collect();
    out.push(row("", &head));
    let fig = |pick: &dyn Fn(&RunFigures) -> String| -> Vec<String> {
        runs.iter().map(|f| pick(f)).collect()
    };
    out.push(row(
        "rule set version",
        &fig(&|f| f.rule_set_version.chars().take(12).collect()),
    ));
    out.push(row("alerts", &fig(&|f| f.alerts.to_string())));
    out.push(row("accepted", &fig(&|f| f.accepted.to_string())));
    out.push(row(
        "  of them duplicates",
        &fig(&|f| f.duplicates.to_string()),
    ));
    out.push(row("rejected", &fig(&|f| f.rejected_total().to_string())));
    out.push(row("pairs created", &fig(&|f| f.pairs_created.to_string())));
    out.push(row(
        "merged (duplicate warnings)",
        &fig(&|f| f.merged.to_string()),
    ));
    out.push(row(
        "pairs high / medium / low",
        &fig(&|f| format!("{} / {} / {}", f.levels.high, f.levels.medium, f.levels.low)),
    ));
    out.push(row(
        "core seconds",
        &fig(&|f| format!("{:.2}", f.core_seconds)),
    ));
    out.push(row(
        "alerts/s (core)",
        &fig(&|f| format!("{:.0}", f.alerts_per_second)),
    ));
    if !r.base.rejected.is_empty() {
        let fields: Vec<String> = r
            .base
            .rejected
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        out.push(format!("rejected by field: {}", fields.join(", ")));
    }
    out.push(String::new());
    out.extend(rule_table(r));
    if let Some(d) = &r.diff {
        out.push(String::new());
        out.extend(pair_side("pairs only in A (removed by B)", &d.only_in_a));
        out.extend(pair_side("pairs only in B (added by B)", &d.only_in_b));
        out.extend(other_level(&d.other_level));
    }
    let failed = r.failures();
    if let Some(max) = r.max_change_percent.filter(|_| r.diff.is_some()) {
        let ids: Vec<&str> = failed.iter().map(|c| c.rule.as_str()).collect();
        out.push(String::new());
        out.push(match ids.is_empty() {
            true => format!("no rule changed by more than {max}%"),
            false => format!("changed by more than {max}%: {}", ids.join(", ")),
        });
    }
    out
}

fn row(label: &str, cells: &[String]) -> String {
    let mut s = format!("{label:<LABEL$}");
    for c in cells {
        s.push_str(&format!(" {c:>20}"));
    }
    s.trim_end().to_string()
}

/// Hits per rule; with a second set, both and the change; with outcomes,
/// the precision. Rules without a hit under either set share one line.
fn rule_table(r: &ReplayReport) -> Vec<String> {
    let precision = |rule: &str| -> String {
        r.precision
            .as_ref()
            .map(|p| p.get(rule).map_or("-".into(), precision_cell))
            .unwrap_or_default()
    };
    let p_head = match r.precision {
        Some(_) => "precision (TP/TP+FP)",
        None => "",
    };
    let line = |s: String| s.trim_end().to_string();
    let mut out = Vec::new();
    let mut idle = Vec::new();
    match &r.diff {
        None => {
            out.push(line(format!("{:<LABEL$} {:>9}  {p_head}", "rule", "hits")));
            for (rule, hits) in &r.base.hits {
                match hits {
                    0 => idle.push(rule.as_str()),
                    _ => out.push(line(format!(
                        "{rule:<LABEL$} {hits:>9}  {}",
                        precision(rule)
                    ))),
                }
            }
        }
        Some(d) => {
            out.push(line(format!(
                "{:<LABEL$} {:>9} {:>9} {:>8} {:>8}  {p_head}",
                "rule", "A", "B", "delta", "change"
            )));
            for c in &d.rules {
                if c.a == 0 && c.b == 0 {
                    idle.push(c.rule.as_str());
                    continue;
                }
                out.push(line(format!(
                    "{:<LABEL$} {:>9} {:>9} {:>+8} {:>8}  {}",
                    c.rule,
                    c.a,
                    c.b,
                    c.delta,
                    change_cell(c),
                    precision(&c.rule)
                )));
            }
        }
    }
    if !idle.is_empty() {
        out.push(format!("no hits ({}): {}", idle.len(), idle.join(", ")));
    }
    out
}

fn precision_cell(p: &RulePrecision) -> String {
    let judged = p.true_positives + p.false_positives;
    match p.precision {
        Some(v) => format!("{:.1}% ({}/{judged})", 100.0 * v, p.true_positives),
        None => format!("- (0 of {} judged)", p.tasks),
    }
}

fn change_cell(c: &RuleChange) -> String {
    match c.change_percent {
        Some(p) => format!("{p:+.1}%"),
        None => "new".into(),
    }
}

fn pair_side(title: &str, side: &PairSide) -> Vec<String> {
    let mut out = vec![format!("{title}: {}", side.count)];
    out.extend(side.samples.iter().map(|p| sample(p, level_name(p.level))));
    out
}

fn other_level(side: &OtherLevel) -> Vec<String> {
    let mut out = vec![format!("pairs at another level under B: {}", side.count)];
    out.extend(side.samples.iter().map(|c| {
        let levels = format!("{} → {}", level_name(c.was), level_name(c.pair.level));
        sample(&c.pair, &levels)
    }));
    out
}

/// One sample pair: id, the alert that made it, the masked phone, its
/// level and the rules that made it.
fn sample(p: &PairSample, level: &str) -> String {
    format!(
        "  {}  {}  {}  {level}  {}",
        p.pair_id,
        p.alert_key,
        p.phone,
        p.rules.join(",")
    )
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::High => "high",
        Level::Medium => "medium",
        Level::Low => "low",
    }
}

/// The report as JUnit XML: one testcase per rule, its hits as output; in
/// compare mode with `--max-change`, a rule changed beyond it fails.
pub fn junit(r: &ReplayReport) -> String {
    let cases: Vec<(String, String, Option<String>)> = match &r.diff {
        None => r
            .base
            .hits
            .iter()
            .map(|(rule, hits)| (rule.clone(), format!("hits {hits}"), None))
            .collect(),
        Some(d) => d
            .rules
            .iter()
            .map(|c| {
                let out = format!("hits {} -> {} ({})", c.a, c.b, change_cell(c));
                let failure = r
                    .max_change_percent
                    .filter(|max| c.beyond(*max))
                    .map(|max| {
                        format!(
                            "hits changed {} -> {} ({}), more than {max}%",
                            c.a,
                            c.b,
                            change_cell(c)
                        )
                    });
                (c.rule.clone(), out, failure)
            })
            .collect(),
    };
    let failures = cases.iter().filter(|c| c.2.is_some()).count();
    let suite = escape(&r.base.rules);
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"dualwarn replay\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">\n  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">\n",
        cases.len(),
        r.seconds,
        cases.len(),
        r.seconds
    );
    for (rule, output, failure) in &cases {
        x.push_str(&format!(
            "    <testcase classname=\"replay\" name=\"{}\">\n",
            escape(rule)
        ));
        if let Some(f) = failure {
            x.push_str(&format!("      <failure message=\"{}\"/>\n", escape(f)));
        }
        x.push_str(&format!(
            "      <system-out>{}</system-out>\n    </testcase>\n",
            escape(output)
        ));
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// Text as XML character data or attribute value.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::replay::Diff;

    fn report(a: &[(&str, u64)], b: Option<&[(&str, u64)]>, max: Option<f64>) -> ReplayReport {
        let run = |hits: &[(&str, u64)]| {
            let mut f = RunFigures::default();
            f.rules = "rules<A>".into();
            f.hits = hits.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            f
        };
        let base = run(a);
        let compare = b.map(run);
        ReplayReport {
            file: "a.jsonl".into(),
            lines: 0,
            unparsable: 0,
            batches: 0,
            read_seconds: 0.0,
            seconds: 1.0,
            clock: "event".into(),
            diff: compare.as_ref().map(|c| Diff::between(&base, c)),
            base,
            compare,
            precision: None,
            max_change_percent: max,
        }
    }

    #[test]
    fn junit_fails_only_rules_changed_beyond_max_change() {
        let r = report(
            &[("r1", 100), ("r2", 100)],
            Some(&[("r1", 95), ("r2", 50)]),
            Some(10.0),
        );
        let x = junit(&r);
        assert!(x.contains("tests=\"2\" failures=\"1\""), "{x}");
        assert!(x.contains("name=\"rules&lt;A&gt;\""), "escaped: {x}");
        let r2 = x.split("name=\"r2\"").nth(1).unwrap();
        assert!(
            r2.starts_with(
                ">\n      <failure message=\"hits changed 100 -&gt; 50 (-50.0%), more than 10%\"/>"
            ),
            "{x}"
        );
        assert!(
            !x.split("name=\"r1\"")
                .nth(1)
                .unwrap()
                .split("</testcase>")
                .next()
                .unwrap()
                .contains("<failure")
        );
        assert_eq!(r.failures().len(), 1);
    }

    #[test]
    fn without_compare_or_max_change_nothing_fails() {
        let single = report(&[("r1", 3)], None, Some(0.0));
        assert!(junit(&single).contains("failures=\"0\""));
        assert!(single.failures().is_empty());
        let open = report(&[("r1", 3)], Some(&[("r1", 0)]), None);
        assert!(open.failures().is_empty());
        let lines = text(&open);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("r1") && l.contains("-100.0%")),
            "{lines:#?}"
        );
    }
}
