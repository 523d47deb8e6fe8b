//! What one alert adds to the graph. The victim becomes a person node
//! owning the subject's phone; each explicit link of the alert becomes a
//! link; each counterpart is joined to the victim's side (by the link the
//! alert names, else by what the counterpart is: a card was paid, a phone
//! called, a device shared) and gets a victim link from the person. Then
//! the person's series absorbs the series of every other victim of those
//! counterparts, and a counterpart linked to enough victims is flagged by
//! the graph itself, so the next victim is caught earlier.

use petgraph::Direction::Incoming;
use petgraph::visit::EdgeRef;

use super::flags::{FlagNote, FlagSource, flag_bits};
use super::links::{LinkGraph, NodeIx};
use super::query::secs;
use super::series::series_name;
use super::{EdgeKind, NodeKind};
use crate::model::calendar::local_date;
use crate::model::{Alert, Artefact, ArtefactKind, LinkKind};

/// Local time of the dates written on derived flags (China Standard Time).
const FLAG_DATE_UTC_OFFSET_HOURS: i32 = 8;

/// What observing one alert changed beyond the links.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// Series merged: (absorbed id, surviving id), each already on a task.
    pub merged: Vec<(String, String)>,
    /// Counterparts the graph flagged because of this alert.
    pub derived_flags: u32,
}

impl LinkGraph {
    /// Adds what one alert says. Observing the same alert twice adds its
    /// amounts twice; everything else (links, victims, series) is a set.
    pub fn observe(&mut self, alert: &Alert) -> Observed {
        let at_s = secs(alert.occurred_at_ms);
        let person = self.person(alert, at_s);
        let phone = self.intern(NodeKind::Phone, &alert.subject.phone, at_s);
        self.upsert_link(person, phone, EdgeKind::Ownership, 0, at_s);
        for link in &alert.links {
            let from = self.intern_artefact(&link.from, at_s);
            let to = self.intern_artefact(&link.to, at_s);
            let when = if link.at_ms > 0 {
                secs(link.at_ms)
            } else {
                at_s
            };
            self.upsert_link(from, to, link.kind.into(), link.amount_fen, when);
            if from != phone && is_subject_origin(alert, &link.from) {
                // The victim's own card: owned by the victim's phone.
                self.upsert_link(phone, from, EdgeKind::Ownership, 0, at_s);
            }
        }
        let mut seen = Observed::default();
        for c in &alert.counterparts {
            let node = self.intern_artefact(c, at_s);
            if !reached_from_subject_side(alert, c) {
                let (kind, amount, inward) = implied_link(alert, c);
                let (from, to) = if inward { (node, phone) } else { (phone, node) };
                self.upsert_link(from, to, kind, amount, at_s);
            }
            self.upsert_link(person, node, EdgeKind::Victim, 0, at_s);
            self.join_series(person, node, at_s, &mut seen);
            if self.derive_flag(node, at_s) {
                seen.derived_flags += 1;
            }
        }
        seen
    }

    /// The series id of the alert's subject, marked as now on a task.
    pub fn announce_series(&mut self, alert: &Alert) -> Option<String> {
        let person = self.find(NodeKind::Person, &alert.subject.subject_key())?;
        let s = self.g[person].series.checked_sub(1)?;
        Some(series_name(self.series.announce(s)))
    }

    /// The person node of the alert's subject, with a series and a county.
    fn person(&mut self, alert: &Alert, at_s: u32) -> NodeIx {
        let key = alert.subject.subject_key();
        let person = self.intern(NodeKind::Person, &key, at_s);
        let county = u32::try_from(alert.subject.division.county()).unwrap_or(0);
        let n = &mut self.g[person];
        n.region = county;
        if n.series == 0 {
            let id = u64::from_str_radix(&key, 16).unwrap_or(0);
            let s = self.series.found(id);
            self.g[person].series = s + 1;
        }
        person
    }

    fn intern_artefact(&mut self, a: &Artefact, at_s: u32) -> NodeIx {
        self.intern(a.kind.into(), &a.value, at_s)
    }

    /// Joins the person's series with those of the counterpart's other
    /// victims within the horizon, when the counterpart is a phone or card
    /// that is not a hub: the apps and sites everyone names, or a bank's
    /// pooled account, would join unrelated victims into one series.
    fn join_series(&mut self, person: NodeIx, node: NodeIx, at_s: u32, seen: &mut Observed) {
        let Some(mine) = self.g[person].series.checked_sub(1) else {
            return;
        };
        let n = &self.g[node];
        if !is_fraud_side_id(n.kind) || n.flags & flag_bits::HUB != 0 {
            return;
        }
        let from_s = at_s.saturating_sub(self.limits.victim_horizon_s);
        let others: Vec<u32> = self
            .g
            .edges_directed(node, Incoming)
            .filter(|e| e.weight().kind == EdgeKind::Victim && e.weight().last_s >= from_s)
            .filter_map(|e| self.g[e.source()].series.checked_sub(1))
            .filter(|&s| s != mine)
            .collect();
        for other in others {
            if let Some((gone, kept)) = self.series.join(mine, other) {
                seen.merged.push((series_name(gone), series_name(kept)));
            }
        }
    }

    /// Flags `node`, a phone or card not flagged yet, when it links to at
    /// least `derive_flag_victims` victims within the horizon. True when it did.
    fn derive_flag(&mut self, node: NodeIx, at_s: u32) -> bool {
        let need = self.limits.derive_flag_victims;
        // Only a phone or a card names one fraud side: everyone's warnings
        // name WeChat, Taobao and 12306, which must never become flagged.
        if need == 0 || !is_fraud_side_id(self.g[node].kind) {
            return false;
        }
        if self.g[node].is_flagged() {
            return false;
        }
        let from_s = at_s.saturating_sub(self.limits.victim_horizon_s);
        let (victims, counties) = self.victims_of(node, from_s);
        if victims < need {
            return false;
        }
        let note = FlagNote {
            source: FlagSource::Derived,
            reason: format!("关联 {victims} 名受害人, {counties} 个区县").into(),
            date: local_date(i64::from(at_s), FLAG_DATE_UTC_OFFSET_HOURS).into(),
        };
        self.set_note(node, note);
        true
    }

