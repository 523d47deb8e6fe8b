//! Benign look-alikes of `dualwarn gen`: the traffic real bank and telecom
//! feeds carry that a careless rule takes for fraud — pooled utility and
//! school-fee accounts with thousands of small payers a day, calls from
//! official service numbers (96110 among them), shopkeepers paying their
//! suppliers, elderly people sending large sums to family, families sharing
//! a device, apps and sites everyone has — and planted mule rings (a new
//! mule card that several victims pay and that passes the money on). Each
//! person drawn here carries a class label for the precision run.

use rand::Rng;

use super::super::record::{AlertRecord, ArtefactRecord, LinkRecord};
use super::vocab::*;
use super::{Resident, Stream, transfer_link};
use crate::rules::RuleSet;

/// A class of look-alike, with its share of all records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Payers of pooled collection accounts (水电燃气、学费).
    Utility,
    /// People called by official service numbers.
    OfficialCall,
    /// Shopkeepers paying their suppliers.
    Shopkeeper,
    /// Elderly people sending large sums to family.
    ElderlyFamily,
    /// Families sharing one device.
    SharedDevice,
    /// People whose alerts name apps and sites everyone has.
    PopularApp,
    /// Victims of a planted mule ring (counted for recall).
    PlantedMule,
}

impl Class {
    /// Every class with its share of records when look-alikes are on.
    pub const SHARES: [(Class, f64); 7] = [
        (Class::Utility, 0.30),
        (Class::OfficialCall, 0.10),
        (Class::Shopkeeper, 0.05),
        (Class::ElderlyFamily, 0.02),
        (Class::SharedDevice, 0.05),
        (Class::PopularApp, 0.10),
        (Class::PlantedMule, 0.003),
    ];

    /// The label written for the class.
    pub fn label(self) -> &'static str {
        match self {
            Class::Utility => "utility",
            Class::OfficialCall => "official_call",
            Class::Shopkeeper => "shopkeeper",
            Class::ElderlyFamily => "elderly_family",
            Class::SharedDevice => "shared_device",
            Class::PopularApp => "popular_app",
            Class::PlantedMule => "planted_mule",
        }
    }
}

/// Pooled collection accounts in a stream.
const COLLECTION_ACCOUNTS: usize = 40;
/// Suppliers shopkeepers pay, in blocks of [`SUPPLIER_BLOCK`] (one trade
/// in one town): each supplier serves some 10–40 shops.
const SUPPLIERS: usize = 2_000;
/// Suppliers a shopkeeper chooses among.
const SUPPLIER_BLOCK: usize = 8;
/// People per class pool before draws repeat people.
const POOL: usize = 40_000;
/// Payers a utility pool holds: most payers of a day pay once.
const PAYER_POOL: usize = 400_000;
/// Official numbers used when the rule set has no `allow_official_numbers`.
const OFFICIAL_FALLBACK: &[&str] = &["96110", "95588", "95533", "95599", "95566", "10086"];

/// A planted mule ring under way.
#[derive(Clone, Debug)]
struct MuleRing {
    card: String,
    victims_left: u32,
}

/// State of the look-alike classes.
#[derive(Debug, Default)]
pub(super) struct Lookalikes {
    accounts: Vec<(String, (i64, i64))>,
    officials: Vec<String>,
    apps: Vec<String>,
    sites: Vec<String>,
    suppliers: Vec<String>,
    pools: std::collections::BTreeMap<Class, Vec<Resident>>,
    /// Shopkeeper → their suppliers; elderly person → family cards;
    /// shared-device person → the family's device.
    ties: std::collections::BTreeMap<String, Vec<String>>,
    ring: Option<MuleRing>,
}

/// Sorted values of list `name`, or none.
fn list_values(rules: &RuleSet, name: &str) -> Vec<String> {
    let Some(id) = rules.list_id(name) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rules
        .list_values
        .values_of(id)
        .map(str::to_string)
        .collect();
    v.sort_unstable();
    v
}

