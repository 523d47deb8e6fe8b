//! The JSON-lines form of an alert, as `gen` writes and `send` reads: the
//! wire `Alert` with readable enum names instead of numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::proto;

/// One alert as a JSON line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertRecord {
    /// Producing source.
    pub source: String,
    /// Id unique per source.
    pub source_id: String,
    /// `national_push`, `bank`, `telecom`, `police_report`, `tip`.
    pub source_kind: String,
    /// Unix ms.
    pub occurred_at_ms: i64,
    /// The person.
    pub subject: SubjectRecord,
    /// Fraud-side artefacts.
    pub counterparts: Vec<ArtefactRecord>,
    /// Links.
    pub links: Vec<LinkRecord>,
    /// Fen.
    pub amount_fen: i64,
    /// Fraud-type code.
    pub fraud_type_hint: String,
    /// Free attributes.
    pub attributes: BTreeMap<String, String>,
}

/// The person of an alert.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubjectRecord {
    /// 11-digit mobile.
    pub phone: String,
    /// Hex hash of the ID number.
    pub id_hash: String,
    /// Name.
    pub name: String,
    /// 12-digit division code.
    pub division_code: String,
    /// Grid id.
    pub grid_id: String,
    /// Address.
    pub address: String,
    /// Age.
    pub age: u32,
}

/// An artefact: `phone`, `bank_card`, `url`, `app`, `social_account`, `device`, `ip`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArtefactRecord {
    /// Kind name.
    pub kind: String,
    /// Value.
    pub value: String,
}

/// A link: `call`, `sms`, `transfer`, `shared_device`, `ownership`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkRecord {
    /// Kind name.
    pub kind: String,
    /// Origin.
    pub from: ArtefactRecord,
    /// Destination.
    pub to: ArtefactRecord,
    /// Fen.
    pub amount_fen: i64,
    /// Unix ms.
    pub at_ms: i64,
}

/// Unknown names map to 0 (unspecified): the server rejects them with the
/// field named, exactly as it would a bad number from any client.
fn enum_value(name: &str, names: &[&str]) -> i32 {
    names
        .iter()
        .position(|n| *n == name)
        .map_or(0, |i| i as i32 + 1)
}

const SOURCE_KINDS: &[&str] = &["national_push", "bank", "telecom", "police_report", "tip"];
const ARTEFACT_KINDS: &[&str] = &[
    "phone",
    "bank_card",
    "url",
    "app",
    "social_account",
    "device",
    "ip",
];
const LINK_KINDS: &[&str] = &["call", "sms", "transfer", "shared_device", "ownership"];

impl ArtefactRecord {
    /// A record of `kind` and `value`.
    pub fn new(kind: &str, value: impl Into<String>) -> ArtefactRecord {
        ArtefactRecord {
            kind: kind.into(),
            value: value.into(),
        }
    }

    fn to_proto(&self) -> proto::Artefact {
        proto::Artefact {
            kind: enum_value(&self.kind, ARTEFACT_KINDS),
            value: self.value.clone(),
        }
    }
}

impl AlertRecord {
    /// The wire alert.
    pub fn to_proto(&self) -> proto::Alert {
        let s = &self.subject;
        proto::Alert {
            source: self.source.clone(),
            source_id: self.source_id.clone(),
            source_kind: enum_value(&self.source_kind, SOURCE_KINDS),
            occurred_at_ms: self.occurred_at_ms,
            subject: Some(proto::Subject {
                phone: s.phone.clone(),
                id_hash: s.id_hash.clone(),
                name: s.name.clone(),
                division_code: s.division_code.clone(),
                grid_id: s.grid_id.clone(),
                address: s.address.clone(),
                age: s.age,
            }),
            counterparts: self
                .counterparts
                .iter()
                .map(ArtefactRecord::to_proto)
                .collect(),
            links: self
                .links
                .iter()
                .map(|l| proto::Link {
                    kind: enum_value(&l.kind, LINK_KINDS),
                    from: Some(l.from.to_proto()),
                    to: Some(l.to.to_proto()),
                    amount_fen: l.amount_fen,
                    at_ms: l.at_ms,
                })
                .collect(),
            amount_fen: self.amount_fen,
            fraud_type_hint: self.fraud_type_hint.clone(),
            attributes: self
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_map_to_wire_numbers() {
        let r = AlertRecord {
            source_kind: "telecom".into(),
            counterparts: vec![ArtefactRecord::new("bank_card", "1")],
            ..Default::default()
        };
        let p = r.to_proto();
        assert_eq!(p.source_kind, proto::SourceKind::Telecom as i32);
        assert_eq!(p.counterparts[0].kind, proto::ArtefactKind::BankCard as i32);
    }

    #[test]
    fn unknown_kind_becomes_unspecified() {
        let r = AlertRecord {
            source_kind: "pigeon".into(),
            ..Default::default()
        };
        assert_eq!(r.to_proto().source_kind, 0);
    }
}
