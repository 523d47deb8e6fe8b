//! `TaskConsole`: dispatch consoles list, watch and work the task lists of
//! their own jurisdiction, and look at linked case series (串并案) across
//! jurisdictions — other jurisdictions' tasks by count only. Reads go to the
//! store; actions go through the writer so that every change is ordered in
//! the event log.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::auth::{Identity, Scope};
use super::convert::{self, task_to_proto};
use super::reports;
use super::watch;
use crate::app::{Job, Shared, now_ms};
use crate::error::Error;
use crate::model::{AuditEntry, Step, Task};
use crate::proto;
use crate::proto::task_console_server::TaskConsole;
use crate::store::{SeriesTasks, TaskQuery};

/// Default page size of `ListTasks`.
const DEFAULT_PAGE: usize = 100;
/// Largest page size of `ListTasks`.
const MAX_PAGE: usize = 1000;
/// Every series id starts so; 16 lowercase hex digits follow.
const SERIES_PREFIX: &str = "S-";
/// Hex digits after the series prefix.
const SERIES_HEX_DIGITS: usize = 16;
/// Shortest and longest reason for a reveal, in characters.
const REASON_CHARS: std::ops::RangeInclusive<usize> = 2..=200;

/// The console service.
pub struct ConsoleService {
    shared: Arc<Shared>,
}

impl ConsoleService {
    /// Serves consoles over `shared`.
    pub fn new(shared: Arc<Shared>) -> ConsoleService {
        ConsoleService { shared }
    }

