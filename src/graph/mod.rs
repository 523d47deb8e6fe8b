//! The account-link graph (关系图谱): artefacts (phones, cards, URLs, apps,
//! devices, IPs, social accounts) and persons, joined by calls, SMS,
//! transfers, shared devices and ownership, gathered from every alert seen
//! and from bulk imports (flagged / frozen / stop-payment lists, confirmed
//! cases, transaction files).
//!
//! It sits on the *enrich* side of the match stage: the writer feeds each
//! alert in ([`LinkGraph::observe`]) before matching it, and the rule
//! language's graph functions (`hops_to_flagged()`,
//! `victims_of_counterparts()`, `card_fan_out()`, `is_hub()`... the table
//! in `rules::lang::functions`) ask it through [`GraphFeatures`]. After
//! decide, [`LinkGraph::settle`] records who is a suspected victim, which
//! feeds later alerts only. Everything here is synchronous; the clock is
//! passed in.
//!
//! # Layout
//! - [`links`]: storage on petgraph's `StableGraph`, the link index,
//!   degree caps, expiry.
//! - `keys`: the compact key arena and lookup table.
//! - `ahead`: upserts by key with their memory asked for ahead, at once.
//! - `table`: the open-addressing slot table under the key table and the
//!   link index.
//! - `labels`: exact distances to the nearest flagged node, kept on change.
//! - `flags`: why a node is flagged.
//! - `query`: hop answers (labels, or a bounded search) and per-node counts.
//! - `sides`: what an alert means to the graph (victim side, fraud side,
//!   implied links) and its time unit, shared by `observe` and `query`.
//! - `observe`: what one alert adds; suspected victims; derived flags; series.
//! - `series`: the union-find of linked case series (串并案).
//! - `snapshot`: the durable binary image of the graph.
//! - `import`: bulk files (lists, cases, transactions) to graph updates.
//! - `generate`: a seeded generator of large graphs for benches.

use std::cmp::Ordering;
use std::time::Duration;

use crate::model::{ArtefactKind, LinkKind, mask};

mod ahead;
mod flags;
pub mod generate;
pub mod import;
mod keys;
mod labels;
pub mod links;
mod observe;
mod query;
mod series;
mod sides;
pub mod snapshot;
mod table;

pub use ahead::KeyedLink;
pub use flags::{FlagNote, FlagSource};
pub use labels::LABEL_DEPTH;
pub use links::{BoundCounters, LinkGraph, MemoryUse, NodeIx};
pub use observe::Observed;
pub use query::{HopAnswer, searches_gave_up};
pub use series::series_name;
pub use sides::secs;

/// What a node is: a person (a victim, keyed by subject key) or an artefact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum NodeKind {
    /// A person, keyed by the subject key (never the phone or ID itself).
    Person = 0,
    /// A phone number.
    Phone = 1,
    /// A bank card or account.
    BankCard = 2,
    /// A URL or domain.
    Url = 3,
    /// A mobile app.
    App = 4,
    /// A social-network account.
    SocialAccount = 5,
    /// A device id.
    Device = 6,
    /// An IP address.
    Ip = 7,
}

impl NodeKind {
    /// Every artefact kind (all but person).
    pub const ARTEFACTS: [NodeKind; 7] = [
        NodeKind::Phone,
        NodeKind::BankCard,
        NodeKind::Url,
        NodeKind::App,
        NodeKind::SocialAccount,
        NodeKind::Device,
        NodeKind::Ip,
    ];

    /// The kind of a snapshot byte.
    pub fn from_code(b: u8) -> Option<NodeKind> {
        Some(match b {
            0 => NodeKind::Person,
            1 => NodeKind::Phone,
            2 => NodeKind::BankCard,
            3 => NodeKind::Url,
            4 => NodeKind::App,
            5 => NodeKind::SocialAccount,
            6 => NodeKind::Device,
            7 => NodeKind::Ip,
            _ => return None,
        })
    }
}

impl From<ArtefactKind> for NodeKind {
    fn from(k: ArtefactKind) -> NodeKind {
        match k {
            ArtefactKind::Phone => NodeKind::Phone,
            ArtefactKind::BankCard => NodeKind::BankCard,
            ArtefactKind::Url => NodeKind::Url,
            ArtefactKind::App => NodeKind::App,
            ArtefactKind::SocialAccount => NodeKind::SocialAccount,
            ArtefactKind::Device => NodeKind::Device,
            ArtefactKind::Ip => NodeKind::Ip,
        }
    }
}

