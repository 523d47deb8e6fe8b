//! The fuzzed input paths (issue 10, item 9; issue 12) and what must hold on
//! each. Shared by the libFuzzer targets (`fuzz/fuzz_targets/*.rs` include
//! this file by path) and the property harness (`tests/fuzz_inputs.rs`).
//! Every entry point takes the raw bytes a fuzzer gives, so a libFuzzer
//! artifact replays here unchanged; a broken invariant is a panic.
//!
//! - [`alert_batch`]: bytes → protobuf `AlertBatch` → `pipeline::prepare`.
//! - [`rule_text`]: text → condition parser, checker and `compile_set`, on
//!   a thread with the 2 MiB stack of a tokio worker.
//! - [`division_code`]: `DivisionCode::parse` and `is_valid_prefix`.
//! - [`import_rows`]: CSV → `graph::import::read_rows`, every format.
//! - [`console_json::console_json`]: the web console's JSON request bodies.

#![allow(dead_code)]

pub mod console_json;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use dualwarn::directory::code::is_valid_prefix;
use dualwarn::directory::{CodeError, Directory, DivisionCode};
use dualwarn::graph::FlagSource;
use dualwarn::graph::import::{ImportError, ImportFormat, ImportRow, read_rows};
use dualwarn::model::Alert;
use dualwarn::model::calendar::parse_date;
use dualwarn::model::mask::ECHO_CHARS;
use dualwarn::normalize::{Checks, DEFAULT_MAX_EVENT_AGE_MS};
use dualwarn::pipeline::prepare::{PreparedBatch, prepare};
use dualwarn::proto;
use dualwarn::rules::lang::parse::{MAX_CONDITION_LEN, parse};
use dualwarn::rules::source::{SourceFile, read_dir};
use dualwarn::rules::{RuleError, compile_set};
use prost::Message;

/// The clock of every check: seeds and generated alerts sit just before it.
pub const NOW_MS: i64 = 1_750_000_000_000;
/// Stack of a rule compile: a tokio worker's default, where Validate runs.
pub const RULE_STACK_BYTES: usize = 2 << 20;
/// Lines kept of each bundled list: names must resolve, values barely matter.
const LIST_LINES: usize = 8;
/// Longest rejection reason: `Rejection::new` bounds it to 200 characters,
/// plus the `…(N characters)` tail.
const MAX_REASON_CHARS: usize = 200 + 32;
/// Path of the rule file a fuzzed text goes into.
pub const FUZZ_FILE: &str = "fuzz.toml";

/// The crate root, from the main package's tests or from `fuzz/`.
pub fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    match here.file_name() {
        Some(name) if name == "fuzz" => here.parent().unwrap_or(here).to_path_buf(),
        _ => here.to_path_buf(),
    }
}

/// The bundled directory (`directory/directory.json`), loaded once.
pub static DIRECTORY: LazyLock<Directory> = LazyLock::new(|| {
    Directory::load(&root().join("directory/directory.json")).expect("bundled directory loads")
});

/// Macros a fuzzed rule may name, a few of the bundled ones. No regex: a
/// regex costs a compile per run (a quarter of the time under ASan), and
/// the fuzzed text reaches `.matches(` itself.
const MACROS: &str = r#"
[[macro]]
name = "large_transfer"
condition = 'amount >= 5000'

[[macro]]
name = "elderly"
condition = 'subject.age >= 60'

[[macro]]
name = "night"
condition = 'hour >= 22 || hour < 6'

[[macro]]
name = "app_channel"
condition = 'attr.channel == "app" && !elderly'
"#;

/// The bundled fraud types and (shortened) lists, and [`MACROS`]: what a
/// fuzzed rule may name. The bundled rules are left out, so that a compile
/// stays cheap.
pub static RULE_BASE: LazyLock<Vec<SourceFile>> = LazyLock::new(|| {
    let files = read_dir(&root().join("rules")).expect("bundled rules read");
    let mut base: Vec<SourceFile> = files
        .into_iter()
        .filter_map(|f| match f.path.as_str() {
            "fraud_types.toml" => Some(f),
            p if p.starts_with("lists/") => {
                let lines = f.text.lines().take(LIST_LINES);
                let text = lines.collect::<Vec<_>>().join("\n");
                Some(SourceFile { path: f.path, text })
            }
            _ => None,
        })
        .collect();
    base.push(SourceFile {
        path: "macros.toml".into(),
        text: MACROS.into(),
    });
    base
});

// ---- (a) alert batches -------------------------------------------------------

