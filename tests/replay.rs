//! `dualwarn replay`, the offline backtest: the real binary replays a
//! generated stream and its figures equal what the real server made of the
//! same file sent over gRPC, rule for rule; `--compare` against a copy of
//! the rules with one rule disabled shows that rule's hits gone and the
//! pairs only it made removed, and `--max-change` fails it in JUnit.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicI64, Ordering};

use common::*;
use dualwarn::cli::generate::{GenOptions, MEAN_STEP_MS, generate};
use dualwarn::proto;
use dualwarn::proto::task_console_client::TaskConsoleClient;
use serde_json::Value;

/// Alerts in the stream: enough for every common rule to hit.
const COUNT: usize = 10_000;
/// A day, ms.
const DAY_MS: i64 = 24 * 3600 * 1000;
/// A rule on a 2 h graph horizon.
const HORIZON_RULE: &str = "paid-card-passes-money-on-2h";
/// The rule the compare test turns off, and its file.
const DISABLED: (&str, &str) = ("call-from-flagged-number", "core.toml");

/// A generated stream of `COUNT` alerts, as `dualwarn gen` writes it:
/// with `span`, fitted into that much event time ending at `end_ms`, with
/// the benign look-alikes and mule rings; otherwise 1–10 s apart, ending
/// about now.
fn write_stream(path: &Path, span: Option<(i64, i64)>) {
    let rules = dualwarn::rules::load_dir(&rules_path()).unwrap();
    let opts = GenOptions {
        seed: 42,
        count: COUNT,
        victims: COUNT / 50,
        start_ms: span.map_or(now_ms() - COUNT as i64 * MEAN_STEP_MS, |(ms, end)| end - ms),
        lookalikes: span.is_some(),
        span_ms: span.map(|(ms, _)| ms),
        ..GenOptions::default()
    };
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let s = generate(&directory(), &rules, &opts, &mut w).unwrap();
    assert!(s.planted > 0 && s.malformed > 0 && s.resends > 0, "{s:?}");
}

/// What a server made, read back from its tasks the way the replay counts.
#[derive(Debug, PartialEq)]
struct Made {
    /// Rule id → hits, each (alert, rule) once.
    hits: BTreeMap<String, u64>,
    pairs: u64,
    /// Pairs by level: low, medium, high.
    levels: [u64; 3],
}

impl Made {
    fn from_tasks(tasks: &[proto::Task]) -> Made {
        // Every reason is on the wire: none left out of a long task.
        assert!(tasks.iter().all(|t| t.reasons_omitted == 0));
        let mut hits: BTreeMap<String, u64> = BTreeMap::new();
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        for r in tasks.iter().flat_map(|t| &t.reasons) {
            if seen.insert((&r.alert_key, &r.rule_id)) {
                *hits.entry(r.rule_id.clone()).or_default() += 1;
            }
        }
        let mut levels = [0u64; 3];
        for t in tasks
            .iter()
            .filter(|t| t.role == proto::Role::PoliceOfficer as i32)
        {
            levels[t.level as usize - 1] += 1;
        }
        let pairs: HashSet<&str> = tasks.iter().map(|t| t.pair_id.as_str()).collect();
        Made {
            hits,
            pairs: pairs.len() as u64,
            levels,
        }
    }

    /// The same figures of a replay's run.
    fn from_replay(run: &Value) -> Made {
        let mix = &run["levels"];
        Made {
            hits: run["hits"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
                .filter(|(_, n)| *n > 0)
                .collect(),
            pairs: run["pairs_created"].as_u64().unwrap(),
            levels: [&mix["low"], &mix["medium"], &mix["high"]].map(|v| v.as_u64().unwrap()),
        }
    }
}

/// Sends `file` to the server at `url` with the real `dualwarn send`;
/// returns its summary line.
fn send(url: &str, file: &Path) -> String {
    let sent = dualwarn(&["send", "--addr", url, file.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&sent.stdout).to_string();
    assert!(sent.status.success(), "{said}");
    said
}

fn dualwarn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dualwarn"))
        .args(args)
        .output()
        .unwrap()
}

/// `dualwarn replay --format json` over `file` with `extra` flags.
fn replay(file: &Path, extra: &[&str]) -> (Value, Output) {
    let (rules, dir) = (rules_path(), directory_path());
    let mut args = vec![
        "replay",
        "--format",
        "json",
        "--rules",
        rules.to_str().unwrap(),
        "--directory",
        dir.to_str().unwrap(),
    ];
    args.extend(extra);
    args.push(file.to_str().unwrap());
    let out = dualwarn(&args);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out)
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_of_a_generated_stream_equals_what_the_server_made_rule_for_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("alerts.jsonl");
    write_stream(&file, None);
    let (report, out) = replay(&file, &[]);
    assert!(out.status.success());
    let base = &report["base"];

    let (mut server, url) = spawn_server(&tmp.path().join("data"));
    let said = send(&url, &file);
    let mut console = TaskConsoleClient::connect(url).await.unwrap();
    let made = Made::from_tasks(&all_tasks(&mut console, "").await);
    server.kill().unwrap();
    let _ = server.wait();

