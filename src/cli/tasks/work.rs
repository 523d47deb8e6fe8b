//! The work steps of `dualwarn tasks` beyond sign and report: `call`,
//! `visit`, `follow-up`, and need-to-know contact (`reveal`, `audit`). A
//! step is based on the task's version as read just before it.

use clap::Args;

use super::{ConsoleArgs, console_client, current_version, print_task};
use crate::proto;

/// `tasks call`.
#[derive(Args)]
pub struct CallArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// Task id.
    task_id: String,
    /// The call connected.
    #[arg(long)]
    connected: bool,
    /// Why it did not: 关机, 拒接, 空号...
    #[arg(long, default_value = "")]
    reason: String,
    /// Who called.
    #[arg(long, default_value = "")]
    actor: String,
}

/// `tasks visit`.
#[derive(Args)]
pub struct VisitArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// Task id.
    task_id: String,
    /// The person was met.
    #[arg(long)]
    met: bool,
    /// What happened at the door (no personal data).
    #[arg(long, default_value = "")]
    note: String,
    /// Who visited.
    #[arg(long, default_value = "")]
    actor: String,
}

/// `tasks follow-up`.
#[derive(Args)]
pub struct FollowUpArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// Task id (closed).
    task_id: String,
    /// Schedule a round due this far ahead (e.g. `3d`); without it, report
    /// the open round done.
    #[arg(long, value_parser = humantime::parse_duration)]
    due_in: Option<std::time::Duration>,
    /// What to check, or what the round found.
    #[arg(long, default_value = "")]
    note: String,
    /// Who.
    #[arg(long, default_value = "")]
    actor: String,
}

/// `tasks transfer`.
#[derive(Args)]
pub struct TransferArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// Task id.
    task_id: String,
    /// Where the person is now: 12-digit division code.
    #[arg(long)]
    to: String,
    /// Why: moved, works elsewhere...
    #[arg(long)]
    reason: String,
    /// Who asks.
    #[arg(long, default_value = "")]
    actor: String,
}

/// `tasks decide-transfer`.
#[derive(Args)]
pub struct DecideArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// Task id.
    task_id: String,
    /// Approve (the pair moves); without it, refuse.
    #[arg(long)]
    approve: bool,
    /// Note.
    #[arg(long, default_value = "")]
    note: String,
}

/// `tasks reveal`.
#[derive(Args)]
pub struct RevealArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// Task id.
    task_id: String,
    /// Why the contact is needed; kept in the audit log.
    #[arg(long)]
    reason: String,
}

/// `tasks audit`.
#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// Division-code prefix inside your jurisdiction.
    #[arg(long, default_value = "")]
    jurisdiction: String,
}

/// Records a phone attempt.
pub async fn call(a: CallArgs) -> anyhow::Result<()> {
    let c = a.console.conn.conn();
    let mut client = console_client(&c).await?;
    let base_version = Some(current_version(&mut client, &c, &a.task_id).await?);
    let req = proto::RecordCallRequest {
        task_id: a.task_id,
        actor: a.actor,
        connected: a.connected,
        reason: a.reason,
        base_version,
    };
    let t = client.record_call(c.request(req)?).await?.into_inner();
    print_task(&t, a.console.json);
    Ok(())
}

/// Records a visit.
pub async fn visit(a: VisitArgs) -> anyhow::Result<()> {
    let c = a.console.conn.conn();
    let mut client = console_client(&c).await?;
    let base_version = Some(current_version(&mut client, &c, &a.task_id).await?);
    let req = proto::RecordVisitRequest {
        task_id: a.task_id,
        actor: a.actor,
        met: a.met,
        note: a.note,
        base_version,
    };
    let t = client.record_visit(c.request(req)?).await?.into_inner();
    print_task(&t, a.console.json);
    Ok(())
}

/// Schedules a follow-up round, or reports the open one done.
pub async fn follow_up(a: FollowUpArgs) -> anyhow::Result<()> {
    let c = a.console.conn.conn();
    let mut client = console_client(&c).await?;
    let base_version = Some(current_version(&mut client, &c, &a.task_id).await?);
    let due_at_ms = match a.due_in {
        Some(d) => {
            crate::app::now_ms().saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        }
        None => 0,
    };
    let req = proto::FollowUpRequest {
        task_id: a.task_id,
        actor: a.actor,
        due_at_ms,
        note: a.note,
        base_version,
    };
    let t = client.follow_up(c.request(req)?).await?.into_inner();
    print_task(&t, a.console.json);
    Ok(())
}

/// Asks to move a task's pair to where the person is now.
pub async fn transfer(a: TransferArgs) -> anyhow::Result<()> {
    let c = a.console.conn.conn();
    let mut client = console_client(&c).await?;
    let base_version = Some(current_version(&mut client, &c, &a.task_id).await?);
    let req = proto::RequestTransferRequest {
        task_id: a.task_id,
        actor: a.actor,
        to_division_code: a.to,
        reason: a.reason,
        base_version,
    };
    let t = client.request_transfer(c.request(req)?).await?.into_inner();
    print_task(&t, a.console.json);
    Ok(())
}

