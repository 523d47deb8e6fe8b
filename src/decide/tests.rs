use std::collections::HashMap;

use proptest::prelude::*;

use super::*;
use crate::directory::DivisionCode;

/// Person `n`: phone always, ID hash only when `with_id`.
fn subject(n: usize, with_id: bool) -> Subject {
    crate::model::PersonKeys::offline().keyed(Subject {
        phone: format!("139{n:08}"),
        id_hash: if with_id {
            format!("{n:032x}")
        } else {
            String::new()
        },
        name: String::new(),
        division: DivisionCode::parse("520102016001").unwrap(),
        grid_id: None,
        address: String::new(),
        age: 0,
        keys: Default::default(),
    })
}

fn hit(rule: &str, level: Level, fraud_type: &str) -> RuleHit {
    RuleHit {
        rule_id: rule.into(),
        level,
        fraud_type: fraud_type.into(),
        why: crate::rules::Why::Text(String::new()),
        score: 50,
        method: crate::rules::Method::Phone,
        due_within: None,
    }
}

fn level(n: u8) -> Level {
    [Level::Low, Level::Medium, Level::High][usize::from(n % 3)]
}

/// What the writer does with a decision: make a pair or record new keys.
fn apply(open: &mut OpenPairs, s: &Subject, d: &Decision, next: &mut u64) -> Option<String> {
    match d {
        Decision::Ignore => None,
        Decision::Create { .. } => {
            let pair = format!("P{next:010}");
            *next += 1;
            open.insert(&s.identity_keys(), &pair);
            Some(pair)
        }
        Decision::Join { pair_id, .. } => {
            open.insert(&s.identity_keys(), pair_id);
            Some(pair_id.clone())
        }
    }
}

#[test]
fn no_hits_is_ignored_even_with_an_open_pair() {
    let s = subject(1, true);
    let mut open = OpenPairs::default();
    assert_eq!(decide(&s, &[], &open), Decision::Ignore);
    open.insert(&s.identity_keys(), "P1");
    assert_eq!(decide(&s, &[], &open), Decision::Ignore);
}

#[test]
fn create_takes_level_and_fraud_type_of_the_highest_hit() {
    let hits = [
        hit("a", Level::Low, "刷单返利"),
        hit("b", Level::High, "虚假贷款"),
        hit("c", Level::Medium, "x"),
    ];
    let d = decide(&subject(1, false), &hits, &OpenPairs::default());
    assert_eq!(
        d,
        Decision::Create {
            level: Level::High,
            fraud_type: "虚假贷款".into()
        }
    );
}

#[test]
fn person_found_by_id_key_or_phone_key_joins_the_same_pair() {
    let mut open = OpenPairs::default();
    open.insert(&subject(7, true).identity_keys(), "P1");
    let hits = [hit("a", Level::Low, "")];
    let join = Decision::Join {
        pair_id: "P1".into(),
        level: Level::Low,
    };

    // Same phone, no ID hash.
    assert_eq!(decide(&subject(7, false), &hits, &open), join);
    // Same ID hash, another phone.
    let mut new_phone = subject(7, true);
    new_phone.phone = "13900000999".into();
    assert_eq!(decide(&new_phone, &hits, &open), join);
    // Someone else.
    assert!(matches!(
        decide(&subject(8, true), &hits, &open),
        Decision::Create { .. }
    ));
}

#[test]
fn close_removes_exactly_that_pairs_keys() {
    let mut open = OpenPairs::default();
    let a = subject(1, true);
    let b = subject(2, true);
    open.insert(&a.identity_keys(), "P1");
    open.insert(&b.identity_keys(), "P2");
    // A later key for P1 must be closed with it too.
    open.insert(&["ph:13900000111".to_string()], "P1");
    assert_eq!(open.len(), 2);

    let mut closed = open.close("P1");
    closed.sort();
    let mut want = vec![
        a.identity_keys()[0].clone(),
        a.identity_keys()[1].clone(),
        "ph:13900000111".into(),
    ];
    want.sort();
    assert_eq!(closed, want);
    assert_eq!(open.find(&a.identity_keys()), None);
    assert_eq!(open.find(&["ph:13900000111".to_string()]), None);
    assert_eq!(open.find(&b.identity_keys()), Some("P2"));
    assert_eq!(open.len(), 1);

    assert!(open.close("P1").is_empty(), "closing twice removes nothing");
    open.close("P2");
    assert!(open.is_empty());
    assert_eq!(open.len(), 0);
}

