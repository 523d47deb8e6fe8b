//! Fuzzed input paths (issue 10, item 9), on stable in CI: property tests
//! that drive the four fuzz targets of `fuzz/` with generators smarter than
//! random bytes, and a replay of every input that once crashed
//! (`tests/data/fuzz/<target>/`). The invariants live once, in
//! `fuzz_checks`, which the libFuzzer targets include too.
//!
//! `FUZZ_CASES` sets the cases per target (default 2,000), shared out
//! among that target's properties.

mod fuzz_checks;

use std::path::Path;
use std::sync::LazyLock;

use dualwarn::cli::generate::{AlertStream, GenOptions};
use dualwarn::graph::import::ImportFormat;
use dualwarn::proto;
use fuzz_checks::{self as fc, FORMATS, NOW_MS, RulePlace};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use prost::Message;

/// Cases per target unless `FUZZ_CASES` says otherwise.
const DEFAULT_CASES: u32 = 2_000;
/// Alerts in the generated batch the mutations start from.
const BASE_ALERTS: usize = 50;
/// The fuzz target names, which are also the regression folders.
const TARGETS: [&str; 5] = [
    "alert_batch",
    "rule_compile",
    "division_code",
    "import_rows",
    "console_json",
];

/// The config of one of a target's `properties` properties.
fn config(properties: u32) -> ProptestConfig {
    let cases: u32 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases: cases.div_ceil(properties),
        max_shrink_iters: 2_000,
        // A failing input is kept by hand under tests/data/fuzz/<target>/.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- (a) alert batches --------------------------------------------------------

/// A `dualwarn gen` stream of [`BASE_ALERTS`] records ending before [`NOW_MS`].
fn generated_alerts() -> Vec<proto::Alert> {
    let rules = dualwarn::rules::load_dir(&fc::root().join("rules")).expect("bundled rules");
    let opts = GenOptions {
        seed: 7,
        count: BASE_ALERTS,
        victims: 10,
        malformed_rate: 0.05,
        resend_rate: 0.05,
        start_ms: NOW_MS - 2 * 3600 * 1000,
        ..GenOptions::default()
    };
    let stream = AlertStream::new(&fc::DIRECTORY, &rules, &opts).expect("generator starts");
    stream.map(|r| r.to_proto()).collect()
}

/// Encoded batches to mutate: the whole stream, and its first 1 and 5 alerts.
static BASES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let alerts = generated_alerts();
    [BASE_ALERTS, 1, 5]
        .iter()
        .map(|&n| {
            let batch = proto::AlertBatch {
                sequence: n as u64,
                alerts: alerts[..n].to_vec(),
            };
            batch.encode_to_vec()
        })
        .collect()
});

/// Division codes and grids of the directory, so that structured alerts
/// can get past enrich.
static PLACES: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    fc::DIRECTORY
        .villages()
        .iter()
        .step_by(97)
        .map(|v| (v.code.to_string(), v.grids[0].to_string()))
        .collect()
});

/// One edit of an encoded batch.
#[derive(Clone, Debug)]
enum Edit {
    /// Flips one bit.
    Flip(Index, u8),
    /// Inserts a byte.
    Insert(Index, u8),
    /// Deletes up to n bytes.
    Delete(Index, usize),
    /// Overwrites with bytes that mean something to protobuf.
    Overwrite(Index, Vec<u8>),
    /// Copies up to n bytes in place (a field given twice).
    Repeat(Index, usize),
    /// Appends a whole base batch: protobuf merges, the alerts add up.
    Append(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Varint continuation, tags of length-delimited and varint fields,
    // huge lengths.
    let special = prop_oneof![
        Just(vec![0xff]),
        Just(vec![0x80; 9].into_iter().chain([0x01]).collect()),
        Just(vec![0x12, 0xff, 0xff, 0xff, 0x0f]),
        Just(vec![0x0a, 0x00]),
        Just(vec![0x00]),
        prop::collection::vec(any::<u8>(), 1..6),
    ];
    // Low bits and ASCII keep most strings valid UTF-8, so the batch still
    // decodes and the edit reaches normalize.
    prop_oneof![
        4 => (any::<Index>(), 0u8..6).prop_map(|(i, b)| Edit::Flip(i, b)),
        1 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, b)),
        2 => (any::<Index>(), 0x20u8..0x7f).prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => (any::<Index>(), b'0'..=b'9').prop_map(|(i, b)| Edit::Overwrite(i, vec![b])),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        1 => (any::<Index>(), 1usize..32).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => (any::<Index>(), special).prop_map(|(i, b)| Edit::Overwrite(i, b)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Edit::Repeat(i, n)),
        1 => (0..3usize).prop_map(Edit::Append),
    ]
}

