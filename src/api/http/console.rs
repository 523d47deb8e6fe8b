//! The console's JSON calls: `POST /api/console/<Method>` for each unary
//! `TaskConsole` method, `GET /api/session` (who the token stands for) and
//! `GET /api/daily` (the 任务清单 as a download). Each is the gRPC method
//! itself, called with the caller's token.

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_stream::StreamExt;

use super::{Http, grpc_request, status_response};
use crate::api::auth::{Identity, Scope};
use crate::api::console::ConsoleService;
use crate::proto;
use crate::proto::task_console_server::TaskConsole;

/// Largest JSON body of a console call.
const MAX_BODY: usize = 64 * 1024;
/// Largest daily list the page downloads at once.
const MAX_DAILY_BYTES: usize = 256 * 1024 * 1024;

/// Who the token stands for, and whether the engine runs without tokens.
#[derive(Serialize)]
struct Session {
    dev_mode: bool,
    actor: String,
    jurisdiction: String,
    identity: &'static str,
    supervises: bool,
    utc_offset_hours: i32,
}

/// `GET /api/session`: 401 for a bad or missing token (unless in dev mode).
pub(super) async fn session(State(h): State<Http>, headers: HeaderMap) -> Response {
    let md = match grpc_request(&headers, ()) {
        Ok(r) => r.into_parts().0,
        Err(s) => return status_response(&s),
    };
    match Scope::from_metadata(&h.shared.config, &md) {
        Ok(scope) => Json(Session {
            dev_mode: h.shared.config.consoles.is_empty(),
            identity: match scope.identity {
                Identity::Centre => "centre",
                Identity::Station(_) => "station",
                Identity::Person(_) => "person",
            },
            supervises: scope.supervises_area(),
            actor: scope.actor,
            jurisdiction: scope.jurisdiction,
            utc_offset_hours: h.shared.config.utc_offset_hours,
        })
        .into_response(),
        Err(e) => status_response(&tonic::Status::from(e)),
    }
}

/// `POST /api/console/<Method>`: the JSON body as the method's request.
pub(super) async fn call(
    State(h): State<Http>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let c = h.console;
    match method.as_str() {
        "ListTasks" => {
            unary(
                c,
                &headers,
                &body,
                |c, r| async move { c.list_tasks(r).await },
            )
            .await
        }
        "GetTask" => {
            unary(
                c,
                &headers,
                &body,
                |c, r| async move { c.get_task(r).await },
            )
            .await
        }
        "Acknowledge" => {
            unary(
                c,
                &headers,
                &body,
                |c, r| async move { c.acknowledge(r).await },
            )
            .await
        }
        "RecordCall" => {
            unary(
                c,
                &headers,
                &body,
                |c, r| async move { c.record_call(r).await },
            )
            .await
        }
        "RecordVisit" => {
            unary(
                c,
                &headers,
                &body,
                |c, r| async move { c.record_visit(r).await },
            )
            .await
        }
        "ReportOutcome" => {
            unary(c, &headers, &body, |c, r| async move {
                c.report_outcome(r).await
            })
            .await
        }
        "FollowUp" => {
            unary(
                c,
                &headers,
                &body,
                |c, r| async move { c.follow_up(r).await },
            )
            .await
        }
        "RequestTransfer" => {
            unary(c, &headers, &body, |c, r| async move {
                c.request_transfer(r).await
            })
            .await
        }
        "DecideTransfer" => {
            unary(c, &headers, &body, |c, r| async move {
                c.decide_transfer(r).await
            })
            .await
        }
        "ListSeries" => {
            unary(
                c,
                &headers,
                &body,
                |c, r| async move { c.list_series(r).await },
            )
            .await
        }
        "RevealContact" => {
            unary(c, &headers, &body, |c, r| async move {
                c.reveal_contact(r).await
            })
            .await
        }
        "ListAudit" => {
            unary(
                c,
                &headers,
                &body,
                |c, r| async move { c.list_audit(r).await },
            )
            .await
        }
        "Supervision" => {
            unary(
                c,
                &headers,
                &body,
                |c, r| async move { c.supervision(r).await },
            )
            .await
        }
        "RecordPublicity" => {
            unary(c, &headers, &body, |c, r| async move {
                c.record_publicity(r).await
            })
            .await
        }
        _ => status_response(&tonic::Status::unimplemented(format!(
            "no console method {:?}",
            truncate(&method)
        ))),
    }
}

/// Decodes the request, calls the service method, encodes the answer.
async fn unary<Req, Resp, F, Fut>(
    console: Arc<ConsoleService>,
    headers: &HeaderMap,
    body: &[u8],
    f: F,
) -> Response
where
    Req: DeserializeOwned,
    Resp: Serialize,
    F: FnOnce(Arc<ConsoleService>, tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    if body.len() > MAX_BODY {
        return status_response(&tonic::Status::invalid_argument(format!(
            "body: {} bytes is above the {MAX_BODY}-byte limit",
            body.len()
        )));
    }
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let msg: Req = match serde_json::from_slice(body) {
        Ok(m) => m,
        Err(e) => {
            return status_response(&tonic::Status::invalid_argument(format!(
                "body: not a valid request: {e}"
            )));
        }
    };
    let request = match grpc_request(headers, msg) {
        Ok(r) => r,
        Err(s) => return status_response(&s),
    };
    match f(console, request).await {
        Ok(r) => Json(r.into_inner()).into_response(),
        Err(s) => status_response(&s),
    }
}

/// A name from the URL, bounded, for an error message.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// `GET /api/daily?day=YYYY-MM-DD&format=xlsx|csv&jurisdiction=P`.
pub(super) async fn daily(
    State(h): State<Http>,
    headers: HeaderMap,
    Query(q): Query<proto::DailyListRequest>,
) -> Response {
    let request = match grpc_request(&headers, q) {
        Ok(r) => r,
        Err(s) => return status_response(&s),
    };
    let mut chunks = match h.console.daily_list(request).await {
        Ok(r) => r.into_inner(),
        Err(s) => return status_response(&s),
    };
    let (mut name, mut content_type, mut bytes) = (String::new(), String::new(), Vec::new());
    while let Some(chunk) = chunks.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(s) => return status_response(&s),
        };
        if name.is_empty() {
            name = chunk.file_name;
            content_type = chunk.content_type;
        }
        if bytes.len() + chunk.data.len() > MAX_DAILY_BYTES {
            return status_response(&tonic::Status::resource_exhausted(
                "daily list too large for one download; use `dualwarn tasks daily`",
            ));
        }
        bytes.extend_from_slice(&chunk.data);
    }
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        ascii_name(&name),
        percent_encode(&name)
    );
    let mut res = (StatusCode::OK, bytes).into_response();
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// The file name with anything outside printable ASCII replaced, for old clients.
fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// RFC 5987 percent-encoding of a UTF-8 file name.
fn percent_encode(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_file_name_is_kept_for_new_clients_and_replaced_for_old() {
        let name = "任务清单-520102-2026-12-07.xlsx";
        assert_eq!(ascii_name(name), "____-520102-2026-12-07.xlsx");
        assert!(percent_encode(name).starts_with("%E4%BB%BB"));
        assert!(percent_encode(name).ends_with("-2026-12-07.xlsx"));
    }
}
