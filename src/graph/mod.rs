//! The account-link graph: artefacts (phones, cards, URLs, apps, devices)
//! joined by calls, SMS, transfers, shared devices and ownership, gathered
//! from every alert seen.
//!
//! It sits on the *enrich* side of the match stage: the writer feeds each
//! alert in ([`MemoryGraph::observe`]) before matching it, and the rule
//! language's graph functions — `hops_to_flagged()`,
//! `victims_of_counterparts()`, `card_fan_in()`, `neighbourhood_flagged()` —
//! ask it through [`GraphFeatures`]. Queries are pure and synchronous; the
//! clock is passed in.
//!
//! [`GraphFeatures`] is the interface; [`MemoryGraph`] is the simple
//! in-memory implementation in force until a petgraph-backed one replaces it.

use std::cmp::Ordering;
use std::collections::HashSet;

use crate::model::{Alert, ArtefactKind, LinkKind, mask};

mod memory;

pub use memory::MemoryGraph;

/// A node of the account-link graph: an artefact kind and its normalized value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeRef {
    /// What the artefact is.
    pub kind: ArtefactKind,
    /// Its normalized value, as *normalize* leaves it.
    pub value: String,
}

impl NodeRef {
    /// A node of `kind` with `value`.
    pub fn new(kind: ArtefactKind, value: impl Into<String>) -> NodeRef {
        NodeRef {
            kind,
            value: value.into(),
        }
    }
}

// `ArtefactKind` has no `Ord`, so the order (kind, then value) is written out
// with a fixed rank per kind.
impl Ord for NodeRef {
    fn cmp(&self, other: &Self) -> Ordering {
        kind_rank(self.kind)
            .cmp(&kind_rank(other.kind))
            .then_with(|| self.value.cmp(&other.value))
    }
}

impl PartialOrd for NodeRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn kind_rank(kind: ArtefactKind) -> u8 {
    match kind {
        ArtefactKind::Phone => 0,
        ArtefactKind::BankCard => 1,
        ArtefactKind::Url => 2,
        ArtefactKind::App => 3,
        ArtefactKind::SocialAccount => 4,
        ArtefactKind::Device => 5,
        ArtefactKind::Ip => 6,
    }
}

/// One step of an explanation path: the node reached, and the link that
/// reached it from the previous step (`None` and 0 on the first step, and
/// `via` is `None` too for a link the alert implied without naming a kind).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathStep {
    /// The node reached.
    pub node: NodeRef,
    /// Kind of the link from the previous step.
    pub via: Option<LinkKind>,
    /// Money moved over that link, in fen (all observations summed), 0 when none.
    pub amount_fen: i64,
}

/// The graph questions the rule language asks about one alert. The alert
/// itself is expected to have been observed already, as the writer does.
pub trait GraphFeatures {
    /// Hops from the subject's artefacts (its phone, and the `from` side of
    /// its links that start at the subject's phone or a subject-owned card)
    /// to the nearest flagged artefact, within `max_depth`; with the path
    /// (subject side first). `None` when none within depth.
    fn hops_to_flagged(&self, alert: &Alert, max_depth: u32) -> Option<(u32, Vec<PathStep>)>;

    /// Most distinct victims (subject keys) linked to any of the alert's
    /// counterparts, last seen within `[now_ms - horizon_ms, now_ms]`.
    fn victims_of_counterparts(&self, alert: &Alert, now_ms: i64, horizon_ms: i64) -> u32;

    /// Most distinct payers (transfer senders) into any bank-card
    /// counterpart, within `[now_ms - window_ms, now_ms]`.
    fn card_fan_in(&self, alert: &Alert, now_ms: i64, window_ms: i64) -> u32;

    /// True when any node within 2 hops of the subject's phone (the phone
    /// included) is flagged.
    fn neighbourhood_flagged(&self, alert: &Alert) -> bool;
}

/// Which artefacts are flagged (lists of flagged phones, cards, URLs, apps...).
pub trait FlaggedSet {
    /// True when `node` is on a flagged list.
    fn is_flagged(&self, node: &NodeRef) -> bool;
}

/// A fixed set of flagged nodes, matched on kind and value: the simplest
/// [`FlaggedSet`], for tests and tools. Collect it from [`NodeRef`]s.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlaggedValues(pub HashSet<NodeRef>);

impl FlaggedSet for FlaggedValues {
    fn is_flagged(&self, node: &NodeRef) -> bool {
        self.0.contains(node)
    }
}

impl FromIterator<NodeRef> for FlaggedValues {
    fn from_iter<I: IntoIterator<Item = NodeRef>>(iter: I) -> Self {
        FlaggedValues(iter.into_iter().collect())
    }
}

/// Renders a path from [`GraphFeatures::hops_to_flagged`] for the person at
/// the door, values masked: the first node is the subject's own, the last
/// the flagged one, e.g.
/// `本人手机 138****5678 → 转账 ¥5,000.00 → 银行卡 6222****1234 (涉诈名单)`.
/// Phones keep their first 3 and last 4 digits, cards their first and last
/// 4, other values their first and last character. Empty for an empty path.
pub fn describe_path(path: &[PathStep]) -> String {
    let mut out = String::new();
    let last = path.len().saturating_sub(1);
    for (i, step) in path.iter().enumerate() {
        if i == 0 {
            out.push_str("本人");
        } else {
            out.push_str(" → ");
            out.push_str(link_label(step.via));
            if step.amount_fen > 0 {
                out.push(' ');
                out.push_str(&yuan(step.amount_fen));
            }
            out.push_str(" → ");
        }
        out.push_str(kind_label(step.node.kind));
        out.push(' ');
        out.push_str(&mask_value(&step.node));
        if i == last {
            out.push_str(" (涉诈名单)");
        }
    }
    out
}

fn kind_label(kind: ArtefactKind) -> &'static str {
    match kind {
        ArtefactKind::Phone => "手机",
        ArtefactKind::BankCard => "银行卡",
        ArtefactKind::Url => "网址",
        ArtefactKind::App => "应用",
        ArtefactKind::SocialAccount => "社交账号",
        ArtefactKind::Device => "设备",
        ArtefactKind::Ip => "IP",
    }
}

fn link_label(via: Option<LinkKind>) -> &'static str {
    match via {
        Some(LinkKind::Call) => "通话",
        Some(LinkKind::Sms) => "短信",
        Some(LinkKind::Transfer) => "转账",
        Some(LinkKind::SharedDevice) => "同设备",
        Some(LinkKind::Ownership) => "名下",
        None => "关联",
    }
}

/// Masks a node's value by kind; see [`describe_path`].
fn mask_value(node: &NodeRef) -> String {
    match node.kind {
        ArtefactKind::Phone => mask::phone(&node.value),
        ArtefactKind::BankCard => mask_card(&node.value),
        _ => mask::opaque(&node.value),
    }
}

/// `6222020012341234` → `6222****1234`. Shorter than 12 characters, keeping
/// 4 + 4 would show too much, so only the first and last stay.
fn mask_card(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if n < 12 {
        return mask::opaque(value);
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[n - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// `500000` fen → `¥5,000.00`.
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    let digits = (fen / 100).to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}¥{grouped}.{:02}", fen % 100)
}

#[cfg(test)]
mod tests;
