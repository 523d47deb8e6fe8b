//! Operational figures (运行指标) for Prometheus: counted where the work
//! happens, rendered in the OpenMetrics text format at `/metrics` on the
//! HTTP port. Off the hot path's way: a batch adds its counts once, never
//! one update per alert, and every figure is an atomic (no lock per alert;
//! a labelled family takes a read lock per batch and label).
//!
//! Where it sits: beside the flow. Ingest, the writer thread and the
//! reloads write to it; the HTTP edge reads it.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Seconds buckets of batch, commit and alert-to-task latency: 0.5 ms to ~65 s.
fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 18)
}

/// A label of one value.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FieldLabel {
    /// The field that made an alert be rejected.
    pub field: String,
}

/// The rule a hit came from.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabel {
    /// Rule id.
    pub rule: String,
}

/// Tasks by status and level.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabels {
    /// open | acknowledged | in_progress.
    pub status: String,
    /// high | medium | low.
    pub level: String,
}

/// One kind label (escalation kind, reload result, latency clock).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// The kind.
    pub kind: String,
}

/// Every figure the engine exports.
pub struct Metrics {
    registry: Registry,
    /// Alerts received in batches.
    pub alerts_received: Counter,
    /// Alerts accepted (new or re-sent).
    pub alerts_accepted: Counter,
    /// Accepted alerts seen before (a re-send).
    pub alerts_duplicate: Counter,
    /// Alerts rejected, by the field named in the rejection.
    pub alerts_rejected: Family<FieldLabel, Counter>,
    /// Ingest batch: received to acknowledged (durable), seconds.
    pub batch_seconds: Histogram,
    /// One store transaction, seconds.
    pub commit_seconds: Histogram,
    /// Alert to its task durable, seconds, by clock: `event` (the alert's
    /// own time) and `arrival` (when the engine received it).
    pub alert_to_task_seconds: Family<KindLabel, Histogram>,
    /// Rule hits that made or joined a task, by rule.
    pub rule_hits: Family<RuleLabel, Counter>,
    /// Pairs made.
    pub pairs_created: Counter,
    /// Open tasks by status and level (at the last escalation check).
    pub open_tasks: Family<TaskLabels, Gauge>,
    /// Open tasks past their deadline (at the last escalation check).
    pub overdue_tasks: Gauge,
    /// Escalation events, by kind (overdue, renotified).
    pub escalations: Family<KindLabel, Counter>,
    /// Rule and directory reloads, by result (ok, failed).
    pub reloads: Family<KindLabel, Counter>,
    /// Kafka: alerts put on the dead-letter topic.
    pub kafka_dead_letters: Counter,
    /// Kafka: times the ingest partitions were paused (queue full, rate limit).
    pub kafka_pauses: Counter,
    /// Kafka: consumer or producer restarts after a failure.
    pub kafka_restarts: Counter,
    /// Kafka: consumer errors read on (a broker down, a connection lost).
    pub kafka_errors: Counter,
    /// Kafka: task events on the events topic.
    pub kafka_events_produced: Counter,
    /// Batches waiting in the writer queue.
    pub writer_queue: Gauge,
    /// Sliding windows held.
    pub windows: Gauge,
    /// Account-link graph nodes.
    pub graph_nodes: Gauge,
    /// Account-link graph links.
    pub graph_links: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every figure at zero, registered under `dualwarn_`.
    pub fn new() -> Metrics {
        let mut m = Metrics {
            alerts_received: Counter::default(),
            alerts_accepted: Counter::default(),
            alerts_duplicate: Counter::default(),
            alerts_rejected: Family::default(),
            batch_seconds: Histogram::new(latency_buckets()),
            commit_seconds: Histogram::new(latency_buckets()),
            alert_to_task_seconds: Family::new_with_constructor(|| {
                Histogram::new(latency_buckets())
            }),
            rule_hits: Family::default(),
            pairs_created: Counter::default(),
            open_tasks: Family::default(),
            overdue_tasks: Gauge::default(),
            escalations: Family::default(),
            reloads: Family::default(),
            kafka_dead_letters: Counter::default(),
            kafka_pauses: Counter::default(),
            kafka_restarts: Counter::default(),
            kafka_errors: Counter::default(),
            kafka_events_produced: Counter::default(),
            writer_queue: Gauge::default(),
            windows: Gauge::default(),
            graph_nodes: Gauge::default(),
            graph_links: Gauge::default(),
            registry: Registry::with_prefix("dualwarn"),
        };
        let mut registry = std::mem::take(&mut m.registry);
        let r = &mut registry;
        r.register(
            "alerts_received",
            "Alerts received in batches",
            m.alerts_received.clone(),
        );
        r.register(
            "alerts_accepted",
            "Alerts accepted (new or re-sent)",
            m.alerts_accepted.clone(),
        );
        r.register(
            "alerts_duplicate",
            "Accepted alerts seen before",
            m.alerts_duplicate.clone(),
        );
        r.register(
            "alerts_rejected",
            "Alerts rejected, by field",
            m.alerts_rejected.clone(),
        );
        r.register(
            "batch_seconds",
            "Ingest batch received to acknowledged",
            m.batch_seconds.clone(),
        );
        r.register(
            "commit_seconds",
            "One store transaction",
            m.commit_seconds.clone(),
        );
        r.register(
            "alert_to_task_seconds",
            "Alert to its task durable, by clock (event, arrival)",
            m.alert_to_task_seconds.clone(),
        );
        r.register(
            "rule_hits",
            "Rule hits that made or joined a task",
            m.rule_hits.clone(),
        );
        r.register(
            "pairs_created",
            "Dual-warning pairs made",
            m.pairs_created.clone(),
        );
        r.register(
            "open_tasks",
            "Open tasks by status and level",
            m.open_tasks.clone(),
        );
        r.register(
            "overdue_tasks",
            "Open tasks past their deadline",
            m.overdue_tasks.clone(),
        );
        r.register(
            "escalations",
            "Escalation events by kind",
            m.escalations.clone(),
        );
        r.register(
            "reloads",
            "Rule and directory reloads by result",
            m.reloads.clone(),
        );
        r.register(
            "writer_queue_depth",
            "Jobs waiting for the writer",
            m.writer_queue.clone(),
        );
        r.register("windows", "Sliding windows held", m.windows.clone());
        r.register(
            "graph_nodes",
            "Account-link graph nodes",
            m.graph_nodes.clone(),
        );
        r.register(
            "graph_links",
            "Account-link graph links",
            m.graph_links.clone(),
        );
        r.register(
            "kafka_dead_letters",
            "Alerts put on the Kafka dead-letter topic",
            m.kafka_dead_letters.clone(),
        );
        r.register(
            "kafka_pauses",
            "Times Kafka ingest paused its partitions (writer queue full, rate limit)",
            m.kafka_pauses.clone(),
        );
        r.register(
            "kafka_restarts",
            "Kafka consumer or producer restarts after a failure",
            m.kafka_restarts.clone(),
        );
        r.register(
            "kafka_errors",
            "Kafka consumer errors read on (a broker down, a connection lost)",
            m.kafka_errors.clone(),
        );
        r.register(
            "kafka_events_produced",
            "Task events produced to the Kafka events topic",
            m.kafka_events_produced.clone(),
        );
        m.registry = registry;
        m
    }

    /// The OpenMetrics text of every figure.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    /// Counts a reload's result.
    pub fn reload(&self, ok: bool) {
        let kind = if ok { "ok" } else { "failed" };
        self.reloads
            .get_or_create(&KindLabel { kind: kind.into() })
            .inc();
    }
}