    assert!(
        made.hits.len() >= 5,
        "a stream that hits little proves little: {made:?}"
    );
    assert_eq!(
        Made::from_replay(base),
        made,
        "replay (left) against the server"
    );
    // The send summary's own figures agree too.
    for (what, key) in [("pairs created", "pairs_created"), ("merged", "merged")] {
        let n = base[key].as_u64().unwrap();
        assert!(said.contains(&format!("{what} {n}")), "{what} {n}: {said}");
    }
    let rejected: u64 = base["rejected"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(
        said.contains(&format!("rejected {rejected},")),
        "rejected {rejected}: {said}"
    );
    assert!(base["alerts_per_second"].as_f64().unwrap() > 0.0);
}

/// The `now` of the in-process server's writer.
static FIXED_NOW: AtomicI64 = AtomicI64::new(0);

fn fixed_clock() -> i64 {
    FIXED_NOW.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_servers_clock_replay_equals_it_on_graph_horizon_rules_too() {
    // A day of look-alikes and mule rings, sent at once: the server judges
    // every alert at the moment of sending, and rules on graph horizons
    // (a 2 h fan-out, 24 h fan-in) see that.
    let t = now_ms();
    FIXED_NOW.store(t, Ordering::SeqCst);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("alerts.jsonl");
    write_stream(&file, Some((DAY_MS, t - 60_000)));

    let (server, _shared) = Server::start_with_clock(config(tmp.path()), fixed_clock).await;
    send(&server.url, &file);
    let made = Made::from_tasks(&all_tasks(&mut server.console().await, "").await);
    server.stop().await;

    let (at_t, _) = replay(&file, &["--clock", &t.to_string()]);
    assert_eq!(at_t["clock"], t.to_string());
    assert_eq!(
        Made::from_replay(&at_t["base"]),
        made,
        "replay at the server's now (left)"
    );
    let (live, _) = replay(&file, &[]);
    let live = Made::from_replay(&live["base"]);
    // As sent live, each payment is judged within 2 h of itself; sent at
    // once, only the last 2 h of the day count.
    let two_hours = |m: &Made| m.hits.get(HORIZON_RULE).copied().unwrap_or(0);
    assert!(two_hours(&live) > two_hours(&made), "{live:?}\n{made:?}");
}

/// A copy of the shipped rules with `DISABLED` turned off.
fn rules_with_one_disabled(to: &Path) {
    copy_dir(&rules_path(), to);
    let path = to.join(DISABLED.1);
    let text = std::fs::read_to_string(&path).unwrap();
    let id_line = format!("id = \"{}\"\n", DISABLED.0);
    assert!(text.contains(&id_line));
    let off = text.replacen(&id_line, &format!("{id_line}enabled = false\n"), 1);
    std::fs::write(path, off).unwrap();
}

#[test]
fn compare_with_a_rule_disabled_shows_its_hits_gone_and_its_pairs_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("alerts.jsonl");
    write_stream(&file, None);
    let other = tmp.path().join("rules-b");
    rules_with_one_disabled(&other);
    let junit = tmp.path().join("junit.xml");
    let (report, out) = replay(
        &file,
        &[
            "--compare",
            other.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--max-change",
            "5",
        ],
    );

    let diff = &report["diff"];
    let rules = diff["rules"].as_array().unwrap();
    let changed: Vec<&Value> = rules.iter().filter(|c| c["delta"] != 0).collect();
    let gone = rules.iter().find(|c| c["rule"] == DISABLED.0).unwrap();
    assert!(gone["a"].as_u64().unwrap() > 0, "{gone}");
    assert_eq!(gone["b"], 0);
    assert_eq!(gone["change_percent"], -100.0);
    // Another rule may gain what a joined pair no longer carried, but the
    // disabled one is the change.
    assert!(
        changed
            .iter()
            .all(|c| c["rule"] == DISABLED.0 || c["delta"].as_i64().unwrap() >= 0),
        "{changed:?}"
    );
    let removed = &diff["only_in_a"];
    assert!(removed["count"].as_u64().unwrap() > 0, "{removed}");
    let samples = removed["samples"].as_array().unwrap();
    assert!(!samples.is_empty() && samples.len() <= 5);
    for s in samples {
        assert!(
            s["rules"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == DISABLED.0),
            "{s}"
        );
        assert!(s["phone"].as_str().unwrap().contains("****"), "masked: {s}");
    }
    assert_eq!(diff["only_in_b"]["count"], 0);
    assert_eq!(
        report["base"]["pairs_created"].as_u64().unwrap()
            - report["compare"]["pairs_created"].as_u64().unwrap(),
        removed["count"].as_u64().unwrap()
    );

    // The change is beyond --max-change: a failed testcase and exit status 1.
    assert_eq!(out.status.code(), Some(1));
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(x.contains("failures=\"1\""), "{x}");
    let case = x.split(&format!("name=\"{}\"", DISABLED.0)).nth(1).unwrap();
    assert!(
        case.split("</testcase>")
            .next()
            .unwrap()
            .contains("<failure"),
        "{x}"
    );
}
