//! `GraphAdmin`: analysts bulk-import flagged / frozen / stop-payment
//! lists, confirmed cases and transaction files into the account-link
//! graph, read its figures and ask for a snapshot. Every row of a batch is
//! checked before any is applied; the batch is logged durably by the
//! writer before it touches the graph, and only then acknowledged.

use std::sync::Arc;

use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

use super::auth::admin;
use crate::app::{GraphFigures, Job, Shared};
use crate::error::Error;
use crate::graph::FlagSource;
use crate::graph::import::ImportRow;
use crate::model::ArtefactKind;
use crate::model::calendar::parse_date;
use crate::normalize::{artefact_kind, normalize_artefact_value};
use crate::proto;
use crate::proto::graph_admin_server::GraphAdmin;

/// Most rows in one import call.
pub const MAX_IMPORT_ROWS: usize = 50_000;
/// Longest artefact value accepted, in bytes.
const MAX_VALUE: usize = 255;
/// Latest time a transfer may carry: 2100-01-01, unix ms.
const MAX_AT_MS: i64 = 4_102_444_800_000;

/// The graph administration service.
pub struct GraphAdminService {
    shared: Arc<Shared>,
}

impl GraphAdminService {
    /// Serves graph administration over `shared`.
    pub fn new(shared: Arc<Shared>) -> GraphAdminService {
        GraphAdminService { shared }
    }

    async fn ask<T>(&self, job: impl FnOnce(oneshot::Sender<T>) -> Job) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        let gone = || Error::Unavailable("the writer is not running".into());
        self.shared.jobs.send(job(tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }
}

#[tonic::async_trait]
impl GraphAdmin for GraphAdminService {
    async fn import(
        &self,
        request: Request<proto::ImportRequest>,
    ) -> Result<Response<proto::ImportResponse>, Status> {
        admin(&self.shared.config, request.metadata(), "GraphAdmin")?;
        let rows = request.into_inner().rows;
        if rows.is_empty() || rows.len() > MAX_IMPORT_ROWS {
            let why = format!("{} rows; send 1..={MAX_IMPORT_ROWS}", rows.len());
            return Err(Error::invalid("rows", why).into());
        }
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| import_row_from_proto(i, r))
            .collect::<Result<Vec<_>, Error>>()?;
        let (applied, import_seq) = self.ask(|reply| Job::GraphImport { rows, reply }).await??;
        Ok(Response::new(proto::ImportResponse {
            applied,
            import_seq,
        }))
    }

    async fn stats(
        &self,
        request: Request<proto::GraphStatsRequest>,
    ) -> Result<Response<proto::GraphStats>, Status> {
        admin(&self.shared.config, request.metadata(), "GraphAdmin")?;
        let f = self.ask(|reply| Job::GraphStats { reply }).await?;
        Ok(Response::new(figures_to_proto(&f)))
    }

    async fn snapshot(
        &self,
        request: Request<proto::SnapshotRequest>,
    ) -> Result<Response<proto::SnapshotResponse>, Status> {
        admin(&self.shared.config, request.metadata(), "GraphAdmin")?;
        let info = self.ask(|reply| Job::GraphSnapshot { reply }).await??;
        Ok(Response::new(proto::SnapshotResponse {
            bytes: info.bytes,
            elapsed_ms: info.elapsed_ms,
            alert_seq: info.marks.alert_seq,
            import_seq: info.marks.import_seq,
        }))
    }
}

fn figures_to_proto(f: &GraphFigures) -> proto::GraphStats {
    proto::GraphStats {
        nodes: f.memory.node_count as u64,
        links: f.memory.link_count as u64,
        memory_bytes: f.memory.total() as u64,
        bytes_per_link: f.memory.per_link(),
        capped_links: f.counters.capped_links,
        expired_links: f.counters.expired_links,
        expired_nodes: f.counters.expired_nodes,
        searches_gave_up: f.searches_gave_up,
        flagged: f.flagged,
        hubs: f.hubs,
        alert_seq: f.snapshot.marks.alert_seq,
        import_seq: f.snapshot.marks.import_seq,
        last_snapshot_at_ms: f.snapshot.at_ms,
        last_snapshot_bytes: f.snapshot.bytes,
        last_snapshot_ms: f.snapshot.elapsed_ms,
    }
}

/// The proto form of an import row, as the CLI sends it.
pub fn import_row_to_proto(row: &ImportRow) -> proto::ImportRow {
    use proto::import_row::Row;
    let kind = |k: ArtefactKind| artefact_kind_to_proto(k) as i32;
    let row = match row {
        ImportRow::Flag {
            kind: k,
            value,
            source,
            reason,
            date,
        } => Row::Flag(proto::FlagRow {
            kind: kind(*k),
            value: value.clone(),
            source: flag_source_to_proto(*source) as i32,
            reason: reason.clone(),
            date: date.clone(),
        }),
        ImportRow::Allow {
            kind: k,
            value,
            reason,
        } => Row::Allow(proto::AllowRow {
            kind: kind(*k),
            value: value.clone(),
            reason: reason.clone(),
        }),
        ImportRow::Transfer {
            from,
            to,
            amount_fen,
            at_ms,
        } => Row::Transfer(proto::TransferRow {
            from_kind: kind(from.0),
            from: from.1.clone(),
            to_kind: kind(to.0),
            to: to.1.clone(),
            amount_fen: *amount_fen,
            at_ms: *at_ms,
        }),
    };
    proto::ImportRow { row: Some(row) }
}

