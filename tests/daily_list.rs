//! The daily task list (任务清单) and the supervision figures (督导) against
//! the real server: worked tasks show their steps, outcome and timeliness;
//! the XLSX the CLI downloads is read back with openpyxl and the CSV the RPC
//! streams with a CSV reader; a sibling county gets none of it; per-rule
//! precision follows the outcomes.

mod common;

use std::process::Command;

use common::*;
use dualwarn::proto;
use dualwarn::proto::task_console_client::TaskConsoleClient;
use serde_json::Value;
use tonic::Code;
use tonic::transport::Channel;

const COUNTY: &str = "nanming-centre-token-daily1";
const OTHER_COUNTY: &str = "yunyan-centre-token-daily2";

async fn report(c: &mut TaskConsoleClient<Channel>, t: &proto::Task, code: proto::OutcomeCode) {
    let outcome = proto::Outcome {
        code: code as i32,
        reached: proto::outcome::Reached::Person as i32,
        amount_lost_fen: if code == proto::OutcomeCode::Defrauded {
            120_000
        } else {
            0
        },
        ..Default::default()
    };
    c.report_outcome(with_token(
        proto::ReportOutcomeRequest {
            task_id: t.id.clone(),
            actor: String::new(),
            outcome: Some(outcome),
            base_version: Some(t.version),
        },
        COUNTY,
    ))
    .await
    .unwrap();
}

async fn download_csv(
    c: &mut TaskConsoleClient<Channel>,
    token: &str,
    jurisdiction: &str,
    day: &str,
) -> Result<(String, Vec<u8>), tonic::Status> {
    let mut stream = c
        .daily_list(with_token(
            proto::DailyListRequest {
                jurisdiction: jurisdiction.into(),
                day: day.into(),
                format: "csv".into(),
            },
            token,
        ))
        .await?
        .into_inner();
    let (mut name, mut bytes) = (String::new(), Vec::new());
    while let Some(chunk) = stream.message().await? {
        if name.is_empty() {
            name = chunk.file_name;
        }
        bytes.extend_from_slice(&chunk.data);
    }
    Ok((name, bytes))
}

