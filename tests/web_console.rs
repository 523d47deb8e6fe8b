//! The web console as a dispatcher uses it, in a real Chromium driven by
//! Playwright (tests/browser/console.mjs) against the real binary: sign in
//! with a county's token, see an alert sent with `dualwarn send` arrive
//! live, sign for it and report 已劝阻, download the day's 任务清单 (opened
//! here with openpyxl), and a sibling county's token sees none of it. The
//! task list's screenshot is kept for the README.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use sha2::{Digest, Sha256};

const CENTRE_TOKEN: &str = "nanming-web-console-token-01";
const OTHER_TOKEN: &str = "yunyan-web-console-token-02";

fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A config with the 南明区 centre and the 云岩区 centre as consoles.
fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("dualwarn.toml");
    let text = format!(
        r#"admin_token = "web-console-admin-token-0001"

[[consoles]]
name = "南明区反诈中心"
token_sha256 = "{}"
jurisdiction = "520102"

[[consoles]]
name = "云岩区反诈中心"
token_sha256 = "{}"
jurisdiction = "520103"
"#,
        sha256_hex(CENTRE_TOKEN),
        sha256_hex(OTHER_TOKEN)
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// One bank alert, as `dualwarn send` reads it: a 南明区 resident paid
/// 6,000 yuan to a flagged card (a high-level pair).
fn write_alert(dir: &Path) -> PathBuf {
    let p = persons(&directory(), "520102", 1, 77).remove(0);
    let card = list("flagged_cards", 1).remove(0);
    let alert = serde_json::json!({
        "source": "gz-bank-ccb",
        "source_id": "web-console-1",
        "source_kind": "bank",
        "occurred_at_ms": now_ms() - 60_000,
        "subject": {
            "phone": p.phone, "id_hash": p.id_hash, "name": p.name,
            "division_code": p.division, "grid_id": p.grid,
            "address": "某路1号", "age": 66
        },
        "counterparts": [{"kind": "bank_card", "value": card}],
        "links": [],
        "amount_fen": 600_000,
        "fraud_type_hint": "",
        "attributes": {}
    });
    let path = dir.join("alert.jsonl");
    std::fs::write(&path, format!("{alert}\n")).unwrap();
    path
}

fn http_addr(log: &str) -> String {
    log.split("http_addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the server logged no http_addr: {log}"))
        .to_string()
}

#[test]
fn a_dispatcher_works_a_live_task_in_the_browser_and_another_county_sees_none() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run scripts/test.sh (npm ci in tests/browser)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path());
    let (mut child, url, log) = spawn_server_at(&tmp.path().join("data"), "127.0.0.1:0", |c| {
        c.arg("--config").arg(&config);
    });
    let base = format!("http://{}", http_addr(&log));
    let alert = write_alert(tmp.path());
    let send = format!(
        "'{}' send --addr {url} '{}'",
        env!("CARGO_BIN_EXE_dualwarn"),
        alert.display()
    );
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let shots = root.join("target/web-console");
    std::fs::create_dir_all(&shots).unwrap();
    let screenshot = shots.join("task-list.png");
    let out = Command::new("node")
        .arg(browser_dir.join("console.mjs"))
        .current_dir(&browser_dir)
        .env("BASE_URL", &base)
        .env("TOKEN", CENTRE_TOKEN)
        .env("OTHER_TOKEN", OTHER_TOKEN)
        .env("SEND_CMD", &send)
        .env("DOWNLOAD_DIR", &downloads)
        .env("SCREENSHOT", &screenshot)
        .output()
        .expect("node runs (scripts/test.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("BROWSER OK"),
        "browser run failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.contains("step 3b") && stdout.contains("step 7"),
        "{stdout}"
    );
    // The reveal made in the browser is in the audit log, with its reason.
    let audit = Command::new(env!("CARGO_BIN_EXE_dualwarn"))
        .args(["tasks", "audit", "--addr", &url, "--token", CENTRE_TOKEN])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("上门前核实"), "audit log: {audit}");
    // The screenshot is a real PNG.
    let png = std::fs::read(&screenshot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // The downloaded list opens in a real reader and holds the task, 已劝阻.
    let book = read_xlsx(&downloads.join("daily.xlsx"));
    let rows = book["cells"]["任务清单"].as_array().unwrap();
    let text = serde_json::to_string(rows).unwrap();
    assert!(rows.len() >= 3, "header and both tasks: {text}");
    assert!(
        text.contains("已劝阻"),
        "the outcome reported in the browser: {text}"
    );
    assert!(!text.contains("520103"), "only 南明区's tasks: {text}");
}
