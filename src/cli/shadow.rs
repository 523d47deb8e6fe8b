//! `dualwarn rules shadow start DIR | report | stop | promote`: an analyst
//! runs a candidate rule set beside the live one on a running server's real
//! stream (影子运行), reads what it would have matched and paired, and puts
//! it in force when it is right.

use std::path::PathBuf;

use super::graph::AdminArgs;
use crate::proto;
use crate::proto::rule_admin_client::RuleAdminClient;
use crate::rules::source::read_dir;

/// `rules shadow` subcommands.
#[derive(clap::Subcommand)]
pub enum ShadowCommand {
    /// Start the rule directory DIR in the shadow (replaces a running candidate).
    Start {
        /// Candidate rule directory.
        dir: PathBuf,
        /// Address, admin token and TLS.
        #[command(flatten)]
        conn: AdminArgs,
    },
    /// What the candidate would have matched and paired, against live.
    Report {
        /// Address, admin token and TLS.
        #[command(flatten)]
        conn: AdminArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// List every rule, not only those whose hits differ.
        #[arg(long)]
        all: bool,
    },
    /// End the shadow run; print its last report.
    Stop {
        /// Address, admin token and TLS.
        #[command(flatten)]
        conn: AdminArgs,
    },
    /// Put the candidate in force (until the next reload: copy its files
    /// into the server's rule directory too).
    Promote {
        /// Address, admin token and TLS.
        #[command(flatten)]
        conn: AdminArgs,
    },
}

/// Runs one `rules shadow` subcommand.
pub async fn run(cmd: ShadowCommand) -> anyhow::Result<()> {
    match cmd {
        ShadowCommand::Start { dir, conn } => {
            let files = read_dir(&dir)?
                .into_iter()
                .map(|f| proto::RuleFile {
                    path: f.path,
                    text: f.text,
                })
                .collect();
            let c = conn.conn();
            let mut client = RuleAdminClient::new(c.channel().await?);
            let r = client
                .start_shadow(c.request(proto::StartShadowRequest { files })?)
                .await?
                .into_inner();
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            crate::say!(
                "shadow {} started beside live {}",
                r.candidate_version,
                r.live_version
            );
        }
        ShadowCommand::Report { conn, json, all } => {
            let c = conn.conn();
            let mut client = RuleAdminClient::new(c.channel().await?);
            let r = client
                .shadow_report(c.request(proto::ShadowReportRequest {})?)
                .await?
                .into_inner();
            if json {
                crate::say!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print_report(&r, all);
            }
        }
        ShadowCommand::Stop { conn } => {
            let c = conn.conn();
            let mut client = RuleAdminClient::new(c.channel().await?);
            let r = client
                .stop_shadow(c.request(proto::StopShadowRequest {})?)
                .await?
                .into_inner();
            print_report(&r, false);
            crate::say!("shadow stopped");
        }
        ShadowCommand::Promote { conn } => {
            let c = conn.conn();
            let mut client = RuleAdminClient::new(c.channel().await?);
            let r = client
                .promote_shadow(c.request(proto::PromoteShadowRequest {})?)
                .await?
                .into_inner();
            crate::say!(
                "{} in force (was {}); {} window(s) carried over",
                r.version,
                r.previous_version,
                r.windows_kept
            );
        }
    }
    Ok(())
}

fn print_report(r: &proto::ShadowReportResponse, all: bool) {
    if r.candidate_version.is_empty() {
        crate::say!("no shadow run (live {})", r.live_version);
        return;
    }
    let state = if r.running {
        "running".to_string()
    } else if r.stopped.is_empty() {
        "ended".to_string()
    } else {
        format!("stopped: {}", r.stopped)
    };
    crate::say!(
        "shadow {} against live {} ({state}): {} alerts; pairs live {} / shadow {} (+{} −{}); rules evaluated live {} / shadow {}",
        r.candidate_version,
        r.live_version,
        r.alerts,
        r.live_pairs,
        r.shadow_pairs,
        r.pairs_added,
        r.pairs_removed,
        r.live_evaluations,
        r.shadow_evaluations
    );
    for f in r
        .rules
        .iter()
        .filter(|f| all || f.live_hits != f.shadow_hits)
    {
        let delta = f.shadow_hits as i64 - f.live_hits as i64;
        crate::say!(
            "  {:<32} live {:>8}  shadow {:>8}  {delta:+}",
            f.rule_id,
            f.live_hits,
            f.shadow_hits
        );
    }
    for (what, samples) in [("would add", &r.added), ("would remove", &r.removed)] {
        for s in samples {
            crate::say!(
                "  {what}: {} {} [{}]",
                s.alert_key,
                s.subject,
                s.rule_ids.join(", ")
            );
        }
    }
}
