//! Key areas and publicity tasks against the real server: a generated
//! five weeks where one village's 刷单返利 warnings triple in the last week
//! yield exactly one key-area publicity pair there, and none in a village
//! at its usual level; a second run is covered by the open pair; the pair
//! reaches WatchTasks; the work closes it with the households reached;
//! 双宣传 is recorded on a pair's task; the daily list shows both.

mod common;

use std::time::Duration;

use common::*;
use dualwarn::proto;
use dualwarn::proto::rule_admin_client::RuleAdminClient;
use tokio_stream::StreamExt;
use tonic::Code;

const DAY_MS: i64 = 86_400_000;

/// A person of `base`'s village with their own phone and ID hash.
fn neighbour(base: &Person, n: u32) -> Person {
    Person {
        phone: format!("1370{:07}", n),
        id_hash: format!("{:064x}", 0x5eed_0000_u64 + u64::from(n)),
        ..base.clone()
    }
}

fn warning(p: &Person, n: u32, days_ago: i64) -> proto::Alert {
    let phone = list("flagged_phones", 1).remove(0);
    proto::Alert {
        occurred_at_ms: now_ms() - days_ago * DAY_MS - 60_000,
        fraud_type_hint: "shuadan".into(),
        ..call_alert(&format!("ka-{n}"), p, &phone)
    }
}

async fn publicity(
    c: &mut dualwarn::proto::task_console_client::TaskConsoleClient<tonic::transport::Channel>,
    t: &proto::Task,
    done: bool,
    households: u32,
) -> Result<proto::Task, tonic::Status> {
    c.record_publicity(proto::RecordPublicityRequest {
        task_id: t.id.clone(),
        actor: String::new(),
        method: proto::PublicityMethod::Door as i32,
        done,
        households,
        note: "入户发放宣传单".into(),
        base_version: Some(t.version),
    })
    .await
    .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tripled_village_gets_one_publicity_pair_and_a_usual_one_none() {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.admin_token = Some(ADMIN.into());
    cfg.max_event_age = Duration::from_secs(60 * 86_400);
    let server = Server::start_with(cfg).await;
    let dir = directory();
    let villages = persons(&dir, "520102", 2, 61);
    let (rising, usual) = (&villages[0], &villages[1]);
    assert_ne!(rising.division, usual.division);

    // Four weeks of baseline, two a week in each village; then the last
    // week: six in the rising village (three times its mean), two in the other.
    let mut alerts = Vec::new();
    let mut n = 0;
    for week in 0..4 {
        for k in 0..2 {
            for v in [rising, usual] {
                n += 1;
                alerts.push(warning(&neighbour(v, n), n, 8 + 7 * week + k * 2));
            }
        }
    }
    for k in 0..6 {
        n += 1;
        alerts.push(warning(&neighbour(rising, n), n, k % 6));
    }
    for k in 0..2 {
        n += 1;
        alerts.push(warning(&neighbour(usual, n), n, k * 2));
    }
    let mut ingest = server.ingest().await;
    let ack = submit(&mut ingest, 1, alerts).await;
    assert!(ack.rejections.is_empty(), "{:?}", ack.rejections);

    let mut c = server.console().await;
    let mut watch = c
        .watch_tasks(proto::WatchTasksRequest::default())
        .await
        .unwrap()
        .into_inner();

    let mut admin = RuleAdminClient::connect(server.url.clone()).await.unwrap();
    let assess = |dry_run| {
        with_token(
            proto::AssessKeyAreasRequest {
                day: String::new(),
                dry_run,
            },
            ADMIN,
        )
    };
    let dry = admin
        .assess_key_areas(assess(true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(dry.key_areas.len(), 1, "{:?}", dry.key_areas);
    assert!(dry.key_areas[0].pair_id.is_empty());
    let r = admin
        .assess_key_areas(assess(false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.key_areas.len(), 1, "{:?}", r.key_areas);
    let key = &r.key_areas[0];
    assert_eq!(key.division_code, rising.division);
    assert_eq!(key.fraud_type, "shuadan");
    assert_eq!(key.window_count, 6);
    assert!(
        (key.baseline_mean - 2.0).abs() < 1e-9,
        "{}",
        key.baseline_mean
    );
    assert!(key.created);
    assert!(key.why.starts_with("刷单返利: 近7天 6 起"), "{}", key.why);
    assert_eq!(key.group, "老年人", "the generated subjects are 66");

    // Again: covered by the open pair, nothing new.
    let again = admin
        .assess_key_areas(assess(false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.key_areas.len(), 1);
    assert!(!again.key_areas[0].created);
    assert_eq!(again.key_areas[0].pair_id, key.pair_id);

    // The pair is on WatchTasks, one task per role, with its brief.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let e = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("publicity events on WatchTasks")
            .unwrap()
            .unwrap();
        let t = e.task.unwrap();
        if t.pair_id == key.pair_id {
            assert_eq!(e.kind, proto::TaskEventKind::Created as i32);
            seen.push(t);
        }
    }
    let brief = seen[0].brief.clone().unwrap();
    assert_eq!(brief.group, "老年人");
    assert_eq!(brief.window_count, 6);
    assert!(
        seen.iter()
            .all(|t| t.jurisdiction.as_ref().unwrap().division_code == rising.division)
    );
    let tasks = all_tasks(&mut c, "520102").await;
    let publicity_tasks: Vec<_> = tasks.iter().filter(|t| t.brief.is_some()).collect();
    assert_eq!(
        publicity_tasks.len(),
        2,
        "exactly one pair, in the rising village"
    );

    // The work: done needs the households; then it closes.
    let grid = publicity_tasks
        .iter()
        .find(|t| t.role == proto::Role::GridWorker as i32)
        .unwrap();
    let e = publicity(&mut c, grid, true, 0).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("households"), "{}", e.message());
    let done = publicity(&mut c, grid, true, 35).await.unwrap();
    assert_eq!(done.status, proto::TaskStatus::Done as i32);
    assert_eq!(done.publicity[0].households, 35);

    // 双宣传 on a warning's task: recorded, the task's status unchanged.
    let warned = tasks
        .iter()
        .find(|t| t.brief.is_none() && t.role == proto::Role::GridWorker as i32)
        .unwrap();
    let after = publicity(&mut c, warned, true, 1).await.unwrap();
    assert_eq!(after.status, warned.status);
    assert_eq!(after.publicity.len(), 1);

    // The daily list: a 宣传任务 sheet, and 双宣传 on the task sheet.
    let day = dualwarn::model::calendar::local_date(now_ms() / 1000, 8);
    let book = daily_xlsx(&server.url, &day, &[]);
    let sheet = book["cells"]["宣传任务"].as_array().unwrap();
    assert_eq!(sheet.len(), 3, "a header and the pair's two tasks");
    let head = sheet[0].as_array().unwrap();
    let col = |h: &str| head.iter().position(|x| x == h).unwrap();
    let row = sheet.iter().find(|r| r[0] == grid.id.as_str()).unwrap();
    assert_eq!(row[col("完成户数")], "35");
    assert_eq!(row[col("状态")], "已办结");
    assert_eq!(row[col("重点人群")], "老年人");
    let tasks_sheet = book["cells"]["任务清单"].as_array().unwrap();
    let th = tasks_sheet[0].as_array().unwrap();
    let pc = th.iter().position(|x| x == "双宣传").unwrap();
    // Tasks are created on the engine's clock: today, however old the alert.
    let wrow = tasks_sheet
        .iter()
        .find(|r| r[0] == warned.id.as_str())
        .expect("the warned task's row");
    assert_eq!(wrow[pc], "上门已完成");
    server.stop().await;
}
