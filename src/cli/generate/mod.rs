//! `dualwarn gen`: a seeded generator of realistic alert streams, written as
//! JSON lines of [`AlertRecord`]. A tool outside the flow: its output feeds
//! *ingest* (through `dualwarn send`) for demos, tests, load runs and benches.
//!
//! Most records are noise that matches no starter rule. Planted suspected
//! victims match the rules through counterparts drawn from the real flagged
//! lists, and some get repeat warnings (重复预警). A few records are exact
//! re-sends, and a few carry exactly one malformed field. Same inputs, same
//! bytes: every draw comes from one ChaCha8 stream, and lists are sorted first.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::record::{AlertRecord, ArtefactRecord, LinkRecord, SubjectRecord};
use crate::directory::{Directory, VillageRef};
use crate::rules::RuleSet;

/// Time between consecutive records, ms (uniform).
const STEP_MS: std::ops::Range<i64> = 1_000..10_000;
/// Mean time between consecutive records, ms: a stream of `n` records spans about `n * MEAN_STEP_MS`.
pub const MEAN_STEP_MS: i64 = (STEP_MS.start + STEP_MS.end) / 2;

mod command;
mod lookalikes;
mod vocab;

pub use command::{GenArgs, run};
pub use lookalikes::Class;
use lookalikes::Lookalikes;
use vocab::*;

/// Person labels of a stream: subject phone → class (`noise`, `planted`,
/// `planted_mule`, `utility`, ...), for the precision run.
pub type Labels = BTreeMap<String, &'static str>;

/// Options of `dualwarn gen`.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Seed of every random draw.
    pub seed: u64,
    /// Total records written.
    pub count: usize,
    /// Planted suspected victims.
    pub victims: usize,
    /// Share of planted alerts that are repeat warnings (重复预警).
    pub duplicate_rate: f64,
    /// Share of records that exactly re-send an earlier one.
    pub resend_rate: f64,
    /// Share of records with one malformed field.
    pub malformed_rate: f64,
    /// Event time of the first record, unix ms; later ones advance seconds apart.
    pub start_ms: i64,
    /// Only villages whose code starts with this prefix ("" for all).
    pub jurisdiction: String,
    /// Mix in the benign look-alikes and mule rings ([`Class::SHARES`]).
    pub lookalikes: bool,
    /// Fit the stream into this span of event time, ms (`--span`); `None`
    /// steps 1–10 s between records.
    pub span_ms: Option<i64>,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 42,
            count: 10_000,
            victims: 200,
            duplicate_rate: 0.2,
            resend_rate: 0.01,
            malformed_rate: 0.01,
            start_ms: 0,
            jurisdiction: String::new(),
            lookalikes: false,
            span_ms: None,
        }
    }
}

/// Counts of what was written, for the summary line on stderr.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenSummary {
    /// Records written.
    pub written: usize,
    /// Alerts that match no rule.
    pub noise: usize,
    /// First alerts of planted victims.
    pub planted: usize,
    /// Repeat warnings for planted victims.
    pub duplicates: usize,
    /// Exact re-sends.
    pub resends: usize,
    /// Records with one bad field.
    pub malformed: usize,
    /// Benign look-alikes and mule-ring payments.
    pub lookalikes: usize,
}

/// Why no stream could be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The jurisdiction prefix selects no village.
    #[error("no village in the directory under jurisdiction {prefix:?}")]
    NoVillages { prefix: String },
    /// A flagged list the planted alerts draw from is missing or empty.
    #[error("rule list {name:?} is missing or empty")]
    EmptyList { name: String },
    /// Writing the output failed.
    #[error("cannot write alerts: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes `opts.count` JSON lines to `out`.
pub fn generate(
    directory: &Directory,
    rules: &RuleSet,
    opts: &GenOptions,
    out: &mut impl Write,
) -> Result<GenSummary, GenError> {
    generate_labelled(directory, rules, opts, out).map(|(s, _)| s)
}

/// As [`generate`], with the class of every person in the stream.
pub fn generate_labelled(
    directory: &Directory,
    rules: &RuleSet,
    opts: &GenOptions,
    out: &mut impl Write,
) -> Result<(GenSummary, Labels), GenError> {
    let mut stream = AlertStream::new(directory, rules, opts)?;
    for record in stream.by_ref() {
        serde_json::to_writer(&mut *out, &record).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(stream.finish())
}

/// The generated stream, one record at a time (for in-process runs that
/// must not hold a province's day in memory).
pub struct AlertStream<'a> {
    stream: Stream<'a>,
    left: usize,
    summary: GenSummary,
    /// Subject phones of the records written.
    appeared: std::collections::HashSet<String>,
}

