//! `dualwarn rules check|test|explain`: the analyst's tools. Everything
//! they print comes from the same compiler and matcher the server runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;

use super::record::AlertRecord;
use crate::graph::{GraphLimits, LinkGraph};
use crate::normalize::{Checks, normalize};
use crate::rules::cases::run_cases;
use crate::rules::source::read_dir;
use crate::rules::window::WindowLimits;
use crate::rules::{Matcher, RuleError, compile_set};
use crate::{app, config};

/// The `rules` subcommands.
#[derive(Subcommand)]
pub enum RulesCommand {
    /// Load, type-check and compile a rule directory; print errors and warnings.
    Check {
        /// Rule directory.
        #[arg(default_value = config::DEFAULT_RULES_DIR)]
        dir: PathBuf,
    },
    /// Run the test cases in DIR/tests.
    Test {
        /// Rule directory.
        #[arg(default_value = config::DEFAULT_RULES_DIR)]
        dir: PathBuf,
    },
    /// Show what every rule made of one alert (a JSON record as `gen` writes).
    Explain {
        /// The alert.
        alert: PathBuf,
        /// Rule directory.
        #[arg(long, default_value = config::DEFAULT_RULES_DIR)]
        rules: PathBuf,
    },
    /// Assess key areas (重点区域) on a running server now, with the method
    /// of its key_areas.toml, and make their publicity tasks (宣传任务).
    KeyAreas(super::key_areas::KeyAreasArgs),
    /// Run a candidate rule set beside the live one on a running server
    /// (影子运行): start, report, stop, promote (admin token).
    #[command(subcommand)]
    Shadow(super::shadow::ShadowCommand),
}

/// Runs one `rules` subcommand: exit code 1 when the rules have errors or
/// a case fails.
pub async fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    let offset = config::DEFAULT_UTC_OFFSET_HOURS;
    let passed = match cmd {
        RulesCommand::Check { dir } => check(&dir)?,
        RulesCommand::Test { dir } => test(&dir, offset)?,
        RulesCommand::Explain { alert, rules } => {
            explain(&alert, &rules, offset, app::now_ms())?;
            true
        }
        RulesCommand::KeyAreas(a) => {
            super::key_areas::run(a).await?;
            true
        }
        RulesCommand::Shadow(c) => {
            super::shadow::run(c).await?;
            true
        }
    };
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Checks a rule directory; returns false when it has errors.
pub fn check(dir: &Path) -> anyhow::Result<bool> {
    let files = read_dir(dir)?;
    match compile_set(&files) {
        Ok(set) => {
            for w in &set.warnings {
                crate::say!("warning: {w}");
            }
            crate::say!(
                "ok: {} rules ({} enabled), {} lists, {} windows, {} warnings; version {}",
                set.rules.len(),
                set.enabled_count(),
                set.lists.len(),
                set.windows.len(),
                set.warnings.len(),
                set.version
            );
            Ok(true)
        }
        Err(RuleError::Invalid(errors)) => {
            for e in &errors {
                crate::say!("error: {e}\n");
            }
            crate::say!("{} error(s); nothing applied", errors.len());
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs the test cases under `dir/tests`; returns false when any fails.
pub fn test(dir: &Path, utc_offset_hours: i32) -> anyhow::Result<bool> {
    let files = read_dir(dir)?;
    let set = Arc::new(compile_set(&files)?);
    let results = run_cases(&files, &set, utc_offset_hours);
    let failed = results.iter().filter(|r| !r.failures.is_empty()).count();
    for r in &results {
        if r.failures.is_empty() {
            crate::say!("ok     {}", r.name);
        } else {
            crate::say!("FAILED {}", r.name);
            for f in &r.failures {
                crate::say!("         {f}");
            }
        }
    }
    crate::say!(
        "{} cases, {} passed, {failed} failed",
        results.len(),
        results.len() - failed
    );
    Ok(failed == 0)
}

/// Shows what every rule made of the alert in `alert_file` (one JSON record).
pub fn explain(
    alert_file: &Path,
    dir: &Path,
    utc_offset_hours: i32,
    now_ms: i64,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(alert_file)
        .with_context(|| format!("cannot read {}", alert_file.display()))?;
    let record: AlertRecord = serde_json::from_str(text.trim())
        .with_context(|| format!("{} is not an alert record", alert_file.display()))?;
    let alert = normalize(
        &record.to_proto(),
        Checks::at(now_ms.max(record.occurred_at_ms)),
    )
    .map_err(|r| anyhow::anyhow!(r.reason))?;
    let set = Arc::new(compile_set(&read_dir(dir)?)?);
    let mut graph = LinkGraph::new(GraphLimits::default());
    set.apply_lists(&mut graph);
    graph.observe(&alert);
    let mut matcher = Matcher::new(set.clone(), WindowLimits::default(), utc_offset_hours);
    crate::say!("rule set {} — alert {}", set.version, alert.key);
    for r in matcher.explain(&alert, &graph, now_ms) {
        let mark = match (r.enabled, r.matched) {
            (false, _) => "off",
            (true, true) => "HIT",
            (true, false) => "-",
        };
        let via = if r.candidate {
            ""
        } else {
            " (not a candidate: index skips it)"
        };
        crate::say!("{mark:>4} {}{via}", r.rule_id);
        for (part, held) in &r.parts {
            crate::say!("       {} {part}", if *held { "✓" } else { "✗" });
        }
        for (name, value) in &r.windows {
            crate::say!("       window.{name} = {value}");
        }
    }
    Ok(())
}
