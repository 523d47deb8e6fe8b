//! The slot table under the key table and the link index: after any mix
//! of inserts and removals it finds exactly what a plain map holds, also
//! when tags collide, runs wrap round the end and the table grows.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::graph::table::{Slot, SlotTable, tag_of};

#[derive(Clone, Copy, Debug, Default)]
struct TestSlot {
    /// Key + 1; 0 for vacant.
    key: u32,
    tag: u32,
}

impl Slot for TestSlot {
    fn tag(&self) -> u32 {
        self.tag
    }
    fn is_vacant(&self) -> bool {
        self.key == 0
    }
}

/// A tag from few distinct values when `crowded` (long runs, equal tags,
/// homes at the very end so runs wrap), else a well-spread one.
fn tag(key: u32, crowded: bool) -> u32 {
    if crowded {
        [0, 1, u32::MAX, u32::MAX - 1, 1 << 31][key as usize % 5]
    } else {
        tag_of(u64::from(key))
    }
}

fn find(t: &SlotTable<TestSlot>, key: u32, crowded: bool) -> Option<usize> {
    t.find(tag(key, crowded), |s| s.key == key + 1)
}

proptest! {
    #[test]
    fn slot_table_finds_exactly_what_a_map_holds_after_inserts_and_removals(
        ops in prop::collection::vec((any::<bool>(), 0..200u32), 1..400),
        crowded in any::<bool>(),
        reserve in 0..50usize,
    ) {
        let mut t: SlotTable<TestSlot> = SlotTable::with_capacity(reserve);
        let mut model: BTreeMap<u32, ()> = BTreeMap::new();
        for (insert, key) in ops {
            let present = find(&t, key, crowded).is_some();
            prop_assert_eq!(present, model.contains_key(&key));
            match (insert, present) {
                (true, false) => {
                    t.insert(TestSlot { key: key + 1, tag: tag(key, crowded) });
                    model.insert(key, ());
                }
                (false, true) => {
                    let pos = find(&t, key, crowded).unwrap();
                    t.remove_at(pos);
                    model.remove(&key);
                }
                _ => {}
            }
            prop_assert_eq!(t.len(), model.len());
            prop_assert!(t.len() <= t.capacity());
        }
        for key in 0..200 {
            prop_assert_eq!(find(&t, key, crowded).is_some(), model.contains_key(&key), "key {}", key);
        }
    }
}
