//! `dualwarn graph import | stats | snapshot`: the analyst's side of
//! `GraphAdmin`. `import` reads a list, case or transaction CSV, checks
//! every row locally (a bad row is reported with its line, field and value
//! and skipped), and sends the good ones in batches with a progress bar;
//! each batch is acknowledged only once the server has logged it durably.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;
use tonic::transport::Channel;

use super::conn::Conn;
use crate::api::{MAX_IMPORT_ROWS, import_row_to_proto};
use crate::graph::import::{ImportFormat, ImportRow, RowError, read_rows};
use crate::proto;
use crate::proto::graph_admin_client::GraphAdminClient;

/// Bad rows printed in full; the rest are only counted.
const SHOWN_BAD_ROWS: usize = 20;
/// Exit code when some rows were bad (the good ones were imported): EX_DATAERR.
const EXIT_BAD_ROWS: u8 = 65;

/// A `GraphAdmin` client over `conn`.
async fn admin_client(conn: &Conn) -> anyhow::Result<GraphAdminClient<Channel>> {
    Ok(GraphAdminClient::new(conn.channel().await?).max_decoding_message_size(64 << 20))
}

/// Counts bytes read, for the progress bar.
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// One batch for the server, with how far into the file it reaches.
struct Batch {
    rows: Vec<ImportRow>,
    bytes_read: u64,
}

/// Imports `path` in `format`, `batch` rows per call.
pub async fn import(
    conn: &Conn,
    path: &Path,
    format: ImportFormat,
    batch: usize,
) -> anyhow::Result<ExitCode> {
    let batch = batch.clamp(1, MAX_IMPORT_ROWS);
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut client = admin_client(conn).await?;
    let bar = ProgressBar::new(size).with_style(
        ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} [{bar:30}] {percent}% {msg} ({eta} left)",
        )
        .context("progress template")?
        .progress_chars("=> "),
    );
    let (tx, mut rx) = mpsc::channel::<Batch>(4);
    let read = Arc::new(AtomicU64::new(0));
    let input = Counted {
        inner: file,
        read: read.clone(),
    };
    let reader = tokio::task::spawn_blocking(move || parse(input, format, batch, &read, &tx));
    let mut sent = 0u64;
    while let Some(b) = rx.recv().await {
        let rows: Vec<proto::ImportRow> = b.rows.iter().map(import_row_to_proto).collect();
        let reply = client
            .import(conn.request(proto::ImportRequest { rows })?)
            .await
            .with_context(|| format!("import stopped after {sent} rows were applied"))?
            .into_inner();
        sent += u64::from(reply.applied);
        bar.set_position(b.bytes_read);
        bar.set_message(format!("{sent} rows applied"));
    }
    bar.finish_and_clear();
    let (total, bad) = reader.await.context("the reader stopped")??;
    crate::say!(
        "{}: {total} rows read, {sent} applied, {} bad",
        path.display(),
        bad.len()
    );
    for e in bad.iter().take(SHOWN_BAD_ROWS) {
        eprintln!("  {e}");
    }
    if bad.len() > SHOWN_BAD_ROWS {
        eprintln!("  ... and {} more", bad.len() - SHOWN_BAD_ROWS);
    }
    Ok(if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_BAD_ROWS)
    })
}

/// Reads the file, sending batches of good rows; returns (rows read, bad rows).
fn parse(
    input: impl Read,
    format: ImportFormat,
    batch: usize,
    read: &AtomicU64,
    tx: &mpsc::Sender<Batch>,
) -> anyhow::Result<(u64, Vec<RowError>)> {
    let mut bad = Vec::new();
    let mut rows = Vec::with_capacity(batch);
    let flush = |rows: &mut Vec<ImportRow>| {
        let b = Batch {
            rows: std::mem::take(rows),
            bytes_read: read.load(Ordering::Relaxed),
        };
        // A closed channel means the sending side failed and reports why;
        // the rest of the file is then read for nothing, but only read.
        let _ = tx.blocking_send(b);
    };
    let total = read_rows(
        input,
        format,
        |_, row| {
            rows.push(row);
            if rows.len() >= batch {
                flush(&mut rows)
            }
        },
        |e| bad.push(e),
    )?;
    if !rows.is_empty() {
        flush(&mut rows)
    }
    Ok((total, bad))
}

/// Prints the graph's figures.
pub async fn stats(conn: &Conn) -> anyhow::Result<ExitCode> {
    let s = admin_client(conn)
        .await?
        .stats(conn.request(proto::GraphStatsRequest {})?)
        .await
        .context("stats")?
        .into_inner();
    crate::say!("nodes            {}", s.nodes);
    crate::say!("links            {}", s.links);
    crate::say!(
        "memory           {} MiB ({:.1} bytes per link)",
        s.memory_bytes >> 20,
        s.bytes_per_link
    );
    crate::say!("flagged          {}", s.flagged);
    crate::say!("hubs (at cap)    {}", s.hubs);
    crate::say!("capped links     {}", s.capped_links);
    crate::say!("expired links    {}", s.expired_links);
    crate::say!("expired nodes    {}", s.expired_nodes);
    crate::say!("searches gave up {}", s.searches_gave_up);
    crate::say!(
        "snapshot         {} bytes in {} ms, covers alert #{} and import #{}",
        s.last_snapshot_bytes,
        s.last_snapshot_ms,
        s.alert_seq,
        s.import_seq
    );
    Ok(ExitCode::SUCCESS)
}

/// Asks for a snapshot now.
pub async fn snapshot(conn: &Conn) -> anyhow::Result<ExitCode> {
    let r = admin_client(conn)
        .await?
        .snapshot(conn.request(proto::SnapshotRequest {})?)
        .await
        .context("snapshot")?
        .into_inner();
    crate::say!(
        "snapshot: {} bytes in {} ms (alert #{}, import #{})",
        r.bytes,
        r.elapsed_ms,
        r.alert_seq,
        r.import_seq
    );
    Ok(ExitCode::SUCCESS)
}