impl<'a> AlertStream<'a> {
    /// The stream `opts` describes.
    pub fn new(
        directory: &'a Directory,
        rules: &'a RuleSet,
        opts: &GenOptions,
    ) -> Result<AlertStream<'a>, GenError> {
        Ok(AlertStream {
            stream: Stream::new(directory, rules, opts)?,
            left: opts.count,
            summary: GenSummary::default(),
            appeared: std::collections::HashSet::new(),
        })
    }

    /// What was written, and the class of every person who appears in it.
    pub fn finish(self) -> (GenSummary, Labels) {
        let mut labels = self.stream.labels;
        labels.retain(|phone, _| self.appeared.contains(phone));
        (self.summary, labels)
    }
}

impl Iterator for AlertStream<'_> {
    type Item = AlertRecord;

    fn next(&mut self) -> Option<AlertRecord> {
        self.left = self.left.checked_sub(1)?;
        let (kind, record) = self.stream.next_record();
        if !self.appeared.contains(&record.subject.phone) {
            self.appeared.insert(record.subject.phone.clone());
        }
        let s = &mut self.summary;
        s.written += 1;
        *match kind {
            Kind::Noise => &mut s.noise,
            Kind::Planted => &mut s.planted,
            Kind::Duplicate => &mut s.duplicates,
            Kind::Resend => &mut s.resends,
            Kind::Malformed => &mut s.malformed,
            Kind::Lookalike => &mut s.lookalikes,
        } += 1;
        Some(record)
    }
}

/// What a record is, decided before it is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Noise,
    Planted,
    Duplicate,
    Resend,
    Malformed,
    /// Drawn by [`Class::SHARES`] before the kinds above.
    Lookalike,
}

const KINDS: [Kind; 5] = [
    Kind::Noise,
    Kind::Planted,
    Kind::Duplicate,
    Kind::Resend,
    Kind::Malformed,
];

/// How the fraud reached the person, which picks the source and artefacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Channel {
    Call,
    Transfer,
    App,
    Url,
    Report,
    Tip,
}

/// A generated person; `card` is their own bank card, the origin of transfers.
#[derive(Clone, Debug)]
struct Resident {
    subject: SubjectRecord,
    card: String,
}

/// The flagged lists, sorted so draws do not depend on hash order.
struct Flagged<'a> {
    phones: Vec<&'a str>,
    cards: Vec<&'a str>,
    apps: Vec<&'a str>,
    urls: Vec<&'a str>,
}

impl<'a> Flagged<'a> {
    fn from_rules(rules: &'a RuleSet) -> Result<Flagged<'a>, GenError> {
        let sorted = |name: &str| match rules.list_id(name) {
            Some(id) if rules.lists[id as usize].len > 0 => {
                let mut v: Vec<&str> = rules.list_values.values_of(id).collect();
                v.sort_unstable();
                Ok(v)
            }
            _ => Err(GenError::EmptyList { name: name.into() }),
        };
        Ok(Flagged {
            phones: sorted("flagged_phones")?,
            cards: sorted("flagged_cards")?,
            apps: sorted("flagged_apps")?,
            urls: sorted("flagged_urls")?,
        })
    }
}

/// The generator state: one rng, the people, and what is left to write.
struct Stream<'a> {
    rng: ChaCha8Rng,
    villages: Vec<VillageRef<'a>>,
    flagged: Flagged<'a>,
    /// Ordinary apps and domains, minus any that a list flags.
    ordinary_apps: Vec<&'static str>,
    ordinary_urls: Vec<&'static str>,
    population: Vec<Resident>,
    /// Planted victims with their index into `FRAUD_TYPES`.
    victims: Vec<(Resident, usize)>,
    recent: VecDeque<AlertRecord>,
    seq: BTreeMap<&'static str, u64>,
    /// Part of every id: two seeds never share an id.
    seed: u64,
    clock_ms: i64,
    /// `--span`: (start, span, count) — record `i` falls in the `i`-th of
    /// `count` equal slots of the span, so the stream never runs past it.
    span: Option<(i64, i64, i64)>,
    /// Records begun so far.
    begun: i64,
    /// Records still to write, per kind, indexed like `KINDS`.
    left: [usize; 5],
    lookalikes_on: bool,
    look: Lookalikes,
    labels: Labels,
}

