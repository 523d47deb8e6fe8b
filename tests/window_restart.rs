//! Windows survive a restart, so "the third flagged call within the hour"
//! still fires when the first two came before the engine restarted: taken
//! from the windows snapshot written at a graceful stop, or warmed from the
//! stored alerts when the snapshot is missing, damaged, older than the
//! graph's, or the window's definition changed.

mod common;

use std::time::Duration;

use common::*;
use dualwarn::proto;

/// Builds the engine on `data`, retrying while the previous one lets go of its files.
async fn start_on(data: &std::path::Path) -> Server {
    for _ in 0..50 {
        let cfg = config(data);
        if dualwarn::store::EmbeddedStore::open(&cfg.data_dir).is_ok() {
            return Server::start_with(cfg).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the store of the previous engine was never released");
}

#[tokio::test(flavor = "multi_thread")]
async fn count_window_resumes_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let dir = directory();
    let p = persons(&dir, "520103", 1, 31).remove(0);
    let phones = list("flagged_phones", 3);
    let call = |id: &str, phone: &str, ago_min: i64| {
        let mut a = call_alert(id, &p, phone);
        a.occurred_at_ms = now_ms() - ago_min * 60_000;
        a
    };

    let server = start_on(data.path()).await;
    let mut ingest = server.ingest().await;
    submit(
        &mut ingest,
        0,
        vec![call("w-1", &phones[0], 20), call("w-2", &phones[1], 10)],
    )
    .await;
    server.stop().await;

    let server = start_on(data.path()).await;
    let mut ingest = server.ingest().await;
    let ack = submit(&mut ingest, 1, vec![call("w-3", &phones[2], 1)]).await;
    assert_eq!(ack.merged, 1);
    let mut console = server.console().await;
    let tasks = all_tasks(&mut console, &p.division).await;
    assert!(
        third_fired(&tasks[0]),
        "the third call counted the two before the restart: {:#?}",
        tasks[0].reasons
    );
    assert_eq!(tasks[0].level, proto::Level::High as i32);
    server.stop().await;
}

/// True when the hour's rule fired on the third call, on `task`.
fn third_fired(task: &proto::Task) -> bool {
    task.reasons
        .iter()
        .any(|r| r.rule_id == "repeated-flagged-calls-1h" && r.alert_key == "test-telecom/w-3")
}

/// The third flagged call within the hour, and the person and phones of
/// the two sent before.
struct ThirdCall {
    person: Person,
    phones: Vec<String>,
}

impl ThirdCall {
    fn new(salt: u32) -> ThirdCall {
        ThirdCall {
            person: persons(&directory(), "520103", 1, salt).remove(0),
            phones: list("flagged_phones", 3),
        }
    }

    /// Flagged call `n` (1..=3), the first 20 minutes ago, the third now.
    fn call(&self, n: usize) -> proto::Alert {
        let mut a = call_alert(&format!("w-{n}"), &self.person, &self.phones[n - 1]);
        a.occurred_at_ms = now_ms() - [20, 10, 1][n - 1] * 60_000;
        a
    }

    async fn send(&self, url: &str, n: usize) -> proto::PublishAck {
        let mut ingest = proto::alert_ingest_client::AlertIngestClient::connect(url.to_string())
            .await
            .unwrap();
        submit(&mut ingest, n as u64, vec![self.call(n)]).await
    }

    /// Sends the third call and checks the hour's rule fired on it.
    async fn third_fires(&self, url: &str, case: &str) {
        let ack = self.send(url, 3).await;
        assert_eq!(ack.merged, 1, "{case}");
        let mut console = proto::task_console_client::TaskConsoleClient::connect(url.to_string())
            .await
            .unwrap();
        let tasks = all_tasks(&mut console, &self.person.division).await;
        assert!(
            third_fired(&tasks[0]),
            "{case}: the third call counted the two before the restart: {:#?}",
            tasks[0].reasons
        );
    }
}

/// SIGINT, as an operator's ctrl-c: the engine snapshots and exits cleanly.
fn stop_gracefully(mut child: std::process::Child) {
    // SAFETY: kill(2) on our own child's pid, which has not been reaped.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

fn windows_snap(data: &std::path::Path) -> std::path::PathBuf {
    data.join("windows.snap")
}

#[tokio::test(flavor = "multi_thread")]
async fn graceful_restart_takes_the_windows_from_their_snapshot() {
    let data = tempfile::tempdir().unwrap();
    let calls = ThirdCall::new(32);
    let (child, url) = spawn_server(data.path());
    calls.send(&url, 1).await;
    calls.send(&url, 2).await;
    stop_gracefully(child);
    assert!(windows_snap(data.path()).exists(), "written at the stop");

    let (mut child, url, log) = spawn_server_at(data.path(), "127.0.0.1:0", |_| {});
    assert!(
        log.contains("windows loaded from their snapshot") && log.contains("cold=0"),
        "{log}"
    );
    assert!(!log.contains("windows warmed from the store"), "{log}");
    calls.third_fires(&url, "from the snapshot").await;
    child.kill().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn damaged_or_stale_window_snapshot_falls_back_to_the_warm_up() {
    for (case, salt, says) in [
        ("damaged", 33, "is not valid"),
        ("stale", 34, "older than the graph snapshot"),
    ] {
        let data = tempfile::tempdir().unwrap();
        let snap = windows_snap(data.path());
        let calls = ThirdCall::new(salt);
        let (child, url) = spawn_server(data.path());
        calls.send(&url, 1).await;
        stop_gracefully(child);
        // Holds the first call only: used as is, the third would count two.
        let stale = std::fs::read(&snap).unwrap();
        let (child, url) = spawn_server(data.path());
        calls.send(&url, 2).await;
        stop_gracefully(child);
        if case == "stale" {
            std::fs::write(&snap, &stale).unwrap();
        } else {
            let mut bytes = std::fs::read(&snap).unwrap();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x5a;
            std::fs::write(&snap, &bytes).unwrap();
        }

        let (mut child, url, log) = spawn_server_at(data.path(), "127.0.0.1:0", |_| {});
        assert!(
            log.contains("window snapshot not used") && log.contains(says),
            "{case}: {log}"
        );
        assert!(
            log.contains("windows warmed from the store"),
            "{case}: {log}"
        );
        calls.third_fires(&url, case).await;
        child.kill().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_window_is_warmed_while_the_others_come_from_the_snapshot() {
    let data = tempfile::tempdir().unwrap();
    let calls = ThirdCall::new(35);
    let (child, url) = spawn_server(data.path());
    calls.send(&url, 1).await;
    calls.send(&url, 2).await;
    stop_gracefully(child);

    // The hour's window now reaches 90 minutes: a new definition.
    let rules = tempfile::tempdir().unwrap();
    copy_dir(&rules_path(), rules.path());
    let patterns = rules.path().join("patterns.toml");
    let text = std::fs::read_to_string(&patterns).unwrap();
    let changed = text.replacen(
        "agg = \"count\"\nduration = \"1h\"\nwhen = 'counterpart.phone in @flagged_phones'",
        "agg = \"count\"\nduration = \"90m\"\nwhen = 'counterpart.phone in @flagged_phones'",
        1,
    );
    assert_ne!(changed, text, "the window is where the test expects it");
    std::fs::write(&patterns, changed).unwrap();

    let (mut child, url, log) = spawn_server_on(data.path(), "127.0.0.1:0", rules.path(), |_| {});
    assert!(
        log.contains("windows loaded from their snapshot") && log.contains("cold=1"),
        "{log}"
    );
    assert!(
        log.contains("windows warmed from the store windows=1"),
        "{log}"
    );
    calls.third_fires(&url, "changed window").await;
    child.kill().unwrap();
}
