//! `dualwarn gen`: a seeded generator of realistic alert streams, written as
//! JSON lines of [`AlertRecord`]. A tool outside the flow: its output feeds
//! *ingest* (through `dualwarn send`) for demos, tests, load runs and benches.
//!
//! Most records are noise that matches no starter rule. Planted suspected
//! victims match the rules through counterparts drawn from the real flagged
//! lists, and some get repeat warnings (重复预警). A few records are exact
//! re-sends, and a few carry exactly one malformed field. Same inputs, same
//! bytes: every draw comes from one ChaCha8 stream, and lists are sorted first.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::record::{AlertRecord, ArtefactRecord, LinkRecord, SubjectRecord};
use crate::directory::{Directory, VillageRef};
use crate::rules::RuleSet;

/// Recent records a re-send may copy; real re-sends repeat recent traffic.
const RESEND_WINDOW: usize = 256;
/// Most people in the noise population, so memory stays flat for huge counts.
const MAX_POPULATION: usize = 50_000;
/// Floor of the high-level transfer rule: 5000 yuan in fen.
const LARGE_TRANSFER_FEN: i64 = 500_000;
/// Highest share of duplicates among planted alerts, so the quota stays finite.
const MAX_DUPLICATE_RATE: f64 = 0.95;

/// Real mobile prefixes (13x/15x/18x/19x); flagged numbers use virtual ones.
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "157", "158", "159", "180", "181", "182", "183", "186", "187", "188", "189", "191", "198",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "韩", "冯", "邓", "曹", "彭", "田", "潘",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "萍", "红", "建", "国", "文", "斌",
];
const ORDINARY_URLS: &[&str] = &[
    "www.baidu.com", "www.taobao.com", "www.jd.com", "news.qq.com", "www.12306.cn", "www.gov.cn",
    "www.guizhou.gov.cn", "map.baidu.com", "www.bilibili.com",
];
const ORDINARY_APPS: &[&str] = &[
    "com.tencent.mm", "com.eg.android.alipaygphone", "com.taobao.taobao", "com.jingdong.app.mall",
    "com.ss.android.ugc.aweme", "com.sdu.didi.psnger", "com.tencent.mobileqq",
];
const TELECOMS: &[&str] = &["gz-telecom-cmcc", "gz-telecom-unicom", "gz-telecom-ctcc"];
const BANKS: &[&str] = &["gz-bank-icbc", "gz-bank-ccb", "gz-bank-abc", "gz-bank-boc"];
const POLICE_LINES: &[&str] = &["gz-110", "gz-96110"];
const NATIONAL_PUSH: &str = "national-push";
const HOTLINE: &str = "gz-12345";
const TIPS: &[&str] = &["网格员走访发现其近期频繁网上理财", "亲属反映其接到陌生来电后情绪紧张", "邻居反映其常问如何转账"];

/// Official 2024 fraud types a planted alert of each channel plausibly carries.
const CALL_TYPES: &[&str] = &["冒充公检法及政府机关", "冒充电商物流客服", "虚假征信", "虚假贷款", "冒充领导熟人"];
const TRANSFER_TYPES: &[&str] = &["刷单返利", "虚假网络投资理财", "虚假贷款", "网络婚恋交友", "虚假购物服务"];
const APP_TYPES: &[&str] = &["虚假网络投资理财", "刷单返利", "虚假贷款"];
const URL_TYPES: &[&str] = &["虚假购物服务", "网络游戏产品虚假交易", "刷单返利", "虚假网络投资理财"];
/// Types whose victims skew old, and types whose victims skew young.
const OLDER_TYPES: &[&str] = &["冒充公检法及政府机关", "冒充领导熟人", "虚假网络投资理财"];
const YOUNGER_TYPES: &[&str] = &["刷单返利", "网络游戏产品虚假交易", "网络婚恋交友", "虚假贷款"];

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
    let mut stream = Stream::new(directory, rules, opts)?;
    let mut summary = GenSummary::default();
    for _ in 0..opts.count {
        let (kind, record) = stream.next_record();
        serde_json::to_writer(&mut *out, &record).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        summary.written += 1;
        *match kind {
            Kind::Noise => &mut summary.noise,
            Kind::Planted => &mut summary.planted,
            Kind::Duplicate => &mut summary.duplicates,
            Kind::Resend => &mut summary.resends,
            Kind::Malformed => &mut summary.malformed,
        } += 1;
    }
    out.flush()?;
    Ok(summary)
}

