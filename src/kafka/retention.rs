//! The check that alert keys outlive the messages they guard: a message
//! re-read after its `source/source_id` key left the store (after
//! `alert_retention`) would count as new. At start the ingest topics'
//! `retention.ms` is read from the brokers and compared; a shorter
//! `alert_retention` is logged as a warning naming both.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;

use super::client_config;
use crate::config::KafkaConfig;

/// True when a topic keeps messages longer than the store keeps alert
/// keys (`retention_ms` < 0: forever).
pub fn keys_expire_first(alert_retention: Duration, retention_ms: i64) -> bool {
    retention_ms < 0 || Duration::from_millis(retention_ms as u64) > alert_retention
}

/// Reads each ingest topic's `retention.ms` and warns where the alert keys
/// would expire first; a broker that does not answer is logged at debug.
pub async fn check(k: &KafkaConfig, alert_retention: Duration) {
    let admin: AdminClient<DefaultClientContext> = match client_config(k).create() {
        Ok(a) => a,
        Err(e) => {
            tracing::debug!(error = %e, "cannot make a Kafka admin client for the retention check");
            return;
        }
    };
    let specs: Vec<ResourceSpecifier<'_>> = k
        .topics
        .iter()
        .map(|t| ResourceSpecifier::Topic(&t.name))
        .collect();
    let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let results = match admin.describe_configs(&specs, &opts).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "topic retention not readable; not checked");
            return;
        }
    };
    for (topic, r) in k.topics.iter().zip(results) {
        let retention = r
            .ok()
            .and_then(|c| c.get("retention.ms").and_then(|e| e.value.clone()))
            .and_then(|v| v.parse::<i64>().ok());
        match retention {
            Some(ms) if keys_expire_first(alert_retention, ms) => tracing::warn!(
                topic = %topic.name,
                retention_ms = ms,
                alert_retention = %humantime::format_duration(alert_retention),
                "the topic keeps messages longer than the store keeps alert keys: a message re-read after alert_retention would count again; raise alert_retention"
            ),
            Some(_) => {}
            None => tracing::debug!(topic = %topic.name, "retention.ms not readable; not checked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_outlive_the_topic() {
        let day = Duration::from_secs(86_400);
        let week_ms = 7 * 86_400_000;
        assert!(!keys_expire_first(180 * day, week_ms));
        assert!(keys_expire_first(3 * day, week_ms));
        assert!(keys_expire_first(180 * day, -1), "a topic kept forever");
        assert!(!keys_expire_first(7 * day, week_ms), "equal is enough");
    }
}
