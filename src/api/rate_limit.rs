//! Per-source rate limits: one token bucket per limited `source`, filled at
//! its sustained rate up to its burst. A batch passes whole or not at all,
//! so a refused batch can be re-sent unchanged; nothing is dropped. Pure:
//! the clock is passed in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::RateLimit;
use crate::error::Error;

#[derive(Debug)]
struct Bucket {
    per_ms: f64,
    burst: f64,
    tokens: f64,
    at_ms: i64,
}

impl Bucket {
    fn refill(&mut self, now_ms: i64) {
        let elapsed = now_ms.saturating_sub(self.at_ms).max(0) as f64;
        self.tokens = (self.tokens + elapsed * self.per_ms).min(self.burst);
        self.at_ms = self.at_ms.max(now_ms);
    }
}

/// The buckets of every limited source.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Buckets for `limits`, full at `now_ms`.
    pub fn new(limits: &[RateLimit], now_ms: i64) -> RateLimiter {
        let buckets = limits
            .iter()
            .map(|l| {
                let burst = f64::from(l.burst());
                let bucket = Bucket {
                    per_ms: f64::from(l.per_second) / 1000.0,
                    burst,
                    tokens: burst,
                    at_ms: now_ms,
                };
                (l.source.clone(), bucket)
            })
            .collect();
        RateLimiter {
            buckets: Mutex::new(buckets),
        }
    }

    /// True when no source is limited.
    pub fn is_empty(&self) -> bool {
        self.buckets.lock().map(|b| b.is_empty()).unwrap_or(true)
    }

    /// Takes `alerts` of `source` for every pair at `now_ms`, or none of
    /// them: RESOURCE_EXHAUSTED with the time until the batch would pass,
    /// INVALID_ARGUMENT when it is larger than the burst and never will.
    pub fn take(&self, wants: &[(&str, u32)], now_ms: i64) -> Result<(), Error> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Err(Error::Unavailable("rate limiter poisoned".into()));
        };
        let mut wait_ms = 0f64;
        for (source, n) in wants {
            let Some(b) = buckets.get_mut(*source) else {
                continue;
            };
            b.refill(now_ms);
            let n = f64::from(*n);
            if n > b.burst {
                return Err(Error::invalid(
                    "alerts",
                    format!(
                        "{n} alerts of source {:?} in one batch, more than its burst of {}; send smaller batches",
                        crate::model::mask::echo(source),
                        b.burst
                    ),
                ));
            }
            if n > b.tokens {
                wait_ms = wait_ms.max((n - b.tokens) / b.per_ms);
            }
        }
        if wait_ms > 0.0 {
            let (source, _) = wants
                .iter()
                .find(|(s, n)| buckets.get(*s).is_some_and(|b| f64::from(*n) > b.tokens))
                .copied()
                .unwrap_or(("", 0));
            let per_second = buckets.get(source).map_or(0.0, |b| b.per_ms * 1000.0);
            return Err(Error::Exhausted {
                what: format!(
                    "source {:?} is over its rate limit of {per_second} alerts/s; the batch was not read",
                    crate::model::mask::echo(source)
                ),
                retry_after: Duration::from_millis(wait_ms.ceil() as u64),
            });
        }
        for (source, n) in wants {
            if let Some(b) = buckets.get_mut(*source) {
                b.tokens -= f64::from(*n);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(
            &[RateLimit {
                source: "bank".into(),
                per_second,
                burst: Some(burst),
            }],
            0,
        )
    }

    fn retry_ms(e: Error) -> u128 {
        match e {
            Error::Exhausted { retry_after, .. } => retry_after.as_millis(),
            other => panic!("expected Exhausted, got {other}"),
        }
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let l = limiter(100, 200);
        l.take(&[("bank", 200)], 0).unwrap();
        let e = l.take(&[("bank", 50)], 0).unwrap_err();
        assert_eq!(retry_ms(e), 500);
        // Half a second later, exactly 50 are back.
        l.take(&[("bank", 50)], 500).unwrap();
        assert!(l.take(&[("bank", 1)], 500).is_err());
    }

    #[test]
    fn the_hint_is_enough_to_pass() {
        let l = limiter(7, 10);
        l.take(&[("bank", 10)], 1_000).unwrap();
        let wait = retry_ms(l.take(&[("bank", 9)], 1_000).unwrap_err());
        assert!(l.take(&[("bank", 9)], 1_000 + wait as i64 - 1).is_err());
        l.take(&[("bank", 9)], 1_000 + wait as i64).unwrap();
    }

    #[test]
    fn a_refused_batch_takes_nothing_from_any_source() {
        let l = RateLimiter::new(
            &[
                RateLimit {
                    source: "a".into(),
                    per_second: 10,
                    burst: Some(10),
                },
                RateLimit {
                    source: "b".into(),
                    per_second: 10,
                    burst: Some(10),
                },
            ],
            0,
        );
        l.take(&[("b", 8)], 0).unwrap();
        assert!(l.take(&[("a", 5), ("b", 5)], 0).is_err());
        // `a` kept its tokens.
        l.take(&[("a", 10)], 0).unwrap();
    }

    #[test]
    fn a_batch_over_the_burst_is_invalid_not_retryable() {
        let e = limiter(10, 20).take(&[("bank", 21)], 0).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    }

    #[test]
    fn unlimited_sources_and_a_clock_going_back_are_harmless() {
        let l = limiter(10, 10);
        l.take(&[("other", 1_000_000)], 0).unwrap();
        l.take(&[("bank", 10)], 5_000).unwrap();
        assert!(l.take(&[("bank", 1)], 1_000).is_err());
    }
}