fn apply(bytes: &mut Vec<u8>, e: &Edit) {
    if bytes.is_empty() {
        bytes.push(0);
    }
    let len = bytes.len();
    match e {
        Edit::Flip(i, bit) => bytes[i.index(len)] ^= 1 << bit,
        Edit::Insert(i, b) => bytes.insert(i.index(len + 1), *b),
        Edit::Delete(i, n) => {
            let at = i.index(len);
            bytes.drain(at..(at + n).min(len));
        }
        Edit::Overwrite(i, with) => {
            let at = i.index(len);
            for (k, b) in with.iter().enumerate() {
                match bytes.get_mut(at + k) {
                    Some(slot) => *slot = *b,
                    None => bytes.push(*b),
                }
            }
        }
        Edit::Repeat(i, n) => {
            let at = i.index(len);
            let piece = bytes[at..(at + n).min(len)].to_vec();
            bytes.splice(at..at, piece);
        }
        Edit::Append(base) => bytes.extend_from_slice(&BASES[*base]),
    }
}

fn extreme_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9_-]{1,12}",
        "1[3-9][0-9]{9}",
        "[0-9]{15,18}[0-9Xx]?",
        "[0-9]{0,14}",
        "\\PC{0,40}",
        "[\\x00-\\x1f\\x7f]{1,6}",
        Just("a/b".to_string()),
        Just("x".repeat(300)),
        Just("中".repeat(257)),
        Just("13812345678".repeat(3)),
        any::<String>(),
    ]
}

fn extreme_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0),
        Just(-1),
        Just(NOW_MS),
        (NOW_MS - 31 * 86_400_000)..(NOW_MS + 2 * 86_400_000),
        any::<i64>(),
    ]
}

fn enum_value() -> impl Strategy<Value = i32> {
    prop_oneof![0..8i32, any::<i32>()]
}

fn artefact() -> impl Strategy<Value = proto::Artefact> {
    (enum_value(), extreme_string()).prop_map(|(kind, value)| proto::Artefact { kind, value })
}

fn subject() -> impl Strategy<Value = proto::Subject> {
    let place = prop_oneof![
        3 => select(PLACES.clone()).prop_map(|(c, g)| (c, g)),
        1 => (extreme_string(), extreme_string()),
        1 => select(PLACES.clone()).prop_map(|(c, _)| (c, String::new())),
    ];
    (
        extreme_string(),
        extreme_string(),
        extreme_string(),
        place,
        extreme_string(),
        prop_oneof![0u32..120, any::<u32>()],
    )
        .prop_map(
            |(phone, id_hash, name, (code, grid), address, age)| proto::Subject {
                phone,
                id_hash,
                name,
                division_code: code,
                grid_id: grid,
                address,
                age,
            },
        )
}

fn link() -> impl Strategy<Value = proto::Link> {
    (
        enum_value(),
        prop::option::of(artefact()),
        prop::option::of(artefact()),
        extreme_i64(),
        extreme_i64(),
    )
        .prop_map(|(kind, from, to, amount_fen, at_ms)| proto::Link {
            kind,
            from,
            to,
            amount_fen,
            at_ms,
        })
}

fn alert() -> impl Strategy<Value = proto::Alert> {
    // Mostly a few, sometimes at and past the limits (64 artefacts, 32 attributes).
    let many = |limit: usize| prop_oneof![12 => 0..3usize, 1 => (limit - 2)..(limit + 3)];
    (
        (
            extreme_string(),
            extreme_string(),
            enum_value(),
            extreme_i64(),
        ),
        prop::option::weighted(0.9, subject()),
        many(64).prop_flat_map(|n| prop::collection::vec(artefact(), n)),
        many(64).prop_flat_map(|n| prop::collection::vec(link(), n)),
        (extreme_i64(), extreme_string()),
        many(32).prop_flat_map(|n| prop::collection::vec((extreme_string(), extreme_string()), n)),
    )
        .prop_map(
            |((source, source_id, kind, at), subject, counterparts, links, (fen, hint), attrs)| {
                proto::Alert {
                    source,
                    source_id,
                    source_kind: kind,
                    occurred_at_ms: at,
                    subject,
                    counterparts,
                    links,
                    amount_fen: fen,
                    fraud_type_hint: hint,
                    // Keys made distinct, so that a map can pass the limit of 32.
                    attributes: attrs
                        .into_iter()
                        .enumerate()
                        .map(|(i, (k, v))| {
                            if i == 0 {
                                (k, v)
                            } else {
                                (format!("{k}{i}"), v)
                            }
                        })
                        .collect(),
                }
            },
        )
}