    fn scope<T>(&self, r: &Request<T>) -> Result<Scope, Error> {
        Scope::from_metadata(&self.shared.config, r.metadata())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Shared) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let s = self.shared.clone();
        tokio::task::spawn_blocking(move || f(&s))
            .await
            .map_err(|e| Error::Unavailable(format!("store task failed: {e}")))?
    }

    /// The task, if it exists and is visible; an invisible task is "not found".
    async fn visible_task(&self, scope: &Scope, task_id: &str) -> Result<Task, Error> {
        if task_id.is_empty() || task_id.len() > 64 {
            return Err(Error::invalid(
                "task_id",
                format!("{task_id:?} is not a task id"),
            ));
        }
        let id = task_id.to_string();
        let task = self.blocking(move |s| Ok(s.store.task(&id)?)).await?;
        match task {
            Some(t) if scope.sees_task(&t) => Ok(t),
            _ => Err(Error::NotFound(format!("task {task_id} not found"))),
        }
    }

    /// A step on a visible task, through the writer, based on the version
    /// the caller saw.
    async fn act(
        &self,
        scope: &Scope,
        task_id: String,
        requested_actor: &str,
        step: Step,
        based_on: Option<u64>,
    ) -> Result<proto::Task, Error> {
        let based_on = required_version(based_on)?;
        let task = self.visible_task(scope, &task_id).await?;
        same_version(&task, based_on)?;
        let (tx, rx) = oneshot::channel();
        let job = Job::Act {
            task_id,
            actor: actor(scope, requested_actor),
            step,
            based_on,
            reply: tx,
        };
        self.send_job(job, rx).await
    }

    async fn send_job(
        &self,
        job: Job,
        rx: oneshot::Receiver<Result<Task, Error>>,
    ) -> Result<proto::Task, Error> {
        self.shared
            .jobs
            .send(job)
            .await
            .map_err(|_| Error::Unavailable("writer stopped".into()))?;
        let task = rx
            .await
            .map_err(|_| Error::Unavailable("writer stopped".into()))??;
        Ok(task_to_proto(&task))
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<proto::TaskEvent, Status>> + Send>>;

#[tonic::async_trait]
impl TaskConsole for ConsoleService {
    type WatchTasksStream = EventStream;
    type DailyListStream = reports::ChunkStream;

    async fn daily_list(
        &self,
        request: Request<proto::DailyListRequest>,
    ) -> Result<Response<Self::DailyListStream>, Status> {
        let scope = self.scope(&request)?;
        let checked = reports::DailyRequest::check(&self.shared, &scope, request.into_inner())?;
        let (name, format, bytes) = self
            .blocking(move |s| reports::daily_file(s, &scope, checked))
            .await?;
        Ok(Response::new(reports::chunks(name, format, bytes)))
    }

    async fn record_publicity(
        &self,
        request: Request<proto::RecordPublicityRequest>,
    ) -> Result<Response<proto::Task>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let step = Step::Publicity {
            method: convert::publicity_method(r.method)?,
            done: r.done,
            households: r.households,
            note: r.note,
        };
        Ok(Response::new(
            self.act(&scope, r.task_id, &r.actor, step, r.base_version)
                .await?,
        ))
    }

    async fn supervision(
        &self,
        request: Request<proto::SupervisionRequest>,
    ) -> Result<Response<proto::SupervisionResponse>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let figures = self
            .blocking(move |s| reports::supervision(s, &scope, r))
            .await?;
        Ok(Response::new(figures))
    }

    async fn list_tasks(
        &self,
        request: Request<proto::ListTasksRequest>,
    ) -> Result<Response<proto::ListTasksResponse>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let created_between = match r.created_day.as_str() {
            "" => None,
            day => Some(convert::day_range(
                day,
                self.shared.config.utc_offset_hours,
            )?),
        };
        let page_size = match r.page_size as usize {
            0 => DEFAULT_PAGE,
            n if n > MAX_PAGE => {
                return Err(Error::invalid("page_size", format!("{n} is above {MAX_PAGE}")).into());
            }
            n => n,
        };
        let query = TaskQuery {
            prefix: scope.narrow(&r.jurisdiction)?,
            role: convert::role_filter(r.role)?,
            status: convert::status_filter(r.status)?,
            level: convert::level_filter(r.level)?,
            created_between,
            overdue_at: r.overdue.then(|| (self.shared.clock)()),
            page_size,
            page_token: (!r.page_token.is_empty()).then_some(r.page_token),
        };
        let page = self
            .blocking(move |s| Ok(s.store.list_tasks(&query)?))
            .await?;
        Ok(Response::new(proto::ListTasksResponse {
            // A station or a person sees part of its prefix.
            tasks: page
                .tasks
                .iter()
                .filter(|t| scope.sees_task(t))
                .map(task_to_proto)
                .collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn watch_tasks(
        &self,
        request: Request<proto::WatchTasksRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let prefix = scope.narrow(&r.jurisdiction)?;
        let after = match r.resume_token.as_str() {
            "" => 0,
            t => t.parse::<u64>().map_err(|_| {
                Error::invalid(
                    "resume_token",
                    format!("{t:?} is not a token this server issued"),
                )
            })?,
        };
        let stream = watch::spawn(self.shared.clone(), scope, prefix, after);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn list_series(
        &self,
        request: Request<proto::ListSeriesRequest>,
    ) -> Result<Response<proto::ListSeriesResponse>, Status> {
        let scope = self.scope(&request)?;
        let series_id = request.into_inner().series_id;
        check_series_id(&series_id)?;
        let series = self
            .blocking(move |s| Ok(s.store.series_tasks(&series_id)?))
            .await?;
        Ok(Response::new(series_view(&scope, series)))
    }

    async fn get_task(
        &self,
        request: Request<proto::GetTaskRequest>,
    ) -> Result<Response<proto::Task>, Status> {
        let scope = self.scope(&request)?;
        let task = self
            .visible_task(&scope, &request.into_inner().task_id)
            .await?;
        Ok(Response::new(task_to_proto(&task)))
    }

    async fn acknowledge(
        &self,
        request: Request<proto::AcknowledgeRequest>,
    ) -> Result<Response<proto::Task>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let step = Step::Acknowledge;
        Ok(Response::new(
            self.act(&scope, r.task_id, &r.actor, step, r.base_version)
                .await?,
        ))
    }

    async fn record_call(
        &self,
        request: Request<proto::RecordCallRequest>,
    ) -> Result<Response<proto::Task>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let step = Step::Call {
            connected: r.connected,
            reason: r.reason,
        };
        Ok(Response::new(
            self.act(&scope, r.task_id, &r.actor, step, r.base_version)
                .await?,
        ))
    }

    async fn record_visit(
        &self,
        request: Request<proto::RecordVisitRequest>,
    ) -> Result<Response<proto::Task>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let step = Step::Visit {
            met: r.met,
            note: r.note,
        };
        Ok(Response::new(
            self.act(&scope, r.task_id, &r.actor, step, r.base_version)
                .await?,
        ))
    }

    async fn report_outcome(
        &self,
        request: Request<proto::ReportOutcomeRequest>,
    ) -> Result<Response<proto::Task>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let step = Step::Report(convert::outcome_from_proto(r.outcome.as_ref())?);
        Ok(Response::new(
            self.act(&scope, r.task_id, &r.actor, step, r.base_version)
                .await?,
        ))
    }

    async fn follow_up(
        &self,
        request: Request<proto::FollowUpRequest>,
    ) -> Result<Response<proto::Task>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let step = if r.due_at_ms == 0 {
            Step::FollowUpDone { note: r.note }
        } else {
            Step::ScheduleFollowUp {
                due_at_ms: r.due_at_ms,
                note: r.note,
            }
        };
        Ok(Response::new(
            self.act(&scope, r.task_id, &r.actor, step, r.base_version)
                .await?,
        ))
    }

    async fn request_transfer(
        &self,
        request: Request<proto::RequestTransferRequest>,
    ) -> Result<Response<proto::Task>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let based_on = required_version(r.base_version)?;
        let placement = self
            .shared
            .directory
            .load()
            .place(&r.to_division_code, None)
            .map_err(|e| Error::invalid("to_division_code", e.to_string()))?;
        let task = self.visible_task(&scope, &r.task_id).await?;
        same_version(&task, based_on)?;
        let (tx, rx) = oneshot::channel();
        let job = Job::RequestTransfer {
            task_id: r.task_id,
            actor: actor(&scope, &r.actor),
            to: placement.division_code,
            reason: r.reason,
            based_on,
            reply: tx,
        };
        Ok(Response::new(self.send_job(job, rx).await?))
    }

    async fn decide_transfer(
        &self,
        request: Request<proto::DecideTransferRequest>,
    ) -> Result<Response<proto::DecideTransferResponse>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let based_on = required_version(r.base_version)?;
        let task = self.visible_task(&scope, &r.task_id).await?;
        same_version(&task, based_on)?;
        let Some(pending) = &task.transfer else {
            return Err(Error::Write(crate::pipeline::WriteError::Step(
                crate::model::StepError::WrongState {
                    task: task.id.clone(),
                    status: "not waiting for a transfer",
                    why: "there is no transfer to decide",
                },
            ))
            .into());
        };
        // A centre above both the task's village and the new one decides.
        if !scope.supervises_area() || !pending.to_division.starts_with(&scope.jurisdiction) {
            return Err(Error::PermissionDenied(format!(
                "a transfer from {} to {} is decided by a centre above both",
                task.division, pending.to_division
            ))
            .into());
        }
        let placement = if r.approve {
            let p = self
                .shared
                .directory
                .load()
                .place(&pending.to_division, None)
                .map_err(|e| Error::invalid("to_division_code", e.to_string()))?;
            Some(Box::new(p))
        } else {
            None
        };
        let (tx, rx) = oneshot::channel();
        let job = Job::DecideTransfer {
            task_id: r.task_id,
            actor: actor(&scope, &r.actor),
            placement,
            note: r.note,
            based_on,
            reply: tx,
        };
        self.shared
            .jobs
            .send(job)
            .await
            .map_err(|_| Error::Unavailable("writer stopped".into()))?;
        let tasks = rx
            .await
            .map_err(|_| Error::Unavailable("writer stopped".into()))??;
        Ok(Response::new(proto::DecideTransferResponse {
            tasks: tasks.iter().map(task_to_proto).collect(),
        }))
    }

    async fn reveal_contact(
        &self,
        request: Request<proto::RevealContactRequest>,
    ) -> Result<Response<proto::Contact>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let reason = r.reason.trim();
        if !REASON_CHARS.contains(&reason.chars().count()) {
            return Err(Error::invalid(
                "reason",
                format!(
                    "a reveal needs a reason of {} to {} characters; got {}",
                    REASON_CHARS.start(),
                    REASON_CHARS.end(),
                    reason.chars().count()
                ),
            )
            .into());
        }
        let task = self.visible_task(&scope, &r.task_id).await?;
        if !scope.may_reveal(&task) {
            return Err(Error::NotFound(format!("task {} not found", task.id)).into());
        }
        let entry = AuditEntry {
            seq: 0,
            at_ms: now_ms(),
            actor: scope.actor.clone(),
            identity: identity_name(&scope.identity),
            task_id: task.id.clone(),
            division: task.division.to_string(),
            reason: crate::model::mask::bounded(reason, *REASON_CHARS.end()),
        };
        if task.brief.is_some() {
            return Err(Error::NotFound(format!(
                "task {} is a publicity task (宣传任务): no person behind it",
                task.id
            ))
            .into());
        }
        // The audit entry is durable before anything is shown.
        let (contact, seq) = self
            .blocking(move |s| {
                let alert = task
                    .alert_keys
                    .iter()
                    .rev()
                    .find_map(|k| s.store.alert(k).transpose())
                    .transpose()?
                    .ok_or_else(|| {
                        Error::NotFound(format!(
                            "the alerts of task {} are past their retention; no contact is kept",
                            task.id
                        ))
                    })?;
                let seq = s.store.append_audit(&entry)?;
                Ok((alert.subject, seq))
            })
            .await?;
        tracing::info!(task = %r.task_id, actor = %scope.actor, audit = seq, "contact revealed");
        Ok(Response::new(proto::Contact {
            task_id: r.task_id,
            phone: contact.phone,
            name: contact.name,
            address: contact.address,
            division_code: contact.division.to_string(),
            audit_seq: seq,
        }))
    }

    async fn list_audit(
        &self,
        request: Request<proto::ListAuditRequest>,
    ) -> Result<Response<proto::ListAuditResponse>, Status> {
        let scope = self.scope(&request)?;
        if !scope.supervises_area() {
            return Err(Error::PermissionDenied(
                "the audit log is for city and county centres".into(),
            )
            .into());
        }
        let r = request.into_inner();
        let prefix = scope.narrow(&r.jurisdiction)?;
        let page_size = match r.page_size as usize {
            0 => DEFAULT_PAGE,
            n if n > MAX_PAGE => {
                return Err(Error::invalid("page_size", format!("{n} is above {MAX_PAGE}")).into());
            }
            n => n,
        };
        let after = match r.page_token.as_str() {
            "" => 0,
            t => t.parse::<u64>().map_err(|_| {
                Error::invalid(
                    "page_token",
                    format!(
                        "{:?} is not a token this server issued",
                        crate::model::mask::echo(t)
                    ),
                )
            })?,
        };
        let entries = self
            .blocking(move |s| Ok(s.store.audit(&prefix, after, page_size)?))
            .await?;
        let next_page_token = match entries.last() {
            Some(e) if entries.len() == page_size => e.seq.to_string(),
            _ => String::new(),
        };
        Ok(Response::new(proto::ListAuditResponse {
            entries: entries
                .into_iter()
                .map(|e| proto::AuditEntry {
                    seq: e.seq,
                    at_ms: e.at_ms,
                    actor: e.actor,
                    identity: e.identity,
                    task_id: e.task_id,
                    division_code: e.division,
                    reason: e.reason,
                })
                .collect(),
            next_page_token,
        }))
    }
}

