//! `TaskConsole`: dispatch consoles list, watch and work the task lists of
//! their own jurisdiction. Reads go to the store; actions go through the
//! writer so that every change is ordered in the event log.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::auth::Scope;
use super::convert::{self, task_to_proto};
use super::watch;
use crate::app::{Job, Shared};
use crate::error::Error;
use crate::model::Task;
use crate::proto;
use crate::proto::task_console_server::TaskConsole;
use crate::store::TaskQuery;

/// Default page size of `ListTasks`.
const DEFAULT_PAGE: usize = 100;
/// Largest page size of `ListTasks`.
const MAX_PAGE: usize = 1000;

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

    /// Checks the task exists and is visible; an invisible task is "not found".
    async fn visible_task(&self, scope: &Scope, task_id: &str) -> Result<(), Error> {
        if task_id.is_empty() || task_id.len() > 64 {
            return Err(Error::invalid(
                "task_id",
                format!("{task_id:?} is not a task id"),
            ));
        }
        let id = task_id.to_string();
        let task = self.blocking(move |s| Ok(s.store.task(&id)?)).await?;
        match task {
            Some(t) if scope.sees(&t.division.to_string()) => Ok(()),
            _ => Err(Error::NotFound(format!("task {task_id} not found"))),
        }
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
            page_size,
            page_token: (!r.page_token.is_empty()).then_some(r.page_token),
        };
        let page = self
            .blocking(move |s| Ok(s.store.list_tasks(&query)?))
            .await?;
        Ok(Response::new(proto::ListTasksResponse {
            tasks: page.tasks.iter().map(task_to_proto).collect(),
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
        let stream = watch::spawn(self.shared.clone(), prefix, after);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn acknowledge(
        &self,
        request: Request<proto::AcknowledgeRequest>,
    ) -> Result<Response<proto::Task>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        self.visible_task(&scope, &r.task_id).await?;
        let (tx, rx) = oneshot::channel();
        let actor = actor(&scope, &r.actor);
        let job = Job::Acknowledge {
            task_id: r.task_id,
            actor,
            reply: tx,
        };
        Ok(Response::new(self.send_job(job, rx).await?))
    }

    async fn report_outcome(
        &self,
        request: Request<proto::ReportOutcomeRequest>,
    ) -> Result<Response<proto::Task>, Status> {
        let scope = self.scope(&request)?;
        let r = request.into_inner();
        let outcome = convert::outcome_from_proto(r.outcome.as_ref())?;
        self.visible_task(&scope, &r.task_id).await?;
        let (tx, rx) = oneshot::channel();
        let actor = actor(&scope, &r.actor);
        let job = Job::Outcome {
            task_id: r.task_id,
            actor,
            outcome,
            reply: tx,
        };
        Ok(Response::new(self.send_job(job, rx).await?))
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
