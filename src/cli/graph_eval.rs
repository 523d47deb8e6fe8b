//! `dualwarn graph eval-amlsim`: how well graph rules find the laundering
//! groups IBM's AMLSim simulator planted — labels nobody on the team wrote.
//! A tool beside the flow, not a stage of it: it replays `transactions.csv`
//! in timestamp order into a [`LinkGraph`] through the import path
//! ([`read_rows`] + [`LinkGraph::apply`], as `dualwarn graph import --kind
//! transactions` does), and after each transfer matches one synthetic bank
//! alert per card — the receiving card, then the paying card, each as the
//! alert's only counterpart — with the real [`Matcher`] at the transfer's
//! time. A rule that fires flags that card. The flagged cards are scored
//! against `alert_accounts.csv` (group recall by type, account precision).
//!
//! The synthetic alerts are matched, never observed: observing them would
//! add a transfer from the placeholder subject's phone to every card and
//! count that phone as one more payer.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::DEFAULT_UTC_OFFSET_HOURS;
use crate::directory::DivisionCode;
use crate::graph::import::{ImportFormat, ImportRow, read_rows};
use crate::graph::{GraphLimits, LinkGraph};
use crate::model::{Alert, AlertKey, Artefact, ArtefactKind, SourceKind, Subject};
use crate::normalize::normalize_artefact_value;
use crate::rules::source::SourceFile;
use crate::rules::window::WindowLimits;
use crate::rules::{Matcher, RuleSet, compile_set};

/// The transfers, inside the data directory.
pub const TRANSACTIONS_FILE: &str = "transactions.csv";
/// The ground truth, inside the data directory.
pub const ALERT_ACCOUNTS_FILE: &str = "alert_accounts.csv";
/// The rules, inside the data directory unless `--rules` says otherwise.
pub const RULES_FILE: &str = "rules.toml";
/// Group types the fan rules look for; their recall is also given together.
pub const MULE_TYPES: [&str; 2] = ["fan_in", "fan_out"];
/// Village of the synthetic alerts' placeholder subject (纪念塔社区, 贵阳市).
const PROBE_DIVISION: &str = "520102016001";
/// Phone of the placeholder subject; it never enters the graph.
const PROBE_PHONE: &str = "10000000000";

/// What to evaluate.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// Directory holding `transactions.csv` and `alert_accounts.csv`.
    pub data: PathBuf,
    /// The rule file (one `*.toml` of the rule language).
    pub rules: PathBuf,
    /// Replay only the first N transfers in timestamp order (all when `None`).
    pub limit: Option<usize>,
}

/// Groups of one type, and how many of them had an account flagged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupsHit {
    /// `alert_type` of the ground truth: `fan_in`, `fan_out`, `cycle`.
    pub kind: String,
    /// Groups with at least one flagged account.
    pub hit: usize,
    /// Groups of this type.
    pub total: usize,
}

/// What one rule, or all rules together, flagged and how it scores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleFigures {
    /// Rule id, or `any rule` for the union (whose condition is empty).
    pub rule_id: String,
    /// The condition as written (top-level parts joined by `&&`).
    pub condition: String,
    /// Distinct accounts flagged.
    pub flagged: usize,
    /// Of those, accounts of any planted group.
    pub in_groups: usize,
    /// Group recall by type, in the order the ground truth first names them.
    pub groups: Vec<GroupsHit>,
}

impl RuleFigures {
    /// Flagged accounts that belong to a planted group, over all flagged (0 when none).
    pub fn precision(&self) -> f64 {
        ratio(self.in_groups, self.flagged)
    }

    /// Groups hit over groups, over the given types together.
    pub fn recall(&self, kinds: &[&str]) -> f64 {
        let of = |k: &GroupsHit| kinds.contains(&k.kind.as_str());
        let hit = self.groups.iter().filter(|g| of(g)).map(|g| g.hit).sum();
        let total = self.groups.iter().filter(|g| of(g)).map(|g| g.total).sum();
        ratio(hit, total)
    }
}

/// Everything one evaluation measured.
#[derive(Clone, Debug)]
pub struct EvalReport {
    /// Transfers replayed.
    pub transfers: usize,
    /// Rows the importer refused.
    pub bad_rows: usize,
    /// Accounts (nodes) in the graph at the end.
    pub accounts: usize,
    /// Links in the graph at the end.
    pub links: usize,
    /// Links dropped at the degree cap (0 means the caps never bit).
    pub capped_links: u64,
    /// Accounts of the planted groups.
    pub planted_accounts: usize,
    /// One line per enabled rule, in file order.
    pub rules: Vec<RuleFigures>,
    /// Accounts flagged by any rule.
    pub any: RuleFigures,
    /// The rule compiler's warnings.
    pub warnings: Vec<String>,
    /// Replay time (reading and sorting included).
    pub elapsed: Duration,
}