/// Approves or refuses a transfer; prints the pair as it now stands.
pub async fn decide_transfer(a: DecideArgs) -> anyhow::Result<()> {
    let c = a.console.conn.conn();
    let mut client = console_client(&c).await?;
    let base_version = Some(current_version(&mut client, &c, &a.task_id).await?);
    let req = proto::DecideTransferRequest {
        task_id: a.task_id,
        actor: String::new(),
        approve: a.approve,
        note: a.note,
        base_version,
    };
    let r = client.decide_transfer(c.request(req)?).await?.into_inner();
    for t in &r.tasks {
        print_task(t, a.console.json);
    }
    Ok(())
}

/// Prints the full contact of a task; the server audits it.
pub async fn reveal(a: RevealArgs) -> anyhow::Result<()> {
    let c = a.console.conn.conn();
    let req = proto::RevealContactRequest {
        task_id: a.task_id,
        reason: a.reason,
    };
    let r = console_client(&c)
        .await?
        .reveal_contact(c.request(req)?)
        .await?
        .into_inner();
    if a.console.json {
        crate::say!(
            "{}",
            serde_json::json!({"task_id": r.task_id, "phone": r.phone, "name": r.name,
                "address": r.address, "division_code": r.division_code, "audit_seq": r.audit_seq})
        );
    } else {
        crate::say!(
            "{} {} {} {} {} (audit #{})",
            r.task_id,
            r.phone,
            r.name,
            r.division_code,
            r.address,
            r.audit_seq
        );
    }
    Ok(())
}

/// Prints every page of the audit log of a jurisdiction.
pub async fn audit(a: AuditArgs) -> anyhow::Result<()> {
    let c = a.console.conn.conn();
    let mut client = console_client(&c).await?;
    let mut req = proto::ListAuditRequest {
        jurisdiction: a.jurisdiction,
        ..Default::default()
    };
    loop {
        let page = client
            .list_audit(c.request(req.clone())?)
            .await?
            .into_inner();
        for e in &page.entries {
            if a.console.json {
                crate::say!(
                    "{}",
                    serde_json::json!({"seq": e.seq, "at_ms": e.at_ms, "actor": e.actor,
                        "identity": e.identity, "task_id": e.task_id,
                        "division_code": e.division_code, "reason": e.reason})
                );
            } else {
                crate::say!(
                    "#{} {} {} ({}) {} {} {}",
                    e.seq,
                    crate::api::local_time(e.at_ms, 8),
                    e.actor,
                    e.identity,
                    e.task_id,
                    e.division_code,
                    e.reason
                );
            }
        }
        if page.next_page_token.is_empty() {
            return Ok(());
        }
        req.page_token = page.next_page_token;
    }
}

/// How publicity was given, as `tasks publicity --method` takes it.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum PublicityArg {
    /// 上门.
    Door,
    /// 电话.
    Phone,
    /// 村(社区)群.
    GroupChat,
    /// 海报.
    Poster,
    /// 宣讲会.
    Meeting,
}

impl From<PublicityArg> for proto::PublicityMethod {
    fn from(m: PublicityArg) -> Self {
        match m {
            PublicityArg::Door => proto::PublicityMethod::Door,
            PublicityArg::Phone => proto::PublicityMethod::Phone,
            PublicityArg::GroupChat => proto::PublicityMethod::GroupChat,
            PublicityArg::Poster => proto::PublicityMethod::Poster,
            PublicityArg::Meeting => proto::PublicityMethod::Meeting,
        }
    }
}

/// `tasks publicity`.
#[derive(Args)]
pub struct PublicityArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// Task id: a pair's task (双宣传) or a publicity task (宣传任务).
    task_id: String,
    /// door | phone | group-chat | poster | meeting.
    #[arg(long, value_enum, hide_possible_values = true)]
    method: PublicityArg,
    /// It was done (a publicity task then closes).
    #[arg(long)]
    done: bool,
    /// Households reached.
    #[arg(long, default_value_t = 0)]
    households: u32,
    /// Note (no personal data).
    #[arg(long, default_value = "")]
    note: String,
    /// Who.
    #[arg(long, default_value = "")]
    actor: String,
}

/// Records publicity given on a task.
pub async fn publicity(a: PublicityArgs) -> anyhow::Result<()> {
    let c = a.console.conn.conn();
    let mut client = console_client(&c).await?;
    let base_version = Some(current_version(&mut client, &c, &a.task_id).await?);
    let req = proto::RecordPublicityRequest {
        task_id: a.task_id,
        actor: a.actor,
        method: proto::PublicityMethod::from(a.method).into(),
        done: a.done,
        households: a.households,
        note: a.note,
        base_version,
    };
    let t = client.record_publicity(c.request(req)?).await?.into_inner();
    print_task(&t, a.console.json);
    Ok(())
}