/// Decodes `data` as an `AlertBatch` and, when it decodes, checks
/// [`prepare`] on it.
pub fn alert_batch(data: &[u8]) {
    if let Ok(batch) = proto::AlertBatch::decode(data) {
        check_prepare(&batch);
    }
}

/// Runs [`prepare`] on `batch` and checks what it gives back: one item or
/// one rejection per alert with its index, short masked reasons, accepted
/// alerts that say what the wire said and replay from their stored record,
/// and the same answer twice.
pub fn check_prepare(batch: &proto::AlertBatch) -> PreparedBatch {
    let checks = Checks::at(NOW_MS);
    let out = prepare(batch, &DIRECTORY, checks);
    assert_eq!(out.sequence, batch.sequence);
    let n = batch.alerts.len();
    assert_eq!(
        out.items.len() + out.rejections.len(),
        n,
        "one outcome per alert"
    );
    let accepted: Vec<u32> = out.items.iter().map(|p| p.index).collect();
    let refused: Vec<u32> = out.rejections.iter().map(|r| r.index).collect();
    assert!(
        accepted.is_sorted() && refused.is_sorted(),
        "batch order kept"
    );
    let all: BTreeSet<u32> = accepted.iter().chain(&refused).copied().collect();
    assert_eq!(all.len(), n, "an index given twice");
    assert!(
        all.iter().all(|&i| (i as usize) < n),
        "index out of the batch"
    );
    for r in &out.rejections {
        check_rejection(r);
    }
    for p in &out.items {
        let wire = &batch.alerts[p.index as usize];
        let a = &p.item.alert;
        assert_eq!(a.occurred_at_ms, wire.occurred_at_ms);
        let accepted = (NOW_MS - DEFAULT_MAX_EVENT_AGE_MS)..=(NOW_MS + 24 * 3600 * 1000);
        assert!(accepted.contains(&a.occurred_at_ms), "{}", a.occurred_at_ms);
        assert_eq!(a.amount_fen, wire.amount_fen);
        assert!(a.amount_fen >= 0);
        assert!(a.counterparts.len() <= wire.counterparts.len());
        assert_eq!(p.item.placement.division_code, a.subject.division);
        let replayed: Alert = dualwarn::store::alert_codec::decode_alert(&a.key.0, &p.stored)
            .expect("stored record reads back");
        assert_eq!(&replayed, a, "stored alert replays as accepted");
        let carried = dualwarn::store::alert_codec::record_digest(&a.key.0, &p.stored, false);
        assert_eq!(carried.expect("record hash"), Some(p.digest));
    }
    let again = prepare(batch, &DIRECTORY, checks);
    assert_eq!(again.rejections, out.rejections, "prepare is deterministic");
    let digests = |b: &PreparedBatch| b.items.iter().map(|p| p.digest).collect::<Vec<_>>();
    assert_eq!(digests(&again), digests(&out), "prepare is deterministic");
    out
}

fn check_rejection(r: &proto::Rejection) {
    assert!(!r.field.is_empty(), "{r:?}");
    assert!(r.field.chars().count() <= 64, "field name too long: {r:?}");
    assert!(
        r.reason.chars().count() <= MAX_REASON_CHARS,
        "reason too long: {r:?}"
    );
    assert!(r.source_id.chars().count() <= ECHO_CHARS + 32, "{r:?}");
    assert_masked(&r.reason);
    assert_masked(&r.source_id);
}

/// No run that may be a mobile number (11 digits from a 1) or an ID or
/// card number (15 or more) is given back unmasked.
pub fn assert_masked(text: &str) {
    let runs = text.split(|c: char| !(c.is_ascii_digit() || c == 'X' || c == 'x'));
    for run in runs {
        // The masker measures a run from its first digit.
        let run = run.trim_start_matches(['X', 'x']);
        let bare = (run.len() == 11 && run.starts_with('1')) || run.len() >= 15;
        assert!(!bare, "unmasked digits {run:?} in {text:?}");
    }
}

// ---- (b) rule text -------------------------------------------------------------

/// Where a fuzzed text goes in a rule set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RulePlace {
    /// A rule's condition.
    Condition,
    /// A window's `when` filter (and `of` of a sum).
    Window,
    /// A macro the rule's condition names.
    Macro,
    /// The whole rule file, TOML and all.
    File,
}

impl RulePlace {
    /// Every place, for a selector byte.
    pub const ALL: [RulePlace; 4] = [
        RulePlace::Condition,
        RulePlace::Window,
        RulePlace::Macro,
        RulePlace::File,
    ];
}

