//! Stored alerts: the compact binary record of the `alerts` table.
//!
//! Where it sits: prepare encodes each accepted alert here (in parallel,
//! before the writer queue); the store keeps the record as it is and
//! decodes it for window warm-up, graph replay and consoles.
//!
//! A record is `[FORMAT_V1][16-byte content hash][protobuf body]`. The
//! body is a protobuf message (prost): fields can be added later and old
//! records still read. Enums are their position in the kind's `ALL` list,
//! the division code its integer, and hex strings (ID hash, person keys)
//! their bytes. The content hash is over the body, so a re-send compares
//! equal and an id reused for another record does not. Rows kept as JSON
//! by earlier versions (first byte `{`) still read; their hash is worked
//! out again from the decoded alert.

use std::collections::BTreeMap;

use prost::Message;

use super::{Digest, StoreError, digest};
use crate::directory::DivisionCode;
use crate::model::{Alert, AlertKey, Artefact, ArtefactKind, Link, LinkKind, SourceKind, Subject};

/// First byte of a binary record.
const FORMAT_V1: u8 = 1;
/// Bytes before the body.
const HEAD: usize = 1 + 16;
/// Marks a packed string that is plain text, not hex.
const TEXT: u8 = 0xff;

#[derive(Clone, PartialEq, Message)]
struct AlertPb {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(uint32, tag = "2")]
    source_kind: u32,
    #[prost(int64, tag = "3")]
    occurred_at_ms: i64,
    #[prost(message, optional, tag = "4")]
    subject: Option<SubjectPb>,
    #[prost(message, repeated, tag = "5")]
    counterparts: Vec<ArtefactPb>,
    #[prost(message, repeated, tag = "6")]
    links: Vec<LinkPb>,
    #[prost(int64, tag = "7")]
    amount_fen: i64,
    #[prost(string, tag = "8")]
    fraud_type_hint: String,
    #[prost(message, repeated, tag = "9")]
    attributes: Vec<AttributePb>,
}

#[derive(Clone, PartialEq, Message)]
struct SubjectPb {
    #[prost(string, tag = "1")]
    phone: String,
    #[prost(bytes = "vec", tag = "2")]
    id_hash: Vec<u8>,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(uint64, tag = "4")]
    division: u64,
    #[prost(string, optional, tag = "5")]
    grid_id: Option<String>,
    #[prost(string, tag = "6")]
    address: String,
    #[prost(uint32, tag = "7")]
    age: u32,
    #[prost(bytes = "vec", tag = "8")]
    key_subject: Vec<u8>,
    #[prost(bytes = "vec", repeated, tag = "9")]
    key_identity: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
struct ArtefactPb {
    #[prost(uint32, tag = "1")]
    kind: u32,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, Message)]
struct LinkPb {
    #[prost(uint32, tag = "1")]
    kind: u32,
    #[prost(message, optional, tag = "2")]
    from: Option<ArtefactPb>,
    #[prost(message, optional, tag = "3")]
    to: Option<ArtefactPb>,
    #[prost(int64, tag = "4")]
    amount_fen: i64,
    #[prost(int64, tag = "5")]
    at_ms: i64,
}

#[derive(Clone, PartialEq, Message)]
struct AttributePb {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

/// The record of `alert`, and the content hash it carries.
pub fn encode_alert(alert: &Alert) -> (Vec<u8>, Digest) {
    let body = to_pb(alert);
    let mut out = Vec::with_capacity(HEAD + body.encoded_len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&[0; 16]);
    // Encoding into a Vec cannot run out of room.
    let _ = body.encode(&mut out);
    let hash = digest(&out[HEAD..]);
    out[1..HEAD].copy_from_slice(&hash);
    (out, hash)
}

/// The alert of a stored record (binary, or JSON from earlier versions).
pub fn decode_alert(key: &str, bytes: &[u8]) -> Result<Alert, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt {
        key: key.to_string(),
        why,
    };
    match bytes.first() {
        Some(&FORMAT_V1) if bytes.len() >= HEAD => {
            let pb = AlertPb::decode(&bytes[HEAD..]).map_err(|e| corrupt(e.to_string()))?;
            from_pb(pb).map_err(corrupt)
        }
        Some(b'{') => super::decode(key, bytes),
        Some(b) => Err(corrupt(format!("unknown alert record format {b}"))),
        None => Err(corrupt("empty alert record".into())),
    }
}

/// The content hash a record carries. A JSON row of an earlier version
/// has it worked out from its alert when `legacy_hashed` (the store kept
/// a hash for it), and none otherwise: it then counts as a re-send.
pub fn record_digest(
    key: &str,
    bytes: &[u8],
    legacy_hashed: bool,
) -> Result<Option<Digest>, StoreError> {
    if bytes.first() == Some(&FORMAT_V1) && bytes.len() >= HEAD {
        let mut d = [0u8; 16];
        d.copy_from_slice(&bytes[1..HEAD]);
        return Ok(Some(d));
    }
    if !legacy_hashed {
        return Ok(None);
    }
    Ok(Some(encode_alert(&decode_alert(key, bytes)?).1))
}

