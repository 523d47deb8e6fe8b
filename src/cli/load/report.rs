//! What a load run measured: latency percentiles out of the histograms, the
//! summary `--json` writes, and the table printed at the end.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Longest latency a histogram holds, µs; longer ones count as this.
const MAX_LATENCY_US: u64 = 600_000_000;

/// A latency histogram in microseconds, 3 significant figures.
pub fn histogram() -> Histogram<u64> {
    // Bounds are constants that `new_with_bounds` accepts (low ≥ 1,
    // high ≥ 2 × low, sigfig ≤ 5).
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// Records `n` samples of `us` microseconds, clamped into the histogram's range.
pub fn record(h: &mut Histogram<u64>, us: u128, n: u64) {
    let us = u64::try_from(us)
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_LATENCY_US);
    // In range by the clamp above.
    let _ = h.record_n(us, n);
}

/// Percentiles of one latency, milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Samples: alerts, each with its batch's latency.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

impl Latency {
    /// The percentiles of `h` (all zero when it is empty).
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1_000.0;
        Latency {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1_000.0,
        }
    }
}

/// Counts the acks of a run added up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AckTotals {
    /// Alerts acked: accepted and rejected.
    pub acked: u64,
    /// Alerts accepted.
    pub accepted: u64,
    /// Of them, already known (should be 0: every id is new).
    pub duplicates: u64,
    /// Alerts rejected.
    pub rejected: u64,
    /// Pairs created.
    pub pairs_created: u64,
    /// Alerts merged into open pairs.
    pub merged: u64,
}

impl AckTotals {
    /// Adds one ack.
    pub fn add(&mut self, ack: &crate::proto::PublishAck) {
        let rejected = ack.rejections.len() as u64;
        self.acked += u64::from(ack.accepted) + rejected;
        self.accepted += u64::from(ack.accepted);
        self.duplicates += u64::from(ack.duplicates);
        self.rejected += rejected;
        self.pairs_created += u64::from(ack.pairs_created);
        self.merged += u64::from(ack.merged);
    }

    /// Adds another stream's totals.
    pub fn merge(&mut self, o: &AckTotals) {
        self.acked += o.acked;
        self.accepted += o.accepted;
        self.duplicates += o.duplicates;
        self.rejected += o.rejected;
        self.pairs_created += o.pairs_created;
        self.merged += o.merged;
    }
}

/// The summary of one load run, as `--json` writes it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadSummary {
    /// Offered rate, alerts/s over all streams; 0 = as fast as possible.
    pub offered_rate: u64,
    /// Publish streams, one connection each.
    pub streams: usize,
    /// Alerts per batch.
    pub batch: usize,
    /// Seconds of sending.
    pub duration_s: f64,
    /// Alerts sent.
    pub sent: u64,
    /// What the acks said.
    pub acks: AckTotals,
    /// Alerts acked per second, from the first send to the last ack.
    pub achieved_rate: f64,
    /// Furthest a sender fell behind its schedule, ms (the client or the
    /// server's backpressure could not keep the offered rate).
    pub behind_ms: f64,
    /// Alerts of this run whose task was seen on the watch.
    pub tasks_seen: u64,
    /// CREATED and MERGED events on the watch that named an alert of this run.
    pub task_events: u64,
    /// Batch handed to the stream → its ack, per alert.
    pub ack: Latency,
    /// Batch handed to the stream → the first watch event naming the alert.
    pub task: Latency,
}

/// The header and one line per run.
pub fn table(runs: &[LoadSummary]) -> Vec<String> {
    let mut out = vec![format!(
        "{:>8} {:>9} {:>9} {:>7} {:>7} | {:>28} | {:>28}",
        "offered",
        "achieved",
        "acked",
        "tasks",
        "behind",
        "ack ms p50/p99/p99.9/max",
        "task ms p50/p99/p99.9/max"
    )];
    for r in runs {
        let offered = match r.offered_rate {
            0 => "max".to_string(),
            n => n.to_string(),
        };
        out.push(format!(
            "{:>8} {:>9.0} {:>9} {:>7} {:>6.0}ms | {:>28} | {:>28}",
            offered,
            r.achieved_rate,
            r.acks.acked,
            r.tasks_seen,
            r.behind_ms,
            percentiles(&r.ack),
            percentiles(&r.task)
        ));
    }
    out
}

fn percentiles(l: &Latency) -> String {
    if l.count == 0 {
        return "—".into();
    }
    format!(
        "{} / {} / {} / {}",
        ms(l.p50_ms),
        ms(l.p99_ms),
        ms(l.p999_ms),
        ms(l.max_ms)
    )
}

/// Two decimals under 10 ms, one under 100, none above.
fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_latency_percentiles_come_out_in_milliseconds() {
        let mut h = histogram();
        record(&mut h, 1_000, 98);
        record(&mut h, 40_000, 2);
        let l = Latency::of(&h);
        assert_eq!(l.count, 100);
        assert!((l.p50_ms - 1.0).abs() < 0.01, "{l:?}");
        assert!((l.p99_ms - 40.0).abs() < 0.1, "{l:?}");
        assert!(l.p50_ms <= l.p99_ms && l.p99_ms <= l.p999_ms && l.p999_ms <= l.max_ms);
    }

    #[test]
    fn load_latency_out_of_range_is_clamped_not_lost() {
        let mut h = histogram();
        record(&mut h, 0, 1);
        record(&mut h, u128::MAX, 1);
        assert_eq!(h.len(), 2);
        assert_eq!(Latency::of(&histogram()), Latency::default());
    }
}
