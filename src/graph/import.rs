//! Bulk imports into the graph: flagged / frozen / stop-payment lists,
//! confirmed-case records and transaction files (AMLSim's
//! `transactions.csv` among them) become [`ImportRow`]s. Parsing is pure and
//! line-numbered: a bad row is skipped and reported with its line, field
//! and value, never half-applied. The CLI parses and sends rows in batches;
//! the server logs each batch durably, then applies it with
//! [`LinkGraph::apply`].

use std::io::{self, BufRead, BufReader, Read};

use serde::{Deserialize, Serialize};

use super::flags::{FlagNote, FlagSource};
use super::links::LinkGraph;
use super::sides::secs;
use super::{EdgeKind, NodeKind, NodeRef};
use crate::model::ArtefactKind;
use crate::model::calendar::parse_date;
use crate::normalize::normalize_artefact_value;

/// One update of a bulk import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "row", rename_all = "snake_case")]
pub enum ImportRow {
    /// Flag an artefact.
    Flag {
        /// Artefact kind.
        kind: ArtefactKind,
        /// Normalized value.
        value: String,
        /// Where the flag comes from.
        source: FlagSource,
        /// Reason or case number.
        reason: String,
        /// `YYYY-MM-DD`, empty when unknown.
        date: String,
    },
    /// Allow an artefact (a bank's collection account, an official number):
    /// the graph never flags it itself, never joins a series or counts a
    /// hop through it.
    Allow {
        /// Artefact kind.
        kind: ArtefactKind,
        /// Normalized value.
        value: String,
        /// Who it is, e.g. `贵阳水务 水费代收`.
        reason: String,
    },
    /// A transfer between two accounts.
    Transfer {
        /// Paying account kind and value.
        from: (ArtefactKind, String),
        /// Receiving account kind and value.
        to: (ArtefactKind, String),
        /// Amount in fen.
        amount_fen: i64,
        /// When, unix ms.
        at_ms: i64,
    },
}

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportFormat {
    /// A list: columns `kind,value[,reason][,date]`; every row flagged from `source`.
    List(FlagSource),
    /// Confirmed cases: columns `case_id,kind,value[,date]`.
    Cases,
    /// Allowed artefacts (对公/收款账户, official numbers): columns
    /// `kind,value[,reason]`.
    Allow,
    /// Transfers: columns `from,to,amount,at` (amount in yuan, `at` RFC 3339
    /// or unix seconds; optional `from_kind`/`to_kind`, default `bank_card`),
    /// or AMLSim's `orig_acct,bene_acct,base_amt,tran_timestamp`.
    Transactions,
}

/// A row that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {field} {value:?}: {why}")]
pub struct RowError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    /// The column.
    pub field: String,
    /// The value found (already masked when it names a person's artefact).
    pub value: String,
    /// What is wrong.
    pub why: String,
}

/// A file that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The CSV is broken (bad quoting, unreadable bytes, I/O).
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// A needed column is missing from the header.
    #[error("header has no column {missing:?} (found: {found})")]
    MissingColumn {
        /// The column needed.
        missing: String,
        /// The columns there.
        found: String,
    },
}

/// Column positions of one format.
struct Columns {
    idx: Vec<Option<usize>>,
}

impl Columns {
    /// Finds `wanted` (each a list of accepted names) in `header`.
    fn find(
        header: &csv::StringRecord,
        wanted: &[&[&str]],
        required: usize,
    ) -> Result<Columns, ImportError> {
        let mut idx = Vec::with_capacity(wanted.len());
        for (i, names) in wanted.iter().enumerate() {
            let at = header
                .iter()
                .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)));
            if at.is_none() && i < required {
                return Err(ImportError::MissingColumn {
                    missing: names.join(" or "),
                    found: header.iter().collect::<Vec<_>>().join(","),
                });
            }
            idx.push(at);
        }
        Ok(Columns { idx })
    }

    fn get<'r>(&self, rec: &'r csv::StringRecord, col: usize) -> &'r str {
        self.idx[col].and_then(|i| rec.get(i)).unwrap_or("").trim()
    }
}

