//! `dualwarn precision`: how many of the engine's pairs are right. A
//! tool outside the flow that drives the real pure core in process — the
//! generator's labelled stream (planted victims, mule rings and the benign
//! look-alikes) through normalize → enrich → observe → match → decide →
//! settle → dispatch, with the shipped rules and a fresh account-link graph
//! — and counts, per class of person, who got a pair and which rules made
//! the false ones.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use super::generate::{AlertStream, GenError, GenOptions};
use super::offline::{BatchRun, OfflineCore};
use crate::directory::Directory;
use crate::model::{Role, TaskEventKind};
use crate::proto;
use crate::rules::RuleSet;

/// Classes whose persons should get a pair.
pub const PLANTED: [&str; 2] = ["planted", "planted_mule"];
/// Classes whose persons should not: the look-alikes and ordinary noise.
pub const BENIGN: [&str; 7] = [
    "utility",
    "official_call",
    "shopkeeper",
    "elderly_family",
    "shared_device",
    "popular_app",
    "noise",
];

/// What one class of person got.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClassFigures {
    /// Persons of the class who appear in the stream.
    pub persons: u64,
    /// Of them, persons with a pair.
    pub with_pair: u64,
    /// Rule id → pairs of this class it is a reason of (a pair may count
    /// under several rules).
    pub by_rule: BTreeMap<String, u64>,
}

impl ClassFigures {
    /// Share of the class's persons with a pair.
    pub fn share(&self) -> f64 {
        ratio(self.with_pair, self.persons)
    }
}

/// The figures of one run.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PrecisionReport {
    /// Alerts generated and sent through the core.
    pub alerts: u64,
    /// Villages of the directory.
    pub villages: u64,
    /// Per class label.
    pub classes: BTreeMap<String, ClassFigures>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

impl PrecisionReport {
    /// Persons of the planted classes with a pair, over all of them.
    pub fn recall(&self) -> f64 {
        let (hit, all) = self.sum(|c| PLANTED.contains(&c));
        ratio(hit, all)
    }

    /// Pairs for planted persons over all pairs.
    pub fn precision(&self) -> f64 {
        let (true_pairs, _) = self.sum(|c| PLANTED.contains(&c));
        let (pairs, _) = self.sum(|_| true);
        ratio(true_pairs, pairs)
    }