proptest! {
    #![proptest_config(config(3))]

    #[test]
    fn mutated_batches_decode_or_are_refused_and_prepare_keeps_every_index(
        base in 0..3usize,
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        let mut bytes = BASES[base].clone();
        for e in &edits {
            apply(&mut bytes, e);
        }
        fc::alert_batch(&bytes);
    }

    #[test]
    fn random_bytes_never_panic_decode_or_prepare(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        fc::alert_batch(&bytes);
    }

    #[test]
    fn extreme_alerts_get_one_item_or_rejection_each(
        sequence in any::<u64>(),
        alerts in prop::collection::vec(alert(), 0..4),
    ) {
        let batch = proto::AlertBatch { sequence, alerts };
        fc::check_prepare(&batch);
        fc::alert_batch(&batch.encode_to_vec());
    }
}

#[test]
fn generated_batch_is_mostly_accepted() {
    // The mutations start from a batch that reaches enrich and beyond:
    // without this the whole property could test only rejections.
    let batch = proto::AlertBatch::decode(BASES[0].as_slice()).unwrap();
    let out = fc::check_prepare(&batch);
    assert!(
        out.items.len() >= BASE_ALERTS * 8 / 10,
        "{:?}",
        out.rejections
    );
}

#[test]
fn one_edit_mostly_leaves_a_batch_that_decodes() {
    // Edits that always broke the framing would test only the decoder.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut decoded, mut accepted) = (0, 0);
    for _ in 0..200 {
        let e = edit().new_tree(&mut runner).unwrap().current();
        let mut bytes = BASES[0].clone();
        apply(&mut bytes, &e);
        if let Ok(batch) = proto::AlertBatch::decode(bytes.as_slice()) {
            decoded += 1;
            accepted += usize::from(!fc::check_prepare(&batch).items.is_empty());
        }
    }
    assert!(
        decoded >= 40 && accepted >= 20,
        "{decoded} decoded, {accepted} with items"
    );
}

// ---- (b) rule text -----------------------------------------------------------------

/// Words, operators and literals of the rule language, and some it lacks.
static TOKENS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut t: Vec<String> = dualwarn::rules::lang::functions::field_names()
        .map(str::to_string)
        .collect();
    t.extend(function_names().iter().map(|f| format!("{f}(")));
    let words = [
        "in",
        "true",
        "false",
        "counterpart.phone",
        "counterpart.bank_card",
        "counterpart.app",
        "counterpart.nope",
        "attr.channel",
        "window.w",
        "window.s",
        "window.nope",
        "elderly",
        "night",
        "app_channel",
        "large_transfer",
        "fuzz_macro",
        "@flagged_cards",
        "@flagged_phones",
        "@allow_apps",
        "@nope",
        "@",
        ".starts_with(",
        ".ends_with(",
        ".contains(",
        ".matches(",
        ".nope(",
        "&&",
        "||",
        "!",
        "==",
        "!=",
        "<=",
        ">=",
        "<",
        ">",
        "+",
        "-",
        "*",
        "/",
        "(",
        ")",
        "[",
        "]",
        ",",
        ".",
        "0",
        "1",
        "2.5",
        "99999999999999999999999",
        "1e5",
        "-0",
        "\"a\"",
        "\"7d\"",
        "\"0s\"",
        "\"999999999d\"",
        "\"\"",
        "\"\\\"\"",
        "\"\\u{1F600}\"",
        "\"[\"",
        "\"(a+)+$\"",
        "\"中文\"",
        "\"",
        "'",
        "\\",
        " ",
        "\n",
        "\t",
        "中",
        "é",
        "\u{200b}",
        "#",
        "=",
    ];
    t.extend(words.iter().map(|w| w.to_string()));
    t
});