impl Lookalikes {
    /// The accounts, numbers and apps of a stream; half the collection
    /// accounts are on `allow_collection_accounts`, half a centre has not
    /// listed.
    pub(super) fn new(rules: &RuleSet, rng: &mut rand_chacha::ChaCha8Rng) -> Lookalikes {
        let listed = list_values(rules, "allow_collection_accounts");
        let accounts = (0..COLLECTION_ACCOUNTS)
            .map(|i| {
                let acct = match listed.get(i / 2).filter(|_| i % 2 == 0) {
                    Some(a) => a.clone(),
                    None => bank_card(rng),
                };
                let fee = if i % 4 == 3 { (200, 3_000) } else { (20, 500) };
                (acct, fee)
            })
            .collect();
        let mut officials = list_values(rules, "allow_official_numbers");
        if officials.is_empty() {
            officials = OFFICIAL_FALLBACK.iter().map(|s| s.to_string()).collect();
        }
        let or = |v: Vec<String>, fallback: &str| match v.is_empty() {
            true => fallback.split_whitespace().map(str::to_string).collect(),
            false => v,
        };
        Lookalikes {
            accounts,
            officials,
            apps: or(list_values(rules, "allow_apps"), ORDINARY_APPS),
            sites: or(list_values(rules, "allow_sites"), ORDINARY_URLS),
            suppliers: (0..SUPPLIERS).map(|_| bank_card(rng)).collect(),
            ..Lookalikes::default()
        }
    }
}

