//! Kafka ingest under SIGKILL: the real binary reads a 3-partition topic
//! (librdkafka's mock cluster, in this process) and is killed three times
//! mid-stream, each time started again on the same store. Offsets are
//! committed only after durability, so every alert is read at least once
//! and the store's dedupe makes the re-reads harmless: afterwards every
//! alert is in the store exactly once and nobody has two open pairs.

mod common;

use common::*;
use dualwarn::store::{EmbeddedStore, Store};
use prost::Message as _;
use rdkafka::mocking::MockCluster;

const TOPIC: &str = "alerts";
const PARTITIONS: i32 = 3;
const PEOPLE: usize = 200;
const PER_PERSON: usize = 60;
const KILLS: usize = 3;

#[tokio::test(flavor = "multi_thread")]
async fn three_sigkills_mid_stream_lose_no_alert_and_make_no_second_pair() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(TOPIC, PARTITIONS, 1).unwrap();
    mock.create_topic("dualwarn.dead-letter", 1, 1).unwrap();
    let brokers = mock.bootstrap_servers();
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("kafka.toml");
    std::fs::write(
        &config,
        format!(
            "[kafka]\nbrokers = \"{brokers}\"\nbatch = 50\nlinger = \"5ms\"\n\
             [kafka.properties]\n\
             # A killed member leaves the group after this, not the default 45 s.\n\
             \"session.timeout.ms\" = \"6000\"\n\
             \"heartbeat.interval.ms\" = \"500\"\n\
             [[kafka.topics]]\nname = \"{TOPIC}\"\nsources = [\"test-telecom\"]\n"
        ),
    )
    .unwrap();

    let dir = directory();
    let people = persons(&dir, "52", PEOPLE, 5);
    let phone = list("flagged_phones", 1).remove(0);
    let bodies: Vec<(String, Vec<u8>)> = (0..PER_PERSON)
        .flat_map(|round| {
            people.iter().enumerate().map({
                let phone = phone.clone();
                move |(i, p)| {
                    let a = call_alert(&format!("k-{round}-{i}"), p, &phone);
                    (p.phone.clone(), a.encode_to_vec())
                }
            })
        })
        .collect();
    let total = bodies.len() as i64;
    kafka::put(&kafka::producer(&brokers), TOPIC, &bodies).await;

    let data_dir = data.path().to_path_buf();
    let spawn = || {
        let (config, data_dir) = (config.clone(), data_dir.clone());
        spawn_server_with(&data_dir, move |cmd| {
            cmd.arg("--config").arg(&config);
        })
    };
    let mut kills_at = Vec::new();
    for k in 0..KILLS {
        let (mut child, _url) = spawn();
        // Kill once this run has committed something, before the end.
        let target = total * (k as i64 + 1) / (KILLS as i64 + 1);
        kills_at.push(kafka::wait_committed(&brokers, TOPIC, PARTITIONS, target, 120).await);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let (mut child, _url) = spawn();
    kafka::wait_committed(&brokers, TOPIC, PARTITIONS, total, 120).await;
    // A graceful stop, then the store is read directly.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    child.wait().unwrap();
    let store = EmbeddedStore::open(data.path()).unwrap();
    let alerts = store.alert_count().unwrap();
    let state = store.load_state().unwrap();
    eprintln!(
        "sent {total}, committed at the kills {kills_at:?}, in the store {alerts}, open tasks {}",
        state.open_tasks.len()
    );
    assert!(
        kills_at.iter().all(|c| *c < total),
        "a kill came after the end: {kills_at:?}"
    );
    assert_eq!(alerts, total as u64, "every alert in the store once");
    assert_eq!(
        state.open_tasks.len(),
        2 * PEOPLE,
        "one open pair per person"
    );
}
