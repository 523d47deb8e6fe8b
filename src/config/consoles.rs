//! `[[consoles]]`: who may use the console, as whom. A token is bound to a
//! unit (a city or county centre, a police station) or to one person (an
//! officer or a grid worker of the directory), and is kept only as its
//! SHA-256: the config never holds a console token in plain text.

use std::collections::HashSet;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ConfigError;
use crate::directory;

/// What a console token stands for.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleKind {
    /// A city or county anti-fraud centre (反诈中心): every task under its
    /// jurisdiction; supervises (may reveal contacts and read the audit).
    #[default]
    Centre,
    /// A police station (派出所): the tasks of its police areas.
    Station,
    /// One officer or grid worker: the tasks assigned to them.
    Person,
}

/// A console's token digest and what it may see.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleAccess {
    /// Name used as the actor in task history and the audit log.
    pub name: String,
    /// SHA-256 of the bearer token, 64 hex digits (`dualwarn token hash`).
    pub token_sha256: String,
    /// Division-code prefix the console works in.
    pub jurisdiction: String,
    /// Centre (default), station or person.
    #[serde(default)]
    pub kind: ConsoleKind,
    /// Police station id of the directory, for `kind = "station"`.
    #[serde(default)]
    pub station: Option<String>,
    /// Officer or grid worker id of the directory, for `kind = "person"`.
    #[serde(default)]
    pub person: Option<String>,
}

/// The hex SHA-256 of a token, as `token_sha256` holds it.
pub fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn invalid(field: &str, value: String, why: &'static str) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_string(),
        value,
        why,
    }
}

/// Checks digests, prefixes and the ids each kind needs.
pub fn validate(consoles: &[ConsoleAccess]) -> Result<(), ConfigError> {
    let mut digests = HashSet::new();
    for c in consoles {
        let d = &c.token_sha256;
        if d.len() != 64 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                "consoles.token_sha256",
                c.name.clone(),
                "must be the 64 hex digits of the token's SHA-256 (dualwarn token hash)",
            ));
        }
        if !digests.insert(d.to_ascii_lowercase()) {
            return Err(invalid(
                "consoles.token_sha256",
                c.name.clone(),
                "two consoles share a token",
            ));
        }
        if !directory::code::is_valid_prefix(&c.jurisdiction) {
            return Err(invalid(
                "consoles.jurisdiction",
                c.jurisdiction.clone(),
                "must be 2, 4, 6, 9 or 12 digits",
            ));
        }
        let (needs, has) = match c.kind {
            ConsoleKind::Centre => ("", c.station.is_none() && c.person.is_none()),
            ConsoleKind::Station => ("station", c.station.is_some() && c.person.is_none()),
            ConsoleKind::Person => ("person", c.person.is_some() && c.station.is_none()),
        };
        if !has {
            return Err(invalid(
                "consoles.kind",
                c.name.clone(),
                match needs {
                    "station" => "a station console names its `station` id, and no person",
                    "person" => "a person console names its `person` id, and no station",
                    _ => "a centre console names neither a station nor a person",
                },
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(kind: ConsoleKind) -> ConsoleAccess {
        ConsoleAccess {
            name: "c".into(),
            token_sha256: token_digest("console-token-00001"),
            jurisdiction: "520102".into(),
            kind,
            station: None,
            person: None,
        }
    }

    #[test]
    fn digest_is_lowercase_hex_sha256() {
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_plain_token_where_a_digest_belongs_is_refused() {
        let mut c = access(ConsoleKind::Centre);
        c.token_sha256 = "console-token-00001".into();
        let e = validate(&[c]).unwrap_err().to_string();
        assert!(e.contains("consoles.token_sha256"), "{e}");
    }

    #[test]
    fn each_kind_names_what_it_needs() {
        let e = validate(&[access(ConsoleKind::Person)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("consoles.kind") && e.contains("person"), "{e}");
        let mut s = access(ConsoleKind::Station);
        s.station = Some("PS-520102-01".into());
        validate(&[s.clone()]).unwrap();
        s.person = Some("P1".into());
        assert!(validate(&[s]).is_err());
    }

    #[test]
    fn a_shared_token_is_refused() {
        let e = validate(&[access(ConsoleKind::Centre), access(ConsoleKind::Centre)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("share a token"), "{e}");
    }
}
