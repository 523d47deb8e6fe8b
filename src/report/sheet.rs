//! The daily list written as a file: XLSX with three sheets (任务清单,
//! 汇总, 逾期清单) through rust_xlsxwriter, or the task sheet alone as CSV
//! (UTF-8 with a byte-order mark, so that Excel reads the Chinese headers).

use rust_xlsxwriter::{Color, Format, Workbook, Worksheet, XlsxError};

use super::daily::{DailyList, HEADERS, PUBLICITY_HEADERS, Row, level_label, status_label};
use super::figures::Tally;

/// The file formats of the daily list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Excel workbook.
    Xlsx,
    /// The task sheet as CSV.
    Csv,
}

impl FileFormat {
    /// Parses `xlsx` / `csv`.
    pub fn parse(s: &str) -> Option<FileFormat> {
        match s {
            "xlsx" | "" => Some(FileFormat::Xlsx),
            "csv" => Some(FileFormat::Csv),
            _ => None,
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "xlsx",
            FileFormat::Csv => "csv",
        }
    }

    /// The MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileFormat::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// Why a list could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    /// The spreadsheet library refused.
    #[error("cannot write the workbook: {0}")]
    Xlsx(#[from] XlsxError),
    /// The CSV writer refused.
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// The list as a file of `format`.
pub fn write(list: &DailyList, format: FileFormat) -> Result<Vec<u8>, SheetError> {
    match format {
        FileFormat::Xlsx => xlsx(list),
        FileFormat::Csv => csv(list),
    }
}

/// The list as an XLSX workbook.
pub fn xlsx(list: &DailyList) -> Result<Vec<u8>, SheetError> {
    let mut book = Workbook::new();
    book.push_worksheet(task_sheet("任务清单", list.rows.iter())?);
    book.push_worksheet(summary_sheet(list)?);
    book.push_worksheet(task_sheet("逾期清单", list.overdue())?);
    book.push_worksheet(publicity_sheet(list)?);
    Ok(book.save_to_buffer()?)
}

/// The task sheet as CSV.
pub fn csv(list: &DailyList) -> Result<Vec<u8>, SheetError> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(HEADERS)?;
        for row in &list.rows {
            w.write_record(&row.cells)?;
        }
        w.flush().map_err(csv::Error::from)?;
    }
    Ok(out)
}

fn bold() -> Format {
    Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xD9E1F2))
}

/// 红 / 黄 / 蓝 for 高 / 中 / 低, as centres colour them.
fn level_fill(label: &str) -> Option<Format> {
    let rgb = match label {
        "高" => 0xF8CBAD,
        "中" => 0xFFE699,
        "低" => 0xBDD7EE,
        _ => return None,
    };
    Some(Format::new().set_background_color(Color::RGB(rgb)))
}

fn task_sheet<'a>(
    name: &str,
    rows: impl Iterator<Item = &'a Row>,
) -> Result<Worksheet, SheetError> {
    let mut ws = Worksheet::new();
    ws.set_name(name)?;
    let head = bold();
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &head)?;
        ws.set_column_width(c as u16, column_width(h))?;
    }
    let mut last = 0u32;
    for (i, row) in rows.enumerate() {
        let r = i as u32 + 1;
        for (c, cell) in row.cells.iter().enumerate() {
            match (c, level_fill(cell)) {
                (1, Some(fill)) => ws.write_string_with_format(r, c as u16, cell, &fill)?,
                _ => ws.write_string(r, c as u16, cell)?,
            };
        }
        last = r;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, last, HEADERS.len() as u16 - 1)?;
    Ok(ws)
}

fn publicity_sheet(list: &DailyList) -> Result<Worksheet, SheetError> {
    let mut ws = Worksheet::new();
    ws.set_name("宣传任务")?;
    let head = bold();
    for (c, h) in PUBLICITY_HEADERS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &head)?;
        let width = if *h == "研判依据" {
            60.0
        } else {
            column_width(h)
        };
        ws.set_column_width(c as u16, width)?;
    }
    for (i, row) in list.publicity.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            ws.write_string(i as u32 + 1, c as u16, cell)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(ws)
}