fn function_names() -> Vec<&'static str> {
    dualwarn::rules::lang::functions::FUNCTIONS
        .iter()
        .map(|f| f.name)
        .collect()
}

/// A well-formed condition (most of them wrongly typed) to reach the checker.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        select(TOKENS.clone()).prop_filter("a leaf", |t| {
            t.chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '@' || c == '"')
                && !t.ends_with('(')
        }),
        (0u32..100_000).prop_map(|n| n.to_string()),
        "\"[a-z0-9 ]{0,6}\"",
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        let op = select(vec![
            "&&", "||", "==", "!=", "<", ">=", "+", "-", "*", "/", "in",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
            inner.clone().prop_map(|a| format!("!({a})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("({a})")),
            (
                inner.clone(),
                select(vec!["starts_with", "matches", "contains"]),
                inner.clone()
            )
                .prop_map(|(a, m, b)| format!("{a}.{m}({b})")),
            (
                select(function_names()),
                prop::collection::vec(inner.clone(), 0..3)
            )
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            (
                inner.clone(),
                prop::collection::vec("\"[a-z]{0,3}\"|[0-9]{1,3}", 0..4)
            )
                .prop_map(|(a, set)| format!("{a} in [{}]", set.join(", "))),
        ]
    })
}

/// Repeats at and around the parser's limits (nesting 48, 64 operators).
fn long_chain() -> impl Strategy<Value = String> {
    let n = prop_oneof![0usize..8, 40usize..72, 100usize..3000];
    (n, 0..7u8).prop_map(|(n, shape)| match shape {
        0 => format!("{}amount > 1{}", "(".repeat(n), ")".repeat(n)),
        1 => format!("{}true", "!".repeat(n)),
        2 => format!("amount > {}1", "-".repeat(n)),
        3 => format!("amount > 1{}", " + 1".repeat(n)),
        4 => vec!["hour > 1"; n.max(1)].join(" && "),
        5 => format!("amount in [{}]", vec!["1"; n].join(",")),
        _ => format!("{}amount > 1", "( ! ".repeat(n)),
    })
}

fn rule_input() -> impl Strategy<Value = String> {
    let soup = prop::collection::vec(select(TOKENS.clone()), 0..40).prop_map(|t| t.join(" "));
    let tight = prop::collection::vec(select(TOKENS.clone()), 0..40).prop_map(|t| t.concat());
    prop_oneof![3 => soup, 1 => tight, 3 => expression(), 2 => long_chain(), 1 => "\\PC{0,64}"]
}

fn place() -> impl Strategy<Value = RulePlace> {
    prop_oneof![
        4 => Just(RulePlace::Condition),
        2 => Just(RulePlace::Window),
        2 => Just(RulePlace::Macro),
        1 => Just(RulePlace::File),
    ]
}

/// Rule-file shaped text: keys and tables of the real format around a text.
fn rule_file_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("[[rule]]".to_string()),
        Just("[[macro]]".to_string()),
        Just("[[rule.window]]".to_string()),
        Just("[rule.task]".to_string()),
        Just("id = \"r\"".to_string()),
        Just("name = \"n\"\ndescription = \"d\"".to_string()),
        Just("level = \"high\"".to_string()),
        Just("level = \"nope\"".to_string()),
        Just("score = 101".to_string()),
        Just("due_within = \"-1s\"".to_string()),
        Just("duration = \"0s\"".to_string()),
        Just("agg = \"distinct\"".to_string()),
        rule_input().prop_map(|c| format!("condition = {}", fc::toml_string(&c))),
        rule_input().prop_map(|c| format!("key = {}", fc::toml_string(&c))),
        "\\PC{0,20}",
    ];
    prop::collection::vec(line, 0..14).prop_map(|l| l.join("\n"))
}

proptest! {
    #![proptest_config(config(2))]

    #[test]
    fn any_condition_compiles_or_gives_an_error(place in place(), text in rule_input()) {
        fc::rule_text(place, &text);
    }

    #[test]
    fn any_rule_file_compiles_or_gives_an_error(text in rule_file_text()) {
        fc::rule_text(RulePlace::File, &text);
    }
}