/// Reads every row of `input` in `format`, calling `row` for each good one
/// (with its line) and `bad` for each bad one; returns rows read.
pub fn read_rows(
    input: impl Read,
    format: ImportFormat,
    mut row: impl FnMut(u64, ImportRow),
    mut bad: impl FnMut(RowError),
) -> Result<u64, ImportError> {
    let input = LfLines {
        inner: BufReader::new(input),
        after_cr: false,
    };
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = rdr.headers()?.clone();
    let cols = match format {
        ImportFormat::List(_) | ImportFormat::Allow => {
            Columns::find(&header, &[&["kind"], &["value"], &["reason"], &["date"]], 2)?
        }
        ImportFormat::Cases => Columns::find(
            &header,
            &[&["case_id"], &["kind"], &["value"], &["date"]],
            3,
        )?,
        ImportFormat::Transactions => Columns::find(
            &header,
            &[
                &["from", "orig_acct"],
                &["to", "bene_acct"],
                &["amount", "base_amt"],
                &["at", "tran_timestamp"],
                &["from_kind"],
                &["to_kind"],
            ],
            4,
        )?,
    };
    let mut n = 0;
    let mut rec = csv::StringRecord::new();
    while rdr.read_record(&mut rec)? {
        let line = rec.position().map_or(n + 2, |p| p.line());
        n += 1;
        let parsed = match format {
            ImportFormat::List(source) => flag_row(&cols, &rec, source, line, [0, 1, 2, 3]),
            ImportFormat::Cases => flag_row(&cols, &rec, FlagSource::Case, line, [1, 2, 0, 3]),
            ImportFormat::Allow => allow_row(&cols, &rec, line),
            ImportFormat::Transactions => transfer_row(&cols, &rec, line),
        };
        match parsed {
            Ok(r) => row(line, r),
            Err(e) => bad(e),
        }
    }
    Ok(n)
}

/// `input` with every line end made `\n` (`\r\n` and a lone `\r` too):
/// the csv crate counts lines at `\n` only and numbers each record after a
/// CRLF one line short (BurntSushi/rust-csv#395), and spreadsheets write
/// CRLF, old Mac ones a lone CR. A line end inside a quoted field becomes
/// `\n` as well.
struct LfLines<R> {
    inner: BufReader<R>,
    /// The byte before was a `\r`, given out as `\n`.
    after_cr: bool,
}

impl<R: Read> Read for LfLines<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        // Stop at the end of what is buffered: a pipe may not have more yet.
        while n < out.len() && (n == 0 || !self.inner.buffer().is_empty()) {
            let Some(&b) = self.inner.fill_buf()?.first() else {
                break;
            };
            self.inner.consume(1);
            if std::mem::replace(&mut self.after_cr, b == b'\r') && b == b'\n' {
                continue;
            }
            out[n] = if b == b'\r' { b'\n' } else { b };
            n += 1;
        }
        Ok(n)
    }
}

fn row_error(line: u64, field: &str, value: &str, why: impl Into<String>) -> RowError {
    RowError {
        line,
        field: field.into(),
        value: crate::model::mask::opaque(value),
        why: why.into(),
    }
}

fn kind_of(
    line: u64,
    field: &str,
    v: &str,
    default: Option<ArtefactKind>,
) -> Result<ArtefactKind, RowError> {
    if v.is_empty()
        && let Some(k) = default
    {
        return Ok(k);
    }
    ArtefactKind::parse(v).ok_or_else(|| RowError {
        line,
        field: field.into(),
        value: v.into(),
        why: "not a kind: phone, bank_card, url, app, social_account, device, ip".into(),
    })
}

fn value_of(line: u64, field: &str, v: &str) -> Result<String, RowError> {
    let value = normalize_artefact_value(v);
    if value.is_empty() {
        return Err(row_error(line, field, v, "empty"));
    }
    Ok(value)
}

