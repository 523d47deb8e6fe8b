//! `dualwarn load`: a load tool outside the flow. It sends generated alerts
//! over N `Publish` streams at an offered rate (or as fast as they go) for
//! a fixed time while one `WatchTasks` stream follows the tasks they make,
//! and reports two latencies per alert from histograms: batch handed to
//! its stream → ack (durable), and → the first CREATED or MERGED event on
//! the watch that names it. `--sweep` runs once per rate against the same
//! server and `--plot` draws p99 against offered rate.
//!
//! - `pool`: the alerts, generated before the clock starts, and the run's
//!   source ids that tie acks and tasks back to their batch.
//! - `publish`: one stream, paced, and its acks.
//! - `watch`: the watch, and which events name which alerts.
//! - `report`: percentiles, the JSON summary, the table.
//! - `plot`: the sweep's PNG.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant as StdInstant};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::conn::{Conn, ConnArgs, Console, Publisher, TokenKind};
use crate::directory::Directory;
use crate::{app, config, rules};

mod plot;
mod pool;
mod publish;
mod report;
mod watch;

pub use report::{Latency, LoadSummary};

use pool::{POOL_MAX, Pool, RunTag};
use publish::{SendLog, StreamOutcome, StreamPlan};
use watch::Watch;

/// Time from the start of a run to its first send: the streams connect.
const START_DELAY: Duration = Duration::from_millis(300);
/// Between two refreshes of the progress bar.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Flags of `dualwarn load`.
#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Address, publisher token and TLS.
    #[command(flatten)]
    pub conn: ConnArgs<Publisher>,
    /// Console token for the watch [default: --token].
    #[arg(long, env = Console::ENV)]
    pub console_token: Option<String>,
    /// Concurrent publish streams, one connection each.
    #[arg(long, default_value_t = 4)]
    pub streams: usize,
    /// Alerts per batch.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Offered rate, alerts/s over all streams; 0: as fast as they go.
    #[arg(long, default_value_t = 0, conflicts_with = "sweep")]
    pub rate: u64,
    /// How long to send (each run of a sweep), e.g. `30s`.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// One run per offered rate (alerts/s, comma-separated), one after the
    /// other against the same server.
    #[arg(long, value_delimiter = ',')]
    pub sweep: Vec<u64>,
    /// Draw the sweep's latency against offered rate into this PNG.
    #[arg(long, requires = "sweep")]
    pub plot: Option<PathBuf>,
    /// TrueType font of the plot's text.
    #[arg(long, default_value = plot::DEFAULT_FONT)]
    pub plot_font: PathBuf,
    /// Pause between the runs of a sweep.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub pause: Duration,
    /// Division-code prefix: where the alerts' villages are, and what the
    /// watch follows ("" for all).
    #[arg(long, default_value = "")]
    pub jurisdiction: String,
    /// Write the summary (an array of them for a sweep) as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Seed of the generated alerts.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Jurisdiction directory the alerts are generated over.
    #[arg(long, default_value = config::DEFAULT_DIRECTORY)]
    pub directory: PathBuf,
    /// Rule directory (its lists seed the planted victims).
    #[arg(long, default_value = config::DEFAULT_RULES_DIR)]
    pub rules: PathBuf,
}

/// The shape of one run.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// Offered alerts/s over all streams; 0: as fast as they go.
    pub rate: u64,
    /// Publish streams.
    pub streams: usize,
    /// Alerts per batch.
    pub batch: usize,
    /// How long to send.
    pub duration: Duration,
}

/// Where a run sends and watches.
struct Target {
    publish: Conn,
    console: Conn,
    jurisdiction: String,
}

