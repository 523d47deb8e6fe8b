use super::*;

/// A fixed "now" for every test: 2024-06-01T00:00:00Z.
const NOW_MS: i64 = 1_717_200_000_000;

/// A well-formed telecom alert about one person with one flagged-number call.
fn good_alert() -> proto::Alert {
    proto::Alert {
        source: "gz-telecom-cmcc".into(),
        source_id: "call-0001".into(),
        source_kind: proto::SourceKind::Telecom as i32,
        occurred_at_ms: NOW_MS - 60_000,
        subject: Some(proto::Subject {
            phone: "+86 138-1234-5678".into(),
            id_hash: "9F86D081884C7D659A2FEAA0C55AD015".into(),
            name: " 张三 ".into(),
            division_code: "520102016001".into(),
            grid_id: "520102016001-G01".into(),
            address: "贵阳市南明区新华路1号".into(),
            age: 67,
        }),
        counterparts: vec![
            proto::Artefact {
                kind: proto::ArtefactKind::Phone as i32,
                value: "162-0007-1583".into(),
            },
            proto::Artefact {
                kind: proto::ArtefactKind::Url as i32,
                value: " Baoda915.XYZ ".into(),
            },
        ],
        links: vec![],
        amount_fen: 0,
        fraud_type_hint: " 刷单返利 ".into(),
        attributes: Default::default(),
    }
}

fn subject_mut(a: &mut proto::Alert) -> &mut proto::Subject {
    a.subject.as_mut().unwrap()
}

/// Normalizes `a` and returns the rejection, failing the test if it passed.
fn rejected(a: &proto::Alert) -> Rejection {
    match normalize(a, Checks::at(NOW_MS)) {
        Ok(ok) => panic!("expected a rejection, got {ok:?}"),
        Err(r) => r,
    }
}

/// Checks the rejection names `field` both as its path and in its reason.
fn assert_rejected_at(a: &proto::Alert, field: &str) -> Rejection {
    let r = rejected(a);
    assert_eq!(r.field, field, "{r:?}");
    assert!(
        r.reason.contains(field),
        "reason does not name {field}: {:?}",
        r.reason
    );
    r
}

#[test]
fn good_alert_passes_with_normalized_values() {
    let a = normalize(&good_alert(), Checks::at(NOW_MS)).unwrap();
    assert_eq!(a.key, AlertKey::new("gz-telecom-cmcc", "call-0001"));
    assert_eq!(a.source_kind, SourceKind::Telecom);
    assert_eq!(a.subject.phone, "13812345678");
    assert_eq!(a.subject.id_hash, "9f86d081884c7d659a2feaa0c55ad015");
    assert_eq!(a.subject.name, "张三");
    assert_eq!(
        a.subject.division,
        DivisionCode::parse("520102016001").unwrap()
    );
    assert_eq!(a.subject.grid_id.as_deref(), Some("520102016001-G01"));
    assert_eq!(
        a.counterparts,
        vec![
            Artefact {
                kind: ArtefactKind::Phone,
                value: "16200071583".into()
            },
            Artefact {
                kind: ArtefactKind::Url,
                value: "baoda915.xyz".into()
            },
        ]
    );
    assert_eq!(a.fraud_type_hint, "刷单返利");
}

#[test]
fn phone_with_country_code_and_dashes_normalizes_to_eleven_digits() {
    assert_eq!(normalize_artefact_value("+86 138-1234-5678"), "13812345678");
    assert_eq!(normalize_artefact_value(" 138 1234 5678 "), "13812345678");
    // Without the '+' a leading 86 is part of the number, not a country code.
    assert_eq!(normalize_artefact_value("8613812345678"), "8613812345678");
}

#[test]
fn empty_grid_id_is_none() {
    let mut a = good_alert();
    subject_mut(&mut a).grid_id = "  ".into();
    assert_eq!(
        normalize(&a, Checks::at(NOW_MS)).unwrap().subject.grid_id,
        None
    );
}

#[test]
fn empty_source_is_rejected() {
    let mut a = good_alert();
    a.source.clear();
    assert_rejected_at(&a, "source");
}

#[test]
fn source_with_slash_is_rejected() {
    let mut a = good_alert();
    a.source = "gz/bank".into();
    let r = assert_rejected_at(&a, "source");
    assert!(r.reason.contains('/'), "{r:?}");
}

#[test]
fn empty_source_id_is_rejected() {
    let mut a = good_alert();
    a.source_id.clear();
    assert_rejected_at(&a, "source_id");
}

#[test]
fn unknown_source_kind_is_rejected() {
    for kind in [0, 99] {
        let mut a = good_alert();
        a.source_kind = kind;
        let r = assert_rejected_at(&a, "source_kind");
        assert!(r.reason.contains(&kind.to_string()), "{r:?}");
    }
}

#[test]
fn zero_event_time_is_rejected() {
    let mut a = good_alert();
    a.occurred_at_ms = 0;
    assert_rejected_at(&a, "occurred_at_ms");
}

#[test]
fn far_future_event_time_is_rejected_but_small_skew_passes() {
    let mut a = good_alert();
    a.occurred_at_ms = NOW_MS + 2 * MAX_FUTURE_MS;
    assert_rejected_at(&a, "occurred_at_ms");
    a.occurred_at_ms = NOW_MS + 60_000;
    assert!(normalize(&a, Checks::at(NOW_MS)).is_ok());
}

#[test]
fn missing_subject_is_rejected() {
    let mut a = good_alert();
    a.subject = None;
    assert_rejected_at(&a, "subject");
}

#[test]
fn short_phone_is_rejected() {
    let mut a = good_alert();
    subject_mut(&mut a).phone = "1381234".into();
    assert_rejected_at(&a, "subject.phone");
}

#[test]
fn bad_phone_is_masked_in_the_reason() {
    let mut a = good_alert();
    subject_mut(&mut a).phone = "1381234567".into();
    let r = assert_rejected_at(&a, "subject.phone");
    assert!(
        !r.reason.contains("1381234567"),
        "unmasked phone in {:?}",
        r.reason
    );
    assert!(r.reason.contains("138*******"), "{:?}", r.reason);
}

#[test]
fn division_code_with_letters_is_rejected() {
    let mut a = good_alert();
    subject_mut(&mut a).division_code = "52010201600x".into();
    assert_rejected_at(&a, "subject.division_code");
}

#[test]
fn raw_id_number_in_id_hash_is_rejected_without_echoing_it() {
    for raw in ["110105194912310021", "11010519491231002X"] {
        let mut a = good_alert();
        subject_mut(&mut a).id_hash = raw.into();
        let r = assert_rejected_at(&a, "subject.id_hash");
        assert!(!r.reason.contains(raw), "raw ID number in {:?}", r.reason);
        assert!(
            !r.reason
                .to_ascii_lowercase()
                .contains(&raw.to_ascii_lowercase()),
            "{:?}",
            r.reason
        );
    }
}

#[test]
fn counterpart_with_unspecified_kind_is_rejected_by_index() {
    let mut a = good_alert();
    a.counterparts[1].kind = proto::ArtefactKind::Unspecified as i32;
    assert_rejected_at(&a, "counterparts[1].kind");
}

#[test]
fn negative_amount_is_rejected() {
    let mut a = good_alert();
    a.amount_fen = -1;
    assert_rejected_at(&a, "amount_fen");
}

#[test]
fn short_phone_is_never_echoed_in_full() {
    let mut a = good_alert();
    subject_mut(&mut a).phone = "1381234".into();
    let r = rejected(&a);
    assert!(
        !r.reason.contains("1381234"),
        "unmasked phone in {:?}",
        r.reason
    );
}