impl Stream<'_> {
    /// A look-alike class drawn by share, or `None` for the ordinary kinds.
    pub(super) fn pick_class(&mut self) -> Option<Class> {
        if !self.lookalikes_on {
            return None;
        }
        let mut draw: f64 = self.rng.random();
        for (class, share) in Class::SHARES {
            if draw < share {
                return Some(class);
            }
            draw -= share;
        }
        None
    }

    /// One record of `class`.
    pub(super) fn lookalike(&mut self, class: Class) -> AlertRecord {
        match class {
            Class::Utility => self.utility_payment(),
            Class::OfficialCall => self.official_call(),
            Class::Shopkeeper => self.supplier_payment(),
            Class::ElderlyFamily => self.family_transfer(),
            Class::SharedDevice => self.shared_device(),
            Class::PopularApp => self.popular_app(),
            Class::PlantedMule => self.mule_payment(),
        }
    }

    /// A person of `class`: a new one while the pool grows, then mostly
    /// people seen before.
    fn person_of(&mut self, class: Class, pool: usize, ages: (u32, u32)) -> Resident {
        let len = self.look.pools.get(&class).map_or(0, Vec::len);
        let fresh = len < pool && (len < 16 || self.rng.random_bool(0.7));
        if !fresh {
            return self.look.pools[&class][self.rng.random_range(0..len)].clone();
        }
        let r = self.new_resident(ages);
        self.label(&r, class.label());
        self.look.pools.entry(class).or_default().push(r.clone());
        r
    }

    fn bank_record(&mut self, who: &Resident, to: &str, amount_fen: i64) -> AlertRecord {
        let bank = *pick(&mut self.rng, BANKS);
        let mut rec = self.base(bank, "bank", who, "");
        rec.counterparts.push(ArtefactRecord::new("bank_card", to));
        rec.links
            .push(transfer_link(&who.card, to, amount_fen, rec.occurred_at_ms));
        rec.amount_fen = amount_fen;
        rec
    }

    fn utility_payment(&mut self) -> AlertRecord {
        let who = self.person_of(Class::Utility, PAYER_POOL, ANY_AGE);
        let i = self.rng.random_range(0..self.look.accounts.len());
        let (acct, (lo, hi)) = self.look.accounts[i].clone();
        let yuan = self.rng.random_range(lo..=hi);
        self.bank_record(&who, &acct, yuan * 100)
    }

    fn official_call(&mut self) -> AlertRecord {
        let who = self.person_of(Class::OfficialCall, POOL, ANY_AGE);
        let number = pick(&mut self.rng, &self.look.officials).clone();
        let telecom = *pick(&mut self.rng, TELECOMS);
        let mut rec = self.base(telecom, "telecom", &who, "");
        rec.counterparts.push(ArtefactRecord::new("phone", &number));
        rec.links.push(LinkRecord {
            kind: "call".into(),
            from: ArtefactRecord::new("phone", number),
            to: ArtefactRecord::new("phone", &who.subject.phone),
            amount_fen: 0,
            at_ms: rec.occurred_at_ms - self.rng.random_range(60_000..600_000),
        });
        let seconds = self.rng.random_range(30..900).to_string();
        rec.attributes.insert("call_seconds".into(), seconds);
        rec
    }

    fn supplier_payment(&mut self) -> AlertRecord {
        let who = self.person_of(Class::Shopkeeper, POOL / 8, (28, 60));
        let phone = who.subject.phone.clone();
        if !self.look.ties.contains_key(&phone) {
            let n = self.rng.random_range(3..=6);
            let start = self.rng.random_range(0..SUPPLIERS / SUPPLIER_BLOCK) * SUPPLIER_BLOCK;
            let mine = (0..n)
                .map(|_| {
                    let i = start + self.rng.random_range(0..SUPPLIER_BLOCK);
                    self.look.suppliers[i].clone()
                })
                .collect();
            self.look.ties.insert(phone.clone(), mine);
        }
        let to = pick(&mut self.rng, &self.look.ties[&phone]).clone();
        let amount = self.rng.random_range(2_000..=30_000) * 100;
        self.bank_record(&who, &to, amount)
    }

    fn family_transfer(&mut self) -> AlertRecord {
        let who = self.person_of(Class::ElderlyFamily, POOL / 4, (65, 88));
        let phone = who.subject.phone.clone();
        if !self.look.ties.contains_key(&phone) {
            let family = (0..self.rng.random_range(1..=2))
                .map(|_| bank_card(&mut self.rng))
                .collect();
            self.look.ties.insert(phone.clone(), family);
        }
        let to = pick(&mut self.rng, &self.look.ties[&phone]).clone();
        let amount = self.rng.random_range(10_000..=100_000) * 100;
        self.bank_record(&who, &to, amount)
    }

    fn shared_device(&mut self) -> AlertRecord {
        let who = self.person_of(Class::SharedDevice, POOL / 2, ANY_AGE);
        let phone = who.subject.phone.clone();
        if !self.look.ties.contains_key(&phone) {
            // A new family: this person and 1–4 relatives, one device.
            let device = format!("dev-{:016x}", self.rng.random::<u64>());
            let relatives = self.rng.random_range(1..=4);
            for _ in 0..relatives {
                let r = self.new_resident(ANY_AGE);
                self.label(&r, Class::SharedDevice.label());
                self.look
                    .ties
                    .insert(r.subject.phone.clone(), vec![device.clone(), phone.clone()]);
                self.look
                    .pools
                    .entry(Class::SharedDevice)
                    .or_default()
                    .push(r);
            }
            self.look
                .ties
                .insert(phone.clone(), vec![device, phone.clone()]);
        }
        let tie = self.look.ties[&phone].clone();
        let (source, kind) = match self.rng.random_bool(0.5) {
            true => (NATIONAL_PUSH, "national_push"),
            false => (*pick(&mut self.rng, TELECOMS), "telecom"),
        };
        let mut rec = self.base(source, kind, &who, "");
        rec.counterparts
            .push(ArtefactRecord::new("device", &tie[0]));
        if tie[1] != phone && self.rng.random_bool(0.3) {
            rec.counterparts.push(ArtefactRecord::new("phone", &tie[1]));
        }
        rec
    }

    fn popular_app(&mut self) -> AlertRecord {
        let who = self.person_of(Class::PopularApp, POOL, ANY_AGE);
        let (kind, value) = match self.rng.random_bool(0.6) {
            true => ("app", pick(&mut self.rng, &self.look.apps).clone()),
            false => ("url", pick(&mut self.rng, &self.look.sites).clone()),
        };
        let (source, sk) = match kind {
            "app" => (NATIONAL_PUSH, "national_push"),
            _ => (*pick(&mut self.rng, TELECOMS), "telecom"),
        };
        let mut rec = self.base(source, sk, &who, "");
        rec.counterparts.push(ArtefactRecord::new(kind, value));
        rec
    }

    /// A victim of the current mule ring pays it 5,000–50,000 yuan; the
    /// bank's alert traces the money on to two new cards (资金流向).
    fn mule_payment(&mut self) -> AlertRecord {
        let mut ring = match self.look.ring.take() {
            Some(r) if r.victims_left > 0 => r,
            _ => MuleRing {
                card: bank_card(&mut self.rng),
                victims_left: self.rng.random_range(3..=8),
            },
        };
        ring.victims_left -= 1;
        let who = self.new_resident(ANY_AGE);
        self.label(&who, Class::PlantedMule.label());
        let amount = self.rng.random_range(5_000..=50_000) * 100;
        let mut rec = self.bank_record(&who, &ring.card, amount);
        rec.fraud_type_hint = "shuadan".into();
        for _ in 0..2 {
            let layer = bank_card(&mut self.rng);
            let at = rec.occurred_at_ms;
            rec.links
                .push(transfer_link(&ring.card, &layer, amount / 2, at));
        }
        self.look.ring = Some(ring);
        rec
    }
}
