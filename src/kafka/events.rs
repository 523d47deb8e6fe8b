//! Task events to Kafka (to come).

use std::sync::Arc;

use crate::app::Shared;
use crate::config::KafkaConfig;

/// Produces every task event until `stop`.
pub async fn run(_shared: Arc<Shared>, _k: KafkaConfig, _stop: tokio::sync::watch::Receiver<bool>) {
}