/// Refuses a write whose version is not the one the visibility check read.
/// Versions only rise, so the writer's own check at the same version then
/// means nothing changed in between, the assignee and the village included.
fn same_version(task: &Task, based_on: u64) -> Result<(), Error> {
    if task.version() == based_on {
        return Ok(());
    }
    Err(Error::Write(crate::pipeline::WriteError::Step(
        crate::model::StepError::Stale {
            task: task.id.clone(),
            current: task.version(),
            based_on,
        },
    )))
}

/// The version a write is based on; every write must name one.
fn required_version(v: Option<u64>) -> Result<u64, Error> {
    v.ok_or_else(|| {
        Error::invalid(
            "base_version",
            "required: the Task.version the change is based on",
        )
    })
}

/// How the audit log names an identity.
fn identity_name(identity: &Identity) -> String {
    match identity {
        Identity::Centre => "centre".into(),
        Identity::Station(id) => format!("station:{id}"),
        Identity::Person(id) => format!("person:{id}"),
    }
}

/// Refuses anything but `S-` and 16 lowercase hex digits.
fn check_series_id(id: &str) -> Result<(), Error> {
    let well_formed = id.strip_prefix(SERIES_PREFIX).is_some_and(|hex| {
        hex.len() == SERIES_HEX_DIGITS
            && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    if well_formed {
        return Ok(());
    }
    // Echo a bounded prefix: the value came from the caller.
    let shown: String = id
        .chars()
        .take(SERIES_PREFIX.len() + SERIES_HEX_DIGITS + 2)
        .collect();
    Err(Error::invalid(
        "series_id",
        format!("{shown:?} is not a series id (S- and 16 lowercase hex digits)"),
    ))
}

/// What the caller sees of a series: its own tasks in full, everyone
/// else's counted per county (first 6 digits of the division code).
fn series_view(scope: &Scope, series: SeriesTasks) -> proto::ListSeriesResponse {
    let mut tasks = Vec::new();
    let mut elsewhere: BTreeMap<u64, u32> = BTreeMap::new();
    for t in &series.tasks {
        if scope.sees_task(t) {
            tasks.push(task_to_proto(t));
        } else {
            let n = elsewhere.entry(t.division.county()).or_default();
            *n = n.saturating_add(1);
        }
    }
    proto::ListSeriesResponse {
        series_id: series.root,
        tasks,
        elsewhere: elsewhere
            .into_iter()
            .map(|(county, tasks)| proto::SeriesJurisdiction {
                county: county.to_string(),
                tasks,
            })
            .collect(),
    }
}

/// The history actor: the console's name, with the worker it names.
fn actor(scope: &Scope, requested: &str) -> String {
    let who: String = requested
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    if who.is_empty() {
        scope.actor.clone()
    } else {
        format!("{}/{who}", scope.actor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_id_is_s_dash_and_16_lowercase_hex_digits() {
        assert!(check_series_id("S-0123456789abcdef").is_ok());
        for bad in [
            "",
            "S-",
            "S-0123456789ABCDEF",
            "S-0123456789abcde",
            "S-0123456789abcdef0",
            "s-0123456789abcdef",
            "P0000000001",
        ] {
            let e = check_series_id(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("series_id: ") && e.contains(&format!("{bad:?}")),
                "{e}"
            );
        }
    }

    #[test]
    fn long_bad_series_id_is_echoed_bounded() {
        let e = check_series_id(&"x".repeat(10_000))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 100, "{e}");
    }
}