/// Checks one received row; the error names the row, field and value.
fn import_row_from_proto(i: usize, r: proto::ImportRow) -> Result<ImportRow, Error> {
    use proto::import_row::Row;
    let bad = |field: &str, why: String| Error::invalid("rows", format!("row {i}: {field}: {why}"));
    match r.row {
        None => Err(bad("row", "empty: set flag, transfer or allow".into())),
        Some(Row::Allow(a)) => Ok(ImportRow::Allow {
            kind: artefact_kind(a.kind)
                .ok_or_else(|| bad("kind", format!("{} is not a kind", a.kind)))?,
            value: value_of(&a.value).map_err(|why| bad("value", why))?,
            reason: a.reason.chars().take(200).collect(),
        }),
        Some(Row::Flag(f)) => {
            let source = match proto::FlagSource::try_from(f.source) {
                Ok(proto::FlagSource::Flagged) => FlagSource::Flagged,
                Ok(proto::FlagSource::Frozen) => FlagSource::Frozen,
                Ok(proto::FlagSource::StopPayment) => FlagSource::StopPayment,
                Ok(proto::FlagSource::Case) => FlagSource::Case,
                _ => return Err(bad("source", format!("{} is not a flag source", f.source))),
            };
            if !f.date.is_empty() && parse_date(&f.date).is_none() {
                return Err(bad("date", format!("{:?} is not YYYY-MM-DD", f.date)));
            }
            Ok(ImportRow::Flag {
                kind: artefact_kind(f.kind)
                    .ok_or_else(|| bad("kind", format!("{} is not a kind", f.kind)))?,
                value: value_of(&f.value).map_err(|why| bad("value", why))?,
                source,
                reason: f.reason.chars().take(200).collect(),
                date: f.date,
            })
        }
        Some(Row::Transfer(t)) => {
            if t.amount_fen < 0 {
                return Err(bad("amount_fen", format!("{} is negative", t.amount_fen)));
            }
            if !(0..=MAX_AT_MS).contains(&t.at_ms) {
                return Err(bad(
                    "at_ms",
                    format!("{} is not a time before 2100", t.at_ms),
                ));
            }
            let from_kind = artefact_kind(t.from_kind)
                .ok_or_else(|| bad("from_kind", format!("{} is not a kind", t.from_kind)))?;
            let to_kind = artefact_kind(t.to_kind)
                .ok_or_else(|| bad("to_kind", format!("{} is not a kind", t.to_kind)))?;
            Ok(ImportRow::Transfer {
                from: (
                    from_kind,
                    value_of(&t.from).map_err(|why| bad("from", why))?,
                ),
                to: (to_kind, value_of(&t.to).map_err(|why| bad("to", why))?),
                amount_fen: t.amount_fen,
                at_ms: t.at_ms,
            })
        }
    }
}

/// A normalized value, or why not (masked: values may be a person's).
fn value_of(raw: &str) -> Result<String, String> {
    let v = normalize_artefact_value(raw);
    if v.is_empty() {
        return Err("empty".into());
    }
    if v.len() > MAX_VALUE {
        return Err(format!("{} bytes; at most {MAX_VALUE}", v.len()));
    }
    Ok(v)
}

fn artefact_kind_to_proto(k: ArtefactKind) -> proto::ArtefactKind {
    match k {
        ArtefactKind::Phone => proto::ArtefactKind::Phone,
        ArtefactKind::BankCard => proto::ArtefactKind::BankCard,
        ArtefactKind::Url => proto::ArtefactKind::Url,
        ArtefactKind::App => proto::ArtefactKind::App,
        ArtefactKind::SocialAccount => proto::ArtefactKind::SocialAccount,
        ArtefactKind::Device => proto::ArtefactKind::Device,
        ArtefactKind::Ip => proto::ArtefactKind::Ip,
    }
}

fn flag_source_to_proto(s: FlagSource) -> proto::FlagSource {
    match s {
        FlagSource::Flagged => proto::FlagSource::Flagged,
        FlagSource::Frozen => proto::FlagSource::Frozen,
        FlagSource::StopPayment => proto::FlagSource::StopPayment,
        FlagSource::Case => proto::FlagSource::Case,
        // Derived flags are the graph's own; never imported.
        FlagSource::Derived => proto::FlagSource::Unspecified,
    }
}
