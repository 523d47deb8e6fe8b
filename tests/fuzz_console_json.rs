//! The web console's JSON endpoints under hostile bodies (issue 12): the
//! `console_json` fuzz target's invariant on generated bodies (decode, then
//! encode and decode back to the same message), and the same bodies posted
//! to a live engine's `/api/console/<Method>`: every answer is a 2xx or a
//! 4xx naming what is wrong, never a 5xx, and the engine keeps serving.
//! `FUZZ_CASES` sets the cases (default 2,000 decoded, an eighth of them live).

mod common;
mod fuzz_checks;

use std::io::{Read, Write};

use common::*;
use fuzz_checks::console_json::{METHODS, console_json};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Field names of the console's requests, and a few that are not.
const KEYS: &[&str] = &[
    "task_id",
    "base_version",
    "actor",
    "jurisdiction",
    "role",
    "status",
    "level",
    "created_day",
    "page_size",
    "page_token",
    "overdue",
    "code",
    "reached",
    "lost_fen",
    "saved_fen",
    "note",
    "connected",
    "reason",
    "met",
    "to_division_code",
    "approve",
    "series_id",
    "day",
    "format",
    "method",
    "done",
    "households",
    "due_in_ms",
    "after",
    "limit",
    "taskId",
    "baseVersion",
    "x",
    "",
];

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(Value::from("18446744073709551616")),
        Just(Value::from("-1")),
        Just(Value::from("LEVEL_HIGH")),
        Just(Value::from("OUTCOME_CODE_DEFRAUDED")),
        Just(Value::from("ROLE_GRID_WORKER")),
        Just(Value::from("P0000000001-police")),
        Just(Value::from("520102")),
        Just(Value::from("2026-02-30")),
        ".{0,40}".prop_map(Value::from),
        "\\PC{0,300}".prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// A body: mostly an object of request-like fields, sometimes raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec((prop::sample::select(KEYS), value()), 0..6).prop_map(|kv| {
            let m: Map<String, Value> = kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            serde_json::to_vec(&Value::Object(m)).unwrap()
        }),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_console_body_that_decodes_round_trips(pick in any::<u8>(), body in body()) {
        let mut data = vec![pick];
        data.extend_from_slice(&body);
        console_json(&data);
    }
}

fn post(port: u16, method: &str, body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST /api/console/{method} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn hostile_bodies_get_a_4xx_naming_the_problem_and_the_engine_keeps_serving() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (port, stop) = rt.block_on(async {
        let shared = dualwarn::app::build(config(data.path())).unwrap();
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = http.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(dualwarn::app::serve_with_http(
            shared,
            grpc,
            Some(http),
            async {
                let _ = stopped.await;
            },
        ));
        (port, stop)
    });
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases().div_ceil(8),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let (client_errors, ok) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    runner
        .run(&(any::<u8>(), body()), |(pick, body)| {
            let method = METHODS[usize::from(pick) % METHODS.len()];
            let (status, text) = post(port, method, &body);
            prop_assert!((200..500).contains(&status), "{method}: {text}");
            if status >= 400 {
                client_errors.set(client_errors.get() + 1);
                prop_assert!(
                    text.contains("\"code\":") && text.contains("\"message\":"),
                    "{text}"
                );
            } else {
                ok.set(ok.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    assert!(
        client_errors.get() > 0,
        "no body was refused: the generator is too tame"
    );
    // Still serving, and a good call still works.
    let (status, text) = post(port, "ListTasks", b"{}");
    assert_eq!(status, 200, "{text}");
    eprintln!(
        "hostile console bodies: {} answered, {} refused with a 4xx",
        ok.get(),
        client_errors.get()
    );
    let _ = stop.send(());
}
