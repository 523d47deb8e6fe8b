//! The checked warning record (预警), as *normalize* emits it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::directory::DivisionCode;

/// Names one alert across the system: `source/source_id`. The same key sent
/// twice is the same alert.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AlertKey(pub String);

impl AlertKey {
    /// Builds the key of an alert from its source and per-source id.
    pub fn new(source: &str, source_id: &str) -> AlertKey {
        AlertKey(format!("{source}/{source_id}"))
    }
}

impl fmt::Display for AlertKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a warning record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// National or provincial centre push.
    NationalPush,
    /// A bank's transfer report.
    Bank,
    /// A telecom operator's call or SMS report.
    Telecom,
    /// A 110 / 96110 report.
    PoliceReport,
    /// 12345 hotline or grid worker tip.
    Tip,
}

/// The kind of an artefact (涉案要素).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtefactKind {
    /// A phone number.
    Phone,
    /// A bank card or account.
    BankCard,
    /// A URL or domain.
    Url,
    /// A mobile app.
    App,
    /// A social-network account.
    SocialAccount,
    /// A device id.
    Device,
    /// An IP address.
    Ip,
}

impl ArtefactKind {
    /// Every kind, in the order rules and docs list them. The position is
    /// the kind's code in stored alerts: add new kinds at the end.
    pub const ALL: [ArtefactKind; 7] = [
        ArtefactKind::Phone,
        ArtefactKind::BankCard,
        ArtefactKind::Url,
        ArtefactKind::App,
        ArtefactKind::SocialAccount,
        ArtefactKind::Device,
        ArtefactKind::Ip,
    ];

    /// The kind of a name as rules, files and the wire spell it (`bank_card`).
    pub fn parse(name: &str) -> Option<ArtefactKind> {
        ArtefactKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The name rules, files and the wire use (`bank_card`).
    pub fn name(self) -> &'static str {
        match self {
            ArtefactKind::Phone => "phone",
            ArtefactKind::BankCard => "bank_card",
            ArtefactKind::Url => "url",
            ArtefactKind::App => "app",
            ArtefactKind::SocialAccount => "social_account",
            ArtefactKind::Device => "device",
            ArtefactKind::Ip => "ip",
        }
    }
}

/// The kind of a link between artefacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// A phone call.
    Call,
    /// An SMS.
    Sms,
    /// A money transfer.
    Transfer,
    /// Two accounts seen on one device or IP.
    SharedDevice,
    /// A person owns the artefact.
    Ownership,
}

impl SourceKind {
    /// Every kind. The position is the kind's code in stored alerts: add
    /// new kinds at the end.
    pub const ALL: [SourceKind; 5] = [
        SourceKind::NationalPush,
        SourceKind::Bank,
        SourceKind::Telecom,
        SourceKind::PoliceReport,
        SourceKind::Tip,
    ];
}

impl LinkKind {
    /// Every kind. The position is the kind's code in stored alerts: add
    /// new kinds at the end.
    pub const ALL: [LinkKind; 5] = [
        LinkKind::Call,
        LinkKind::Sms,
        LinkKind::Transfer,
        LinkKind::SharedDevice,
        LinkKind::Ownership,
    ];
}

/// An artefact on the fraud side.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Artefact {
    /// What it is.
    pub kind: ArtefactKind,
    /// Its normalized value (digits only for phones and cards, lowercase host for URLs).
    pub value: String,
}

/// A link between two artefacts, kept for the account-link graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// What kind of contact or flow.
    pub kind: LinkKind,
    /// Origin.
    pub from: Artefact,
    /// Destination.
    pub to: Artefact,
    /// Amount in fen, 0 when none.
    pub amount_fen: i64,
    /// When, unix ms.
    pub at_ms: i64,
}

/// The person a warning is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// 11-digit mobile number (sensitive).
    pub phone: String,
    /// Hex hash of the ID number; empty when the source has none.
    pub id_hash: String,
    /// Name (sensitive).
    pub name: String,
    /// Village or community of residence.
    pub division: DivisionCode,
    /// Grid id, when the source knows it.
    pub grid_id: Option<String>,
    /// Free-text address (sensitive).
    pub address: String,
    /// Age in years, 0 when unknown.
    pub age: u32,
    /// Keyed MACs of the person ([`super::PersonKeys`]), set by normalize;
    /// empty in alerts kept by stores older than keyed MACs, until re-keyed.
    #[serde(default)]
    pub keys: super::PersonKey,
}

impl Subject {
    /// Identity keys under which an open task pair is found: the ID hash
    /// when known, and the phone, each as a keyed MAC. Two alerts for one
    /// person may carry either.
    pub fn identity_keys(&self) -> Vec<String> {
        debug_assert!(!self.keys.identity.is_empty(), "subject not keyed");
        self.keys.identity.clone()
    }

    /// A stable key for the person that nobody without the installation's
    /// secret can reverse, shown on consoles.
    pub fn subject_key(&self) -> String {
        debug_assert!(!self.keys.subject.is_empty(), "subject not keyed");
        self.keys.subject.clone()
    }
}

/// A checked warning record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// `source/source_id`.
    pub key: AlertKey,
    /// Kind of source.
    pub source_kind: SourceKind,
    /// Event time, unix ms.
    pub occurred_at_ms: i64,
    /// The suspected victim.
    pub subject: Subject,
    /// Fraud-side artefacts.
    pub counterparts: Vec<Artefact>,
    /// Links for the graph.
    pub links: Vec<Link>,
    /// Transfer amount in fen, 0 when none.
    pub amount_fen: i64,
    /// Fraud-type code hinted by the source, empty when none.
    pub fraud_type_hint: String,
    /// Free attributes.
    pub attributes: BTreeMap<String, String>,
}
