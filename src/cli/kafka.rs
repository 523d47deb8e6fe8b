//! `dualwarn kafka`: put a JSON-lines alert file on a topic (and time the
//! engine's group reading it), and run librdkafka's mock cluster to try
//! `[kafka]` out without a broker.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use prost::Message as _;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureProducer;
use tokio::io::AsyncBufReadExt;

use super::record::AlertRecord;
use crate::kafka::{Outgoing, committed_sum, produce_all};

/// `dualwarn kafka ...`.
#[derive(Debug, Subcommand)]
pub enum KafkaCommand {
    /// Publish a JSON-lines alert file (or `-` for stdin) to a topic, keyed
    /// by the subject's phone; with `--wait-group`, wait until that consumer
    /// group has committed all of it and print the rate.
    Send(SendArgs),
    /// Run librdkafka's mock cluster with topics until Ctrl-C, and print its
    /// bootstrap address: a test double speaking the Kafka protocol, to try
    /// `[kafka]` out; not a broker (nothing is kept).
    Mock(MockArgs),
}

/// How alerts are put on the topic.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// Protobuf `dualwarn.v1.Alert`.
    Protobuf,
    /// The JSON line as it is.
    Json,
}

/// `dualwarn kafka send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Bootstrap brokers.
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub brokers: String,
    /// Topic.
    #[arg(long)]
    pub topic: String,
    /// Message encoding (the topic's `format` in `[kafka]`).
    #[arg(long, value_enum, default_value = "protobuf")]
    pub format: Format,
    /// Wait until this consumer group (the engine's `[kafka] group`) has
    /// committed everything on the topic; prints alerts/s from the first
    /// message sent to the last offset committed.
    #[arg(long)]
    pub wait_group: Option<String>,
    /// JSON-lines file, or `-`.
    pub file: PathBuf,
}

/// `dualwarn kafka mock`.
#[derive(Debug, Args)]
pub struct MockArgs {
    /// Topics to create, `name:partitions` (repeat the flag).
    #[arg(long = "topic", value_parser = topic_spec)]
    pub topics: Vec<(String, i32)>,
}

fn topic_spec(s: &str) -> Result<(String, i32), String> {
    let (name, parts) = s.split_once(':').unwrap_or((s, "1"));
    let parts: i32 = parts
        .parse()
        .ok()
        .filter(|p| (1..=1024).contains(p))
        .ok_or_else(|| format!("{s:?}: partitions must be 1..=1024 (name:partitions)"))?;
    if name.is_empty() {
        return Err(format!("{s:?}: no topic name"));
    }
    Ok((name.to_string(), parts))
}

/// Runs a `dualwarn kafka` command.
pub async fn run(cmd: KafkaCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KafkaCommand::Send(a) => send(a).await,
        KafkaCommand::Mock(a) => mock(a).await,
    }
}

/// Messages queued before their deliveries are awaited.
const CHUNK: usize = 10_000;

async fn send(a: SendArgs) -> anyhow::Result<ExitCode> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &a.brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .context("cannot make the producer")?;
    let input: Box<dyn tokio::io::AsyncRead + Unpin + Send> = if a.file.as_os_str() == "-" {
        Box::new(tokio::io::stdin())
    } else {
        Box::new(
            tokio::fs::File::open(&a.file)
                .await
                .with_context(|| format!("cannot open {}", a.file.display()))?,
        )
    };
    let mut lines = tokio::io::BufReader::new(input).lines();
    let started = Instant::now();
    let (mut sent, mut unparsable, mut n) = (0u64, 0u64, 0u64);
    let mut chunk: Vec<(String, Vec<u8>)> = Vec::with_capacity(CHUNK);
    loop {
        let line = lines.next_line().await.context("cannot read input")?;
        let done = line.is_none();
        if let Some(line) = line {
            n += 1;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<AlertRecord>(&line) {
                Ok(r) => {
                    let body = match a.format {
                        Format::Protobuf => r.to_proto().encode_to_vec(),
                        Format::Json => line.into_bytes(),
                    };
                    chunk.push((r.subject.phone, body));
                }
                Err(e) => {
                    unparsable += 1;
                    eprintln!("line {n}: not an alert record: {e}");
                }
            }
        }
        if chunk.len() == CHUNK || (done && !chunk.is_empty()) {
            produce_all(
                &producer,
                chunk.iter().map(|(k, b)| Outgoing {
                    topic: &a.topic,
                    partition: None,
                    key: (!k.is_empty()).then_some(k.as_bytes()),
                    payload: b,
                    headers: None,
                }),
            )
            .await
            .with_context(|| format!("cannot produce to {}", a.topic))?;
            sent += chunk.len() as u64;
            chunk.clear();
            eprint!("\r… {sent} alerts on {}", a.topic);
        }
        if done {
            break;
        }
    }
    let produced = started.elapsed();
    eprintln!();
    println!(
        "produced {sent} alerts to {} in {:.2}s: {:.0} alerts/s; unparsable {unparsable}",
        a.topic,
        produced.as_secs_f64(),
        sent as f64 / produced.as_secs_f64().max(1e-9)
    );
    if let Some(group) = &a.wait_group {
        let (brokers, topic, group) = (a.brokers.clone(), a.topic.clone(), group.clone());
        tokio::task::spawn_blocking(move || wait_committed(&brokers, &topic, &group)).await??;
        let all = started.elapsed();
        println!(
            "group {} committed all of {} {:.2}s after the first message: {:.0} alerts/s end to end",
            a.wait_group.as_deref().unwrap_or_default(),
            a.topic,
            all.as_secs_f64(),
            sent as f64 / all.as_secs_f64().max(1e-9)
        );
    }
    Ok(if unparsable == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Waits until `group` has committed the end of every partition of `topic`;
/// prints when its first offsets were committed and the rate from there.
fn wait_committed(brokers: &str, topic: &str, group: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut first: Option<(Instant, i64)> = None;
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()?;
    let call = Duration::from_secs(10);
    let meta = c.fetch_metadata(Some(topic), call)?;
    let parts = meta
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len()) as i32;
    let mut total = 0;
    for p in 0..parts {
        total += c.fetch_watermarks(topic, p, call)?.1;
    }
    loop {
        let got = committed_sum(&c, topic, parts, call)?;
        eprint!("\r… group {group}: {got} of {total} committed");
        if got > 0 && first.is_none() {
            first = Some((Instant::now(), got));
        }
        if got >= total {
            eprintln!();
            if let Some((at, n)) = first {
                let steady = at.elapsed().as_secs_f64().max(1e-9);
                println!(
                    "first offsets committed {:.2}s after the wait began (group join, start); \
                     then {} alerts in {steady:.2}s: {:.0} alerts/s",
                    (at - started).as_secs_f64(),
                    total - n,
                    (total - n) as f64 / steady
                );
            }
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn mock(a: MockArgs) -> anyhow::Result<ExitCode> {
    let cluster = rdkafka::mocking::MockCluster::new(1).context("cannot start the mock cluster")?;
    for (name, parts) in &a.topics {
        cluster
            .create_topic(name, *parts, 1)
            .with_context(|| format!("cannot create {name}"))?;
    }
    println!("{}", cluster.bootstrap_servers());
    eprintln!(
        "mock cluster at {} with {:?}; Ctrl-C stops it",
        cluster.bootstrap_servers(),
        a.topics
    );
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}