/// What a link is: a link of the alert model, a link an alert implies
/// without naming its kind, or a victim's report of an artefact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EdgeKind {
    /// A phone call.
    Call = 0,
    /// An SMS.
    Sms = 1,
    /// A money transfer.
    Transfer = 2,
    /// Two accounts on one device or IP.
    SharedDevice = 3,
    /// Ownership (a person's phone, a phone's card).
    Ownership = 4,
    /// Named together by an alert, kind unknown.
    Named = 5,
    /// Person → an artefact a warning about them named: counts victims and
    /// forms series; never walked by hop queries.
    Victim = 6,
}

impl EdgeKind {
    /// The link kind of the alert model, `None` for `Named` and `Victim`.
    pub fn link_kind(self) -> Option<LinkKind> {
        match self {
            EdgeKind::Call => Some(LinkKind::Call),
            EdgeKind::Sms => Some(LinkKind::Sms),
            EdgeKind::Transfer => Some(LinkKind::Transfer),
            EdgeKind::SharedDevice => Some(LinkKind::SharedDevice),
            EdgeKind::Ownership => Some(LinkKind::Ownership),
            EdgeKind::Named | EdgeKind::Victim => None,
        }
    }

    /// The kind of a snapshot byte.
    pub fn from_code(b: u8) -> Option<EdgeKind> {
        Some(match b {
            0 => EdgeKind::Call,
            1 => EdgeKind::Sms,
            2 => EdgeKind::Transfer,
            3 => EdgeKind::SharedDevice,
            4 => EdgeKind::Ownership,
            5 => EdgeKind::Named,
            6 => EdgeKind::Victim,
            _ => return None,
        })
    }
}

impl From<LinkKind> for EdgeKind {
    fn from(k: LinkKind) -> EdgeKind {
        match k {
            LinkKind::Call => EdgeKind::Call,
            LinkKind::Sms => EdgeKind::Sms,
            LinkKind::Transfer => EdgeKind::Transfer,
            LinkKind::SharedDevice => EdgeKind::SharedDevice,
            LinkKind::Ownership => EdgeKind::Ownership,
        }
    }
}

/// Most links at one node; a full node takes no new link until some expire.
pub const DEFAULT_MAX_DEGREE: u32 = 1024;
/// Most links followed out of one node by a hop query (the newest first).
pub const DEFAULT_MAX_EXPAND: u32 = 64;
/// Most nodes one hop query may reach before it gives up.
pub const DEFAULT_MAX_VISITS: u32 = 512;
/// Links not seen for this long are removed.
pub const DEFAULT_LINK_MAX_AGE: Duration = Duration::from_secs(180 * 24 * 3600);
/// Suspected victims within the horizon that make a phone or card flagged
/// by the graph (a mule card rarely takes more than a handful of payers
/// before it is frozen; hubs and allowed artefacts are never flagged).
pub const DEFAULT_DERIVE_FLAG_VICTIMS: u32 = 3;
/// How long a derived flag lasts.
pub const DEFAULT_DERIVED_FLAG_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Links within a day that make a node hub-like: a mule card or a gang's
/// phone takes tens, a utility's account or 96110 thousands.
pub const DEFAULT_HUB_LINKS_PER_DAY: u32 = 200;
/// How far back victims count, for derived flags and series.
pub const DEFAULT_VICTIM_HORIZON: Duration = Duration::from_secs(30 * 24 * 3600);

/// The bounds of the graph and its derived flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphLimits {
    /// [`DEFAULT_MAX_DEGREE`].
    pub max_degree: u32,
    /// [`DEFAULT_MAX_EXPAND`].
    pub max_expand: u32,
    /// [`DEFAULT_MAX_VISITS`].
    pub max_visits: u32,
    /// [`DEFAULT_LINK_MAX_AGE`], in seconds.
    pub link_max_age_s: u32,
    /// [`DEFAULT_DERIVE_FLAG_VICTIMS`]; 0 turns derived flags off.
    pub derive_flag_victims: u32,
    /// [`DEFAULT_VICTIM_HORIZON`], in seconds.
    pub victim_horizon_s: u32,
    /// [`DEFAULT_DERIVED_FLAG_MAX_AGE`], in seconds.
    pub derived_flag_max_age_s: u32,
    /// [`DEFAULT_HUB_LINKS_PER_DAY`]; 0 turns the rate test off.
    pub hub_links_per_day: u32,
}

impl Default for GraphLimits {
    fn default() -> Self {
        GraphLimits {
            max_degree: DEFAULT_MAX_DEGREE,
            max_expand: DEFAULT_MAX_EXPAND,
            max_visits: DEFAULT_MAX_VISITS,
            link_max_age_s: DEFAULT_LINK_MAX_AGE.as_secs() as u32,
            derive_flag_victims: DEFAULT_DERIVE_FLAG_VICTIMS,
            victim_horizon_s: DEFAULT_VICTIM_HORIZON.as_secs() as u32,
            derived_flag_max_age_s: DEFAULT_DERIVED_FLAG_MAX_AGE.as_secs() as u32,
            hub_links_per_day: DEFAULT_HUB_LINKS_PER_DAY,
        }
    }
}

