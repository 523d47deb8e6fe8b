//! `dualwarn send`: streams a JSON-lines alert file (or stdin) to a server
//! over `AlertIngest.Publish` in batches, with progress, and reports
//! throughput, acks and rejections. Doubles as the load tool.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::conn::{ConnArgs, Publisher};
use super::record::AlertRecord;
use crate::proto;
use crate::proto::alert_ingest_client::AlertIngestClient;

/// Batches on their way to the server before the reader waits.
const SEND_AHEAD: usize = 16;

/// Flags of `dualwarn send`.
#[derive(Args)]
pub struct SendArgs {
    /// Address, publisher token and TLS.
    #[command(flatten)]
    pub conn: ConnArgs<Publisher>,
    /// Alerts per batch.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Rejections to print in full.
    #[arg(long, default_value_t = 20)]
    pub show_rejections: usize,
    /// JSON-lines file; `-` or nothing for stdin.
    pub file: Option<PathBuf>,
}

/// Options of [`send`].
#[derive(Clone, Debug)]
pub struct SendOptions {
    /// Server address, e.g. `http://127.0.0.1:50051`.
    pub addr: String,
    /// Alerts per batch.
    pub batch: usize,
    /// Rejections printed in full (the rest are counted).
    pub show_rejections: usize,
    /// Print progress every second to stderr.
    pub progress: bool,
    /// Publisher token, when the server has publishers configured.
    pub token: Option<String>,
    /// TLS, when the server has it.
    pub tls: super::ClientTls,
}

/// What a send did.
#[derive(Clone, Debug, Default)]
pub struct SendSummary {
    /// Alerts sent.
    pub sent: u64,
    /// Batches acked.
    pub batches: u64,
    /// Alerts accepted (durable).
    pub accepted: u64,
    /// Of those, already known.
    pub duplicates: u64,
    /// Alerts rejected by the server.
    pub rejected: u64,
    /// Pairs created.
    pub pairs_created: u64,
    /// Alerts merged into open pairs.
    pub merged: u64,
    /// Input lines that were not valid JSON (not sent).
    pub unparsable: u64,
    /// Wall time from first send to last ack.
    pub elapsed: Duration,
    /// Rejections kept for printing: (input line, field, reason).
    pub rejections: Vec<(u64, String, String)>,
}

impl SendSummary {
    /// Accepted alerts per second.
    pub fn rate(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs `dualwarn send`: streams the file (or stdin), then prints the
/// rejections kept and a summary line.
pub async fn run(a: SendArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(a.batch > 0, "--batch must be at least 1");
    let conn = a.conn.conn();
    let opts = SendOptions {
        addr: conn.addr,
        batch: a.batch,
        show_rejections: a.show_rejections,
        progress: true,
        token: conn.token,
        tls: conn.tls,
    };
    let summary = match a.file.as_deref() {
        Some(p) if p.as_os_str() != "-" => {
            let f = tokio::fs::File::open(p)
                .await
                .with_context(|| format!("cannot open {}", p.display()))?;
            send(&opts, BufReader::new(f)).await?
        }
        _ => send(&opts, BufReader::new(tokio::io::stdin())).await?,
    };
    for (line, field, reason) in &summary.rejections {
        crate::say!("rejected record {line}: [{field}] {reason}");
    }
    crate::say!(
        "sent {} alerts in {} batches in {:.2}s: {:.0} alerts/s; accepted {} (duplicates {}), rejected {}, unparsable {}; pairs created {}, merged {}",
        summary.sent,
        summary.batches,
        summary.elapsed.as_secs_f64(),
        summary.rate(),
        summary.accepted,
        summary.duplicates,
        summary.rejected,
        summary.unparsable,
        summary.pairs_created,
        summary.merged
    );
    Ok(ExitCode::SUCCESS)
}

/// Streams every line of `input` to the server and waits for every ack.
pub async fn send(
    opts: &SendOptions,
    input: impl AsyncBufRead + Unpin + Send + 'static,
) -> anyhow::Result<SendSummary> {
    let mut client = AlertIngestClient::new(super::channel(&opts.addr, &opts.tls).await?)
        .max_encoding_message_size(64 * 1024 * 1024);
    let (tx, rx) = mpsc::channel(SEND_AHEAD);
    let request = super::with_bearer(ReceiverStream::new(rx), opts.token.as_deref())?;
    let mut acks = client
        .publish(request)
        .await
        .context("publish refused")?
        .into_inner();
    let started = Instant::now();
    let opts2 = opts.clone();
    let reader = tokio::spawn(async move { read_batches(&opts2, input, tx).await });
    let mut summary = SendSummary::default();
    let mut last_progress = Instant::now();
    while let Some(ack) = acks.message().await.context("server ended the stream")? {
        absorb(&mut summary, ack, opts.show_rejections, opts.batch);
        if opts.progress && last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            eprintln!(
                "… {} accepted, {:.0} alerts/s",
                summary.accepted,
                summary.accepted as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let (sent, unparsable) = reader.await.context("reader task failed")??;
    summary.sent = sent;
    summary.unparsable = unparsable;
    summary.elapsed = started.elapsed();
    anyhow::ensure!(
        summary.accepted + summary.rejected == sent,
        "server acked {} of {sent} alerts",
        summary.accepted + summary.rejected
    );
    Ok(summary)
}

fn absorb(s: &mut SendSummary, ack: proto::PublishAck, show: usize, batch: usize) {
    s.batches += 1;
    s.accepted += u64::from(ack.accepted);
    s.duplicates += u64::from(ack.duplicates);
    s.rejected += ack.rejections.len() as u64;
    s.pairs_created += u64::from(ack.pairs_created);
    s.merged += u64::from(ack.merged);
    for r in ack.rejections {
        if s.rejections.len() < show {
            // Batches are numbered from 0 and filled in input order, so this is the
            // position among parsed records (1-based).
            let line = ack.sequence * batch as u64 + u64::from(r.index) + 1;
            s.rejections.push((line, r.field, r.reason));
        }
    }
}

async fn read_batches(
    opts: &SendOptions,
    input: impl AsyncBufRead + Unpin + Send,
    tx: mpsc::Sender<proto::AlertBatch>,
) -> anyhow::Result<(u64, u64)> {
    let mut lines = input.lines();
    let (mut sent, mut unparsable, mut seq, mut n) = (0u64, 0u64, 0u64, 0u64);
    let mut alerts = Vec::with_capacity(opts.batch);
    while let Some(line) = lines.next_line().await.context("cannot read input")? {
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<AlertRecord>(&line) {
            Ok(r) => alerts.push(r.to_proto()),
            Err(e) => {
                unparsable += 1;
                eprintln!("line {n}: not an alert record: {e}");
                continue;
            }
        }
        if alerts.len() == opts.batch {
            sent += alerts.len() as u64;
            let batch = proto::AlertBatch {
                sequence: seq,
                alerts: std::mem::take(&mut alerts),
            };
            seq += 1;
            if tx.send(batch).await.is_err() {
                anyhow::bail!("server closed the stream after {sent} alerts");
            }
        }
    }
    if !alerts.is_empty() {
        sent += alerts.len() as u64;
        tx.send(proto::AlertBatch {
            sequence: seq,
            alerts,
        })
        .await
        .ok();
    }
    Ok((sent, unparsable))
}
