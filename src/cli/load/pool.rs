//! The alerts a load run sends, generated before the clock starts, and the
//! source ids that tie an ack or a task on the watch back to its batch.

use crate::cli::generate::{AlertStream, GenError, GenOptions};
use crate::directory::Directory;
use crate::proto;
use crate::rules::RuleSet;

/// Most alerts generated: a longer run cycles through them under new
/// source ids (about 100 MB of alerts in memory at this size).
pub const POOL_MAX: usize = 200_000;
/// Fewest alerts generated, so that a short run still plants victims.
const POOL_MIN: usize = 2_000;
/// Event time the pool is spread over, ending a minute before now.
const SPAN_MS: i64 = 3_600_000;

/// Generated alerts, sent in batches under ids unique to a run.
pub struct Pool {
    alerts: Vec<proto::Alert>,
}

impl Pool {
    /// `count` alerts (bounded to `POOL_MIN..=POOL_MAX`) of the seeded
    /// stream under `jurisdiction`: planted victims (one person in 20, some
    /// warned again) among noise, no re-sends and nothing malformed, since
    /// every alert should be accepted.
    pub fn generate(
        dir: &Directory,
        rules: &RuleSet,
        seed: u64,
        count: usize,
        jurisdiction: &str,
        now_ms: i64,
    ) -> Result<Pool, GenError> {
        let count = count.clamp(POOL_MIN, POOL_MAX);
        let opts = GenOptions {
            seed,
            count,
            victims: count / 20,
            duplicate_rate: 0.2,
            resend_rate: 0.0,
            malformed_rate: 0.0,
            start_ms: now_ms - SPAN_MS - 60_000,
            jurisdiction: jurisdiction.to_string(),
            lookalikes: false,
            span_ms: Some(SPAN_MS),
        };
        let alerts = AlertStream::new(dir, rules, &opts)?
            .map(|r| r.to_proto())
            .collect();
        Ok(Pool { alerts })
    }

    /// Alerts in the pool.
    pub fn count(&self) -> usize {
        self.alerts.len()
    }

    /// Batch `k` of `size` alerts, numbered `k` and renamed for `tag`. The
    /// engine dedupes by source and source id, so each needs its own id
    /// even when the pool comes round again.
    pub fn batch(&self, tag: &RunTag, k: u64, size: usize) -> proto::AlertBatch {
        let n = self.alerts.len().max(1);
        let start = (k as usize).wrapping_mul(size) % n;
        let alerts = (0..size)
            .filter_map(|i| {
                let mut a = self.alerts.get((start + i) % n)?.clone();
                a.source_id = tag.source_id(k, i);
                Some(a)
            })
            .collect();
        proto::AlertBatch {
            sequence: k,
            alerts,
        }
    }
}

/// The source-id prefix of one run: `{tag}-{batch}-{index}`.
#[derive(Clone, Debug)]
pub struct RunTag(String);

impl RunTag {
    /// A tag no earlier run against the same server used: the start time,
    /// and the step of a sweep.
    pub fn new(now_ms: i64, step: usize) -> RunTag {
        RunTag(format!("load{now_ms}s{step}"))
    }

    /// The source id of alert `i` of batch `k`.
    pub fn source_id(&self, k: u64, i: usize) -> String {
        format!("{}-{k}-{i}", self.0)
    }

    /// Batch and index of an alert key (`source/source_id`) of this run;
    /// `None` for any other alert.
    pub fn parse(&self, alert_key: &str) -> Option<(u64, u32)> {
        let (_, id) = alert_key.rsplit_once('/')?;
        let rest = id.strip_prefix(self.0.as_str())?.strip_prefix('-')?;
        let (k, i) = rest.split_once('-')?;
        Some((k.parse().ok()?, i.parse().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_tag_reads_back_the_batch_of_its_own_alerts_only() {
        let tag = RunTag::new(1_700_000_000_000, 2);
        let key = format!("gz-bank-boc/{}", tag.source_id(41, 7));
        assert_eq!(tag.parse(&key), Some((41, 7)));
        let other = RunTag::new(1_700_000_000_000, 3);
        assert_eq!(other.parse(&key), None);
        assert_eq!(tag.parse("gz-bank-boc/walk-1"), None);
        // A prefix of another run's tag is not this run.
        let short = RunTag("load1".into());
        assert_eq!(short.parse("x/load12-1-1"), None);
    }
}