/// What a record is, decided before it is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Noise,
    Planted,
    Duplicate,
    Resend,
    Malformed,
}

const KINDS: [Kind; 5] = [Kind::Noise, Kind::Planted, Kind::Duplicate, Kind::Resend, Kind::Malformed];

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

/// A planted suspected victim, kept for repeat warnings.
#[derive(Clone, Debug)]
struct Victim {
    resident: Resident,
    fraud_type: &'static str,
}

/// The flagged lists, sorted so draws do not depend on hash order.
struct Flagged<'a> {
    phones: Vec<&'a str>,
    cards: Vec<&'a str>,
    apps: Vec<&'a str>,
    urls: Vec<&'a str>,
    phone_set: &'a HashSet<String>,
    card_set: &'a HashSet<String>,
}

impl<'a> Flagged<'a> {
    fn from_rules(rules: &'a RuleSet) -> Result<Flagged<'a>, GenError> {
        let set = |name: &str| match rules.lists.get(name) {
            Some(list) if !list.is_empty() => Ok(list),
            _ => Err(GenError::EmptyList { name: name.into() }),
        };
        let sorted = |list: &'a HashSet<String>| {
            let mut v: Vec<&str> = list.iter().map(String::as_str).collect();
            v.sort_unstable();
            v
        };
        let (phone_set, card_set) = (set("flagged_phones")?, set("flagged_cards")?);
        Ok(Flagged {
            phones: sorted(phone_set),
            cards: sorted(card_set),
            apps: sorted(set("flagged_apps")?),
            urls: sorted(set("flagged_urls")?),
            phone_set,
            card_set,
        })
    }
}

/// The generator state: one rng, the people, and what is left to write.
struct Stream<'a> {
    rng: ChaCha8Rng,
    villages: Vec<VillageRef<'a>>,
    flagged: Flagged<'a>,
    ordinary_urls: Vec<&'static str>,
    ordinary_apps: Vec<&'static str>,
    population: Vec<Resident>,
    victims: Vec<Victim>,
    recent: VecDeque<AlertRecord>,
    seq: BTreeMap<&'static str, u64>,
    clock_ms: i64,
    /// Records still to write, per kind, indexed like `KINDS`.
    left: [usize; 5],
}