fn column(rows: &[Value], header: &str) -> usize {
    rows[0]
        .as_array()
        .unwrap()
        .iter()
        .position(|h| h == header)
        .unwrap_or_else(|| panic!("no column {header}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_list_and_the_figures_show_the_work_done() {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.admin_token = Some(ADMIN.into());
    cfg.consoles = vec![
        console("南明区反诈中心", COUNTY, "520102"),
        console("云岩区反诈中心", OTHER_COUNTY, "520103"),
    ];
    let server = Server::start_with(cfg).await;
    let dir = directory();
    let people = persons(&dir, "520102", 3, 71);
    let phone = list("flagged_phones", 1).remove(0);
    let mut ingest = server.ingest().await;
    let alerts = people
        .iter()
        .enumerate()
        .map(|(i, p)| call_alert(&format!("d-{i}"), p, &phone))
        .collect();
    let ack = submit(&mut ingest, 1, alerts).await;
    assert_eq!(ack.pairs_created, 3, "{ack:?}");

    let mut c = server.console().await;
    let mut tasks = tasks_of(&mut c, COUNTY).await;
    assert_eq!(tasks.len(), 6);
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    // Sign and dissuade one, a mismatch, a defrauded; the rest stay open.
    let signed = c
        .acknowledge(with_token(
            proto::AcknowledgeRequest {
                task_id: tasks[0].id.clone(),
                actor: String::new(),
                base_version: Some(tasks[0].version),
            },
            COUNTY,
        ))
        .await
        .unwrap()
        .into_inner();
    report(&mut c, &signed, proto::OutcomeCode::Dissuaded).await;
    report(&mut c, &tasks[2], proto::OutcomeCode::Mismatch).await;
    report(&mut c, &tasks[4], proto::OutcomeCode::Defrauded).await;

    let day = dualwarn::model::calendar::local_date(now_ms() / 1000, 8);

    // The CLI downloads the XLSX; openpyxl opens it.
    let book = daily_xlsx(
        &server.url,
        &day,
        &["--token", COUNTY, "--jurisdiction", "520102"],
    );
    assert_eq!(
        book["sheets"],
        serde_json::json!(["任务清单", "汇总", "逾期清单", "宣传任务"])
    );
    let rows = book["cells"]["任务清单"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 7, "a header and six tasks");
    let (id, outcome, status, signed_at, steps, level) = (
        column(&rows, "任务编号"),
        column(&rows, "反馈结果"),
        column(&rows, "状态"),
        column(&rows, "签收时间"),
        column(&rows, "办理步骤"),
        column(&rows, "预警等级"),
    );
    let row_of = |task_id: &str| {
        rows.iter()
            .find(|r| r[id] == task_id)
            .unwrap_or_else(|| panic!("no row for {task_id}"))
            .clone()
    };
    let done = row_of(&tasks[0].id);
    assert_eq!(done[outcome], "已劝阻");
    assert_eq!(done[status], "已办结");
    assert!(done[signed_at].as_str().unwrap().starts_with(&day));
    assert_eq!(done[steps], "签收→反馈(已劝阻)");
    assert_eq!(row_of(&tasks[2].id)[outcome], "不符");
    assert_eq!(row_of(&tasks[4].id)[outcome], "已被骗");
    let open = row_of(&tasks[1].id);
    assert_eq!(open[status], "待签收");
    assert_eq!(open[outcome], "");
    assert!(["高", "中", "低"].contains(&open[level].as_str().unwrap()));

    let summary = book["cells"]["汇总"].as_array().unwrap();
    let header = summary
        .iter()
        .position(|r| r[0] == "分组")
        .expect("figure header");
    let names = summary[header].as_array().unwrap();
    let total = &summary[header + 1];
    assert_eq!(total[0], "合计");
    let cell = |name: &str| &total[names.iter().position(|h| h == name).unwrap()];
    assert_eq!(cell("任务数"), 6);
    assert_eq!(cell("已办结"), 3);
    assert_eq!(cell("已劝阻"), 1);
    assert_eq!(cell("已被骗"), 1);
    assert_eq!(cell("不符"), 1);
    // 劝阻成功率 = 已劝阻 / (已劝阻 + 已被骗 + 确实找不到) = 1 / 2.
    assert!((cell("劝阻成功率").as_f64().unwrap() - 0.5).abs() < 1e-9);
    assert!((cell("见面率").as_f64().unwrap() - 1.0).abs() < 1e-9);
    // Nothing is past its deadline yet: the overdue sheet has its header alone.
    assert_eq!(book["cells"]["逾期清单"].as_array().unwrap().len(), 1);

    // The RPC streams the CSV; a CSV reader reads it.
    let (name, bytes) = download_csv(&mut c, COUNTY, "520102", &day).await.unwrap();
    assert_eq!(name, format!("任务清单-520102-{day}.csv"));
    let text = String::from_utf8(bytes).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(&reader.headers().unwrap()[0], "任务编号");
    assert_eq!(reader.records().count(), 6);

    // A sibling county: refused for 520102, an empty list of its own.
    let e = download_csv(&mut c, OTHER_COUNTY, "520102", &day)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let (_, own) = download_csv(&mut c, OTHER_COUNTY, "", &day).await.unwrap();
    let text = String::from_utf8(own).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(reader.records().count(), 0);
    // Bad input names its field.
    let e = download_csv(&mut c, COUNTY, "", "2026-02-30")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("day"), "{}", e.message());

    // Supervision over the CLI: per-rule precision from the outcomes.
    let run = Command::new(env!("CARGO_BIN_EXE_dualwarn"))
        .args([
            "tasks",
            "supervise",
            "--addr",
            &server.url,
            "--token",
            COUNTY,
        ])
        .args(["--from", &day, "--json"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let figures: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(figures["total"]["tasks"], 6);
    assert_eq!(figures["total"]["defrauded"], 1);
    assert_eq!(figures["counties"][0]["id"], "520102");
    assert_eq!(figures["counties"][0]["rank"], 1);
    let rules = figures["rules"].as_array().unwrap();
    assert!(!rules.is_empty());
    for r in rules {
        // Every pair here came from the same kind of alert: 2 TP, 1 FP.
        assert_eq!(r["true_positives"], 2, "{r}");
        assert_eq!(r["false_positives"], 1, "{r}");
        assert!((r["precision"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    }
    // The sibling county's figures hold none of 520102's tasks.
    let other = c
        .supervision(with_token(
            proto::SupervisionRequest {
                jurisdiction: String::new(),
                from_day: day.clone(),
                to_day: day.clone(),
            },
            OTHER_COUNTY,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(other.total.unwrap().tasks, 0);
    server.stop().await;
}
