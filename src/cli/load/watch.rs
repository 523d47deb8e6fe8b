//! The watch side of a load run: one `WatchTasks` stream, opened before the
//! first send, that times each alert of the run from its batch's send to
//! the first CREATED or MERGED event it made: the event's newest alert not
//! named before (its older ones made no event of their own).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tonic::Streaming;

use super::pool::RunTag;
use super::publish::SendLog;
use super::report;
use crate::cli::conn::Conn;
use crate::proto;
use crate::proto::task_console_client::TaskConsoleClient;

/// Silence that ends the catch-up before a run, and the watch after it.
const QUIET: Duration = Duration::from_millis(500);
/// Longest the watch is followed after the last ack, however busy.
const MAX_TAIL: Duration = Duration::from_secs(10);
/// Longest the catch-up before a run may take.
const MAX_CATCH_UP: Duration = Duration::from_secs(120);

/// An open watch and the last resume token it gave.
pub struct Watch {
    events: Streaming<proto::TaskEvent>,
    /// Where a later run's watch resumes, so it does not replay this one.
    pub resume_token: String,
}

/// What the watch measured.
pub struct WatchOutcome {
    /// Send → task on the watch, per alert, µs.
    pub task: Histogram<u64>,
    /// Alerts of the run that made an event on the watch (timed).
    pub tasks_seen: u64,
    /// CREATED and MERGED events that an alert of the run made.
    pub task_events: u64,
    /// The watch, to resume from.
    pub resume_token: String,
}

impl Watch {
    /// Opens a watch on `jurisdiction` after `resume_token` and reads what
    /// the log already holds until it falls quiet, so the replay does not
    /// share the cores with the run.
    pub async fn open(
        conn: &Conn,
        jurisdiction: &str,
        resume_token: &str,
    ) -> anyhow::Result<Watch> {
        let mut client = TaskConsoleClient::new(conn.channel().await?);
        let request = proto::WatchTasksRequest {
            jurisdiction: jurisdiction.to_string(),
            resume_token: resume_token.to_string(),
        };
        let events = client
            .watch_tasks(conn.request(request)?)
            .await
            .map_err(refused)?
            .into_inner();
        let mut watch = Watch {
            events,
            resume_token: resume_token.to_string(),
        };
        let until = Instant::now() + MAX_CATCH_UP;
        while Instant::now() < until {
            match tokio::time::timeout(QUIET, watch.events.message()).await {
                Err(_) => break,
                Ok(next) => match next.map_err(refused)? {
                    Some(e) => watch.resume_token = e.resume_token,
                    None => anyhow::bail!("the server ended the watch before the run"),
                },
            }
        }
        Ok(watch)
    }

    /// Follows the watch until `stop`, then until it falls quiet, timing
    /// the alerts of `tag` (batches of `batch`) that made an event.
    pub async fn follow(
        mut self,
        tag: RunTag,
        batch: usize,
        log: Arc<SendLog>,
        mut stop: oneshot::Receiver<()>,
    ) -> anyhow::Result<WatchOutcome> {
        let mut out = WatchOutcome {
            task: report::histogram(),
            tasks_seen: 0,
            task_events: 0,
            resume_token: String::new(),
        };
        let mut seen: HashSet<u64> = HashSet::new();
        let mut tail_ends: Option<Instant> = None;
        loop {
            let next = match tail_ends {
                None => tokio::select! {
                    next = self.events.message() => next,
                    _ = &mut stop => {
                        tail_ends = Some(Instant::now() + MAX_TAIL);
                        continue;
                    }
                },
                Some(end) if Instant::now() >= end => break,
                Some(_) => match tokio::time::timeout(QUIET, self.events.message()).await {
                    Ok(next) => next,
                    Err(_) => break,
                },
            };
            let Some(event) = next.map_err(refused)? else {
                break;
            };
            let now = Instant::now();
            self.resume_token.clone_from(&event.resume_token);
            // An event also names older alerts of the person that made no
            // event of their own (a rule that needed a second alert): the
            // newest alert it names is the one that made it.
            let sent: Vec<Instant> = fresh_alerts(&event, &tag, batch, &mut seen)
                .into_iter()
                .filter_map(|k| log.sent_at(k))
                .collect();
            let Some(&newest) = sent.iter().max() else {
                continue;
            };
            let made_it = sent.iter().filter(|&&at| at == newest).count() as u64;
            report::record(&mut out.task, (now - newest).as_micros(), made_it);
            out.task_events += 1;
            log.tasks.fetch_add(made_it, Ordering::Relaxed);
        }
        out.tasks_seen = out.task.len();
        out.resume_token = self.resume_token;
        Ok(out)
    }
}

/// The batches of the alerts of this run that a CREATED or MERGED event
/// names for the first time.
fn fresh_alerts(
    event: &proto::TaskEvent,
    tag: &RunTag,
    batch: usize,
    seen: &mut HashSet<u64>,
) -> Vec<u64> {
    let created = proto::TaskEventKind::Created as i32;
    let merged = proto::TaskEventKind::Merged as i32;
    let Some(task) = event
        .task
        .as_ref()
        .filter(|_| [created, merged].contains(&event.kind))
    else {
        return Vec::new();
    };
    let keys = task
        .alert_keys
        .iter()
        .chain(task.reasons.iter().map(|r| &r.alert_key));
    keys.filter_map(|key| tag.parse(key))
        .filter(|&(k, i)| seen.insert(k * batch as u64 + u64::from(i)))
        .map(|(k, _)| k)
        .collect()
}

fn refused(s: tonic::Status) -> anyhow::Error {
    match s.code() {
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => anyhow::anyhow!(
            "the server refused WatchTasks ({:?}: {}); pass a console token with --console-token or DUALWARN_TOKEN",
            s.code(),
            s.message()
        ),
        code => anyhow::anyhow!("watch failed ({code:?}): {}", s.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: proto::TaskEventKind, keys: &[String]) -> proto::TaskEvent {
        proto::TaskEvent {
            resume_token: "7".into(),
            kind: kind as i32,
            task: Some(proto::Task {
                alert_keys: keys.to_vec(),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn load_watch_times_each_alert_once_across_a_pair_and_its_merges() {
        let tag = RunTag::new(1, 0);
        let a = format!("src/{}", tag.source_id(3, 1));
        let b = format!("src/{}", tag.source_id(5, 0));
        let mut seen = HashSet::new();
        let created = event(proto::TaskEventKind::Created, std::slice::from_ref(&a));
        assert_eq!(fresh_alerts(&created, &tag, 10, &mut seen), vec![3]);
        // The pair's other task names the same alert: not timed again.
        assert!(fresh_alerts(&created, &tag, 10, &mut seen).is_empty());
        let merged = event(proto::TaskEventKind::Merged, &[a.clone(), b.clone()]);
        assert_eq!(fresh_alerts(&merged, &tag, 10, &mut seen), vec![5]);
        let acked = event(
            proto::TaskEventKind::Acknowledged,
            &[format!("src/{}", tag.source_id(9, 0))],
        );
        assert!(fresh_alerts(&acked, &tag, 10, &mut seen).is_empty());
    }
}
