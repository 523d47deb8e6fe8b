//! `dualwarn load` against the real binary: a short run at a low rate acks
//! alerts, sees their tasks on the watch, and writes percentiles that are
//! ordered and positive. No timing thresholds: the machine is shared.

mod common;

use serde_json::Value;

#[test]
fn load_run_reports_ack_and_task_latency_as_json() {
    let data = tempfile::tempdir().unwrap();
    let (mut server, url) = common::spawn_server(data.path());
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("load.json");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_dualwarn"))
        .args(["load", "--addr", &url, "--streams", "2", "--batch", "10"])
        .args(["--rate", "400", "--duration", "2s", "--seed", "7"])
        .arg("--directory")
        .arg(common::directory_path())
        .arg("--rules")
        .arg(common::rules_path())
        .arg("--json")
        .arg(&json)
        .env_remove("DUALWARN_TOKEN")
        .env_remove("DUALWARN_PUBLISH_TOKEN")
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "load failed: {}\n{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("task ms p50/p99/p99.9/max"), "{stdout}");
    let s: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let num = |path: &str| {
        s.pointer(path)
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("{path} missing in {s}"))
    };
    assert_eq!(num("/offered_rate"), 400.0);
    assert!(num("/acks/acked") > 0.0, "{s}");
    assert_eq!(
        num("/acks/acked"),
        num("/sent"),
        "every alert sent is acked"
    );
    assert_eq!(num("/acks/rejected"), 0.0, "{s}");
    assert!(num("/tasks_seen") > 0.0, "{s}");
    for which in ["ack", "task"] {
        let p = |q: &str| num(&format!("/{which}/{q}"));
        assert!(p("count") > 0.0, "{which}: {s}");
        assert!(p("p50_ms") > 0.0, "{which}: {s}");
        assert!(p("p50_ms") <= p("p99_ms"), "{which}: {s}");
        assert!(p("p99_ms") <= p("p999_ms"), "{which}: {s}");
        assert!(p("p999_ms") <= p("max_ms"), "{which}: {s}");
    }
    assert_eq!(num("/ack/count"), num("/acks/acked"), "{s}");
    assert_eq!(num("/task/count"), num("/tasks_seen"), "{s}");
}

#[test]
fn load_refused_publish_exits_non_zero_naming_the_token() {
    let data = tempfile::tempdir().unwrap();
    let cfg = data.path().join("dualwarn.toml");
    std::fs::write(&cfg, publishers_config()).unwrap();
    let (mut server, url) = common::spawn_server_with(data.path(), |c| {
        c.arg("--config").arg(&cfg);
    });
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_dualwarn"))
        .args(["load", "--addr", &url, "--rate", "100", "--duration", "1s"])
        .args(["--token", "not-the-publisher-token"])
        .arg("--directory")
        .arg(common::directory_path())
        .arg("--rules")
        .arg(common::rules_path())
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(stderr.contains("refused to publish"), "{stderr}");
}

/// A config with one publisher token, so an unknown token is refused
/// (consoles stay open: the watch needs no token).
fn publishers_config() -> String {
    "[[ingest.publishers]]\nname = \"load test\"\ntoken = \"load-test-publisher-token\"\nsources = [\"gz-telecom\"]\n".into()
}
