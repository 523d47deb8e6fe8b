//! Hot reload of the rule set: compile off the hot path (a blocking worker),
//! then hand the compiled set to the writer, which swaps it between two
//! batches — so no alert is lost or matched twice, and unchanged windows
//! keep their state. An invalid set never replaces a good one: the error is
//! logged, kept for `RuleAdmin.Status`, and the old set keeps running.

use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, oneshot};

use super::{Job, Shared, now_ms, reload_guard};
use crate::proto;
use crate::rules::{RuleError, RuleSet};

/// Quiet time after the last file event before reloading: editors write
/// a file in several steps.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// What the running rule set is and how the last reload went.
#[derive(Clone, Debug, Default)]
pub struct RuleStatus {
    /// Version in force.
    pub version: String,
    /// Enabled rules.
    pub rules: u32,
    /// When it was put in force.
    pub loaded_at_ms: i64,
    /// Warnings of the set in force.
    pub warnings: Vec<String>,
    /// Last failed reload, until one succeeds.
    pub last_error: String,
    /// When it failed.
    pub last_error_at_ms: i64,
}

impl RuleStatus {
    /// Status of a set just put in force.
    pub fn loaded(set: &RuleSet, at_ms: i64) -> RuleStatus {
        RuleStatus {
            version: set.version.clone(),
            rules: u32::try_from(set.enabled_count()).unwrap_or(u32::MAX),
            loaded_at_ms: at_ms,
            warnings: set.warnings.clone(),
            ..RuleStatus::default()
        }
    }
}

fn errors_of(e: RuleError) -> Vec<String> {
    match e {
        RuleError::Invalid(v) => v,
        other => vec![other.to_string()],
    }
}

/// Reloads the server's rule directory: a consistent read, compiled and
/// tested off the hot path; a set that guts the one in force is refused
/// unless `force`. Counted in the reload figures: applied or failed (files
/// that still hold the set in force count as neither).
pub async fn reload(shared: &Arc<Shared>, force: bool) -> proto::ReloadResponse {
    let out = reload_set(shared, force).await;
    if out.applied || !out.errors.is_empty() {
        shared.metrics.reload(out.applied);
    }
    out
}

async fn reload_set(shared: &Arc<Shared>, force: bool) -> proto::ReloadResponse {
    let _one_at_a_time = shared.reload_lock.lock().await;
    let previous = shared.rules.load_full();
    let dir = shared.config.rules_dir.clone();
    let offset = shared.config.utc_offset_hours;
    let compiled = tokio::task::spawn_blocking(move || {
        let files = reload_guard::read_stable(&dir)?;
        reload_guard::compile_tested(&files, offset)
    })
    .await
    .unwrap_or_else(|e| {
        Err(RuleError::Invalid(vec![format!(
            "compile task failed: {e}"
        )]))
    });
    let mut out = proto::ReloadResponse {
        version: previous.version.clone(),
        previous_version: previous.version.clone(),
        ..Default::default()
    };
    let set = match compiled {
        Ok(set) => set,
        Err(e) => {
            out.errors = errors_of(e);
            record_failure(shared, &out.errors);
            return out;
        }
    };
    out.warnings = set.warnings.clone();
    if set.version == previous.version {
        // The files are back to the set in force: the last failure is over.
        if let Ok(mut s) = shared.rule_status.lock() {
            s.last_error.clear();
            s.last_error_at_ms = 0;
        }
        return out;
    }
    let gutted = reload_guard::gutting(&previous, &set, shared.config.reload_max_drop);
    if !gutted.is_empty() && !force {
        out.errors = gutted;
        out.errors.push(
            "refused: this would gut the rule set in force; fix the files, or reload with force"
                .into(),
        );
        record_failure(shared, &out.errors);
        return out;
    }
    if !gutted.is_empty() {
        tracing::warn!(why = %gutted.join("; "), "forced reload of a much smaller rule set");
    }
    let (tx, rx) = oneshot::channel();
    if shared
        .jobs
        .send(Job::SwapRules {
            rules: set.clone(),
            reply: tx,
        })
        .await
        .is_err()
    {
        out.errors = vec!["writer stopped".into()];
        return out;
    }
    let Ok(kept) = rx.await else {
        out.errors = vec!["writer stopped".into()];
        return out;
    };
    installed(shared, &set, kept, &mut out);
    out
}

/// Records `set` as the one in force after the writer swapped it in
/// (`kept` windows carried over), for status and admin calls.
pub(super) fn installed(
    shared: &Shared,
    set: &Arc<RuleSet>,
    kept: usize,
    out: &mut proto::ReloadResponse,
) {
    shared.rules.store(set.clone());
    if let Ok(mut s) = shared.rule_status.lock() {
        *s = RuleStatus::loaded(set, now_ms());
    }
    tracing::info!(version = %set.version, previous = %out.previous_version, rules = set.enabled_count(), windows_kept = kept, "rule set put in force");
    out.applied = true;
    out.version = set.version.clone();
    out.warnings = set.warnings.clone();
    out.windows_kept = u32::try_from(kept).unwrap_or(u32::MAX);
}

fn record_failure(shared: &Shared, errors: &[String]) {
    let text = errors.join("\n");
    tracing::error!(errors = errors.len(), first = %errors.first().map_or("", String::as_str), "rule reload refused; the previous set keeps running");
    if let Ok(mut s) = shared.rule_status.lock() {
        s.last_error = text;
        s.last_error_at_ms = now_ms();
    }
}

/// Watches the rule directory and reloads after changes settle. The
/// returned watcher must be kept alive; `None` when the directory cannot
/// be watched (logged, reload by RPC still works).
pub fn watch_rules(shared: Arc<Shared>) -> anyhow::Result<Option<notify::RecommendedWatcher>> {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if ev.is_ok_and(|e| !e.kind.is_access()) {
            // A full channel already holds a pending reload.
            let _ = tx.try_send(());
        }
    })?;
    if let Err(e) = watcher.watch(&shared.config.rules_dir, RecursiveMode::Recursive) {
        tracing::warn!(error = %e, dir = %shared.config.rules_dir.display(), "cannot watch the rule directory; reload by RPC only");
        return Ok(None);
    }
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Let the burst of events settle, then drain what came meanwhile.
            tokio::time::sleep(DEBOUNCE).await;
            while rx.try_recv().is_ok() {}
            let r = reload(&shared, false).await;
            if !r.applied && r.errors.is_empty() {
                tracing::debug!("rule files changed but the set is the same");
            }
        }
    });
    Ok(Some(watcher))
}
