//! The replay's `now`, batch by batch: what the checks (event age) and
//! the graph's horizons are measured from.
//!
//! A server reads the wall clock when a batch comes. Alerts sent as they
//! happen arrive at about their event time, so the default, `event`,
//! replays each batch at its latest event time: the result depends on the
//! file alone, and an old stream is judged as it was when it came, not
//! refused for age. A file sent in one go judges every alert at the moment
//! of sending instead; `wall` (or a fixed unix-ms time) replays that.
//! Only rules on graph horizons (`card_fan_in(24h)` and the like) and the
//! graph's expiry see the difference; windows run on event time anyway.

use std::fmt;
use std::str::FromStr;

use crate::cli::record::AlertRecord;

/// Which `now` each batch runs at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayClock {
    /// The latest event time seen, never going back, never past the wall clock.
    Event,
    /// The wall clock when the batch runs, as a server fed the file at once.
    Wall,
    /// A fixed time, unix ms: every batch as if the file arrived then.
    At(i64),
}

impl FromStr for ReplayClock {
    type Err = String;

    fn from_str(s: &str) -> Result<ReplayClock, String> {
        match s {
            "event" => Ok(ReplayClock::Event),
            "wall" => Ok(ReplayClock::Wall),
            _ => s
                .parse::<i64>()
                .ok()
                .filter(|ms| *ms > 0)
                .map(ReplayClock::At)
                .ok_or_else(|| format!("{s:?}: expected event, wall or a unix time in ms")),
        }
    }
}

impl fmt::Display for ReplayClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayClock::Event => f.write_str("event"),
            ReplayClock::Wall => f.write_str("wall"),
            ReplayClock::At(ms) => write!(f, "{ms}"),
        }
    }
}

/// The clock as it moves through a replay.
#[derive(Clone, Copy, Debug)]
pub struct StreamClock {
    mode: ReplayClock,
    /// Latest event time seen (event mode).
    latest_ms: i64,
}

impl StreamClock {
    /// A clock in `mode`, before the first batch.
    pub fn new(mode: ReplayClock) -> StreamClock {
        StreamClock { mode, latest_ms: 0 }
    }

    /// `now` for the batch `records`, the wall clock reading `wall_ms`.
    pub fn advance(&mut self, records: &[AlertRecord], wall_ms: i64) -> i64 {
        match self.mode {
            ReplayClock::Wall => wall_ms,
            ReplayClock::At(ms) => ms,
            ReplayClock::Event => {
                let latest = records.iter().map(|r| r.occurred_at_ms).max().unwrap_or(0);
                // A record dated in the future is refused, as by a server.
                self.latest_ms = self.latest_ms.max(latest.min(wall_ms));
                // Nothing dated yet: the records are refused for their time.
                if self.latest_ms > 0 {
                    self.latest_ms
                } else {
                    wall_ms
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> AlertRecord {
        AlertRecord {
            occurred_at_ms: ms,
            ..AlertRecord::default()
        }
    }

    #[test]
    fn event_time_never_goes_back_and_never_past_the_wall() {
        let mut c = StreamClock::new(ReplayClock::Event);
        let wall = 10_000;
        assert_eq!(c.advance(&[at(1_000), at(3_000), at(2_000)], wall), 3_000);
        assert_eq!(c.advance(&[at(2_500)], wall), 3_000, "a late batch");
        assert_eq!(c.advance(&[at(99_000)], wall), wall, "a future date");
        let mut fresh = StreamClock::new(ReplayClock::Event);
        assert_eq!(fresh.advance(&[at(0)], wall), wall, "undated");
    }

    #[test]
    fn wall_and_fixed_clocks_ignore_event_time() {
        let mut w = StreamClock::new(ReplayClock::Wall);
        assert_eq!(w.advance(&[at(1_000)], 5_000), 5_000);
        let mut f = StreamClock::new("7000".parse().unwrap());
        assert_eq!(f.advance(&[at(1_000)], 5_000), 7_000);
        assert!("soon".parse::<ReplayClock>().is_err());
        assert!("-5".parse::<ReplayClock>().is_err());
        assert_eq!("wall".parse::<ReplayClock>().unwrap().to_string(), "wall");
    }
}
