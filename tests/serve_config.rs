//! `dualwarn serve` checks its configuration, directory and rules before
//! opening a port, and exits with code 64 naming what is wrong.

mod common;

use std::process::Command;

use common::*;

fn serve_with(args: &[&str], config: Option<&str>) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dualwarn"));
    cmd.arg("serve");
    if !args.contains(&"--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    if !args.contains(&"--http-listen") {
        cmd.args(["--http-listen", "127.0.0.1:0"]);
    }
    cmd.arg("--data-dir").arg(dir.path().join("data"));
    if !args.contains(&"--rules") {
        cmd.arg("--rules").arg(rules_path());
    }
    cmd.arg("--directory").arg(directory_path());
    if let Some(text) = config {
        let path = dir.path().join("dualwarn.toml");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    cmd.args(args);
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn unknown_config_key_exits_64_naming_the_key() {
    let (code, err) = serve_with(&[], Some("queue_batchez = 3\n"));
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("queue_batchez"), "{err}");
}

#[test]
fn invalid_deadline_exits_64_naming_the_field() {
    let (code, err) = serve_with(&[], Some("[deadlines]\nhigh = \"0s\"\n"));
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("deadlines.high"), "{err}");
}

#[test]
fn plain_console_token_exits_64_asking_for_its_digest() {
    let cfg = "[[consoles]]\nname = \"x\"\ntoken_sha256 = \"console-token-00001\"\njurisdiction = \"5201\"\n";
    let (code, err) = serve_with(&[], Some(cfg));
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("consoles.token_sha256"), "{err}");
    // The old plain `token` key is unknown now, and named.
    let cfg =
        "[[consoles]]\nname = \"x\"\ntoken = \"console-token-00001\"\njurisdiction = \"5201\"\n";
    let (code, err) = serve_with(&[], Some(cfg));
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("token"), "{err}");
}

#[test]
fn missing_rule_directory_exits_64_naming_it() {
    let (code, err) = serve_with(&["--rules", "/nonexistent/rules-dir"], None);
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("/nonexistent/rules-dir"), "{err}");
}

#[test]
fn readme_configuration_example_is_a_valid_config() {
    let readme = std::fs::read_to_string(std::path::Path::new(ROOT).join("README.md")).unwrap();
    let section = readme
        .split("## Configuration")
        .nth(1)
        .expect("a Configuration section");
    let block = section
        .split("```toml")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a toml block");
    let cfg: dualwarn::config::Config = toml::from_str(block).unwrap_or_else(|e| panic!("{e}"));
    cfg.validate().unwrap();
    assert_eq!(cfg.consoles.len(), 1);
    assert!(cfg.admin_token.is_some() && cfg.watch_rules);
}

#[test]
fn an_open_non_loopback_start_is_refused_naming_what_is_open() {
    let (code, err) = serve_with(&["--listen", "0.0.0.0:0"], None);
    assert_eq!(code, Some(64), "{err}");
    assert!(
        err.contains("0.0.0.0:0") && err.contains("consoles, admin, ingest"),
        "{err}"
    );
    assert!(err.contains("--insecure-dev"), "{err}");
    // With every token configured, only what is still open is named.
    let cfg = "admin_token = \"test-admin-token-0000\"\n\
               [[consoles]]\nname = \"c\"\ntoken_sha256 = \"bee4a33452be60718ce8ff81dbc4d1f748c011698823a62f396e46a5a9bb6146\"\njurisdiction = \"5201\"\n";
    let (code, err) = serve_with(&["--listen", "0.0.0.0:0"], Some(cfg));
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("no tokens for: ingest"), "{err}");
}

#[test]
fn insecure_dev_starts_on_a_public_address_and_says_what_is_open() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, _, log) = spawn_server_at(data.path(), "0.0.0.0:0", |cmd| {
        cmd.arg("--insecure-dev");
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(log.contains("--insecure-dev"), "{log}");
    assert!(log.contains("consoles, admin, ingest"), "{log}");
}

#[test]
fn consoles_without_an_admin_token_exit_64() {
    let cfg = "[[consoles]]\nname = \"c\"\ntoken_sha256 = \"bee4a33452be60718ce8ff81dbc4d1f748c011698823a62f396e46a5a9bb6146\"\njurisdiction = \"5201\"\n";
    let (code, err) = serve_with(&[], Some(cfg));
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("admin_token"), "{err}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dualwarn"))
        .args([
            "--log-format",
            "json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data.path())
        .arg("--rules")
        .arg(rules_path())
        .arg("--directory")
        .arg(directory_path())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = 0;
    let mut serving = None;
    for line in lines {
        let line = line.unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
        seen += 1;
        if v["fields"]["message"] == "serving" {
            serving = v["fields"]["addr"].as_str().map(String::from);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen > 1, "the start logs more than one line");
    assert!(serving.is_some_and(|a| a.starts_with("127.0.0.1:")));
}
