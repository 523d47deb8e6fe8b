//! Console access: maps a bearer token (by its SHA-256) to who is calling
//! and what they may see. A centre sees its jurisdiction, a station the
//! tasks of its police areas, a person the tasks assigned to them. Nobody
//! sees another jurisdiction's people.

use sha2::{Digest, Sha256};
use tonic::metadata::MetadataMap;

use crate::config::{Config, ConsoleKind};
use crate::directory::code::is_valid_prefix;
use crate::error::Error;
use crate::model::Task;

/// Who a console token stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// A city or county centre: everything under its prefix; supervises.
    Centre,
    /// A police station, by id: its tasks; supervises them.
    Station(String),
    /// An officer or grid worker, by id: their own tasks.
    Person(String),
}

/// Who is calling and what they may see.
#[derive(Clone, Debug)]
pub struct Scope {
    /// Actor name for task history.
    pub actor: String,
    /// Division-code prefix the caller may see ("" = everything, dev mode only).
    pub jurisdiction: String,
    /// What the token stands for.
    pub identity: Identity,
}

/// Checks the admin bearer token of an administration call to `service`;
/// with no `admin_token` configured, everyone passes (development only).
pub fn admin(config: &Config, md: &MetadataMap, service: &str) -> Result<(), Error> {
    let Some(expected) = &config.admin_token else {
        return Ok(());
    };
    let got = md
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = got.strip_prefix("Bearer ").unwrap_or(got).trim();
    if constant_time_eq(token.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Error::Unauthenticated(format!(
            "{service} needs the admin bearer token"
        )))
    }
}

impl Scope {
    /// Resolves the caller from the `authorization: Bearer <token>` metadata.
    pub fn from_metadata(config: &Config, md: &MetadataMap) -> Result<Scope, Error> {
        if config.consoles.is_empty() {
            return Ok(Scope {
                actor: "console".into(),
                jurisdiction: String::new(),
                identity: Identity::Centre,
            });
        }
        let header = md
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::Unauthenticated("missing authorization metadata (Bearer token)".into())
            })?;
        let token = header.strip_prefix("Bearer ").unwrap_or(header).trim();
        let digest = hex::encode(Sha256::digest(token.as_bytes()));
        // Every digest is compared, so the time does not tell which matched.
        let mut found = None;
        for c in &config.consoles {
            let expected = c.token_sha256.to_ascii_lowercase();
            if constant_time_eq(expected.as_bytes(), digest.as_bytes()) {
                found = Some(c);
            }
        }
        let c = found.ok_or_else(|| Error::Unauthenticated("unknown console token".into()))?;
        let identity = match c.kind {
            ConsoleKind::Centre => Identity::Centre,
            ConsoleKind::Station => Identity::Station(c.station.clone().unwrap_or_default()),
            ConsoleKind::Person => Identity::Person(c.person.clone().unwrap_or_default()),
        };
        Ok(Scope {
            actor: c.name.clone(),
            jurisdiction: c.jurisdiction.clone(),
            identity,
        })
    }

    /// True when the caller may see `task`.
    pub fn sees_task(&self, task: &Task) -> bool {
        self.sees(&task.division.to_string())
            && match &self.identity {
                Identity::Centre => true,
                Identity::Station(id) => task.police_station == *id,
                Identity::Person(id) => task.assignee.id == *id,
            }
    }

    /// True when the caller may reveal the contact of `task`: its assignee,
    /// or a unit that supervises it.
    pub fn may_reveal(&self, task: &Task) -> bool {
        self.sees_task(task)
    }

    /// True when the caller supervises a whole jurisdiction (a centre): it
    /// may read the audit log of its prefix.
    pub fn supervises_area(&self) -> bool {
        self.identity == Identity::Centre
    }

    /// The prefix a request may use: the requested one if inside the
    /// caller's jurisdiction, the caller's own when none is asked for.
    pub fn narrow(&self, requested: &str) -> Result<String, Error> {
        if requested.is_empty() {
            return Ok(self.jurisdiction.clone());
        }
        if !is_valid_prefix(requested) {
            return Err(Error::invalid(
                "jurisdiction",
                format!("{requested:?} is not a 2, 4, 6, 9 or 12 digit division prefix"),
            ));
        }
        if !requested.starts_with(&self.jurisdiction) {
            return Err(Error::PermissionDenied(format!(
                "jurisdiction {requested} is outside this console's jurisdiction {}",
                self.jurisdiction
            )));
        }
        Ok(requested.to_string())
    }

    /// True when a task in `division` is visible to the caller.
    pub fn sees(&self, division: &str) -> bool {
        division.starts_with(&self.jurisdiction)
    }
}

/// Equal bytes, in a time that depends on the length only.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(j: &str) -> Scope {
        Scope {
            actor: "c".into(),
            jurisdiction: j.into(),
            identity: Identity::Centre,
        }
    }

    #[test]
    fn county_console_cannot_widen_to_city() {
        let e = scope("520102").narrow("5201").unwrap_err();
        assert!(matches!(e, Error::PermissionDenied(_)), "{e}");
    }

    #[test]
    fn county_console_may_narrow_to_township() {
        assert_eq!(scope("520102").narrow("520102016").unwrap(), "520102016");
        assert_eq!(scope("520102").narrow("").unwrap(), "520102");
    }

    #[test]
    fn malformed_prefix_names_the_field() {
        let e = scope("").narrow("52a").unwrap_err().to_string();
        assert!(e.contains("jurisdiction") && e.contains("52a"), "{e}");
    }
}