fn column_width(header: &str) -> f64 {
    match header {
        "任务编号" | "办理步骤" | "命中规则" | "预警对象" => 28.0,
        "派发时间" | "截止时间" | "签收时间" | "串并案" => 18.0,
        _ => 12.0,
    }
}

/// The summary sheet's figure columns.
const FIGURES: [&str; 17] = [
    "分组",
    "任务数",
    "已办结",
    "按时办结",
    "超时办结",
    "逾期未办结",
    "按时办结率",
    "已反馈",
    "见面率",
    "已劝阻",
    "已被骗",
    "确实找不到",
    "暂时找不到",
    "不符",
    "重复预警",
    "劝阻成功率",
    "转办",
];

fn summary_sheet(list: &DailyList) -> Result<Worksheet, SheetError> {
    let mut ws = Worksheet::new();
    ws.set_name("汇总")?;
    let head = bold();
    let pct = Format::new().set_num_format("0.0%");
    for (r, (k, v)) in [
        ("日期", list.day.as_str()),
        (
            "辖区",
            if list.jurisdiction.is_empty() {
                "全部"
            } else {
                list.jurisdiction.as_str()
            },
        ),
        ("生成时间", list.generated_at.as_str()),
    ]
    .into_iter()
    .enumerate()
    {
        ws.write_string_with_format(r as u32, 0, k, &head)?;
        ws.write_string(r as u32, 1, v)?;
    }
    for (c, h) in FIGURES.iter().enumerate() {
        ws.write_string_with_format(4, c as u16, *h, &head)?;
        ws.set_column_width(c as u16, 11.0)?;
    }
    let groups = std::iter::once(("合计", &list.total))
        .chain(list.by_level.iter().map(|(l, t)| (level_label(*l), t)));
    let mut r = 5u32;
    for (label, t) in groups {
        figure_row(&mut ws, r, label, t, &pct)?;
        r += 1;
    }
    r += 1;
    ws.write_string_with_format(r, 0, "状态", &head)?;
    ws.write_string_with_format(r, 1, "任务数", &head)?;
    for (status, n) in &list.by_status {
        r += 1;
        ws.write_string(r, 0, status_label(*status))?;
        ws.write_number(r, 1, *n as f64)?;
    }
    Ok(ws)
}

fn figure_row(
    ws: &mut Worksheet,
    r: u32,
    label: &str,
    t: &Tally,
    pct: &Format,
) -> Result<(), SheetError> {
    ws.write_string(r, 0, label)?;
    let counts = [t.tasks, t.closed, t.on_time, t.late, t.overdue];
    for (i, n) in counts.iter().enumerate() {
        ws.write_number(r, 1 + i as u16, *n as f64)?;
    }
    rate(ws, r, 6, t.on_time_rate(), pct)?;
    ws.write_number(r, 7, t.reported as f64)?;
    rate(ws, r, 8, t.reached_rate(), pct)?;
    let codes = [
        t.dissuaded,
        t.defrauded,
        t.cannot_be_found,
        t.not_found_yet,
        t.mismatch,
        t.duplicate,
    ];
    for (i, n) in codes.iter().enumerate() {
        ws.write_number(r, 9 + i as u16, *n as f64)?;
    }
    rate(ws, r, 15, t.dissuasion_rate(), pct)?;
    ws.write_number(r, 16, t.transfers as f64)?;
    Ok(())
}

fn rate(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    value: Option<f64>,
    pct: &Format,
) -> Result<(), SheetError> {
    match value {
        Some(v) => ws.write_number_with_format(r, c, v, pct)?,
        None => ws.write_string(r, c, "—")?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::task_delta::tests::task;
    use crate::report::DailyBuilder;

    #[test]
    fn csv_has_a_bom_the_headers_and_one_line_per_task() {
        let mut b = DailyBuilder::new("2026-12-01", "", 0, 8);
        b.add(&task(), "某村");
        let text = String::from_utf8(csv(&b.finish()).unwrap()).unwrap();
        assert!(text.starts_with('\u{feff}'));
        let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        assert_eq!(r.headers().unwrap().len(), HEADERS.len());
        assert_eq!(r.records().count(), 1);
    }

    #[test]
    fn an_empty_list_still_makes_a_workbook() {
        let list = DailyBuilder::new("2026-12-01", "52", 0, 8).finish();
        let bytes = xlsx(&list).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
