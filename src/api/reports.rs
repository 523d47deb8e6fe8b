//! The report calls of `TaskConsole`: `DailyList` (任务清单 as a file, in
//! chunks) and `Supervision` (督导 figures). Both page the caller's visible
//! tasks out of the store on a blocking thread and fold them through the
//! pure [`crate::report`] builders; the file is streamed after it is made.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::Status;

use super::auth::Scope;
use super::convert::day_range;
use crate::app::Shared;
use crate::error::Error;
use crate::model::Task;
use crate::proto;
use crate::report::sheet::{self, FileFormat};
use crate::report::supervision::{RuleFigures, Unit};
use crate::report::{DailyBuilder, Supervision, Tally};
use crate::store::TaskQuery;

/// Bytes per streamed chunk of a file.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Longest span of `Supervision`, in days.
pub const MAX_SPAN_DAYS: i64 = 92;
/// Tasks read from the store per page.
const PAGE: usize = 1000;

/// A stream of file chunks.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<proto::FileChunk, Status>> + Send>>;

/// Calls `each` on every task of `prefix` created in `[start, end)` that
/// `scope` may see, in store order.
fn each_visible(
    shared: &Shared,
    scope: &Scope,
    prefix: String,
    created_between: (i64, i64),
    mut each: impl FnMut(&Task),
) -> Result<(), Error> {
    let mut query = TaskQuery {
        overdue_at: None,
        prefix,
        created_between: Some(created_between),
        page_size: PAGE,
        ..TaskQuery::default()
    };
    loop {
        let page = shared.store.list_tasks(&query)?;
        for t in page.tasks.iter().filter(|t| scope.sees_task(t)) {
            each(t);
        }
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => return Ok(()),
        }
    }
}

/// The checked request of a daily list.
pub struct DailyRequest {
    prefix: String,
    day: String,
    format: FileFormat,
    range: (i64, i64),
}

impl DailyRequest {
    /// Checks `r` against `scope`; errors name the field.
    pub fn check(
        shared: &Shared,
        scope: &Scope,
        r: proto::DailyListRequest,
    ) -> Result<DailyRequest, Error> {
        let prefix = scope.narrow(&r.jurisdiction)?;
        let format = FileFormat::parse(&r.format).ok_or_else(|| {
            Error::invalid(
                "format",
                format!(
                    "{:?} is not xlsx or csv",
                    crate::model::mask::echo(&r.format)
                ),
            )
        })?;
        let range = day_range(&r.day, shared.config.utc_offset_hours)
            .map_err(|_| Error::invalid("day", format!("{:?} is not a date YYYY-MM-DD", r.day)))?;
        Ok(DailyRequest {
            prefix,
            day: r.day,
            format,
            range,
        })
    }
}

/// Makes the file of a checked daily list: (file name, bytes).
pub fn daily_file(
    shared: &Shared,
    scope: &Scope,
    r: DailyRequest,
) -> Result<(String, FileFormat, Vec<u8>), Error> {
    let mut b = DailyBuilder::new(
        &r.day,
        &r.prefix,
        (shared.clock)(),
        shared.config.utc_offset_hours,
    );
    let directory = shared.directory.load();
    each_visible(shared, scope, r.prefix.clone(), r.range, |t| {
        let village = directory.village_name(t.division).unwrap_or("");
        b.add(t, village);
    })?;
    let bytes = sheet::write(&b.finish(), r.format)
        .map_err(|e| Error::Unavailable(format!("daily list: {e}")))?;
    let scope_part = if r.prefix.is_empty() {
        "all"
    } else {
        &r.prefix
    };
    let name = format!("任务清单-{scope_part}-{}.{}", r.day, r.format.extension());
    Ok((name, r.format, bytes))
}

/// The file as a stream of chunks, name and size on the first.
pub fn chunks(name: String, format: FileFormat, bytes: Vec<u8>) -> ChunkStream {
    let total = bytes.len() as u64;
    let mut pieces: Vec<proto::FileChunk> = bytes
        .chunks(CHUNK_BYTES)
        .map(|c| proto::FileChunk {
            data: c.to_vec(),
            ..proto::FileChunk::default()
        })
        .collect();
    if pieces.is_empty() {
        pieces.push(proto::FileChunk::default());
    }
    pieces[0].file_name = name;
    pieces[0].content_type = format.content_type().into();
    pieces[0].total_bytes = total;
    Box::pin(tokio_stream::iter(pieces.into_iter().map(Ok)))
}

/// The supervision figures of the caller's visible tasks.
pub fn supervision(
    shared: &Shared,
    scope: &Scope,
    r: proto::SupervisionRequest,
) -> Result<proto::SupervisionResponse, Error> {
    let prefix = scope.narrow(&r.jurisdiction)?;
    let offset = shared.config.utc_offset_hours;
    let (from, _) = day_range(&r.from_day, offset).map_err(|_| {
        Error::invalid(
            "from_day",
            format!("{:?} is not a date YYYY-MM-DD", r.from_day),
        )
    })?;
    let (_, to) = day_range(&r.to_day, offset).map_err(|_| {
        Error::invalid("to_day", format!("{:?} is not a date YYYY-MM-DD", r.to_day))
    })?;
    let days = (to - from) / 86_400_000;
    if days < 1 {
        return Err(Error::invalid(
            "to_day",
            format!("{} is before from_day {}", r.to_day, r.from_day),
        ));
    }
    if days > MAX_SPAN_DAYS {
        return Err(Error::invalid(
            "to_day",
            format!("{days} days from {} is above {MAX_SPAN_DAYS}", r.from_day),
        ));
    }
    let as_of_ms = (shared.clock)();
    let mut s = Supervision::new(as_of_ms);
    each_visible(shared, scope, prefix, (from, to), |t| s.add(t))?;
    let f = s.finish();
    Ok(proto::SupervisionResponse {
        total: Some(figures(&f.total)),
        counties: f.counties.iter().map(unit).collect(),
        stations: f.stations.iter().map(unit).collect(),
        rules: f.rules.iter().map(rule).collect(),
        as_of_ms,
    })
}

fn figures(t: &Tally) -> proto::Figures {
    proto::Figures {
        tasks: t.tasks,
        closed: t.closed,
        on_time: t.on_time,
        late: t.late,
        overdue: t.overdue,
        reported: t.reported,
        reached: t.reached,
        dissuaded: t.dissuaded,
        defrauded: t.defrauded,
        cannot_be_found: t.cannot_be_found,
        not_found_yet: t.not_found_yet,
        mismatch: t.mismatch,
        duplicate: t.duplicate,
        transfers: t.transfers,
        amount_lost_fen: t.amount_lost_fen,
        amount_saved_fen: t.amount_saved_fen,
        on_time_rate: t.on_time_rate(),
        reached_rate: t.reached_rate(),
        dissuasion_rate: t.dissuasion_rate(),
    }
}

fn unit(u: &Unit) -> proto::UnitFigures {
    proto::UnitFigures {
        id: u.id.clone(),
        figures: Some(figures(&u.tally)),
        rank: u.rank,
    }
}

fn rule(r: &RuleFigures) -> proto::RuleFigures {
    proto::RuleFigures {
        rule_id: r.rule_id.clone(),
        figures: Some(figures(&r.tally)),
        true_positives: r.true_positives(),
        false_positives: r.false_positives(),
        precision: r.precision(),
    }
}