#[test]
fn insert_never_moves_a_key_to_another_pair() {
    let mut open = OpenPairs::default();
    let keys = subject(1, true).identity_keys();
    assert_eq!(open.insert(&keys, "P1"), keys);
    assert!(open.insert(&keys, "P2").is_empty());
    assert_eq!(open.find(&keys), Some("P1"));
}

/// One step of the property: a warning for a person, or closing their pair.
#[derive(Clone, Debug)]
enum Op {
    /// Person, whether the alert carries the ID hash, hit levels (empty: no hit).
    Warn(usize, bool, Vec<u8>),
    /// Close the person's open pair, if any.
    Close(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..5usize, any::<bool>(), prop::collection::vec(0..3u8, 0..3)).prop_map(|(p, id, l)| Op::Warn(p, id, l)),
        1 => (0..5usize).prop_map(Op::Close),
    ]
}

proptest! {
    #[test]
    fn at_most_one_open_pair_per_person(ops in prop::collection::vec(op(), 0..60)) {
        let mut open = OpenPairs::default();
        let mut next = 1;
        // The model: each person's open pair.
        let mut pair_of: HashMap<usize, String> = HashMap::new();
        for op in ops {
            match op {
                Op::Warn(p, with_id, levels) => {
                    let s = subject(p, with_id);
                    let hits: Vec<RuleHit> = levels.iter().map(|&l| hit("r", level(l), "")).collect();
                    let d = decide(&s, &hits, &open);
                    match (&d, pair_of.get(&p)) {
                        (Decision::Ignore, _) => prop_assert!(hits.is_empty()),
                        (Decision::Create { level, .. }, None) => {
                            prop_assert_eq!(Some(*level), hits.iter().map(|h| h.level).max());
                        }
                        (Decision::Join { pair_id, level }, Some(mine)) => {
                            prop_assert_eq!(pair_id, mine);
                            prop_assert_eq!(Some(*level), hits.iter().map(|h| h.level).max());
                        }
                        (d, mine) => prop_assert!(false, "person {} with pair {:?} got {:?}", p, mine, d),
                    }
                    if let Some(pair) = apply(&mut open, &s, &d, &mut next) {
                        pair_of.insert(p, pair);
                    }
                }
                Op::Close(p) => {
                    if let Some(pair) = pair_of.remove(&p) {
                        let closed = open.close(&pair);
                        prop_assert!(closed.contains(&subject(p, false).identity_keys()[0]));
                    }
                }
            }
            // Every person is found by both keys at their own pair, and by nothing else.
            for n in 0..5 {
                let by_phone = open.find(&subject(n, false).identity_keys()).map(str::to_string);
                let by_id = open.find(&[format!("id:{n:032x}")]).map(str::to_string);
                prop_assert_eq!(by_phone.as_ref(), pair_of.get(&n));
                if by_id.is_some() {
                    prop_assert_eq!(by_id.as_ref(), pair_of.get(&n));
                }
            }
            prop_assert_eq!(open.len(), pair_of.len());
            prop_assert_eq!(open.is_empty(), pair_of.is_empty());
        }
    }
}

#[test]
fn len_and_is_empty_agree() {
    let mut open = OpenPairs::default();
    let keys = subject(1, false).identity_keys();
    open.insert(&keys, "P1");
    // Every key is already P1's: P2 gets nothing, so it must not count as open.
    open.insert(&keys, "P2");
    assert_eq!(open.len(), 1);
    open.close("P1");
    assert!(open.is_empty());
    assert_eq!(open.len(), 0, "no key is open, yet len counts a pair");
}
