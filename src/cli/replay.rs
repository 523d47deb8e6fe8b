//! `dualwarn replay`: an offline backtest for analysts. A tool outside the
//! flow that reads a JSON-lines alert file (what `gen` writes and `send`
//! reads) and runs it through the real pure core in process — normalize →
//! enrich → observe → match → decide → dispatch, no server, no store —
//! with one rule set, or two over the same alerts (`--compare`), and
//! reports hits per rule, pairs, the level mix, rejections and the core's
//! throughput; with outcomes, precision per rule. By default the clock is
//! the stream's own (see [`clock`]), so a replay of old alerts is judged as
//! a server judged them when they came, not refused for age.

mod clock;
mod figures;
mod outcomes;
mod render;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use self::clock::StreamClock;
use super::offline::OfflineCore;
use super::record::AlertRecord;
use crate::directory::Directory;
use crate::proto;
use crate::rules::RuleSet;

pub use clock::ReplayClock;
pub use figures::{Diff, LevelMix, PairSample, RuleChange, RunFigures};
pub use outcomes::RulePrecision;

/// Unparsable lines reported one by one; the rest are counted.
const SHOW_UNPARSABLE: u64 = 10;

/// How the report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplayFormat {
    /// Tables for people.
    Text,
    /// One JSON object.
    Json,
}