impl<'a> Stream<'a> {
    fn new(dir: &'a Directory, rules: &'a RuleSet, opts: &GenOptions) -> Result<Self, GenError> {
        let villages: Vec<_> = (dir.villages().into_iter())
            .filter(|v| v.code.to_string().starts_with(&opts.jurisdiction))
            .collect();
        if villages.is_empty() {
            let prefix = opts.jurisdiction.clone();
            return Err(GenError::NoVillages { prefix });
        }
        let flagged = Flagged::from_rules(rules)?;
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let look = match opts.lookalikes {
            true => Lookalikes::new(rules, &mut rng),
            false => Lookalikes::default(),
        };
        let span = opts
            .span_ms
            .map(|span| (opts.start_ms, span.max(1), opts.count.max(1) as i64));
        let mut stream = Stream {
            rng,
            villages,
            ordinary_apps: unflagged(ORDINARY_APPS, &flagged.apps),
            ordinary_urls: unflagged(ORDINARY_URLS, &flagged.urls),
            flagged,
            population: Vec::new(),
            victims: Vec::new(),
            recent: VecDeque::with_capacity(RESEND_WINDOW),
            seq: BTreeMap::new(),
            seed: opts.seed,
            clock_ms: opts.start_ms,
            span,
            begun: 0,
            left: quotas(opts),
            lookalikes_on: opts.lookalikes,
            look,
            labels: Labels::new(),
        };
        let people = (opts.count / 8).clamp(1, MAX_POPULATION);
        stream.population = (0..people).map(|_| stream.new_resident(ANY_AGE)).collect();
        for r in stream.population.clone() {
            stream.label(&r, "noise");
        }
        Ok(stream)
    }

    /// The next record and what it is; valid ones join the re-send window.
    fn next_record(&mut self) -> (Kind, AlertRecord) {
        if let Some((start, span, count)) = self.span {
            let (from, to) = (span * self.begun / count, span * (self.begun + 1) / count);
            self.clock_ms = start + self.rng.random_range(from..to.max(from + 1));
        }
        self.begun += 1;
        if let Some(class) = self.pick_class() {
            return (Kind::Lookalike, self.lookalike(class));
        }
        let kind = self.pick_kind();
        let record = match kind {
            Kind::Noise => self.noise(),
            Kind::Planted => self.planted(),
            Kind::Duplicate => self.duplicate(),
            Kind::Resend => self.recent[self.rng.random_range(0..self.recent.len())].clone(),
            Kind::Malformed => self.malformed(),
            Kind::Lookalike => self.noise(),
        };
        if matches!(kind, Kind::Noise | Kind::Planted | Kind::Duplicate) {
            if self.recent.len() == RESEND_WINDOW {
                self.recent.pop_front();
            }
            self.recent.push_back(record.clone());
        }
        (kind, record)
    }

    /// Draws a kind weighted by what is left; a repeat warning needs a victim
    /// and a re-send an earlier valid record, and `quotas` keeps one possible.
    fn pick_kind(&mut self) -> Kind {
        let eligible = |k: Kind| match k {
            Kind::Duplicate => !self.victims.is_empty(),
            Kind::Resend => !self.recent.is_empty(),
            _ => true,
        };
        let weights: Vec<usize> = (KINDS.iter().zip(self.left))
            .map(|(&k, n)| if eligible(k) { n } else { 0 })
            .collect();
        let total: usize = weights.iter().sum();
        if total == 0 {
            return Kind::Noise;
        }
        let mut draw = self.rng.random_range(0..total);
        for (i, w) in weights.into_iter().enumerate() {
            if draw < w {
                self.left[i] -= 1;
                return KINDS[i];
            }
            draw -= w;
        }
        Kind::Noise
    }