    fn sum(&self, which: impl Fn(&str) -> bool) -> (u64, u64) {
        self.classes
            .iter()
            .filter(|(c, _)| which(c))
            .fold((0, 0), |(h, a), (_, f)| (h + f.with_pair, a + f.persons))
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Runs the labelled stream `opts` describes through the core in batches
/// of `batch`, with `rules`; progress every `progress_every` alerts.
pub fn evaluate(
    dir: &Directory,
    rules: Arc<RuleSet>,
    opts: &GenOptions,
    batch: usize,
    mut progress: impl FnMut(u64),
) -> Result<PrecisionReport, GenError> {
    let started = Instant::now();
    let mut core = OfflineCore::new(rules.clone());
    let mut stream = AlertStream::new(dir, &rules, opts)?;
    let mut seen_phones: HashSet<String> = HashSet::new();
    let mut paired: HashMap<String, Vec<String>> = HashMap::new(); // phone → rules
    let mut sent = 0u64;
    loop {
        let records: Vec<_> = stream.by_ref().take(batch.max(1)).collect();
        let Some(last) = records.last() else { break };
        let now = last.occurred_at_ms + 1_000;
        let alerts: Vec<proto::Alert> = records.iter().map(|r| r.to_proto()).collect();
        let BatchRun {
            prepared, commit, ..
        } = core.run(alerts, dir, now);
        let mut phone_of: HashMap<String, String> = HashMap::new();
        for p in &prepared.items {
            let s = &p.item.alert.subject;
            seen_phones.insert(s.phone.clone());
            phone_of.insert(s.subject_key(), s.phone.clone());
        }
        for e in &commit.events {
            if e.kind != TaskEventKind::Created || e.task.role != Role::PoliceOfficer {
                continue;
            }
            if let Some(phone) = phone_of.get(&e.task.subject_key) {
                let mut rules: Vec<String> =
                    e.task.reasons.iter().map(|r| r.rule_id.clone()).collect();
                rules.dedup();
                paired.insert(phone.clone(), rules);
            }
        }
        sent += records.len() as u64;
        progress(sent);
    }
    let (_, labels) = stream.finish();
    let mut classes: BTreeMap<String, ClassFigures> = BTreeMap::new();
    for phone in &seen_phones {
        let class = labels.get(phone).copied().unwrap_or("noise");
        let f = classes.entry(class.to_string()).or_default();
        f.persons += 1;
        if let Some(rules) = paired.get(phone) {
            f.with_pair += 1;
            for rule in rules {
                *f.by_rule.entry(rule.clone()).or_default() += 1;
            }
        }
    }
    Ok(PrecisionReport {
        alerts: sent,
        villages: dir.villages().len() as u64,
        classes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The report as lines of a table.
pub fn render(r: &PrecisionReport) -> Vec<String> {
    let mut out = vec![
        format!(
            "{} alerts over {} villages in {:.1} s ({:.0} alerts/s)",
            r.alerts,
            r.villages,
            r.seconds,
            r.alerts as f64 / r.seconds.max(1e-9)
        ),
        format!(
            "{:<16} {:>9} {:>9} {:>8}  rules of the pairs",
            "class", "persons", "pairs", "share"
        ),
    ];
    for (class, f) in &r.classes {
        let rules: Vec<String> = f.by_rule.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push(format!(
            "{:<16} {:>9} {:>9} {:>7.3}%  {}",
            class,
            f.persons,
            f.with_pair,
            100.0 * f.share(),
            rules.join(" ")
        ));
    }
    out.push(format!(
        "recall (planted, planted_mule) {:.2}%   precision {:.2}%",
        100.0 * r.recall(),
        100.0 * r.precision()
    ));
    out
}

/// Options of `dualwarn precision`.
#[derive(clap::Args, Debug)]
pub struct PrecisionArgs {
    /// Seed of the stream.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Alerts in the stream.
    #[arg(long, default_value_t = 1_000_000)]
    pub count: usize,
    /// Event-time span the stream is fitted into (humantime), e.g. `1d`.
    #[arg(long, default_value = "1d", value_parser = humantime::parse_duration)]
    pub span: std::time::Duration,
    /// Planted victims of the existing kinds [default: count / 400].
    #[arg(long)]
    pub victims: Option<usize>,
    /// Rule directory.
    #[arg(long, default_value = crate::config::DEFAULT_RULES_DIR)]
    pub rules: std::path::PathBuf,
    /// Division CSVs to generate the directory from (e.g.
    /// `tests/data/divisions-province`, all of Guizhou) [default: use --directory].
    #[arg(long)]
    pub divisions: Option<std::path::PathBuf>,
    /// Jurisdiction directory file, when --divisions is not given.
    #[arg(long, default_value = crate::config::DEFAULT_DIRECTORY)]
    pub directory: std::path::PathBuf,
    /// Alerts per batch through the writer.
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

impl PrecisionArgs {
    /// The generator options of the run: look-alikes on, fitted to the span.
    pub fn gen_options(&self) -> GenOptions {
        let span_ms = i64::try_from(self.span.as_millis()).unwrap_or(i64::MAX);
        GenOptions {
            seed: self.seed,
            count: self.count,
            victims: self.victims.unwrap_or(self.count / 400),
            duplicate_rate: 0.2,
            resend_rate: 0.01,
            malformed_rate: 0.005,
            start_ms: crate::app::now_ms() - span_ms,
            jurisdiction: String::new(),
            lookalikes: true,
            span_ms: Some(span_ms),
        }
    }
}

/// Runs `dualwarn precision`: progress on stderr, the table on stdout.
pub fn run(a: &PrecisionArgs) -> anyhow::Result<ExitCode> {
    let report = report(a)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for line in render(&report) {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The figures of the run `a` asks for, with progress on stderr.
pub fn report(a: &PrecisionArgs) -> anyhow::Result<PrecisionReport> {
    let dir = match &a.divisions {
        Some(d) => {
            let opts = crate::directory::generate::GenerateOptions { seed: 1 };
            let file = crate::directory::generate::generate_from_dir(d, &opts)?;
            Directory::from_file(file)?
        }
        None => Directory::load(&a.directory)?,
    };
    let rules = Arc::new(crate::rules::load_dir(&a.rules)?);
    let every = (a.count as u64 / 10).max(1);
    let mut next = every;
    let report = evaluate(&dir, rules, &a.gen_options(), a.batch, |n| {
        if n >= next {
            eprintln!("precision: {n} alerts");
            next += every;
        }
    })?;
    Ok(report)
}
