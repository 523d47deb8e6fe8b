//! The *decide* stage: given the rules that held for an alert and the open
//! task pairs, decide whether to make a new pair, join an open one (重复预警)
//! or do nothing. Between *match* and *dispatch*; pure.

use std::collections::HashMap;

use crate::model::{Level, Subject};
use crate::rules::RuleHit;

/// What to do with one matched alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No rule held: keep the alert, make no task.
    Ignore,
    /// The person has no open pair: make one.
    Create {
        /// Highest level any rule asked for.
        level: Level,
        /// Fraud type of the highest-level hit.
        fraud_type: String,
    },
    /// The person has an open pair: join it; the level may only rise.
    Join {
        /// The open pair.
        pair_id: String,
        /// Highest level of this alert's hits.
        level: Level,
    },
}

/// Open pairs by identity key (`id:<hash>`, `ph:<phone>`): a person is found
/// by any key any of their alerts carried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenPairs {
    by_identity: HashMap<String, String>,
    /// Reverse index, so closing a pair does not scan every person.
    keys_by_pair: HashMap<String, Vec<String>>,
}

impl OpenPairs {
    /// The open pair of any of `keys`.
    pub fn find(&self, keys: &[String]) -> Option<&str> {
        keys.iter()
            .find_map(|k| self.by_identity.get(k))
            .map(String::as_str)
    }

    /// Records `pair_id` under every key; returns the keys newly recorded.
    pub fn insert(&mut self, keys: &[String], pair_id: &str) -> Vec<String> {
        let mut added = Vec::new();
        for k in keys {
            if !self.by_identity.contains_key(k) {
                self.by_identity.insert(k.clone(), pair_id.to_string());
                added.push(k.clone());
            }
        }
        if !added.is_empty() {
            self.keys_by_pair
                .entry(pair_id.to_string())
                .or_default()
                .extend(added.iter().cloned());
        }
        added
    }

    /// Forgets every key of `pair_id`; returns them.
    pub fn close(&mut self, pair_id: &str) -> Vec<String> {
        let keys = self.keys_by_pair.remove(pair_id).unwrap_or_default();
        for k in &keys {
            self.by_identity.remove(k);
        }
        keys
    }

    /// Number of open pairs.
    pub fn len(&self) -> usize {
        self.keys_by_pair.len()
    }

    /// True when no pair is open.
    pub fn is_empty(&self) -> bool {
        self.keys_by_pair.is_empty()
    }
}

/// Decides for one alert about `subject` that produced `hits`.
pub fn decide(subject: &Subject, hits: &[RuleHit], open: &OpenPairs) -> Decision {
    // Highest level, then highest score; the first rule in file order wins ties.
    let Some(top) = hits.iter().rev().max_by_key(|h| (h.level, h.score)) else {
        return Decision::Ignore;
    };
    match open.find(&subject.identity_keys()) {
        Some(pair_id) => Decision::Join {
            pair_id: pair_id.to_string(),
            level: top.level,
        },
        None => Decision::Create {
            level: top.level,
            fraud_type: top.fraud_type.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
