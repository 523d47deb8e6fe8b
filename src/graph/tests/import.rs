//! Bulk files: parsing each format, reporting bad rows, applying rows.

use petgraph::Direction::Incoming;

use super::*;
use crate::graph::import::{ImportError, ImportFormat, ImportRow, RowError, read_rows};
use crate::model::calendar::days_from_civil;

/// Good rows with their lines, bad rows, and the count `read_rows` returned.
fn parse(format: ImportFormat, text: &str) -> (Vec<(u64, ImportRow)>, Vec<RowError>, u64) {
    let (mut rows, mut bad) = (Vec::new(), Vec::new());
    let n = read_rows(
        text.as_bytes(),
        format,
        |line, r| rows.push((line, r)),
        |e| bad.push(e),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (rows, bad, n)
}

fn flag(
    kind: ArtefactKind,
    value: &str,
    source: FlagSource,
    reason: &str,
    date: &str,
) -> ImportRow {
    ImportRow::Flag {
        kind,
        value: value.into(),
        source,
        reason: reason.into(),
        date: date.into(),
    }
}

fn transfer_row(
    from: (ArtefactKind, &str),
    to: (ArtefactKind, &str),
    fen: i64,
    at_ms: i64,
) -> ImportRow {
    ImportRow::Transfer {
        from: (from.0, from.1.into()),
        to: (to.0, to.1.into()),
        amount_fen: fen,
        at_ms,
    }
}

/// (line, field, value) of each bad row.
fn where_bad(bad: &[RowError]) -> Vec<(u64, &str, &str)> {
    bad.iter()
        .map(|e| (e.line, e.field.as_str(), e.value.as_str()))
        .collect()
}

#[test]
fn list_rows_are_normalized_and_flagged_from_the_list_source() {
    let text = "kind,value,reason,date\n\
        phone,+86 138 1234 5678,电诈专号,2026-03-02\n\
        bank_card,6222 0200 1234 1234,,\n\
        url,BaoDa915.XYZ,钓鱼网站,\n\
        pager,12345,x,\n\
        bank_card,,empty,\n\
        phone,13800000000,bad date,2026/03/02\n";
    let (rows, bad, n) = parse(ImportFormat::List(FlagSource::Frozen), text);
    let frozen = FlagSource::Frozen;
    assert_eq!(
        rows,
        vec![
            (
                2,
                flag(
                    ArtefactKind::Phone,
                    SUBJECT,
                    frozen,
                    "电诈专号",
                    "2026-03-02"
                )
            ),
            (3, flag(ArtefactKind::BankCard, CARD_A, frozen, "", "")),
            (
                4,
                flag(ArtefactKind::Url, "baoda915.xyz", frozen, "钓鱼网站", "")
            ),
        ]
    );
    assert_eq!(
        where_bad(&bad),
        vec![
            (5, "kind", "pager"),
            (6, "value", ""),
            (7, "date", "2026/03/02")
        ]
    );
    assert_eq!(n, 6);
    assert!(
        bad[0]
            .to_string()
            .starts_with("line 5: kind \"pager\": not a kind"),
        "{}",
        bad[0]
    );
}

#[test]
fn list_needs_only_kind_and_value_columns() {
    let (rows, bad, _) = parse(
        ImportFormat::List(FlagSource::StopPayment),
        "value,kind\n6217000099998888,bank_card\n",
    );
    assert!(bad.is_empty(), "{bad:?}");
    let stop = FlagSource::StopPayment;
    assert_eq!(
        rows,
        vec![(2, flag(ArtefactKind::BankCard, CARD_B, stop, "", ""))]
    );
}

#[test]
fn case_rows_flag_with_the_case_id_as_reason() {
    let text = " Value , KIND ,case_id,date\n\
        6217000099998888,bank_card,A5201022026030001,2026-03-01\n\
        DEV-1,device,A5201022026030002,\n\
        x,phone,A5201022026030003,03-01-2026\n";
    let (rows, bad, n) = parse(ImportFormat::Cases, text);
    let case = FlagSource::Case;
    assert_eq!(
        rows,
        vec![
            (
                2,
                flag(
                    ArtefactKind::BankCard,
                    CARD_B,
                    case,
                    "A5201022026030001",
                    "2026-03-01"
                )
            ),
            (
                3,
                flag(ArtefactKind::Device, "dev-1", case, "A5201022026030002", "")
            ),
        ]
    );
    assert_eq!(where_bad(&bad), vec![(4, "date", "03-01-2026")]);
    assert_eq!(n, 3);
}

#[test]
fn transaction_rows_read_yuan_times_and_kinds() {
    let text = "from,to,amount,at,from_kind,to_kind\n\
        6222020012341234,6217000099998888,5000.50,2026-03-02T01:00:00Z,,\n\
        13812345678,6217000099998888,1,1772416800,phone,\n\
        6222020012341234,6217000099998888,-3,2026-03-02T01:00:00Z,,\n\
        6222020012341234,6217000099998888,12,yesterday,,\n\
        6222020012341234,6217000099998888,12,1772416800,pager,\n\
        6222020012341234,6217000099998888,NaN,1772416800,,\n";
    let (rows, bad, n) = parse(ImportFormat::Transactions, text);
    let card = ArtefactKind::BankCard;
    let at = days_from_civil(2026, 3, 2) * DAY_MS + HOUR_MS;
    assert_eq!(
        rows,
        vec![
            (2, transfer_row((card, CARD_A), (card, CARD_B), 500_050, at)),
            (
                3,
                transfer_row((ArtefactKind::Phone, SUBJECT), (card, CARD_B), 100, T0)
            ),
        ]
    );
    assert_eq!(
        where_bad(&bad),
        vec![
            (4, "amount", "-3"),
            (5, "at", "yesterday"),
            (6, "from_kind", "pager"),
            (7, "amount", "NaN"),
        ]
    );
    assert_eq!(n, 6);
}

#[test]
fn amlsim_transactions_header_is_read() {
    let text = "tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,is_sar,alert_id\n\
        1,2,7,TRANSFER,465.05,2017-01-01T00:00:00Z,False,-1\n\
        2,63,45,TRANSFER,,2017-01-01T00:00:00Z,True,12\n\
        3,,45,TRANSFER,10,2017-01-01T00:00:00Z,False,-1\n\
        4,63,45,TRANSFER,10,2017-01-32T00:00:00Z,False,-1\n";
    let (rows, bad, n) = parse(ImportFormat::Transactions, text);
    let card = ArtefactKind::BankCard;
    let jan_first_2017_ms = 1_483_228_800_000;
    assert_eq!(
        rows,
        vec![(
            2,
            transfer_row((card, "2"), (card, "7"), 46_505, jan_first_2017_ms)
        )]
    );
    assert_eq!(
        where_bad(&bad),
        vec![
            (3, "amount", ""),
            (4, "from", ""),
            (5, "at", "2017-01-32T00:00:00Z")
        ]
    );
    assert_eq!(n, 4);
}

#[test]
fn bad_row_after_a_multi_line_field_names_its_own_line() {
    let text = "kind,value,reason\nphone,13812345678,\"two\nlines\"\npager,1,x\n";
    let (rows, bad, n) = parse(ImportFormat::List(FlagSource::Flagged), text);
    assert_eq!(rows.len(), 1);
    assert_eq!(where_bad(&bad), vec![(4, "kind", "pager")]);
    assert_eq!(n, 2);
}

/// Gives one byte per read, so that a CRLF is split across reads.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let Some((&b, rest)) = self.0.split_first() else {
            return Ok(0);
        };
        out[0] = b;
        self.0 = rest;
        Ok(1)
    }
}