/// Runs `dualwarn load`: one run, or one per `--sweep` rate; prints the
/// table, and writes the JSON and the plot when asked.
pub async fn run(a: LoadArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(a.streams > 0, "--streams must be at least 1");
    anyhow::ensure!(a.batch > 0, "--batch must be at least 1");
    anyhow::ensure!(!a.duration.is_zero(), "--duration must be longer than 0");
    let rates = if a.sweep.is_empty() {
        vec![a.rate]
    } else {
        a.sweep.clone()
    };
    let pool = Arc::new(generate(&a, &rates)?);
    let publish = a.conn.conn();
    let console = Conn {
        token: a.console_token.clone().or_else(|| publish.token.clone()),
        ..publish.clone()
    };
    let target = Target {
        publish,
        console,
        jurisdiction: a.jurisdiction.clone(),
    };
    let mut runs = Vec::new();
    let mut resume = String::new();
    for (step, &rate) in rates.iter().enumerate() {
        if step > 0 {
            tokio::time::sleep(a.pause).await;
        }
        let plan = RunPlan {
            rate,
            streams: a.streams,
            batch: a.batch,
            duration: a.duration,
        };
        let (summary, token) = run_once(&target, &pool, &plan, step, &resume).await?;
        resume = token;
        if rates.len() > 1 {
            eprintln!("{}", report::table(std::slice::from_ref(&summary))[1]);
        }
        runs.push(summary);
    }
    for line in report::table(&runs) {
        crate::say!("{line}");
    }
    if let Some(path) = &a.json {
        let text = if a.sweep.is_empty() {
            serde_json::to_string_pretty(&runs[0])?
        } else {
            serde_json::to_string_pretty(&runs)?
        };
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &a.plot {
        plot::draw(path, &runs, &a.plot_font)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The pool the largest run needs (or the most the pool holds).
fn generate(a: &LoadArgs, rates: &[u64]) -> anyhow::Result<Pool> {
    let started = StdInstant::now();
    let dir = Directory::load(&a.directory)?;
    let rules = rules::load_dir(&a.rules)?;
    let secs = a.duration.as_secs_f64();
    let needed = rates
        .iter()
        .map(|&r| match r {
            0 => POOL_MAX,
            r => (r as f64 * secs).ceil() as usize,
        })
        .max()
        .unwrap_or(POOL_MAX);
    let pool = Pool::generate(&dir, &rules, a.seed, needed, &a.jurisdiction, app::now_ms())?;
    eprintln!(
        "generated {} alerts (seed {}) in {:.1} s",
        pool.count(),
        a.seed,
        started.elapsed().as_secs_f64()
    );
    Ok(pool)
}

/// One run: the watch opened and caught up, the streams sent for the
/// plan's duration and drained, the watch followed until it is quiet.
/// Returns the summary and the watch's resume token for the next run.
async fn run_once(
    target: &Target,
    pool: &Arc<Pool>,
    plan: &RunPlan,
    step: usize,
    resume: &str,
) -> anyhow::Result<(LoadSummary, String)> {
    let watch = Watch::open(&target.console, &target.jurisdiction, resume).await?;
    let tag = RunTag::new(app::now_ms(), step);
    let log = Arc::new(SendLog::default());
    let (stop, stopped) = oneshot::channel();
    let watcher = tokio::spawn(watch.follow(tag.clone(), plan.batch, log.clone(), stopped));
    let start = Instant::now() + START_DELAY;
    let mut streams = spawn_streams(target, pool, &tag, plan, start, &log);
    let bar = progress_bar(plan.duration)?;
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    let mut outcomes = Vec::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => show(&bar, &log, start),
            joined = streams.join_next() => match joined {
                None => break,
                Some(r) => outcomes.push(r.context("stream task failed")??),
            },
        }
    }
    bar.set_message("following the watch until it is quiet");
    let _ = stop.send(());
    let seen = watcher.await.context("watch task failed")??;
    bar.finish_and_clear();
    let summary = summarize(plan, start, outcomes, &seen);
    anyhow::ensure!(
        summary.acks.acked > 0,
        "nothing was acked: {} alerts sent at an offered {} alerts/s",
        summary.sent,
        plan.rate
    );
    Ok((summary, seen.resume_token))
}

/// The streams of a run, staggered over one period so that their batches
/// interleave.
fn spawn_streams(
    target: &Target,
    pool: &Arc<Pool>,
    tag: &RunTag,
    plan: &RunPlan,
    start: Instant,
    log: &Arc<SendLog>,
) -> JoinSet<anyhow::Result<StreamOutcome>> {
    let n = plan.streams as u64;
    let period = (plan.rate > 0)
        .then(|| Duration::from_secs_f64((n * plan.batch as u64) as f64 / plan.rate as f64));
    let mut set = JoinSet::new();
    for s in 0..n {
        let offset = period.map_or(Duration::ZERO, |p| p.mul_f64(s as f64 / n as f64));
        let stream = StreamPlan {
            index: s,
            streams: n,
            batch: plan.batch,
            start: start + offset,
            period,
            deadline: start + plan.duration,
        };
        set.spawn(publish::run(
            target.publish.clone(),
            pool.clone(),
            tag.clone(),
            stream,
            log.clone(),
        ));
    }
    set
}

fn progress_bar(duration: Duration) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(duration.as_millis() as u64).with_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {msg}")
            .context("progress template")?
            .progress_chars("=> "),
    );
    Ok(bar)
}

fn show(bar: &ProgressBar, log: &SendLog, start: Instant) {
    let elapsed = Instant::now().saturating_duration_since(start);
    let acked = log.acked.load(Ordering::Relaxed);
    bar.set_position(elapsed.as_millis() as u64);
    bar.set_message(format!(
        "sent {} acked {} tasks {} | {:.0} alerts/s",
        log.sent.load(Ordering::Relaxed),
        acked,
        log.tasks.load(Ordering::Relaxed),
        acked as f64 / elapsed.as_secs_f64().max(1e-3)
    ));
}

fn summarize(
    plan: &RunPlan,
    start: Instant,
    outcomes: Vec<StreamOutcome>,
    seen: &watch::WatchOutcome,
) -> LoadSummary {
    let mut ack = report::histogram();
    let mut summary = LoadSummary {
        offered_rate: plan.rate,
        streams: plan.streams,
        batch: plan.batch,
        duration_s: plan.duration.as_secs_f64(),
        tasks_seen: seen.tasks_seen,
        task_events: seen.task_events,
        task: Latency::of(&seen.task),
        ..LoadSummary::default()
    };
    let mut last_ack = start;
    for o in &outcomes {
        // Same bounds on every histogram: adding cannot fail.
        let _ = ack.add(&o.ack);
        summary.acks.merge(&o.totals);
        summary.sent += o.sent;
        summary.behind_ms = summary.behind_ms.max(o.behind.as_secs_f64() * 1e3);
        last_ack = last_ack.max(o.last_ack.unwrap_or(start));
    }
    summary.ack = Latency::of(&ack);
    let took = last_ack.saturating_duration_since(start).as_secs_f64();
    summary.achieved_rate = summary.acks.acked as f64 / took.max(1e-3);
    summary
}
