//! Tests of the account-link graph. This file holds the shared builders;
//! the tests are split by part:
//! - `features`: the questions the rules ask, and explanation paths.
//! - `bounds`: degree caps, hop-query budgets, expiry.
//! - `series`: case series and derived flags.
//! - `import`: bulk file parsing and applying.
//! - `keys`: the key arena and its compaction.
//! - `props`: property tests against brute-force models.
//! - `snapshot`: the durable image, round trip and damage.
//! - `table`: the slot table under the key table and link index.
//! - `victims`: suspected victims, allow lists, hubs by rate, flag expiry.

use std::collections::BTreeMap;

use super::*;
use crate::directory::DivisionCode;
use crate::model::{Alert, AlertKey, Artefact, Link, SourceKind, Subject};

mod bounds;
mod features;
mod import;
mod keys;
mod labels;
mod props;
mod series;
mod snapshot;
mod table;
mod victims;

const T0: i64 = 1_772_416_800_000;
const T0_S: u32 = 1_772_416_800;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const DAY_S: u32 = 24 * 3600;

const SUBJECT: &str = "13812345678";
const CARD_A: &str = "6222020012341234";
const CARD_B: &str = "6217000099998888";
/// The county of [`alert`]'s subjects.
const HOME_DIVISION: &str = "520102016001";
/// A county other than [`HOME_DIVISION`]'s.
const OTHER_DIVISION: &str = "520103001001";

/// Observes `a` and settles it as a match: its person is a suspected
/// victim, as the writer does for an alert a rule matched.
fn suspect(g: &mut LinkGraph, a: &Alert) -> Observed {
    g.observe(a);
    g.settle(a, true)
}

fn phone(v: &str) -> Artefact {
    Artefact {
        kind: ArtefactKind::Phone,
        value: v.into(),
    }
}

fn card(v: &str) -> Artefact {
    Artefact {
        kind: ArtefactKind::BankCard,
        value: v.into(),
    }
}

fn node(a: &Artefact) -> NodeRef {
    NodeRef::new(a.kind, &a.value)
}

fn transfer(from: Artefact, to: Artefact, amount_fen: i64, at_ms: i64) -> Link {
    Link {
        kind: LinkKind::Transfer,
        from,
        to,
        amount_fen,
        at_ms,
    }
}

fn alert(subject_phone: &str, at_ms: i64, counterparts: Vec<Artefact>, links: Vec<Link>) -> Alert {
    alert_in(HOME_DIVISION, subject_phone, at_ms, counterparts, links)
}

/// As [`alert`], for a subject living in `division`.
fn alert_in(
    division: &str,
    subject_phone: &str,
    at_ms: i64,
    counterparts: Vec<Artefact>,
    links: Vec<Link>,
) -> Alert {
    Alert {
        key: AlertKey::new("test", &format!("{subject_phone}-{at_ms}")),
        source_kind: SourceKind::Bank,
        occurred_at_ms: at_ms,
        subject: crate::model::PersonKeys::offline().keyed(Subject {
            phone: subject_phone.into(),
            id_hash: String::new(),
            name: String::new(),
            division: DivisionCode::parse(division).unwrap(),
            grid_id: None,
            address: String::new(),
            age: 0,
            keys: Default::default(),
        }),
        counterparts,
        links,
        amount_fen: 0,
        fraud_type_hint: String::new(),
        attributes: BTreeMap::new(),
    }
}

fn graph() -> LinkGraph {
    LinkGraph::new(GraphLimits::default())
}

/// Limits no small test graph can reach.
fn wide_limits() -> GraphLimits {
    GraphLimits {
        max_degree: 1 << 20,
        max_expand: 1 << 20,
        max_visits: 1 << 20,
        ..GraphLimits::default()
    }
}

/// Puts rule-set lists in force: each artefact on the named list.
fn list(g: &mut LinkGraph, values: &[(&Artefact, &str)]) {
    g.set_listed(values.iter().map(|(a, name)| (a.value.as_str(), *name)));
}

fn frozen(date: &str) -> FlagNote {
    FlagNote {
        source: FlagSource::Frozen,
        reason: "".into(),
        date: date.into(),
        at_s: 0,
    }
}

/// The subject paid card A 5,000; another report shows A moving 3,000 on
/// to card B. `lists` are put in force before anything is observed.
fn paid_card_then_layered(lists: &[(&Artefact, &str)]) -> (LinkGraph, Alert) {
    let mut g = graph();
    list(&mut g, lists);
    let mut paid = alert(SUBJECT, T0, vec![card(CARD_A)], vec![]);
    paid.amount_fen = 500_000;
    g.observe(&paid);
    let layer = transfer(card(CARD_A), card(CARD_B), 300_000, T0 + HOUR_MS);
    g.observe(&alert(
        "13900000001",
        T0 + HOUR_MS,
        vec![card(CARD_A), card(CARD_B)],
        vec![layer],
    ));
    (g, paid)
}

/// As [`paid_card_then_layered`], and card B then moves 1,000 on to a
/// third card, 3 hops from the subject.
fn layered_twice(lists: &[(&Artefact, &str)]) -> (LinkGraph, Alert) {
    let (mut g, paid) = paid_card_then_layered(lists);
    let onward = transfer(card(CARD_B), far_card(), 100_000, T0 + 2 * HOUR_MS);
    g.observe(&alert(
        "13900000002",
        T0 + 2 * HOUR_MS,
        vec![far_card()],
        vec![onward],
    ));
    (g, paid)
}

fn far_card() -> Artefact {
    card("6230000000000003")
}
