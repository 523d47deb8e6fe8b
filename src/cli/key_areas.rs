//! `dualwarn rules key-areas`: asks a running server to assess key areas
//! (重点区域) now with the method of its `key_areas.toml`, and prints each
//! key area with its figures and the publicity pair (宣传任务) that covers it.

use super::graph::AdminArgs;
use crate::proto;
use crate::proto::rule_admin_client::RuleAdminClient;

/// `rules key-areas` flags.
#[derive(clap::Args)]
pub struct KeyAreasArgs {
    /// Address, admin token and TLS.
    #[command(flatten)]
    pub conn: AdminArgs,
    /// Local day the window ends with, YYYY-MM-DD; today when not given.
    #[arg(long, default_value = "")]
    pub day: String,
    /// Report the key areas only; make no task.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// Runs the assessment on the server and prints it.
pub async fn run(a: KeyAreasArgs) -> anyhow::Result<()> {
    let c = a.conn.conn();
    let mut client = RuleAdminClient::new(c.channel().await?);
    let r = client
        .assess_key_areas(c.request(proto::AssessKeyAreasRequest {
            day: a.day,
            dry_run: a.dry_run,
        })?)
        .await?
        .into_inner();
    for k in &r.key_areas {
        if a.json {
            crate::say!(
                "{}",
                serde_json::json!({"day": r.day, "division_code": k.division_code,
                    "fraud_type": k.fraud_type, "window_count": k.window_count,
                    "reports": k.reports, "baseline_mean": k.baseline_mean,
                    "group": k.group, "why": k.why, "pair_id": k.pair_id,
                    "created": k.created})
            );
        } else {
            let pair = match (k.pair_id.as_str(), k.created) {
                ("", _) => "no task".to_string(),
                (p, true) => format!("new {p}"),
                (p, false) => format!("open {p}"),
            };
            crate::say!("{} {} [{}] {}", k.division_code, k.fraud_type, pair, k.why);
        }
    }
    eprintln!(
        "{}: {} key area(s) from {} alert(s)",
        r.day,
        r.key_areas.len(),
        r.alerts
    );
    Ok(())
}
