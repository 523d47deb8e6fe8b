//! What one alert adds to the graph, and what its outcome adds after
//! decide. *Observe* (before matching): the person becomes a node owning
//! the subject's phone; each explicit link of the alert becomes a link;
//! each counterpart is joined to the victim's side (by the link the alert
//! names, else by what the counterpart is: a card was paid, a phone called,
//! a device shared) and gets a "named" link from the person. *Settle*
//! (after decide): a person whose alert matched a rule becomes a suspected
//! victim; for a suspected victim, the series of the other suspected
//! victims of the alert's counterparts are joined, and a counterpart linked
//! to enough of them is flagged by the graph itself (自动研判), so the next
//! victim is caught earlier. Hubs and allowed artefacts are passed by.

use petgraph::Direction::Incoming;
use petgraph::visit::EdgeRef;

use super::flags::{FlagNote, FlagSource, flag_bits, mark_bits};
use super::links::{LinkGraph, NodeIx};
use super::series::series_name;
use super::sides::{
    counterpart_nodes, implied_link, is_fraud_side_id, is_subject_origin,
    reached_from_subject_side, secs,
};
use super::{EdgeKind, NodeKind};
use crate::model::calendar::local_date;
use crate::model::{Alert, Artefact};

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
    /// amounts twice; everything else (links, named persons) is a set.
    /// Nothing here reads or changes who is a suspected victim: that is
    /// [`LinkGraph::settle`], after decide.
    pub fn observe(&mut self, alert: &Alert) {
        let at_s = secs(alert.occurred_at_ms);
        let person = self.person(alert, at_s);
        let phone = self.intern(NodeKind::Phone, &alert.subject.phone, at_s);
        self.upsert_link(person, phone, EdgeKind::Ownership, 0, at_s);
        for link in &alert.links {
            let ends = [&link.from, &link.to].map(|a| (NodeKind::from(a.kind), a.value.as_str()));
            let (from, to) = self.intern_link_ends(ends[0], ends[1], link.kind.into(), at_s);
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
        for c in &alert.counterparts {
            let node = self.intern_artefact(c, at_s);
            if !reached_from_subject_side(alert, c) {
                let (kind, amount, inward) = implied_link(alert, c);
                let (from, to) = if inward { (node, phone) } else { (phone, node) };
                self.upsert_link(from, to, kind, amount, at_s);
            }
            self.upsert_link(person, node, EdgeKind::Victim, 0, at_s);
        }
    }

    /// What the decision on an observed alert adds, after decide: when
    /// `matched` (a rule fired) the person becomes a suspected victim. For
    /// a suspected victim (now or from before), joins their series with the
    /// other suspected victims' of each counterpart and flags a counterpart
    /// that now links to enough of them. The alert just matched never saw
    /// any of this: it feeds later alerts only.
    pub fn settle(&mut self, alert: &Alert, matched: bool) -> Observed {
        let mut seen = Observed::default();
        let key = alert.subject.subject_key();
        let Some(person) = self.find(NodeKind::Person, &key) else {
            return seen;
        };
        if matched {
            self.g[person].marks |= mark_bits::SUSPECT;
        }
        if !self.g[person].is_suspect() {
            return seen;
        }
        let at_s = secs(alert.occurred_at_ms);
        let nodes: Vec<NodeIx> = counterpart_nodes(self, alert).collect();
        for node in nodes {
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
    /// suspected victims within the horizon, when the counterpart is a
    /// phone or card that is neither hub-like nor allowed: the apps and
    /// sites everyone names, a service line or a bank's pooled account
    /// would join unrelated victims into one series.
    fn join_series(&mut self, person: NodeIx, node: NodeIx, at_s: u32, seen: &mut Observed) {
        let Some(mine) = self.g[person].series.checked_sub(1) else {
            return;
        };
        if !self.may_link_victims(node) {
            return;
        }
        let from_s = at_s.saturating_sub(self.limits.victim_horizon_s);
        let others: Vec<u32> = self
            .g
            .edges_directed(node, Incoming)
            .filter(|e| e.weight().kind == EdgeKind::Victim && e.weight().last_s >= from_s)
            .filter(|e| self.g[e.source()].is_suspect())
            .filter_map(|e| self.g[e.source()].series.checked_sub(1))
            .filter(|&s| s != mine)
            .collect();
        for other in others {
            if let Some((gone, kept)) = self.series.join(mine, other) {
                seen.merged.push((series_name(gone), series_name(kept)));
            }
        }
    }

    /// Whether `node` may tie victims together (series, derived flags):
    /// a phone or a card, not hub-like, not allowed. Everyone's warnings
    /// name WeChat, Taobao and 12306; a utility's account takes thousands
    /// of payers a day; 96110 calls everyone it warns.
    pub(super) fn may_link_victims(&self, node: NodeIx) -> bool {
        let n = &self.g[node];
        is_fraud_side_id(n.kind) && !n.is_hub() && !n.is_allowed()
    }

    /// Flags `node`, a phone or card not flagged yet and not hub-like or
    /// allowed, when it links to at least `derive_flag_victims` suspected
    /// victims within the horizon. True when it did.
    fn derive_flag(&mut self, node: NodeIx, at_s: u32) -> bool {
        let need = self.limits.derive_flag_victims;
        if need == 0 || !self.may_link_victims(node) || self.g[node].is_flagged() {
            return false;
        }
        let from_s = at_s.saturating_sub(self.limits.victim_horizon_s);
        let (victims, counties) = self.victims_of(node, from_s);
        if victims < need {
            return false;
        }
        let note = FlagNote {
            source: FlagSource::Derived,
            reason: format!("关联 {victims} 名疑似受害人, {counties} 个区县").into(),
            date: local_date(i64::from(at_s), FLAG_DATE_UTC_OFFSET_HOURS).into(),
            at_s,
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
            if note.source == FlagSource::Derived {
                self.derived_at.insert((note.at_s, node.index() as u32));
            }
            self.notes.insert(node.index() as u32, note);
            self.label_flag_set(node);
        }
    }

    /// Takes derived flags set before `now_s - derived_flag_max_age` off
    /// again (the note too, unless an import replaced it). Returns how many.
    pub fn expire_derived(&mut self, now_s: u32) -> usize {
        let oldest_kept = now_s.saturating_sub(self.limits.derived_flag_max_age_s);
        let mut gone = 0;
        while let Some(&(at_s, ix)) = self.derived_at.first() {
            if at_s >= oldest_kept {
                break;
            }
            self.derived_at.pop_first();
            self.clear_derived(NodeIx::new(ix as usize), Some(at_s));
            gone += 1;
        }
        gone
    }

    /// Clears `node`'s derived flag and note. With `Some(at_s)` (expiry)
    /// only the derived note set at `at_s`: a node whose note an import
    /// replaced stays flagged by the import, and an index reused by a newer
    /// node is left alone.
    fn clear_derived(&mut self, node: NodeIx, at_s: Option<u32>) {
        let key = node.index() as u32;
        let note_at = match self.notes.get(&key) {
            Some(d) if d.source == FlagSource::Derived => Some(d.at_s),
            _ => None,
        };
        if at_s.is_some() && note_at != at_s {
            return;
        }
        let Some(n) = self.g.node_weight_mut(node) else {
            return;
        };
        n.flags &= !flag_bits::DERIVED;
        if let Some(t) = note_at {
            self.notes.remove(&key);
            self.derived_at.remove(&(t, key));
        }
        self.label_flag_cleared(node);
    }

    /// Allows `node` by import: never flagged by the graph, never a hop,
    /// never a series link. A derived flag on it goes.
    pub fn allow_imported(&mut self, node: NodeIx) {
        self.allow(node, mark_bits::ALLOW_IMPORTED);
    }

    /// Sets an allow mark on an artefact; a derived flag on it goes.
    fn allow(&mut self, node: NodeIx, bit: u8) {
        if self
            .g
            .node_weight(node)
            .is_none_or(|n| n.kind == NodeKind::Person)
        {
            return;
        }
        self.clear_derived(node, None);
        self.set_blocking(node, |n| n.marks |= bit);
    }

    /// Puts the values of the rule set's `allow_*` lists in force: nodes
    /// already in the graph are marked or unmarked now, new ones as they
    /// arrive.
    pub fn set_allowed<'a>(&mut self, values: impl Iterator<Item = &'a str>) {
        self.allowed = values.map(Box::from).collect();
        let mut now = rustc_hash::FxHashSet::default();
        for value in &self.allowed {
            for kind in NodeKind::ARTEFACTS {
                now.extend(self.find(kind, value).map(|ix| ix.index() as u32));
            }
        }
        let before = std::mem::take(&mut self.allowed_nodes);
        let mut freed = Vec::new();
        for &ix in before.difference(&now) {
            let node = NodeIx::new(ix as usize);
            if let Some(n) = self.g.node_weight_mut(node) {
                n.marks &= !mark_bits::ALLOW_LISTED;
                freed.push(node);
            }
        }
        for &ix in now.difference(&before) {
            self.allow(NodeIx::new(ix as usize), mark_bits::ALLOW_LISTED);
        }
        // Distances only shrink once every new block is in: fewer rechecks.
        for node in freed {
            if self.g.node_weight(node).is_some_and(|n| !n.blocks_hops()) {
                self.label_node_unblocked(node);
            }
        }
        self.allowed_nodes = now;
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
