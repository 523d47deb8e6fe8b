//! `dualwarn tasks`: a terminal console — list, watch, look at a linked
//! case series (串并案), acknowledge and report outcomes over `TaskConsole`,
//! with the console token in the `authorization` metadata. The subcommands
//! and their flags ([`TasksCommand`]) come first, then what they print.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use tonic::transport::Channel;

use super::conn::{Conn, ConnArgs, Console};
use crate::api::local_time;
use crate::proto;
use crate::proto::task_console_client::TaskConsoleClient;

mod flags;
mod report;
mod work;

use flags::wire;
pub use flags::{CodeArg, DefraudedArg, LevelArg, ReachedArg, RoleArg, StatusArg};
pub use report::{DailyArgs, FormatArg, SuperviseArgs};
pub use work::{
    AuditArgs, CallArgs, DecideArgs, FollowUpArgs, PublicityArg, PublicityArgs, RevealArgs,
    TransferArgs, VisitArgs,
};

/// Tasks per page of `tasks list`.
const PAGE_SIZE: u32 = 500;

/// The `tasks` subcommands.
#[derive(Subcommand)]
pub enum TasksCommand {
    /// List tasks of a jurisdiction (every page).
    List {
        #[command(flatten)]
        console: ConsoleArgs,
        /// Division-code prefix.
        #[arg(long, default_value = "")]
        jurisdiction: String,
        /// police | grid.
        #[arg(long, value_enum, hide_possible_values = true)]
        role: Option<RoleArg>,
        /// open | acknowledged | in-progress | done.
        #[arg(long, value_enum, hide_possible_values = true)]
        status: Option<StatusArg>,
        /// high | medium | low.
        #[arg(long, value_enum, hide_possible_values = true)]
        level: Option<LevelArg>,
        /// Local day created, YYYY-MM-DD.
        #[arg(long, default_value = "")]
        day: String,
        /// Only tasks past their deadline and not done (逾期).
        #[arg(long)]
        overdue: bool,
    },
    /// Follow task events of a jurisdiction.
    Watch {
        #[command(flatten)]
        console: ConsoleArgs,
        /// Division-code prefix.
        #[arg(long, default_value = "")]
        jurisdiction: String,
        /// Resume after this token.
        #[arg(long, default_value = "")]
        from: String,
    },
    /// List the tasks of a linked case series (串并案) in your jurisdiction,
    /// and how many lie in each other county.
    Series {
        #[command(flatten)]
        console: ConsoleArgs,
        /// Series id, S- and 16 hex digits.
        series_id: String,
    },
    /// Sign for a task (签收).
    Ack {
        #[command(flatten)]
        console: ConsoleArgs,
        /// Task id.
        task_id: String,
        /// Who signs.
        #[arg(long, default_value = "")]
        actor: String,
    },
    /// 电话劝阻: record a phone attempt.
    Call(CallArgs),
    /// 上门: record a visit.
    Visit(VisitArgs),
    /// 回访: schedule a follow-up round on a closed task, or report it done.
    FollowUp(FollowUpArgs),
    /// 转办: the person is elsewhere; ask to move the pair there.
    Transfer(TransferArgs),
    /// Approve or refuse a transfer (a centre above both jurisdictions).
    DecideTransfer(DecideArgs),
    /// Show the full contact of a task (assignee and supervisors; audited).
    Reveal(RevealArgs),
    /// The contact reveals of your jurisdiction (centres).
    Audit(AuditArgs),
    /// 宣传: record publicity given (双宣传 on a pair's task, or the work of
    /// a publicity task, which closes it with --done).
    Publicity(PublicityArgs),
    /// Download the daily task list (任务清单) as XLSX or CSV.
    Daily(DailyArgs),
    /// Supervision figures (督导) per county, station and rule.
    Supervise(SuperviseArgs),
    /// Report an outcome (反馈) with its code; all but not-found-yet close the task.
    Outcome {
        #[command(flatten)]
        console: ConsoleArgs,
        /// Task id.
        task_id: String,
        /// dissuaded | not-found-yet | cannot-be-found | mismatch | duplicate | defrauded.
        #[arg(long, value_enum, hide_possible_values = true)]
        code: CodeArg,
        /// Amount lost (受骗金额), yuan; needed with --code defrauded.
        #[arg(long, default_value_t = 0)]
        lost_yuan: i64,
        /// person | relative | nobody.
        #[arg(long, value_enum, hide_possible_values = true)]
        reached: ReachedArg,
        /// no | yes.
        #[arg(long, value_enum, hide_possible_values = true, default_value = "no")]
        defrauded: DefraudedArg,
        /// The call connected.
        #[arg(long)]
        connected: bool,
        /// Amount saved (劝阻金额), yuan.
        #[arg(long, default_value_t = 0)]
        saved_yuan: i64,
        /// Another round of follow-up is needed.
        #[arg(long)]
        follow_up: bool,
        /// Who reports.
        #[arg(long, default_value = "")]
        actor: String,
    },
}