#[test]
fn valid_conditions_still_compile() {
    // A harness that refused everything would pass the properties above.
    for text in [
        "amount >= 5000 && elderly",
        "counterpart.bank_card in @flagged_cards",
    ] {
        let mut files = fc::RULE_BASE.clone();
        files.push(dualwarn::rules::source::SourceFile {
            path: fc::FUZZ_FILE.into(),
            text: fc::rule_file(RulePlace::Condition, text),
        });
        assert!(dualwarn::rules::compile_set(&files).is_ok(), "{text}");
    }
}

// ---- (c) division codes --------------------------------------------------------------

fn code_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,20}",
        "[1-8][0-9]{11}",
        "[0-9a-zA-Z ]{0,20}",
        "[0-9０-９٠-٩]{0,14}",
        "[0-9]{2,12}[\\PC]",
        "\\PC{0,20}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config(2))]

    #[test]
    fn division_codes_and_prefixes_parse_only_at_their_shapes(s in code_text()) {
        fc::division_code(&s);
    }

    #[test]
    fn division_code_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..24)) {
        fc::division_code_bytes(&b);
    }
}

// ---- (d) graph import rows --------------------------------------------------------------

const COLUMNS: [&str; 16] = [
    "kind",
    "value",
    "reason",
    "date",
    "case_id",
    "from",
    "to",
    "amount",
    "at",
    "from_kind",
    "to_kind",
    "orig_acct",
    "bene_acct",
    "base_amt",
    "tran_timestamp",
    " Value ",
];

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "phone",
            "bank_card",
            "url",
            "app",
            "social_account",
            "device",
            "ip",
            "Phone",
            "nope",
            ""
        ])
        .prop_map(str::to_string),
        "[0-9]{5,19}",
        "-?[0-9]{1,16}(\\.[0-9]{1,3})?",
        select(vec!["NaN", "inf", "1e20", "-0", "0.005", "999999999999999"])
            .prop_map(str::to_string),
        select(vec![
            "2017-01-01T00:00:00Z",
            "2017-01-01T00:00:00",
            "-1",
            "9223372036854775807",
            "9999-99-99"
        ])
        .prop_map(str::to_string),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "[0-9]{1,20}",
        select(vec!["\"a,b\"", "\"unterminated", "\"\"", "\"x\"\"y\"", " "])
            .prop_map(str::to_string),
        "\\PC{0,12}",
    ]
}

/// A CSV with a header of real column names and rows of likely values.
fn csv_file() -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>, bool)> {
    (
        prop::collection::vec(select(COLUMNS.to_vec()).prop_map(str::to_string), 1..8),
        prop::collection::vec(prop::collection::vec(cell(), 0..8), 0..24),
        any::<bool>(),
    )
}

/// True when `header` has every column `format` needs.
fn has_required(format: ImportFormat, header: &[String]) -> bool {
    let has = |names: &[&str]| {
        header
            .iter()
            .any(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    match format {
        ImportFormat::List(_) | ImportFormat::Allow => has(&["kind"]) && has(&["value"]),
        ImportFormat::Cases => has(&["case_id"]) && has(&["kind"]) && has(&["value"]),
        ImportFormat::Transactions => {
            has(&["from", "orig_acct"])
                && has(&["to", "bene_acct"])
                && has(&["amount", "base_amt"])
                && has(&["at", "tran_timestamp"])
        }
    }
}

proptest! {
    #![proptest_config(config(2))]

    #[test]
    fn import_rows_are_each_good_or_bad_in_every_format(
        format in select(FORMATS.to_vec()),
        (header, rows, crlf) in csv_file(),
        tail in prop::collection::vec(any::<u8>(), 0..4),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut text = header.join(",");
        for r in &rows {
            text.push_str(nl);
            text.push_str(&r.join(","));
        }
        let clean = !text.contains('"');
        let mut data = text.into_bytes();
        data.extend_from_slice(&tail);
        let counts = fc::import_rows(format, &data);
        // A well-formed file with the needed columns is read to the end.
        if clean && tail.is_empty() && has_required(format, &header) {
            prop_assert!(counts.read.is_some(), "{counts:?}");
        }
    }

    #[test]
    fn import_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..256)) {
        fc::import_bytes(&b);
    }
}

// ---- regressions ---------------------------------------------------------------------

