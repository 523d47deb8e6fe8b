//! Hot reload under a live stream: tasks made after the swap carry the new
//! rule-set version; no alert is lost or matched twice across the swap; a
//! broken file leaves the old set running with the error visible through
//! `RuleAdmin` (and the log).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use dualwarn::proto;
use dualwarn::proto::rule_admin_client::RuleAdminClient;
use tokio_stream::StreamExt;

async fn wait_for_version_change(
    admin: &mut RuleAdminClient<tonic::transport::Channel>,
    old: &str,
) -> String {
    for _ in 0..100 {
        let s = admin
            .status(proto::StatusRequest {})
            .await
            .unwrap()
            .into_inner();
        if s.version != old {
            return s.version;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the rule set never changed from {old}");
}

async fn reload(
    admin: &mut RuleAdminClient<tonic::transport::Channel>,
    force: bool,
) -> proto::ReloadResponse {
    admin
        .reload(proto::ReloadRequest { force })
        .await
        .unwrap()
        .into_inner()
}

/// A server over a copy of the shipped rules in `root/rules`; returns it, a
/// RuleAdmin client, the rule directory and the version in force.
async fn start_on_rule_copy(
    root: &Path,
    watch_rules: bool,
) -> (
    Server,
    RuleAdminClient<tonic::transport::Channel>,
    PathBuf,
    String,
) {
    let rules_dir = root.join("rules");
    copy_dir(&rules_path(), &rules_dir);
    let mut cfg = config(&root.join("data"));
    cfg.rules_dir = rules_dir.clone();
    cfg.watch_rules = watch_rules;
    let server = Server::start_with(cfg).await;
    let mut admin = RuleAdminClient::connect(server.url.clone()).await.unwrap();
    let version = admin
        .status(proto::StatusRequest {})
        .await
        .unwrap()
        .into_inner()
        .version;
    (server, admin, rules_dir, version)
}

#[tokio::test(flavor = "multi_thread")]
async fn file_change_during_a_stream_swaps_the_set_without_losing_or_doubling_alerts() {
    let data = tempfile::tempdir().unwrap();
    let (server, mut admin, rules_dir, v1) = start_on_rule_copy(data.path(), true).await;

    let dir = directory();
    let people = persons(&dir, "52", 200, 21);
    let phone = list("flagged_phones", 1).remove(0);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut ingest = server.ingest().await;
    let acks = tokio::spawn(async move {
        let stream = ingest
            .publish(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        stream
            .map(Result::unwrap)
            .collect::<Vec<proto::PublishAck>>()
            .await
    });
    let batch = |s: u64| proto::AlertBatch {
        sequence: s,
        alerts: (0..10)
            .map(|k| call_alert(&format!("r{s}-{k}"), &people[(s * 10 + k) as usize], &phone))
            .collect(),
    };
    for s in 0..10 {
        tx.send(batch(s)).await.unwrap();
    }
    // Change a rule while the stream runs: the flagged-call rule gets a new description.
    let core = rules_dir.join("core.toml");
    let text = std::fs::read_to_string(&core).unwrap();
    let changed = text.replacen(
        "本人接到已标记涉诈号码来电\"",
        "本人接到已标记涉诈号码来电（新版）\"",
        1,
    );
    assert_ne!(text, changed, "the test edits the flagged-call rule");
    std::fs::write(&core, changed).unwrap();
    let v2 = wait_for_version_change(&mut admin, &v1).await;
    for s in 10..20 {
        tx.send(batch(s)).await.unwrap();
    }
    drop(tx);
    let acks = acks.await.unwrap();
    assert_eq!(
        acks.iter().map(|a| a.accepted).sum::<u32>(),
        200,
        "every alert acked"
    );
    assert_eq!(
        acks.iter().map(|a| a.pairs_created).sum::<u32>(),
        200,
        "every alert matched exactly once"
    );

    let mut console = server.console().await;
    let tasks = all_tasks(&mut console, "52").await;
    assert_eq!(tasks.len(), 400);
    for t in &tasks {
        assert!(
            t.rule_set_version == v1 || t.rule_set_version == v2,
            "{}",
            t.rule_set_version
        );
        let is_new = t.rule_set_version == v2;
        let reason = t
            .reasons
            .iter()
            .find(|r| r.rule_id == "call-from-flagged-number")
            .expect("the flagged-call rule fired");
        assert_eq!(
            reason.why.contains("（新版）"),
            is_new,
            "the reason follows the version that made the task: {}",
            reason.why
        );
        let batch: u64 = t.alert_keys[0]
            .trim_start_matches("test-telecom/r")
            .split('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        if batch >= 10 {
            assert!(is_new, "batch {batch} was sent after the swap");
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_file_keeps_the_old_set_and_reports_the_error() {
    let data = tempfile::tempdir().unwrap();
    let (server, mut admin, rules_dir, v1) = start_on_rule_copy(data.path(), false).await;

    std::fs::write(rules_dir.join("broken.toml"), "[[rule]]\nid = \"b\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"high\"\ncondition = 'amount >= '\n").unwrap();
    let r = reload(&mut admin, false).await;
    assert!(!r.applied);
    assert_eq!(r.version, v1);
    assert!(r.errors[0].starts_with("broken.toml:6:"), "{:?}", r.errors);
    assert!(r.errors[0].contains('^'), "{:?}", r.errors);
    let s = admin
        .status(proto::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.version, v1, "old set still running");
    assert!(s.last_error.contains("broken.toml:6:"), "{}", s.last_error);

    // The old set still matches.
    let dir = directory();
    let p = persons(&dir, "5201", 1, 22).remove(0);
    let mut ingest = server.ingest().await;
    let ack = submit(
        &mut ingest,
        0,
        vec![call_alert(
            "after-broken",
            &p,
            &list("flagged_phones", 1)[0],
        )],
    )
    .await;
    assert_eq!(ack.pairs_created, 1);

    // Validate a set from the analyst without applying it.
    let bad = proto::ValidateRequest { files: vec![proto::RuleFile { path: "x.toml".into(), text: "[[rule]]\nid = \"x\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = 'counterpart.phone in @missing'\n".into() }] };
    let v = admin.validate(bad).await.unwrap().into_inner();
    assert!(!v.ok);
    assert!(
        v.errors[0].contains("unknown list @missing"),
        "{:?}",
        v.errors
    );
    std::fs::remove_file(rules_dir.join("broken.toml")).unwrap();
    let fixed = reload(&mut admin, false).await;
    assert!(fixed.errors.is_empty(), "{:?}", fixed.errors);
    assert_eq!(fixed.version, v1, "back to the same files, same version");
    let s = admin
        .status(proto::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        s.last_error.is_empty(),
        "a good reload clears the error: {}",
        s.last_error
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gutted_reload_is_refused_unless_forced_and_a_4000_term_rule_crashes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let (server, mut admin, rules_dir, _) = start_on_rule_copy(data.path(), false).await;
    // Without its test cases (which would catch the cut below first), the
    // gutting check stands alone.
    std::fs::remove_dir_all(rules_dir.join("tests")).unwrap();
    let r = reload(&mut admin, false).await;
    assert!(r.errors.is_empty(), "{r:?}");
    let v1 = r.version;

    // A list cut to its first 20 lines: refused, the old set keeps running.
    let cards = rules_dir.join("lists").join("flagged_apps.txt");
    let kept = std::fs::read_to_string(&cards).unwrap();
    let cut: String = kept.lines().take(20).map(|l| format!("{l}\n")).collect();
    std::fs::write(&cards, cut).unwrap();
    let r = reload(&mut admin, false).await;
    assert!(!r.applied, "{r:?}");
    assert_eq!(r.version, v1);
    assert!(
        r.errors.iter().any(|e| e.contains("@flagged_apps")),
        "{:?}",
        r.errors
    );
    let s = admin
        .status(proto::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(s.last_error.contains("gut"), "{}", s.last_error);
    // Forced, it goes live.
    let r = reload(&mut admin, true).await;
    assert!(r.applied, "{r:?}");
    std::fs::write(&cards, kept).unwrap();
    let r = reload(&mut admin, false).await;
    assert!(r.applied && r.version == v1, "{r:?}");

    // A rule whose own test case fails is not put in force.
    std::fs::create_dir_all(rules_dir.join("tests")).unwrap();
    std::fs::write(
        rules_dir.join("tests").join("zz_wrong.toml"),
        "[[case]]\nname = \"an ordinary call expected to hit\"\n[[case.alert]]\nsource_kind = \"telecom\"\ncounterparts = [{ kind = \"phone\", value = \"13912345678\" }]\nexpect = [\"call-from-flagged-number\"]\n",
    )
    .unwrap();
    let r = reload(&mut admin, false).await;
    assert!(!r.applied, "{r:?}");
    assert!(
        r.errors
            .iter()
            .any(|e| e.starts_with("test case") || e.contains("zz_wrong")),
        "{:?}",
        r.errors
    );
    std::fs::remove_file(rules_dir.join("tests").join("zz_wrong.toml")).unwrap();

    // 4,000 terms: Validate and a reload answer with a position; the server lives.
    let chain: String = (0..4000)
        .map(|i| {
            if i == 0 {
                "1".to_string()
            } else {
                format!("{}1", ["+", "-", "*"][i % 3])
            }
        })
        .collect();
    let text = format!(
        "[[rule]]\nid = \"deep\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = 'amount > {chain}'\n"
    );
    let v = admin
        .validate(proto::ValidateRequest {
            files: vec![proto::RuleFile {
                path: "deep.toml".into(),
                text: text.clone(),
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!v.ok);
    assert!(v.errors[0].starts_with("deep.toml:6:"), "{:?}", v.errors);
    std::fs::write(rules_dir.join("deep.toml"), text).unwrap();
    let r = reload(&mut admin, false).await;
    assert!(!r.applied);
    assert!(r.errors[0].starts_with("deep.toml:6:"), "{:?}", r.errors);
    let s = admin
        .status(proto::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.version, v1, "still running the set in force");
    server.stop().await;
}