/// The planted groups of `alert_accounts.csv`.
struct PlantedGroups {
    /// `alert_type` of each group, by group index.
    kinds: Vec<String>,
    /// Account → its group index.
    group_of: HashMap<String, usize>,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Replays the data set against the rules and scores what they flagged.
pub fn evaluate(opts: &EvalOptions) -> anyhow::Result<EvalReport> {
    let started = Instant::now();
    let rules = Arc::new(load_rules(&opts.rules)?);
    let planted = read_planted(&opts.data.join(ALERT_ACCOUNTS_FILE))?;
    let (mut rows, bad_rows) = read_transfers(&opts.data.join(TRANSACTIONS_FILE))?;
    rows.truncate(opts.limit.unwrap_or(usize::MAX));
    let (graph, flagged) = replay(&rows, &rules)?;
    let enabled = rules.rules.iter().zip(&flagged).filter(|(r, _)| r.enabled);
    let figures = enabled
        .map(|(r, cards)| {
            let parts: Vec<&str> = r.conjuncts.iter().map(|(t, _)| t.as_str()).collect();
            score(&r.id, &parts.join(" && "), cards, &planted)
        })
        .collect();
    let all: HashSet<String> = flagged.into_iter().flatten().collect();
    Ok(EvalReport {
        transfers: rows.len(),
        bad_rows,
        accounts: graph.node_count(),
        links: graph.link_count(),
        capped_links: graph.counters().capped_links,
        planted_accounts: planted.group_of.len(),
        rules: figures,
        any: score("any rule", "", &all, &planted),
        warnings: rules.warnings.clone(),
        elapsed: started.elapsed(),
    })
}

/// Compiles one rule file as a set of its own, under the name `rules.toml`
/// whatever the file is called (the loader takes a top-level `*.toml` for
/// rules). Its rules name no fraud type, so it needs no `fraud_types.toml`.
fn load_rules(path: &Path) -> anyhow::Result<RuleSet> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read rules {}", path.display()))?;
    let files = [SourceFile {
        path: RULES_FILE.into(),
        text,
    }];
    let set =
        compile_set(&files).with_context(|| format!("rules {} do not compile", path.display()))?;
    anyhow::ensure!(
        set.enabled_count() > 0,
        "rules {}: no enabled rule to measure",
        path.display()
    );
    Ok(set)
}

/// Reads `alert_id,alert_type,acct_id,...` into groups.
fn read_planted(path: &Path) -> anyhow::Result<PlantedGroups> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut rdr = csv::Reader::from_reader(file);
    let header = rdr.headers()?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| format!("{}: no column {name}", path.display()))
    };
    let (id_col, kind_col, acct_col) = (col("alert_id")?, col("alert_type")?, col("acct_id")?);
    let mut groups = PlantedGroups {
        kinds: Vec::new(),
        group_of: HashMap::new(),
    };
    let mut index_of: HashMap<String, usize> = HashMap::new();
    for rec in rdr.records() {
        let rec = rec?;
        let field = |i: usize| rec.get(i).unwrap_or("").trim();
        let next = groups.kinds.len();
        let g = *index_of.entry(field(id_col).to_string()).or_insert(next);
        if g == next {
            groups.kinds.push(field(kind_col).to_string());
        }
        let account = normalize_artefact_value(field(acct_col));
        groups.group_of.insert(account, g);
    }
    Ok(groups)
}

/// The transfers in timestamp order (a stable sort: ties keep file order),
/// and the number of rows the importer refused.
fn read_transfers(path: &Path) -> anyhow::Result<(Vec<ImportRow>, usize)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (mut rows, mut bad) = (Vec::new(), 0);
    read_rows(
        file,
        ImportFormat::Transactions,
        |_, r| rows.push(r),
        |_| bad += 1,
    )
    .with_context(|| format!("cannot read {}", path.display()))?;
    rows.sort_by_key(|r| match r {
        ImportRow::Transfer { at_ms, .. } => *at_ms,
        ImportRow::Flag { .. } | ImportRow::Allow { .. } => i64::MIN,
    });
    Ok((rows, bad))
}

/// Applies each transfer, then matches the receiving and the paying card;
/// returns the graph and, by rule index, the cards each rule flagged.
fn replay(
    rows: &[ImportRow],
    rules: &Arc<RuleSet>,
) -> anyhow::Result<(LinkGraph, Vec<HashSet<String>>)> {
    let index: HashMap<&str, usize> = rules
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let mut flagged = vec![HashSet::new(); rules.rules.len()];
    let mut graph = LinkGraph::new(GraphLimits::default());
    let mut matcher = Matcher::new(
        Arc::clone(rules),
        WindowLimits::default(),
        DEFAULT_UTC_OFFSET_HOURS,
    );
    let mut probe = probe_alert()?;
    for row in rows {
        graph.apply(row);
        let ImportRow::Transfer {
            from,
            to,
            amount_fen,
            at_ms,
        } = row
        else {
            continue;
        };
        for card in [to, from] {
            aim(&mut probe, card, *amount_fen, *at_ms);
            for hit in matcher.match_alert(&probe, &graph, *at_ms) {
                if let Some(&i) = index.get(&*hit.rule_id) {
                    flagged[i].insert(card.1.clone());
                }
            }
        }
    }
    Ok((graph, flagged))
}