/// A list or case row; `at` gives the columns of kind, value, reason, date.
fn flag_row(
    cols: &Columns,
    rec: &csv::StringRecord,
    source: FlagSource,
    line: u64,
    at: [usize; 4],
) -> Result<ImportRow, RowError> {
    let kind = kind_of(line, "kind", cols.get(rec, at[0]), None)?;
    let value = value_of(line, "value", cols.get(rec, at[1]))?;
    let date = cols.get(rec, at[3]);
    if !date.is_empty() && parse_date(date).is_none() {
        return Err(RowError {
            line,
            field: "date".into(),
            value: date.into(),
            why: "not a calendar date YYYY-MM-DD".into(),
        });
    }
    Ok(ImportRow::Flag {
        kind,
        value,
        source,
        reason: cols.get(rec, at[2]).chars().take(200).collect(),
        date: date.into(),
    })
}

fn allow_row(cols: &Columns, rec: &csv::StringRecord, line: u64) -> Result<ImportRow, RowError> {
    Ok(ImportRow::Allow {
        kind: kind_of(line, "kind", cols.get(rec, 0), None)?,
        value: value_of(line, "value", cols.get(rec, 1))?,
        reason: cols.get(rec, 2).chars().take(200).collect(),
    })
}

fn transfer_row(cols: &Columns, rec: &csv::StringRecord, line: u64) -> Result<ImportRow, RowError> {
    let card = Some(ArtefactKind::BankCard);
    let from_kind = kind_of(line, "from_kind", cols.get(rec, 4), card)?;
    let to_kind = kind_of(line, "to_kind", cols.get(rec, 5), card)?;
    let from = value_of(line, "from", cols.get(rec, 0))?;
    let to = value_of(line, "to", cols.get(rec, 1))?;
    let amount = cols.get(rec, 2);
    let yuan: f64 = amount
        .parse()
        .ok()
        .filter(|y: &f64| y.is_finite() && *y >= 0.0 && *y < 1e15)
        .ok_or_else(|| RowError {
            line,
            field: "amount".into(),
            value: amount.into(),
            why: "not an amount in yuan (a non-negative number)".into(),
        })?;
    let at = cols.get(rec, 3);
    let at_ms = parse_time(at).ok_or_else(|| RowError {
        line,
        field: "at".into(),
        value: at.into(),
        why: "not a time: RFC 3339 (2017-01-01T00:00:00Z) or unix seconds".into(),
    })?;
    Ok(ImportRow::Transfer {
        from: (from_kind, from),
        to: (to_kind, to),
        amount_fen: (yuan * 100.0).round() as i64,
        at_ms,
    })
}

fn parse_time(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<i64>() {
        return secs.checked_mul(1000);
    }
    let t = humantime::parse_rfc3339_weak(s.trim_end_matches('Z')).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

impl LinkGraph {
    /// Applies one import row.
    pub fn apply(&mut self, row: &ImportRow) {
        match row {
            ImportRow::Flag {
                kind,
                value,
                source,
                reason,
                date,
            } => {
                let at_s = secs(date_ms(date));
                let node = self.intern(NodeKind::from(*kind), value, at_s);
                let note = FlagNote {
                    source: *source,
                    reason: reason.as_str().into(),
                    date: date.as_str().into(),
                    at_s,
                };
                self.set_note(node, note);
            }
            ImportRow::Allow { kind, value, .. } => {
                let node = self.intern(NodeKind::from(*kind), value, 0);
                self.allow_imported(node);
            }
            ImportRow::Transfer {
                from,
                to,
                amount_fen,
                at_ms,
            } => {
                let at_s = secs(*at_ms);
                let ends = [from, to].map(|(kind, value)| (NodeKind::from(*kind), value.as_str()));
                let (a, b) = self.intern_link_ends(ends[0], ends[1], EdgeKind::Transfer, at_s);
                self.upsert_link(a, b, EdgeKind::Transfer, *amount_fen, at_s);
            }
        }
    }

    /// The node a row names, for reports.
    pub fn node_of(&self, kind: ArtefactKind, value: &str) -> Option<NodeRef> {
        self.find(kind.into(), value).and_then(|n| self.node_ref(n))
    }
}

/// Unix ms of midnight UTC of a `YYYY-MM-DD` date; 0 when empty or bad.
fn date_ms(date: &str) -> i64 {
    parse_date(date).map_or(0, |days| days * 86_400_000)
}
