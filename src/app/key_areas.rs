//! The key-area run (重点区域研判): reads the stored alerts of the method's
//! span, counts and assesses them ([`crate::areas`]), places each key area
//! in the directory in force and has the writer make its publicity pair.
//! Run on demand (`RuleAdmin.AssessKeyAreas`, `dualwarn rules key-areas`)
//! and each day by the ticker, for the day just ended.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::{Job, Shared};
use crate::areas::{Counts, KeyArea, assess};
use crate::error::Error;
use crate::pipeline::Covered;

/// Alerts read from the store per page.
const PAGE: usize = 10_000;

/// One run's result.
#[derive(Clone, Debug)]
pub struct Assessment {
    /// Local day assessed, `YYYY-MM-DD`.
    pub day: String,
    /// Alerts read.
    pub alerts: u64,
    /// Each key area, and the pair covering it (`None` on a dry run or
    /// when its village is not in the directory any more).
    pub areas: Vec<(KeyArea, Option<Covered>)>,
}

/// Assesses local `day` (days since 1970-01-01); makes publicity pairs
/// unless `dry_run`.
pub async fn run(shared: Arc<Shared>, day: i64, dry_run: bool) -> Result<Assessment, Error> {
    let rules = shared.rules.load_full();
    let method = rules
        .key_areas
        .clone()
        .ok_or_else(|| Error::NotFound("the rule set in force has no key_areas.toml".into()))?;
    let deadline_ms = i64::try_from(method.deadline.as_millis()).unwrap_or(i64::MAX);
    let s = shared.clone();
    let (areas, alerts) = tokio::task::spawn_blocking(move || {
        let mut counts = Counts::new(&method, day, s.config.utc_offset_hours);
        let read = read_span(&s, &mut counts)?;
        let names = &rules.fraud_types.names;
        let areas = assess(&counts, |c| {
            names.get(c).cloned().unwrap_or_else(|| c.into())
        });
        Ok::<_, Error>((areas, read))
    })
    .await
    .map_err(|e| Error::Unavailable(format!("key-area task failed: {e}")))??;
    let (y, m, d) = crate::model::calendar::civil_from_days(day);
    let day_text = format!("{y:04}-{m:02}-{d:02}");
    if dry_run || areas.is_empty() {
        return Ok(Assessment {
            day: day_text,
            alerts,
            areas: areas.into_iter().map(|a| (a, None)).collect(),
        });
    }
    let directory = shared.directory.load_full();
    let mut placed = Vec::new();
    let mut unplaced = Vec::new();
    for a in areas {
        match directory.place_code(a.village, None) {
            Ok(p) => placed.push((a, p)),
            Err(e) => {
                tracing::warn!(village = %a.village, error = %e, "key area outside the directory; no publicity task");
                unplaced.push(a);
            }
        }
    }
    let (reply, rx) = oneshot::channel();
    shared
        .jobs
        .send(Job::Publicity {
            areas: placed.clone(),
            deadline_ms,
            reply,
        })
        .await
        .map_err(|_| Error::Unavailable("writer stopped".into()))?;
    let covered = rx
        .await
        .map_err(|_| Error::Unavailable("writer stopped".into()))??;
    let made = covered.iter().filter(|c| c.created).count();
    tracing::info!(day = %day_text, key_areas = placed.len(), publicity_pairs = made, "key areas assessed");
    let mut out: Vec<(KeyArea, Option<Covered>)> = placed
        .into_iter()
        .map(|(a, _)| a)
        .zip(covered.into_iter().map(Some))
        .collect();
    out.extend(unplaced.into_iter().map(|a| (a, None)));
    Ok(Assessment {
        day: day_text,
        alerts,
        areas: out,
    })
}

/// Feeds the span's stored alerts to `counts`, oldest first; returns how
/// many were read. Pages by event time; alerts sharing the boundary
/// millisecond are told apart by key.
fn read_span(shared: &Shared, counts: &mut Counts) -> Result<u64, Error> {
    // A person warned before the span counts as "warned before" too: read
    // one more window ahead of it.
    let lead = i64::from(counts.method().window_days) * 86_400_000;
    let mut since = counts.start_ms - lead;
    let mut at_boundary: HashSet<String> = HashSet::new();
    let mut read = 0u64;
    loop {
        let page = shared.store.alerts_since(since, PAGE)?;
        let full = page.len() == PAGE;
        let mut next_boundary = HashSet::new();
        let last_ms = page.last().map(|a| a.occurred_at_ms);
        let read_before = read;
        for a in &page {
            if a.occurred_at_ms >= counts.end_ms {
                return Ok(read);
            }
            if a.occurred_at_ms == since && at_boundary.contains(&a.key.0) {
                continue;
            }
            if Some(a.occurred_at_ms) == last_ms {
                next_boundary.insert(a.key.0.clone());
            }
            counts.add(a);
            read += 1;
        }
        match last_ms {
            // A whole page in one millisecond, all seen: the store cannot
            // page past it; count what was read rather than loop.
            Some(ms) if full && ms == since && read == read_before => {
                tracing::warn!(
                    at_ms = ms,
                    "over {PAGE} alerts in one millisecond; the key-area count skips the rest"
                );
                return Ok(read);
            }
            Some(ms) if full => {
                if ms == since {
                    at_boundary.extend(next_boundary);
                } else {
                    at_boundary = next_boundary;
                }
                since = ms;
            }
            _ => return Ok(read),
        }
    }
}
