//! Retention on a timer: at start and then every [`RETENTION_EVERY`], the
//! store drops task events and alerts older than the configured ages. Runs
//! on a blocking thread beside the writer; the store keeps each step short.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::store::{RetentionCut, Store};

/// How often retention runs.
pub const RETENTION_EVERY: Duration = Duration::from_secs(600);

/// What goes at `now_ms` under `config`.
pub fn cut(config: &Config, now_ms: i64) -> RetentionCut {
    let ago = |d: Duration| now_ms.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    RetentionCut {
        events_before_ms: ago(config.event_retention),
        events_through_seq: u64::MAX,
        alerts_before_ms: ago(config.alert_retention),
    }
}

/// Runs retention until the returned task is dropped or aborted.
pub fn spawn(
    store: Arc<dyn Store>,
    config: Config,
    clock: fn() -> i64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(RETENTION_EVERY);
        loop {
            every.tick().await;
            let (store, mut cut) = (store.clone(), cut(&config, clock()));
            let events_topic = config
                .kafka
                .as_ref()
                .is_some_and(|k| k.events_topic.is_some());
            match tokio::task::spawn_blocking(move || {
                if events_topic {
                    // Never past what the events producer has delivered.
                    cut.events_through_seq = store.cursor(crate::kafka::events::CURSOR)?;
                }
                store.compact(&cut)
            })
            .await
            {
                Ok(Ok(done)) if done.events + done.alerts > 0 => tracing::info!(
                    events = done.events,
                    alerts = done.alerts,
                    "retention removed old task events and alerts"
                ),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "retention failed; retried at the next run")
                }
                Err(e) => tracing::error!(error = %e, "retention task failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cut_is_the_configured_age_before_now() {
        let c = Config::default();
        let day = 86_400_000;
        let got = cut(&c, 1000 * day);
        assert_eq!(got.events_before_ms, 910 * day);
        assert_eq!(got.alerts_before_ms, 820 * day);
    }
}
