//! Honest health: the writer thread's state, watched by the server.
//!
//! The writer thread reports `Running`, `Failing` (commits fail; it keeps
//! trying) or, if it panics, `Died`. The server follows that state into
//! the gRPC health service: anything but `Running` is NOT_SERVING. A dead
//! writer cannot come back, so after health has turned the server stops
//! and the process exits non-zero, for a supervisor to restart it.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::model::mask;

/// How long NOT_SERVING shows before a server with a dead writer stops.
pub const DEATH_GRACE: Duration = Duration::from_secs(2);

/// What the writer thread can do now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriterStatus {
    /// Taking work.
    Running,
    /// Commits fail (for example a full disk); each new job tries again.
    Failing(String),
    /// The thread panicked; only a restart helps.
    Died(String),
}

/// The writer thread's side of the status.
pub struct StatusReport(watch::Sender<WriterStatus>);

impl StatusReport {
    /// Sets the status; watchers wake only on a change.
    pub fn set(&self, status: WriterStatus) {
        self.0.send_if_modified(|s| {
            let changed = *s != status;
            *s = status;
            changed
        });
    }
}

/// Runs `body` on a new named thread; a panic in it becomes `Died`.
pub fn spawn(
    name: &str,
    body: impl FnOnce(&StatusReport) + Send + 'static,
) -> std::io::Result<watch::Receiver<WriterStatus>> {
    let (tx, rx) = watch::channel(WriterStatus::Running);
    let report = StatusReport(tx);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            if let Err(p) = std::panic::catch_unwind(AssertUnwindSafe(|| body(&report))) {
                let why = p
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                let why = format!("the writer thread panicked: {}", mask::bounded(&why, 200));
                tracing::error!(error = %why, "writer died; health is NOT_SERVING and the server stops");
                report.set(WriterStatus::Died(why));
            }
        })?;
    Ok(rx)
}

/// Keeps `services` (and the overall "" entry) in step with the writer
/// until the writer is gone.
pub async fn follow(
    mut status: watch::Receiver<WriterStatus>,
    health: HealthReporter,
    services: Vec<&'static str>,
) {
    loop {
        let now = status.borrow_and_update().clone();
        let serving = match &now {
            WriterStatus::Running => ServingStatus::Serving,
            WriterStatus::Failing(why) => {
                tracing::error!(error = %why, "writer cannot commit; health is NOT_SERVING until a commit succeeds");
                ServingStatus::NotServing
            }
            WriterStatus::Died(_) => ServingStatus::NotServing,
        };
        for s in services.iter().copied().chain([""]) {
            health.set_service_status(s, serving).await;
        }
        if matches!(now, WriterStatus::Died(_)) || status.changed().await.is_err() {
            return;
        }
    }
}

/// Resolves once the writer has died (never, if it ends normally).
pub async fn died(mut status: watch::Receiver<WriterStatus>) -> String {
    loop {
        if let WriterStatus::Died(why) = &*status.borrow_and_update() {
            return why.clone();
        }
        if status.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic_health::pb::health_check_response::ServingStatus as Wire;
    use tonic_health::pb::health_server::Health;
    use tonic_health::server::HealthService;

    use super::*;

    const INGEST: &str = "dualwarn.v1.AlertIngest";

    /// What a health client would be told about `name`.
    async fn check(h: &HealthReporter, name: &str) -> Wire {
        let svc = HealthService::from_health_reporter(h.clone());
        let r = svc
            .check(tonic::Request::new(tonic_health::pb::HealthCheckRequest {
                service: name.into(),
            }))
            .await
            .unwrap();
        Wire::try_from(r.into_inner().status).unwrap()
    }

    #[tokio::test]
    async fn a_panicking_writer_is_reported_dead_and_health_turns() {
        let rx = spawn("test-writer", |_| panic!("boom at 13900000001")).unwrap();
        let why = tokio::time::timeout(Duration::from_secs(10), died(rx.clone()))
            .await
            .unwrap();
        assert!(why.contains("boom"), "{why}");
        assert!(!why.contains("13900000001"), "masked: {why}");
        let (health, _service) = tonic_health::server::health_reporter();
        assert_eq!(check(&health, "").await, Wire::Serving);
        follow(rx, health.clone(), vec![INGEST]).await;
        assert_eq!(check(&health, INGEST).await, Wire::NotServing);
        assert_eq!(check(&health, "").await, Wire::NotServing);
    }

    #[tokio::test]
    async fn failing_commits_turn_health_until_one_succeeds() {
        let (tx, rx) = watch::channel(WriterStatus::Running);
        let report = StatusReport(tx);
        let (health, _service) = tonic_health::server::health_reporter();
        let follower = tokio::spawn(follow(rx, health.clone(), vec![INGEST]));
        let settle = || tokio::time::sleep(Duration::from_millis(50));
        settle().await;
        assert_eq!(check(&health, INGEST).await, Wire::Serving);
        report.set(WriterStatus::Failing("disk full".into()));
        settle().await;
        assert_eq!(check(&health, INGEST).await, Wire::NotServing);
        assert_eq!(check(&health, "").await, Wire::NotServing);
        report.set(WriterStatus::Running);
        settle().await;
        assert_eq!(check(&health, INGEST).await, Wire::Serving);
        drop(report);
        tokio::time::timeout(Duration::from_secs(5), follower)
            .await
            .unwrap()
            .unwrap();
    }
}