    /// An alert that matches no rule: ordinary numbers, cards, apps, sites.
    fn noise(&mut self) -> AlertRecord {
        let who = self.population[self.rng.random_range(0..self.population.len())].clone();
        let channel = match self.rng.random_range(0..10) {
            0..=3 => Channel::Call,
            4..=6 => Channel::Transfer,
            7 if !self.ordinary_apps.is_empty() => Channel::App,
            8 if !self.ordinary_urls.is_empty() => Channel::Url,
            _ => Channel::Tip,
        };
        self.alert(&who, channel, "")
    }

    /// The first alert of a new suspected victim, through a channel that
    /// fits the fraud type.
    fn planted(&mut self) -> AlertRecord {
        let fraud = self.rng.random_range(0..FRAUD_TYPES.len());
        let (name, ages, channels) = FRAUD_TYPES[fraud];
        let channel = match self.rng.random_bool(REPORT_SHARE) {
            true => Channel::Report,
            false => *pick(&mut self.rng, channels),
        };
        let resident = self.new_resident(ages);
        self.label(&resident, "planted");
        self.victims.push((resident.clone(), fraud));
        self.alert(&resident, channel, name)
    }

    /// A repeat warning (重复预警) for a planted victim; some escalate to a
    /// police report or a large transfer, both high level.
    fn duplicate(&mut self) -> AlertRecord {
        let (resident, fraud) = self.victims[self.rng.random_range(0..self.victims.len())].clone();
        let (name, _, channels) = FRAUD_TYPES[fraud];
        let channel = match self.rng.random_bool(ESCALATION_SHARE) {
            true => Channel::Report,
            false => *pick(&mut self.rng, channels),
        };
        self.alert(&resident, channel, name)
    }

    /// A noise record with exactly one field broken, so a server rejects it.
    fn malformed(&mut self) -> AlertRecord {
        let mut rec = self.noise();
        let s = &mut rec.subject;
        match self.rng.random_range(0..7) {
            0 => s.phone.truncate(7),
            1 => s.division_code.replace_range(10.., "ab"),
            2 => s.division_code.replace_range(9.., "999"),
            3 => rec.source_id.clear(),
            4 => rec.source_kind = "pigeon".into(),
            5 => rec.amount_fen = -rec.amount_fen.max(100),
            _ => s.id_hash = raw_id_number(&mut self.rng, &s.division_code),
        }
        rec
    }

    /// One alert of `channel` about `who`; a fraud type `hint` (planted
    /// alerts only) picks flagged counterparts.
    fn alert(&mut self, who: &Resident, channel: Channel, hint: &str) -> AlertRecord {
        let fraud = !hint.is_empty();
        let (source, kind) = match channel {
            Channel::Call | Channel::Url if self.rng.random_bool(0.3) => {
                (NATIONAL_PUSH, "national_push")
            }
            Channel::Call | Channel::Url => (*pick(&mut self.rng, TELECOMS), "telecom"),
            Channel::Transfer => (*pick(&mut self.rng, BANKS), "bank"),
            Channel::App => (NATIONAL_PUSH, "national_push"),
            Channel::Report => (*pick(&mut self.rng, POLICE_LINES), "police_report"),
            Channel::Tip => (HOTLINE, "tip"),
        };
        let mut rec = self.base(source, kind, who, hint);
        match channel {
            Channel::Call => self.add_call(&mut rec, fraud),
            Channel::Transfer => self.add_transfer(&mut rec, &who.card, fraud),
            Channel::App => self.add_listed(&mut rec, "app", fraud),
            Channel::Url => self.add_listed(&mut rec, "url", fraud),
            Channel::Report => {
                self.add_call(&mut rec, true);
                self.add_transfer(&mut rec, &who.card, true);
                rec.attributes
                    .insert("report_line".into(), source.replace("gz-", ""));
            }
            Channel::Tip => {
                let note = *pick(&mut self.rng, TIPS);
                rec.attributes.insert("note".into(), note.into());
            }
        }
        rec
    }

    /// The common part: a fresh per-source id and the clock moved on.
    fn base(
        &mut self,
        source: &'static str,
        kind: &str,
        who: &Resident,
        hint: &str,
    ) -> AlertRecord {
        if self.span.is_none() {
            self.clock_ms += self.rng.random_range(STEP_MS);
        }
        let seq = self.seq.entry(source).or_insert(0);
        *seq += 1;
        let short = source.rsplit('-').next().unwrap_or(source);
        AlertRecord {
            source: source.into(),
            source_id: format!("{short}-{:x}-{seq:08}", self.seed),
            source_kind: kind.into(),
            occurred_at_ms: self.clock_ms,
            subject: who.subject.clone(),
            fraud_type_hint: hint.into(),
            ..AlertRecord::default()
        }
    }