/// A node of the account-link graph: its kind and normalized value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeRef {
    /// What the node is.
    pub kind: NodeKind,
    /// Its normalized value, as *normalize* leaves it (a person: subject key).
    pub value: String,
}

impl NodeRef {
    /// A node of `kind` with `value`.
    pub fn new(kind: impl Into<NodeKind>, value: impl Into<String>) -> NodeRef {
        NodeRef {
            kind: kind.into(),
            value: value.into(),
        }
    }
}

impl Ord for NodeRef {
    fn cmp(&self, other: &Self) -> Ordering {
        self.kind
            .cmp(&other.kind)
            .then_with(|| self.value.cmp(&other.value))
    }
}

impl PartialOrd for NodeRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
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
    /// Why the node is flagged, on the last step: e.g. `冻结 2026-03-02`.
    pub flag: Option<String>,
}

/// The graph questions the rule language asks about one alert. The alert
/// itself is expected to have been observed already, as the writer does.
pub trait GraphFeatures {
    /// Hops from the subject's artefacts (its phone, and the `from` side of
    /// its links that start at the subject's phone or a subject-owned card)
    /// to the nearest flagged artefact, within `max_depth`; with the path
    /// (subject side first). `None` when none within depth (or within the
    /// query's visit budget).
    fn hops_to_flagged(
        &self,
        alert: &crate::model::Alert,
        max_depth: u32,
    ) -> Option<(u32, Vec<PathStep>)>;

    /// Most distinct suspected victims (persons marked by an earlier
    /// matching alert) whose warnings named any of the alert's phone or
    /// card counterparts that is neither hub-like nor allowed, within
    /// `[now_ms - horizon_ms, now_ms]`.
    fn victims_of_counterparts(
        &self,
        alert: &crate::model::Alert,
        now_ms: i64,
        horizon_ms: i64,
    ) -> u32;

    /// Most distinct persons, suspected or not, whose warnings named any of
    /// the alert's counterparts within the horizon.
    fn persons_linked(&self, alert: &crate::model::Alert, now_ms: i64, horizon_ms: i64) -> u32;

    /// Highest mean payment, in yuan, into any bank-card counterpart over
    /// the window (a mule takes a few large payments, a utility thousands
    /// of small ones).
    fn card_mean_payment_in(&self, alert: &crate::model::Alert, now_ms: i64, window_ms: i64)
    -> f64;

    /// True when any counterpart is hub-like (its degree cap, or
    /// `hub_links_per_day` new links within a day).
    fn counterpart_is_hub(&self, alert: &crate::model::Alert) -> bool;

    /// True when any counterpart is allowed (an `allow_*` list or an import).
    fn counterpart_is_allowed(&self, alert: &crate::model::Alert) -> bool;

    /// Most links at any counterpart, both directions.
    fn counterpart_degree(&self, alert: &crate::model::Alert) -> u32;

    /// Most distinct jurisdictions (counties) of those suspected victims.
    fn jurisdictions_of_counterparts(
        &self,
        alert: &crate::model::Alert,
        now_ms: i64,
        horizon_ms: i64,
    ) -> u32;

    /// Most distinct payers into any bank-card counterpart within the window.
    fn card_fan_in(&self, alert: &crate::model::Alert, now_ms: i64, window_ms: i64) -> u32;

    /// Most distinct payees of any bank-card counterpart within the window.
    fn card_fan_out(&self, alert: &crate::model::Alert, now_ms: i64, window_ms: i64) -> u32;

    /// True when any node within 2 hops of the subject's phone (the phone
    /// included) is flagged.
    fn neighbourhood_flagged(&self, alert: &crate::model::Alert) -> bool;
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
            out.push_str(" (");
            out.push_str(step.flag.as_deref().unwrap_or("涉诈名单"));
            out.push(')');
        }
    }
    out
}

fn kind_label(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Person => "人员",
        NodeKind::Phone => "手机",
        NodeKind::BankCard => "银行卡",
        NodeKind::Url => "网址",
        NodeKind::App => "应用",
        NodeKind::SocialAccount => "社交账号",
        NodeKind::Device => "设备",
        NodeKind::Ip => "IP",
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
        NodeKind::Phone => mask::phone(&node.value),
        NodeKind::BankCard => mask_card(&node.value),
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
