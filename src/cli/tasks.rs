//! `dualwarn tasks`: a terminal console — list, watch, look at a linked
//! case series (串并案), acknowledge and report outcomes over `TaskConsole`, with the console token in the
//! `authorization` metadata.

use tonic::Request;
use tonic::transport::Channel;

use crate::api::local_time;
use crate::proto;
use crate::proto::task_console_client::TaskConsoleClient;

/// How to reach the console service.
#[derive(Clone, Debug)]
pub struct ConsoleConn {
    /// Server address.
    pub addr: String,
    /// Bearer token, when the server has consoles configured.
    pub token: Option<String>,
    /// TLS, when the server has it.
    pub tls: super::ClientTls,
}

impl ConsoleConn {
    /// Connects.
    pub async fn client(&self) -> anyhow::Result<TaskConsoleClient<Channel>> {
        Ok(TaskConsoleClient::new(
            super::channel(&self.addr, &self.tls).await?,
        ))
    }

    /// Wraps a message with the token.
    pub fn request<T>(&self, msg: T) -> anyhow::Result<Request<T>> {
        super::with_bearer(msg, self.token.as_deref())
    }
}

/// One task as a line: id, level, status, role, division, assignee, due, subject, fraud type.
pub fn task_line(t: &proto::Task) -> String {
    let level = proto::Level::try_from(t.level)
        .map_or("?", |l| l.as_str_name().trim_start_matches("LEVEL_"));
    let status = proto::TaskStatus::try_from(t.status)
        .map_or("?", |s| s.as_str_name().trim_start_matches("TASK_STATUS_"));
    let role =
        proto::Role::try_from(t.role).map_or("?", |r| r.as_str_name().trim_start_matches("ROLE_"));
    let j = t.jurisdiction.clone().unwrap_or_default();
    let a = t.assignee.clone().unwrap_or_default();
    let s = t.subject.clone().unwrap_or_default();
    format!(
        "{} {:<6} {:<12} {:<14} {} {} {}({}) due {} {} {} alerts={} [{}]",
        t.id,
        level,
        status,
        role,
        j.division_code,
        j.grid_id,
        a.name,
        a.id,
        local_time(t.due_at_ms, 8),
        s.phone,
        s.name,
        t.alert_keys.len(),
        t.fraud_type
    )
}

/// Prints every page of a task list; returns the number printed.
pub async fn list(
    conn: &ConsoleConn,
    mut req: proto::ListTasksRequest,
    json: bool,
) -> anyhow::Result<usize> {
    let mut client = conn.client().await?;
    let mut n = 0;
    loop {
        let page = client
            .list_tasks(conn.request(req.clone())?)
            .await?
            .into_inner();
        for t in &page.tasks {
            print_task(t, json);
            n += 1;
        }
        if page.next_page_token.is_empty() {
            return Ok(n);
        }
        req.page_token = page.next_page_token;
    }
}

/// Prints the caller's tasks of a series, then one line per other county
/// with its task count; returns the surviving series id and the number of
/// tasks printed.
pub async fn series(
    conn: &ConsoleConn,
    series_id: String,
    json: bool,
) -> anyhow::Result<(String, usize)> {
    let mut client = conn.client().await?;
    let r = client
        .list_series(conn.request(proto::ListSeriesRequest { series_id })?)
        .await?
        .into_inner();
    for t in &r.tasks {
        print_task(t, json);
    }
    for e in &r.elsewhere {
        if json {
            crate::say!(
                "{}",
                serde_json::json!({"elsewhere": e.county, "tasks": e.tasks})
            );
        } else {
            let noun = if e.tasks == 1 { "task" } else { "tasks" };
            crate::say!("elsewhere {}: {} {noun}", e.county, e.tasks);
        }
    }
    Ok((r.series_id, r.tasks.len()))
}

/// Follows task events until interrupted; prints each with its resume token.
pub async fn watch(
    conn: &ConsoleConn,
    req: proto::WatchTasksRequest,
    json: bool,
) -> anyhow::Result<()> {
    let mut client = conn.client().await?;
    let mut stream = client.watch_tasks(conn.request(req)?).await?.into_inner();
    while let Some(e) = stream.message().await? {
        let kind = proto::TaskEventKind::try_from(e.kind).map_or("?", |k| {
            k.as_str_name().trim_start_matches("TASK_EVENT_KIND_")
        });
        match (&e.task, json) {
            (Some(t), false) => crate::say!("#{} {:<12} {}", e.resume_token, kind, task_line(t)),
            (Some(t), true) => crate::say!(
                "{}",
                serde_json::json!({"resume_token": e.resume_token, "kind": kind, "task": task_json(t)})
            ),
            (None, _) => crate::say!("#{} {kind}", e.resume_token),
        }
    }
    Ok(())
}

/// Prints a task as a line or as JSON.
pub fn print_task(t: &proto::Task, json: bool) {
    if json {
        crate::say!("{}", task_json(t));
    } else {
        crate::say!("{}", task_line(t));
    }
}

fn name<E>(r: Result<&'static str, E>) -> &'static str {
    r.unwrap_or("UNKNOWN")
}

fn task_json(t: &proto::Task) -> serde_json::Value {
    let j = t.jurisdiction.clone().unwrap_or_default();
    let a = t.assignee.clone().unwrap_or_default();
    let s = t.subject.clone().unwrap_or_default();
    serde_json::json!({
        "id": t.id, "pair_id": t.pair_id, "role": name(proto::Role::try_from(t.role).map(|r| r.as_str_name())),
        "level": name(proto::Level::try_from(t.level).map(|l| l.as_str_name())),
        "status": name(proto::TaskStatus::try_from(t.status).map(|s| s.as_str_name())),
        "division_code": j.division_code, "police_station": j.police_station, "police_area": j.police_area, "grid_id": j.grid_id,
        "assignee": {"id": a.id, "name": a.name},
        "subject": {"phone": s.phone, "name": s.name, "address": s.address, "key": s.subject_key},
        "fraud_type": t.fraud_type, "created_at_ms": t.created_at_ms, "due_at_ms": t.due_at_ms,
        "alert_keys": t.alert_keys, "rule_set_version": t.rule_set_version, "series_id": t.series_id,
        "reasons": t.reasons.iter().map(|r| serde_json::json!({"rule_id": r.rule_id, "why": r.why, "alert": r.alert_key})).collect::<Vec<_>>(),
        "history": t.history.iter().map(|h| serde_json::json!({"at_ms": h.at_ms, "actor": h.actor, "kind": name(proto::TaskEventKind::try_from(h.kind).map(|k| k.as_str_name())), "detail": h.detail})).collect::<Vec<_>>(),
    })
}