    /// A call from a (flagged or ordinary) number to the person's phone.
    fn add_call(&mut self, rec: &mut AlertRecord, fraud: bool) {
        let caller = match fraud {
            true => (*pick(&mut self.rng, &self.flagged.phones)).to_owned(),
            false => unlisted(&mut self.rng, mobile, &self.flagged.phones),
        };
        rec.counterparts.push(ArtefactRecord::new("phone", &caller));
        rec.links.push(LinkRecord {
            kind: "call".into(),
            from: ArtefactRecord::new("phone", caller),
            to: ArtefactRecord::new("phone", &rec.subject.phone),
            amount_fen: 0,
            at_ms: rec.occurred_at_ms - self.rng.random_range(60_000..3_600_000),
        });
        let seconds = self.rng.random_range(20..1800).to_string();
        rec.attributes.insert("call_seconds".into(), seconds);
    }

    /// A transfer from the person's own card; to a flagged card it is large
    /// (the high-level rule) about two times in five.
    fn add_transfer(&mut self, rec: &mut AlertRecord, own_card: &str, fraud: bool) {
        let to = match fraud {
            true => (*pick(&mut self.rng, &self.flagged.cards)).to_owned(),
            false => unlisted(&mut self.rng, bank_card, &self.flagged.cards),
        };
        let amount = match fraud && self.rng.random_bool(0.4) {
            true => self.rng.random_range(LARGE_TRANSFER_FEN..5_000_000),
            false => self.rng.random_range(1_000..LARGE_TRANSFER_FEN),
        };
        rec.counterparts.push(ArtefactRecord::new("bank_card", &to));
        rec.links
            .push(transfer_link(own_card, &to, amount, rec.occurred_at_ms));
        rec.amount_fen += amount;
    }

    /// An installed app or a visited URL, flagged or ordinary.
    fn add_listed(&mut self, rec: &mut AlertRecord, kind: &str, fraud: bool) {
        let pool: &[&str] = match (kind, fraud) {
            ("app", true) => &self.flagged.apps,
            ("app", false) => &self.ordinary_apps,
            (_, true) => &self.flagged.urls,
            (_, false) => &self.ordinary_urls,
        };
        rec.counterparts
            .push(ArtefactRecord::new(kind, *pick(&mut self.rng, pool)));
    }

    /// Records `r`'s class (the latest wins: a person is one class).
    fn label(&mut self, r: &Resident, class: &'static str) {
        self.labels.insert(r.subject.phone.clone(), class);
    }

    /// A person in a random village, aged within `ages`.
    fn new_resident(&mut self, (youngest, oldest): (u32, u32)) -> Resident {
        let rng = &mut self.rng;
        let village = &self.villages[rng.random_range(0..self.villages.len())];
        let grid_id = match rng.random_bool(0.9) && !village.grids.is_empty() {
            true => (*pick(rng, &village.grids)).to_owned(),
            false => String::new(),
        };
        let given: String = (0..rng.random_range(1..=2))
            .map(|_| *pick(rng, GIVEN))
            .collect();
        let subject = SubjectRecord {
            phone: mobile(rng),
            id_hash: format!("{:032x}{:032x}", rng.random::<u128>(), rng.random::<u128>()),
            name: format!("{}{given}", pick(rng, SURNAMES)),
            division_code: village.code.to_string(),
            grid_id,
            address: format!("{}{}号", village.name, rng.random_range(1..300)),
            age: rng.random_range(youngest..=oldest),
        };
        Resident {
            subject,
            card: bank_card(rng),
        }
    }
}

/// A transfer of `amount_fen` from card `from` to card `to` at `at_ms`.
fn transfer_link(from: &str, to: &str, amount_fen: i64, at_ms: i64) -> LinkRecord {
    LinkRecord {
        kind: "transfer".into(),
        from: ArtefactRecord::new("bank_card", from),
        to: ArtefactRecord::new("bank_card", to),
        amount_fen,
        at_ms,
    }
}

/// Records per kind (indexed like `KINDS`) that add up to `opts.count`.
#[cfg(test)]
mod tests;
