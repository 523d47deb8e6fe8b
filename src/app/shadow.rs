//! Shadow runs (影子运行) at the wiring: start a checked candidate set on
//! the writer, read its report, stop it, promote it. The run itself is
//! [`crate::pipeline::shadow`]; the writer thread carries out each job
//! between two batches.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::writer_thread::WriterThread;
use super::{Job, Shared, reload, reload_guard};
use crate::error::Error;
use crate::pipeline::shadow::{PairSample, ShadowFigures};
use crate::proto;
use crate::rules::RuleSet;
use crate::rules::source::SourceFile;

/// A shadow request for the writer thread.
pub enum ShadowJob {
    /// Start `rules` in the shadow (replacing a running candidate).
    Start {
        /// The checked candidate.
        rules: Arc<RuleSet>,
        /// Reply: its first figures.
        reply: oneshot::Sender<Option<ShadowFigures>>,
    },
    /// The figures so far.
    Report {
        /// Reply; `None` when nothing runs.
        reply: oneshot::Sender<Option<ShadowFigures>>,
    },
    /// End the run.
    Stop {
        /// Reply: its last figures.
        reply: oneshot::Sender<Option<ShadowFigures>>,
    },
    /// Put the candidate in force.
    Promote {
        /// Reply: the rules and windows carried over; `None` when nothing runs.
        reply: oneshot::Sender<Option<(Arc<RuleSet>, usize)>>,
    },
}

impl WriterThread {
    /// Carries out one shadow job.
    pub(super) fn shadow_job(&mut self, job: ShadowJob) {
        let now = (self.clock)();
        match job {
            ShadowJob::Start { rules, reply } => {
                self.writer
                    .start_shadow(rules, self.config.shadow_max_cost, now);
                let _ = reply.send(self.writer.shadow_figures());
            }
            ShadowJob::Report { reply } => drop(reply.send(self.writer.shadow_figures())),
            ShadowJob::Stop { reply } => drop(reply.send(self.writer.stop_shadow())),
            ShadowJob::Promote { reply } => drop(reply.send(self.writer.promote_shadow())),
        }
    }
}

async fn ask<T>(
    shared: &Shared,
    job: impl FnOnce(oneshot::Sender<T>) -> ShadowJob,
) -> Result<T, Error> {
    let (tx, rx) = oneshot::channel();
    shared
        .jobs
        .send(Job::Shadow(job(tx)))
        .await
        .map_err(|_| Error::Unavailable("writer stopped".into()))?;
    rx.await
        .map_err(|_| Error::Unavailable("writer stopped".into()))
}

/// Compiles `files` and runs their own test cases; a set that fails either
/// is refused with its errors, naming the field `files`.
pub async fn start(
    shared: &Arc<Shared>,
    files: Vec<SourceFile>,
) -> Result<proto::ShadowReportResponse, Error> {
    let offset = shared.config.utc_offset_hours;
    let compiled =
        tokio::task::spawn_blocking(move || reload_guard::compile_tested(&files, offset))
            .await
            .map_err(|e| Error::Unavailable(format!("compile task failed: {e}")))?;
    let set = compiled.map_err(|e| Error::invalid("files", e.to_string()))?;
    let warnings = set.warnings.clone();
    let figures = ask(shared, |reply| ShadowJob::Start { rules: set, reply }).await?;
    tracing::info!(candidate = %figures.as_ref().map_or("", |f| f.candidate_version.as_str()), "shadow run started");
    let mut out = to_proto(shared, figures);
    out.warnings = warnings;
    Ok(out)
}

/// The running candidate's report (`running` false when none runs).
pub async fn report(shared: &Arc<Shared>) -> Result<proto::ShadowReportResponse, Error> {
    let figures = ask(shared, |reply| ShadowJob::Report { reply }).await?;
    Ok(to_proto(shared, figures))
}

/// Ends the run; its last report.
pub async fn stop(shared: &Arc<Shared>) -> Result<proto::ShadowReportResponse, Error> {
    let figures = ask(shared, |reply| ShadowJob::Stop { reply }).await?;
    let mut out = to_proto(shared, figures);
    out.running = false;
    Ok(out)
}

/// Puts the candidate in force; FAILED_PRECONDITION when none runs.
pub async fn promote(shared: &Arc<Shared>) -> Result<proto::ReloadResponse, Error> {
    let _one_at_a_time = shared.reload_lock.lock().await;
    let previous = shared.rules.load_full();
    let Some((set, kept)) = ask(shared, |reply| ShadowJob::Promote { reply }).await? else {
        return Err(Error::FailedPrecondition(
            "no shadow run to promote: start one with StartShadow".into(),
        ));
    };
    let mut out = proto::ReloadResponse {
        previous_version: previous.version.clone(),
        ..Default::default()
    };
    reload::installed(shared, &set, kept, &mut out);
    shared.metrics.reload(true);
    Ok(out)
}

fn to_proto(shared: &Shared, figures: Option<ShadowFigures>) -> proto::ShadowReportResponse {
    let live_version = shared.rules.load().version.clone();
    let Some(f) = figures else {
        return proto::ShadowReportResponse {
            live_version,
            ..Default::default()
        };
    };
    let samples = |s: Vec<PairSample>| {
        s.into_iter()
            .map(|p| proto::ShadowPairSample {
                alert_key: p.alert_key,
                subject: p.subject,
                rule_ids: p.rule_ids,
            })
            .collect()
    };
    proto::ShadowReportResponse {
        running: f.stopped.is_none(),
        candidate_version: f.candidate_version,
        live_version,
        started_at_ms: f.started_at_ms,
        alerts: f.alerts,
        rules: f
            .rules
            .into_iter()
            .map(
                |(rule_id, (live_hits, shadow_hits))| proto::ShadowRuleFigures {
                    rule_id: rule_id.to_string(),
                    live_hits,
                    shadow_hits,
                },
            )
            .collect(),
        live_pairs: f.live_pairs,
        shadow_pairs: f.shadow_pairs,
        pairs_added: f.added,
        pairs_removed: f.removed,
        added: samples(f.added_samples),
        removed: samples(f.removed_samples),
        live_evaluations: f.live_evaluations,
        shadow_evaluations: f.shadow_evaluations,
        stopped: f.stopped.unwrap_or_default(),
        warnings: Vec::new(),
    }
}
