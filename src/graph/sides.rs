//! What an alert means to the graph, read once for *observe* (what the
//! alert adds) and *query* (what the rules ask about it): which artefacts
//! are on the victim's side and which on the fraud side, the link an alert
//! implies when it names a counterpart without one, and the graph's time
//! unit. Both import this; neither imports the other.

use super::links::{LinkGraph, NodeIx};
use super::{EdgeKind, NodeKind};
use crate::model::{Alert, Artefact, ArtefactKind, LinkKind};

/// Unix seconds of a unix-ms time, clamped to what a `u32` holds: the
/// graph's time unit.
pub fn secs(ms: i64) -> u32 {
    (ms.div_euclid(1000)).clamp(0, i64::from(u32::MAX)) as u32
}

/// Kinds that name one party: a phone number or a card. Apps, sites,
/// devices and accounts are shared by many people who never met.
pub(super) fn is_fraud_side_id(kind: NodeKind) -> bool {
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
pub(super) fn is_subject_origin(alert: &Alert, a: &Artefact) -> bool {
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
pub(super) fn reached_from_subject_side(alert: &Alert, counterpart: &Artefact) -> bool {
    alert.links.iter().any(|l| {
        (l.to == *counterpart && is_subject_origin(alert, &l.from))
            || (l.from == *counterpart && is_subject_phone(alert, &l.to))
    })
}

/// The link an alert implies between the subject's phone and a counterpart
/// it names without a link: a card was paid (the alert's amount when it is
/// the only card), a phone called in (`inward`), a device or IP shared; a
/// URL, app or account just named.
pub(super) fn implied_link(alert: &Alert, counterpart: &Artefact) -> (EdgeKind, i64, bool) {
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
