//! The key a console sees for a person is a keyed MAC under the
//! installation's secret: 10,000 guesses from the masked phone beside it
//! recover nothing, two data directories give the same person different
//! keys, and one data directory keeps its keys across a restart.

mod common;

use common::*;
use dualwarn::proto;
use sha2::{Digest, Sha256};

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Every completion of a masked phone `139****0001`, hashed the ways an
/// unkeyed scheme would: 10,000 guesses.
fn guesses(masked: &str) -> Vec<String> {
    let (head, tail) = (&masked[..3], &masked[7..]);
    let mut out = Vec::with_capacity(20_000);
    for middle in 0..10_000 {
        let phone = format!("{head}{middle:04}{tail}");
        out.push(format!("{:016x}", fnv1a(format!("ph:{phone}").as_bytes())));
        let sha = Sha256::digest(format!("ph:{phone}").as_bytes());
        out.push(sha[..8].iter().map(|b| format!("{b:02x}")).collect());
    }
    out
}

async fn key_of(server: &Server, p: &Person, source_id: &str) -> proto::Task {
    let phones = list("flagged_phones", 1);
    let mut client = server.ingest().await;
    let ack = submit(&mut client, 1, vec![call_alert(source_id, p, &phones[0])]).await;
    assert_eq!(ack.accepted, 1, "{ack:?}");
    let mut console = server.console().await;
    let tasks = all_tasks(&mut console, &p.division).await;
    tasks
        .into_iter()
        .max_by_key(|t| t.created_at_ms)
        .expect("a task for the person")
}

async fn close_pair(server: &Server, p: &Person) {
    let mut console = server.console().await;
    for t in all_tasks(&mut console, &p.division).await {
        console
            .report_outcome(proto::ReportOutcomeRequest {
                task_id: t.id.clone(),
                actor: "张警官".into(),
                outcome: Some(proto::Outcome {
                    code: proto::OutcomeCode::Dissuaded as i32,
                    reached: proto::outcome::Reached::Person as i32,
                    ..Default::default()
                }),
                base_version: Some(t.version),
            })
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn console_keys_resist_guessing_differ_between_installations_and_survive_restart() {
    let dir = directory();
    let mut p = persons(&dir, "520102", 1, 41).remove(0);
    // Phone only: the key is made from the phone, the case a guess targets.
    p.id_hash.clear();

    let data_a = tempfile::tempdir().unwrap();
    let a = Server::start_with(config(data_a.path())).await;
    let task = key_of(&a, &p, "k-1").await;
    assert_eq!(task.subject.as_ref().unwrap().phone.chars().count(), 11);
    assert!(!task.subject.as_ref().unwrap().subject_key.is_empty());
    let tried = guesses(&task.subject.as_ref().unwrap().phone);
    assert_eq!(tried.len(), 20_000);
    assert!(
        !tried.contains(&task.subject.as_ref().unwrap().subject_key),
        "the key was recovered from the masked phone"
    );
    // The masked phone is what an unkeyed key would have given away.
    assert!(tried.contains(&format!(
        "{:016x}",
        fnv1a(format!("ph:{}", p.phone).as_bytes())
    )));
    close_pair(&a, &p).await;
    a.stop().await;

    // The same data directory after a restart: the same key.
    let a = Server::start_with(config(data_a.path())).await;
    let again = key_of(&a, &p, "k-2").await;
    assert_ne!(
        again.pair_id, task.pair_id,
        "a new pair after the closed one"
    );
    assert_eq!(
        again.subject.as_ref().unwrap().subject_key,
        task.subject.as_ref().unwrap().subject_key
    );
    a.stop().await;

    // Another installation: another key for the same person.
    let b = Server::start().await;
    let other = key_of(&b, &p, "k-1").await;
    assert_ne!(
        other.subject.as_ref().unwrap().subject_key,
        task.subject.as_ref().unwrap().subject_key
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_secret_file_is_shared_and_a_short_one_is_refused() {
    let dir = directory();
    let p = persons(&dir, "520102", 1, 42).remove(0);
    let secrets = tempfile::tempdir().unwrap();
    let file = secrets.path().join("person.key");
    std::fs::write(&file, format!("{}\n", "5a".repeat(32))).unwrap();

    let mut keys = Vec::new();
    for _ in 0..2 {
        let data = tempfile::tempdir().unwrap();
        let mut cfg = config(data.path());
        cfg.person_key_secret_file = Some(file.clone());
        let s = Server::start_with(cfg).await;
        keys.push(key_of(&s, &p, "k-1").await.subject.unwrap().subject_key);
        s.stop().await;
    }
    assert_eq!(keys[0], keys[1], "one secret, one key");

    std::fs::write(&file, "abcd").unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.person_key_secret_file = Some(file.clone());
    let err = dualwarn::app::build(cfg)
        .err()
        .expect("a short secret is refused");
    assert!(err.to_string().contains("person_key_secret_file"), "{err}");
}