fn to_pb(a: &Alert) -> AlertPb {
    let s = &a.subject;
    AlertPb {
        key: a.key.0.clone(),
        source_kind: code(&SourceKind::ALL, a.source_kind),
        occurred_at_ms: a.occurred_at_ms,
        subject: Some(SubjectPb {
            phone: s.phone.clone(),
            id_hash: pack(&s.id_hash),
            name: s.name.clone(),
            division: s.division.as_u64(),
            grid_id: s.grid_id.clone(),
            address: s.address.clone(),
            age: s.age,
            key_subject: pack(&s.keys.subject),
            key_identity: s.keys.identity.iter().map(|k| pack(k)).collect(),
        }),
        counterparts: a.counterparts.iter().map(artefact_pb).collect(),
        links: a
            .links
            .iter()
            .map(|l| LinkPb {
                kind: code(&LinkKind::ALL, l.kind),
                from: Some(artefact_pb(&l.from)),
                to: Some(artefact_pb(&l.to)),
                amount_fen: l.amount_fen,
                at_ms: l.at_ms,
            })
            .collect(),
        amount_fen: a.amount_fen,
        fraud_type_hint: a.fraud_type_hint.clone(),
        attributes: a
            .attributes
            .iter()
            .map(|(name, value)| AttributePb {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
    }
}

fn from_pb(pb: AlertPb) -> Result<Alert, String> {
    let s = pb.subject.ok_or("alert record without a subject")?;
    let division = DivisionCode::parse(&format!("{:012}", s.division))
        .map_err(|e| format!("division {}: {e}", s.division))?;
    let mut identity = Vec::with_capacity(s.key_identity.len());
    for k in &s.key_identity {
        identity.push(unpack(k)?);
    }
    let links = pb
        .links
        .into_iter()
        .map(|l| {
            Ok(Link {
                kind: kind(&LinkKind::ALL, l.kind, "link kind")?,
                from: artefact(l.from.ok_or("link without its origin")?)?,
                to: artefact(l.to.ok_or("link without its destination")?)?,
                amount_fen: l.amount_fen,
                at_ms: l.at_ms,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Alert {
        key: AlertKey(pb.key),
        source_kind: kind(&SourceKind::ALL, pb.source_kind, "source kind")?,
        occurred_at_ms: pb.occurred_at_ms,
        subject: Subject {
            phone: s.phone,
            id_hash: unpack(&s.id_hash)?,
            name: s.name,
            division,
            grid_id: s.grid_id,
            address: s.address,
            age: s.age,
            keys: crate::model::PersonKey {
                subject: unpack(&s.key_subject)?,
                identity,
            },
        },
        counterparts: pb
            .counterparts
            .into_iter()
            .map(artefact)
            .collect::<Result<_, _>>()?,
        links,
        amount_fen: pb.amount_fen,
        fraud_type_hint: pb.fraud_type_hint,
        attributes: pb
            .attributes
            .into_iter()
            .map(|a| (a.name, a.value))
            .collect::<BTreeMap<_, _>>(),
    })
}

fn artefact_pb(a: &Artefact) -> ArtefactPb {
    ArtefactPb {
        kind: code(&ArtefactKind::ALL, a.kind),
        value: a.value.clone(),
    }
}

fn artefact(pb: ArtefactPb) -> Result<Artefact, String> {
    Ok(Artefact {
        kind: kind(&ArtefactKind::ALL, pb.kind, "artefact kind")?,
        value: pb.value,
    })
}

/// A kind's stored code: its position in `all`, from 1 (0 is "unset").
fn code<T: PartialEq + Copy>(all: &[T], k: T) -> u32 {
    all.iter().position(|x| *x == k).map_or(0, |i| i as u32 + 1)
}

fn kind<T: Copy>(all: &[T], code: u32, what: &str) -> Result<T, String> {
    code.checked_sub(1)
        .and_then(|i| all.get(i as usize))
        .copied()
        .ok_or_else(|| format!("unknown {what} code {code}"))
}

/// A string that ends in lowercase hex (`3fa2…`, `id:3fa2…`) as its
/// prefix's length, the prefix, then the hex as bytes; anything else as
/// [`TEXT`] and the text. Empty stays empty.
fn pack(s: &str) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let start = s.find(':').map_or(0, |i| i + 1);
    let hex_part = &s[start..];
    let is_hex = hex_part.len() >= 2
        && hex_part.len().is_multiple_of(2)
        && hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match (is_hex, u8::try_from(start)) {
        (true, Ok(n)) if n < TEXT => {
            let mut out = Vec::with_capacity(1 + start + hex_part.len() / 2);
            out.push(n);
            out.extend_from_slice(&s.as_bytes()[..start]);
            // Checked above: even length, lowercase hex digits only.
            out.extend(hex::decode(hex_part).unwrap_or_default());
            out
        }
        _ => {
            let mut out = Vec::with_capacity(1 + s.len());
            out.push(TEXT);
            out.extend_from_slice(s.as_bytes());
            out
        }
    }
}

fn unpack(b: &[u8]) -> Result<String, String> {
    let Some((&head, rest)) = b.split_first() else {
        return Ok(String::new());
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|e| e.to_string());
    if head == TEXT {
        return text(rest);
    }
    let n = usize::from(head);
    if rest.len() < n {
        return Err("packed string shorter than its prefix".into());
    }
    Ok(format!("{}{}", text(&rest[..n])?, hex::encode(&rest[n..])))
}

#[cfg(test)]
mod tests;