    /// Flags `node` with `note` (an import or the graph itself).
    pub fn set_note(&mut self, node: NodeIx, note: FlagNote) {
        let bit = if note.source == FlagSource::Derived {
            flag_bits::DERIVED
        } else {
            flag_bits::IMPORTED
        };
        if let Some(n) = self.g.node_weight_mut(node) {
            n.flags |= bit;
            self.notes.insert(node.index() as u32, note);
            self.label_flag_set(node);
        }
    }

    /// Puts the values of the rule set's `flagged_*` lists in force (value,
    /// list name): nodes already in the graph are marked or unmarked now,
    /// new ones as they arrive.
    pub fn set_listed<'a>(&mut self, values: impl Iterator<Item = (&'a str, &'a str)>) {
        let unlisted = std::mem::take(&mut self.listed_nodes);
        for &ix in &unlisted {
            if let Some(n) = self.g.node_weight_mut(NodeIx::new(ix as usize)) {
                n.flags &= !flag_bits::LISTED;
            }
        }
        self.listed.clear();
        for (value, list) in values {
            self.listed
                .entry(value.into())
                .or_insert_with(|| list.into());
        }
        let values: Vec<Box<str>> = self.listed.keys().cloned().collect();
        for value in values {
            for kind in NodeKind::ARTEFACTS {
                if let Some(ix) = self.find(kind, &value) {
                    self.g[ix].flags |= flag_bits::LISTED;
                    self.listed_nodes.insert(ix.index() as u32);
                    self.label_flag_set(ix);
                }
            }
        }
        // Distances only grow once every new flag is in: fewer rechecks.
        for ix in unlisted {
            self.label_flag_cleared(NodeIx::new(ix as usize));
        }
    }
}

/// Kinds that name one party: a phone number or a card. Apps, sites,
/// devices and accounts are shared by many people who never met.
fn is_fraud_side_id(kind: NodeKind) -> bool {
    matches!(kind, NodeKind::Phone | NodeKind::BankCard)
}

/// The nodes of the alert's counterparts that the graph has.
pub(super) fn counterpart_nodes<'a>(
    g: &'a LinkGraph,
    alert: &'a Alert,
) -> impl Iterator<Item = NodeIx> + 'a {
    alert
        .counterparts
        .iter()
        .filter_map(|c| g.find(c.kind.into(), &c.value))
}

/// Where hops are counted from: the subject's phone, then the origin of
/// each link that starts on the subject's side, in link order, no repeats.
pub(super) fn subject_side(g: &LinkGraph, alert: &Alert) -> Vec<NodeIx> {
    let mut starts = Vec::with_capacity(1 + alert.links.len());
    starts.extend(g.find(NodeKind::Phone, &alert.subject.phone));
    for link in &alert.links {
        if !is_subject_origin(alert, &link.from) {
            continue;
        }
        if let Some(n) = g.find(link.from.kind.into(), &link.from.value)
            && !starts.contains(&n)
        {
            starts.push(n);
        }
    }
    starts
}

fn is_subject_phone(alert: &Alert, a: &Artefact) -> bool {
    a.kind == ArtefactKind::Phone && a.value == alert.subject.phone
}

/// Whether `a`, the origin of one of the alert's links, is the subject's:
/// its phone, a card it owns by an ownership link from the phone, or a card
/// that is not a counterpart (counterparts are the fraud side, so a card
/// paying from the victim's side is the victim's own).
fn is_subject_origin(alert: &Alert, a: &Artefact) -> bool {
    if is_subject_phone(alert, a) {
        return true;
    }
    let owned = alert
        .links
        .iter()
        .any(|l| l.kind == LinkKind::Ownership && is_subject_phone(alert, &l.from) && l.to == *a);
    owned || (a.kind == ArtefactKind::BankCard && !alert.counterparts.contains(a))
}

/// Whether one of the alert's links already joins the subject's side and
/// `counterpart` (either way round), so no implied link is needed.
fn reached_from_subject_side(alert: &Alert, counterpart: &Artefact) -> bool {
    alert.links.iter().any(|l| {
        (l.to == *counterpart && is_subject_origin(alert, &l.from))
            || (l.from == *counterpart && is_subject_phone(alert, &l.to))
    })
}

/// The link an alert implies between the subject's phone and a counterpart
/// it names without a link: a card was paid (the alert's amount when it is
/// the only card), a phone called in (`inward`), a device or IP shared; a
/// URL, app or account just named.
fn implied_link(alert: &Alert, counterpart: &Artefact) -> (EdgeKind, i64, bool) {
    match counterpart.kind {
        ArtefactKind::BankCard => {
            let cards = alert
                .counterparts
                .iter()
                .filter(|c| c.kind == ArtefactKind::BankCard)
                .count();
            let amount = if cards == 1 { alert.amount_fen } else { 0 };
            (EdgeKind::Transfer, amount, false)
        }
        ArtefactKind::Phone => (EdgeKind::Call, 0, true),
        ArtefactKind::Device | ArtefactKind::Ip => (EdgeKind::SharedDevice, 0, false),
        ArtefactKind::Url | ArtefactKind::App | ArtefactKind::SocialAccount => {
            (EdgeKind::Named, 0, false)
        }
    }
}