/// A bank alert about a placeholder subject, counterpart set by [`aim`].
fn probe_alert() -> anyhow::Result<Alert> {
    Ok(Alert {
        key: AlertKey::new("amlsim", "probe"),
        source_kind: SourceKind::Bank,
        occurred_at_ms: 0,
        subject: crate::model::PersonKeys::offline().keyed(Subject {
            phone: PROBE_PHONE.into(),
            id_hash: String::new(),
            name: String::new(),
            // A constant that parses: 12 digits, province 52.
            division: DivisionCode::parse(PROBE_DIVISION)?,
            grid_id: None,
            address: String::new(),
            age: 0,
            keys: Default::default(),
        }),
        counterparts: vec![Artefact {
            kind: ArtefactKind::BankCard,
            value: String::new(),
        }],
        links: Vec::new(),
        amount_fen: 0,
        fraud_type_hint: String::new(),
        attributes: Default::default(),
    })
}

/// Points the probe at one card of a transfer.
fn aim(probe: &mut Alert, card: &(ArtefactKind, String), amount_fen: i64, at_ms: i64) {
    probe.occurred_at_ms = at_ms;
    probe.amount_fen = amount_fen;
    let c = &mut probe.counterparts[0];
    c.kind = card.0;
    c.value.clone_from(&card.1);
}

/// Scores one set of flagged accounts against the planted groups.
fn score(
    rule_id: &str,
    condition: &str,
    flagged: &HashSet<String>,
    planted: &PlantedGroups,
) -> RuleFigures {
    let hit_groups: HashSet<usize> = flagged
        .iter()
        .filter_map(|a| planted.group_of.get(a).copied())
        .collect();
    let mut groups: Vec<GroupsHit> = Vec::new();
    for (g, kind) in planted.kinds.iter().enumerate() {
        let at = match groups.iter().position(|x| x.kind == *kind) {
            Some(at) => at,
            None => {
                groups.push(GroupsHit {
                    kind: kind.clone(),
                    hit: 0,
                    total: 0,
                });
                groups.len() - 1
            }
        };
        groups[at].total += 1;
        groups[at].hit += usize::from(hit_groups.contains(&g));
    }
    let in_groups = flagged.iter().filter(|a| planted.group_of.contains_key(*a));
    RuleFigures {
        rule_id: rule_id.into(),
        condition: condition.into(),
        flagged: flagged.len(),
        in_groups: in_groups.count(),
        groups,
    }
}

/// The report as Markdown: a line of context, then the table.
pub fn render(r: &EvalReport) -> Vec<String> {
    let planted = &r.any.groups;
    let by_kind: Vec<String> = planted
        .iter()
        .map(|g| format!("{} {}", g.total, g.kind))
        .collect();
    let mut out = vec![
        format!(
            "{} transfers ({} bad rows) replayed in timestamp order into {} accounts, {} links \
             ({} links refused at the degree cap), in {:.1} s; {} planted groups ({}), {} accounts.",
            r.transfers,
            r.bad_rows,
            r.accounts,
            r.links,
            r.capped_links,
            r.elapsed.as_secs_f64(),
            planted.iter().map(|g| g.total).sum::<usize>(),
            by_kind.join(", "),
            r.planted_accounts,
        ),
        String::new(),
    ];
    let kinds: Vec<&str> = planted.iter().map(|g| g.kind.as_str()).collect();
    let mule = MULE_TYPES.join(" + ");
    let head: Vec<String> = kinds.iter().map(|k| format!("{k} groups")).collect();
    out.push(format!(
        "| rule | condition | flagged accounts | in a planted group | precision | {} | {mule} recall |",
        head.join(" | ")
    ));
    out.push(format!(
        "|---|---|---:|---:|---:|{}---:|",
        "---:|".repeat(kinds.len())
    ));
    for f in r.rules.iter().chain([&r.any]) {
        out.push(row(f));
    }
    out
}

fn row(f: &RuleFigures) -> String {
    let cond = if f.condition.is_empty() {
        "—".to_string()
    } else {
        format!("`{}`", f.condition)
    };
    let groups: Vec<String> = f
        .groups
        .iter()
        .map(|g| format!("{}/{} ({:.2})", g.hit, g.total, ratio(g.hit, g.total)))
        .collect();
    format!(
        "| {} | {cond} | {} | {} | {:.3} | {} | {:.2} |",
        f.rule_id,
        f.flagged,
        f.in_groups,
        f.precision(),
        groups.join(" | "),
        f.recall(&MULE_TYPES),
    )
}
