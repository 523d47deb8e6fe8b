use proptest::prelude::*;

use super::*;
use crate::model::PersonKey;

fn division(code: u64) -> DivisionCode {
    DivisionCode::parse(&format!("{code:012}")).unwrap()
}

/// A typical checked alert: a telecom report with one counterpart and one
/// call link, keyed as normalize keys people.
fn typical() -> Alert {
    let fraud = Artefact {
        kind: ArtefactKind::Phone,
        value: "13223104468".into(),
    };
    let victim = Artefact {
        kind: ArtefactKind::Phone,
        value: "18953266944".into(),
    };
    Alert {
        key: AlertKey::new("gz-telecom-ctcc", "ctcc-1-00000001"),
        source_kind: SourceKind::Telecom,
        occurred_at_ms: 1_795_580_279_064,
        subject: Subject {
            phone: "18953266944".into(),
            id_hash: "e12b19d6ecbecb80ddf1344a742749c4ee05422248fa02d07139d39be05a19f4".into(),
            name: "李娜".into(),
            division: division(520_281_109_003),
            grid_id: Some("520281109003-G03".into()),
            address: "鱼塘社区居民委员会165号".into(),
            age: 85,
            keys: PersonKey {
                subject: "0123456789abcdef".into(),
                identity: vec![
                    "id:00112233445566778899aabbccddeeff".into(),
                    "ph:ffeeddccbbaa99887766554433221100".into(),
                ],
            },
        },
        counterparts: vec![fraud.clone()],
        links: vec![Link {
            kind: LinkKind::Call,
            from: fraud,
            to: victim,
            amount_fen: 0,
            at_ms: 1_795_578_335_354,
        }],
        amount_fen: 0,
        fraud_type_hint: String::new(),
        attributes: [("call_seconds".to_string(), "312".to_string())].into(),
    }
}

#[test]
fn a_typical_alert_round_trips_in_less_than_half_its_json() {
    let a = typical();
    let (record, hash) = encode_alert(&a);
    assert_eq!(decode_alert("k", &record).unwrap(), a);
    assert_eq!(
        record_digest("k", &record, false).unwrap(),
        Some(hash),
        "the record carries its hash"
    );
    let json = serde_json::to_vec(&a).unwrap();
    assert!(
        record.len() * 2 < json.len(),
        "record {} bytes, JSON {} bytes",
        record.len(),
        json.len()
    );
}

#[test]
fn a_json_row_of_an_earlier_version_reads_and_hashes_as_its_binary_record() {
    let a = typical();
    let json = serde_json::to_vec(&a).unwrap();
    assert_eq!(decode_alert("k", &json).unwrap(), a);
    let (_, hash) = encode_alert(&a);
    assert_eq!(record_digest("k", &json, true).unwrap(), Some(hash));
    assert_eq!(
        record_digest("k", &json, false).unwrap(),
        None,
        "kept before hashes: a re-send"
    );
}

#[test]
fn a_damaged_record_is_a_corrupt_error_naming_its_key() {
    let (mut record, _) = encode_alert(&typical());
    record.truncate(30);
    for bad in [&record[..], b"\x07junk", b""] {
        match decode_alert("feed/1", bad) {
            Err(StoreError::Corrupt { key, .. }) => assert_eq!(key, "feed/1"),
            other => panic!("expected a corrupt error, got {other:?}"),
        }
    }
}

#[test]
fn hex_strings_are_packed_and_anything_else_is_kept_as_text() {
    for s in [
        "",
        "ab",
        "0123456789abcdef",
        "id:00ff",
        "ABCD",
        "abc",
        "id:",
        "a:b:cd",
        "号码:00",
    ] {
        assert_eq!(unpack(&pack(s)).unwrap(), s, "{s:?}");
    }
    assert_eq!(pack("0123456789abcdef").len(), 1 + 8);
    assert_eq!(pack("id:00112233").len(), 1 + 3 + 4);
}

fn artefact() -> impl Strategy<Value = Artefact> {
    (0..ArtefactKind::ALL.len(), "[0-9a-z.:/]{0,12}").prop_map(|(k, value)| Artefact {
        kind: ArtefactKind::ALL[k],
        value,
    })
}

fn alert() -> impl Strategy<Value = Alert> {
    let subject = (
        "[0-9]{0,11}",
        prop_oneof!["[0-9a-f]{64}", "[0-9A-Za-z]{0,10}"],
        "\\PC{0,6}",
        110_000_000_000u64..830_000_000_000,
        proptest::option::of("[0-9A-Z-]{0,16}"),
        "\\PC{0,20}",
        any::<u32>(),
        prop_oneof!["[0-9a-f]{16}", "\\PC{0,5}"],
        proptest::collection::vec(prop_oneof!["(id|ph):[0-9a-f]{32}", "\\PC{0,8}"], 0..3),
    )
        .prop_map(
            |(phone, id_hash, name, div, grid_id, address, age, subject, identity)| Subject {
                phone,
                id_hash,
                name,
                division: division(div),
                grid_id,
                address,
                age,
                keys: PersonKey { subject, identity },
            },
        );
    let link = (
        0..LinkKind::ALL.len(),
        artefact(),
        artefact(),
        any::<i64>(),
        any::<i64>(),
    )
        .prop_map(|(k, from, to, amount_fen, at_ms)| Link {
            kind: LinkKind::ALL[k],
            from,
            to,
            amount_fen,
            at_ms,
        });
    (
        "[a-z0-9/-]{1,30}",
        0..SourceKind::ALL.len(),
        any::<i64>(),
        subject,
        proptest::collection::vec(artefact(), 0..4),
        proptest::collection::vec(link, 0..3),
        any::<i64>(),
        "\\PC{0,8}",
        proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,8}", 0..4),
    )
        .prop_map(
            |(key, sk, at, subject, counterparts, links, amount, hint, attributes)| Alert {
                key: AlertKey(key),
                source_kind: SourceKind::ALL[sk],
                occurred_at_ms: at,
                subject,
                counterparts,
                links,
                amount_fen: amount,
                fraud_type_hint: hint,
                attributes,
            },
        )
}

proptest! {
    /// Every alert reads back as it was, from its record and from the JSON
    /// an earlier version kept, and both give the record's hash.
    #[test]
    fn every_alert_round_trips_with_one_hash(a in alert()) {
        let (record, hash) = encode_alert(&a);
        prop_assert_eq!(&decode_alert("k", &record).unwrap(), &a);
        let json = serde_json::to_vec(&a).unwrap();
        prop_assert_eq!(&decode_alert("k", &json).unwrap(), &a);
        prop_assert_eq!(record_digest("k", &json, true).unwrap(), Some(hash));
        prop_assert_eq!(encode_alert(&a).1, hash, "the same alert hashes the same");
    }

    /// Two different alerts never share a record.
    #[test]
    fn different_alerts_hash_differently(a in alert(), b in alert()) {
        prop_assume!(a != b);
        prop_assert_ne!(encode_alert(&a).1, encode_alert(&b).1);
    }
}
