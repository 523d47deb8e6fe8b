//! `GET /api/events`: the task event log of the console's jurisdiction as
//! Server-Sent Events, fed by the same watcher as gRPC `WatchTasks`. Each
//! event's `id` is its resume token; a page that reconnects passes the last
//! one back (`resume=` or the `Last-Event-ID` header) and misses nothing.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio_stream::StreamExt;

use super::{Http, grpc_request, status_response};
use crate::api::auth::Scope;
use crate::proto;
use crate::proto::task_console_server::TaskConsole;

/// How often a quiet stream sends a comment, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Query of `GET /api/events`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventsQuery {
    /// Division-code prefix inside the console's jurisdiction.
    #[serde(default)]
    jurisdiction: String,
    /// Last resume token seen.
    #[serde(default)]
    resume: String,
}

/// The event stream, from `resume` (or `Last-Event-ID`) on.
pub(super) async fn stream(
    State(h): State<Http>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Response {
    let resume = match headers.get("last-event-id").and_then(|v| v.to_str().ok()) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => q.resume,
    };
    let msg = proto::WatchTasksRequest {
        jurisdiction: q.jurisdiction,
        resume_token: resume,
    };
    let request = match grpc_request(&headers, msg) {
        Ok(r) => r,
        Err(s) => return status_response(&s),
    };
    let events = match h.console.watch_tasks(request).await {
        Ok(r) => r.into_inner(),
        Err(s) => return status_response(&s),
    };
    let sse = events.map_while(|e| -> Option<Result<Event, Infallible>> {
        // A watcher error ends the stream; the page reconnects from its last id.
        let e = e.ok()?;
        let data = serde_json::to_string(&e).ok()?;
        Some(Ok(Event::default()
            .id(e.resume_token)
            .event("task")
            .data(data)))
    });
    Sse::new(sse)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// `GET /api/events/head`: the newest event's resume token, so a page that
/// has just listed the tasks follows only what happens next.
pub(super) async fn head(State(h): State<Http>, headers: HeaderMap) -> Response {
    let md = match grpc_request(&headers, ()) {
        Ok(r) => r.into_parts().0,
        Err(s) => return status_response(&s),
    };
    if let Err(e) = Scope::from_metadata(&h.shared.config, &md) {
        return status_response(&tonic::Status::from(e));
    }
    let s = h.shared.clone();
    match tokio::task::spawn_blocking(move || s.store.last_event_seq()).await {
        Ok(Ok(seq)) => Json(serde_json::json!({ "resume_token": seq.to_string() })).into_response(),
        Ok(Err(e)) => status_response(&tonic::Status::from(crate::error::Error::from(e))),
        Err(e) => status_response(&tonic::Status::unavailable(e.to_string())),
    }
}