#[test]
fn crlf_and_cr_files_name_the_same_lines_as_lf_files() {
    let lf = "kind,value\nphone,13812345678\npager,1\npager,2\n";
    let lines = |text: &str| {
        let mut bad = Vec::new();
        let list = ImportFormat::List(FlagSource::Flagged);
        let n = read_rows(
            Trickle(text.as_bytes()),
            list,
            |_, _| {},
            |e| bad.push(e.line),
        )
        .unwrap();
        (bad, n)
    };
    assert_eq!(lines(lf), (vec![3, 4], 3));
    assert_eq!(lines(&lf.replace('\n', "\r\n")), (vec![3, 4], 3));
    assert_eq!(lines(&lf.replace('\n', "\r")), (vec![3, 4], 3));
}

#[test]
fn header_without_a_needed_column_is_refused() {
    let refused = |format, text: &str| match read_rows(text.as_bytes(), format, |_, _| {}, |_| {}) {
        Err(ImportError::MissingColumn { missing, found }) => (missing, found),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        refused(ImportFormat::Transactions, "from,to,amount\n1,2,3\n"),
        (
            "at or tran_timestamp".to_string(),
            "from,to,amount".to_string()
        )
    );
    let list = ImportFormat::List(FlagSource::Flagged);
    assert_eq!(refused(list, "kind,reason\n").0, "value");
    assert_eq!(refused(ImportFormat::Cases, "kind,value\n").0, "case_id");
}