/// What every `tasks` subcommand takes: the connection and the output form.
#[derive(Args, Clone)]
pub struct ConsoleArgs {
    /// Address, console token and TLS.
    #[command(flatten)]
    pub conn: ConnArgs<Console>,
    /// Print JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs one `tasks` subcommand.
pub async fn run(cmd: TasksCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TasksCommand::List {
            console,
            jurisdiction,
            role,
            status,
            level,
            day,
            overdue,
        } => {
            let req = proto::ListTasksRequest {
                overdue,
                jurisdiction,
                role: wire::<_, proto::Role>(role),
                status: wire::<_, proto::TaskStatus>(status),
                level: wire::<_, proto::Level>(level),
                created_day: day,
                page_size: PAGE_SIZE,
                page_token: String::new(),
            };
            let n = list(&console.conn.conn(), req, console.json).await?;
            eprintln!("{n} task(s)");
        }
        TasksCommand::Watch {
            console,
            jurisdiction,
            from,
        } => {
            let req = proto::WatchTasksRequest {
                jurisdiction,
                resume_token: from,
            };
            watch(&console.conn.conn(), req, console.json).await?;
        }
        TasksCommand::Series { console, series_id } => {
            let (root, n) = series(&console.conn.conn(), series_id, console.json).await?;
            eprintln!("{n} task(s) in your jurisdiction, series {root}");
        }
        TasksCommand::Ack {
            console,
            task_id,
            actor,
        } => {
            let c = console.conn.conn();
            let mut client = console_client(&c).await?;
            let base_version = Some(current_version(&mut client, &c, &task_id).await?);
            let t = client
                .acknowledge(c.request(proto::AcknowledgeRequest {
                    task_id,
                    actor,
                    base_version,
                })?)
                .await?
                .into_inner();
            print_task(&t, console.json);
        }
        TasksCommand::Call(a) => work::call(a).await?,
        TasksCommand::Visit(a) => work::visit(a).await?,
        TasksCommand::FollowUp(a) => work::follow_up(a).await?,
        TasksCommand::Transfer(a) => work::transfer(a).await?,
        TasksCommand::DecideTransfer(a) => work::decide_transfer(a).await?,
        TasksCommand::Reveal(a) => work::reveal(a).await?,
        TasksCommand::Audit(a) => work::audit(a).await?,
        TasksCommand::Daily(a) => report::daily(a).await?,
        TasksCommand::Publicity(a) => work::publicity(a).await?,
        TasksCommand::Supervise(a) => report::supervise(a).await?,
        TasksCommand::Outcome {
            console,
            task_id,
            code,
            lost_yuan,
            reached,
            defrauded,
            connected,
            saved_yuan,
            follow_up,
            actor,
        } => {
            let outcome = proto::Outcome {
                code: proto::OutcomeCode::from(code).into(),
                amount_lost_fen: lost_yuan.saturating_mul(100),
                reached: proto::outcome::Reached::from(reached).into(),
                defrauded: proto::outcome::Defrauded::from(defrauded).into(),
                connected,
                amount_saved_fen: saved_yuan.saturating_mul(100),
                follow_up_needed: follow_up,
                ..Default::default()
            };
            let c = console.conn.conn();
            let mut client = console_client(&c).await?;
            let base_version = Some(current_version(&mut client, &c, &task_id).await?);
            let req = proto::ReportOutcomeRequest {
                task_id,
                actor,
                outcome: Some(outcome),
                base_version,
            };
            let t = client.report_outcome(c.request(req)?).await?.into_inner();
            print_task(&t, console.json);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The task's version now: a terminal user acts on what they just read.
pub(crate) async fn current_version(
    client: &mut TaskConsoleClient<Channel>,
    c: &Conn,
    task_id: &str,
) -> anyhow::Result<u64> {
    let req = proto::GetTaskRequest {
        task_id: task_id.into(),
    };
    Ok(client.get_task(c.request(req)?).await?.into_inner().version)
}

/// Connects to the console service.
pub async fn console_client(conn: &Conn) -> anyhow::Result<TaskConsoleClient<Channel>> {
    Ok(TaskConsoleClient::new(conn.channel().await?))
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
    conn: &Conn,
    mut req: proto::ListTasksRequest,
    json: bool,
) -> anyhow::Result<usize> {
    let mut client = console_client(conn).await?;
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
pub async fn series(conn: &Conn, series_id: String, json: bool) -> anyhow::Result<(String, usize)> {
    let mut client = console_client(conn).await?;
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
pub async fn watch(conn: &Conn, req: proto::WatchTasksRequest, json: bool) -> anyhow::Result<()> {
    let mut client = console_client(conn).await?;
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
        "version": t.version,
        "follow_ups": t.follow_ups.iter().map(|f| serde_json::json!({"round": f.round, "due_at_ms": f.due_at_ms, "done_at_ms": f.done_at_ms, "note": f.note})).collect::<Vec<_>>(),
        "reasons": t.reasons.iter().map(|r| serde_json::json!({"rule_id": r.rule_id, "why": r.why, "alert": r.alert_key})).collect::<Vec<_>>(),
        "history": t.history.iter().map(|h| serde_json::json!({"at_ms": h.at_ms, "actor": h.actor, "kind": name(proto::TaskEventKind::try_from(h.kind).map(|k| k.as_str_name())), "detail": h.detail})).collect::<Vec<_>>(),
    })
}