/// Flags of `dualwarn replay`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
In compare mode, with --max-change, a rule whose hit count changed by more \
than that percent either way (or went from no hits to some) is a failure: \
a failed testcase in the --junit report and exit status 1.")]
pub struct ReplayArgs {
    /// Rule directory to replay with (set A).
    #[arg(long, default_value = crate::config::DEFAULT_RULES_DIR)]
    pub rules: PathBuf,
    /// A second rule directory (set B), run over the same alerts by its own
    /// core: shows per rule more or fewer hits, and pairs added and removed.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Jurisdiction directory file.
    #[arg(long, default_value = crate::config::DEFAULT_DIRECTORY)]
    pub directory: PathBuf,
    /// Daily task list CSV with reported outcomes (`dualwarn tasks daily
    /// --format csv`; repeatable): precision per rule, 已劝阻 and 已被骗
    /// true, 不符 false. Reads the columns 任务编号, 反馈结果 and 命中规则.
    #[arg(long)]
    pub outcomes: Vec<PathBuf>,
    /// The `now` of each batch: `event` (its latest event time, as a server
    /// fed live), `wall` (as a server sent the whole file now) or a fixed
    /// unix-ms time.
    #[arg(long, default_value = "event")]
    pub clock: ReplayClock,
    /// Alerts per batch through the core (as `send --batch`).
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReplayFormat,
    /// Write the report to this file [default: stdout].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write a JUnit XML report here: one testcase per rule.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Compare mode: the largest change of a rule's hits, in percent, that
    /// is not a failure [default: no rule fails].
    #[arg(long)]
    pub max_change: Option<f64>,
    /// JSON-lines alert file; `-` for stdin.
    pub file: PathBuf,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayReport {
    /// The input file.
    pub file: String,
    /// Non-empty input lines.
    pub lines: u64,
    /// Lines that were not an alert record (not replayed).
    pub unparsable: u64,
    /// Batches through each core.
    pub batches: u64,
    /// Seconds reading and parsing the file.
    pub read_seconds: f64,
    /// Wall-clock seconds of the whole replay.
    pub seconds: f64,
    /// The `now` each batch ran at: `event`, `wall` or a unix-ms time.
    pub clock: String,
    /// What the first rule set (`--rules`) made.
    pub base: RunFigures,
    /// What the second (`--compare`) made.
    pub compare: Option<RunFigures>,
    /// From the first to the second.
    pub diff: Option<Diff>,
    /// Precision per rule from `--outcomes`.
    pub precision: Option<BTreeMap<String, RulePrecision>>,
    /// `--max-change`, when given.
    pub max_change_percent: Option<f64>,
}

impl ReplayReport {
    /// Rules whose change is beyond `--max-change`; none without it.
    pub fn failures(&self) -> Vec<&RuleChange> {
        match (&self.diff, self.max_change_percent) {
            (Some(d), Some(max)) => d.rules.iter().filter(|c| c.beyond(max)).collect(),
            _ => Vec::new(),
        }
    }
}

/// A rule set to replay with, and the directory it came from.
pub struct RuleSource {
    /// The directory, as given.
    pub label: String,
    /// The compiled set.
    pub rules: Arc<RuleSet>,
}

/// Replays every line of `input` through one core per rule set of `sets`
/// (one or two), in batches of `batch`, each at the `now` of `clock`;
/// `progress` gets the bytes read and the alerts replayed.
pub fn replay(
    input: impl BufRead,
    dir: &Directory,
    sets: &[RuleSource],
    batch: usize,
    clock: ReplayClock,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<ReplayReport> {
    anyhow::ensure!(!sets.is_empty(), "no rule set to replay with");
    let started = Instant::now();
    let mut cores: Vec<OfflineCore> = sets
        .iter()
        .map(|s| OfflineCore::new(s.rules.clone()))
        .collect();
    let mut figures: Vec<RunFigures> = sets
        .iter()
        .map(|s| RunFigures::new(&s.label, &s.rules))
        .collect();
    let mode = clock;
    let mut clock = StreamClock::new(mode);
    let mut reader = Lines::new(input);
    let mut read_seconds = 0.0;
    let mut batches = 0;
    loop {
        let read = Instant::now();
        let records = reader.next_batch(batch.max(1))?;
        if records.is_empty() {
            break;
        }
        let now = clock.advance(&records, crate::app::now_ms());
        let mut alerts: Vec<proto::Alert> = records.iter().map(AlertRecord::to_proto).collect();
        read_seconds += read.elapsed().as_secs_f64();
        let (n, last) = (alerts.len(), cores.len() - 1);
        for (i, (core, f)) in cores.iter_mut().zip(&mut figures).enumerate() {
            // The last core takes the batch; the copy for the others is not timed.
            let mine = match i == last {
                true => std::mem::take(&mut alerts),
                false => alerts.clone(),
            };
            let t = Instant::now();
            let run = core.run(mine, dir, now);
            let took = t.elapsed().as_secs_f64();
            f.add(&run, n, took);
        }
        batches += 1;
        progress(reader.bytes, figures[0].alerts);
    }
    for f in &mut figures {
        f.finish();
    }
    let mut figures = figures.into_iter();
    let base = figures.next().context("no rule set to replay with")?;
    let compare = figures.next();
    Ok(ReplayReport {
        file: String::new(),
        lines: reader.lines,
        unparsable: reader.unparsable,
        batches,
        read_seconds,
        seconds: started.elapsed().as_secs_f64(),
        diff: compare.as_ref().map(|b| Diff::between(&base, b)),
        base,
        compare,
        clock: mode.to_string(),
        precision: None,
        max_change_percent: None,
    })
}

/// JSON lines read into records, counting what was read.
struct Lines<R> {
    input: R,
    line: String,
    /// Bytes read so far.
    bytes: u64,
    /// Non-empty lines so far.
    lines: u64,
    unparsable: u64,
}

impl<R: BufRead> Lines<R> {
    fn new(input: R) -> Lines<R> {
        Lines {
            input,
            line: String::new(),
            bytes: 0,
            lines: 0,
            unparsable: 0,
        }
    }

    /// Up to `n` records; empty at the end of the input.
    fn next_batch(&mut self, n: usize) -> anyhow::Result<Vec<AlertRecord>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            self.line.clear();
            let got = self
                .input
                .read_line(&mut self.line)
                .context("cannot read input")?;
            if got == 0 {
                break;
            }
            self.bytes += got as u64;
            if self.line.trim().is_empty() {
                continue;
            }
            self.lines += 1;
            match serde_json::from_str::<AlertRecord>(&self.line) {
                Ok(r) => out.push(r),
                Err(e) => {
                    self.unparsable += 1;
                    if self.unparsable <= SHOW_UNPARSABLE {
                        // Kind and column only: serde's text may quote a value.
                        eprintln!(
                            "line {}: not an alert record ({:?} error at column {})",
                            self.lines,
                            e.classify(),
                            e.column()
                        );
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Runs `dualwarn replay`: progress on stderr, the report on stdout or
/// `--out`, the JUnit report to `--junit`.
pub fn run(a: &ReplayArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(a.batch > 0, "--batch must be at least 1");
    let dir = Directory::load(&a.directory)?;
    let mut sets = vec![rule_source(&a.rules)?];
    if let Some(b) = &a.compare {
        sets.push(rule_source(b)?);
    }
    let precision = match a.outcomes.is_empty() {
        true => None,
        false => Some(outcomes::read(&a.outcomes)?),
    };
    let stdin = a.file.as_os_str() == "-";
    let (input, size): (Box<dyn BufRead>, Option<u64>) = if stdin {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f = std::fs::File::open(&a.file)
            .with_context(|| format!("cannot open {}", a.file.display()))?;
        let size = f.metadata().ok().map(|m| m.len());
        (
            Box::new(std::io::BufReader::with_capacity(1 << 20, f)),
            size,
        )
    };
    let bar = progress_bar(size)?;
    let mut report = replay(input, &dir, &sets, a.batch, a.clock, |bytes, n| {
        bar.set_position(bytes);
        bar.set_message(format!("{n} alerts"));
    })?;
    bar.finish_and_clear();
    report.file = a.file.display().to_string();
    report.precision = precision;
    report.max_change_percent = a.max_change;
    let text = match a.format {
        ReplayFormat::Text => render::text(&report).join("\n") + "\n",
        ReplayFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    write_out(a.out.as_deref(), &text)?;
    if let Some(path) = &a.junit {
        std::fs::write(path, render::junit(&report))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(match report.failures().is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    })
}

fn rule_source(dir: &Path) -> anyhow::Result<RuleSource> {
    let rules =
        crate::rules::load_dir(dir).with_context(|| format!("rules in {}", dir.display()))?;
    Ok(RuleSource {
        label: dir.display().to_string(),
        rules: Arc::new(rules),
    })
}

/// A bar over the file's bytes, or a spinner for stdin; drawn on stderr
/// only when it is a terminal.
fn progress_bar(size: Option<u64>) -> anyhow::Result<ProgressBar> {
    let Some(size) = size else {
        return Ok(ProgressBar::new_spinner());
    };
    Ok(ProgressBar::new(size).with_style(
        ProgressStyle::with_template(
            "{spinner} replay {bytes}/{total_bytes} [{bar:30}] {percent}% {msg} ({eta} left)",
        )
        .context("progress template")?
        .progress_chars("=> "),
    ))
}

fn write_out(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            // A closed stdout (`replay | head`) is not an error of the replay.
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_skip_blanks_and_count_what_does_not_parse() {
        let input = "{\"source\":\"a\"}\n\n not json\n{\"source\":\"b\"}\n{\"source\":\"c\"}\n";
        let mut r = Lines::new(input.as_bytes());
        let first = r.next_batch(2).unwrap();
        assert_eq!(
            first.iter().map(|a| a.source.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(r.next_batch(2).unwrap().len(), 1);
        assert!(r.next_batch(2).unwrap().is_empty());
        assert_eq!((r.lines, r.unparsable, r.bytes), (4, 1, input.len() as u64));
    }
}