#[test]
fn applied_transfers_join_accounts_and_count_as_fan_in() {
    let text = "tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,is_sar,alert_id\n\
        1,2,7,TRANSFER,10,2017-01-01T00:00:00Z,False,-1\n\
        2,3,7,TRANSFER,20,2017-01-01T00:00:00Z,False,-1\n\
        3,2,7,TRANSFER,30,2017-01-02T00:00:00Z,False,-1\n";
    let (rows, _, _) = parse(ImportFormat::Transactions, text);
    let mut g = graph();
    for (_, r) in &rows {
        g.apply(r);
    }
    assert_eq!((g.node_count(), g.link_count()), (3, 2));
    let seven = g.find(NodeKind::BankCard, "7").unwrap();
    assert_eq!(g.fan(seven, Incoming, 0), 2);
    assert_eq!(g.fan(seven, Incoming, 1_483_228_800 + 3600), 1);
    let two = g.find(NodeKind::BankCard, "2").unwrap();
    let link = g.g.find_edge(two, seven).unwrap();
    assert_eq!((g.g[link].amount_fen, g.g[link].count), (4_000, 2));
    assert_eq!(
        g.node_of(ArtefactKind::BankCard, "2"),
        Some(NodeRef::new(NodeKind::BankCard, "2"))
    );
    assert_eq!(g.node_of(ArtefactKind::Phone, "2"), None);
}

#[test]
fn frozen_import_ends_the_explanation_with_the_freeze_date() {
    let (mut g, paid) = paid_card_then_layered(&[]);
    let text = format!("kind,value,reason,date\nbank_card,{CARD_B},,2026-03-02\n");
    let (rows, bad, _) = parse(ImportFormat::List(FlagSource::Frozen), &text);
    assert!(bad.is_empty(), "{bad:?}");
    for (_, r) in &rows {
        g.apply(r);
    }
    let (hops, path) = g.hops_to_flagged(&paid, 3).unwrap();
    assert_eq!(hops, 2);
    let text = describe_path(&path);
    assert_eq!(
        text,
        "本人手机 138****5678 → 转账 ¥5,000.00 → 银行卡 6222****1234 → 转账 ¥3,000.00 → 银行卡 6217****8888 (冻结 2026-03-02)"
    );
    for raw in [SUBJECT, CARD_A, CARD_B] {
        assert!(!text.contains(raw), "{raw} shown unmasked in {text}");
    }
}

#[test]
fn imported_note_wins_over_a_list_on_the_explanation() {
    let (mut g, paid) = paid_card_then_layered(&[(&card(CARD_A), "flagged_cards")]);
    let a = g.find(NodeKind::BankCard, CARD_A).unwrap();
    g.set_note(
        a,
        FlagNote {
            source: FlagSource::Case,
            reason: "A5201022026030001".into(),
            date: "2026-03-01".into(),
            at_s: 0,
        },
    );
    let (_, path) = g.hops_to_flagged(&paid, 3).unwrap();
    assert!(
        describe_path(&path).ends_with("(已立案 2026-03-01: A5201022026030001)"),
        "{path:?}"
    );
}
