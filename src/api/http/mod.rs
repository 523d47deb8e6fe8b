//! The web console's HTTP edge (网页调度台): the embedded page, its JSON
//! API, the live event stream and `/metrics`, on `[http] listen`.
//!
//! Where it sits: beside the gRPC services, at the serve end of the flow.
//! It holds no rules of its own about who may do what: every console call
//! is turned into the gRPC message, handed to the same [`ConsoleService`]
//! with the same bearer token, and its answer turned back into JSON (proto3
//! JSON mapping, the `.proto` field names). An error keeps its gRPC code,
//! carried as an HTTP status and `{"code", "message"}`.

mod assets;
mod console;
mod events;
mod tls;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tonic::Code;

use super::console::ConsoleService;
use crate::app::Shared;

pub use tls::TlsListener;

/// What every handler reaches: the engine and the console service.
#[derive(Clone)]
struct Http {
    shared: Arc<Shared>,
    console: Arc<ConsoleService>,
}

/// The router of the web console.
fn router(shared: Arc<Shared>) -> Router {
    let state = Http {
        console: Arc::new(ConsoleService::new(shared.clone())),
        shared,
    };
    Router::new()
        .route("/api/session", get(console::session))
        .route("/api/console/{method}", post(console::call))
        .route("/api/events", get(events::stream))
        .route("/api/events/head", get(events::head))
        .route("/api/daily", get(console::daily))
        .route("/metrics", get(metrics))
        .route("/", get(assets::index))
        .route("/{*path}", get(assets::file))
        .with_state(state)
}

/// Serves the web console on `listener` (plain, or TLS when the engine has
/// `[tls]`) until `shutdown` resolves.
pub async fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(shared.clone());
    match &shared.config.tls {
        Some(tls) => {
            let listener = TlsListener::new(listener, tls)?;
            axum::serve(listener, app.clone())
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        None => {
            // Small answers and live events go out at once, not after the
            // peer's delayed ACK (Nagle).
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY on a web console socket");
                }
            });
            axum::serve(listener, app.clone())
                .with_graceful_shutdown(shutdown)
                .await?;
        }
    }
    Ok(())
}

async fn metrics(axum::extract::State(h): axum::extract::State<Http>) -> Response {
    let jobs = &h.shared.jobs;
    let waiting = jobs.max_capacity().saturating_sub(jobs.capacity());
    let m = &h.shared.metrics;
    m.writer_queue
        .set(i64::try_from(waiting).unwrap_or(i64::MAX));
    let body = m.render();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// An error as the page reads it: the gRPC code's name and the message.
fn status_response(status: &tonic::Status) -> Response {
    let http = match status.code() {
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::FailedPrecondition | Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = serde_json::json!({
        "code": code_name(status.code()),
        "message": status.message(),
    });
    (http, Json(body)).into_response()
}

/// The gRPC code as its canonical upper-case name.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// `msg` as a gRPC request carrying the caller's `Authorization` header,
/// so that the console service resolves the same identity as over gRPC.
fn grpc_request<T>(headers: &HeaderMap, msg: T) -> Result<tonic::Request<T>, tonic::Status> {
    let mut r = tonic::Request::new(msg);
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION) {
        let v = v
            .to_str()
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| tonic::Status::unauthenticated("authorization header is not text"))?;
        r.metadata_mut().insert("authorization", v);
    }
    Ok(r)
}