/// The first byte picks the place, the rest is the text (lossy UTF-8).
pub fn rule_bytes(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let place = RulePlace::ALL[usize::from(pick) % RulePlace::ALL.len()];
    rule_text(place, &String::from_utf8_lossy(rest));
}

/// Parses and compiles `text` at `place` on a thread with a 2 MiB stack,
/// so that unbounded recursion shows as a stack overflow, not a pass.
pub fn rule_text(place: RulePlace, text: &str) {
    let text = text.to_string();
    on_small_stack(move || check_rule(place, &text));
}

/// Runs `f` on a thread with [`RULE_STACK_BYTES`] of stack; a panic there
/// is a panic here.
pub fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let thread = std::thread::Builder::new()
        .name("rule-compile".into())
        .stack_size(RULE_STACK_BYTES)
        .spawn(f)
        .expect("spawn compile thread");
    match thread.join() {
        Ok(t) => t,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

fn check_rule(place: RulePlace, text: &str) {
    let parsed = parse(text);
    match &parsed {
        Ok(_) => assert!(text.len() <= MAX_CONDITION_LEN),
        Err(e) => {
            let (start, end) = e.span;
            assert!(
                start <= end && start <= text.len(),
                "span {:?} of {text:?}",
                e.span
            );
            assert!(
                text.is_char_boundary(start),
                "span {:?} of {text:?}",
                e.span
            );
            assert!(!e.message.is_empty());
        }
    }
    let mut files = RULE_BASE.clone();
    files.push(SourceFile {
        path: FUZZ_FILE.into(),
        text: rule_file(place, text),
    });
    match compile_set(&files) {
        Ok(set) => {
            if place != RulePlace::File {
                assert!(
                    parsed.is_ok(),
                    "compiled although the parser refused {text:?}"
                );
                assert!(set.rules.iter().any(|r| r.id == "fuzz"), "rule lost");
            }
        }
        Err(RuleError::Invalid(errors)) => {
            assert!(!errors.is_empty(), "refused without a reason");
            for e in &errors {
                let known =
                    e.starts_with(FUZZ_FILE) || RULE_BASE.iter().any(|f| e.starts_with(&f.path));
                assert!(known, "error names no file: {e}");
            }
        }
        Err(e @ RuleError::Read { .. }) => panic!("in-memory set read from disk: {e}"),
    }
}

/// The rule file holding `text` at `place`.
pub fn rule_file(place: RulePlace, text: &str) -> String {
    let head =
        "[[rule]]\nid = \"fuzz\"\nname = \"fuzz\"\ndescription = \"fuzz\"\nlevel = \"high\"\n";
    let s = toml_string(text);
    match place {
        RulePlace::Condition => format!("{head}condition = {s}\n"),
        RulePlace::Window => format!(
            "{head}condition = 'window.w > 1 && window.s >= 0'\n\
             [[rule.window]]\nname = \"w\"\nkey = \"subject.phone\"\nagg = \"count\"\n\
             duration = \"1h\"\nwhen = {s}\n\
             [[rule.window]]\nname = \"s\"\nkey = \"subject.phone\"\nagg = \"sum\"\n\
             of = {s}\nduration = \"1d\"\n"
        ),
        RulePlace::Macro => format!(
            "[[macro]]\nname = \"fuzz_macro\"\ncondition = {s}\n\n{head}condition = 'fuzz_macro || fuzz_macro'\n"
        ),
        RulePlace::File => text.to_string(),
    }
}

/// `text` as a TOML string: a literal `'…'` when it can be, else a basic
/// string with escapes (whose offsets differ from the text's, as an
/// analyst's file may).
pub fn toml_string(text: &str) -> String {
    if !text.contains('\'') && !text.chars().any(char::is_control) {
        return format!("'{text}'");
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---- (c) division codes ----------------------------------------------------------

/// Checks `DivisionCode::parse` and `is_valid_prefix` on `data` (lossy UTF-8).
pub fn division_code_bytes(data: &[u8]) {
    division_code(&String::from_utf8_lossy(data));
}

/// A code parses exactly when it is 12 ASCII digits with a province in
/// 11..=82, prints back as itself, and its error says what is wrong; a
/// prefix is valid exactly at the level lengths.
pub fn division_code(s: &str) {
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let prefix = is_valid_prefix(s);
    assert_eq!(
        prefix,
        digits && matches!(s.len(), 2 | 4 | 6 | 9 | 12),
        "prefix {s:?}"
    );
    let province = s.get(..2).and_then(|p| p.parse::<u64>().ok());
    match DivisionCode::parse(s) {
        Ok(code) => {
            assert!(digits && s.len() == 12, "accepted {s:?}");
            assert!(matches!(province, Some(11..=82)), "accepted {s:?}");
            assert!(prefix, "a code is a prefix: {s:?}");
            assert_eq!(code.to_string(), s);
            assert_eq!(code.county(), code.as_u64() / 1_000_000);
            assert_eq!(code.township() / 1_000, code.county());
            assert_eq!(code.is_village_level(), !s.ends_with("000"));
            assert_eq!(s.parse::<DivisionCode>(), Ok(code));
        }
        Err(CodeError::WrongLength { got }) => {
            assert_eq!(got, s.chars().count());
            assert_ne!(got, 12);
        }
        Err(CodeError::NotDigit { found, position }) => {
            assert_eq!(s.chars().count(), 12);
            let first = s.chars().position(|c| !c.is_ascii_digit());
            assert_eq!(first.map(|i| i + 1), Some(position), "{s:?}");
            assert_eq!(s.chars().nth(position - 1), Some(found));
        }
        Err(CodeError::BadProvince { province: p }) => {
            assert!(digits && s.len() == 12, "{s:?}");
            assert_eq!(province, Some(p));
            assert!(!(11..=82).contains(&p));
        }
    }
}

// ---- (d) graph import rows ------------------------------------------------------------

/// Every import format, for a selector byte.
pub const FORMATS: [ImportFormat; 6] = [
    ImportFormat::List(FlagSource::Flagged),
    ImportFormat::List(FlagSource::Frozen),
    ImportFormat::List(FlagSource::StopPayment),
    ImportFormat::Cases,
    ImportFormat::Allow,
    ImportFormat::Transactions,
];

/// The first byte picks the format, the rest is the file.
pub fn import_bytes(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    import_rows(FORMATS[usize::from(pick) % FORMATS.len()], rest);
}

/// What one read gave.
#[derive(Debug, Default)]
pub struct ImportCounts {
    /// Rows read, when the file could be read to the end.
    pub read: Option<u64>,
    /// Good rows.
    pub good: u64,
    /// Bad rows.
    pub bad: u64,
}

/// Reads `data` in `format` and checks the answer: every row read is
/// either good or bad, in line order, and a good row is well formed.
pub fn import_rows(format: ImportFormat, data: &[u8]) -> ImportCounts {
    let mut counts = ImportCounts::default();
    let (mut last_good, mut last_bad) = (1u64, 1u64);
    let result = read_rows(
        data,
        format,
        |line, row| {
            assert!(line > last_good, "line {line} after {last_good}");
            last_good = line;
            counts.good += 1;
            check_import_row(format, &row);
        },
        |e| {
            assert!(e.line > last_bad, "line {} after {last_bad}", e.line);
            last_bad = e.line;
            counts.bad += 1;
            assert!(!e.field.is_empty() && !e.why.is_empty(), "{e:?}");
        },
    );
    match result {
        Ok(n) => {
            assert_eq!(counts.good + counts.bad, n, "every row is good or bad");
            counts.read = Some(n);
        }
        Err(ImportError::MissingColumn { .. }) => {
            assert_eq!(counts.good + counts.bad, 0, "rows read without a header");
        }
        Err(ImportError::Csv(_)) => {}
    }
    counts
}

fn check_import_row(format: ImportFormat, row: &ImportRow) {
    match (format, row) {
        (
            ImportFormat::List(_) | ImportFormat::Cases,
            ImportRow::Flag {
                value,
                source,
                reason,
                date,
                ..
            },
        ) => {
            let want = match format {
                ImportFormat::List(s) => s,
                _ => FlagSource::Case,
            };
            assert_eq!(*source, want);
            assert!(!value.is_empty());
            assert!(reason.chars().count() <= 200);
            assert!(
                date.is_empty() || parse_date(date).is_some(),
                "date {date:?}"
            );
        }
        (ImportFormat::Allow, ImportRow::Allow { value, reason, .. }) => {
            assert!(!value.is_empty());
            assert!(reason.chars().count() <= 200);
        }
        (
            ImportFormat::Transactions,
            ImportRow::Transfer {
                from,
                to,
                amount_fen,
                ..
            },
        ) => {
            assert!(!from.1.is_empty() && !to.1.is_empty());
            assert!(*amount_fen >= 0, "amount {amount_fen}");
        }
        (format, row) => panic!("{format:?} gave {row:?}"),
    }
}