impl<'a> Stream<'a> {
    fn new(directory: &'a Directory, rules: &'a RuleSet, opts: &GenOptions) -> Result<Stream<'a>, GenError> {
        let villages: Vec<_> = directory
            .villages()
            .into_iter()
            .filter(|v| v.code.to_string().starts_with(&opts.jurisdiction))
            .collect();
        if villages.is_empty() {
            return Err(GenError::NoVillages { prefix: opts.jurisdiction.clone() });
        }
        let flagged = Flagged::from_rules(rules)?;
        let mut stream = Stream {
            rng: ChaCha8Rng::seed_from_u64(opts.seed),
            villages,
            ordinary_urls: ORDINARY_URLS.iter().copied().filter(|u| !rules_list_has(rules, "flagged_urls", u)).collect(),
            ordinary_apps: ORDINARY_APPS.iter().copied().filter(|a| !rules_list_has(rules, "flagged_apps", a)).collect(),
            flagged,
            population: Vec::new(),
            victims: Vec::new(),
            recent: VecDeque::with_capacity(RESEND_WINDOW),
            seq: BTreeMap::new(),
            clock_ms: opts.start_ms,
            left: quotas(opts),
        };
        let people = (opts.count / 8).clamp(1, MAX_POPULATION);
        stream.population = (0..people).map(|_| stream.new_resident(None)).collect();
        Ok(stream)
    }

    /// The next record and what it is; valid ones join the re-send window.
    fn next_record(&mut self) -> (Kind, AlertRecord) {
        let kind = self.pick_kind();
        let record = match kind {
            Kind::Noise => self.noise(),
            Kind::Planted => self.planted(),
            Kind::Duplicate => self.duplicate(),
            Kind::Resend => self.recent[self.rng.random_range(0..self.recent.len())].clone(),
            Kind::Malformed => self.malformed(),
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
        let weights: Vec<usize> = KINDS.iter().zip(self.left).map(|(&k, n)| if eligible(k) { n } else { 0 }).collect();
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

    fn noise(&mut self) -> AlertRecord {
        let who = self.population[self.rng.random_range(0..self.population.len())].clone();
        let channel = *pick(&mut self.rng, &[Channel::Call, Channel::Call, Channel::Transfer, Channel::Transfer, Channel::App, Channel::Url, Channel::Tip]);
        self.alert(&who, channel, false, "")
    }

    fn planted(&mut self) -> AlertRecord {
        let channel = *pick(&mut self.rng, &[Channel::Call, Channel::Call, Channel::Transfer, Channel::Transfer, Channel::App, Channel::Url, Channel::Report]);
        let types = match channel {
            Channel::Call => CALL_TYPES,
            Channel::Transfer | Channel::Report => TRANSFER_TYPES,
            Channel::App => APP_TYPES,
            Channel::Url | Channel::Tip => URL_TYPES,
        };
        let fraud_type = *pick(&mut self.rng, types);
        let resident = self.new_resident(Some(fraud_type));
        self.victims.push(Victim { resident: resident.clone(), fraud_type });
        self.alert(&resident, channel, true, fraud_type)
    }

    /// A repeat warning (重复预警) for a planted victim, often escalating to
    /// money moving or a police report (both high level).
    fn duplicate(&mut self) -> AlertRecord {
        let victim = self.victims[self.rng.random_range(0..self.victims.len())].clone();
        let channel = *pick(&mut self.rng, &[Channel::Call, Channel::Transfer, Channel::Transfer, Channel::App, Channel::Url, Channel::Report]);
        self.alert(&victim.resident, channel, true, victim.fraud_type)
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

    /// One alert of `channel` about `who`; `fraud` picks flagged counterparts.
    fn alert(&mut self, who: &Resident, channel: Channel, fraud: bool, hint: &str) -> AlertRecord {
        let (source, kind) = match channel {
            Channel::Call | Channel::Url if self.rng.random_bool(0.3) => (NATIONAL_PUSH, "national_push"),
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
            Channel::App => {
                let app = if fraud { *pick(&mut self.rng, &self.flagged.apps) } else { *pick(&mut self.rng, &self.ordinary_apps) };
                rec.counterparts.push(ArtefactRecord::new("app", app));
            }
            Channel::Url => {
                let url = if fraud { *pick(&mut self.rng, &self.flagged.urls) } else { *pick(&mut self.rng, &self.ordinary_urls) };
                rec.counterparts.push(ArtefactRecord::new("url", url));
            }
            Channel::Report => {
                self.add_call(&mut rec, true);
                self.add_transfer(&mut rec, &who.card, true);
            }
            Channel::Tip => {
                rec.attributes.insert("note".into(), (*pick(&mut self.rng, TIPS)).into());
            }
        }
        rec
    }

    /// The common part: a fresh per-source id and the clock moved on.
    fn base(&mut self, source: &'static str, kind: &str, who: &Resident, hint: &str) -> AlertRecord {
        self.clock_ms += self.rng.random_range(1_000..10_000);
        let seq = self.seq.entry(source).or_insert(0);
        *seq += 1;
        let short = source.rsplit('-').next().unwrap_or(source);
        AlertRecord {
            source: source.into(),
            source_id: format!("{short}-{seq:08}"),
            source_kind: kind.into(),
            occurred_at_ms: self.clock_ms,
            subject: who.subject.clone(),
            fraud_type_hint: hint.into(),
            ..AlertRecord::default()
        }
    }

    fn add_call(&mut self, rec: &mut AlertRecord, fraud: bool) {
        let caller = if fraud { (*pick(&mut self.rng, &self.flagged.phones)).to_owned() } else { self.ordinary_phone() };
        rec.counterparts.push(ArtefactRecord::new("phone", caller.clone()));
        rec.links.push(LinkRecord {
            kind: "call".into(),
            from: ArtefactRecord::new("phone", caller),
            to: ArtefactRecord::new("phone", rec.subject.phone.clone()),
            amount_fen: 0,
            at_ms: rec.occurred_at_ms - self.rng.random_range(60_000..3_600_000),
        });
        rec.attributes.insert("call_seconds".into(), self.rng.random_range(20..1800).to_string());
    }

    /// A transfer from the person's own card; flagged ones are large (high
    /// level) about two times in five.
    fn add_transfer(&mut self, rec: &mut AlertRecord, own_card: &str, fraud: bool) {
        let to = if fraud { (*pick(&mut self.rng, &self.flagged.cards)).to_owned() } else { self.ordinary_card() };
        let amount = match fraud && self.rng.random_bool(0.4) {
            true => self.rng.random_range(LARGE_TRANSFER_FEN..5_000_000),
            false => self.rng.random_range(1_000..LARGE_TRANSFER_FEN),
        };
        rec.counterparts.push(ArtefactRecord::new("bank_card", to.clone()));
        rec.links.push(LinkRecord {
            kind: "transfer".into(),
            from: ArtefactRecord::new("bank_card", own_card),
            to: ArtefactRecord::new("bank_card", to),
            amount_fen: amount,
            at_ms: rec.occurred_at_ms,
        });
        rec.amount_fen += amount;
    }

    /// A person in a random village; age skews by the fraud type they meet.
    fn new_resident(&mut self, fraud_type: Option<&str>) -> Resident {
        let rng = &mut self.rng;
        let village = &self.villages[rng.random_range(0..self.villages.len())];
        let age = match fraud_type {
            Some(t) if OLDER_TYPES.contains(&t) => rng.random_range(50..=85),
            Some(t) if YOUNGER_TYPES.contains(&t) => rng.random_range(18..=45),
            _ => rng.random_range(18..=85),
        };
        let grid_id = match rng.random_bool(0.9) {
            true => (*pick(rng, &village.grids)).to_owned(),
            false => String::new(),
        };
        let given: String = (0..rng.random_range(1..=2)).map(|_| *pick(rng, GIVEN)).collect();
        let subject = SubjectRecord {
            phone: mobile(rng),
            id_hash: format!("{:032x}{:032x}", rng.random::<u128>(), rng.random::<u128>()),
            name: format!("{}{given}", pick(rng, SURNAMES)),
            division_code: village.code.to_string(),
            grid_id,
            address: format!("{}{}号", village.name, rng.random_range(1..300)),
            age,
        };
        Resident { subject, card: format!("62{:017}", rng.random_range(0..100_000_000_000_000_000u64)) }
    }

    fn ordinary_phone(&mut self) -> String {
        loop {
            let phone = mobile(&mut self.rng);
            if !self.flagged.phone_set.contains(&phone) {
                return phone;
            }
        }
    }

    fn ordinary_card(&mut self) -> String {
        loop {
            let card = format!("62{:017}", self.rng.random_range(0..100_000_000_000_000_000u64));
            if !self.flagged.card_set.contains(&card) {
                return card;
            }
        }
    }
}

/// Records per kind (indexed like `KINDS`) that add up to `opts.count`.
fn quotas(opts: &GenOptions) -> [usize; 5] {
    let n = opts.count;
    let share = |rate: f64, of: usize| ((of as f64) * rate.clamp(0.0, 1.0)).round() as usize;
    let malformed = share(opts.malformed_rate, n).min(n);
    let mut resends = share(opts.resend_rate, n).min(n - malformed);
    if resends > 0 && resends == n - malformed {
        resends -= 1; // a re-send needs one original
    }
    let room = n - malformed - resends;
    let planted = opts.victims.min(room);
    let rate = opts.duplicate_rate.clamp(0.0, MAX_DUPLICATE_RATE);
    let duplicates = match planted {
        0 => 0,
        p => (((p as f64) * rate / (1.0 - rate)).round() as usize).min(room - p),
    };
    [room - planted - duplicates, planted, duplicates, resends, malformed]
}

fn rules_list_has(rules: &RuleSet, list: &str, value: &str) -> bool {
    rules.lists.get(list).is_some_and(|l| l.contains(value))
}

/// One element of a non-empty slice (callers check emptiness up front).
fn pick<'s, T>(rng: &mut ChaCha8Rng, items: &'s [T]) -> &'s T {
    &items[rng.random_range(0..items.len())]
}

fn mobile(rng: &mut ChaCha8Rng) -> String {
    format!("{}{:08}", pick(rng, MOBILE_PREFIXES), rng.random_range(0..100_000_000))
}

/// An 18-digit resident ID number, the raw value a source must never send.
fn raw_id_number(rng: &mut ChaCha8Rng, division_code: &str) -> String {
    let county = division_code.get(..6).unwrap_or("520102");
    let check = *pick(rng, &["0", "3", "7", "9", "X"]);
    let (year, month, day) = (rng.random_range(1940..2006), rng.random_range(1..=12), rng.random_range(1..=28));
    format!("{county}{year}{month:02}{day:02}{:03}{check}", rng.random_range(0..1000))
}