/// Feeds `data` to the entry point of fuzz target `target`.
fn run_target(target: &str, data: &[u8]) {
    match target {
        "alert_batch" => fc::alert_batch(data),
        "rule_compile" => fc::rule_bytes(data),
        "division_code" => fc::division_code_bytes(data),
        "import_rows" => fc::import_bytes(data),
        "console_json" => fc::console_json::console_json(data),
        other => panic!("no fuzz target {other}"),
    }
}

#[test]
fn every_input_that_once_crashed_now_passes() {
    let root = fc::root().join("tests/data/fuzz");
    for target in TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths.iter().filter(|p| p.is_file()) {
            let data = std::fs::read(path).unwrap();
            let name = path.display().to_string();
            let outcome = std::panic::catch_unwind(|| run_target(target, &data));
            assert!(outcome.is_ok(), "{name} crashes {target} again");
        }
    }
}

// ---- seed corpus -----------------------------------------------------------------------

/// Writes `fuzz/seeds/<target>/`: `cargo test --test fuzz_inputs -- --ignored`.
#[test]
#[ignore = "writes the committed seed corpus of fuzz/"]
fn write_seed_corpus() {
    let seeds = fc::root().join("fuzz/seeds");
    let put = |target: &str, name: &str, data: &[u8]| {
        let dir = seeds.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    };
    for (i, b) in BASES.iter().enumerate() {
        put("alert_batch", &format!("gen-{i}.pb"), b);
    }
    for (i, text) in bundled_conditions().iter().enumerate() {
        put(
            "rule_compile",
            &format!("cond-{i:03}"),
            &[&[0u8][..], text.as_bytes()].concat(),
        );
    }
    let core = std::fs::read(fc::root().join("rules/core.toml")).unwrap();
    put("rule_compile", "file-core", &[&[3u8][..], &core].concat());
    for (i, v) in PLACES.iter().take(8).enumerate() {
        put("division_code", &format!("code-{i}"), v.0.as_bytes());
        put(
            "division_code",
            &format!("prefix-{i}"),
            &v.0.as_bytes()[..2 + 2 * (i % 3)],
        );
    }
    for (i, text) in import_samples().iter().enumerate() {
        put("import_rows", &format!("rows-{i}"), text);
    }
}

/// Every condition, `when` and `of` of the bundled rule files.
fn bundled_conditions() -> Vec<String> {
    let mut out = Vec::new();
    for file in ["core.toml", "macros.toml", "patterns.toml", "types.toml"] {
        let text = std::fs::read_to_string(fc::root().join("rules").join(file)).unwrap();
        let value: toml::Table = toml::from_str(&text).unwrap();
        collect_conditions(&toml::Value::Table(value), &mut out);
    }
    out.sort();
    out.dedup();
    out
}

fn collect_conditions(v: &toml::Value, out: &mut Vec<String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                match (k.as_str(), v) {
                    ("condition" | "when" | "of", toml::Value::String(s)) => out.push(s.clone()),
                    _ => collect_conditions(v, out),
                }
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|v| collect_conditions(v, out)),
        _ => {}
    }
}

/// A few lines of each import format, with the format's selector byte.
fn import_samples() -> Vec<Vec<u8>> {
    let amlsim =
        std::fs::read_to_string(Path::new(&fc::root()).join("tests/data/amlsim/transactions.csv"))
            .unwrap();
    let head: String = amlsim.lines().take(12).map(|l| format!("{l}\n")).collect();
    let samples: [(u8, &str); 6] = [
        (
            0,
            "kind,value,reason,date\nbank_card,6222020200112233445,涉诈名单,2024-03-01\nphone,13800000000,,\n",
        ),
        (1, "kind,value\nbank_card,6222 0202 0011 2233 445\n"),
        (
            3,
            "case_id,kind,value,date\nA2024-17,phone,+86 138 0000 0000,2024-02-29\n",
        ),
        (
            4,
            "kind,value,reason\nbank_card,6222020200112233445,贵阳水务 水费代收\n",
        ),
        (
            5,
            "from,to,amount,at\n6222020200112233445,6222020200112233446,1200.50,2024-03-01T10:00:00Z\n",
        ),
        (5, &head),
    ];
    samples
        .iter()
        .map(|(pick, text)| [&[*pick][..], text.as_bytes()].concat())
        .collect()
}
