//! The report commands of `dualwarn tasks`: `daily` downloads the daily
//! task list (任务清单) the server streams, into a file that appears whole
//! or not at all; `supervise` prints the supervision figures (督导).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{ConsoleArgs, console_client};
use crate::proto;

/// File format of the daily list.
#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Excel workbook: 任务清单, 汇总 and 逾期清单 sheets.
    Xlsx,
    /// The task sheet alone, UTF-8 CSV.
    Csv,
}

/// `tasks daily`.
#[derive(Args)]
pub struct DailyArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// Division-code prefix; empty for your whole jurisdiction.
    #[arg(long, default_value = "")]
    jurisdiction: String,
    /// Local day the tasks were created, YYYY-MM-DD.
    #[arg(long)]
    day: String,
    /// xlsx | csv.
    #[arg(long, value_enum, default_value = "xlsx")]
    format: FormatArg,
    /// Where to write the file; by default the name the server gives, here.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `tasks supervise`.
#[derive(Args)]
pub struct SuperviseArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// Division-code prefix; empty for your whole jurisdiction.
    #[arg(long, default_value = "")]
    jurisdiction: String,
    /// First local day of creation, YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// Last local day of creation (inclusive); by default the first.
    #[arg(long)]
    to: Option<String>,
}

/// Downloads the daily list.
pub async fn daily(a: DailyArgs) -> anyhow::Result<()> {
    let c = a.console.conn.conn();
    let mut client = console_client(&c).await?;
    let format = match a.format {
        FormatArg::Xlsx => "xlsx",
        FormatArg::Csv => "csv",
    };
    let req = proto::DailyListRequest {
        jurisdiction: a.jurisdiction,
        day: a.day,
        format: format.into(),
    };
    let mut stream = client.daily_list(c.request(req)?).await?.into_inner();
    let mut bytes = Vec::new();
    let mut name = String::new();
    while let Some(chunk) = stream.message().await? {
        if name.is_empty() {
            name = chunk.file_name;
            bytes.reserve(chunk.total_bytes.min(1 << 30) as usize);
        }
        bytes.extend_from_slice(&chunk.data);
    }
    let out = a.out.unwrap_or_else(|| PathBuf::from(&name));
    // Written beside the target, then renamed: never a half file under its name.
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile_in(&dir)?;
    tmp.1.write_all(&bytes)?;
    tmp.1.sync_all()?;
    std::fs::rename(&tmp.0, &out).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

fn tempfile_in(dir: &std::path::Path) -> anyhow::Result<(PathBuf, std::fs::File)> {
    let path = dir.join(format!(".dualwarn-daily-{}.part", std::process::id()));
    let f = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok((path, f))
}

/// Prints the supervision figures.
pub async fn supervise(a: SuperviseArgs) -> anyhow::Result<()> {
    let c = a.console.conn.conn();
    let mut client = console_client(&c).await?;
    let req = proto::SupervisionRequest {
        jurisdiction: a.jurisdiction,
        to_day: a.to.unwrap_or_else(|| a.from.clone()),
        from_day: a.from,
    };
    let r = client.supervision(c.request(req)?).await?.into_inner();
    if a.console.json {
        crate::say!("{}", serde_json::to_string(&json(&r))?);
        return Ok(());
    }
    let total = r.total.unwrap_or_default();
    crate::say!("合计 {}", line(&total));
    for (title, units) in [("区县", &r.counties), ("派出所", &r.stations)] {
        crate::say!("{title} (按时办结率排名)");
        for u in units {
            let f = u.figures.unwrap_or_default();
            crate::say!("  #{:<3} {:<14} {}", u.rank, u.id, line(&f));
        }
    }
    crate::say!("规则 (准确率 = (已劝阻+已被骗) / (已劝阻+已被骗+不符))");
    for rule in &r.rules {
        let f = rule.figures.unwrap_or_default();
        crate::say!(
            "  {:<28} 准确率 {} (TP {} FP {}) {}",
            rule.rule_id,
            pct(rule.precision),
            rule.true_positives,
            rule.false_positives,
            line(&f)
        );
    }
    Ok(())
}

fn pct(rate: Option<f64>) -> String {
    crate::report::figures::percent(rate)
}

fn line(f: &proto::Figures) -> String {
    format!(
        "任务 {} 办结 {} 逾期 {} 按时办结率 {} 见面率 {} 劝阻成功率 {} 已被骗 {} 转办 {}",
        f.tasks,
        f.closed,
        f.overdue,
        pct(f.on_time_rate),
        pct(f.reached_rate),
        pct(f.dissuasion_rate),
        f.defrauded,
        f.transfers
    )
}

fn figures_json(f: &proto::Figures) -> serde_json::Value {
    serde_json::json!({
        "tasks": f.tasks, "closed": f.closed, "on_time": f.on_time, "late": f.late,
        "overdue": f.overdue, "reported": f.reported, "reached": f.reached,
        "dissuaded": f.dissuaded, "defrauded": f.defrauded,
        "cannot_be_found": f.cannot_be_found, "not_found_yet": f.not_found_yet,
        "mismatch": f.mismatch, "duplicate": f.duplicate, "transfers": f.transfers,
        "amount_lost_fen": f.amount_lost_fen, "amount_saved_fen": f.amount_saved_fen,
        "on_time_rate": f.on_time_rate, "reached_rate": f.reached_rate,
        "dissuasion_rate": f.dissuasion_rate,
    })
}

fn json(r: &proto::SupervisionResponse) -> serde_json::Value {
    let unit = |u: &proto::UnitFigures| {
        serde_json::json!({"id": u.id, "rank": u.rank,
            "figures": figures_json(&u.figures.unwrap_or_default())})
    };
    serde_json::json!({
        "as_of_ms": r.as_of_ms,
        "total": figures_json(&r.total.unwrap_or_default()),
        "counties": r.counties.iter().map(unit).collect::<Vec<_>>(),
        "stations": r.stations.iter().map(unit).collect::<Vec<_>>(),
        "rules": r.rules.iter().map(|x| serde_json::json!({
            "rule_id": x.rule_id, "precision": x.precision,
            "true_positives": x.true_positives, "false_positives": x.false_positives,
            "figures": figures_json(&x.figures.unwrap_or_default()),
        })).collect::<Vec<_>>(),
    })
}
